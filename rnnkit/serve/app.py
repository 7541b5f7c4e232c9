"""``rnnkit serve RUN [RUN ...]``: trained runs behind a JSON API and a web page (FastAPI; uvicorn runs it).

Every run folder is loaded through the task registry (``rnnkit.tasks.load``), so any task's run is served the same way:

* ``GET /healthz``; ``GET /v1/models`` (name, task, what it takes, its metrics and figures); ``GET /v1/models/{name}``.
* ``POST /v1/models/{name}/predict`` with ``{"inputs": [...], "options": {...}}`` → ``{"outputs": [...]}`` — texts for a
  classifier, prompts for a language model, sequences for a config run (``predictor.predict_json``).
* ``POST /v1/models/{name}/generate`` with ``{"prompt": ..., "options": {...}}`` → server-sent events, one
  ``data: {"text": piece}`` per token, then ``event: done`` (tasks that stream).
* ``GET /v1/models/{name}/figures/{figure}``: the run's PNG figures, from a fixed list of names — nothing a request says
  becomes a path; ``GET /`` the web page (``static/``, no CDN); ``/docs`` the OpenAPI page.

Limits and errors: a request body over ``max_body`` bytes → 413 naming the limit; bad inputs or malformed JSON → 422 with
a message; unknown model → 404; a model that raises → 500 with an error id (the traceback goes to the server's log, never
to the client). Inference runs in one worker thread, one job at a time (torch uses the cores inside each job); a
generation is one job per token, so other requests interleave. At most ``max_queue`` requests wait: more get 503.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from rnnkit.tasks import registry
from rnnkit.tasks.options import OptionError

log = logging.getLogger("rnnkit.serve")
STATIC = Path(__file__).parent / "static"
FIGURES = ("curve.png", "confusion_validation.png", "confusion_test.png")
MAX_INPUTS = 256


class PredictRequest(BaseModel):
    inputs: list[Any] = Field(..., description="texts (classify), prompts (lm) or sequences (config runs)")
    options: dict[str, Any] = Field(default_factory=dict, description="task options, e.g. a language model's length")


class GenerateRequest(BaseModel):
    prompt: str = Field(..., description="the text to continue")
    options: dict[str, Any] = Field(default_factory=dict, description="length, temperature, top_k, top_p, seed")


class Model:
    """One served run: its predictor, what the listing shows, and its figures."""

    def __init__(self, name: str, run_dir: Path) -> None:
        self.name, self.run_dir = name, run_dir
        self.task = registry.task_of(run_dir)
        self.predictor = registry.load(run_dir)
        config = registry.read_config(run_dir)
        results = config.get("results") or (config.get("history") or [{}])[-1]
        self.metrics = {k: v for k, v in results.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        names = (*FIGURES, *getattr(self.predictor, "figures", ()))  # a task may name more of its run's PNGs
        self.figures = [f for f in names if (run_dir / f).is_file() and "/" not in f and not f.startswith(".")]

    def describe(self) -> dict:
        return {"name": self.name, "task": self.task.name, "summary": self.task.summary, **self.predictor.info(),
                "metrics": self.metrics,
                "figures": {f: f"/v1/models/{self.name}/figures/{f}" for f in self.figures}}


class Worker:
    """One thread runs every job, one at a time; ``max_queue`` bounds how many requests may wait."""

    def __init__(self, max_queue: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnkit-infer")
        self.max_queue, self.pending = max_queue, 0

    def admit(self) -> JSONResponse | None:
        """Count a request in, or the 503 to answer it with when the queue is full (one running, max_queue waiting)."""
        if self.pending >= self.max_queue + 1:
            return _error(503, f"the server is busy ({self.pending} requests waiting); try again shortly")
        self.pending += 1
        return None

    def release(self) -> None:
        self.pending -= 1

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _model_names(run_dirs: list[Path]) -> list[str]:
    names, seen = [], {}
    for d in run_dirs:
        base = d.resolve().name or "model"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return names


def create_app(run_dirs: list[str | Path], *, max_queue: int = 64, max_body: int = 1 << 20) -> FastAPI:
    dirs = [Path(d) for d in run_dirs]
    if not dirs:
        raise ValueError("give at least one run folder to serve")
    models = {name: Model(name, d) for name, d in zip(_model_names(dirs), dirs)}
    worker = Worker(max_queue)
    app = FastAPI(title="rnnkit", description="Trained rnnkit runs: predict, generate, see their curves.",
                  version="1")
    app.state.models, app.state.worker = models, worker

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > max_body:
            return _error(413, f"the request body is {int(size)} bytes; the limit is {max_body} bytes")
        if request.method == "POST" and size is None:  # chunked: count as it arrives
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    return _error(413, f"the request body is over the limit of {max_body} bytes")
            request._body = body
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
                    for e in exc.errors()]
        return _error(422, "invalid request: " + "; ".join(problems))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception):
        error_id = uuid.uuid4().hex[:12]
        log.error("error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
        return _error(500, "the model failed on this request; the server's log has the details", error_id=error_id)

    def no_model(name: str) -> JSONResponse:
        return _error(404, f"no model named {name!r}; models: {', '.join(models)}")

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "models": len(models), "queued": worker.pending}

    @app.get("/v1/models")
    async def list_models():
        return {"models": [m.describe() for m in models.values()]}

    @app.get("/v1/models/{name}")
    async def describe(name: str):
        m = models.get(name)
        return m.describe() if m else no_model(name)

    @app.get("/v1/models/{name}/figures/{figure}")
    async def figure(name: str, figure: str):
        m = models.get(name)
        if m is None or figure not in m.figures:  # only names from a fixed list: a request never builds a path
            return _error(404, f"no figure {figure!r} for model {name!r}")
        return FileResponse(m.run_dir / figure, media_type="image/png")

    @app.post("/v1/models/{name}/predict")
    async def predict(name: str, body: PredictRequest):
        m = models.get(name)
        if m is None:
            return no_model(name)
        if not body.inputs or len(body.inputs) > MAX_INPUTS:
            return _error(422, f"give 1 to {MAX_INPUTS} inputs, got {len(body.inputs)}")
        busy = worker.admit()
        if busy is not None:
            return busy
        try:
            outputs = await worker.run(m.predictor.predict_json, body.inputs, body.options)
        except (ValueError, TypeError, OptionError) as e:
            return _error(422, str(e))
        finally:
            worker.release()
        return {"model": name, "outputs": outputs}

    @app.post("/v1/models/{name}/generate")
    async def generate(name: str, body: GenerateRequest):
        m = models.get(name)
        if m is None:
            return no_model(name)
        if not hasattr(m.predictor, "stream_json"):
            return _error(422, f"model {name!r} ({m.task.name}) does not generate; use /v1/models/{name}/predict")
        try:
            pieces = m.predictor.stream_json(body.prompt, body.options)
        except (ValueError, TypeError, OptionError) as e:
            return _error(422, str(e))
        busy = worker.admit()
        if busy is not None:
            return busy

        async def events():
            done = object()
            try:
                while True:
                    piece = await worker.run(next, pieces, done)  # one token per job: others interleave
                    if piece is done:
                        break
                    yield f"data: {json.dumps(piece)}\n\n"
                yield "event: done\ndata: {}\n\n"
            except Exception as e:  # noqa: BLE001 - the stream has started: report in-band, log the rest
                error_id = uuid.uuid4().hex[:12]
                log.error("error %s while generating with %s", error_id, name, exc_info=e)
                yield f"event: error\ndata: {json.dumps({'error': 'generation failed', 'error_id': error_id})}\n\n"
            finally:
                worker.release()

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/", response_class=HTMLResponse)
    async def page():
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{asset}")
    async def static(asset: str):
        files = {"app.js": "text/javascript", "recorder.js": "text/javascript", "style.css": "text/css"}
        if asset not in files:
            return _error(404, f"no asset {asset!r}")
        return Response((STATIC / asset).read_text(encoding="utf-8"), media_type=files[asset])

    return app


__all__ = ["create_app"]
