"""``--mesher auto`` (the default of ``gen3d mesh``): choose the mesher from the cloud itself.

- **sparse** clouds (at most :data:`SPARSE_POINTS` points, e.g. a generator's 256-1,024-point samples): ``shell``,
  which closes the wide gaps between samples and needs no normals;
- **clean** clouds (low :func:`noise_score` for their density): ``ball`` pivoting, whose triangles pass through
  the points and so keep sharp edges and thin parts;
- **noisy** clouds: screened ``poisson``, which fits a smooth surface through the noise, trimmed to
  :data:`NOISY_POISSON_TRIM` point spacings from the cloud.

Normals in the file (PLY ``nx ny nz``, NPZ ``normals``) are used by both ball pivoting and Poisson instead of
estimated ones. Thresholds were set on the tuning half of ``assets/eval/recon_meshes.json``
(``scripts/bench_recon.py``); the held-out half only reports.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from gen3d.pointcloud import PointCloud

SPARSE_POINTS = 512
NOISY_POISSON_TRIM = 2.0  # noisy clouds: drop Poisson faces over 2 spacings from any point (classical.poisson_mesh)
NOISE_THRESHOLD = 0.02  # noise_score above which a cloud of REFERENCE_POINTS or more counts as noisy
REFERENCE_POINTS = 4096


def noise_score(xyz: np.ndarray, k: int = 8, quantile: float = 25.0) -> float:
    """How far the points scatter off their local tangent planes, relative to their spacing: the lower quartile
    of the surface variation lambda_min / (lambda_1 + lambda_2 + lambda_3) of each point's ``k`` nearest
    neighbours. A clean sample of a smooth surface scores near 0 (its neighbourhoods are flat at the sampling
    scale); noise of the order of the spacing scores 0.02-0.1 (0.08 is isotropic scatter). The lower quartile,
    not the median, so edges, thin parts and crowded detail (high everywhere on a clean cloud, but not on most of
    it) do not read as noise."""
    from scipy.spatial import cKDTree

    pts = np.asarray(xyz, dtype=np.float64)
    k = int(min(k, len(pts)))
    _, idx = cKDTree(pts).query(pts, k=k)
    nb = pts[idx] - pts[idx].mean(axis=1, keepdims=True)
    ev = np.linalg.eigvalsh(np.einsum("nki,nkj->nij", nb, nb) / k)
    return float(np.percentile(ev[:, 0] / np.maximum(ev.sum(axis=1), 1e-30), quantile))


def noise_threshold(n_points: int) -> float:
    """Sparser clouds mix neighbouring surfaces into one neighbourhood more often, so their threshold is higher."""
    return NOISE_THRESHOLD * max(1.0, float(np.sqrt(REFERENCE_POINTS / max(n_points, 1))))


def choose_mesher(cloud: PointCloud) -> tuple[str, str]:
    """-> (mesher name, one-line reason naming the figures that decided)."""
    n = len(cloud)
    if n <= SPARSE_POINTS:
        return "shell", f"sparse cloud ({n} points <= {SPARSE_POINTS}): the point shell closes the gaps between them"
    if importlib.util.find_spec("open3d") is None:
        return "shell", "open3d is not installed (pip install 'gen3d[classical]' for ball pivoting and Poisson)"
    score, limit = noise_score(cloud.xyz), noise_threshold(n)
    normals = ", with the file's normals" if cloud.normals is not None else ""
    if score > limit:
        return "poisson", (f"noisy cloud (noise score {score:.3f} > {limit:.3f} for {n} points): screened Poisson "
                           f"fits a smooth surface through the noise{normals}")
    return "ball", (f"clean cloud (noise score {score:.3f} <= {limit:.3f} for {n} points): ball pivoting keeps "
                    f"edges and thin parts{normals}")
