"""Normal-mapped LODs (gen3d.texture.normals): tangents from UVs, the closest-point bake of a high-resolution
surface onto a coarse one, the glTF normalTexture + TANGENT it exports as (validator-clean), and the render."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
import trimesh

from gen3d.mesh.cleanup import vertex_normals
from gen3d.texture.bake import rasterize_uv
from gen3d.texture.normals import (
    FLAT,
    SurfaceNormals,
    bake_normal_map,
    chart_mask,
    normal_map_error,
    quantize_normal_map,
    vertex_tangents,
)
from gen3d.texture.unwrap import unwrap

try:  # tests/ is a package in some checkouts, a plain folder in others
    from tests.helpers_gltf import assert_gltf_valid
except ImportError:  # pragma: no cover
    from helpers_gltf import assert_gltf_valid


def bumpy_ellipsoid(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    m = trimesh.creation.icosphere(subdivisions, radius=0.5)
    v = m.vertices * [1.0, 0.6, 0.8]
    v = v * (1 + 0.03 * np.sin(20 * v[:, :1]) * np.sin(20 * v[:, 1:2]))
    return v, m.faces


def low_mesh(size: int = 256):
    m = trimesh.creation.icosphere(2, radius=0.5)
    uvm = unwrap(m.vertices * [1.0, 0.6, 0.8], m.faces, texture_size=size)
    n = vertex_normals(uvm.vertices, uvm.faces)  # per split vertex: the same as the source's (area weighted)
    return uvm, n, vertex_tangents(uvm.vertices, uvm.faces, n, uvm.uvs)


def shader_normals(uvm, n, tan, image):
    """What a glTF renderer computes at each covered texel: the interpolated TBN times the decoded texel."""
    texel, fid, bary = rasterize_uv(uvm.uvs, uvm.faces, image.shape[0])
    c = uvm.faces[fid]
    pos = np.einsum("mk,mkc->mc", bary, uvm.vertices[c].astype(float))
    N = np.einsum("mk,mkc->mc", bary, n[c].astype(float))
    N /= np.linalg.norm(N, axis=1, keepdims=True)
    T = np.einsum("mk,mkc->mc", bary, tan[c, :3].astype(float))
    T -= N * (T * N).sum(1, keepdims=True)
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    B = np.cross(N, T) * tan[c[:, 0], 3:4]
    d = image.reshape(-1, 3)[texel] / 255.0 * 2 - 1
    out = d[:, :1] * T + d[:, 1:2] * B + d[:, 2:3] * N
    return pos, N, out / np.linalg.norm(out, axis=1, keepdims=True)


def angles(a, b):
    return np.degrees(np.arccos(np.clip((a * b).sum(1), -1.0, 1.0)))


def test_tangents_follow_the_uvs():
    # a quad in the XY plane facing +Z, u along +X, v along +Y: tangent +X, handedness +1
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=float)
    f = np.array([[0, 1, 2], [0, 2, 3]])
    n = np.tile([0.0, 0.0, 1.0], (4, 1))
    uv = v[:, :2].copy()
    t = vertex_tangents(v, f, n, uv)
    np.testing.assert_allclose(t, np.tile([1.0, 0.0, 0.0, 1.0], (4, 1)), atol=1e-6)
    uv[:, 0] = 1.0 - uv[:, 0]  # mirrored in u: tangent -X, bitangent still +Y, so handedness -1
    t = vertex_tangents(v, f, n, uv)
    np.testing.assert_allclose(t, np.tile([-1.0, 0.0, 0.0, -1.0], (4, 1)), atol=1e-6)


def test_tangents_are_unit_orthogonal_and_signed():
    uvm, n, tan = low_mesh()
    assert tan.shape == (len(uvm.vertices), 4) and tan.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(tan[:, :3], axis=1), 1.0, atol=1e-5)
    assert np.abs((tan[:, :3] * n).sum(1)).max() < 1e-5
    assert set(np.unique(tan[:, 3])) <= {-1.0, 1.0}


def test_bake_restores_the_high_resolution_normals():
    uvm, n, tan = low_mesh(256)
    hv, hf = bumpy_ellipsoid(5)
    high = SurfaceNormals(hv, hf, vertex_normals(hv, hf))
    image, mean_angle = bake_normal_map(uvm.vertices, uvm.faces, uvm.uvs, n, tan, high, size=256)
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    pos, low, shaded = shader_normals(uvm, n, tan, image)
    _, _, truth = high.closest(pos, low)
    before, after = angles(low, truth), angles(shaded, truth)
    assert before.mean() > 4.0 and mean_angle == pytest.approx(before.mean(), abs=0.5)
    assert after.mean() < 0.5 and np.percentile(after, 99) < 1.5  # 8-bit texels: ~0.3 degrees


def test_closest_points_match_trimesh():
    hv, hf = bumpy_ellipsoid(4)
    high = SurfaceNormals(hv, hf, vertex_normals(hv, hf))
    q = trimesh.sample.sample_surface(trimesh.Trimesh(*bumpy_ellipsoid(2)[:2]), 500, seed=0)[0]
    p, _, _ = high.closest(q)
    exact, dist, _ = trimesh.proximity.closest_point(trimesh.Trimesh(hv, hf), q)
    mine = np.linalg.norm(p - q, axis=1)
    assert np.mean(mine <= dist + 1e-9) > 0.95 and (mine - dist).max() < 0.005


def test_a_surface_baked_onto_itself_is_flat():
    uvm, n, tan = low_mesh(128)
    high = SurfaceNormals(uvm.vertices, uvm.faces, n)
    image, mean_angle = bake_normal_map(uvm.vertices, uvm.faces, uvm.uvs, n, tan, high, size=128)
    assert mean_angle < 0.5
    assert np.abs(image.astype(int) - FLAT).max() <= 3


@pytest.fixture(scope="module")
def asset():
    from gen3d.texture.asset import mesh_and_texture
    from tests.test_export import two_tone_box_cloud

    def rounded_box(p):  # a box with bevelled edges: the decimated mesh cuts the bevels, the map keeps them
        q = np.abs(p) - np.array([0.3, 0.15, 0.2], dtype=np.float32)
        return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(axis=1), 0) - 0.1

    return mesh_and_texture(two_tone_box_cloud(), mesher=rounded_box, resolution=48, texture_size=256, size_m=1.0,
                            max_faces=200, lods=1, normal_map=True)


def test_mesh_and_texture_bakes_every_level(asset):
    assert asset.normal_map.shape == asset.texture.shape == (256, 256, 3)
    assert asset.tangents.shape == (len(asset.vertices), 4)
    lod = asset.lods[0]
    assert lod.normal_map.shape == (128, 128, 3) and lod.tangents.shape == (len(lod.vertices), 4)
    assert asset.metadata["parameters"]["normal_map"] is True
    assert np.abs(asset.normal_map.astype(int) - FLAT).max() > 20  # the bevels are in the map
    assert "normal_bake" in asset.timings


def _gltf(path):
    data = path.read_bytes()
    n = struct.unpack_from("<I", data, 12)[0]
    return json.loads(data[20:20 + n])


@pytest.mark.parametrize("images", ["png", "jpeg"])
def test_glb_has_tangents_and_a_normal_texture(asset, tmp_path, images):
    from gen3d.export import export

    paths = export(asset, tmp_path / "box.glb", images=images)
    assert_gltf_valid(*paths)
    doc = _gltf(paths[0])
    prim = doc["meshes"][0]["primitives"][0]
    assert "TANGENT" in prim["attributes"] and doc["accessors"][prim["attributes"]["TANGENT"]]["type"] == "VEC4"
    mat = doc["materials"][0]
    assert mat["normalTexture"] == {"index": 1, "texCoord": 0}
    mimes = [im["mimeType"] for im in doc["images"]]
    assert mimes == (["image/png", "image/png"] if images == "png" else ["image/jpeg", "image/png"])


def test_quantized_normal_maps_keep_the_flat_normal_and_bound_the_error(asset):
    nm = asset.normal_map
    mask = chart_mask(asset.uvs, asset.faces, nm.shape[0])
    assert mask.shape == nm.shape[:2] and 0.2 < mask.mean() < 1.0
    assert normal_map_error(nm, nm, mask) < 1e-4 and (quantize_normal_map(nm, 1) == nm).all()
    tilted = np.array([[[255, 128, 128]]], dtype=np.uint8)  # +x against the flat +z: a right angle
    assert normal_map_error(FLAT[None, None], tilted) == pytest.approx(89.6, abs=0.2)
    errors = []
    for step in (2, 3, 5, 7):
        q = quantize_normal_map(nm, step)
        assert q.dtype == np.uint8 and np.abs(q.astype(int) - nm).max() <= step // 2
        flat = quantize_normal_map(FLAT[None, None], step)
        assert (flat[..., :2] == 128).all() and normal_map_error(FLAT[None, None], flat) < 0.01  # still flat
        assert len(np.unique(q)) < len(np.unique(nm))
        errors.append(normal_map_error(nm, q, mask))
    assert errors == sorted(errors) and 0.0 < errors[1] < 1.0 and errors[-1] < 2.5  # degrees


def test_the_small_png_is_lossless(asset):
    from PIL import Image

    from gen3d.export.glb import encode_png, encode_png_small

    for image in (asset.normal_map, asset.texture, asset.texture[:7, :5]):
        for level in (6, 9):
            data = encode_png_small(image, level=level)
            back = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            assert (back == image).all()
    assert len(encode_png_small(asset.normal_map)) < len(encode_png(asset.normal_map, compress_level=9))


def test_render_shows_the_normal_map(asset):
    pytest.importorskip("pyrender")
    from gen3d.render import render_textured

    with_map = render_textured(asset, (96, 96)).astype(int)
    without = render_textured(asset, (96, 96), normal_map=False).astype(int)
    assert with_map.shape == (96, 96, 3)
    assert np.abs(with_map - without).mean() > 0.5  # the bevels shade differently
