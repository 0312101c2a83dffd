"""Running a batch: check the folder, skip what is done, run the rest on a backend (the local process here,
Ray in :mod:`gen3d.batch.ray_backend`), commit each result with its manifest line, rebuild the gallery."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gen3d.batch.gallery import GALLERY, write_gallery
from gen3d.batch.jobs import BatchError, Job
from gen3d.batch.manifest import MANIFEST, Manifest, commit, prepare
from gen3d.batch.ray_backend import check_reachable, run_ray
from gen3d.batch.worker import run_job

Event = Callable[[str, Job, dict | None], None]  # ("skip" | "done", job, record)


def run_batch(
    jobs: list[Job],
    out: str | os.PathLike,
    *,
    model: str = "gen3d-small",
    device: str = "auto",
    backend: str = "local",
    resume: bool = False,
    force: bool = False,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: int = 1,
    thumbnails: bool = True,
    on_event: Event | None = None,
    on_start: Callable[[Any], None] | None = None,
) -> dict:
    """Run ``jobs`` into ``out`` with the chosen backend. Returns a summary {ok, failed, skipped, seconds}.

    ``on_start(pipe_or_info)`` is called once the model is loaded (local) or the actors are up (ray)."""
    out = Path(out)
    model = _model_ref(model)
    if backend not in ("local", "ray"):
        raise BatchError(f"unknown backend {backend!r}: use local or ray")
    if backend == "ray" and address:
        check_reachable(address)
    todo, done = prepare(out, jobs, model, resume=resume, force=force)
    for j in done:
        if on_event:
            on_event("skip", j, None)
    t0 = time.perf_counter()
    manifest = Manifest(out, fresh=not resume)
    counts = {"ok": 0, "error": 0}

    def record(job: Job, result: dict) -> None:
        with _defer_sigint():  # a job's files and its manifest line land together
            rec = commit(out, job, result, model)
            manifest.append(rec)
        counts["ok" if rec["status"] == "ok" else "error"] += 1
        if on_event:
            on_event("done", job, rec)

    try:
        if todo:
            if backend == "local":
                _run_local(todo, model, device, thumbnails, record, on_start)
            elif backend == "ray":
                run_ray(todo, model, device, thumbnails, record, on_start, address=address, workers=workers,
                        cpus_per_worker=cpus_per_worker)
            else:
                raise BatchError(f"unknown backend {backend!r}: use local or ray")
    finally:
        manifest.close()
        if (out / MANIFEST).is_file():
            write_gallery(out, jobs)
    return {"ok": counts["ok"], "failed": counts["error"], "skipped": len(done), "jobs": len(jobs),
            "seconds": round(time.perf_counter() - t0, 3), "manifest": str(out / MANIFEST),
            "gallery": str(out / GALLERY)}


class _defer_sigint:
    """Hold Ctrl-C (SIGINT) until the block ends, then raise KeyboardInterrupt (main thread only)."""

    def __enter__(self):
        import signal
        import threading

        self.got = False
        self.installed = threading.current_thread() is threading.main_thread()
        if self.installed:
            self.old = signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum, frame) -> None:
        self.got = True

    def __exit__(self, *exc) -> None:
        import signal

        if self.installed:
            signal.signal(signal.SIGINT, self.old if self.old is not None else signal.default_int_handler)
        if self.got and exc[0] is None:
            raise KeyboardInterrupt


def _model_ref(model: str) -> str:
    """Model names stay names; folders become absolute paths (workers may run elsewhere)."""
    from gen3d.registry import MODELS

    if model in MODELS:
        return model
    p = Path(model)
    return str(p.resolve()) if p.exists() else model


def _run_local(jobs, model, device, thumbnails, record, on_start) -> None:
    from gen3d.pipeline import load_pipeline

    pipe = load_pipeline(model, device)
    if on_start:
        on_start(pipe)
    for job in jobs:
        record(job, run_job(pipe, job, thumbnails=thumbnails))
