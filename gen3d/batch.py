"""Batch generation: a prompt file -> one folder of assets, a ``manifest.jsonl`` and an ``index.html`` gallery.

Prompt files:

- ``.txt``: one prompt a line (blank lines and lines starting with ``#`` are skipped);
- ``.csv``: a header row with a ``prompt`` column; other columns are per-row options (empty cell = default);
- ``.jsonl``: one object a line with ``prompt`` and optional options (or a bare JSON string).

Per-row options: ``seed variations steps guidance sampler mesher texture_size max_faces size format name``.
Every row x variation is a *job* with a stable id (``0003_a_red_chair`` or ``0003_a_red_chair_v1``). Rows
without a seed get one derived from the batch seed and the row number (recorded in the manifest), so a batch
re-run with the same file and batch seed makes the same assets.

Workers (the local process, or Ray actors that load the model once each) return the files' bytes; only the
driver writes into the output folder, each file atomically, and appends one manifest line per job with fsync.
A job's files are all written before its manifest line; an interrupted job leaves none of its files behind.
``resume`` skips jobs whose latest manifest line is ``ok`` with the same prompt, seed, model and options and
whose files are still there with the recorded sha256.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gen3d.registry import sha256_file

MANIFEST = "manifest.jsonl"
GALLERY = "index.html"
THUMBS = "thumbs"
FORMATS = ("glb", "obj", "ply", "usdz")
THUMB_SIZE = (192, 192)

# option -> (type, check, message)
_INT, _FLOAT, _STR = int, float, str
OPTIONS: dict[str, type] = {
    "seed": _INT, "variations": _INT, "steps": _INT, "guidance": _FLOAT, "sampler": _STR, "mesher": _STR,
    "texture_size": _INT, "max_faces": _INT, "size": _FLOAT, "format": _STR, "name": _STR,
}
# options that change the generated asset (recorded in the manifest and compared on resume)
GEN_OPTIONS = ("steps", "guidance", "sampler", "mesher", "texture_size", "max_faces", "size")


class BatchError(ValueError):
    """A problem with the prompt file or the output folder (one line, names the fix)."""


@dataclass
class Row:
    line: int  # 1-based line in the file (for messages)
    index: int  # 0-based row number among prompts
    prompt: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Job:
    id: str
    row: int
    variation: int
    prompt: str
    seed: int
    formats: list[str]
    options: dict[str, Any]  # the generation options (GEN_OPTIONS), None dropped

    def outputs(self) -> list[str]:
        """Output file names (relative to the batch folder) this job writes."""
        names = []
        for fmt in self.formats:
            names.append(f"{self.id}.{fmt}")
            if fmt == "obj":
                names += [f"{self.id}.mtl", f"{self.id}_basecolor.png"]
        return names

    def to_dict(self) -> dict:
        return {"id": self.id, "row": self.row, "variation": self.variation, "prompt": self.prompt,
                "seed": self.seed, "formats": self.formats, "options": self.options}

    @classmethod
    def from_dict(cls, d: dict) -> Job:
        return cls(d["id"], d["row"], d["variation"], d["prompt"], d["seed"], list(d["formats"]), dict(d["options"]))


# ----------------------------------------------------------------------------------------------------------
# reading prompt files


def _convert(key: str, value: Any, where: str) -> Any:
    if key not in OPTIONS:
        raise BatchError(f"{where}: unknown option {key!r}; use prompt, {', '.join(OPTIONS)}")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = OPTIONS[key]
    try:
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            out: Any = int(value) if not isinstance(value, str) else int(value.strip())
        elif kind is float:
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
        else:
            if not isinstance(value, str):
                raise ValueError
            out = value.strip()
    except (TypeError, ValueError):
        raise BatchError(f"{where}: option {key} must be {kind.__name__}, got {value!r}") from None
    if key == "variations" and not 1 <= out <= 64:
        raise BatchError(f"{where}: variations must be between 1 and 64")
    if key in ("steps", "texture_size", "max_faces") and out < 1:
        raise BatchError(f"{where}: {key} must be positive")
    if key == "size" and out <= 0:
        raise BatchError(f"{where}: size must be positive (metres)")
    if key == "format":
        out = ",".join(parse_formats(out, where))
    return out


def parse_formats(text: str, where: str = "--format") -> list[str]:
    fmts = [f.strip().lower().lstrip(".") for f in str(text).split(",") if f.strip()]
    if not fmts:
        raise BatchError(f"{where}: give at least one format ({', '.join(FORMATS)})")
    for f in fmts:
        if f not in FORMATS:
            raise BatchError(f"{where}: unknown format {f!r}; use one of {', '.join(FORMATS)}")
    return list(dict.fromkeys(fmts))


def read_prompts(path: str | os.PathLike) -> list[Row]:
    """Parse a .txt / .csv / .jsonl prompt file; any malformed line is an error naming the line."""
    path = Path(path)
    if not path.is_file():
        raise BatchError(f"prompt file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BatchError(f"{path} is not UTF-8 text") from None
    suffix = path.suffix.lower()
    rows: list[Row] = []

    def add(line: int, prompt: Any, options: dict) -> None:
        where = f"{path.name} line {line}"
        if not isinstance(prompt, str) or not prompt.strip():
            raise BatchError(f"{where}: the prompt is empty")
        opts = {k: _convert(k, v, where) for k, v in options.items()}
        rows.append(Row(line, len(rows), " ".join(prompt.split()), {k: v for k, v in opts.items() if v is not None}))

    if suffix in (".jsonl", ".ndjson"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise BatchError(f"{path.name} line {n}: not valid JSON ({e.msg})") from None
            if isinstance(obj, str):
                add(n, obj, {})
            elif isinstance(obj, dict):
                obj = dict(obj)
                add(n, obj.pop("prompt", None), obj)
            else:
                raise BatchError(f"{path.name} line {n}: expected an object with a \"prompt\" or a string")
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "prompt" not in [f.strip() for f in reader.fieldnames]:
            raise BatchError(f"{path.name}: the first row must be a header with a 'prompt' column")
        for rec in reader:
            n = reader.line_num
            if None in rec:  # DictReader files cells beyond the header under None
                raise BatchError(f"{path.name} line {n}: more cells than header columns (quote cells with commas)")
            rec = {k.strip(): v for k, v in rec.items()}
            if all(not (v or "").strip() for v in rec.values() if isinstance(v, str)):
                continue
            add(n, rec.pop("prompt", None), rec)
    elif suffix in (".txt", ""):
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                add(n, line, {})
    else:
        raise BatchError(f"cannot read {path.name}: use a .txt (one prompt a line), .csv or .jsonl file")
    if not rows:
        raise BatchError(f"{path} holds no prompts")
    return rows


# ----------------------------------------------------------------------------------------------------------
# planning


def derived_seed(batch_seed: int, row: int) -> int:
    """A row's seed when the file gives none: stable across runs, machines and Python versions."""
    digest = hashlib.sha256(f"gen3d-batch:{int(batch_seed)}:{int(row)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _slug(prompt: str, limit: int = 40) -> str:
    import re

    s = re.sub(r"[^a-z0-9]+", "_", prompt.lower()).strip("_")
    return s[:limit].rstrip("_") or "asset"


def plan(rows: list[Row], *, formats: list[str], batch_seed: int = 0, defaults: dict | None = None) -> list[Job]:
    """Rows -> jobs (row x variation), with seeds, output formats and generation options resolved."""
    defaults = {k: v for k, v in (defaults or {}).items() if v is not None}
    jobs: list[Job] = []
    seen: set[str] = set()
    for r in rows:
        o = {**defaults, **r.options}
        variations = int(o.get("variations", 1))
        seed = int(o["seed"]) if "seed" in o else derived_seed(batch_seed, r.index)
        fmts = parse_formats(o["format"]) if "format" in o else list(formats)
        base = f"{r.index:04d}_{_slug(o['name'] if 'name' in o else r.prompt)}"
        gen = {k: o[k] for k in GEN_OPTIONS if k in o}
        for v in range(variations):
            jid = base if variations == 1 else f"{base}_v{v}"
            if jid in seen:
                raise BatchError(f"two jobs would be named {jid}: give the rows different names")
            seen.add(jid)
            jobs.append(Job(jid, r.index, v, r.prompt, seed + v, fmts, gen))
    return jobs


# ----------------------------------------------------------------------------------------------------------
# the per-job work (runs in the local process or in a Ray actor)


def run_job(pipe: Any, job: Job, *, thumbnails: bool = True) -> dict:
    """Generate one job with a loaded pipeline; returns {status, files: {name: bytes}, thumbnail, timings,
    error}. Nothing is written outside a private temporary folder, which is always removed."""
    t0 = time.perf_counter()
    result: dict[str, Any] = {"id": job.id, "files": {}, "thumbnail": None, "timings": {}, "warnings": []}
    tmp = Path(tempfile.mkdtemp(prefix="gen3d-job-"))
    try:
        o = job.options
        asset = pipe.generate(job.prompt, seed=job.seed, steps=o.get("steps"), guidance=o.get("guidance"),
                              sampler=o.get("sampler"), mesher=o.get("mesher"),
                              texture_size=o.get("texture_size", 1024), max_faces=o.get("max_faces"),
                              size=o.get("size"))
        timings = {k: round(float(v), 4) for k, v in asset.timings.items() if k != "total"}
        t1 = time.perf_counter()
        for fmt in job.formats:
            for p in asset.save(tmp / f"{job.id}.{fmt}", format=fmt):
                result["files"][p.name] = p.read_bytes()
        timings["export"] = round(time.perf_counter() - t1, 4)
        if sorted(result["files"]) != sorted(job.outputs()):
            raise RuntimeError(f"export wrote {sorted(result['files'])}, expected {job.outputs()}")
        if thumbnails:
            t2 = time.perf_counter()
            try:
                result["thumbnail"] = thumbnail_png(asset)
            except Exception as e:  # noqa: BLE001 - a missing renderer must not fail the asset
                first = str(e).splitlines()[0] if str(e) else ""
                result["warnings"].append(f"no thumbnail ({type(e).__name__}: {first})")
            timings["thumbnail"] = round(time.perf_counter() - t2, 4)
        result["warnings"] += list(asset.metadata.get("warnings", []))
        result["status"] = "ok"
        result["timings"] = timings
    except Exception as e:  # noqa: BLE001 - recorded in the manifest; the batch goes on
        result.update(status="error", files={}, thumbnail=None,
                      error=(str(e).splitlines()[0] if str(e) else type(e).__name__))
        result["error_type"] = type(e).__name__
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result["timings"]["total"] = round(time.perf_counter() - t0, 4)
    return result


def thumbnail_png(asset: Any, size: tuple[int, int] = THUMB_SIZE) -> bytes:
    """A small PNG of the asset's mesh (its point cloud when it has none), rendered with pyrender."""
    from PIL import Image

    from gen3d.render import as_trimesh, render_mesh, render_points

    if asset.mesh is not None:
        mesh = as_trimesh(asset.mesh)
        img = render_mesh(_unit(mesh), size)
    else:
        img = render_points(asset.point_cloud, size)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _unit(mesh):
    """A copy centred at the origin with its largest extent 1 (the renderer frames the unit cube)."""
    m = mesh.copy()
    lo, hi = m.bounds
    ext = float((hi - lo).max()) or 1.0
    m.apply_translation(-(lo + hi) / 2)
    m.apply_scale(1.0 / ext)
    return m


# ----------------------------------------------------------------------------------------------------------
# manifest, resume, commit


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
    from gen3d.export.atomic import atomic_write_bytes

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


# ----------------------------------------------------------------------------------------------------------
# gallery


def write_gallery(out: Path, jobs: list[Job] | None = None) -> Path:
    """``index.html``: a thumbnail grid of every job in the manifest (failed ones with their error)."""
    from gen3d.export.atomic import atomic_write_bytes

    records = read_manifest(out)
    order = [j.id for j in jobs] if jobs is not None else []
    ids = [i for i in order if i in records] + sorted(i for i in records if i not in set(order))
    cards = []
    for jid in ids:
        r = records[jid]
        esc = html.escape
        if r.get("thumbnail") and (out / r["thumbnail"]).is_file():
            img = f'<img src="{esc(r["thumbnail"])}" alt="{esc(r["prompt"])}" loading="lazy">'
        else:
            img = '<div class="noimg">no preview</div>'
        links = " ".join(f'<a href="{esc(o["path"])}">{esc(Path(o["path"]).suffix.lstrip("."))}</a>'
                         for o in r.get("outputs", []) if Path(o["path"]).suffix in (".glb", ".obj", ".ply", ".usdz"))
        if r.get("status") == "ok":
            secs = r.get("timings", {}).get("total")
            status = f'{links} <span class="t">{secs:.1f} s</span>' if secs is not None else links
        else:
            status = f'<span class="err">failed: {esc(str(r.get("error")))}</span>'
        cards.append(f'<figure class="{esc(r.get("status", ""))}">{img}<figcaption><b>{esc(r["prompt"])}</b>'
                     f'<br>seed {r.get("seed")} &middot; {esc(jid)}<br>{status}</figcaption></figure>')
    n_ok = sum(1 for i in ids if records[i].get("status") == "ok")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gen3d batch: {n_ok} of {len(ids)} assets</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em; background: #fafafa; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }}
figure {{ margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 4px; }}
figure.error {{ border-color: #c33; }}
img, .noimg {{ width: 100%; aspect-ratio: 1; object-fit: contain; display: block; }}
.noimg {{ display: flex; align-items: center; justify-content: center; color: #999; background: #f0f0f0; }}
figcaption {{ font-size: 12px; padding: 4px; word-break: break-word; }}
.err {{ color: #c33; }} .t {{ color: #777; }}
</style></head><body>
<h1>gen3d batch</h1><p>{n_ok} of {len(ids)} assets ok &middot; <a href="{MANIFEST}">{MANIFEST}</a></p>
<div class="grid">
{chr(10).join(cards)}
</div></body></html>
"""
    return atomic_write_bytes(out / GALLERY, page.encode("utf-8"), force=True)


# ----------------------------------------------------------------------------------------------------------
# backends


Event = Callable[[str, Job, dict | None], None]  # ("skip" | "done", job, record)


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
                _run_ray(todo, model, device, thumbnails, record, on_start, address=address, workers=workers,
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


def _run_ray(jobs, model, device, thumbnails, record, on_start, *, address, workers, cpus_per_worker) -> None:
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
