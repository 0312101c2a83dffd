"""The raw point cloud as a binary PLY (a points-only asset's ``save``, ``gen3d mesh --cloud-out``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gen3d.atomic import atomic_write_bytes
from gen3d.pointcloud import PointCloud


def save_cloud_ply(cloud: PointCloud, path: str | Path, force: bool = False) -> Path:
    """Write the raw cloud as a binary PLY with uint8 vertex colours (atomic, refuses to overwrite)."""
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
