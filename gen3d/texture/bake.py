"""Bake point colours into a UV texture: rasterise UV triangles to texels, interpolate colours in 3D.

Each covered texel gets its 3D position from the barycentric coordinates of its centre in its UV
triangle; its colour is the inverse-distance-weighted mean of the ``k`` nearest cloud points, computed
exactly at every other texel of every other row and interpolated between them where that is safe (see
``texel_colours``). Empty
texels then take the colour of the nearest covered texel (a chessboard distance transform), so chart
borders never bleed dark background into bilinear or mip-mapped samples.
"""

from __future__ import annotations

import numpy as np

from gen3d.mesh.cleanup import MeshError


def rasterize_uv(
    uvs: np.ndarray, faces: np.ndarray, size: int, chunk: int = 262144
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Texels whose centres lie in UV triangles -> (flat texel index [M], face id [M], barycentrics [M, 3]).

    Image rows run top to bottom (row 0 is v = 1). Vectorised over (triangle, bbox-texel) pairs, in
    chunks of about ``chunk`` pairs so the temporaries stay small (a fresh 1024^2 bake otherwise
    spends most of its time page-faulting hundreds of MB).
    """
    uv = np.asarray(uvs, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    # texel-centre coordinates: x = u*W - 0.5, y = (1 - v)*H - 0.5
    px = uv[:, 0] * size - 0.5
    py = (1.0 - uv[:, 1]) * size - 0.5
    tx, ty = px[f], py[f]  # [F, 3]
    x0 = np.clip(np.ceil(tx.min(axis=1) - 1e-9), 0, size - 1).astype(np.int64)
    x1 = np.clip(np.floor(tx.max(axis=1) + 1e-9), 0, size - 1).astype(np.int64)
    y0 = np.clip(np.ceil(ty.min(axis=1) - 1e-9), 0, size - 1).astype(np.int64)
    y1 = np.clip(np.floor(ty.max(axis=1) + 1e-9), 0, size - 1).astype(np.int64)
    w = np.maximum(x1 - x0 + 1, 0)
    h = np.maximum(y1 - y0 + 1, 0)
    counts = w * h
    ends = np.cumsum(counts)
    texels, fids, barys = [], [], []
    lo = 0
    while lo < len(f):
        base = ends[lo - 1] if lo else 0
        hi = int(np.searchsorted(ends, base + chunk, side="right"))
        hi = max(hi, lo + 1)
        part = _raster_chunk(tx[lo:hi], ty[lo:hi], x0[lo:hi], y0[lo:hi], w[lo:hi], counts[lo:hi], size)
        texels.append(part[0])
        fids.append(part[1] + lo)
        barys.append(part[2])
        lo = hi
    texel = np.concatenate(texels) if texels else np.zeros(0, np.int64)
    fid = np.concatenate(fids) if fids else np.zeros(0, np.int64)
    bary = np.concatenate(barys) if barys else np.zeros((0, 3))
    # a texel on a shared edge can be hit twice: keep one hit per texel (O(M), no sort)
    owner = np.full(size * size, -1, dtype=np.int64)
    owner[texel] = np.arange(len(texel))
    keep = owner[owner >= 0]
    return texel[keep], fid[keep], bary[keep]


def _raster_chunk(tx, ty, x0, y0, w, counts, size):
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3))
    fid = np.repeat(np.arange(len(tx)), counts)
    start = np.cumsum(counts) - counts
    local = np.arange(total) - np.repeat(start, counts)
    ww = w[fid]
    cx = x0[fid] + local % ww
    cy = y0[fid] + local // ww
    ax, ay = tx[fid, 0], ty[fid, 0]
    v0x, v0y = tx[fid, 1] - ax, ty[fid, 1] - ay
    v1x, v1y = tx[fid, 2] - ax, ty[fid, 2] - ay
    v2x, v2y = cx - ax, cy - ay
    den = v0x * v1y - v1x * v0y
    ok = np.abs(den) > 1e-12
    den = np.where(ok, den, 1.0)
    b1 = (v2x * v1y - v1x * v2y) / den
    b2 = (v0x * v2y - v2x * v0y) / den
    b0 = 1.0 - b1 - b2
    eps = -1e-7
    sel = np.flatnonzero(ok & (b0 >= eps) & (b1 >= eps) & (b2 >= eps))
    bary = np.empty((len(sel), 3))
    bary[:, 0], bary[:, 1], bary[:, 2] = b0[sel], b1[sel], b2[sel]
    return cy[sel] * size + cx[sel], fid[sel], bary


def idw_colours(
    points: np.ndarray, colours: np.ndarray, queries: np.ndarray, k: int = 4, power: float = 2.0
) -> np.ndarray:
    """Inverse-distance-weighted colours (float32 [Q, 3]) of the ``k`` nearest points at ``queries``."""
    from scipy.spatial import cKDTree

    pts = np.asarray(points, dtype=np.float64)
    cols = np.asarray(colours, dtype=np.float32)
    k = int(max(1, min(k, len(pts))))
    dist, idx = cKDTree(pts).query(np.asarray(queries, dtype=np.float64), k=k, workers=-1)
    if k == 1:
        return cols[idx]
    scale = max(float(np.ptp(pts, axis=0).max()), 1e-12)
    wgt = 1.0 / np.maximum(dist / scale, 1e-6) ** power
    wgt /= wgt.sum(axis=1, keepdims=True)
    return np.einsum("qk,qkc->qc", wgt.astype(np.float32), cols[idx])


def texel_colours(positions: np.ndarray, covered: np.ndarray, colour_fn, tol: float = 0.1,
                  features: np.ndarray | None = None) -> np.ndarray:
    """Colours (float32 [H, W, 3], zero where not covered) of the covered texels of an image whose texels
    have 3D ``positions`` [H, W, 3], from ``colour_fn(points [Q, 3]) -> [Q, 3]``, with about a third of the
    calls.

    ``colour_fn`` runs at the "anchor" texels (even row, even column) and at every texel that cannot be
    interpolated; the others take the mean of their two (same row or column) or four (diagonal) anchors.
    A texel is interpolated only when all its anchors are covered and the same mean of the anchors' 3D
    positions lands within ``tol`` of the anchors' span from its own position, so no colour is interpolated
    across a chart border or a fold. Texels are 5-25x finer than the point spacing of a 256-4,096-point
    cloud, so the colours are nearly those of ``colour_fn`` everywhere (mean difference ~0.001 of the
    0-1 range). Works on strided views of the image: no per-texel index arithmetic. With ``features``
    ([H, W, C], e.g. the surface normal at each texel) ``colour_fn`` is called as ``colour_fn(points, features)``
    with the same texels' features."""
    h, w = covered.shape
    hp, wp = h + 2 + h % 2, w + 2 + w % 2  # even, with at least one empty row/column past the image
    pos = np.zeros((hp, wp, 3), dtype=np.float32)
    pos[:h, :w] = positions
    cov = np.zeros((hp, wp), dtype=bool)
    cov[:h, :w] = covered
    ap, am = pos[0::2, 0::2], cov[0::2, 0::2]  # anchors
    # (texel view, anchor views): even row/odd column, odd row/even column, odd row/odd column
    classes = [
        ((slice(0, None, 2), slice(1, -1, 2)), [(slice(None), slice(0, -1)), (slice(None), slice(1, None))]),
        ((slice(1, -1, 2), slice(0, None, 2)), [(slice(0, -1), slice(None)), (slice(1, None), slice(None))]),
        ((slice(1, -1, 2), slice(1, -1, 2)), [(slice(0, -1), slice(0, -1)), (slice(0, -1), slice(1, None)),
                                             (slice(1, None), slice(0, -1)), (slice(1, None), slice(1, None))]),
    ]
    interp = np.zeros((hp, wp), dtype=bool)
    for view, nbrs in classes:
        ok = cov[view].copy()
        for nb in nbrs:
            ok &= am[nb]
        guess = sum(ap[nb] for nb in nbrs) / len(nbrs)
        span = np.linalg.norm(ap[nbrs[-1]] - ap[nbrs[0]], axis=-1)
        ok &= np.linalg.norm(guess - pos[view], axis=-1) <= tol * span + 1e-9
        interp[view] = ok
    exact = cov & ~interp
    out = np.zeros((hp, wp, 3), dtype=np.float32)
    if features is None:
        out[exact] = colour_fn(pos[exact])
    else:
        feat = np.zeros((hp, wp, features.shape[-1]), dtype=np.float32)
        feat[:h, :w] = features
        out[exact] = colour_fn(pos[exact], feat[exact])
    ac = out[0::2, 0::2]  # anchors are exact texels
    for view, nbrs in classes:
        ok = interp[view]
        out[view][ok] = (sum(ac[nb] for nb in nbrs) / len(nbrs))[ok]
    return out[:h, :w]


def dilate_fill(image: np.ndarray, mask: np.ndarray, max_distance: int | None = None) -> np.ndarray:
    """Fill every texel outside ``mask`` with the colour of the nearest texel inside it (chessboard distance:
    half the time of the Euclidean transform, and the same colours next to the charts). With ``max_distance``
    only texels at most that far are filled; the others keep their value."""
    from scipy.ndimage import distance_transform_cdt

    if mask.all() or not mask.any():
        return image
    if max_distance is None:
        iy, ix = distance_transform_cdt(~mask, metric="chessboard", return_distances=False, return_indices=True)
        return image[iy, ix]
    dist, (iy, ix) = distance_transform_cdt(~mask, metric="chessboard", return_distances=True, return_indices=True)
    near = dist <= max_distance
    out = image.copy()
    out[near] = image[iy[near], ix[near]]
    return out


def bake_texture(
    vertices: np.ndarray,
    faces: np.ndarray,
    uvs: np.ndarray,
    points: np.ndarray,
    colours: np.ndarray,
    size: int = 1024,
    k: int = 4,
) -> tuple[np.ndarray, float]:
    """Bake a base-colour texture -> (uint8 [size, size, 3] image, covered fraction of texels).

    ``vertices``/``points`` must be in the same space; ``colours`` are 0..1 (sRGB, stored as is).
    """
    if size < 16 or size > 8192:
        raise MeshError(f"texture size {size} is out of range; use 16..8192 (default 1024)")
    if len(points) == 0:
        raise MeshError("cannot bake a texture from an empty point cloud")
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    texel, fid, bary = rasterize_uv(uvs, f, size)
    if len(texel) == 0:
        raise MeshError("the UV layout covers no texel; raise --texture-size")
    pos = np.zeros((size * size, 3), dtype=np.float32)
    pos[texel] = np.einsum("mk,mkc->mc", bary, v[f[fid]])
    mask = np.zeros(size * size, dtype=bool)
    mask[texel] = True
    mask = mask.reshape(size, size)
    image = texel_colours(pos.reshape(size, size, 3), mask, lambda q: idw_colours(points, colours, q, k=k))
    image = dilate_fill(image, mask)
    out = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    return out, float(mask.mean())


def sample_texture(image: np.ndarray, uvs: np.ndarray) -> np.ndarray:
    """Nearest-texel lookup of ``uvs`` (OpenGL convention) in an image whose row 0 is the top."""
    h, w = image.shape[:2]
    uv = np.asarray(uvs, dtype=np.float64)
    x = np.clip(np.floor(uv[:, 0] * w), 0, w - 1).astype(np.int64)
    y = np.clip(np.floor((1.0 - uv[:, 1]) * h), 0, h - 1).astype(np.int64)
    return image[y, x]
