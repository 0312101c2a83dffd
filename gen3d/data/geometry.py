"""Closed-solid mesh builders on plain (vertices, faces) arrays, in metres, Y up.

Every builder returns a :class:`Solid`: float64 vertices [V, 3], int64 faces [F, 3], closed, with
outward-facing (counter-clockwise) triangles, and a ``convex`` flag that sampling uses for a fast
containment test. They are plain numpy (no shapely / triangulation engine) so that building a whole
object costs well under a millisecond per part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.cross`` of [..., 3] arrays by the same float operations in the same order (so the same bits),
    without its axis bookkeeping, which dominates on the small arrays of shape generation."""
    a, b = np.asarray(a), np.asarray(b)
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), dtype=np.result_type(a, b))
    for k, (i, j) in enumerate(((1, 2), (2, 0), (0, 1))):
        np.multiply(a[..., i], b[..., j], out=out[..., k])
        out[..., k] -= a[..., j] * b[..., i]
    return out


def roll1(a: np.ndarray) -> np.ndarray:
    """The rows shifted up by one, the first row last (numpy's roll by -1 along axis 0)."""
    return np.concatenate([a[1:], a[:1]])


@dataclass
class Solid:
    """A closed mesh. Solids of revolution also keep their closed (radius, y) ``profile``, ``sections``
    and ``to_local`` (4x4 affine from the current frame back to the lathe frame) for exact, fast
    containment tests (see :func:`gen3d.data.sampling.lathe_contains`)."""

    vertices: np.ndarray
    faces: np.ndarray
    convex: bool = False
    profile: np.ndarray | None = None
    sections: int = 0
    to_local: np.ndarray | None = None

    def _with(self, vertices: np.ndarray, faces: np.ndarray, inverse: np.ndarray) -> Solid:
        to_local = None if self.to_local is None else self.to_local @ inverse
        return Solid(vertices, faces, self.convex, self.profile, self.sections, to_local)

    def moved(self, at: Sequence[float] = (0.0, 0.0, 0.0), rot: np.ndarray | None = None) -> Solid:
        """Rotate about the origin (3x3 ``rot``), then translate by ``at``."""
        r = np.eye(3) if rot is None else np.asarray(rot, dtype=np.float64)
        t = np.asarray(at, dtype=np.float64)
        inverse = np.eye(4)
        inverse[:3, :3], inverse[:3, 3] = r.T, -r.T @ t
        return self._with(self.vertices @ r.T + t, self.faces, inverse)

    def scaled(self, s: float | Sequence[float]) -> Solid:
        s = np.broadcast_to(np.asarray(s, dtype=np.float64), (3,))
        out = self._with(self.vertices * s, self.faces, np.diag([*(1.0 / s), 1.0]))
        return out if np.prod(s) > 0 else out.flipped()

    def flipped(self) -> Solid:
        return Solid(self.vertices, self.faces[:, ::-1].copy(), self.convex, self.profile, self.sections, self.to_local)

    def volume(self) -> float:
        return signed_volume(self.vertices, self.faces)


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    return float(np.einsum("ij,ij->i", a, cross3(b, c)).sum() / 6.0)


def _oriented(
    vertices: np.ndarray, faces: np.ndarray, convex: bool, profile: np.ndarray | None = None, sections: int = 0
) -> Solid:
    faces = np.asarray(faces, dtype=np.int64)
    if signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1].copy()
    return Solid(
        np.asarray(vertices, dtype=np.float64), faces, convex, profile, sections, None if profile is None else np.eye(4)
    )


# ---------------------------------------------------------------------------------------- rotations


def rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)


def rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float64)


def rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=np.float64)


# ---------------------------------------------------------------------------------------- primitives

_BOX_FACES = np.array(
    [[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
     [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]],
    dtype=np.int64,
)  # fmt: skip


def box(size: Sequence[float], at: Sequence[float] = (0, 0, 0), rot: np.ndarray | None = None) -> Solid:
    """Axis-aligned box of ``size`` (x, y, z) centred at the origin, then rotated and moved."""
    hx, hy, hz = (float(s) / 2 for s in size)
    v = np.array(
        [[-hx, -hy, -hz], [hx, -hy, -hz], [hx, -hy, hz], [-hx, -hy, hz],
         [-hx, hy, -hz], [hx, hy, -hz], [hx, hy, hz], [-hx, hy, hz]],
        dtype=np.float64,
    )  # fmt: skip
    return _oriented(v, _BOX_FACES, True).moved(at, rot)


def lathe(
    profile: Sequence[Sequence[float]],
    sections: int = 24,
    at: Sequence[float] = (0, 0, 0),
    rot: np.ndarray | None = None,
    convex: bool = False,
) -> Solid:
    """Revolve an open (radius, y) profile about the Y axis into a closed solid.

    Ends with radius 0 become poles; ends with radius > 0 are closed by a flat cap.
    """
    prof = np.asarray(profile, dtype=np.float64)
    ang = np.linspace(0.0, 2 * np.pi, sections, endpoint=False)
    cs, sn = np.cos(ang), np.sin(ang)
    verts: list[np.ndarray] = []
    rings: list[int | np.ndarray] = []  # int = pole vertex index, array = ring indices
    n = 0
    for i, (r, y) in enumerate(prof):
        is_end = i in (0, len(prof) - 1)
        if r <= 1e-9:
            if not is_end:
                raise ValueError("interior profile points must have radius > 0")
            verts.append(np.array([[0.0, y, 0.0]]))
            rings.append(n)
            n += 1
            continue
        if is_end:  # flat cap centre before (first) or after (last) the ring
            if i == 0:
                verts.append(np.array([[0.0, y, 0.0]]))
                rings.append(n)
                n += 1
        ring = np.stack([r * cs, np.full(sections, y), r * sn], axis=1)
        verts.append(ring)
        rings.append(np.arange(n, n + sections))
        n += sections
        if is_end and i == len(prof) - 1:
            verts.append(np.array([[0.0, y, 0.0]]))
            rings.append(n)
            n += 1
    faces: list[np.ndarray] = []
    for a, b in zip(rings[:-1], rings[1:], strict=True):
        faces.append(_stitch(a, b, sections))
    closed = np.vstack([[[0.0, prof[0, 1]]], prof, [[0.0, prof[-1, 1]]]])
    return _oriented(np.concatenate(verts), np.concatenate(faces), convex, closed, sections).moved(at, rot)


def _stitch(a: int | np.ndarray, b: int | np.ndarray, sections: int) -> np.ndarray:
    if isinstance(a, int) and isinstance(b, int):
        raise ValueError("two consecutive poles")
    if isinstance(a, int):
        b1 = roll1(b)
        return np.stack([np.full(sections, a), b1, b], axis=1)
    if isinstance(b, int):
        a1 = roll1(a)
        return np.stack([a, a1, np.full(sections, b)], axis=1)
    a1, b1 = roll1(a), roll1(b)
    return np.concatenate([np.stack([a, a1, b1], 1), np.stack([a, b1, b], 1)])


def lathe_loop(
    loop: Sequence[Sequence[float]],
    sections: int = 24,
    at: Sequence[float] = (0, 0, 0),
    rot: np.ndarray | None = None,
) -> Solid:
    """Revolve a closed (radius, y) loop (all radii > 0) into a ring solid: tubes, walls, tori."""
    prof = np.asarray(loop, dtype=np.float64)
    m = len(prof)
    ang = np.linspace(0.0, 2 * np.pi, sections, endpoint=False)
    v = np.stack(
        [prof[:, 0:1] * np.cos(ang)[None], np.repeat(prof[:, 1:2], sections, 1), prof[:, 0:1] * np.sin(ang)[None]],
        axis=2,
    ).reshape(-1, 3)
    idx = np.arange(m * sections).reshape(m, sections)
    faces = [_stitch(idx[i], idx[(i + 1) % m], sections) for i in range(m)]
    return _oriented(v, np.concatenate(faces), False, prof, sections).moved(at, rot)


def cylinder(
    radius: float,
    height: float,
    sections: int = 20,
    at: Sequence[float] = (0, 0, 0),
    rot: np.ndarray | None = None,
    radius_top: float | None = None,
) -> Solid:
    """Cylinder or frustum along Y from y=0 to y=height (base at the origin)."""
    rt = radius if radius_top is None else radius_top
    return lathe([(radius, 0.0), (rt, height)], sections, at, rot, convex=True)


def cone(
    radius: float, height: float, sections: int = 20, at: Sequence[float] = (0, 0, 0), rot: np.ndarray | None = None
) -> Solid:
    return lathe([(radius, 0.0), (0.0, height)], sections, at, rot, convex=True)


def sphere(
    radius: float | Sequence[float],
    at: Sequence[float] = (0, 0, 0),
    rings: int = 10,
    sections: int = 20,
    rot: np.ndarray | None = None,
) -> Solid:
    """UV sphere (or ellipsoid when ``radius`` is (rx, ry, rz)) centred at the origin."""
    t = np.linspace(-np.pi / 2, np.pi / 2, rings + 1)
    s = lathe(np.stack([np.cos(t), np.sin(t)], 1), sections, convex=True)
    return s.scaled(radius).moved(at, rot)


def hemisphere(
    radius: float,
    at: Sequence[float] = (0, 0, 0),
    rings: int = 6,
    sections: int = 20,
    rot: np.ndarray | None = None,
    scale_y: float = 1.0,
) -> Solid:
    """Dome: flat base at y=0, pole at y=radius*scale_y."""
    t = np.linspace(0.0, np.pi / 2, rings + 1)
    prof = np.stack([np.cos(t) * radius, np.sin(t) * radius * scale_y], 1)
    prof[-1, 0] = 0.0
    return lathe(prof, sections, at, rot, convex=True)


def torus(
    major: float,
    minor: float,
    sections: int = 24,
    tube_sections: int = 10,
    at: Sequence[float] = (0, 0, 0),
    rot: np.ndarray | None = None,
) -> Solid:
    """Torus around the Y axis."""
    t = np.linspace(0, 2 * np.pi, tube_sections, endpoint=False)
    loop = np.stack([major + minor * np.cos(t), minor * np.sin(t)], 1)
    return lathe_loop(loop, sections, at, rot)


def extrude(
    polygon: Sequence[Sequence[float]],
    depth: float,
    at: Sequence[float] = (0, 0, 0),
    rot: np.ndarray | None = None,
    convex: bool = False,
) -> Solid:
    """Extrude a 2D polygon (x, y), star-shaped about its vertex mean, along Z from -depth/2 to depth/2."""
    p = np.asarray(polygon, dtype=np.float64)
    m = len(p)
    c = p.mean(0)
    h = depth / 2
    front = np.c_[p, np.full(m, h)]
    back = np.c_[p, np.full(m, -h)]
    v = np.concatenate([front, back, [[c[0], c[1], h]], [[c[0], c[1], -h]]])
    i = np.arange(m)
    j = (i + 1) % m
    cf, cb = 2 * m, 2 * m + 1
    faces = np.concatenate(
        [
            np.stack([np.full(m, cf), i, j], 1),
            np.stack([np.full(m, cb), j + m, i + m], 1),
            np.stack([i, i + m, j + m], 1),
            np.stack([i, j + m, j], 1),
        ]
    )
    return _oriented(v, faces, convex).moved(at, rot)


def tube(
    path: Sequence[Sequence[float]],
    radius: float | Sequence[float],
    sections: int = 10,
    at: Sequence[float] = (0, 0, 0),
    rot: np.ndarray | None = None,
) -> Solid:
    """Sweep a circle along a 3D polyline (parallel-transport frames), closed by flat caps."""
    path = np.asarray(path, dtype=np.float64)
    m = len(path)
    radii = np.broadcast_to(np.asarray(radius, dtype=np.float64), (m,))
    tang = np.gradient(path, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    ref = np.array([0.0, 0.0, 1.0]) if abs(tang[0, 2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    nrm = cross3(tang[0], ref)
    nrm /= np.linalg.norm(nrm)
    ang = np.linspace(0, 2 * np.pi, sections, endpoint=False)
    rings = []
    for k in range(m):
        if k:
            nrm = nrm - tang[k] * (nrm @ tang[k])
            nrm /= np.linalg.norm(nrm)
        bin_ = cross3(tang[k], nrm)
        rings.append(path[k] + radii[k] * (np.cos(ang)[:, None] * nrm + np.sin(ang)[:, None] * bin_))
    v = np.concatenate(rings + [path[:1], path[-1:]])
    idx = np.arange(m * sections).reshape(m, sections)
    faces = [_stitch(idx[k], idx[k + 1], sections) for k in range(m - 1)]
    faces.append(_stitch(m * sections, idx[0], sections))
    faces.append(_stitch(idx[-1], m * sections + 1, sections))
    return _oriented(v, np.concatenate(faces), False).moved(at, rot)


def arc(center: Sequence[float], radius: float, a0: float, a1: float, n: int = 9, plane: str = "xy") -> np.ndarray:
    """Points on a circular arc in the given plane (for tube paths: handles, arches)."""
    t = np.linspace(a0, a1, n)
    u, w = radius * np.cos(t), radius * np.sin(t)
    c = np.asarray(center, dtype=np.float64)
    if plane == "xy":
        return c + np.stack([u, w, np.zeros(n)], 1)
    if plane == "zy":
        return c + np.stack([np.zeros(n), w, u], 1)
    if plane == "xz":
        return c + np.stack([u, np.zeros(n), w], 1)
    raise ValueError(plane)


def regular_polygon(n: int, radius: float, phase: float = 0.0) -> np.ndarray:
    t = phase + np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([radius * np.cos(t), radius * np.sin(t)], 1)
