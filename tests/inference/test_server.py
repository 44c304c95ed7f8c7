"""The HTTP service on a real uvicorn server bound to a free loopback port: answers equal to the Python
API's, each kind of bad request refused with a message while the server keeps serving, concurrent
requests each getting their own answers, with and without micro-batching, and the `serve` command itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn

import tweetsent
from tests.inference.fixtures import TEXTS, make_run
from tweetsent.inference.classifier import Classifier
from tweetsent.inference.server import ServeSettings, create_app

MAX_BATCH, MAX_CHARS = 16, 300


def start_server(classifier: Classifier, settings: ServeSettings) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(classifier, settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("serve") / "run")


@pytest.fixture(scope="module", params=[True, False], ids=["micro-batching", "one-at-a-time"])
def server(request: pytest.FixtureRequest, run_dir: Path) -> Iterator[tuple[str, Classifier]]:
    classifier = tweetsent.load(run_dir)
    settings = ServeSettings(max_batch=MAX_BATCH, max_text_chars=MAX_CHARS, micro_batching=request.param)
    srv, thread, url = start_server(classifier, settings)
    yield url, classifier
    srv.should_exit = True
    thread.join(timeout=10)


def check_answer(body: dict, classifier: Classifier, texts: list[str]) -> None:
    expected = classifier.predict(texts)
    assert body["model"] == classifier.name
    assert [p["label"] for p in body["predictions"]] == [p.label for p in expected]
    got = np.array([[p["probabilities"][k] for k in classifier.labels] for p in body["predictions"]])
    want = np.array([list(p.probabilities.values()) for p in expected])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_predict_health_model_docs(server: tuple[str, Classifier]) -> None:
    url, classifier = server
    r = httpx.post(f"{url}/predict", json={"texts": TEXTS}, timeout=30)
    assert r.status_code == 200
    check_answer(r.json(), classifier, TEXTS)
    assert httpx.get(f"{url}/health", timeout=30).json()["status"] == "ok"
    info = httpx.get(f"{url}/model", timeout=30).json()
    assert info["name"] == "bilstm" and info["labels"] == ["negative", "neutral", "positive"]
    assert info["limits"]["max_batch"] == MAX_BATCH and info["version"] == tweetsent.__version__
    # What a client needs, not the run's record (issue: /model leaked paths, the training config, test metrics).
    assert set(info) == {"name", "family", "labels", "decisions", "neutral_margin", "version", "limits"}
    assert "/predict" in httpx.get(f"{url}/openapi.json", timeout=30).json()["paths"]
    assert httpx.get(f"{url}/docs", timeout=30).status_code == 200


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"{not json", 400, "invalid JSON"),
        (b'{"text": ["hi"]}', 422, "missing field 'texts'"),
        (b'{"texts": ["ok", 3]}', 422, "texts.1"),
        (b'{"texts": "just a string"}', 422, "expected a list of strings"),
        (b'{"texts": []}', 422, "empty list"),
        (b'{"texts": [' + b",".join([b'"x"'] * (MAX_BATCH + 1)) + b"]}", 422, f"limit of {MAX_BATCH}"),
        (b'{"texts": ["' + b"a" * (MAX_CHARS + 1) + b'"]}', 422, f"over the limit of {MAX_CHARS}"),
        (b'["a", "b"]', 422, "JSON object"),
        (b"", 422, "missing"),
    ],
)
def test_bad_requests_get_4xx_with_a_message(
    server: tuple[str, Classifier], content: bytes, status: int, message: str
) -> None:
    url, classifier = server
    r = httpx.post(f"{url}/predict", content=content, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == status
    detail = r.json()["detail"]
    assert isinstance(detail, str) and message in detail
    # ... and the server goes on answering.
    ok = httpx.post(f"{url}/predict", json={"texts": ["still here"]}, timeout=30)
    assert ok.status_code == 200
    check_answer(ok.json(), classifier, ["still here"])


def test_wrong_method_and_path(server: tuple[str, Classifier]) -> None:
    url, _ = server
    assert httpx.get(f"{url}/predict", timeout=30).status_code == 405
    assert httpx.post(f"{url}/nope", json={}, timeout=30).status_code == 404


def test_concurrent_requests_get_their_own_answers(server: tuple[str, Classifier]) -> None:
    url, classifier = server
    # Different texts and different batch sizes per request, all at once.
    requests = [[f"{TEXTS[i % len(TEXTS)]} {i}"] * (1 + i % 3) + [TEXTS[(i * 3) % len(TEXTS)]] for i in range(48)]

    def send(client: httpx.Client, texts: list[str]) -> dict:
        r = client.post(f"{url}/predict", json={"texts": texts})
        assert r.status_code == 200
        return dict(r.json())

    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda t: send(client, t), requests))
    # Every answer against the API's prediction for its own texts (computed in one call).
    merged = {"model": classifier.name, "predictions": [p for body in answers for p in body["predictions"]]}
    assert [len(body["predictions"]) for body in answers] == [len(texts) for texts in requests]
    check_answer(merged, classifier, [t for texts in requests for t in texts])


def test_micro_batches_are_shared_under_load(run_dir: Path) -> None:
    classifier = tweetsent.load(run_dir)
    srv, thread, url = start_server(classifier, ServeSettings(max_batch=64, batch_wait_ms=200))
    try:
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda i: client.post(f"{url}/predict", json={"texts": [f"tweet {i}"]}), range(24)))
        batcher = srv.config.app.state.batcher
        assert batcher.texts == 24
        assert batcher.batches < 24, "concurrent requests should have shared forward passes"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_command(run_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    exe = Path(sys.executable).parent / "tweetsent"
    env = {**os.environ, "TWEETSENT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [str(exe), "serve", str(run_dir), "--port", str(port), "--neutral-margin", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)
        body = httpx.post(f"http://127.0.0.1:{port}/predict", json={"texts": TEXTS}, timeout=30).json()
        assert body["neutral_margin"] == 0.5
        check_answer(body, tweetsent.load(run_dir, neutral_margin=0.5), TEXTS)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert f"127.0.0.1:{port}" in out


def test_serve_refuses_a_bad_model_in_one_line(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "tweetsent"
    result = subprocess.run([str(exe), "serve", str(tmp_path / "nothing")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
