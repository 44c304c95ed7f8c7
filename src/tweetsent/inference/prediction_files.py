"""The files `tweetsent predict` writes: CSV (`text,label,<label>...`), JSON lines, a table, or Parquet (the CSV's
columns), written chunk by chunk.

To a file, each chunk is first a part of its own in a hidden folder beside the output (`.NAME.parts/`, written
atomically, with a manifest naming the input, model and format); when the last chunk is in, the parts become the
output in one atomic rename. A run that is killed keeps its finished parts: `--resume` checks the manifest against
the new run and goes on after the last finished chunk, so the output is the same as an uninterrupted run's.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from tweetsent.core.atomic import atomic_path, write_json
from tweetsent.core.errors import UserError
from tweetsent.core.labels import NEGATIVE, NEUTRAL, POSITIVE

OUTPUT_FORMATS = ("table", "csv", "jsonl", "parquet")
MANIFEST = "manifest.json"
# C0 control characters but tab and newline, and DEL: a terminal or a CSV reader may act on them.
_CONTROLS = dict.fromkeys([*range(0, 9), *range(11, 32), 127])


def printable(text: str) -> str:
    return text.translate(_CONTROLS)


def parts_folder(output: Path) -> Path:
    return output.with_name(f".{output.name}.parts")


class PredictionFile:
    """Predictions to `output` (None: stdout) in `fmt`, chunk by chunk. `identity` describes the run (input, model,
    format): a resumed run must have the same. `done` is how many texts earlier runs finished."""

    def __init__(
        self,
        output: Path | None,
        fmt: str,
        names: Sequence[str],
        identity: dict[str, Any],
        *,
        resume: bool = False,
        title: str = "",
    ) -> None:
        if fmt not in OUTPUT_FORMATS:
            raise UserError(f"--format must be one of {', '.join(OUTPUT_FORMATS)}, not {fmt!r}")
        if fmt == "parquet" and output is None:
            raise UserError("--format parquet writes a file: give --output FILE")
        self.output, self.fmt, self.names, self.title = output, fmt, list(names), title
        self.done = 0
        self._parts: list[Path] = []
        self._header_written = False
        if output is None:
            return
        self.folder = parts_folder(output)
        if resume:
            self._resume(identity)
        else:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.folder / MANIFEST).is_file():
            write_json(self.folder / MANIFEST, identity)

    def _resume(self, identity: dict[str, Any]) -> None:
        assert self.output is not None
        manifest = self.folder / MANIFEST
        if not manifest.is_file():
            return  # nothing begun: start from the first tweet
        try:
            before = json.loads(manifest.read_text())
        except ValueError:
            before = {}
        changed = sorted(k for k in {*before, *identity} if before.get(k) != identity.get(k))
        if changed:
            raise UserError(
                f"--resume: {self.output} was begun with another {', '.join(changed)}; run without --resume to "
                "start again"
            )
        self._parts = sorted(self.folder.glob("part-*"))
        self.done = sum(int(p.name.split("-")[2].split(".")[0]) for p in self._parts)

    def write(self, texts: Sequence[str], labels: Sequence[str], probs: np.ndarray) -> None:
        """One chunk: the texts, their decided labels and their probabilities (one column per name)."""
        texts = [printable(t) for t in texts]
        if self.output is None:
            self._render(_stdout(), texts, labels, probs, header=not self._header_written, to_terminal=True)
            self._header_written = True
            self.done += len(texts)
            return
        part = self.folder / f"part-{len(self._parts):06d}-{len(texts)}.{self.fmt}"
        with atomic_path(part) as tmp:
            if self.fmt == "parquet":
                import pyarrow.parquet as pq

                pq.write_table(_parquet_table(texts, labels, probs, self.names, self._parquet_names()), tmp)
            else:
                with open(tmp, "w", encoding="utf-8", newline="") as f:
                    self._render(f, texts, labels, probs, header=False, to_terminal=False)
        self._parts.append(part)
        self.done += len(texts)

    def discard(self) -> None:
        """Forget what was written (nothing worth keeping)."""
        if self.output is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def finish(self) -> None:
        """The parts joined into the output, atomically; the parts folder removed."""
        if self.output is None:
            return
        with atomic_path(self.output) as tmp:
            if self.fmt == "parquet":
                self._join_parquet(tmp)
            else:
                with open(tmp, "wb") as out:
                    if self.fmt == "csv":
                        out.write(_csv_line(["text", "label", *self.names]).encode())
                    for part in self._parts:
                        with open(part, "rb") as f:
                            shutil.copyfileobj(f, out, 1 << 20)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _parquet_names(self) -> list[str]:
        return ["text", "label", *self.names]

    def _join_parquet(self, tmp: Path) -> None:
        import pyarrow.parquet as pq

        empty = _parquet_table([], [], np.zeros((0, len(self.names)), np.float32), self.names, self._parquet_names())
        with pq.ParquetWriter(tmp, empty.schema) as writer:
            for part in self._parts:
                writer.write_table(pq.read_table(part))
            if not self._parts:
                writer.write_table(empty)

    def _render(
        self, out: TextIO, texts: list[str], labels: Sequence[str], probs: np.ndarray, header: bool, to_terminal: bool
    ) -> None:
        rows = probs.tolist()
        if self.fmt == "csv":
            writer = csv.writer(out, lineterminator="\n")
            if header:
                writer.writerow(["text", "label", *self.names])
            writer.writerows(
                [t, label, *(f"{p:.6f}" for p in row)] for t, label, row in zip(texts, labels, rows, strict=True)
            )
        elif self.fmt == "jsonl":
            for t, label, row in zip(texts, labels, rows, strict=True):
                probabilities = {n: round(p, 6) for n, p in zip(self.names, row, strict=True)}
                record = {"text": t, "label": label, "probabilities": probabilities}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            _table(out, self.title, self.names, texts, labels, rows, to_terminal)


def _stdout() -> TextIO:
    import sys

    return sys.stdout


def _csv_line(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue()


def _parquet_table(
    texts: Sequence[str], labels: Sequence[str], probs: np.ndarray, names: list[str], columns: list[str]
) -> Any:
    import pyarrow as pa

    arrays = [pa.array(list(texts), pa.string()), pa.array(list(labels), pa.string())]
    arrays += [pa.array(probs[:, j].astype(np.float32), pa.float32()) for j in range(len(names))]
    return pa.table(arrays, names=columns)


_COLOURS = {NEGATIVE: "red", NEUTRAL: "yellow", POSITIVE: "green"}


def _table(
    out: TextIO,
    title: str,
    names: list[str],
    texts: list[str],
    labels: Sequence[str],
    rows: list[list[float]],
    to_terminal: bool,
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    table.add_column("text", overflow="fold", ratio=1)
    table.add_column("label")
    for name in names:
        table.add_column(name, justify="right")
    for t, label, row in zip(texts, labels, rows, strict=True):
        table.add_row(t, f"[{_COLOURS.get(label, 'white')}]{label}[/]", *(f"{p:.2%}" for p in row))
    console = Console(stderr=False) if to_terminal else Console(file=out, width=120, color_system=None)
    console.print(table)
