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
    for _ in range(4):  # the simplifier may stop slightly above the target: tighten and retry
        out_v, out_f = fast_simplification.simplify(v, f.astype(np.int32), target_count=target)
        out_v, out_f = remove_degenerate(out_v, out_f)
        if len(out_f) <= max_faces:
            return out_v.astype(np.float32), out_f
        target = max(4, int(target * max_faces / len(out_f) * 0.98))
    raise MeshError(f"could not decimate to {max_faces} faces; raise --max-faces")


def lod_budgets(n_faces: int, levels: int, ratio: float = 0.5, min_faces: int = 64) -> list[int]:
    """Face budgets for LOD1..LODk: each level keeps ``ratio`` of the previous one."""
    budgets = []
    cur = n_faces
    for _ in range(levels):
        cur = max(min_faces, int(cur * ratio))
        budgets.append(cur)
    return budgets
