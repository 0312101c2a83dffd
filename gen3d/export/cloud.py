"""The raw point cloud as a binary PLY (a points-only asset's ``save``, ``gen3d mesh --cloud-out``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gen3d.atomic import atomic_write_bytes
from gen3d.pointcloud import PointCloud


def save_cloud_ply(cloud: PointCloud, path: str | Path, force: bool = False) -> Path:
    """Write the raw cloud as a binary PLY with uint8 vertex colours, and ``nx ny nz`` when the cloud has normals
    (atomic, refuses to overwrite)."""
    n = len(cloud)
    has_normals = cloud.normals is not None
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment gen3d point cloud\n"
        f"element vertex {n}\nproperty float x\nproperty float y\nproperty float z\n"
        + ("property float nx\nproperty float ny\nproperty float nz\n" if has_normals else "")
        + "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n"
    ).encode("ascii")
    fields = [("xyz", "<f4", 3)] + ([("n", "<f4", 3)] if has_normals else []) + [("rgb", "u1", 3)]
    rec = np.empty(n, dtype=fields)
    rec["xyz"] = cloud.xyz
    if has_normals:
        rec["n"] = cloud.normals
    rec["rgb"] = cloud.rgb_uint8
    return atomic_write_bytes(path, header + rec.tobytes(), force=force)
