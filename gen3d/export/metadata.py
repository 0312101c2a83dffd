"""Asset metadata written into exports (glTF ``asset.extras``, OBJ/PLY comments, USD customData)."""

from __future__ import annotations

import datetime as _dt
import math
import os
from pathlib import Path
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """Convert numpy scalars/arrays, paths and tuples into plain JSON values; drop non-finite floats."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    return str(value)


def build_metadata(
    prompt: str | None = None,
    seed: int | None = None,
    model: str | None = None,
    parameters: dict | None = None,
    **extra: Any,
) -> dict:
    """The standard metadata dict: prompt, seed, model, parameters, gen3d version. No wall-clock time: the same
    prompt, seed, model and options must give byte-identical files (set ``SOURCE_DATE_EPOCH`` to stamp one)."""
    from gen3d import __version__

    meta: dict[str, Any] = {
        "generator": "gen3d",
        "gen3d_version": __version__,
    }
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        stamp = _dt.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), _dt.timezone.utc)
        meta["created"] = stamp.isoformat()
    if prompt is not None:
        meta["prompt"] = prompt
    if seed is not None:
        meta["seed"] = int(seed)
    if model is not None:
        meta["model"] = model
    meta["parameters"] = dict(parameters or {})
    meta.update(extra)
    return json_safe(meta)


def merge_metadata(asset_meta: dict | None, override: dict | None) -> dict:
    """Asset metadata completed with the standard fields, then ``override`` on top (parameters merged)."""
    base = build_metadata()
    for src in (asset_meta or {}, override or {}):
        for key, val in src.items():
            if key == "parameters" and isinstance(val, dict):
                base["parameters"] = {**base.get("parameters", {}), **val}
            else:
                base[key] = val
    return json_safe(base)
