import stat
from pathlib import Path

import pytest

import tweetsent.core.atomic as atomic
from tweetsent.core.atomic import atomic_dir, atomic_path, write_json


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_published_files_and_folders_get_the_umask_modes(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", {"x": 1})
    with atomic_dir(tmp_path / "model") as folder:
        (folder / "w.bin").write_bytes(b"1")
    # What open()/mkdir() would give under this umask (0644/0755 on most machines), not mkstemp's private 0600.
    assert mode(tmp_path / "a.json") == 0o666 & ~atomic._UMASK
    assert mode(tmp_path / "model") == 0o777 & ~atomic._UMASK


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]
