"""PLY: the mesh with vertex colours (welded, so it stays watertight) and normals; binary little endian."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gen3d.atomic import atomic_write_bytes
from gen3d.export.metadata import merge_metadata
from gen3d.export.obj import weld
from gen3d.texture.asset import TexturedMesh


def ply_bytes(asset: TexturedMesh, metadata: dict | None = None) -> bytes:
    first, inverse = weld(asset.vertices)
    pos = asset.vertices[first]
    nrm = np.zeros((len(first), 3))
    np.add.at(nrm, inverse, asset.normals.astype(np.float64))
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    col = np.clip(np.round(asset.vertex_colors[first] * 255.0), 0, 255).astype(np.uint8)
    faces = inverse[asset.faces]
    meta = merge_metadata(asset.metadata, metadata)
    comments = [f"comment {meta.get('generator', 'gen3d')} {meta.get('gen3d_version', '')}"]
    if meta.get("prompt"):
        comments.append("comment prompt: " + str(meta["prompt"]).replace("\n", " "))
    header = (
        "ply\nformat binary_little_endian 1.0\n" + "\n".join(comments) + "\n"
        f"element vertex {len(pos)}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property float nx\nproperty float ny\nproperty float nz\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar alpha\n"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    ).encode("ascii")
    vrec = np.empty(len(pos), dtype=[("p", "<f4", 3), ("n", "<f4", 3), ("c", "u1", 4)])
    vrec["p"] = pos
    vrec["n"] = nrm
    vrec["c"][:, :3] = col
    vrec["c"][:, 3] = 255
    frec = np.empty(len(faces), dtype=[("k", "u1"), ("i", "<i4", 3)])
    frec["k"] = 3
    frec["i"] = faces
    return header + vrec.tobytes() + frec.tobytes()


def write_ply(asset: TexturedMesh, path: str | Path, force: bool = False, metadata: dict | None = None) -> Path:
    """Write the mesh with vertex colours as binary PLY (atomic; refuses to overwrite unless ``force``)."""
    return atomic_write_bytes(path, ply_bytes(asset, metadata), force=force)
