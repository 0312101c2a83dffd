"""Mesh cleanup: degenerate faces, duplicate vertices, small islands/floaters, winding, light smoothing."""

from __future__ import annotations

import numpy as np


class MeshError(ValueError):
    """A mesh that cannot be processed further; the message names the problem and the fix."""


MIN_ISLAND_FRACTION = 0.01  # cleanup's default: drop pieces under 1% of the largest piece's area


def _as_arrays(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
        raise MeshError(f"mesh must be vertices [V,3] and faces [F,3], got {v.shape} and {f.shape}")
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise MeshError("mesh faces index missing vertices; the mesher produced a broken mesh")
    return v, f


def remove_degenerate(vertices: np.ndarray, faces: np.ndarray, merge_tol: float = 1e-6) -> tuple:
    """Merge coincident vertices (within ``merge_tol`` of the mesh size), drop faces with repeated
    vertices / zero area / duplicates, compact."""
    v, f = _as_arrays(vertices, faces)
    if len(v) and merge_tol > 0:
        lo = v.min(axis=0)
        scale = max(float(np.ptp(v, axis=0).max()), 1e-12)
        q = np.round((v - lo) / (scale * max(merge_tol, 1e-6))).astype(np.int64)  # < 2^21 per axis
        keys = (q[:, 0] << 42) | (q[:, 1] << 21) | q[:, 2]
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        v = v[first]
        f = inverse.reshape(-1)[f]
    repeated = (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 0] == f[:, 2])
    f = f[~repeated]
    if len(f):
        area2 = np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
        scale = max(float(np.ptp(v, axis=0).max()), 1e-12)
        f = f[area2 > (scale * 1e-9) ** 2]
        # faces over the same three vertices: one copy of a same-wound duplicate is kept; a back-to-back
        # pair (opposite winding, a zero-volume fin left by edge collapses) is removed entirely
        sf = np.sort(f, axis=1)
        if len(v) < 2_000_000:  # one int64 key per face
            n = np.int64(len(v))
            _, first, inverse, counts = np.unique(
                (sf[:, 0] * n + sf[:, 1]) * n + sf[:, 2], return_index=True, return_inverse=True, return_counts=True
            )
        else:
            _, first, inverse, counts = np.unique(
                sf, axis=0, return_index=True, return_inverse=True, return_counts=True
            )
        inverse = inverse.reshape(-1)
        keep = np.zeros(len(f), dtype=bool)
        keep[first] = True
        multi = counts[inverse] > 1
        if multi.any():
            # winding parity of each face relative to its sorted order
            parity = _cyclic_parity(f)
            even = np.bincount(inverse, weights=parity.astype(np.float64), minlength=len(counts))
            odd = counts - even
            fins = (even > 0) & (odd > 0)
            keep &= ~fins[inverse]
        f = f[keep]
    return compact(v, f)


def _cyclic_parity(f: np.ndarray) -> np.ndarray:
    """True when a face's vertex order is an even (cyclic) permutation of its sorted order."""
    a, b, c = f[:, 0], f[:, 1], f[:, 2]
    return ((a < b) & (b < c)) | ((b < c) & (c < a)) | ((c < a) & (a < b))


def compact(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop unreferenced vertices and renumber the faces."""
    v, f = _as_arrays(vertices, faces)
    used = np.zeros(len(v), dtype=bool)
    used[f.reshape(-1)] = True
    remap = np.cumsum(used) - 1
    return v[used], remap[f]


def face_components(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """Connected-component label per face (faces sharing a vertex are connected)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = np.asarray(faces, dtype=np.int64)
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_vertices, n_vertices))
    _, labels = connected_components(graph, directed=False)
    return labels[f[:, 0]]


def remove_small_components(
    vertices: np.ndarray, faces: np.ndarray, min_fraction: float = MIN_ISLAND_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """Drop islands whose area is below ``min_fraction`` of the largest island's area (floaters)."""
    v, f = _as_arrays(vertices, faces)
    if len(f) == 0:
        return v, f
    labels = face_components(f, len(v))
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    comp_area = np.bincount(labels, weights=area)
    keep_comp = comp_area >= min_fraction * comp_area.max()
    return compact(v, f[keep_comp[labels]])


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    v, f = _as_arrays(vertices, faces)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def wound_against_a_neighbour(faces: np.ndarray) -> np.ndarray:
    """Per face: whether one of its directed edges occurs twice (it and a neighbour traverse their shared edge
    the same way, or the edge has more than two faces)."""
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return np.zeros(0, dtype=bool)
    key = f.ravel() * (int(f.max()) + 1) + f[:, [1, 2, 0]].ravel()
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return (counts[inverse] > 1).reshape(-1, 3).any(axis=1)


def consistently_wound(faces: np.ndarray) -> bool:
    """Whether no directed edge occurs twice: neighbouring triangles then traverse their shared edge in
    opposite directions, so the winding is already consistent (marching cubes' output, for one)."""
    return not wound_against_a_neighbour(faces).any()


def fix_winding(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make winding consistent inside each component and outward (positive volume) per component. The
    consistency pass (trimesh's, which imports networkx: about 0.5 s of a cold ``gen3d make``) runs only when
    :func:`consistently_wound` says it is needed."""
    v, f = _as_arrays(vertices, faces)
    if not consistently_wound(f):
        import trimesh

        mesh = trimesh.Trimesh(v, f, process=False)
        trimesh.repair.fix_winding(mesh)
        f = np.asarray(mesh.faces, dtype=np.int64)
    else:
        f = f.copy()
    labels = face_components(f, len(v))
    centre = v.mean(axis=0)
    for comp in np.unique(labels):
        sel = labels == comp
        fc = f[sel]
        a, b, c = v[fc[:, 0]] - centre, v[fc[:, 1]] - centre, v[fc[:, 2]] - centre
        vol = np.einsum("ij,ij->i", a, np.cross(b, c)).sum()
        if vol < 0:
            f[sel] = fc[:, ::-1]
    return v, f


def face_normals(vertices: np.ndarray, faces: np.ndarray, unit: bool = True) -> np.ndarray:
    """Per-face normals (float64) by the right-hand rule: unit length, or with ``unit=False`` twice the area."""
    v, f = np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64)
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12) if unit else n


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (float32); vertices without area get +Y."""
    v, f = _as_arrays(vertices, faces)
    fn = face_normals(v, f, unit=False)
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, f[:, k], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    bad = length[:, 0] <= 1e-20
    n = np.where(bad[:, None], np.array([0.0, 1.0, 0.0]), n / np.maximum(length, 1e-30))
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    return n.astype(np.float32)


def smooth(vertices: np.ndarray, faces: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Taubin (lambda/mu) smoothing: removes marching-cubes/Poisson ripples without shrinking thin parts."""
    import trimesh

    v, f = _as_arrays(vertices, faces)
    if iterations <= 0:
        return v
    mesh = trimesh.Trimesh(v.copy(), f, process=False)
    trimesh.smoothing.filter_taubin(mesh, lamb=0.5, nu=0.53, iterations=int(iterations))
    return np.asarray(mesh.vertices, dtype=np.float64)


def snap_to_points(vertices: np.ndarray, faces: np.ndarray, xyz: np.ndarray, k: int = 4,
                   spread: float = 1.0) -> np.ndarray:
    """Move each vertex along its normal onto the plane (normal to it) through the inverse-distance-squared
    weighted centroid of its ``k`` nearest cloud points -> new vertices float32 [V, 3].

    A learned occupancy's 50% level sits inside thin and convex parts (uncertainty blurs the indicator, and
    the blur of a convex solid shrinks); the points themselves lie on the surface. Moves are capped at the
    reach, twice the cloud's median point spacing (at least 0.03 of the box), and fade out between one and
    two reaches from the nearest point, so parts of the surface no point supports stay where they are.
    The moves are then averaged over the mesh across about ``spread`` point spacings (a diffusion along
    its edges), so a noisy, sparse cloud (a generated one) shifts the surface smoothly instead of denting it
    at every point, while the systematic offset is still removed.
    """
    from scipy.sparse import coo_matrix, diags
    from scipy.spatial import cKDTree

    pts = np.asarray(xyz, dtype=np.float64)
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if len(pts) < 2 or len(v) == 0:
        return v.astype(np.float32)
    tree = cKDTree(pts)
    spacing = float(np.median(tree.query(pts, k=2)[0][:, 1]))
    reach = max(0.03, 2.0 * spacing)
    k = min(k, len(pts))
    d, idx = tree.query(v, k=k)
    d, idx = d.reshape(len(v), k), idx.reshape(len(v), k)
    w = 1.0 / (d + 1e-4) ** 2
    centre = np.einsum("vk,vkc->vc", w / w.sum(1, keepdims=True), pts[idx])
    n = vertex_normals(v, f).astype(np.float64)
    t = np.clip(np.einsum("vc,vc->v", centre - v, n), -reach, reach)
    t *= np.clip(2.0 - d[:, 0] / reach, 0.0, 1.0)
    if spread > 0 and len(f):
        edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        edge_len = float(np.median(np.linalg.norm(v[edges[:, 0]] - v[edges[:, 1]], axis=1)))
        steps = int(min(200, (spread * spacing / max(edge_len, 1e-9)) ** 2))
        if steps:
            rows, cols = np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]
            adj = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(v), len(v))).tocsr()
            adj.data[:] = 1.0
            walk = diags(1.0 / np.maximum(adj.sum(1).A1, 1.0)) @ adj
            for _ in range(steps):  # lazy random walk: radius ~ sqrt(steps / 2) edges
                t = 0.5 * t + 0.5 * (walk @ t)
    return (v + n * t[:, None]).astype(np.float32)


def clean_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    min_island_fraction: float = MIN_ISLAND_FRACTION,
    smooth_iterations: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The standard cleanup -> (vertices float32 [V,3], faces int64 [F,3]); raises if nothing is left."""
    v, f = remove_degenerate(vertices, faces)
    if len(f) == 0:
        raise MeshError("the mesher produced no usable triangles; try another --mesher or a denser cloud")
    v, f = remove_small_components(v, f, min_island_fraction)
    v, f = fix_winding(v, f)
    if smooth_iterations > 0:
        v = smooth(v, f, smooth_iterations)
        v, f = remove_degenerate(v, f)
    if len(f) == 0:
        raise MeshError("cleanup removed every triangle; try another --mesher or a denser cloud")
    return v.astype(np.float32), f
