"""Load coloured point clouds (PLY, NPZ, XYZ/TXT/CSV).

Loading keeps the file's coordinates; :func:`gen3d.pointcloud.ops.normalize_cloud` maps any cloud into the
gen3d convention (centred, fitting the cube [-0.5, 0.5]^3, Y up) for the meshers. Writing a cloud is an
export: :func:`gen3d.export.cloud.save_cloud_ply`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gen3d.pointcloud import CloudError, PointCloud

CLOUD_SUFFIXES = (".ply", ".npz", ".xyz", ".txt", ".csv", ".pts")


def _colours_to_unit(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.size and (rgb.dtype.kind in "ui" or np.nanmax(rgb) > 1.0 + 1e-6):
        rgb = rgb / 255.0
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def _default_rgb(n: int) -> np.ndarray:
    return np.full((n, 3), 0.7, dtype=np.float32)


def _load_ply(path: Path) -> PointCloud:
    import trimesh

    try:
        loaded = trimesh.load(str(path), process=False)
    except Exception as exc:  # trimesh raises many types for broken files
        raise CloudError(f"cannot read PLY {path}: {exc}; check that it is a valid PLY file") from exc
    if isinstance(loaded, trimesh.Scene):
        geoms = list(loaded.geometry.values())
        if not geoms:
            raise CloudError(f"{path} holds no geometry; give a PLY with vertices")
        loaded = geoms[0]
    xyz = np.asarray(loaded.vertices, dtype=np.float32)
    rgb = None
    colors = None
    if isinstance(loaded, trimesh.PointCloud):
        colors = loaded.colors if len(loaded.colors) else None
    elif hasattr(loaded, "visual") and getattr(loaded.visual, "kind", None) == "vertex":
        colors = loaded.visual.vertex_colors
    if colors is not None and len(colors) == len(xyz):
        rgb = np.asarray(colors)[:, :3].astype(np.float32) / 255.0
    return PointCloud(xyz, rgb if rgb is not None else _default_rgb(len(xyz)), _ply_normals(loaded, path, len(xyz)))


def _ply_normals(loaded, path: Path, n: int) -> np.ndarray | None:
    """The PLY's own per-vertex ``nx ny nz`` (None when it has none); zero or non-finite normals are an error."""
    data = ((loaded.metadata.get("_ply_raw") or {}).get("vertex") or {}).get("data")
    names = set(data) if isinstance(data, dict) else set(getattr(getattr(data, "dtype", None), "names", None) or ())
    if not {"nx", "ny", "nz"} <= names:  # ascii PLYs come as a dict of columns, binary ones as a record array
        return None
    normals = np.stack([np.asarray(data[c], dtype=np.float64).reshape(-1) for c in ("nx", "ny", "nz")], axis=1)
    return _checked_normals(normals, path, n)


def _checked_normals(normals: np.ndarray, path: Path, n: int) -> np.ndarray:
    """The file's normals as read (:class:`PointCloud` makes them unit length), or a one-line error."""
    if normals.shape != (n, 3):
        raise CloudError(f"{path}: normals have shape {normals.shape} but there are {n} points; make them match")
    length = np.linalg.norm(normals, axis=1)
    bad = ~np.isfinite(length) | (length < 1e-8)
    if bad.any():
        raise CloudError(f"{path}: {int(bad.sum())} normals are zero or not finite; fix them or drop nx/ny/nz")
    return normals


def _load_npz(path: Path) -> PointCloud:
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise CloudError(f"cannot read NPZ {path}: {exc}; check that it is a numpy .npz file") from exc
    keys = set(data.files)
    xyz_key = next((k for k in ("xyz", "coords", "points", "positions") if k in keys), None)
    if xyz_key is None:
        raise CloudError(
            f"{path} has no point array (keys: {sorted(keys)}); store it as 'xyz' [N,3] (and 'rgb' [N,3])"
        )
    xyz = np.asarray(data[xyz_key], dtype=np.float32)
    if xyz.ndim == 2 and xyz.shape[0] in (3, 6) and xyz.shape[1] not in (3, 6):
        xyz = xyz.T  # [3, N] or [6, N] layout
    if xyz.ndim != 2 or xyz.shape[1] not in (3, 6):
        raise CloudError(f"{path}: '{xyz_key}' has shape {xyz.shape}; it must be [N, 3]")
    rgb = None
    if xyz.shape[1] == 6:
        xyz, rgb = xyz[:, :3], _colours_to_unit(xyz[:, 3:])
    for key in ("rgb", "colors", "colours", "color"):
        if key in keys:
            arr = np.asarray(data[key])
            if arr.ndim == 2 and arr.shape[0] == 3 and arr.shape[1] != 3:
                arr = arr.T
            rgb = _colours_to_unit(arr[:, :3])
            break
    else:
        if {"R", "G", "B"} <= keys:  # Point-E's channel layout
            rgb = np.stack([np.asarray(data[c], dtype=np.float32) for c in "RGB"], axis=1)
            rgb = _colours_to_unit(rgb)
    if rgb is not None and rgb.shape != xyz.shape:
        raise CloudError(f"{path}: colours have shape {rgb.shape} but points have {xyz.shape}; make them match")
    normals = None
    if "normals" in keys:
        arr = np.asarray(data["normals"], dtype=np.float64)
        arr = arr.T if arr.ndim == 2 and arr.shape[0] == 3 != arr.shape[1] else arr
        normals = _checked_normals(arr, path, len(xyz))
    return PointCloud(xyz, rgb if rgb is not None else _default_rgb(len(xyz)), normals)


def _load_text(path: Path) -> PointCloud:
    rows: list[list[float]] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CloudError(f"cannot read {path}: {exc.strerror}; check the path and permissions") from exc
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", "//")):
            continue
        parts = line.replace(",", " ").replace(";", " ").split()
        try:
            rows.append([float(p) for p in parts])
        except ValueError:
            if not rows:  # a header line
                continue
            raise CloudError(
                f"{path}:{lineno}: cannot parse {line[:40]!r}; give 3 (x y z) or 6 (x y z r g b) numbers per line"
            ) from None
    if not rows:
        raise CloudError(f"{path} contains no points; give one 'x y z [r g b]' line per point")
    width = min(len(r) for r in rows)
    if width < 3:
        raise CloudError(f"{path}: lines have {width} numbers; give x y z (and optionally r g b) per line")
    arr = np.array([r[: 6 if width >= 6 else 3] for r in rows], dtype=np.float64)
    xyz = arr[:, :3].astype(np.float32)
    rgb = _colours_to_unit(arr[:, 3:6]) if arr.shape[1] >= 6 else _default_rgb(len(xyz))
    return PointCloud(xyz, rgb)


def load_cloud(path: str | Path) -> PointCloud:
    """Load a coloured point cloud from PLY, NPZ or XYZ/TXT/CSV (colours optional, 0..1 or 0..255)."""
    path = Path(path)
    if not path.is_file():
        raise CloudError(f"point cloud {path} does not exist; check the path")
    suffix = path.suffix.lower()
    if suffix == ".ply":
        return _load_ply(path)
    if suffix == ".npz":
        return _load_npz(path)
    if suffix in (".xyz", ".txt", ".csv", ".pts"):
        return _load_text(path)
    raise CloudError(f"unsupported point cloud format {suffix!r}; use one of {', '.join(CLOUD_SUFFIXES)}")
