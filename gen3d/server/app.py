"""The job server's HTTP application (FastAPI) over a :class:`~gen3d.server.jobs.JobManager`.

API (JSON unless noted; every request needs ``Authorization: Bearer TOKEN`` when a token is set):

- ``GET /v1/health``            version, device, model, models loaded, queue length
- ``POST /v1/jobs``             :class:`~gen3d.server.jobs.JobRequest` -> ``{"id": ...}`` (202)
- ``GET /v1/jobs``              all jobs, newest first
- ``GET /v1/jobs/{id}``         state, stage, progress, eta_s, error, seed, options, metadata
- ``DELETE /v1/jobs/{id}``      cancel (queued: at once; running: at the next diffusion step or stage)
- ``GET /v1/jobs/{id}/result``  the GLB (``model/gltf-binary``)
- ``GET /v1/jobs/{id}/thumbnail`` a 128 px PNG preview (unless submitted with ``"thumbnail": false``)
- ``POST /v1/release``          drop the loaded model (409 while a job runs)
"""

import hmac
from pathlib import Path

from pydantic import ValidationError

from gen3d import __version__
from gen3d.server.jobs import PRESETS, Job, JobManager, JobRequest

MAX_BODY_BYTES = 16 * 1024


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_app(model: str = "gen3d-small", device: str = "auto", token: str | None = None, preload: bool = False,
               jobs_dir: str | Path | None = None, manager: JobManager | None = None):
    """The FastAPI application (``uvicorn.run(create_app(...))``)."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, HTTPException, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse

    mgr = manager or JobManager(model, device, jobs_dir)
    if preload:
        try:
            mgr.pipeline()
        except BaseException:
            mgr.close()  # no worker thread or temp folder left behind
            raise

    @asynccontextmanager
    async def lifespan(app):
        yield
        mgr.close()

    app = FastAPI(title="gen3d job server", version=__version__, lifespan=lifespan)
    app.state.manager = mgr

    def err(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message, "detail": message}, status_code=status)

    @app.middleware("http")
    async def check_token(request: Request, call_next):
        if token is not None:
            given = request.headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
                return err(401, "missing or wrong token: send 'Authorization: Bearer <token>' with the token "
                                "the server was started with")
        return await call_next(request)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return err(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return err(422, _validation_text(exc.errors()))

    @app.exception_handler(404)
    async def not_found(request: Request, exc):
        detail = getattr(exc, "detail", None)
        if detail and detail != "Not Found":
            return err(404, str(detail))
        return err(404, f"no such endpoint {request.method} {request.url.path}: see GET /v1/health and /docs")

    def job_or_404(job_id: str) -> Job:
        job = mgr.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}: it never existed or was pruned; list jobs with GET /v1/jobs")
        return job

    @app.get("/v1/health")
    def health():
        return {"status": "ok", "version": __version__, "device": mgr.device, "model": mgr.model,
                "models_loaded": mgr.loaded(), "queue": mgr.queue_length(), "running": mgr._running,
                "presets": PRESETS}

    @app.post("/v1/jobs", status_code=202)
    async def submit(request: Request):
        ctype = request.headers.get("content-type", "")
        if "json" not in ctype:
            raise HTTPException(415, f"the body must be JSON (Content-Type: application/json), got {ctype or 'none'!r}")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise HTTPException(413, f"request body of {declared} bytes is over the {MAX_BODY_BYTES}-byte limit: "
                                     "send only the prompt and options")
        raw = bytearray()
        async for chunk in request.stream():
            raw.extend(chunk)
            if len(raw) > MAX_BODY_BYTES:
                raise HTTPException(413, f"request body is over the {MAX_BODY_BYTES}-byte limit: send only the "
                                         "prompt and options")
        try:
            req = JobRequest.model_validate_json(bytes(raw))
        except ValidationError as e:
            raise HTTPException(422, _validation_text(e.errors())) from None
        try:
            job = mgr.submit(req)
        except OverflowError as e:
            raise HTTPException(429, str(e)) from None
        except ValueError as e:  # the pipeline's prompt check
            raise HTTPException(422, str(e).splitlines()[0]) from None
        return {"id": job.id, "seed": job.seed, "state": job.state, "url": f"/v1/jobs/{job.id}"}

    @app.get("/v1/jobs")
    def list_jobs():
        return {"jobs": [j.to_dict() for j in sorted(mgr.jobs.values(), key=lambda j: -j.created)]}

    @app.get("/v1/jobs/{job_id}")
    def job_status(job_id: str):
        return job_or_404(job_id).to_dict()

    @app.delete("/v1/jobs/{job_id}")
    def cancel(job_id: str):
        job_or_404(job_id)
        return mgr.cancel(job_id).to_dict()

    @app.get("/v1/jobs/{job_id}/result")
    def result(job_id: str):
        job = job_or_404(job_id)
        if job.state != "done" or job.result is None or not job.result.is_file():
            why = f": {job.error}" if job.error else ""
            raise HTTPException(409, f"job {job_id} has no result: it is {job.state}{why}; poll GET /v1/jobs/{job_id} "
                                     "until its state is done")
        return FileResponse(job.result, media_type="model/gltf-binary", filename=f"gen3d_{job.id}.glb",
                            headers={"X-Gen3d-Seed": str(job.seed)})

    @app.get("/v1/jobs/{job_id}/thumbnail")
    def thumbnail(job_id: str):
        job = job_or_404(job_id)
        if job.thumbnail_path is None or not job.thumbnail_path.is_file():
            why = job.metadata.get("thumbnail_error") or (f"it is {job.state}" if job.state != "done"
                                                          else "it was submitted with thumbnail false")
            raise HTTPException(404, f"job {job_id} has no thumbnail: {why}")
        return FileResponse(job.thumbnail_path, media_type="image/png")

    @app.post("/v1/release")
    def release():
        try:
            had = mgr.release()
        except RuntimeError as e:
            raise HTTPException(409, str(e)) from None
        return {"released": had, "models_loaded": mgr.loaded()}

    return app


def _validation_text(errors: list[dict]) -> str:
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
        msg = e.get("msg", "invalid")
        if e.get("type") == "json_invalid":
            parts.append(f"the body is not valid JSON ({e.get('ctx', {}).get('error', msg)})")
        elif e.get("type") == "extra_forbidden":
            parts.append(f"unknown field {loc!r}")
        else:
            parts.append(f"{loc}: {msg}")
    return "invalid request: " + "; ".join(parts) + " (see JobRequest in gen3d/server/jobs.py for the fields)"
