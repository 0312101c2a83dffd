"""Classical meshers on open3d: screened Poisson, alpha shape and ball pivoting.

open3d is an optional extra (``pip install gen3d[classical]``) and is imported lazily.
All functions take xyz float [N, 3] and return (vertices float32 [V, 3], faces int64 [F, 3]).
"""

from __future__ import annotations

import numpy as np

from gen3d.mesh.cleanup import MeshError


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


def estimate_normals(xyz: np.ndarray, k: int = 16) -> np.ndarray:
    """Unit normals from local PCA, oriented consistently (tangent-plane MST) and outward overall."""
    o3d = _o3d()
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(xyz, dtype=np.float64)))
    k = int(min(k, len(xyz) - 1))
    pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=k))
    normals = _orient_outward(np.asarray(xyz, dtype=np.float64), np.asarray(pcd.normals), k)
    return normals.astype(np.float64)


def _orient_outward(xyz: np.ndarray, normals: np.ndarray, k: int) -> np.ndarray:
    """Consistent orientation by propagation over a k-NN graph MST, then flipped to point outward.

    Seeds: the propagation starts from the point farthest from the centroid, whose normal must point
    away from the centroid; every other normal follows its MST parent (the classical Hoppe scheme).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree
    from scipy.spatial import cKDTree

    n = len(xyz)
    _, idx = cKDTree(xyz).query(xyz, k=k + 1)
    rows = np.repeat(np.arange(n), k)
    cols = idx[:, 1:].reshape(-1)
    # weight: 1 - |n_i . n_j| (parallel tangent planes first) plus a small distance term
    w = 1.0 - np.abs(np.einsum("ij,ij->i", normals[rows], normals[cols])) + 1e-6
    graph = coo_matrix((w, (rows, cols)), shape=(n, n)).tocsr()
    graph = graph.maximum(graph.T)
    mst = minimum_spanning_tree(graph)
    mst = mst + mst.T
    out = normals.copy()
    centroid = xyz.mean(axis=0)
    n_comp, labels = connected_components(mst, directed=False)
    radial = xyz - centroid
    for comp in range(n_comp):
        members = np.nonzero(labels == comp)[0]
        seed = members[np.argmax(np.einsum("ij,ij->i", radial[members], radial[members]))]
        if np.dot(out[seed], radial[seed]) < 0:
            out[seed] = -out[seed]
        order, parents = breadth_first_order(mst, seed, directed=False, return_predecessors=True)
        for node in order[1:]:
            if np.dot(out[node], out[parents[node]]) < 0:
                out[node] = -out[node]
    return out


def poisson_mesh(
    xyz: np.ndarray, depth: int = 7, density_quantile: float = 0.0, normals: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Screened Poisson reconstruction with estimated, consistently oriented normals.

    Vertices whose Poisson density is in the lowest ``density_quantile`` (surface invented far from
    any point) are cropped, and the result is cropped to the cloud's slightly padded bounding box.
    """
    o3d = _o3d()
    xyz = np.asarray(xyz, dtype=np.float64)
    nrm = estimate_normals(xyz) if normals is None else np.asarray(normals, dtype=np.float64)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
    pcd.normals = o3d.utility.Vector3dVector(nrm)
    mesh, densities = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(
        pcd, depth=int(depth), scale=1.1, linear_fit=False
    )
    v = np.asarray(mesh.vertices)
    f = np.asarray(mesh.triangles, dtype=np.int64)
    dens = np.asarray(densities)
    if len(f) == 0:
        raise MeshError("Poisson reconstruction produced no surface; try --mesher alpha or a denser cloud")
    keep_v = dens >= np.quantile(dens, density_quantile) if density_quantile > 0 else np.ones(len(v), bool)
    pad = 0.1 * float(np.ptp(xyz, axis=0).max())
    inside = np.all((v >= xyz.min(axis=0) - pad) & (v <= xyz.max(axis=0) + pad), axis=1)
    keep_v &= inside
    f = f[keep_v[f].all(axis=1)]
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
    return np.asarray(mesh.vertices, dtype=np.float32), f
