"""Command-line flags made from config dataclasses: each field (nested dataclasses flattened) becomes one
option, `--field-name`, with the field's help; a bool becomes `--x/--no-x`, a tuple a repeatable option. Every
flag defaults to None, meaning "not given", so a preset or a saved config decides what was not asked for."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer


def _leaves(cls: type, exclude: set[str]) -> Iterator[tuple[dataclasses.Field[Any], Any]]:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        if dataclasses.is_dataclass(hints[f.name]):
            yield from _leaves(hints[f.name], exclude)
        else:
            yield f, hints[f.name]


def _option(f: dataclasses.Field[Any], hint: Any) -> inspect.Parameter:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if typing.get_origin(hint) in (typing.Union, __import__("types").UnionType) else hint
    flag = "--" + f.metadata.get("flag", f.name.replace("_", "-"))
    if typing.get_origin(base) is tuple:
        annotation: Any = list[str] | None
    else:
        annotation = base | None
    if base is bool:
        flag = f"{flag}/--no-{flag[2:]}"
    option = typer.Option(flag, help=f.metadata.get("help", ""), show_default=False)
    return inspect.Parameter(
        f.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[annotation, option]
    )


def config_options(*classes: type, exclude: tuple[str, ...] = ()) -> list[inspect.Parameter]:
    """One option per leaf field of the dataclasses."""
    seen: dict[str, inspect.Parameter] = {}
    for cls in classes:
        for f, hint in _leaves(cls, set(exclude)):
            if f.name in seen:
                raise ValueError(f"two config fields are called {f.name!r}")
            seen[f.name] = _option(f, hint)
    return list(seen.values())


def command_with(params: list[inspect.Parameter], body: Callable[..., None], doc: str) -> Callable[..., None]:
    """A function Typer reads as a command whose parameters are `params` (fixed ones first)."""

    def command(**kwargs: Any) -> None:
        body(**kwargs)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = doc
    return command
