"""``manifest.jsonl``: one line per finished job (append-only, fsynced); reading it back, deciding what a
``--resume`` skips, checking the output folder, and committing a job's files with its line."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from gen3d.batch.jobs import BatchError, Job
from gen3d.registry import sha256_file

MANIFEST = "manifest.jsonl"
THUMBS = "thumbs"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(out: Path) -> dict[str, dict]:
    """The latest record of every job id (unreadable lines, e.g. a torn last line, are ignored)."""
    p = Path(out) / MANIFEST
    latest: dict[str, dict] = {}
    if not p.is_file():
        return latest
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "id" in rec:
            latest[rec["id"]] = rec
    return latest


def is_done(out: Path, job: Job, model: str, record: dict | None) -> bool:
    """True when ``record`` is an ok run of exactly this job and its files are intact."""
    if not record or record.get("status") != "ok":
        return False
    if (record.get("prompt"), record.get("seed"), record.get("model"), record.get("options"),
            record.get("formats")) != (job.prompt, job.seed, model, job.options, job.formats):
        return False
    recorded = {o["path"]: o["sha256"] for o in record.get("outputs", [])}
    if sorted(recorded) != sorted(job.outputs()):
        return False
    for name, digest in recorded.items():
        p = out / name
        if not p.is_file() or sha256_file(p) != digest:
            return False
    return True


class Manifest:
    """Append-only ``manifest.jsonl``: one line per finished job, flushed and fsynced. Opened on the first
    record, so a run that finishes no job leaves the previous manifest as it was."""

    def __init__(self, out: Path, fresh: bool):
        self.path = out / MANIFEST
        self.fresh = fresh
        self.fh: Any = None

    def _open(self) -> None:
        self.fh = open(self.path, "w" if self.fresh else "a", encoding="utf-8")  # noqa: SIM115 - see close()
        if not self.fresh and self.path.stat().st_size:
            with open(self.path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":  # a torn last line: start ours on a fresh line
                    self.fh.write("\n")

    def append(self, record: dict) -> None:
        if self.fh is None:
            self._open()
        self.fh.write(json.dumps(record, sort_keys=True) + "\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()


def commit(out: Path, job: Job, result: dict, model: str) -> dict:
    """Write a job's files atomically (all or none) and return its manifest record."""
    from gen3d.atomic import atomic_write_bytes

    record = {**job.to_dict(), "model": model, "status": result["status"], "timings": result.get("timings", {}),
              "outputs": [], "thumbnail": None, "warnings": result.get("warnings", []),
              "error": result.get("error"), "finished": round(time.time(), 3)}
    if result["status"] != "ok":
        return record
    written: list[Path] = []
    try:
        for name in job.outputs():
            data = result["files"].get(name)
            if data is None:
                raise RuntimeError(f"the worker did not return {name}")
            written.append(atomic_write_bytes(out / name, data, force=True))
            record["outputs"].append({"path": name, "sha256": sha256_bytes(data), "bytes": len(data)})
        if result.get("thumbnail"):
            name = f"{THUMBS}/{job.id}.png"
            written.append(atomic_write_bytes(out / name, result["thumbnail"], force=True))
            record["thumbnail"] = name
    except BaseException:
        for p in written:  # all or nothing
            p.unlink(missing_ok=True)
        raise
    return record


def _cleanup_stale(out: Path) -> None:
    """Remove temp files a killed run may have left (atomic writes use ``.NAME.*.tmp``)."""
    for d in (out, out / THUMBS):
        if d.is_dir():
            for p in d.glob(".*.tmp"):
                p.unlink(missing_ok=True)


def prepare(out: Path, jobs: list[Job], model: str, *, resume: bool, force: bool) -> tuple[list[Job], list[Job]]:
    """Check the output folder; returns (jobs to run, jobs skipped as done)."""
    out = Path(out)
    manifest = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise BatchError(f"{out} is a file: --out needs a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BatchError(f"cannot create output folder {out}: {e.strerror}; choose a writable location") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BatchError(f"output folder {out} is not writable; choose a writable location")
    if manifest.exists() and not (resume or force):
        raise BatchError(f"{manifest} exists: pass --resume to continue that batch or --force to start over")
    if not resume and not force:
        clash = [n for j in jobs for n in j.outputs() if (out / n).exists()]
        if clash:
            raise BatchError(f"{out / clash[0]} already exists: pass --force to overwrite or --resume")
    _cleanup_stale(out)
    if not resume:
        return list(jobs), []
    records = read_manifest(out)
    todo, done = [], []
    for j in jobs:
        (done if is_done(out, j, model, records.get(j.id)) else todo).append(j)
    return todo, done
