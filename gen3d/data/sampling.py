"""Training samples from a shape: coloured surface points and occupancy (inside/outside) queries.

Containment is exact for the union of closed parts: a half-space test for convex parts and the
generalised winding number for the others, each only on points inside the part's bounding box.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gen3d.data.geometry import cross3, roll1
from gen3d.data.shape import Part, Shape
from gen3d.pointcloud import PointCloud

HIDDEN_EPS = 1e-4  # normalised units (0.1 mm on a 1 m object)
_CHUNK = 400_000  # point-triangle pairs per winding-number batch (bounds memory to ~100 MB)


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


# ---------------------------------------------------------------------------------------- containment


def winding_number(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Generalised winding number of a closed, outward-oriented mesh at each point (1 inside, 0 outside)."""
    tri = vertices[faces]
    out = np.zeros(len(points))
    step = max(1, _CHUNK // max(len(faces), 1))
    for s in range(0, len(points), step):
        p = points[s : s + step, None, :]
        a, b, c = tri[None, :, 0] - p, tri[None, :, 1] - p, tri[None, :, 2] - p
        la, lb, lc = (np.sqrt(np.einsum("qfk,qfk->qf", x, x)) for x in (a, b, c))
        det = np.einsum("qfk,qfk->qf", a, cross3(b, c))
        den = (
            la * lb * lc
            + np.einsum("qfk,qfk->qf", a, b) * lc
            + np.einsum("qfk,qfk->qf", b, c) * la
            + np.einsum("qfk,qfk->qf", c, a) * lb
        )
        out[s : s + step] = np.arctan2(det, den).sum(1) / (2 * np.pi)
    return out


def _convex_inside(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray) -> np.ndarray:
    tri = vertices[faces]
    n = cross3(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    norm = np.linalg.norm(n, axis=1)
    keep = norm > 1e-14
    n = n[keep] / norm[keep, None]
    d = np.einsum("fk,fk->f", n, tri[keep, 0])
    return np.all(points @ n.T - d[None] < 0.0, axis=1)


def lathe_contains(profile: np.ndarray, sections: int, to_local: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Exact containment for a faceted solid of revolution (as built by ``geometry.lathe``).

    Within the angular sector of a point, every facet is planar and symmetric about the sector's
    bisector, so the solid there is the closed (radius, y) profile with radii scaled by cos(pi/sections),
    tested in (distance along the bisector, y): a 2D point-in-polygon test.
    """
    p = points @ to_local[:3, :3].T + to_local[:3, 3]
    step = 2 * np.pi / sections
    ang = np.mod(np.arctan2(p[:, 2], p[:, 0]), 2 * np.pi)
    mid = (np.floor(ang / step) + 0.5) * step
    u = p[:, 0] * np.cos(mid) + p[:, 2] * np.sin(mid)
    y = p[:, 1]
    poly = profile * np.array([np.cos(step / 2), 1.0])
    a, b = poly, roll1(poly)
    ya, yb = a[None, :, 1], b[None, :, 1]
    cross = (ya > y[:, None]) != (yb > y[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = a[None, :, 0] + (y[:, None] - ya) * (b[None, :, 0] - a[None, :, 0]) / (yb - ya)
    return (np.count_nonzero(cross & (u[:, None] < x_at), axis=1) % 2) == 1


def part_contains(part: Part, points: np.ndarray) -> np.ndarray:
    """Boolean [Q]: strictly inside the closed part."""
    lo, hi = part.vertices.min(0), part.vertices.max(0)
    box = np.all((points > lo) & (points < hi), axis=1)
    out = np.zeros(len(points), dtype=bool)
    idx = np.flatnonzero(box)
    if len(idx) == 0:
        return out
    if part.profile is not None and part.to_local is not None:
        out[idx] = lathe_contains(part.profile, part.sections, part.to_local, points[idx])
    elif part.convex:
        out[idx] = _convex_inside(part.vertices, part.faces, points[idx])
    else:
        out[idx] = winding_number(part.vertices, part.faces, points[idx]) > 0.5
    return out


def contains(parts: list[Part], points: np.ndarray) -> np.ndarray:
    """Boolean [Q]: inside the union of the closed parts."""
    points = np.asarray(points, dtype=np.float64)
    inside = np.zeros(len(points), dtype=bool)
    for p in parts:
        todo = ~inside
        if todo.any():
            inside[todo] |= part_contains(p, points[todo])
    return inside


# ---------------------------------------------------------------------------------------- surface points


def farthest_point_sampling(points: np.ndarray, n: int, start: int = 0) -> np.ndarray:
    """Indices of ``n`` points chosen greedily to maximise the minimum distance (first one ``start``).

    Any prefix of the result is itself a farthest-point subsample, which the cache relies on.
    """
    m = len(points)
    if n >= m:
        return np.arange(m)
    pts = np.asarray(points, dtype=np.float32)
    x, y, z = (np.ascontiguousarray(pts[:, k]) for k in range(3))
    dist = np.full(m, np.inf, dtype=np.float32)
    a, b = np.empty(m, dtype=np.float32), np.empty(m, dtype=np.float32)
    idx = np.empty(n, dtype=np.int64)
    idx[0] = j = start
    for i in range(1, n):  # few, preallocated numpy calls per step: ~18 ms for 1024 of 4096 points
        np.subtract(x, x[j], out=a)
        a *= a
        np.subtract(y, y[j], out=b)
        b *= b
        a += b
        np.subtract(z, z[j], out=b)
        b *= b
        a += b
        np.minimum(dist, a, out=dist)
        j = int(dist.argmax())
        idx[i] = j
    return idx


def farthest_point_sampling_many(clouds: Sequence[np.ndarray], n: int) -> list[np.ndarray]:
    """:func:`farthest_point_sampling` (start 0) of several clouds at once, with the same results index for
    index: the clouds are padded with copies of their first point (distance 0 once it is chosen, and after
    every real point in the tie order, so never picked ahead of one) and each step runs on all of them, which
    spreads numpy's per-call overhead (the cost of FPS on ~1,000 points) over the batch."""
    out: list[np.ndarray | None] = [np.arange(len(c)) if len(c) <= n else None for c in clouds]
    todo = [i for i, c in enumerate(clouds) if len(c) > n]
    if len(todo) == 1:  # the one-cloud loop has less indexing per step
        out[todo[0]] = farthest_point_sampling(clouds[todo[0]], n)
    elif todo:
        m = max(len(clouds[i]) for i in todo)
        pts = np.empty((len(todo), m, 3), dtype=np.float32)
        for row, i in enumerate(todo):
            c = np.asarray(clouds[i], dtype=np.float32)
            pts[row, : len(c)], pts[row, len(c) :] = c, c[0]
        x, y, z = (np.ascontiguousarray(pts[:, :, k]) for k in range(3))
        dist = np.full(x.shape, np.inf, dtype=np.float32)
        a, b = np.empty_like(dist), np.empty_like(dist)
        rows = np.arange(len(todo))
        idx = np.zeros((len(todo), n), dtype=np.int64)
        j = np.zeros(len(todo), dtype=np.int64)
        for step in range(1, n):  # the same float32 operations, in the same order, as the one-cloud loop
            np.subtract(x, x[rows, j][:, None], out=a)
            a *= a
            np.subtract(y, y[rows, j][:, None], out=b)
            b *= b
            a += b
            np.subtract(z, z[rows, j][:, None], out=b)
            b *= b
            a += b
            np.minimum(dist, a, out=dist)
            j = dist.argmax(1)
            idx[:, step] = j
        for row, i in enumerate(todo):
            out[i] = idx[row]
    return out  # type: ignore[return-value]


def _area_weighted(parts: list[Part], m: int, rng: np.random.Generator):
    tris = [p.vertices[p.faces] for p in parts]
    owner = np.concatenate([np.full(len(t), i) for i, t in enumerate(tris)])
    local = np.concatenate([np.arange(len(t)) for t in tris])
    tri = np.concatenate(tris)
    area = 0.5 * np.linalg.norm(cross3(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    cdf = np.cumsum(area)
    f = np.minimum(np.searchsorted(cdf, rng.random(m) * cdf[-1], side="right"), len(area) - 1)
    u, v = rng.random(m), rng.random(m)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    bary = np.stack([1 - u - v, u, v], 1)
    pts = np.einsum("mk,mkj->mj", bary, tri[f])
    normal = cross3(tri[f, 1] - tri[f, 0], tri[f, 2] - tri[f, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-20)
    return pts, normal, owner[f], local[f], bary


def surface_candidates(
    parts: list[Part], m: int, rng: np.random.Generator, remove_hidden: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``m`` area-weighted surface points with colours, minus hidden ones: a point is hidden when a step
    of ``HIDDEN_EPS`` along its outward normal lands inside another part (buried or in face contact)."""
    pts, normal, owner, local, bary = _area_weighted(parts, m, rng)
    keep = np.ones(len(pts), dtype=bool)
    if remove_hidden and len(parts) > 1:
        probe = pts + HIDDEN_EPS * normal
        for j, part in enumerate(parts):
            cand = np.flatnonzero(keep & (owner != j))
            if len(cand):
                keep[cand[part_contains(part, probe[cand])]] = False
    rgb = np.zeros_like(pts)
    for i, part in enumerate(parts):
        sel = owner == i
        if sel.any():
            rgb[sel] = part.colors_at(pts[sel], local[sel], bary[sel])
    return pts[keep], rgb[keep]


def sample_surface(
    shape: Shape,
    n: int,
    rng: np.random.Generator | int | None = None,
    oversample: int = 4,
    remove_hidden: bool = True,
) -> PointCloud:
    """``n`` coloured surface points: ``oversample * n`` area-weighted candidates, then farthest-point
    sampling down to ``n`` (in FPS order, so the first k points are a good k-point subsample)."""
    rng = _rng(rng)
    pts, rgb = surface_pool(shape, n, rng, oversample, remove_hidden)
    return pick_surface(pts, rgb, farthest_point_sampling(pts, n), n, rng)


def surface_pool(shape: Shape, n: int, rng: np.random.Generator, oversample: int = 4,
                 remove_hidden: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sample_surface`'s first half: the candidate points and colours FPS chooses from."""
    pts, rgb = surface_candidates(shape.parts, oversample * n, rng, remove_hidden)
    if len(pts) < n:  # extremely unlikely: top up with more candidates
        more, more_rgb = surface_candidates(shape.parts, 4 * n, rng, remove_hidden)
        pts, rgb = np.concatenate([pts, more]), np.concatenate([rgb, more_rgb])
    return pts, rgb


def pick_surface(pts: np.ndarray, rgb: np.ndarray, idx: np.ndarray, n: int, rng: np.random.Generator) -> PointCloud:
    """:func:`sample_surface`'s second half: the cloud of the FPS indices ``idx`` (topped up to ``n``)."""
    if len(idx) < n:
        idx = np.concatenate([idx, rng.choice(idx, n - len(idx))])
    return PointCloud(np.clip(pts[idx], -0.5, 0.5), np.clip(rgb[idx], 0.0, 1.0))


# ---------------------------------------------------------------------------------------- occupancy


def sample_sdf(
    shape: Shape,
    n_near: int,
    n_uniform: int,
    rng: np.random.Generator | int | None = None,
    sigmas: tuple[float, float] = (0.005, 0.03),
) -> tuple[np.ndarray, np.ndarray]:
    """Occupancy queries: ``n_near`` points jittered off the surface (half with each sigma) and
    ``n_uniform`` uniform in [-0.5, 0.5]^3. Returns (points float32 [Q, 3], occupancy float32 [Q],
    1 inside the union of parts, 0 outside)."""
    rng = _rng(rng)
    surf, _ = surface_candidates(shape.parts, n_near, rng, remove_hidden=True)
    if len(surf) < n_near:
        extra, _ = surface_candidates(shape.parts, 2 * n_near, rng, remove_hidden=True)
        surf = np.concatenate([surf, extra])
    surf = surf[:n_near]
    sig = np.where(np.arange(n_near) % 2 == 0, sigmas[0], sigmas[1])[:, None]
    near = np.clip(surf + rng.normal(size=surf.shape) * sig, -0.5, 0.5)
    uni = rng.uniform(-0.5, 0.5, (n_uniform, 3))
    q = np.concatenate([near, uni])
    occ = contains(shape.parts, q)
    return q.astype(np.float32), occ.astype(np.float32)
