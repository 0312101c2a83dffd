"""UV unwrap, texture bake (colours match the points, no blank texels), PBR material hints."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from gen3d.mesh.cleanup import MeshError
from gen3d.texture.bake import bake_texture, dilate_fill, idw_colours, rasterize_uv, sample_texture, texel_colours
from gen3d.texture.material import PBRMaterial, material_from_hint
from gen3d.texture.unwrap import unwrap


def _colour_field(p: np.ndarray) -> np.ndarray:
    """Red on top, blue below, a green gradient along x: a known colour for every 3D position."""
    top = (p[:, 1] > 0).astype(np.float32)
    return np.stack([0.1 + 0.8 * top, 0.2 + 0.6 * (p[:, 0] + 0.5), 0.9 - 0.8 * top], axis=1).clip(0, 1)


@pytest.fixture(scope="module")
def baked():
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=0.4)
    pts, _ = trimesh.sample.sample_surface_even(mesh, 4096, seed=1)
    uvm = unwrap(mesh.vertices, mesh.faces, texture_size=512)
    image, coverage = bake_texture(uvm.vertices, uvm.faces, uvm.uvs, pts, _colour_field(pts), size=512)
    return mesh, uvm, image, coverage


def test_unwrap_covers_every_face(baked) -> None:
    mesh, uvm, _, _ = baked
    assert len(uvm.faces) == len(mesh.faces)
    assert uvm.uvs.min() >= 0.0 and uvm.uvs.max() <= 1.0
    np.testing.assert_allclose(uvm.vertices, mesh.vertices[uvm.vmap], atol=1e-6)
    # UV triangles have non-zero area (no collapsed charts)
    t = uvm.uvs[uvm.faces]
    e1, e2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    assert (area > 0).mean() > 0.99


def test_texture_matches_point_colours(baked) -> None:
    _, uvm, image, coverage = baked
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8
    assert 0.3 < coverage < 0.95
    assert image.std() > 20  # not blank
    # sample the texture at face centroids (in UV) and compare with the colour field at the 3D centroid
    cuv = uvm.uvs[uvm.faces].mean(axis=1)
    c3d = uvm.vertices[uvm.faces].mean(axis=1)
    got = sample_texture(image, cuv).astype(np.float32) / 255.0
    want = _colour_field(c3d)
    err = np.abs(got - want)
    # mean error small; the top/bottom boundary band is where interpolation mixes colours
    assert err.mean() < 0.03, err.mean()
    assert np.median(err) < 0.02


def test_dilation_leaves_no_black_texels(baked) -> None:
    _, _, image, _ = baked
    assert (image.sum(axis=2) == 0).sum() == 0
    # every texel carries one of the mesh's colours: blue-ish or red-ish, never the black background
    assert (image.max(axis=2) > 100).all()


def test_texel_colours_interpolate_only_where_safe(baked) -> None:
    mesh, uvm, _, _ = baked
    pts, _ = trimesh.sample.sample_surface_even(mesh, 1024, seed=2)
    cols = _colour_field(pts)
    size = 512
    texel, fid, bary = rasterize_uv(uvm.uvs, uvm.faces, size)
    pos = np.zeros((size * size, 3), np.float32)
    pos[texel] = np.einsum("mk,mkc->mc", bary, uvm.vertices[uvm.faces[fid]])
    covered = np.zeros(size * size, bool)
    covered[texel] = True
    calls = []

    def fn(q):
        calls.append(len(q))
        return idw_colours(pts, cols, q, k=4)

    got = texel_colours(pos.reshape(size, size, 3), covered.reshape(size, size), fn).reshape(-1, 3)
    want = idw_colours(pts, cols, pos[texel], k=4)
    assert sum(calls) < 0.6 * len(texel)  # most texels interpolated
    err = np.abs(got[texel] - want).max(axis=1)
    assert err.mean() < 0.005 and np.quantile(err, 0.99) < 0.05
    assert (got[~covered] == 0).all()

    # an odd-sized image; a 3-texel row whose ends are far apart in 3D (two charts 1 texel apart), and a
    # 3x3 block on one flat chart: the row's middle texel is computed, the block's are interpolated
    pos = np.zeros((5, 7, 3), np.float32)
    covered = np.zeros((5, 7), bool)
    pos[0, 0:3] = [[0, 0, 0], [0.1, 0, 0], [9, 0, 0]]
    covered[0, 0:3] = True
    yy, xx = np.mgrid[2:5, 2:5]
    pos[2:5, 2:5] = np.stack([xx, yy, np.zeros_like(xx)], axis=-1)
    covered[2:5, 2:5] = True
    seen = []
    got = texel_colours(pos, covered, lambda q: (seen.append(q.copy()), np.asarray(q, np.float32) + 1)[1])
    computed = {tuple(np.round(p.astype(np.float64), 3).tolist()) for p in seen[0]}
    assert (0.1, 0.0, 0.0) in computed  # not a blend across the jump
    assert not {(3.0, 2.0, 0.0), (2.0, 3.0, 0.0), (3.0, 3.0, 0.0)} & computed  # interpolated
    np.testing.assert_allclose(got[covered], pos[covered] + 1, atol=1e-6)  # linear field: exact either way


def test_rasterize_exact_single_triangle() -> None:
    uvs = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    texel, fid, bary = rasterize_uv(uvs, np.array([[0, 1, 2]]), 8)
    # exactly the texels whose centres lie in the triangle u + v <= 1
    ys, xs = np.divmod(texel, 8)
    u, v = (xs + 0.5) / 8, 1 - (ys + 0.5) / 8
    assert np.all(u + v <= 1 + 1e-9)
    assert len(texel) == sum(1 for y in range(8) for x in range(8) if (x + 0.5) / 8 + 1 - (y + 0.5) / 8 <= 1)
    np.testing.assert_allclose(bary.sum(axis=1), 1.0)
    assert (fid == 0).all()


def test_idw_exact_at_points_and_dilate() -> None:
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32)
    cols = np.eye(3, dtype=np.float32)
    np.testing.assert_allclose(idw_colours(pts, cols, pts, k=3), cols, atol=1e-4)
    img = np.zeros((4, 4, 3), np.float32)
    mask = np.zeros((4, 4), bool)
    img[0, 0] = 1.0
    mask[0, 0] = True
    assert (dilate_fill(img, mask) == 1.0).all()


def test_bake_errors() -> None:
    uvs = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    v = np.eye(3)
    with pytest.raises(MeshError, match="texture size"):
        bake_texture(v, np.array([[0, 1, 2]]), uvs, v, v, size=4)
    with pytest.raises(MeshError, match="empty"):
        bake_texture(v, np.array([[0, 1, 2]]), uvs, np.zeros((0, 3)), np.zeros((0, 3)), size=64)


def test_material_hints() -> None:
    assert material_from_hint("a steel kettle").metallic == 1.0
    wood = material_from_hint("wooden chair")
    assert wood.metallic == 0.0 and wood.roughness == pytest.approx(0.7)
    default = material_from_hint(None)
    assert (default.metallic, default.roughness) == (0.0, 0.8)
    with pytest.raises(ValueError, match="roughness"):
        PBRMaterial(roughness=1.5)
