"""Clouds made ready for meshing: a validity check, normalisation into the unit cube, outlier removal."""

from __future__ import annotations

import numpy as np

from gen3d.pointcloud import CloudError, PointCloud

MIN_POINTS = 16


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
    return PointCloud((cloud.xyz - centre) * scale, cloud.rgb, cloud.normals), centre, scale


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
    return cloud.subset(~bad), int(bad.sum())
