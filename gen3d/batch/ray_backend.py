"""The Ray backend: one actor per worker loads the pipeline once and runs jobs; results come back to the
driver, which commits them. A worker that dies is recorded as a failed job and replaced."""

from __future__ import annotations

import os
from typing import Any

from gen3d.batch.jobs import BatchError, Job
from gen3d.batch.worker import run_job


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast (one line) when a ``host:port`` / ``ray://host:port`` Ray address does not answer."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", "local", ...: Ray resolves those itself
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise BatchError(f"cannot connect to the Ray cluster at {address} ({e.strerror or e}): start it with "
                         "'ray start --head' or check --address") from None


class _Worker:
    """A Ray actor body: loads the pipeline once, then runs jobs."""

    def __init__(self, model: str, device: str, threads: int):
        import torch

        torch.set_num_threads(max(1, threads))
        from gen3d.pipeline import load_pipeline

        self.pipe = load_pipeline(model, device)

    def info(self) -> dict:
        import socket

        return {"host": socket.gethostname(), "pid": os.getpid(), "device": str(self.pipe.device),
                "model": self.pipe.spec.name, "cpu_seconds_per_sample": self.pipe.spec.cpu_seconds_per_sample}

    def run(self, job: dict, thumbnails: bool) -> dict:
        return run_job(self.pipe, Job.from_dict(job), thumbnails=thumbnails)


def run_ray(jobs, model, device, thumbnails, record, on_start, *, address, workers, cpus_per_worker) -> None:
    try:
        import ray
    except ImportError:
        raise BatchError("the ray backend needs ray: pip install 'gen3d[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "WARNING",
                              "configure_logging": True}
        if address:
            kw = {"address": address, "log_to_driver": False, "logging_level": "WARNING"}
        try:
            ray.init(**kw)
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise BatchError(f"cannot connect to {where} ({str(e).splitlines()[0]})") from None
    actors = []
    try:
        res = ray.cluster_resources()
        gpus = int(res.get("GPU", 0))
        use_gpu = gpus > 0 and device in ("auto", "cuda")
        per = max(1, int(cpus_per_worker))
        n = workers or (gpus if use_gpu else max(1, int(res.get("CPU", 1)) // per))
        n = max(1, min(n, len(jobs)))
        opts = {"num_gpus": 1, "num_cpus": 1} if use_gpu else {"num_cpus": per}
        Worker = ray.remote(**opts)(_Worker)
        actors = [Worker.remote(model, "cuda" if use_gpu else device, per) for _ in range(n)]
        try:
            infos = ray.get([a.info.remote() for a in actors])
        except ray.exceptions.RayActorError as e:
            raise BatchError(f"a Ray worker could not load the model: {_ray_cause(e)}") from None
        if on_start:
            on_start(infos)
        queue = list(jobs)
        pending: dict[Any, tuple[Any, Job]] = {}

        def submit(actor) -> None:
            if queue:
                job = queue.pop(0)
                pending[actor.run.remote(job.to_dict(), thumbnails)] = (actor, job)

        for a in actors:
            submit(a)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            ref = ready[0]
            actor, job = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as e:  # the actor died (OOM, node lost): record, replace it
                result = {"status": "error", "error": f"Ray worker failed: {_ray_cause(e)}", "timings": {}}
                try:
                    ray.kill(actor)
                except Exception:  # noqa: BLE001
                    pass
                actor = Worker.remote(model, "cuda" if use_gpu else device, per)
                actors.append(actor)
            record(job, result)
            submit(actor)
    finally:
        for a in actors:
            try:
                ray.kill(a)
            except Exception:  # noqa: BLE001 - already gone
                pass
        if started_here:
            ray.shutdown()


def _ray_cause(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    for line in reversed(text):
        line = line.strip()
        if line and not line.startswith(("File ", "^", "Traceback")):
            return line
    return type(e).__name__
