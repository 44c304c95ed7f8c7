"""A bounded load test of `tweetsent serve` on loopback, micro-batching on and off side by side: throughput,
latency, failed requests, and answers compared with the Python API's.

    python bench/serve_load.py RUN_DIR [--clients 32] [--requests 3000] [--texts-per-request 1] [--workers 1]
    python bench/serve_load.py RUN_DIR --hostile [--hostile-share 0.01] --requests 10000

`--hostile` runs micro-batching twice, clean and then with `--hostile-share` of the requests replaced by
hostile ones (lone surrogates, bodies over the size limit, wrong types, broken JSON), and reports: failures
among the valid requests, hostile requests that did not get a 4xx, the valid requests' p99 against the clean
run's, and the server's RSS (all its processes) at the end against the start.

For each mode the script starts `tweetsent serve RUN_DIR --workers N` itself on a free port (`--workers`,
default 1: one server process; compare 1 with 2 or more), waits for /health, warms it up, then `--clients`
concurrent clients (each a keep-alive connection sending one request at a time; a minimal asyncio HTTP client
by default so the load generator takes little of the two cores, or `--client httpx`) send `--requests` POST
/predict requests in total (distinct Sentiment140 tweets, or lines of --input), and it reports p50/p99
latency, tweets/s and failures. Every answer is compared with `tweetsent.load(RUN_DIR).predict(...)` on the
same texts: labels must match exactly and probabilities to float rounding. Client and server share this
machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

import tweetsent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tweets(n: int, input_file: Path | None) -> list[str]:
    if input_file is not None:
        from tweetsent.data.labelled import read_tweets

        texts = read_tweets(input_file).texts
    else:
        from tweetsent.core import paths
        from tweetsent.data.reader import read_sentiment140
        from tweetsent.data.sources import locate

        files = locate(paths.data_dir(), allow_download=False)
        raw = read_sentiment140(files.train.path, files.train.member)
        rows = np.random.default_rng(1).choice(len(raw), size=n, replace=False)
        texts = raw.texts.take(rows).to_pylist()
    return [texts[i % len(texts)] for i in range(n)]


def start_server(run_dir: Path, port: int, micro_batching: bool, extra: list[str]) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "tweetsent"
    cmd = [str(exe), "serve", str(run_dir), "--port", str(port), *extra]
    cmd.append("--micro-batching" if micro_batching else "--no-micro-batching")
    log = tempfile.TemporaryFile()  # noqa: SIM115 (the server's output, read only if it fails to start)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            raise SystemExit(f"server did not start: {log.read().decode(errors='replace')[-2000:]}")
        time.sleep(0.1)


class RawClient:
    """One keep-alive HTTP/1.1 connection written by hand: a fraction of httpx's CPU per request, which
    matters when the load generator shares two cores with the server it measures."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        payload = await self.reader.readexactly(length)
        if close:
            await self.close()
        return int(status_line.split()[1]), payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


# Hostile bodies (each must get a 4xx): a lone surrogate, a body over the 2 MiB limit, wrong types, broken JSON.
HOSTILE: tuple[bytes, ...] = (
    b'{"texts": ["fine", "\\ud800"]}',
    b'{"texts": ["' + b"a" * (3 << 20) + b'"]}',
    b'{"texts": [1, 2, 3]}',
    b'{"texts": "one string"}',
    b'{"texts": ["unclosed"',
)


async def run_load(
    url: str, payloads: list[list[str] | bytes], clients: int, kind: str = "raw"
) -> tuple[list[float], list[Any], int]:
    """`clients` concurrent clients, each sending one request at a time until `payloads` are all sent. A
    payload of bytes is sent as it is (a hostile request): its answer is its status code."""
    latencies = [0.0] * len(payloads)
    answers: list[Any] = [None] * len(payloads)
    failures = 0
    next_index = 0
    host, port = url.removeprefix("http://").split(":")
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(shared: httpx.AsyncClient) -> None:
        nonlocal next_index, failures
        raw = RawClient(host, int(port))
        try:
            while next_index < len(payloads):
                i = next_index
                next_index += 1
                payload = payloads[i]
                hostile = isinstance(payload, bytes)
                body = payload if isinstance(payload, bytes) else json.dumps({"texts": payload}).encode()
                start = time.perf_counter()
                try:
                    if kind == "raw":
                        status, content = await raw.post("/predict", body)
                    else:
                        r = await shared.post("/predict", content=body, headers={"content-type": "application/json"})
                        status, content = r.status_code, r.content
                    ok = 400 <= status < 500 if hostile else status == 200
                    answers[i] = status if hostile else json.loads(content)["predictions"] if ok else None
                except (OSError, httpx.HTTPError, ValueError, asyncio.IncompleteReadError):
                    ok = False
                    await raw.close()
                latencies[i] = time.perf_counter() - start
                failures += not ok and not hostile
        finally:
            await raw.close()

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as shared:
        await asyncio.gather(*(worker(shared) for _ in range(clients)))
    return latencies, answers, failures


def rss_mb(pid: int) -> float:
    """The resident memory of `pid` and its descendants (the worker processes of `serve --workers N`)."""
    total, pids = 0.0, [pid]
    while pids:
        current = pids.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):  # a process that ended meanwhile
            continue
    return total or float("nan")


def measure(
    run_dir: Path, micro: bool, args: argparse.Namespace, payloads: list[list[str] | bytes], mode: str | None = None
) -> dict[str, Any]:
    port = free_port()
    extra = ["--precision", args.precision, "--batch-wait-ms", str(args.batch_wait_ms), "--workers", str(args.workers)]
    proc = start_server(run_dir, port, micro, extra)
    url = f"http://127.0.0.1:{port}"
    valid = [p for p in payloads if not isinstance(p, bytes)]
    try:
        asyncio.run(run_load(url, valid[: args.clients * 4], args.clients, args.client))  # warm-up
        rss_start = rss_mb(proc.pid)
        start = time.perf_counter()
        latencies, answers, failures = asyncio.run(run_load(url, payloads, args.clients, args.client))
        seconds = time.perf_counter() - start
        rss_end = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    is_hostile = [isinstance(p, bytes) for p in payloads]
    lat = np.array([x for x, h in zip(latencies, is_hostile, strict=True) if not h]) * 1000
    statuses = [a for a, h in zip(answers, is_hostile, strict=True) if h]
    n_tweets = sum(len(p) for p in valid)
    return {
        "mode": mode or ("micro-batching" if micro else "one request at a time"),
        "hostile": len(statuses),
        "hostile_not_4xx": sum(not (isinstance(s, int) and 400 <= s < 500) for s in statuses),
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_end,
        "answers": [a for a, h in zip(answers, is_hostile, strict=True) if not h],
        "requests": len(payloads),
        "tweets": n_tweets,
        "seconds": seconds,
        "tweets_per_second": n_tweets / seconds,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "failed": failures,
    }


def compare(answers: list[Any], expected: list[tweetsent.Prediction]) -> tuple[int, float]:
    """(answers whose label differs, largest probability difference)."""
    flat = [p for a in answers if a is not None for p in a]
    if len(flat) != len(expected):
        return len(expected), float("inf")
    mismatched = sum(a["label"] != e.label for a, e in zip(flat, expected, strict=True))
    diff = max(
        abs(a["probabilities"][k] - v) for a, e in zip(flat, expected, strict=True) for k, v in e.probabilities.items()
    )
    return mismatched, float(diff)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--texts-per-request", type=int, default=1)
    parser.add_argument("--batch-wait-ms", type=float, default=5.0)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--input", type=Path, help="tweets, one per line [default: a Sentiment140 sample]")
    parser.add_argument("--modes", default="on,off", help="micro-batching on, off, or both")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw", help="load generator's HTTP client")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--hostile", action="store_true", help="clean and hostile runs of micro-batching")
    parser.add_argument("--hostile-share", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=1, help="server processes (serve --workers)")
    args = parser.parse_args()

    k = args.texts_per_request
    texts = tweets(args.requests * k, args.input)
    payloads = [texts[i * k : (i + 1) * k] for i in range(args.requests)]
    clf = tweetsent.load(args.run_dir, precision=args.precision)
    expected = clf.predict(texts)

    if args.hostile:
        hostile_run(args, payloads, expected)
        return
    results = []
    for mode in args.modes.split(","):
        r = measure(args.run_dir, mode == "on", args, payloads)  # type: ignore[arg-type]
        r["label_mismatches"], r["max_probability_difference"] = compare(r.pop("answers"), expected)
        results.append(r)

    print(
        f"{clf.name} ({clf.precision}), {args.workers} server process(es), {args.clients} clients, "
        f"{args.requests:,} requests x {k} tweet(s), batch wait {args.batch_wait_ms:g} ms, {args.client} client, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    head = ("mode", "tweets/s", "p50 ms", "p99 ms", "failed", "labels differ", "max |dp|")
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    for r in results:
        print(
            f"| {r['mode']} | {r['tweets_per_second']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['failed']} | "
            f"{r['label_mismatches']} | {r['max_probability_difference']:.1e} |"
        )
    if len(results) == 2:
        ratio = results[0]["tweets_per_second"] / results[1]["tweets_per_second"]
        print(f"micro-batching / one-at-a-time throughput: {ratio:.1f}x")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"run": str(args.run_dir), "args": vars(args) | {"run_dir": str(args.run_dir)}, "results": results},
                indent=2,
                default=str,
            )
            + "\n"
        )


def hostile_run(args: argparse.Namespace, payloads: list[list[str]], expected: list[tweetsent.Prediction]) -> None:
    rng = np.random.default_rng(0)
    mixed: list[list[str] | bytes] = list(payloads)
    chosen = rng.choice(len(mixed), size=max(1, round(args.hostile_share * len(mixed))), replace=False)
    for k, i in enumerate(sorted(chosen)):
        mixed[i] = HOSTILE[k % len(HOSTILE)]
    kept = [e for i, e in enumerate(expected) if i not in set(chosen.tolist())]
    clean = measure(args.run_dir, True, args, list(payloads), "clean")
    clean["label_mismatches"], _ = compare(clean.pop("answers"), expected)
    hostile = measure(args.run_dir, True, args, mixed, f"{args.hostile_share:.0%} hostile")
    hostile["label_mismatches"], _ = compare(hostile.pop("answers"), kept)
    print(
        f"{args.workers} server process(es), {args.clients} clients, {len(payloads):,} requests, micro-batching, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    head = (
        "run",
        "valid failed",
        "labels differ",
        "hostile",
        "hostile not 4xx",
        "p99 ms",
        "tweets/s",
        "RSS start/end MB",
    )
    print("| " + " | ".join(head) + " |\n|---|" + "---:|" * (len(head) - 1))
    for r in (clean, hostile):
        print(
            f"| {r['mode']} | {r['failed']} | {r['label_mismatches']} | {r['hostile']} | {r['hostile_not_4xx']} | "
            f"{r['p99_ms']:.1f} | {r['tweets_per_second']:,.0f} | {r['rss_start_mb']:.0f} / {r['rss_end_mb']:.0f} |"
        )
    print(
        f"p99 hostile / clean: {hostile['p99_ms'] / clean['p99_ms']:.2f}x (target <= 2x); "
        f"RSS end / start (hostile run): {hostile['rss_end_mb'] / hostile['rss_start_mb']:.2f}x (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
