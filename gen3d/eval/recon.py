"""Reconstruction metrics: Chamfer distance, F-score at a distance threshold, watertightness.

Distances are measured between point samples of the two surfaces (KD-trees), in the units of the
inputs; ``box_size`` turns a relative threshold (1% of the box) into an absolute one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _nn_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from each point of ``a`` to its nearest point of ``b``."""
    from scipy.spatial import cKDTree

    d, _ = cKDTree(np.asarray(b, dtype=np.float64)).query(np.asarray(a, dtype=np.float64), k=1)
    return d


def chamfer_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Chamfer distance: mean nearest distance a->b plus mean b->a (L1 of distances, not squared)."""
    if len(a) == 0 or len(b) == 0:
        raise ValueError("chamfer_distance needs two non-empty point sets")
    return float(_nn_dist(a, b).mean() + _nn_dist(b, a).mean())


def fscore(pred: np.ndarray, gt: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """(F-score, precision, recall) at ``threshold``: precision = share of ``pred`` within it of ``gt``."""
    if len(pred) == 0 or len(gt) == 0:
        return 0.0, 0.0, 0.0
    return _f_p_r(_nn_dist(pred, gt), _nn_dist(gt, pred), threshold)


def is_watertight(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Every edge shared by exactly two faces (after welding coincident vertices) and consistently wound."""
    import trimesh

    mesh = trimesh.Trimesh(np.asarray(vertices), np.asarray(faces), process=True)
    return bool(len(mesh.faces) and mesh.is_watertight and mesh.is_winding_consistent)


def sample_surface(
    vertices: np.ndarray, faces: np.ndarray, n: int, seed: int = 0, return_faces: bool = False
):
    """``n`` points uniformly (by area) on a triangle mesh, reproducible for a seed."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    if area.sum() <= 0:
        raise ValueError("cannot sample a mesh with zero area")
    rng = np.random.default_rng(seed)
    tri = rng.choice(len(f), size=n, p=area / area.sum())
    r1, r2 = rng.random(n), rng.random(n)
    s = np.sqrt(r1)
    pts = (1 - s)[:, None] * a[tri] + (s * (1 - r2))[:, None] * b[tri] + (s * r2)[:, None] * c[tri]
    return (pts, tri) if return_faces else pts


def point_to_mesh_distance(
    points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, k: int = 16, n_guide: int = 50000,
    return_faces: bool = False,
):
    """Distance from each point to the triangle surface (exact point-triangle distances); with
    ``return_faces`` also the index of the closest triangle.

    Candidate triangles come from a KD-tree over guide samples of the surface (plus every triangle's
    centroid), so the cost stays near linear; the k nearest guides almost always include the closest
    triangle.
    """
    from scipy.spatial import cKDTree
    from trimesh.triangles import closest_point

    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    guide, guide_tri = sample_surface(v, f, n_guide, seed=12345, return_faces=True)
    guide = np.concatenate([guide, v[f].mean(axis=1)])
    guide_tri = np.concatenate([guide_tri, np.arange(len(f))])
    k = int(min(k, len(guide)))
    pts = np.asarray(points, dtype=np.float64)
    _, idx = cKDTree(guide).query(pts, k=k)
    cand = guide_tri[idx.reshape(len(pts), k)]
    tris = v[f[cand.reshape(-1)]]
    closest = closest_point(tris, np.repeat(pts, k, axis=0))
    d = np.linalg.norm(closest - np.repeat(pts, k, axis=0), axis=1).reshape(len(pts), k)
    if return_faces:
        best = d.argmin(axis=1)
        return d[np.arange(len(pts)), best], cand[np.arange(len(pts)), best]
    return d.min(axis=1)


def normal_consistency(
    pred_vertices: np.ndarray, pred_faces: np.ndarray, gt_vertices: np.ndarray, gt_faces: np.ndarray,
    n_samples: int = 10000, seed: int = 0,
) -> float:
    """Mean |cos| between each surface's normal and the other's at the closest point, both directions
    (1 = every facet parallel to the truth; unsigned, so the truth's winding does not matter)."""
    from gen3d.mesh.cleanup import face_normals

    total = 0.0
    for (av, af, s), (bv, bf) in (((pred_vertices, pred_faces, seed), (gt_vertices, gt_faces)),
                                  ((gt_vertices, gt_faces, seed + 1), (pred_vertices, pred_faces))):
        pts, tri = sample_surface(av, af, n_samples, s, return_faces=True)
        _, near = point_to_mesh_distance(pts, bv, bf, return_faces=True)
        total += float(np.abs(np.einsum("ij,ij->i", face_normals(av, af)[tri], face_normals(bv, bf)[near])).mean())
    return total / 2.0


@dataclass
class ReconScore:
    chamfer: float
    fscore: float
    precision: float
    recall: float
    watertight: bool
    fscore_loose: float  # F-score at the looser threshold (5% of the box by default), for noisy inputs


def _f_p_r(d_pred: np.ndarray, d_gt: np.ndarray, tau: float) -> tuple[float, float, float]:
    precision = float((d_pred <= tau).mean())
    recall = float((d_gt <= tau).mean())
    return (0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)), precision, recall


def _score(d_pred: np.ndarray, d_gt: np.ndarray, tau: float, tau_loose: float, vertices: np.ndarray,
           faces: np.ndarray) -> ReconScore:
    """Chamfer, F-score at ``tau`` (and ``tau_loose``) and watertightness from the two directed distance samples."""
    f, precision, recall = _f_p_r(d_pred, d_gt, tau)
    return ReconScore(
        chamfer=float(d_pred.mean() + d_gt.mean()),
        fscore=f,
        precision=precision,
        recall=recall,
        watertight=is_watertight(vertices, faces),
        fscore_loose=_f_p_r(d_pred, d_gt, tau_loose)[0],
    )


def evaluate_reconstruction(
    pred_vertices: np.ndarray,
    pred_faces: np.ndarray,
    gt_vertices: np.ndarray,
    gt_faces: np.ndarray,
    threshold_fraction: float = 0.01,
    n_samples: int = 20000,
    seed: int = 0,
    loose_fraction: float = 0.05,
) -> ReconScore:
    """Compare a reconstructed mesh with the true surface.

    Samples of each surface are measured against the other *surface* (exact point-triangle
    distances). Chamfer = mean pred->true + mean true->pred distance; F-score at ``threshold_fraction``
    of the true box's largest side (F-score@1% by default), and at ``loose_fraction`` (5%).
    """
    gt_v = np.asarray(gt_vertices, dtype=np.float64)
    box = float(np.ptp(gt_v, axis=0).max())
    pred_pts = sample_surface(pred_vertices, pred_faces, n_samples, seed)
    gt_pts = sample_surface(gt_v, gt_faces, n_samples, seed + 1)
    d_pred = point_to_mesh_distance(pred_pts, gt_v, gt_faces)
    d_gt = point_to_mesh_distance(gt_pts, pred_vertices, pred_faces)
    return _score(d_pred, d_gt, threshold_fraction * box, loose_fraction * box, pred_vertices, pred_faces)


def evaluate_against_points(
    pred_vertices: np.ndarray,
    pred_faces: np.ndarray,
    gt_points: np.ndarray,
    threshold_fraction: float = 0.01,
    n_samples: int = 20000,
    seed: int = 0,
    loose_fraction: float = 0.05,
) -> ReconScore:
    """Like :func:`evaluate_reconstruction` when the true surface is only known as a dense point sample
    (e.g. procedural shapes made of overlapping parts, sampled with hidden points removed).

    Recall uses exact distances from the true points to the predicted surface; precision uses the
    nearest true point, which over-estimates distances by about the true points' spacing (use
    100k+ points so that stays well under the threshold).
    """
    gt = np.asarray(gt_points, dtype=np.float64)
    box = float(np.ptp(gt, axis=0).max())
    rng = np.random.default_rng(seed)
    gt_sub = gt[rng.choice(len(gt), size=min(n_samples, len(gt)), replace=False)]
    pred_pts = sample_surface(pred_vertices, pred_faces, n_samples, seed)
    d_pred = _nn_dist(pred_pts, gt)
    d_gt = point_to_mesh_distance(gt_sub, pred_vertices, pred_faces)
    return _score(d_pred, d_gt, threshold_fraction * box, loose_fraction * box, pred_vertices, pred_faces)
