"""Damaged model folders are refused in one line by every command that loads them (fault 3), and the published
model folder has the modes of the rest of the run (fault 9a)."""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.conftest import Cli, assert_one_line_error, copy_run


def _shuffle_vocab(run: Path, word_run: Path) -> None:
    lines = (run / "model" / "vocab.txt").read_text().splitlines(keepends=True)
    (run / "model" / "vocab.txt").write_text("".join(lines[:2] + lines[2:][::-1]))  # <pad>, <unk> stay first


def _extend_vocab(run: Path, word_run: Path) -> None:
    with open(run / "model" / "vocab.txt", "a") as f:
        f.write("".join(f"extra{i}\t1\n" for i in range(5)))


def _edit_config(change: Callable[[dict], object]) -> Callable[[Path, Path], None]:
    def edit(run: Path, word_run: Path) -> None:
        path = run / "model" / "config.json"
        config = json.loads(path.read_text())
        change(config)
        path.write_text(json.dumps(config, indent=2))

    return edit


def _drop_tokenizer(run: Path, word_run: Path) -> None:
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        (run / "model" / "encoder" / name).unlink(missing_ok=True)


def _word_weights(run: Path, word_run: Path) -> None:
    shutil.copyfile(word_run / "model" / "model.safetensors", run / "model" / "encoder" / "model.safetensors")


# name: (the run damaged: a word model's or BERT's, the damage)
DAMAGES: dict[str, tuple[str, Callable[[Path, Path], None]]] = {
    "vocab-shuffled": ("word", _shuffle_vocab),
    "vocab-extended": ("word", _extend_vocab),
    "max-length-x": ("word", _edit_config(lambda c: c.update(max_length="x"))),
    "cleaning-yes": ("word", _edit_config(lambda c: c.update(cleaning="yes"))),
    "cleaning-missing": ("word", _edit_config(lambda c: c.pop("cleaning"))),
    "bert-no-tokenizer": ("bert", _drop_tokenizer),
    "bert-word-weights": ("bert", _word_weights),
}


@pytest.fixture(scope="module")
def damaged(base_run: Path, bert_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One copy of a finished run per kind of damage."""
    root = tmp_path_factory.mktemp("damaged")
    runs = {}
    for name, (kind, damage) in DAMAGES.items():
        run = copy_run(base_run if kind == "word" else bert_run, root / name)
        damage(run, base_run)
        runs[name] = run
    return runs


@pytest.mark.parametrize("command", ["predict", "evaluate", "serve"])
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_model_folder_is_refused(
    run_cli: Cli,
    damaged: dict[str, Path],
    eval_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: str,
    command: str,
) -> None:
    """Fault 3: a model folder whose vocabulary was reordered or extended, whose BERT encoder lost its tokenizer
    or holds a word model's weights, or whose config.json has a bad max_length, a bad or missing cleaning entry:
    `predict` and `evaluate --data` exit 2 with one line on stderr and no traceback, and `serve` exits 2 without
    serving (the old code answered with exit 0, or a traceback)."""
    import uvicorn

    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    run = str(damaged[damage])
    args = {
        "predict": ["predict", run, "so happy today", "--device", "cpu"],
        "evaluate": ["evaluate", run, "--data", str(eval_file), "--device", "cpu"],
        "serve": ["serve", run, "--port", "0", "--device", "cpu"],
    }[command]
    code, _, err = run_cli(*args)
    assert not served, f"{command} served a damaged model"
    assert_one_line_error(code, err, 2)


def test_published_weights_have_the_folders_modes(base_run: Path, bert_run: Path) -> None:
    """Fault 9a: under umask 022 (the base runs are trained under it) the weights in model/ (model.safetensors,
    and the BERT encoder's) are 0644 like every other file there, not private 0600."""
    for run in (base_run, bert_run):
        weights = sorted((run / "model").rglob("model.safetensors"))
        assert weights, f"no weights in {run / 'model'}"
        for path in sorted(p for p in (run / "model").rglob("*") if p.is_file()):
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == 0o644, f"{path.relative_to(run)} is {mode:04o}, expected 0644"
