"""The job server's queue: what a client may ask for (:class:`JobRequest`), a job's state (:class:`Job`), and
:class:`JobManager`, whose one worker thread runs jobs first in, first out.

The model loads once (lazily or with ``preload``) and can be released. Progress comes from the pipeline's
``progress(stage, fraction)`` callback and cancellation is the pipeline's ``cancel`` event (honoured between
diffusion steps and between stages).
"""

import collections
import gc
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_QUEUE = 64
KEEP_FINISHED = 100
STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")

# quality presets: diffusion steps (None = the model's own), mesh resolution (None = by the cloud's size: 128, or
# 64 for clouds of at most 512 points such as gen3d-small's), texture size
PRESETS: dict[str, dict[str, Any]] = {
    "fast": {"steps": 16, "mesh_resolution": 64, "texture_size": 512},
    "standard": {"steps": None, "mesh_resolution": None, "texture_size": 1024},
    "high": {"steps": 128, "mesh_resolution": 192, "texture_size": 2048},
}

# share of the whole job each stage stands for (progress fraction and ETA)
STAGE_WEIGHTS = {"load": 0.05, "encode": 0.02, "diffuse": 0.45, "upsample": 0.1, "mesh": 0.28, "texture": 0.05,
                 "export": 0.05}


class JobRequest(BaseModel):
    """What a client may ask for; anything else is rejected (``extra="forbid"``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: str = Field(min_length=1, max_length=1000)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    quality: Literal["fast", "standard", "high"] = "standard"
    steps: int | None = Field(default=None, ge=1, le=1024)
    guidance: float | None = Field(default=None, ge=0.0, le=50.0)
    mesher: Literal["sdf", "poisson", "alpha", "ball", "shell"] | None = None
    texture_size: int | None = Field(default=None, ge=16, le=4096)
    mesh_resolution: int | None = Field(default=None, ge=32, le=512)
    max_faces: int | None = Field(default=None, ge=64, le=2_000_000)
    size: float | None = Field(default=None, gt=0.0, le=1000.0)
    color: str | None = Field(default=None, min_length=1, max_length=64)  # an exact colour: name or hex code
    thumbnail: bool = True  # a small PNG preview (pyrender) next to the GLB

    @field_validator("color")
    @classmethod
    def _known_color(cls, v: str | None) -> str | None:
        from gen3d.text.colors import resolve_color

        return None if v is None else resolve_color(v).name  # an unknown name: 422 with the one-line reason

    def options(self) -> dict[str, Any]:
        """The preset filled in by explicit fields: the keyword arguments for ``Pipeline.generate``."""
        opts = dict(PRESETS[self.quality])
        for k in ("steps", "guidance", "mesher", "texture_size", "mesh_resolution", "max_faces", "size", "color"):
            v = getattr(self, k)
            if v is not None:
                opts[k] = v
        return opts


@dataclass
class Job:
    id: str
    prompt: str
    seed: int
    quality: str
    options: dict[str, Any]
    state: str = "queued"
    stage: str = "queued"
    progress: float = 0.0
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    result: Path | None = None
    thumbnail: bool = True
    thumbnail_path: Path | None = None
    metadata: dict = field(default_factory=dict)
    understood: str | None = None  # how the prompt was understood ("armchair, red (crimson), fabric")
    cancel: threading.Event = field(default_factory=threading.Event)

    def eta_s(self) -> float | None:
        if self.state != "running" or self.started is None or self.progress < 0.03:
            return None
        elapsed = time.time() - self.started
        return round(elapsed * (1.0 - self.progress) / self.progress, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "prompt": self.prompt, "seed": self.seed, "quality": self.quality,
            "options": self.options, "state": self.state, "stage": self.stage,
            "progress": round(self.progress, 4), "eta_s": self.eta_s(), "error": self.error,
            "cancel_requested": self.cancel.is_set() and self.state not in FINISHED,
            "created": self.created, "started": self.started, "finished": self.finished,
            "elapsed_s": None if self.started is None else round((self.finished or time.time()) - self.started, 2),
            "result": f"/v1/jobs/{self.id}/result" if self.state == "done" else None,
            "thumbnail": f"/v1/jobs/{self.id}/thumbnail" if self.thumbnail_path is not None else None,
            "understood": self.understood,
            "metadata": self.metadata,
        }


class JobManager:
    """The queue, the worker thread and the (one) loaded pipeline."""

    def __init__(self, model: str = "gen3d-small", device: str = "auto", jobs_dir: str | Path | None = None,
                 max_queue: int = MAX_QUEUE, keep_finished: int = KEEP_FINISHED):
        from gen3d.device import resolve_device

        self.model, self.device = model, str(resolve_device(device))
        self._own_dir = jobs_dir is None
        self.jobs_dir = Path(jobs_dir) if jobs_dir else Path(tempfile.mkdtemp(prefix="gen3d-serve-"))
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.max_queue, self.keep_finished = max_queue, keep_finished
        self.jobs: dict[str, Job] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._cond = threading.Condition()
        self._pipe_lock = threading.Lock()
        self._pipeline = None
        self._running: str | None = None
        self._stop = False
        self._worker = threading.Thread(target=self._loop, name="gen3d-serve-worker", daemon=True)
        self._worker.start()

    # -- pipeline -------------------------------------------------------------------------------------
    def pipeline(self):
        with self._pipe_lock:
            if self._pipeline is None:
                from gen3d.pipeline import Pipeline

                self._pipeline = Pipeline(self.model, self.device)
            return self._pipeline

    def loaded(self) -> list[str]:
        return [] if self._pipeline is None else [self._pipeline.spec.name]

    def release(self) -> bool:
        """Drop the model (and free GPU memory). Returns whether one was loaded."""
        with self._cond:
            if self._running is not None:
                raise RuntimeError(f"job {self._running} is running: cancel it (DELETE /v1/jobs/{self._running}) "
                                   "or wait, then release")
            with self._pipe_lock:
                had = self._pipeline is not None
                self._pipeline = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001 - freeing memory is best effort
            pass
        return had

    # -- jobs -----------------------------------------------------------------------------------------
    def submit(self, req: JobRequest) -> Job:
        from gen3d.pipeline import clean_prompt

        prompt, _ = clean_prompt(req.prompt)
        seed = req.seed if req.seed is not None else secrets.randbelow(2**31)
        job = Job(id=uuid.uuid4().hex[:16], prompt=prompt, seed=seed, quality=req.quality, options=req.options(),
                  thumbnail=req.thumbnail)
        with self._cond:
            if len(self._queue) >= self.max_queue:
                raise OverflowError(f"the queue is full ({self.max_queue} jobs): wait for jobs to finish "
                                    "or cancel some")
            self.jobs[job.id] = job
            self._queue.append(job.id)
            self._prune()
            self._cond.notify_all()
        return job

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        with self._cond:
            job = self.jobs.get(job_id)
            if job is None or job.state in FINISHED:
                return job
            job.cancel.set()
            if job.state == "queued":
                self._queue.remove(job_id)
                job.state, job.stage, job.finished = "cancelled", "cancelled", time.time()
                job.error = "cancelled before it started"
            return job

    def queue_length(self) -> int:
        return len(self._queue)

    def close(self) -> None:
        """Cancel everything, stop the worker, remove the temp results folder (idempotent)."""
        with self._cond:
            self._stop = True
            for jid in list(self._queue):
                self.cancel(jid)
            if self._running:
                self.jobs[self._running].cancel.set()
            self._cond.notify_all()
        self._worker.join(timeout=30)
        if self._own_dir:
            shutil.rmtree(self.jobs_dir, ignore_errors=True)

    def _prune(self) -> None:
        done = [j for j in self.jobs.values() if j.state in FINISHED]
        for j in sorted(done, key=lambda j: j.finished or 0)[: max(0, len(done) - self.keep_finished)]:
            shutil.rmtree(self.jobs_dir / j.id, ignore_errors=True)
            del self.jobs[j.id]

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                job = self.jobs[self._queue.popleft()]
                self._running = job.id
                job.state, job.stage, job.started = "running", "load", time.time()
            try:
                self._run(job)
            finally:
                with self._cond:
                    self._running = None
                    job.finished = time.time()

    def _run(self, job: Job) -> None:
        from gen3d.diffusion.samplers import Cancelled

        order = list(STAGE_WEIGHTS)
        total = sum(STAGE_WEIGHTS.values())

        def progress(stage: str, frac: float) -> None:
            if stage not in STAGE_WEIGHTS:
                return
            i = order.index(stage)
            before = sum(STAGE_WEIGHTS[s] for s in order[:i])
            job.stage = stage
            job.progress = max(job.progress, min(1.0, (before + STAGE_WEIGHTS[stage] * min(max(frac, 0.0), 1.0))
                                                  / total))

        try:
            pipe = self.pipeline()
            job.understood = pipe.understand(job.prompt).summary()
            progress("load", 1.0)
            if job.cancel.is_set():
                raise Cancelled("cancelled while the model loaded")
            asset = pipe.generate(job.prompt, seed=job.seed, progress=progress, cancel=job.cancel, **job.options)
            if job.cancel.is_set():  # meshing is not interruptible: drop the finished result
                raise Cancelled("cancelled during meshing")
            progress("export", 0.0)
            out_dir = self.jobs_dir / job.id
            out_dir.mkdir(parents=True, exist_ok=True)
            asset.save(out_dir / "result.glb", force=True)
            job.metadata = _json_safe(asset.metadata)
            job.result = out_dir / "result.glb"
            if job.thumbnail:
                try:
                    job.thumbnail_path = write_thumbnail(asset.mesh, out_dir / "thumbnail.png")
                except Exception as exc:  # noqa: BLE001 - a preview is optional; the GLB is the result
                    job.metadata["thumbnail_error"] = _error_text(exc)
            progress("export", 1.0)
            job.state, job.stage, job.progress = "done", "done", 1.0
        except Cancelled:
            job.state, job.stage, job.error = "cancelled", "cancelled", "cancelled by the client"
        except MemoryError:
            job.state, job.error = "failed", "out of memory: use the fast quality preset or a smaller texture_size"
        except Exception as exc:  # noqa: BLE001 - reported to the client with its real cause
            job.state = "failed"
            job.error = _error_text(exc)


def write_thumbnail(mesh, path: Path, size: int = 128) -> Path:
    """A small PNG of the textured mesh, framed whatever its size in metres (pyrender, EGL)."""
    import numpy as np
    from PIL import Image

    from gen3d.render import as_trimesh, render_mesh

    tm = as_trimesh(mesh).copy()
    lo, hi = tm.bounds
    tm.apply_translation(-(lo + hi) / 2.0)
    tm.apply_scale(0.9 / max(float(np.max(hi - lo)), 1e-9))
    Image.fromarray(render_mesh(tm, (size, size))).save(path)
    return path


def _error_text(exc: BaseException) -> str:
    try:
        import torch

        if isinstance(exc, torch.OutOfMemoryError):
            return "out of GPU memory: restart the server with --device cpu or use the fast preset"
    except ImportError:
        pass
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _json_safe(obj):
    import json

    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
