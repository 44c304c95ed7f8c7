"""`tweetsent serve`: a FastAPI app around one `Classifier`.

POST /predict {"texts": [...]} -> {"model", "neutral_margin", "predictions": [{"label", "probabilities"}]}
GET  /health, GET /model (name, training config, test metrics), OpenAPI docs at /docs.

Micro-batching: requests go into an asyncio queue; one worker takes the first waiting request, gathers
more for at most `batch_wait_ms` (or until `max_batch` texts), runs one forward pass in a worker thread and
answers every request from it. While a pass runs, new requests queue up, so batches grow with the load and
the per-pass costs (cleaning, tokenizing, the LSTM's sequential steps) are shared. Without micro-batching
each request gets its own pass, one at a time (the same single model thread), for comparison.

Bad requests get a 4xx and one readable `detail` line; nothing a client sends stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StrictStr

from tweetsent.inference.classifier import Classifier, model_thread_setup


@dataclass(frozen=True)
class ServeSettings:
    max_batch: int = 512  # texts per request, and per forward pass when micro-batching
    max_text_chars: int = 2000
    batch_wait_ms: float = 5.0
    micro_batching: bool = True


class PredictRequest(BaseModel):
    texts: list[StrictStr] = Field(description="tweets to classify, in order", examples=[["what a great day"]])


class LabelProbabilities(BaseModel):
    negative: float
    neutral: float
    positive: float


class PredictionOut(BaseModel):
    label: str = Field(description="negative, neutral or positive (the neutral band applied)")
    probabilities: LabelProbabilities


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
                except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
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
            except Exception as e:  # a failed pass fails its requests, not the server
                for _, future in jobs:
                    if not future.done():
                        future.set_exception(e)
                continue
            self.batches += 1
            self.texts += len(texts)
            start = 0
            for batch, future in jobs:
                if not future.done():
                    future.set_result(probs[start : start + len(batch)])
                start += len(batch)


def _validation_message(exc: RequestValidationError) -> tuple[int, str]:
    parts = []
    status = 422
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        if err.get("type") == "json_invalid":
            status = 400
            parts.append(f"invalid JSON: {err.get('ctx', {}).get('error', err.get('msg'))}")
        elif err.get("type") == "missing":
            parts.append(f'missing field {loc!r}: send {{"texts": ["..."]}}' if loc else "missing JSON body")
        elif not loc:
            parts.append(f'the body must be a JSON object like {{"texts": ["..."]}} ({err.get("msg")})')
        else:
            parts.append(f"{loc}: {err.get('msg')}")
    return status, "; ".join(parts[:5]) or "invalid request"


def _model_info(classifier: Classifier, settings: ServeSettings) -> dict[str, Any]:
    config = {k: v for k, v in classifier.artifact.config.items() if k not in ("vocab_digest",)}
    info: dict[str, Any] = {
        "name": classifier.name,
        "kind": classifier.kind,
        "labels": list(classifier.labels),
        "neutral_margin": classifier.neutral_margin,
        "calibration": classifier.calibration,
        "config": config,
        "training": None,
        "test_metrics": None,
        "limits": {"max_batch": settings.max_batch, "max_text_chars": settings.max_text_chars},
        "micro_batching": settings.micro_batching,
    }
    run_dir = classifier.run_dir
    if run_dir is not None:
        with contextlib.suppress(OSError, ValueError):
            info["training"] = json.loads((run_dir / "config.json").read_text()).get("train")
        with contextlib.suppress(OSError, ValueError):
            summary = json.loads((run_dir / "summary.json").read_text())
            info["test_metrics"] = {
                k: summary[k] for k in ("test", "test_seed", "neutral_band") if k in summary
            } or None
    return info


def create_app(classifier: Classifier, settings: ServeSettings | None = None) -> FastAPI:
    settings = settings or ServeSettings()
    # One model thread with one intra-op thread: the event loop (HTTP parsing, JSON) needs the other core.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tweetsent-model", initializer=model_thread_setup)
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
        description="Classify tweets as negative, neutral or positive with a trained tweetsent model.",
        lifespan=lifespan,
    )
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

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses={400: {"description": "invalid JSON"}, 422: {"description": "invalid request"}},
    )
    async def predict(body: PredictRequest) -> Any:
        texts = body.texts
        if not texts:
            return JSONResponse({"detail": "texts: empty list; send 1 or more texts"}, status_code=422)
        if len(texts) > settings.max_batch:
            return JSONResponse(
                {"detail": f"texts: {len(texts)} texts, more than the limit of {settings.max_batch} per request"},
                status_code=422,
            )
        for i, t in enumerate(texts):
            if len(t) > settings.max_text_chars:
                return JSONResponse(
                    {"detail": f"texts.{i}: {len(t)} characters, over the limit of {settings.max_text_chars}"},
                    status_code=422,
                )
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

    return app
