"""Face-budget decimation (quadric edge collapse via fast-simplification)."""

from __future__ import annotations

import numpy as np

from gen3d.mesh.cleanup import MeshError, remove_degenerate

DEFAULT_MAX_FACES = 10000


def decimate(vertices: np.ndarray, faces: np.ndarray, max_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce the mesh to at most ``max_faces`` triangles (unchanged when already under budget)."""
    import fast_simplification

    if max_faces is None or max_faces < 4:
        raise MeshError(f"max_faces must be at least 4, got {max_faces}")
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if len(f) <= max_faces:
        return v.astype(np.float32), f
    target = int(max_faces)
    best_v, best_f = v, f
    for _ in range(3):  # the simplifier may stop slightly above the target: tighten and retry
        out_v, out_f = fast_simplification.simplify(v, f.astype(np.int32), target_count=target)
        out_v, out_f = remove_degenerate(out_v, out_f)
        if len(out_f) <= max_faces:
            return out_v.astype(np.float32), out_f
        if len(out_f) < len(best_f):
            best_v, best_f = out_v, out_f
        target = max(4, int(target * max_faces / len(out_f) * 0.9))
    # quadric collapses can stall on tangled topology: finish with vertex clustering, which always
    # reaches the budget (coarser but shape-preserving)
    return cluster_decimate(best_v, best_f, max_faces)


def cluster_decimate(vertices: np.ndarray, faces: np.ndarray, max_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertex clustering on a voxel grid, the cell size found by bisection so faces <= ``max_faces``."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    size = float(np.ptp(v, axis=0).max())

    def cluster(cell: float) -> tuple[np.ndarray, np.ndarray]:
        key = np.floor((v - v.min(axis=0)) / cell).astype(np.int64)
        _, inverse = np.unique(key, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        sums = np.zeros((inverse.max() + 1, 3))
        np.add.at(sums, inverse, v)
        centre = sums / np.bincount(inverse)[:, None]
        return remove_degenerate(centre, inverse[f], merge_tol=0.0)

    lo, hi = 0.0, size / 2.0
    best = cluster(hi)
    if len(best[1]) > max_faces:
        raise MeshError(f"could not decimate to {max_faces} faces; raise --max-faces")
    for _ in range(18):
        mid = (lo + hi) / 2.0
        out = cluster(mid)
        if 0 < len(out[1]) <= max_faces:
            best, hi = out, mid
        else:
            lo = mid
    return best[0].astype(np.float32), best[1]


def lod_budgets(n_faces: int, levels: int, ratio: float = 0.5, min_faces: int = 64) -> list[int]:
    """Face budgets for LOD1..LODk: each level keeps ``ratio`` of the previous one."""
    budgets = []
    cur = n_faces
    for _ in range(levels):
        cur = max(min_faces, int(cur * ratio))
        budgets.append(cur)
    return budgets
