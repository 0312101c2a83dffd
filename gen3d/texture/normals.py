"""Tangent-space normal maps: per-vertex tangents from the UVs (MikkTSpace-like) and a bake of the full-resolution
decoded surface onto a decimated mesh by closest-point projection.

Conventions (glTF's): ``tangents`` are [V, 4], xyz the unit direction of increasing u orthogonal to the vertex
normal, w = +-1 with bitangent = cross(normal, tangent.xyz) * w pointing along increasing v of the OpenGL-style
``uvs`` (up in the image). A texel stores (x, y, z) * 0.5 + 0.5 in that frame: the flat normal is (128, 128, 255),
green is "up" (the OpenGL convention glTF, Godot, Unity and Blender use).
"""

from __future__ import annotations

import numpy as np

from gen3d.texture.bake import dilate_fill, rasterize_uv, texel_colours

FLAT = np.array([128, 128, 255], dtype=np.uint8)
PADDING = 4  # texels of dilation around the charts


def _unit(a: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    out = a / np.maximum(n, 1e-30)
    if fallback is not None:
        out = np.where(n > 1e-12, out, fallback)
    return out


def _any_perpendicular(n: np.ndarray) -> np.ndarray:
    axis = np.where(np.abs(n[:, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    return _unit(np.cross(n, axis))


def vertex_tangents(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray, uvs: np.ndarray) -> np.ndarray:
    """Per-vertex tangents (float32 [V, 4]) of a UV-split mesh: each face's dP/du and dP/dv, normalised and
    summed into its corners weighted by the corner angle (as MikkTSpace does), then made orthogonal to the
    vertex normal (Gram-Schmidt); w is the handedness. Faces with degenerate UVs add nothing; a vertex that gets
    nothing takes any unit vector orthogonal to its normal."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    uv = np.asarray(uvs, dtype=np.float64)
    n = _unit(np.asarray(normals, dtype=np.float64), np.array([0.0, 1.0, 0.0]))
    p, t = v[f], uv[f]  # [F, 3, 3], [F, 3, 2]
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    d1, d2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    r = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    ok = np.abs(r) > 1e-14
    r = np.where(ok, r, 1.0)[:, None]
    sdir = _unit((e1 * d2[:, 1:2] - e2 * d1[:, 1:2]) / r) * ok[:, None]
    tdir = _unit((e2 * d1[:, 0:1] - e1 * d2[:, 0:1]) / r) * ok[:, None]
    tan = np.zeros_like(v)
    bit = np.zeros_like(v)
    for c in range(3):  # corner angles as weights
        a = _unit(p[:, (c + 1) % 3] - p[:, c])
        b = _unit(p[:, (c + 2) % 3] - p[:, c])
        ang = np.arccos(np.clip(np.einsum("fc,fc->f", a, b), -1.0, 1.0))[:, None]
        np.add.at(tan, f[:, c], sdir * ang)
        np.add.at(bit, f[:, c], tdir * ang)
    tan = tan - n * np.einsum("vc,vc->v", tan, n)[:, None]
    tan = _unit(tan, _any_perpendicular(n))
    w = np.where(np.einsum("vc,vc->v", np.cross(n, tan), bit) < 0.0, -1.0, 1.0)
    return np.concatenate([tan, w[:, None]], axis=1).astype(np.float32)


class SurfaceNormals:
    """Closest points on a (high-resolution) triangle mesh and its smooth normal there.

    Candidate triangles come from a k-d tree of triangle centres (``k`` nearest; exact for the evenly sized
    triangles of a marching-cubes surface), the closest point on each candidate from
    ``trimesh.triangles.closest_point``. Candidates facing away from the query's own normal are taken only when
    no candidate faces the same way, so a thin part's far side is not baked onto its near side."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, vertex_normals: np.ndarray, k: int = 8):
        from scipy.spatial import cKDTree

        self.v = np.asarray(vertices, dtype=np.float64)
        self.f = np.asarray(faces, dtype=np.int64)
        self.vn = _unit(np.asarray(vertex_normals, dtype=np.float64), np.array([0.0, 1.0, 0.0]))
        tri = self.v[self.f]
        self.tri = tri
        self.fn = _unit(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]))
        self.tree = cKDTree(tri.mean(axis=1))
        self.k = int(min(k, len(self.f)))

    def closest(self, points: np.ndarray, normals: np.ndarray | None = None, chunk: int = 65536):
        """-> (closest points [Q, 3], face ids [Q], smooth unit normals there [Q, 3])."""
        from trimesh.triangles import closest_point, points_to_barycentric

        q = np.asarray(points, dtype=np.float64)
        out_p = np.empty_like(q)
        out_f = np.empty(len(q), dtype=np.int64)
        for lo in range(0, len(q), chunk):
            qq = q[lo:lo + chunk]
            _, cand = self.tree.query(qq, k=self.k)
            cand = cand.reshape(len(qq), -1)
            kk = cand.shape[1]
            cp = closest_point(self.tri[cand.reshape(-1)], np.repeat(qq, kk, axis=0)).reshape(len(qq), kk, 3)
            dist = np.linalg.norm(cp - qq[:, None, :], axis=2)
            if normals is not None:
                nn = np.asarray(normals, dtype=np.float64)[lo:lo + chunk]
                away = np.einsum("qkc,qc->qk", self.fn[cand], nn) <= 0.0
                facing = (~away).any(axis=1, keepdims=True)
                dist = dist + np.where(away & facing, np.inf, 0.0)
            best = np.argmin(dist, axis=1)
            rows = np.arange(len(qq))
            out_p[lo:lo + chunk] = cp[rows, best]
            out_f[lo:lo + chunk] = cand[rows, best]
        bary = np.clip(points_to_barycentric(self.tri[out_f], out_p), 0.0, 1.0)
        nrm = np.einsum("qk,qkc->qc", bary, self.vn[self.f[out_f]])
        return out_p, out_f, _unit(nrm, self.fn[out_f])


def bake_normal_map(
    vertices: np.ndarray,
    faces: np.ndarray,
    uvs: np.ndarray,
    normals: np.ndarray,
    tangents: np.ndarray,
    high: SurfaceNormals,
    size: int = 1024,
) -> tuple[np.ndarray, float]:
    """Bake ``high``'s normals into a tangent-space normal map (uint8 [size, size, 3]) of the low mesh
    (``vertices``, ``faces``, ``uvs``, unit ``normals``, ``tangents`` from :func:`vertex_tangents`, all in the same
    space as ``high``) -> (image, mean angle in degrees between the low and the baked normals). Texels outside
    the charts take their nearest chart texel's value up to :data:`PADDING` texels away (no seams under
    filtering), and the flat normal beyond."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    nrm = np.asarray(normals, dtype=np.float64)
    tan = np.asarray(tangents, dtype=np.float64)
    texel, fid, bary = rasterize_uv(uvs, f, size)
    image = np.empty((size * size, 3), dtype=np.uint8)
    image[:] = FLAT
    if len(texel) == 0:
        return image.reshape(size, size, 3), 0.0
    corners = f[fid]
    pos = np.einsum("mk,mkc->mc", bary, v[corners])
    n = _unit(np.einsum("mk,mkc->mc", bary, nrm[corners]), np.array([0.0, 1.0, 0.0]))
    t = np.einsum("mk,mkc->mc", bary, tan[corners, :3])
    t = _unit(t - n * np.einsum("mc,mc->m", t, n)[:, None], _any_perpendicular(n))
    w = np.where(tan[corners[:, 0], 3] < 0, -1.0, 1.0)
    b = np.cross(n, t) * w[:, None]
    # the high surface's normal at every covered texel, looked up exactly at about a third of them and
    # interpolated between those where that is safe (see texel_colours)
    grid_pos = np.zeros((size * size, 3), dtype=np.float32)
    grid_n = np.zeros((size * size, 3), dtype=np.float32)
    grid_pos[texel], grid_n[texel] = pos, n
    mask = np.zeros(size * size, dtype=bool)
    mask[texel] = True
    hn = texel_colours(grid_pos.reshape(size, size, 3), mask.reshape(size, size),
                       lambda q, qn: high.closest(q, qn)[2], features=grid_n.reshape(size, size, 3))
    hn = _unit(hn.reshape(-1, 3)[texel].astype(np.float64), n)
    ts = np.stack([np.einsum("mc,mc->m", hn, t), np.einsum("mc,mc->m", hn, b), np.einsum("mc,mc->m", hn, n)], 1)
    ts[:, 2] = np.maximum(ts[:, 2], 0.05)  # never bend past the low surface's horizon
    ts = _unit(ts)
    angle = float(np.degrees(np.arccos(np.clip(ts[:, 2], -1.0, 1.0))).mean())
    image[texel] = np.clip(np.round((ts * 0.5 + 0.5) * 255.0), 0, 255).astype(np.uint8)
    # a few texels of padding around the charts (filtering and mip-mapping), flat beyond: a smeared fill would
    # cost more in the file than everything inside the charts
    image = dilate_fill(image.reshape(size, size, 3), mask.reshape(size, size), max_distance=PADDING)
    return image, angle


def quantize_normal_map(image: np.ndarray, step: int) -> np.ndarray:
    """Snap every channel of a normal map to the grid ``128 + k * step`` (step 1: unchanged). The flat normal
    (128, 128, 255) keeps its direction, and runs of equal values make the PNG much smaller: a lossy normal map
    that stays a plain PNG (glTF core), with at most ``step // 2`` per channel of error (see
    :func:`normal_map_error`; JPEG costs more bytes for the same angle on a lumpy surface, docs/engines.md)."""
    image = np.asarray(image, dtype=np.uint8)
    if step <= 1:
        return image
    q = 128 + np.round((image.astype(np.int16) - 128) / step) * step
    return np.clip(q, 0, 255).astype(np.uint8)


def chart_mask(uvs: np.ndarray, faces: np.ndarray, size: int) -> np.ndarray:
    """bool [size, size]: the texels a mesh's UV charts cover (what its surface samples; padding excluded)."""
    texel, _, _ = rasterize_uv(uvs, np.asarray(faces, dtype=np.int64), size)
    mask = np.zeros(size * size, dtype=bool)
    mask[texel] = True
    return mask.reshape(size, size)


def normal_map_error(reference: np.ndarray, image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean angle in degrees between the normals two tangent-space normal maps decode to (as a shader does:
    ``texel / 255 * 2 - 1``, normalised), over ``mask`` (every texel when None)."""
    a = np.asarray(reference, dtype=np.float64).reshape(-1, 3) / 255.0 * 2.0 - 1.0
    b = np.asarray(image, dtype=np.float64).reshape(-1, 3) / 255.0 * 2.0 - 1.0
    if mask is not None:
        keep = np.asarray(mask, dtype=bool).reshape(-1)
        a, b = a[keep], b[keep]
    if len(a) == 0:
        return 0.0
    cos = np.einsum("mc,mc->m", _unit(a), _unit(b))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).mean())
