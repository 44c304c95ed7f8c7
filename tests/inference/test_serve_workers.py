"""`serve --workers N` (N processes on one port, each with its own model) and the 413 for an oversized body
reaching a client that writes its whole body before it reads (urllib), on real servers on free loopback ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import tweetsent
from tests.inference.fixtures import TEXTS, make_run
from tests.inference.test_server import check_answer, free_port, start_server
from tweetsent.cli.inference_commands import default_serve_workers
from tweetsent.inference.server import ServeSettings

BIG = json.dumps({"texts": ["a" * (4 << 20)]}).encode()  # 4 MB, over the default limit of 2 MiB
CHUNK = 1 << 16


def post_big(url: str, chunked: bool) -> int | str:
    """POST the 4 MB body with urllib (Connection: close, the whole body written before the answer is read):
    the HTTP status, or the name of the error that replaced it."""
    data: bytes | Iterator[bytes] = BIG
    if chunked:  # an iterable without a length: urllib sends Transfer-Encoding: chunked
        data = (BIG[i : i + CHUNK] for i in range(0, len(BIG), CHUNK))
    request = urllib.request.Request(f"{url}/predict", data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        detail = json.loads(e.read())["detail"]
        assert "over the limit" in detail, detail
        return e.code
    except (OSError, urllib.error.URLError) as e:  # ConnectionResetError, BrokenPipeError, URLError
        return f"{type(e).__name__}: {e}"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_bodies_get_their_413_while_valid_requests_are_answered(tmp_path: Path, chunked: bool) -> None:
    classifier = tweetsent.load(make_run(tmp_path / "run"))
    # A generous body timeout: on a loaded machine a slow upload would get its 408, not the 413 tested here.
    srv, thread, url = start_server(classifier, ServeSettings(body_timeout_s=60))
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            big = [pool.submit(post_big, url, chunked) for _ in range(20)]
            time.sleep(0.05)  # the large bodies are on their way
            start = time.perf_counter()
            ok = httpx.post(f"{url}/predict", json={"texts": TEXTS}, timeout=30)
            seconds = time.perf_counter() - start
            statuses = [f.result() for f in big]
        assert statuses == [413] * 20, statuses
        assert ok.status_code == 200
        check_answer(ok.json(), classifier, TEXTS)
        assert seconds < 20, f"a valid request took {seconds:.1f} s beside the large bodies"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def test_serve_with_two_workers(tmp_path: Path) -> None:
    """The packaged model in two worker processes: /health and /predict answer, SIGTERM stops them all."""
    port = free_port()
    exe = Path(sys.executable).parent / "tweetsent"
    env = {**os.environ, "TWEETSENT_CACHE_DIR": str(tmp_path / "cache")}
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(exe), "serve", "--workers", "2", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # both workers up: each imports and loads its own model
        while log_path.read_text().count("Application startup complete") < 2:
            assert proc.poll() is None, log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "serve --workers 2 did not start both workers in 90 s"
            time.sleep(0.1)
        assert httpx.get(f"{url}/health", timeout=30).json()["status"] == "ok"
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda _: client.post(f"{url}/predict", json={"texts": TEXTS}), range(8)))
        for r in answers:
            assert r.status_code == 200
            check_answer(r.json(), tweetsent.load(), TEXTS)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    out = log_path.read_text()
    assert proc.returncode == 0, out[-2000:]
    assert f"127.0.0.1:{port}" in out and "2 workers" in out, out[-2000:]
    assert out.count("Started server process") == 2, out[-2000:]
    assert "Traceback" not in out, out[-2000:]


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_workers_below_one_is_one_line(run_cli: Callable[..., tuple[int, str, str]], workers: str) -> None:
    code, out, err = run_cli("serve", "--workers", workers, "--port", str(free_port()))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "--workers" in err, err
    assert "serving" not in out + err


def test_default_workers_is_one_per_usable_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert default_serve_workers() == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5}, raising=False)
    assert default_serve_workers() == 1
