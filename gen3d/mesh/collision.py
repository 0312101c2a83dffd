"""Collision shapes for game engines: one convex hull (trimesh / qhull) or an approximate convex decomposition
(CoACD, ``pip install 'gen3d[engines]'``). Each hull is a closed, convex, outward-wound triangle mesh with at
most ``max_hull_vertices`` vertices (128 keeps every hull under Unity's 255-triangle limit for convex mesh
colliders, and under PhysX's 255-vertex limit that Unreal and Godot also respect)."""

from __future__ import annotations

import numpy as np

from gen3d.mesh.cleanup import MeshError

COLLISION_MODES = ("none", "convex", "decomposed")
DEFAULT_MAX_HULLS = 16
DEFAULT_MAX_HULL_VERTICES = 128
# CoACD settings: concavity threshold (fraction of the object's size) and a search budget that decomposes a
# 2k-face prop in a few seconds on a 2-core CPU (CoACD's defaults take several times longer for the same hulls)
COACD_THRESHOLD = 0.08
COACD_OPTIONS = {"preprocess_resolution": 30, "resolution": 1000, "mcts_iterations": 60, "mcts_nodes": 10,
                 "mcts_max_depth": 3, "seed": 0}

Hull = tuple[np.ndarray, np.ndarray]  # (float32 [V, 3], int64 [F, 3])


def check_collision_mode(mode: str | None) -> str:
    mode = "none" if mode is None else str(mode).lower()
    if mode not in COLLISION_MODES:
        raise MeshError(f"unknown --collision {mode!r}: use one of {', '.join(COLLISION_MODES)}")
    return mode


def coacd_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("coacd") is not None


def require_coacd() -> None:
    """Fail early (before any slow work) when the decomposition library is missing."""
    if not coacd_available():
        raise MeshError("--collision decomposed needs CoACD: pip install 'gen3d[engines]' (or pip install coacd)")


def convex_hull(points: np.ndarray, max_vertices: int = DEFAULT_MAX_HULL_VERTICES) -> Hull:
    """The convex hull of ``points`` as an outward-wound triangle mesh. Hulls with more than ``max_vertices``
    corners keep a farthest-point subset of their corners (the extremes stay; a sliver of volume is lost)."""
    import trimesh

    pts = np.unique(np.asarray(points, dtype=np.float64), axis=0)
    if len(pts) < 4:
        raise MeshError("a collision hull needs at least 4 distinct points")
    spread = np.linalg.svd(pts - pts.mean(axis=0), compute_uv=False)
    if spread[-1] <= 1e-9 * max(float(spread[0]), 1e-30):  # qhull would give a degenerate hull
        raise MeshError("the object is flat: it has no convex volume for a collision hull")
    hull = trimesh.convex.convex_hull(pts)
    if len(hull.vertices) > max_vertices:
        hull = trimesh.convex.convex_hull(_farthest_points(np.asarray(hull.vertices), max_vertices))
    if hull.volume <= 0:  # flat input: qhull gives a degenerate hull
        raise MeshError("the object is flat: it has no convex volume for a collision hull")
    return np.asarray(hull.vertices, dtype=np.float32), np.asarray(hull.faces, dtype=np.int64)


def _farthest_points(points: np.ndarray, k: int) -> np.ndarray:
    """``k`` points picked greedily, each the farthest from those already picked (starting at the first)."""
    chosen = [0]
    dist = np.linalg.norm(points - points[0], axis=1)
    for _ in range(k - 1):
        i = int(np.argmax(dist))
        chosen.append(i)
        dist = np.minimum(dist, np.linalg.norm(points - points[i], axis=1))
    return points[chosen]


def decompose(
    vertices: np.ndarray,
    faces: np.ndarray,
    max_hulls: int = DEFAULT_MAX_HULLS,
    threshold: float = COACD_THRESHOLD,
    max_hull_vertices: int = DEFAULT_MAX_HULL_VERTICES,
) -> list[Hull]:
    """Approximate convex decomposition with CoACD: at most ``max_hulls`` convex hulls. Deterministic (fixed
    seed). Each part CoACD returns is re-hulled, so every hull is exactly convex."""
    require_coacd()
    import coacd

    if max_hulls < 1:
        raise MeshError(f"the hull budget must be at least 1, got {max_hulls}")
    coacd.set_log_level("error")
    mesh = coacd.Mesh(np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64))
    parts = coacd.run_coacd(mesh, threshold=float(threshold), max_convex_hull=int(max_hulls),
                            max_ch_vertex=int(max_hull_vertices), **COACD_OPTIONS)
    hulls = []
    for pv, _ in parts:
        try:
            hulls.append(convex_hull(np.asarray(pv), max_hull_vertices))
        except MeshError:  # a flat sliver: nothing to collide with
            continue
    if not hulls:
        return [convex_hull(vertices, max_hull_vertices)]
    # a stable order (CoACD's depends on its search): bottom to top, then by x and z
    hulls.sort(key=lambda h: tuple(np.round(h[0].min(axis=0)[[1, 0, 2]], 6)))
    return hulls[:max_hulls]


def collision_hulls(
    vertices: np.ndarray,
    faces: np.ndarray,
    mode: str = "convex",
    max_hulls: int = DEFAULT_MAX_HULLS,
    max_hull_vertices: int = DEFAULT_MAX_HULL_VERTICES,
) -> list[Hull]:
    """``mode`` none -> [], convex -> [one hull], decomposed -> CoACD's hulls (at most ``max_hulls``)."""
    mode = check_collision_mode(mode)
    if mode == "none":
        return []
    if mode == "convex":
        return [convex_hull(vertices, max_hull_vertices)]
    return decompose(vertices, faces, max_hulls=max_hulls, max_hull_vertices=max_hull_vertices)


def hull_coverage(hulls: list[Hull], points: np.ndarray, tol: float) -> float:
    """Fraction of ``points`` inside some hull or within ``tol`` of it (by the hulls' face planes)."""
    pts = np.asarray(points, dtype=np.float64)
    covered = np.zeros(len(pts), dtype=bool)
    for v, f in hulls:
        v = np.asarray(v, dtype=np.float64)
        tri = v[np.asarray(f)]
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
        signed = np.einsum("pc,fc->pf", pts, n) - np.einsum("fc,fc->f", tri[:, 0], n)[None, :]
        covered |= (signed <= tol).all(axis=1)
    return float(covered.mean())
