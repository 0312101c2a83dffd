"""Coloured surface samples of a textured mesh, put in the classifier's frame, so a final asset can be judged
the way a diffusion cloud is.

Points come area-uniform from :func:`trimesh.sample.sample_surface` with their faces and barycentric
coordinates; each point's UV is the barycentric mix of its face's three UVs, and its colour the baked texture
read there with bilinear filtering at texel centres (the glTF / OpenGL convention the bake writes:
``(0, 0)`` is the bottom-left of the image, row 0 its top), times the material's base colour factor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gen3d.data.shape import FIT_EXTENT


def texture_lookup(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear sample of an RGB uint8 image [H, W, 3] at UVs [N, 2] -> colours float [N, 3] in 0..1.
    Texel ``(row, col)`` has its centre at ``u = (col + 0.5) / W``, ``v = 1 - (row + 0.5) / H``; UVs past the
    outer texel centres clamp to the edge."""
    from scipy import ndimage

    img = np.asarray(texture)
    h, w = img.shape[:2]
    uv = np.asarray(uv, dtype=np.float64)
    coords = np.stack([(1.0 - uv[:, 1]) * h - 0.5, uv[:, 0] * w - 0.5])  # (row, col) per point
    out = [ndimage.map_coordinates(img[..., c].astype(np.float64), coords, order=1, mode="nearest")
           for c in range(3)]
    return np.clip(np.stack(out, axis=1) / 255.0, 0.0, 1.0)


def textured_surface_points(mesh: Any, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` area-uniform points on a :class:`~gen3d.texture.asset.TexturedMesh` (or anything with
    ``vertices``, ``faces``, per-vertex ``uvs`` and an RGB ``texture``) -> (xyz [n, 3] in the mesh's own frame,
    rgb [n, 3] in 0..1: the texture colour there, times the material's base colour factor)."""
    import trimesh

    faces = np.asarray(mesh.faces, dtype=np.int64)
    tm = trimesh.Trimesh(np.asarray(mesh.vertices, dtype=np.float64), faces, process=False)
    xyz, face_index, bary = trimesh.sample.sample_surface(tm, int(n), seed=seed, return_barycentric=True)
    uv = np.einsum("nk,nkj->nj", bary, np.asarray(mesh.uvs, dtype=np.float64)[faces[face_index]])
    rgb = texture_lookup(mesh.texture, uv)
    material = getattr(mesh, "material", None)
    if material is not None:
        rgb = rgb * np.asarray(material.base_color_factor[:3], dtype=np.float64)
    return np.asarray(xyz, dtype=np.float64), rgb


def classifier_frame(xyz: np.ndarray, vertices: np.ndarray, extent: float = FIT_EXTENT) -> np.ndarray:
    """Points of a mesh -> the gen3d convention the judge was trained in: the mesh's bounding box centred at
    the origin with its largest side ``extent`` (0.9, as every procedural shape is normalised). An asset in
    metres, Y up with its origin at the bottom centre, differs from it only by a scale and an offset, and this
    undoes both."""
    v = np.asarray(vertices, dtype=np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    scale = float(extent) / max(float((hi - lo).max()), 1e-12)
    return (np.asarray(xyz, dtype=np.float64) - (lo + hi) / 2.0) * scale


def mesh_cloud(mesh: Any, n: int, seed: int = 0) -> np.ndarray:
    """The judge's input [n, 6] (xyz in the classifier's frame, rgb 0..1) for a textured mesh."""
    xyz, rgb = textured_surface_points(mesh, n, seed)
    return np.concatenate([classifier_frame(xyz, mesh.vertices), rgb], axis=1)
