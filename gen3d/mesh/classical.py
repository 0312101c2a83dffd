"""Classical meshers on open3d: screened Poisson, alpha shape and ball pivoting.

open3d is an optional extra (``pip install gen3d[classical]``) and is imported lazily.
All functions take xyz float [N, 3] and return (vertices float32 [V, 3], faces int64 [F, 3]).
"""

from __future__ import annotations

import numpy as np

from gen3d.mesh.cleanup import MeshError, face_normals, wound_against_a_neighbour


class MissingDependencyError(ValueError):
    """An optional dependency is not installed; the message names the pip command."""


def _o3d():
    try:
        import open3d as o3d
    except ImportError as exc:
        raise MissingDependencyError(
            "the classical meshers need open3d; install it with: pip install 'gen3d[classical]'"
        ) from exc
    o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
    return o3d


def mean_spacing(xyz: np.ndarray, k: int = 1) -> float:
    """Mean distance from each point to its k-th nearest neighbour."""
    from scipy.spatial import cKDTree

    xyz = np.asarray(xyz, dtype=np.float64)
    d, _ = cKDTree(xyz).query(xyz, k=k + 1)
    return float(np.mean(d[:, k]))


ORIENT_POINTS = 4096  # the spanning-tree orientation runs on at most this many points (seconds on 16k)


def estimate_normals(xyz: np.ndarray, k: int = 16) -> np.ndarray:
    """Unit normals from local PCA, oriented consistently and outward.

    Orientation: open3d's minimum-spanning-tree propagation over the tangent planes
    (``orient_normals_consistent_tangent_plane``), then one global sign chosen by the convex-hull
    points, where the outward normal must point away from the centroid. Clouds of more than
    :data:`ORIENT_POINTS` points orient an evenly spread subset that way and give every other point the side of
    its nearest oriented neighbour (the same F@1% on 16,384-point clouds of scripts/bench_recon.py, 1-5 s faster).
    """
    o3d = _o3d()
    pts = np.asarray(xyz, dtype=np.float64)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
    k = int(min(k, len(pts) - 1))
    pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=k))
    normals = np.asarray(pcd.normals).copy()
    if len(pts) > ORIENT_POINTS:
        from scipy.spatial import cKDTree

        sub = np.random.default_rng(0).choice(len(pts), ORIENT_POINTS, replace=False)
        oriented = _orient(o3d, pts[sub], normals[sub], k)
        _, near = cKDTree(pts[sub]).query(pts, k=1)
        normals *= np.where(np.einsum("ij,ij->i", normals, oriented[near]) < 0, -1.0, 1.0)[:, None]
        normals[sub] = oriented
    else:
        normals = _orient(o3d, pts, normals, k)
    return _global_sign(pts, normals)


def _orient(o3d, pts: np.ndarray, normals: np.ndarray, k: int) -> np.ndarray:
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
    pcd.normals = o3d.utility.Vector3dVector(normals)
    try:
        pcd.orient_normals_consistent_tangent_plane(k)
        return np.asarray(pcd.normals).copy()
    except RuntimeError:  # degenerate neighbourhood graph: orient each normal away from the centroid
        return normals * np.where(np.einsum("ij,ij->i", normals, pts - pts.mean(axis=0)) < 0, -1.0, 1.0)[:, None]


def _global_sign(xyz: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Flip all normals when most convex-hull points have normals pointing towards the centroid."""
    from scipy.spatial import ConvexHull, QhullError

    centroid = xyz.mean(axis=0)
    try:
        hull = np.unique(ConvexHull(xyz).simplices)
    except (QhullError, ValueError):
        hull = np.arange(len(xyz))
    vote = np.einsum("ij,ij->i", normals[hull], xyz[hull] - centroid)
    return -normals if (vote < 0).sum() > (vote > 0).sum() else normals


POISSON_TRIM = 4.0  # poisson_mesh's default: faces over 4 point spacings from the cloud are dropped


def poisson_depth(n_points: int) -> int:
    """Octree depth for screened Poisson from the number of points: 7 below 2,048 points, 8 up to 32,768, else 9
    (depth 8 with distance trimming scored best on the tuning half of scripts/bench_recon.py at 4,096 points)."""
    return 7 if n_points < 2048 else 8 if n_points <= 32768 else 9


def poisson_mesh(
    xyz: np.ndarray, depth: int = 7, density_quantile: float = 0.0, normals: np.ndarray | None = None,
    pad: float = 0.1, trim: float | None = POISSON_TRIM, k: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """Screened Poisson reconstruction with the given normals, or normals estimated from ``k`` neighbours and
    consistently oriented.

    Poisson closes every surface, inventing sheets far from any point across openings and between thin parts.
    Faces whose centre lies more than ``trim`` mean point spacings from the nearest point are dropped (None keeps
    them). On the tuning meshes of scripts/bench_recon.py (4,096 points, depth 8) median F@1% went from 0.82 to
    0.85 (4.0) and 0.88 (2.0) on noisy clouds (sigma 1% of the diagonal); 4.0 keeps clean closed shapes
    watertight, 2.0 cuts their rounded edges open, so 2.0 is for noisy clouds only (``--mesher auto``).
    Vertices whose Poisson density is in the lowest ``density_quantile`` are dropped too, and the result is
    cropped to the cloud's bounding box padded by ``pad`` of its largest side.
    """
    o3d = _o3d()
    xyz = np.asarray(xyz, dtype=np.float64)
    nrm = estimate_normals(xyz, k=k) if normals is None else np.asarray(normals, dtype=np.float64)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
    pcd.normals = o3d.utility.Vector3dVector(nrm)
    mesh, densities = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(
        pcd, depth=int(depth), scale=1.1, linear_fit=False, n_threads=1  # 1 thread: same input, same mesh
    )
    v = np.asarray(mesh.vertices)
    f = np.asarray(mesh.triangles, dtype=np.int64)
    dens = np.asarray(densities)
    if len(f) == 0:
        raise MeshError("Poisson reconstruction produced no surface; try --mesher alpha or a denser cloud")
    keep_v = dens >= np.quantile(dens, density_quantile) if density_quantile > 0 else np.ones(len(v), bool)
    margin = pad * float(np.ptp(xyz, axis=0).max())
    inside = np.all((v >= xyz.min(axis=0) - margin) & (v <= xyz.max(axis=0) + margin), axis=1)
    keep_v &= inside
    f = f[keep_v[f].all(axis=1)]
    if trim is not None and len(f):
        from scipy.spatial import cKDTree

        d, _ = cKDTree(xyz).query(v[f].mean(axis=1), k=1)
        f = f[d <= trim * mean_spacing(xyz)]
    return v.astype(np.float32), f


def alpha_mesh(xyz: np.ndarray, alpha: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Alpha shape; ``alpha`` defaults to 10x the mean nearest-neighbour spacing.

    Alpha shapes degrade on evenly sampled curved surfaces (nearly co-spherical points give large
    Delaunay circumradii), so expect holes; Poisson is the robust classical choice.
    """
    o3d = _o3d()
    xyz = np.asarray(xyz, dtype=np.float64)
    alpha = 10.0 * mean_spacing(xyz) if alpha is None else float(alpha)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
    mesh = o3d.geometry.TriangleMesh.create_from_point_cloud_alpha_shape(pcd, alpha)
    f = np.asarray(mesh.triangles, dtype=np.int64)
    if len(f) == 0:
        raise MeshError("the alpha shape is empty; try --mesher poisson or a denser cloud")
    return np.asarray(mesh.vertices, dtype=np.float32), f


def ball_pivot_mesh(
    xyz: np.ndarray, radii: tuple[float, ...] | None = None, normals: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Ball pivoting with radii 1x, 2x, 4x the mean nearest-neighbour spacing (by default)."""
    o3d = _o3d()
    xyz = np.asarray(xyz, dtype=np.float64)
    if radii is None:
        s = mean_spacing(xyz)
        radii = (1.0 * s, 2.0 * s, 4.0 * s)
    nrm = estimate_normals(xyz) if normals is None else np.asarray(normals, dtype=np.float64)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
    pcd.normals = o3d.utility.Vector3dVector(nrm)
    mesh = o3d.geometry.TriangleMesh.create_from_point_cloud_ball_pivoting(
        pcd, o3d.utility.DoubleVector([float(r) for r in radii])
    )
    f = np.asarray(mesh.triangles, dtype=np.int64)
    if len(f) == 0:
        raise MeshError("ball pivoting found no triangles; try --mesher poisson or a denser cloud")
    v = np.asarray(mesh.vertices, dtype=np.float64)
    # wind every triangle to agree with its corners' oriented normals, so cleanup finds the winding consistent
    # and skips trimesh's slow per-face repair (seconds on 30k faces)
    vn = np.asarray(mesh.vertex_normals) if mesh.has_vertex_normals() else nrm
    flip = np.einsum("ij,ij->i", face_normals(v, f, unit=False), vn[f].sum(axis=1)) < 0
    f[flip] = f[flip][:, ::-1]
    for _ in range(3):  # drop the few triangles still wound against a neighbour (a directed edge used twice)
        bad = wound_against_a_neighbour(f)
        if not bad.any() or bad.mean() > 0.01:
            break
        f = f[~bad]
    return v.astype(np.float32), f


def shell_radius(xyz: np.ndarray) -> float:
    """Ball radius that closes the gaps between samples: 1.1x the 99th percentile of the distance to
    the 3rd nearest neighbour, kept within 2..4x the mean nearest-neighbour spacing (even, FPS-like
    clouds get about 2x; uniformly random samples, with their larger holes, about 3.5x)."""
    from scipy.spatial import cKDTree

    pts = np.asarray(xyz, dtype=np.float64)
    d, _ = cKDTree(pts).query(pts, k=min(4, len(pts)))
    mean = float(d[:, 1].mean())
    return float(np.clip(1.1 * np.percentile(d[:, -1], 99), 2.0 * mean, 4.0 * mean))


def shell_mesh(
    xyz: np.ndarray, resolution: int = 128, radius: float | None = None, smooth_iterations: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Point-shell mesher: needs no normals, keeps thin parts; pure numpy/scipy (no open3d).

    The distance to the nearest point minus ``radius`` (default :func:`shell_radius`) is a
    1-Lipschitz SDF of the union of balls around the points; the coarse-to-fine grid meshes it, the
    inner (cavity) shells are dropped, and the outer shell is moved back by ``radius`` along its
    normals (the erosion half of a morphological closing), so the surface returns onto the points
    while gaps between samples stay closed. Thin plates keep their true thickness; real gaps narrower
    than 2x ``radius`` close, and sharp edges round off slightly.
    """
    from scipy.spatial import cKDTree

    from gen3d.mesh.cleanup import compact, face_components, remove_degenerate, smooth, vertex_normals
    from gen3d.mesh.grid import default_stride, mesh_from_sdf

    pts = np.asarray(xyz, dtype=np.float64)
    r = shell_radius(pts) if radius is None else float(radius)
    tree = cKDTree(pts)

    half = float(np.abs(pts).max()) + r
    half += 3.0 * 2.0 * half / (resolution - 1)  # three cells of margin
    # min(distance, cap) is still 1-Lipschitz with the same zero set, and the KD-tree stops early for
    # far queries; cap exceeds the widest refinement band the grid uses (coarsest cell diagonal)
    h = 2.0 * half / (resolution - 1)
    cap = default_stride(resolution) * h * np.sqrt(3.0) * 1.01 + r

    def sdf(q: np.ndarray) -> np.ndarray:
        d, _ = tree.query(q, k=1, distance_upper_bound=cap, workers=-1)
        return (np.minimum(d, cap) - r).astype(np.float32)

    v, f = mesh_from_sdf(sdf, resolution=resolution, half_extent=half, chunk_size=65536)
    v, f = remove_degenerate(v, f)
    labels = face_components(f, len(v))
    keep = np.zeros(len(f), dtype=bool)
    for comp in np.unique(labels):
        sel = labels == comp
        fc = f[sel]
        a, b, c = v[fc[:, 0]], v[fc[:, 1]], v[fc[:, 2]]
        if np.einsum("ij,ij->i", a, np.cross(b, c)).sum() > 0:  # outer shells; cavities are negative
            keep |= sel
    v, f = compact(v, f[keep])
    if smooth_iterations > 0:
        v = smooth(v, f, smooth_iterations)
    # erode by 0.9 r, not r: a full erosion collapses the rounded edges/corners of the shell onto lines
    # and points (zero-area triangles the decimator cannot handle); 0.1 r of rounding remains
    v = v - vertex_normals(v, f).astype(np.float64) * (0.9 * r)
    return v.astype(np.float32), f
