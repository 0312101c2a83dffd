"""A generated object: closed coloured parts, parameters, captions, and the normalisation convention.

Convention (the Point-E one, used everywhere in gen3d): Y up, the object's front faces +Z, the
axis-aligned bounding box is centred at the origin and its largest side is ``FIT_EXTENT`` (0.9), so
every shape fits the cube [-0.5, 0.5]^3 with a 0.05 margin. Builders work in metres with the object
standing on y=0; :func:`normalise_parts` maps them into the convention and keeps the real size
(``Shape.size_m``) as metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from gen3d.data.appearance import COLORS, Texture
from gen3d.data.geometry import Solid

if TYPE_CHECKING:
    import trimesh

FIT_EXTENT = 0.9

# (face_index [K], barycentric [K, 3]) -> rgb [K, 3] in 0..1; used by meshes loaded from users' files.
SurfaceColorFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Part:
    """One closed part. ``vertices`` are in the normalised frame once the shape is built."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    material: str
    color_name: str
    rgb: np.ndarray
    texture: Texture | None = None
    convex: bool = False
    metres_per_unit: float = 1.0
    origin_m: np.ndarray = field(default_factory=lambda: np.zeros(3))
    surface_color: SurfaceColorFn | None = None
    profile: np.ndarray | None = None  # solids of revolution: see gen3d.data.geometry.Solid
    sections: int = 0
    to_local: np.ndarray | None = None
    _mesh: Any = field(default=None, repr=False)

    @property
    def mesh(self) -> trimesh.Trimesh:
        """The part as a closed ``trimesh.Trimesh`` (built lazily, not processed)."""
        if self._mesh is None:
            import trimesh

            self._mesh = trimesh.Trimesh(self.vertices, self.faces, process=False)
        return self._mesh

    @property
    def color_names(self) -> list[str]:
        names = [self.color_name]
        if self.texture is not None and self.texture.color2 is not None:
            names.append(self.texture.color2)
        return names

    def colors_at(
        self, points: np.ndarray, face_index: np.ndarray | None = None, bary: np.ndarray | None = None
    ) -> np.ndarray:
        """Colours (float 0..1 [K, 3]) at surface points given in the normalised frame."""
        if self.surface_color is not None:
            if face_index is None or bary is None:
                raise ValueError("this part's colours need face indices and barycentric coordinates")
            return np.asarray(self.surface_color(face_index, bary), dtype=np.float64)
        base = np.asarray(self.rgb, dtype=np.float64)
        if self.texture is None:
            return np.repeat(base[None, :], len(points), 0)
        return np.clip(self.texture.apply(base, points * self.metres_per_unit + self.origin_m), 0.0, 1.0)


@dataclass
class Shape:
    category: str
    seed: int
    params: dict[str, Any]
    parts: list[Part]
    size_m: tuple[float, float, float]  # real bounding-box extents (x, y, z) in metres
    captions: list[str] = field(default_factory=list)

    @property
    def color_names(self) -> set[str]:
        return {n for p in self.parts for n in p.color_names}

    @property
    def materials(self) -> set[str]:
        return {p.material for p in self.parts}

    def part(self, name: str) -> Part:
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(name)

    def mesh(self, texture_edge: float = 0.015) -> trimesh.Trimesh:
        """All parts as one trimesh with per-vertex colours. Textured parts are subdivided to edges of at
        most ``texture_edge`` first, so their patterns show at vertex resolution."""
        import trimesh

        verts, faces, cols, off = [], [], [], 0
        for p in self.parts:
            if p.texture is not None and p.surface_color is None and texture_edge > 0:
                v, f = trimesh.remesh.subdivide_to_size(p.vertices, p.faces, texture_edge, max_iter=12)
                p = Part(
                    p.name, v, f, p.material, p.color_name, p.rgb, p.texture, p.convex, p.metres_per_unit, p.origin_m
                )
            verts.append(p.vertices)
            faces.append(p.faces + off)
            if p.surface_color is not None:  # user mesh: colour at each vertex via its first face
                fi = np.zeros(len(p.vertices), dtype=np.int64)
                bary = np.zeros((len(p.vertices), 3))
                fi[p.faces[:, 0]] = np.arange(len(p.faces))
                bary[p.faces[:, 0], 0] = 1.0
                c = p.colors_at(p.vertices, fi, bary)
            else:
                c = p.colors_at(p.vertices)
            cols.append(c)
            off += len(p.vertices)
        rgba = np.concatenate([np.clip(np.concatenate(cols) * 255, 0, 255), np.full((off, 1), 255)], 1)
        return trimesh.Trimesh(
            np.concatenate(verts), np.concatenate(faces), vertex_colors=rgba.astype(np.uint8), process=False
        )


def make_part(
    name: str,
    solid: Solid,
    material: str,
    color_name: str,
    texture: Texture | None = None,
    jitter: np.ndarray | None = None,
) -> Part:
    """A part in metres (not yet normalised). ``jitter`` is a small RGB offset that keeps the name true."""
    rgb = np.asarray(COLORS[color_name], dtype=np.float64)
    if jitter is not None:
        rgb = np.clip(rgb + jitter, 0.0, 1.0)
    return Part(
        name,
        solid.vertices,
        solid.faces,
        material,
        color_name,
        rgb,
        texture,
        solid.convex,
        profile=solid.profile,
        sections=solid.sections,
        to_local=solid.to_local,
    )


def normalise_parts(parts: list[Part], fit: float = FIT_EXTENT) -> tuple[float, float, float]:
    """Centre the union's bounding box at the origin and scale its largest side to ``fit``, in place.

    Returns the bounding-box extents in the original units (metres).
    """
    lo = np.min([p.vertices.min(0) for p in parts], axis=0)
    hi = np.max([p.vertices.max(0) for p in parts], axis=0)
    ext = hi - lo
    centre = (lo + hi) / 2
    scale = fit / float(ext.max())
    back = np.eye(4)  # normalised frame -> original frame
    back[:3, :3] *= 1.0 / scale
    back[:3, 3] = centre
    for p in parts:
        p.origin_m = centre
        p.metres_per_unit = 1.0 / scale
        p.vertices = (p.vertices - centre) * scale
        if p.to_local is not None:
            p.to_local = p.to_local @ back
        p._mesh = None
    return (float(ext[0]), float(ext[1]), float(ext[2]))
