"""`tweetsent serve`: a FastAPI app around one `Classifier`.

POST /predict {"texts": [...]} -> {"model", "neutral_margin", "predictions": [{"label", "probabilities"}]}
GET  /health, GET /model (name, labels, version, margin), OpenAPI docs at /docs.

Micro-batching: requests go into an asyncio queue; one worker takes the first waiting request, gathers
more for at most `batch_wait_ms` (or until `max_batch` texts), runs one forward pass in a worker thread and
answers every request from it. While a pass runs, new requests queue up, so batches grow with the load and
the per-pass costs (cleaning, tokenizing, the LSTM's sequential steps) are shared. Without micro-batching
each request gets its own pass, one at a time (the same single model thread), for comparison.

Bad requests get a 4xx and one readable `detail` line, decided before the request joins a batch: the body is
read up to `max_body_bytes` (413 past it) within `body_timeout_s` (408), parsed once, and checked cheaply (the
list's length before its items; the first problem and the count of all, never one message per item). A batch
that fails anyway is retried request by request, so one request can never fail or change another's answer.

A body over the limit is still read, and dropped, up to `ServeSettings.drain_bytes` before the 413 is complete:
a client that writes its whole body before it reads (urllib, requests) then reads the 413 rather than a reset
connection. A declared Content-Length over the limit gets its answer at once (the rest of the body is drained
before the response ends); past the drain bound, or with `Expect: 100-continue`, the 413 closes the connection.

`serve --workers N` runs N processes on one port, each with its own model and micro-batcher: uvicorn's
multi-process mode calls `app_from_environment` in each, which reads what to load from `SERVE_ENV` (JSON).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StrictStr
from starlette.types import Receive, Scope, Send

from tweetsent.inference.classifier import Classifier, model_thread_setup


@dataclass(frozen=True)
class ServeSettings:
    max_batch: int = 512  # texts per request, and per forward pass when micro-batching
    max_text_chars: int = 2000
    batch_wait_ms: float = 5.0
    micro_batching: bool = True
    max_body_bytes: int = 2 << 20  # a full batch of 512 tweets is well under this
    body_timeout_s: float = 10.0  # a client that sends its body slower than this is cut off
    max_drain_bytes: int = 16 << 20  # an over-limit body is read (and dropped) up to this, so its client reads the 413

    @property
    def drain_bytes(self) -> int:
        """How much of a body over `max_body_bytes` is still read, and dropped, before its 413 is complete."""
        return max(self.max_drain_bytes, 4 * self.max_body_bytes)


class BadRequest(Exception):
    """A 4xx with one `detail` line. `close`: the connection closes after the answer (the request's body was not
    all read); `drain`: the answer goes out at once and ends once up to this many body bytes have been read."""

    def __init__(self, status: int, detail: str, *, close: bool = False, drain: int = 0) -> None:
        super().__init__(detail)
        self.status, self.detail, self.close, self.drain = status, detail, close, drain


class DrainedRefusal(JSONResponse):
    """A refusal sent at once but ended only after the rest of the request body has been read (and dropped), up
    to `drain` bytes within `timeout_s`: a client still writing its body then reads the answer instead of a
    connection reset by a server that closed on unread data."""

    def __init__(self, content: Any, status_code: int, drain: int, timeout_s: float) -> None:
        super().__init__(content, status_code=status_code)
        self.drain, self.timeout_s = drain, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_discard(receive, self.drain), self.timeout_s)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _discard(receive: Receive, limit: int) -> None:
    """Read the request body to its end, the client's going away, or past `limit` bytes; keep none of it."""
    size = 0
    while size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class PredictRequest(BaseModel):
    texts: list[StrictStr] = Field(description="tweets to classify, in order", examples=[["what a great day"]])


class PredictionOut(BaseModel):
    label: str = Field(description="one of the model's labels (neutral too where the neutral band applies)")
    probabilities: dict[str, float] = Field(description="the probability of each of the model's labels")


class PredictResponse(BaseModel):
    model: str
    neutral_margin: float
    predictions: list[PredictionOut]


Job = tuple[list[str], "asyncio.Future[np.ndarray]"]


class MicroBatcher:
    """One worker task turning queued requests into shared forward passes."""

    def __init__(
        self, run: Callable[[list[str]], np.ndarray], executor: ThreadPoolExecutor, max_texts: int, wait_s: float
    ) -> None:
        self.run = run
        self.executor = executor
        self.max_texts = max_texts
        self.wait_s = wait_s
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self._held: Job | None = None  # a request that did not fit the previous batch goes first next time
        self.batches = 0
        self.texts = 0

    async def submit(self, texts: list[str]) -> np.ndarray:
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        await self.queue.put((texts, future))
        return await future

    async def _gather(self) -> list[Job]:
        loop = asyncio.get_running_loop()
        first = self._held or await self.queue.get()
        self._held = None
        jobs, n = [first], len(first[0])
        deadline = loop.time() + self.wait_s
        while n < self.max_texts:
            try:
                # Take what is already waiting at once; wait for more only until the deadline.
                job = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self.queue.get(), remaining)
                except TimeoutError:  # not the builtin TimeoutError before Python 3.11
                    break
            if n + len(job[0]) > self.max_texts:
                self._held = job
                break
            jobs.append(job)
            n += len(job[0])
        return jobs

    async def work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [j for j in await self._gather() if not j[1].done()]  # skip clients that went away
            if not jobs:
                continue
            texts = [t for j in jobs for t in j[0]]
            try:
                probs = await loop.run_in_executor(self.executor, self.run, texts)
            except Exception:
                # One request must not fail the others: each gets a pass of its own, and only a request that
                # fails alone fails.
                await self._one_by_one(jobs)
                continue
            self.batches += 1
            self.texts += len(texts)
            start = 0
            for batch, future in jobs:
                if not future.done():
                    future.set_result(probs[start : start + len(batch)])
                start += len(batch)

    async def _one_by_one(self, jobs: list[Job]) -> None:
        loop = asyncio.get_running_loop()
        for texts, future in jobs:
            try:
                result = await loop.run_in_executor(self.executor, self.run, texts)
            except Exception as e:
                if not future.done():
                    future.set_exception(e)
            else:
                if not future.done():
                    future.set_result(result)


def _validation_message(exc: RequestValidationError) -> tuple[int, str]:
    """The first problem and how many there are (a body of two million wrong items is one line, not two million)."""
    errors = exc.errors()
    if not errors:
        return 422, "invalid request"
    err = errors[0]
    loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
    status, text = 422, f"{loc}: {err.get('msg')}" if loc else str(err.get("msg"))
    if err.get("type") == "json_invalid":
        status, text = 400, f"invalid JSON: {err.get('ctx', {}).get('error', err.get('msg'))}"
    more = f" (and {len(errors) - 1:,} more problems)" if len(errors) > 1 else ""
    return status, text + more


async def read_body(request: Request, settings: ServeSettings) -> bytes:
    """The request body, refused (408) when it takes longer than `body_timeout_s` to arrive, and (413) past
    `max_body_bytes`: none of it is kept past the limit, but it is read to its end (up to `drain_bytes`) so that
    the client, once it has sent it, reads the 413. A declared Content-Length over the limit is answered at once
    (the drain happens as the answer ends), and past `drain_bytes` the answer closes the connection unread."""
    limit, drain = settings.max_body_bytes, settings.drain_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        detail = f"body of {int(declared):,} bytes, over the limit of {limit:,}"
        # A client waiting for "100 Continue" sends nothing more: nothing to drain.
        waiting = request.headers.get("expect", "").lower() == "100-continue"
        if int(declared) > drain or waiting:
            raise BadRequest(413, detail, close=True)
        raise BadRequest(413, detail, drain=int(declared))
    chunks: list[bytes] = []
    size = 0

    async def collect() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > drain:
                return
            if size > limit:
                chunks.clear()  # keep reading, keep nothing
            else:
                chunks.append(chunk)

    try:
        await asyncio.wait_for(collect(), settings.body_timeout_s)
    except TimeoutError:
        if size > limit:
            raise BadRequest(413, f"body over the limit of {limit:,} bytes", close=True) from None
        raise BadRequest(408, f"the body took longer than {settings.body_timeout_s:g} s to arrive") from None
    if size > limit:
        raise BadRequest(413, f"body over the limit of {limit:,} bytes", close=size > drain)
    return b"".join(chunks)


def parse_texts(body: bytes, settings: ServeSettings) -> list[str]:
    """`{"texts": [...]}` checked in order of cost: JSON, the shape, the list's length, then each item (a string,
    short enough, encodable: a lone surrogate cannot be cleaned or tokenized)."""
    if not body.strip():
        raise BadRequest(422, 'missing JSON body: send {"texts": ["..."]}')
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(400, f"invalid JSON: {e}") from None
    if not isinstance(payload, dict):
        raise BadRequest(422, f'the body must be a JSON object like {{"texts": ["..."]}}, not {type(payload).__name__}')
    if "texts" not in payload:
        raise BadRequest(422, 'missing field \'texts\': send {"texts": ["..."]}')
    texts = payload["texts"]
    if not isinstance(texts, list):
        raise BadRequest(422, f"texts: expected a list of strings, found {type(texts).__name__}")
    if not texts:
        raise BadRequest(422, "texts: empty list; send 1 or more texts")
    if len(texts) > settings.max_batch:
        raise BadRequest(422, f"texts: {len(texts):,} texts, more than the limit of {settings.max_batch} per request")
    problems = [p for p in (_problem(i, t, settings) for i, t in enumerate(texts)) if p]
    if problems:
        more = f" (and {len(problems) - 1:,} more problems)" if len(problems) > 1 else ""
        raise BadRequest(422, problems[0] + more)
    return texts


def _problem(i: int, text: Any, settings: ServeSettings) -> str | None:
    if not isinstance(text, str):
        return f"texts.{i}: expected a string, found {type(text).__name__}"
    if len(text) > settings.max_text_chars:
        return f"texts.{i}: {len(text):,} characters, over the limit of {settings.max_text_chars:,}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"texts.{i}: not valid Unicode (a lone surrogate at character {e.start})"
    return None


def _model_info(classifier: Classifier, settings: ServeSettings) -> dict[str, Any]:
    """What a client needs; the run's full record (training config, data paths, test metrics) stays in its folder."""
    from tweetsent.core.versions import __version__

    return {
        "name": classifier.name,
        "family": classifier.family,
        "labels": classifier.labels.to_list(),
        "decisions": classifier.decisions.to_list(),
        "neutral_margin": classifier.neutral_margin,
        "version": __version__,
        "limits": {
            "max_batch": settings.max_batch,
            "max_text_chars": settings.max_text_chars,
            "max_body_bytes": settings.max_body_bytes,
        },
    }


def create_app(classifier: Classifier, settings: ServeSettings | None = None) -> FastAPI:
    """The HTTP app around one classifier: /predict (micro-batched unless turned off), /health and /model."""
    settings = settings or ServeSettings()
    # One model thread with one intra-op thread: the event loop (HTTP parsing, JSON) needs the other core.
    # PyTorch's thread settings for a torch model only: the NumPy and ONNX runtimes never import it.
    setup = model_thread_setup if classifier.runtime == "torch" else None
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tweetsent-model", initializer=setup)
    batcher = MicroBatcher(
        classifier.predict_proba, executor, max(settings.max_batch, 1), settings.batch_wait_ms / 1000
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = asyncio.create_task(batcher.work()) if settings.micro_batching else None
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="tweetsent",
        summary=f"Tweet sentiment: {classifier.name}",
        description=f"Classify tweets as {', '.join(classifier.decisions.names)} with a trained tweetsent model.",
        lifespan=lifespan,
    )
    _routes(app, classifier, settings, batcher, executor)
    return app


def _routes(
    app: FastAPI, classifier: Classifier, settings: ServeSettings, batcher: MicroBatcher, executor: ThreadPoolExecutor
) -> None:
    """The app's routes and error handlers."""
    app.state.batcher = batcher
    info = _model_info(classifier, settings)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = _validation_message(exc)
        return JSONResponse({"detail": message}, status_code=status)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "model": classifier.name}

    @app.get("/model")
    async def model() -> dict[str, Any]:
        return info

    @app.exception_handler(BadRequest)
    async def on_bad(request: Request, exc: BadRequest) -> JSONResponse:
        if exc.drain:
            return DrainedRefusal({"detail": exc.detail}, exc.status, exc.drain, settings.body_timeout_s)
        headers = {"connection": "close"} if exc.close else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses={
            400: {"description": "invalid JSON"},
            408: {"description": "the body arrived too slowly"},
            413: {"description": "the body is too large"},
            422: {"description": "invalid request"},
        },
        # The body is read and checked by hand (limits first); the schema is still the documented one.
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
            }
        },
    )
    async def predict(request: Request) -> Any:
        texts = parse_texts(await read_body(request, settings), settings)
        if settings.micro_batching:
            probs = await batcher.submit(texts)
        else:
            probs = await asyncio.get_running_loop().run_in_executor(executor, classifier.predict_proba, texts)
        answer = {
            "model": classifier.name,
            "neutral_margin": classifier.neutral_margin,
            "predictions": [p.to_dict() for p in classifier.predictions(probs)],
        }
        # Serialised here: FastAPI would re-validate the answer against PredictResponse (which documents it).
        return Response(json.dumps(answer), media_type="application/json")


# `serve --workers N`: what each worker process loads, as JSON in this environment variable.
SERVE_ENV = "TWEETSENT_SERVE"


def worker_spec(
    run_dir: str | os.PathLike[str] | None,
    settings: ServeSettings,
    load: dict[str, Any],
) -> str:
    """The JSON `app_from_environment` reads from `SERVE_ENV`: the model folder, `Classifier.load`'s options and
    the server's settings."""
    return json.dumps(
        {"run_dir": None if run_dir is None else os.fspath(run_dir), "load": load, "settings": asdict(settings)}
    )


def app_from_environment() -> FastAPI:
    """The app of one `serve --workers N` process (a uvicorn factory): its own classifier, loaded and warmed up
    as `serve` does in one process, and its own micro-batcher."""
    spec = json.loads(os.environ[SERVE_ENV])
    classifier = Classifier.load(spec["run_dir"], **spec["load"])
    classifier.predict(["warm up"])  # the first pass builds lookup tables: not on a client's time
    return create_app(classifier, ServeSettings(**spec["settings"]))
