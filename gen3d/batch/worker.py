"""The per-job work, run in the local process or in a Ray actor: a loaded pipeline generates one job and
returns its files' bytes (and a thumbnail); only the driver writes into the output folder."""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from gen3d.batch.jobs import Job

THUMB_SIZE = (192, 192)


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
                              size=o.get("size"), lods=o.get("lods", 0), normal_map=bool(o.get("normal_map", False)),
                              collision=o.get("collision", "none"))
        timings = {k: round(float(v), 4) for k, v in asset.timings.items() if k != "total"}
        t1 = time.perf_counter()
        for fmt in job.formats:
            for p in asset.save(tmp / f"{job.id}.{fmt}", format=fmt, preset=o.get("preset")):
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
