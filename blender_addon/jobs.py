"""The add-on's job queue: prompts -> server jobs -> downloaded GLBs. Standard library only, no bpy.

A :class:`Runner` owns one worker thread that only talks HTTP and writes files; Blender's main thread
polls :meth:`Runner.take_ready` (from a modal timer) and does every bpy call itself. The same
:meth:`Runner.process` runs synchronously for scripts and headless tests.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .client import Client, ClientError

QUALITY = ("fast", "standard", "high")
# local task states: pending -> submitted/queued -> running -> downloading -> ready -> imported
ACTIVE = ("pending", "queued", "running", "downloading")
FINISHED = ("ready", "imported", "failed", "cancelled")


def random_seed() -> int:
    return random.randrange(2**31)


@dataclass
class Task:
    prompt: str
    seed: int
    quality: str = "standard"
    size: float | None = None
    options: dict = field(default_factory=dict)
    job_id: str | None = None
    state: str = "pending"
    stage: str = ""
    progress: float = 0.0
    eta_s: float | None = None
    error: str | None = None
    path: Path | None = None
    thumbnail: Path | None = None
    metadata: dict = field(default_factory=dict)
    understood: str = ""  # the server's reading of the prompt: "armchair, red (crimson), fabric"
    model: str = ""
    created: float = field(default_factory=time.time)

    def label(self) -> str:
        return f"{self.prompt} (seed {self.seed})"

    def body(self) -> dict:
        body = {"seed": self.seed, "quality": self.quality, "size": self.size}
        body.update(self.options)
        return body


def plan(prompt: str, seed: int | None, variations: int = 1, quality: str = "standard", size: float | None = None,
         **options) -> list[Task]:
    """Tasks for ``variations`` seeds starting at ``seed`` (random when None)."""
    prompt = " ".join((prompt or "").split())
    if not prompt:
        raise ClientError("the prompt is empty: describe an object, e.g. 'a red chair'")
    if quality not in QUALITY:
        raise ClientError(f"unknown quality {quality!r}: use fast, standard or high")
    if not 1 <= variations <= 16:
        raise ClientError("variations must be between 1 and 16")
    base = random_seed() if seed is None else int(seed)
    return [Task(prompt, (base + i) % 2**31, quality, size, dict(options)) for i in range(variations)]


class Runner:
    """Runs tasks one after another against a server; thread-safe for one producer and one consumer."""

    def __init__(self, client: Client, out_dir: str | Path, poll: float = 0.2):
        self.client = client
        self.out_dir = Path(out_dir)
        self.poll = poll
        self.tasks: list[Task] = []
        self._pending: deque[Task] = deque()
        self._ready: deque[Task] = deque()
        self._lock = threading.Lock()
        self._cancel_all = threading.Event()
        self._cancel_current = threading.Event()
        self._thread: threading.Thread | None = None
        self.current: Task | None = None

    # -- producer side --------------------------------------------------------------------------------
    def add(self, tasks: list[Task]) -> None:
        with self._lock:
            self.tasks.extend(tasks)
            self._pending.extend(tasks)
        self._cancel_all.clear()

    def start(self) -> None:
        """Start (or keep) the worker thread."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._loop, name="gen3d-addon-worker", daemon=True)
            self._thread.start()

    def cancel(self) -> None:
        """Cancel the running task (at the server's next diffusion step) and drop the pending ones."""
        self._cancel_all.set()
        self._cancel_current.set()
        with self._lock:
            while self._pending:
                t = self._pending.popleft()
                t.state, t.error = "cancelled", "cancelled before it started"

    def take_ready(self) -> list[Task]:
        """Downloaded tasks waiting to be imported (call from the main thread)."""
        out = []
        with self._lock:
            while self._ready:
                out.append(self._ready.popleft())
        return out

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._pending) or (self._thread is not None and self._thread.is_alive()) or bool(self._ready)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def summary(self) -> tuple[str, float]:
        """(text, fraction) for a progress bar: the running task's stage and ETA, and the queue."""
        with self._lock:
            todo = [t for t in self.tasks if t.state in ACTIVE]
            done = sum(1 for t in self.tasks if t.state in FINISHED)
        cur = self.current
        total = max(1, done + len(todo))
        if cur is None or cur.state not in ACTIVE:
            return (f"{done}/{total} done", done / total)
        eta = f", ETA {cur.eta_s:.0f} s" if cur.eta_s is not None else ""
        queued = f" (+{len(todo) - 1} queued)" if len(todo) > 1 else ""
        stage = cur.stage or cur.state
        return (f"{stage} {cur.progress * 100:.0f}%{eta}{queued}", (done + cur.progress) / total)

    # -- worker side ----------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._cancel_all.is_set():
            with self._lock:
                if not self._pending:
                    return
                task = self._pending.popleft()
            self._cancel_current.clear()
            self.process(task)
            if task.state == "ready":
                with self._lock:
                    self._ready.append(task)

    def process(self, task: Task, timeout: float | None = None) -> Task:
        """Submit, follow and download one task (blocking). Never raises: failures land in ``task.error``."""
        self.current = task
        try:
            sub = self.client.submit(task.prompt, **task.body())
            task.job_id, task.seed, task.state = sub["id"], int(sub["seed"]), "queued"

            def on_progress(st: dict) -> None:
                task.state = {"queued": "queued", "running": "running"}.get(st["state"], task.state)
                task.stage = st.get("stage") or ""
                task.progress = float(st.get("progress") or 0.0)
                task.eta_s = st.get("eta_s")
                task.understood = st.get("understood") or task.understood

            final = self.client.wait(task.job_id, on_progress, self._cancel_current.is_set, self.poll, timeout)
            if final["state"] == "cancelled":
                task.state, task.error = "cancelled", final.get("error") or "cancelled"
                return task
            if final["state"] == "failed":
                task.state, task.error = "failed", final.get("error") or "the server reported a failure"
                return task
            task.state, task.stage = "downloading", "download"
            task.understood = final.get("understood") or task.understood
            task.metadata = final.get("metadata") or {}
            task.model = str(task.metadata.get("model", ""))
            task.path = self.client.download(task.job_id, self.out_dir / f"{task.job_id}.glb")
            if final.get("thumbnail"):
                try:
                    task.thumbnail = self.client.download_thumbnail(task.job_id, self.out_dir / f"{task.job_id}.png")
                except (ClientError, OSError):
                    task.thumbnail = None  # a preview is optional
            task.state, task.progress = "ready", 1.0
        except ClientError as e:
            task.state, task.error = "failed", str(e)
        except OSError as e:
            task.state, task.error = "failed", f"cannot write the result in {self.out_dir} ({e}): check disk space"
        return task
