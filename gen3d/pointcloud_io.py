"""Load and save coloured point clouds (PLY, NPZ, XYZ/TXT/CSV) and check them before meshing.

Loading keeps the file's coordinates; :func:`normalize_cloud` maps any cloud into the gen3d
convention (centred, fitting the cube [-0.5, 0.5]^3, Y up) for the meshers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gen3d.pointcloud import PointCloud

CLOUD_SUFFIXES = (".ply", ".npz", ".xyz", ".txt", ".csv", ".pts")
MIN_POINTS = 16


class CloudError(ValueError):
    """A point cloud that cannot be loaded or meshed; the message names the problem and the fix."""


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
    return PointCloud(xyz, rgb if rgb is not None else _default_rgb(len(xyz)))


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
    return PointCloud(xyz, rgb if rgb is not None else _default_rgb(len(xyz)))


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


def save_cloud_ply(cloud: PointCloud, path: str | Path, force: bool = False) -> Path:
    """Write the raw cloud as a binary PLY with uint8 vertex colours (atomic, refuses to overwrite)."""
    from gen3d.export.atomic import atomic_write_bytes

    n = len(cloud)
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment gen3d point cloud\n"
        f"element vertex {n}\nproperty float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n"
    ).encode("ascii")
    rec = np.empty(n, dtype=[("xyz", "<f4", 3), ("rgb", "u1", 3)])
    rec["xyz"] = cloud.xyz
    rec["rgb"] = cloud.rgb_uint8
    return atomic_write_bytes(path, header + rec.tobytes(), force=force)


def check_cloud(cloud: PointCloud, min_points: int = MIN_POINTS) -> PointCloud:
    """Raise :class:`CloudError` for clouds that cannot be meshed; returns the cloud unchanged."""
    n = len(cloud)
    if n == 0:
        raise CloudError("the point cloud is empty; give a cloud with at least a few hundred points")
    if not np.isfinite(cloud.xyz).all():
        bad = int((~np.isfinite(cloud.xyz).all(axis=1)).sum())
        raise CloudError(f"the point cloud has {bad} points with NaN/inf coordinates; remove them first")
    if not np.isfinite(cloud.rgb).all():
        raise CloudError("the point cloud has NaN/inf colours; replace them with values in 0..1")
    if n < min_points:
        raise CloudError(f"the point cloud has only {n} points; meshing needs at least {min_points}")
    extent = cloud.xyz.max(axis=0) - cloud.xyz.min(axis=0)
    if float(extent.max()) <= 1e-9:
        raise CloudError("all points of the cloud are identical; give a cloud that covers a surface")
    centred = (cloud.xyz - cloud.xyz.mean(axis=0)).astype(np.float64)
    sv = np.linalg.svd(centred[:: max(1, n // 20000)], compute_uv=False)
    if sv[1] <= 1e-6 * sv[0]:
        raise CloudError("the point cloud lies on a line; give a cloud that covers a surface")
    if len(np.unique(np.round(cloud.xyz / float(extent.max()), 6), axis=0)) < min_points:
        raise CloudError(f"the point cloud has fewer than {min_points} distinct points; give a denser cloud")
    return cloud


def normalize_cloud(cloud: PointCloud, extent: float = 1.0) -> tuple[PointCloud, np.ndarray, float]:
    """Centre the bounding box at the origin and scale its largest side to ``extent``.

    Returns ``(cloud, centre, scale)`` with ``normalized = (xyz - centre) * scale``.
    """
    lo, hi = cloud.xyz.min(axis=0), cloud.xyz.max(axis=0)
    centre = ((lo + hi) / 2.0).astype(np.float32)
    scale = float(extent / max(float((hi - lo).max()), 1e-12))
    return PointCloud((cloud.xyz - centre) * scale, cloud.rgb), centre, scale


def remove_outliers(
    cloud: PointCloud, k: int = 8, ratio: float = 3.0, max_fraction: float = 0.05
) -> tuple[PointCloud, int]:
    """Drop isolated points (stray samples of a generator, scanner speckle) before meshing.

    A point is an outlier when its mean distance to its ``k`` nearest neighbours exceeds ``ratio``
    times the median of that statistic; at most ``max_fraction`` of the points (the worst ones) are
    dropped. Returns ``(cloud, n_removed)``.
    """
    from scipy.spatial import cKDTree

    n = len(cloud)
    if n <= k + 1:
        return cloud, 0
    d, _ = cKDTree(cloud.xyz).query(cloud.xyz, k=k + 1)
    score = d[:, 1:].mean(axis=1)
    bad = score > ratio * float(np.median(score))
    limit = int(max_fraction * n)
    if bad.sum() > limit:
        bad = np.zeros(n, dtype=bool)
        if limit:
            bad[np.argsort(score)[-limit:]] = True
    if not bad.any():
        return cloud, 0
    return PointCloud(cloud.xyz[~bad], cloud.rgb[~bad]), int(bad.sum())
