"""Downloads against a real HTTP server on loopback; no test touches the network."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tests.conftest import TEST_ROWS, tweet_rows, write_csv
from tweetsent.core.errors import UserError
from tweetsent.data.download import DownloadError, download
from tweetsent.data.reader import OFFICIAL_TEST, OFFICIAL_TRAIN
from tweetsent.data.sources import locate


class RangeHandler(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    ranges_seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        header = self.headers.get("Range")
        if header:
            self.ranges_seen.append(header)
            start = int(header.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RangeHandler.files = {}
    RangeHandler.ranges_seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_checks_size_and_sha256(server: str, tmp_path: Path) -> None:
    body = bytes(range(256)) * 5000
    RangeHandler.files["/f.bin"] = body
    out = download(
        f"{server}/f.bin",
        tmp_path / "f.bin",
        expected_size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        show_progress=False,
    )
    assert out.read_bytes() == body
    assert not (tmp_path / "f.bin.part").exists()


def test_download_resumes_a_partial_file(server: str, tmp_path: Path) -> None:
    body = b"abcdefgh" * 100_000
    RangeHandler.files["/f.bin"] = body
    (tmp_path / "f.bin.part").write_bytes(body[:300_000])
    download(f"{server}/f.bin", tmp_path / "f.bin", show_progress=False)
    assert RangeHandler.ranges_seen == ["bytes=300000-"]
    assert (tmp_path / "f.bin").read_bytes() == body


def test_checksum_mismatch_removes_the_file(server: str, tmp_path: Path) -> None:
    RangeHandler.files["/f.bin"] = b"payload"
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        download(f"{server}/f.bin", tmp_path / "f.bin", sha256="0" * 64, show_progress=False)
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_http_error_is_one_line(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"HTTP 404"):
        download(f"{server}/missing", tmp_path / "x", show_progress=False)


def test_locate_downloads_the_official_zip(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    src.mkdir()
    archive = src / "trainingandtestdata.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(write_csv(src / OFFICIAL_TRAIN, tweet_rows(30, six_columns=True), "latin-1"), OFFICIAL_TRAIN)
        zf.write(write_csv(src / OFFICIAL_TEST, TEST_ROWS, "latin-1"), OFFICIAL_TEST)
    RangeHandler.files["/trainingandtestdata.zip"] = archive.read_bytes()
    monkeypatch.setenv("TWEETSENT_SENTIMENT140_URL", f"{server}/trainingandtestdata.zip")
    files = locate(tmp_path / "data")
    assert files.train.member == OFFICIAL_TRAIN and files.test.member == OFFICIAL_TEST
    assert (tmp_path / "data" / "trainingandtestdata.zip").is_file()


def test_offline_names_the_folder_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEETSENT_SENTIMENT140_URL", "http://127.0.0.1:9/trainingandtestdata.zip")
    with pytest.raises(UserError) as info:
        locate(tmp_path / "empty")
    message = str(info.value)
    assert "\n" not in message
    assert "download of http://127.0.0.1:9/trainingandtestdata.zip failed" in message
    assert f"put trainingandtestdata.zip (or {OFFICIAL_TRAIN} and {OFFICIAL_TEST}) in {tmp_path / 'empty'}" in message


def test_damaged_zip_is_reported(tmp_path: Path) -> None:
    (tmp_path / "trainingandtestdata.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UserError, match="truncated or corrupt zip"):
        locate(tmp_path)
