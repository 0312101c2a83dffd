"""The textured asset every exporter takes, and the one place scale and origin are applied."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gen3d.texture.material import PBRMaterial


@dataclass
class TexturedMesh:
    """A UV-textured triangle mesh in metres, glTF Y-up, origin at the bottom centre of its box.

    ``uvs`` use the OpenGL/OBJ convention ((0, 0) = bottom-left of ``texture``, whose row 0 is the top).
    ``vertex_colors`` are 0..1 sRGB. ``lods`` holds coarser levels (LOD1, LOD2, ...).
    """

    vertices: np.ndarray  # float32 [V, 3]
    faces: np.ndarray  # int64 [F, 3], counter-clockwise seen from outside
    uvs: np.ndarray  # float32 [V, 2]
    normals: np.ndarray  # float32 [V, 3], unit length
    texture: np.ndarray  # uint8 [H, W, 3]
    vertex_colors: np.ndarray  # float32 [V, 3], 0..1
    material: PBRMaterial = field(default_factory=PBRMaterial)
    metadata: dict = field(default_factory=dict)
    lods: list[TexturedMesh] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float32)
        self.faces = np.ascontiguousarray(self.faces, dtype=np.int64)
        self.uvs = np.ascontiguousarray(self.uvs, dtype=np.float32)
        self.normals = np.ascontiguousarray(self.normals, dtype=np.float32)
        self.texture = np.ascontiguousarray(self.texture, dtype=np.uint8)
        self.vertex_colors = np.ascontiguousarray(self.vertex_colors, dtype=np.float32)
        n = len(self.vertices)
        if self.vertices.ndim != 2 or self.vertices.shape[1] != 3:
            raise ValueError(f"vertices must be [V, 3], got {self.vertices.shape}")
        if self.faces.ndim != 2 or self.faces.shape[1] != 3 or len(self.faces) == 0:
            raise ValueError(f"faces must be a non-empty [F, 3], got {self.faces.shape}")
        if self.faces.min() < 0 or self.faces.max() >= n:
            raise ValueError("faces index vertices that do not exist")
        for label, arr, width in (("uvs", self.uvs, 2), ("normals", self.normals, 3)):
            if arr.shape != (n, width):
                raise ValueError(f"{label} must be [{n}, {width}], got {arr.shape}")
        if self.vertex_colors.shape != (n, 3):
            raise ValueError(f"vertex_colors must be [{n}, 3], got {self.vertex_colors.shape}")
        if self.texture.ndim != 3 or self.texture.shape[2] != 3:
            raise ValueError(f"texture must be [H, W, 3] uint8, got {self.texture.shape}")

    @property
    def extent(self) -> np.ndarray:
        return self.vertices.max(axis=0) - self.vertices.min(axis=0)


def to_asset_frame(vertices: np.ndarray, size_m: float) -> tuple[np.ndarray, float, np.ndarray]:
    """Scale so the largest box side is ``size_m`` metres and move the bottom centre to the origin.

    Returns ``(new_vertices, scale, offset)`` with ``new = vertices * scale + offset``.
    """
    if not np.isfinite(size_m) or size_m <= 0:
        raise ValueError(f"--size must be a positive number of metres, got {size_m}")
    v = np.asarray(vertices, dtype=np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    scale = float(size_m) / max(float((hi - lo).max()), 1e-12)
    centre = (lo + hi) / 2.0
    offset = -np.array([centre[0], lo[1], centre[2]]) * scale
    return (v * scale + offset).astype(np.float32), scale, offset
