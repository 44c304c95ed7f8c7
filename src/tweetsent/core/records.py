"""Frozen dataclasses as JSON records: `to_dict` and a `from_dict` that checks every value's type against the
field's annotation, so a config.json edited by hand (or damaged) fails with the field's name, never later with
a traceback deep in training or loading."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from tweetsent.core.errors import UserError

T = TypeVar("T")


class RecordError(ValueError):
    """A record does not match its dataclass; the message names the field."""


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


def from_dict(cls: type[T], data: Any, *, where: str = "") -> T:
    """An instance of the dataclass `cls` from `data`. Unknown keys are ignored (records written by newer
    versions), missing keys take the field's default, and a value of the wrong type raises RecordError."""
    if not isinstance(data, dict):
        raise RecordError(f"{where or cls.__name__}: expected an object, found {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise RecordError(f"{where}{f.name}: missing")
            continue
        values[f.name] = _convert(hints[f.name], data[f.name], f"{where}{f.name}")
    return cls(**values)


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, where)
            except RecordError as e:
                errors.append(str(e))
        raise RecordError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {hint}")
    if origin is tuple:
        if value is None or isinstance(value, str):  # a field that once held one optional value (older records)
            value = [] if value is None else [value]
        if not isinstance(value, (list, tuple)):
            raise RecordError(f"{where}: expected a list, found {type(value).__name__}")
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise RecordError(f"{where}: expected an object, found {type(value).__name__}")
        return dict(value)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where=f"{where}.")  # type: ignore[arg-type]
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float) and isinstance(value, bool):
        raise RecordError(f"{where}: expected {hint.__name__}, found a boolean")
    if not isinstance(value, hint):
        raise RecordError(f"{where}: expected {hint.__name__}, found {type(value).__name__} {value!r}")
    return value


def leaf_names(cls: type) -> set[str]:
    """The names of `cls`'s fields, nested dataclasses flattened."""
    hints = typing.get_type_hints(cls)
    out: set[str] = set()
    for f in dataclasses.fields(cls):
        out |= leaf_names(hints[f.name]) if dataclasses.is_dataclass(hints[f.name]) else {f.name}
    return out


def given(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """The flags given for `cls`'s fields, as a nested dict (for nested dataclasses); '' stands for None."""
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            inner = given(hints[f.name], values)
            if inner:
                out[f.name] = inner
        elif values.get(f.name) is not None:
            value = values[f.name]
            out[f.name] = None if value == "" else tuple(value) if isinstance(value, list) else value
    return out


def apply(base: Any, changes: dict[str, Any]) -> Any:
    """`base` (a dataclass instance) with `changes` (nested dicts for nested dataclasses) applied."""
    updates = {}
    for name, value in changes.items():
        current = getattr(base, name)
        updates[name] = (
            apply(current, value) if dataclasses.is_dataclass(current) and isinstance(value, dict) else value
        )
    try:
        return dataclasses.replace(base, **updates)
    except TypeError as e:
        raise UserError(str(e)) from None
