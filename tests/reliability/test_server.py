"""`tweetsent serve` as a client meets it: a real server process on a free loopback port (faults 1, 2, 7, 9f)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.inference.test_server import free_port
from tests.reliability.conftest import copy_run, tweetsent

VALID = [
    ["so happy today, love it", "I hate mondays. worst day"],
    ["@friend going to work #monday", "awful awful awful http://t.co/x"],
    ["thanks, this is great!!!", "meh"],
    ["ugh sick and tired"],
    ["best day ever yay", "miss you, cry"],
]
N_VALID = 30
SERVE = [sys.executable, "-m", "tweetsent.cli.main", "serve"]


@dataclass
class Server:
    url: str
    run_dir: Path
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def server(base_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`tweetsent serve` of a calibrated copy of the base run, micro-batching with a long gathering window (so
    concurrent requests share a forward pass) and the default limits."""
    run_dir = copy_run(base_run, tmp_path_factory.mktemp("serve") / "run")
    calibrated = tweetsent("calibrate", str(run_dir), "--margin", "0.05")
    assert calibrated.returncode == 0, calibrated.stderr
    port = free_port()
    log = open(run_dir.parent / "serve.log", "wb")  # noqa: SIM115 (open for the server's lifetime)
    process = subprocess.Popen(
        [*SERVE, str(run_dir), "--port", str(port), "--batch-wait-ms", "300", "--device", "cpu"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            log.close()
            pytest.fail(f"serve exited {process.returncode}: {(run_dir.parent / 'serve.log').read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("serve did not answer /health within 90 s")
        time.sleep(0.1)
    yield Server(url, run_dir, process)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def post_raw(url: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{url}/predict", content=body, headers={"content-type": "application/json"}, timeout=60)


def test_lone_surrogate_fails_alone_in_its_micro_batch(server: Server) -> None:
    """Fault 1: a request holding a lone surrogate (the JSON escape \\ud800), sent among 30 concurrent valid
    requests, gets 422 with a one-line detail; every valid request gets 200 and the answers `tweetsent.load(run)`
    gives for its texts (the old server answered 500 to it and to the valid requests of its micro-batch)."""
    import tweetsent as api

    bad = b'{"texts": ["\\ud800"]}'
    bodies = [json.dumps({"texts": VALID[i % len(VALID)]}).encode() for i in range(N_VALID)]
    bodies.insert(N_VALID // 2, bad)
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        responses = list(pool.map(lambda b: post_raw(server.url, b), bodies))
    bad_response = responses.pop(N_VALID // 2)

    statuses = [r.status_code for r in responses]
    assert (bad_response.status_code, statuses) == (422, [200] * N_VALID), (
        f"the bad request got {bad_response.status_code} ({bad_response.text[:200]}); "
        f"{statuses.count(200)} of {N_VALID} valid requests got 200: {statuses}"
    )
    detail = bad_response.json()["detail"]
    assert isinstance(detail, str) and detail.strip() and "\n" not in detail

    classifier = api.load(server.run_dir)
    for i, response in enumerate(responses):
        texts = VALID[i % len(VALID)]
        expected = classifier.predict(texts)
        got = response.json()["predictions"]
        assert [p["label"] for p in got] == [p.label for p in expected], texts
        names = list(expected[0].probabilities)
        np.testing.assert_allclose(
            [[p["probabilities"][n] for n in names] for p in got],
            [[p.probabilities[n] for n in names] for p in expected],
            rtol=1e-5,
            atol=1e-6,
        )


def test_body_over_the_limit_is_refused_unread(server: Server) -> None:
    """Fault 2: a request announcing a 6 MB body of integers gets 413 from the headers alone (the body is never
    sent, so it cannot have been parsed), and /health still answers at once."""
    start, n = b'{"texts": [', 3_000_000
    size = len(start) + 2 * n - 1 + len(b"]}")  # [1,1,...,1]: 6 MB
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head + start + b"1," * 1000)
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            pass
    status_line = received.split(b"\r\n", 1)[0].decode(errors="replace")
    assert status_line.startswith("HTTP/1.1 413"), f"no 413 before the body was sent: {status_line!r}"
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200


def test_list_longer_than_max_batch_names_the_count(server: Server) -> None:
    """Fault 2: a list longer than max_batch (512 by default) is refused by its length, before its items are
    looked at: 422 with the count, not a message about its (wrong-typed) items."""
    response = post_raw(server.url, json.dumps({"texts": [1] * 600}).encode())
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "600" in detail and "\n" not in detail, detail


def test_many_wrong_items_are_one_line(server: Server) -> None:
    """Fault 2: 300 wrong-typed items give one line naming the first problem and the count of the others."""
    response = post_raw(server.url, json.dumps({"texts": [7] * 300}).encode())
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and len(detail) < 300, detail
    assert "texts.0" in detail and "texts.1:" not in detail, detail
    assert "299 more problems" in detail, detail
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200


def test_model_info_has_no_run_record(server: Server) -> None:
    """Fault 7: GET /model gives what a client needs (name, family, labels, decisions, neutral_margin, version,
    limits), never the run's absolute path (the calibration file's), training config or test metrics."""
    response = httpx.get(f"{server.url}/model", timeout=10)
    assert response.status_code == 200
    info = response.json()
    assert set(info) == {"name", "family", "labels", "decisions", "neutral_margin", "version", "limits"}, set(info)
    text = response.text
    for folder in {server.run_dir, server.run_dir.resolve()}:
        assert str(folder) not in text and json.dumps(str(folder))[1:-1] not in text
    assert not [s for s in strings(info) if s.startswith("/")], "an absolute path in /model"
    assert "train_config" not in text and "test_seed" not in text


def strings(value: object) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def test_port_in_use_is_one_line(base_run: Path) -> None:
    """Fault 9f: `serve` on a port another process listens on exits 2 with one line; it never says "serving"."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = tweetsent("serve", str(base_run), "--port", str(port), "--device", "cpu", timeout=90)
    output = done.stdout + done.stderr
    assert "serving" not in output, output[-2000:]
    assert "Traceback" not in output, output[-2000:]
    assert done.returncode == 2, (done.returncode, output[-2000:])
    assert len([line for line in done.stderr.strip().splitlines() if line.strip()]) == 1, done.stderr
    assert str(port) in done.stderr
