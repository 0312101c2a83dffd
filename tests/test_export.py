"""Exporters: validator-clean GLB, OBJ/MTL/PNG, PLY, USDZ; round trips through trimesh; scale, origin,
metadata, LODs, atomic writes and the overwrite guard."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import trimesh

try:  # tests/ is a package in some checkouts, a plain folder in others
    from tests.helpers_gltf import assert_gltf_valid
except ImportError:  # pragma: no cover
    from helpers_gltf import assert_gltf_valid

from gen3d.atomic import OutputExistsError, OutputFolderError, atomic_write_bytes
from gen3d.export import ExportFormatError, export, output_paths
from gen3d.export.cloud import save_cloud_ply
from gen3d.export.glb import glb_bytes, write_glb
from gen3d.pointcloud import PointCloud
from gen3d.pointcloud.io import load_cloud
from gen3d.texture.asset import mesh_and_texture

RED, BLUE = np.array([0.85, 0.1, 0.1]), np.array([0.1, 0.2, 0.85])


def two_tone_box_cloud(n: int = 2048, seed: int = 0) -> PointCloud:
    """Points on a 0.8 x 0.5 x 0.6 box: red on top (y > 0), blue below."""
    mesh = trimesh.creation.box((0.8, 0.5, 0.6))
    pts, _ = trimesh.sample.sample_surface(mesh, n, seed=seed)
    rgb = np.where(pts[:, 1:2] > 0, RED, BLUE)
    return PointCloud(pts, rgb)


def box_sdf(p: np.ndarray) -> np.ndarray:
    """Exact SDF of the 0.8 x 0.5 x 0.6 box the cloud is sampled from (an SDF mesher stand-in)."""
    q = np.abs(p) - np.array([0.4, 0.25, 0.3], dtype=np.float32)
    return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(axis=1), 0)


@pytest.fixture(scope="module")
def asset():
    # an SDF mesher through the coarse-to-fine grid: deterministic geometry, so these tests are about
    # the exporters (the meshers have their own tests)
    return mesh_and_texture(
        two_tone_box_cloud(), mesher=box_sdf, resolution=64, texture_size=256, size_m=2.0, lods=2,
        material_hint="plastic", metadata={"prompt": "a red and blue box", "seed": 7},
    )


def _glb_json(path) -> dict:
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2 and length == len(data)
    jlen, jtype = struct.unpack_from("<I4s", data, 12)
    assert jtype == b"JSON"
    return json.loads(data[20 : 20 + jlen])


def test_scale_and_origin(asset) -> None:
    lo, hi = asset.vertices.min(axis=0), asset.vertices.max(axis=0)
    assert (hi - lo).max() == pytest.approx(2.0, rel=1e-5)
    assert lo[1] == pytest.approx(0.0, abs=1e-6)  # bottom at y = 0
    np.testing.assert_allclose([(lo[0] + hi[0]) / 2, (lo[2] + hi[2]) / 2], 0.0, atol=1e-5)
    # proportions of the 0.8 x 0.5 x 0.6 box are kept (within the mesher's error)
    np.testing.assert_allclose((hi - lo) / (hi - lo).max(), [1.0, 0.625, 0.75], atol=0.01)


def test_glb_is_validator_clean_and_round_trips(asset, tmp_path) -> None:
    paths = export(asset, tmp_path / "box.glb")
    assert [p.name for p in paths] == ["box.glb", "box_LOD1.glb", "box_LOD2.glb"]
    report = assert_gltf_valid(*paths)
    assert all(f["infos"] == 0 for f in report["files"])
    gltf = _glb_json(paths[0])
    assert len(gltf["nodes"]) == 1 and len(gltf["meshes"]) == 1 and len(gltf["materials"]) == 1
    assert gltf["asset"]["generator"].startswith("gen3d")
    extras = gltf["asset"]["extras"]
    assert extras["prompt"] == "a red and blue box" and extras["seed"] == 7
    assert extras["parameters"]["mesher"] == "box_sdf" and "gen3d_version" in extras
    pbr = gltf["materials"][0]["pbrMetallicRoughness"]
    assert pbr["baseColorTexture"]["index"] == 0
    assert pbr["metallicFactor"] == 0.0 and pbr["roughnessFactor"] == pytest.approx(0.45)
    scene = trimesh.load(paths[0])
    (mesh,) = scene.geometry.values()
    assert len(mesh.faces) == len(asset.faces)
    np.testing.assert_allclose(mesh.bounds, [asset.vertices.min(0), asset.vertices.max(0)], atol=1e-5)
    # texture sampled at the vertices' UVs by trimesh's own loader: red on top, blue at the bottom
    colours = mesh.visual.to_color().vertex_colors[:, :3].astype(float) / 255
    top = mesh.vertices[:, 1] > mesh.bounds[1, 1] * 0.8
    bottom = mesh.vertices[:, 1] < mesh.bounds[1, 1] * 0.2
    assert np.abs(colours[top].mean(0) - RED).max() < 0.08
    assert np.abs(colours[bottom].mean(0) - BLUE).max() < 0.08


def test_lods_are_coarser(asset, tmp_path) -> None:
    faces = [len(asset.faces)] + [len(lod.faces) for lod in asset.lods]
    assert faces[0] > faces[1] > faces[2]
    assert faces[1] <= faces[0] // 2 and faces[2] <= faces[0] // 4 + 1
    assert asset.lods[0].texture.shape[0] == 128 and asset.lods[1].texture.shape[0] == 64
    np.testing.assert_allclose(asset.lods[1].vertices.min(0)[1], 0.0, atol=0.02)


def test_color_0_variant_is_valid(asset, tmp_path) -> None:
    path = write_glb(asset, tmp_path / "c.glb", vertex_color_attribute="COLOR_0")
    assert_gltf_valid(path)
    assert "COLOR_0" in _glb_json(path)["meshes"][0]["primitives"][0]["attributes"]


def test_obj_set_unique_names_and_round_trip(asset, tmp_path) -> None:
    a = export(asset, tmp_path / "a.obj", lods=0)
    b = export(asset, tmp_path / "b.obj", lods=0)
    assert [p.name for p in a] == ["a.obj", "a.mtl", "a_basecolor.png"]
    assert not set(a) & set(b)
    assert "newmtl a_material" in (tmp_path / "a.mtl").read_text()
    assert "map_Kd a_basecolor.png" in (tmp_path / "a.mtl").read_text()
    mesh = trimesh.load(tmp_path / "a.obj", process=False)
    assert len(mesh.faces) == len(asset.faces)
    assert mesh.visual.kind == "texture" and mesh.visual.material.image.size == (256, 256)
    np.testing.assert_allclose(mesh.bounds, [asset.vertices.min(0), asset.vertices.max(0)], atol=1e-5)
    # welded positions: the OBJ surface is closed even though the UV seams split the vertices
    welded = trimesh.Trimesh(mesh.vertices, mesh.faces, process=True)
    assert welded.is_watertight


def test_ply_round_trip_with_vertex_colours(asset, tmp_path) -> None:
    (path,) = export(asset, tmp_path / "m.ply", lods=0)
    mesh = trimesh.load(path, process=False)
    assert len(mesh.faces) == len(asset.faces) and mesh.is_watertight
    cols = mesh.visual.vertex_colors[:, :3] / 255.0
    top = mesh.vertices[:, 1] > mesh.bounds[1, 1] * 0.8
    assert np.abs(cols[top].mean(0) - RED).max() < 0.08
    assert mesh.volume > 0


def test_raw_cloud_ply_round_trip(tmp_path) -> None:
    cloud = two_tone_box_cloud(500)
    save_cloud_ply(cloud, tmp_path / "c.ply")
    back = load_cloud(tmp_path / "c.ply")
    np.testing.assert_allclose(back.xyz, cloud.xyz, atol=1e-6)
    np.testing.assert_allclose(back.rgb, cloud.rgb, atol=1 / 255)


def test_usdz(asset, tmp_path) -> None:
    pytest.importorskip("pxr", reason="usd-core not installed")
    from pxr import Usd, UsdGeom

    (path,) = export(asset, tmp_path / "m.usdz", lods=0)
    stage = Usd.Stage.Open(str(path))
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    meshes = [p for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)]
    assert len(meshes) == 1
    pts = np.asarray(UsdGeom.Mesh(meshes[0]).GetPointsAttr().Get())
    assert len(pts) == len(asset.vertices)
    shaders = {p.GetAttribute("info:id").Get() for p in stage.Traverse() if p.HasAttribute("info:id")}
    assert {"UsdPreviewSurface", "UsdUVTexture", "UsdPrimvarReader_float2"} <= shaders
    try:  # usd-core's own validators (schema types, material bindings, usdz packaging), when present
        from pxr import UsdValidation
    except ImportError:  # pragma: no cover - older usd-core
        return
    registry = UsdValidation.ValidationRegistry()
    errors = UsdValidation.ValidationContext(registry.GetOrLoadAllValidators()).Validate(stage)
    assert not errors, [(e.GetName(), e.GetMessage()) for e in errors]


def test_usdz_missing_dependency_message(asset, tmp_path, monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "pxr" or name.startswith("pxr."):
            raise ImportError("no pxr")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ValueError, match="pip install"):
        export(asset, tmp_path / "m.usdz")
    assert not (tmp_path / "m.usdz").exists()


def test_overwrite_guard_and_force(asset, tmp_path) -> None:
    path = tmp_path / "x.glb"
    export(asset, path, lods=0)
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="--force"):
        export(asset, path, lods=0)
    # the OBJ set is checked as a whole before anything is written
    (tmp_path / "y_basecolor.png").write_bytes(b"keep")
    with pytest.raises(OutputExistsError, match="y_basecolor.png"):
        export(asset, tmp_path / "y.obj", lods=0)
    assert not (tmp_path / "y.obj").exists() and (tmp_path / "y_basecolor.png").read_bytes() == b"keep"
    export(asset, path, lods=0, force=True, metadata={"prompt": "changed"})
    assert path.read_bytes() != before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_unwritable_folder_and_bad_format(asset, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputFolderError, match="writable"):
        export(asset, blocker / "out.glb")
    with pytest.raises(ExportFormatError, match=r"\.glb"):
        export(asset, tmp_path / "out.stl")
    with pytest.raises(ExportFormatError, match="LODs"):
        export(asset, tmp_path / "z.glb", lods=5)
    assert output_paths(tmp_path / "q.obj", lods=1)[-1].name == "q_LOD1_basecolor.png"


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch) -> None:
    import os

    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new", force=True)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_glb_uint32_indices_for_large_meshes(tmp_path) -> None:
    from gen3d.texture.asset import TexturedMesh

    grid = trimesh.creation.icosphere(subdivisions=7)  # 163842 vertices > 65535
    n = len(grid.vertices)
    big = TexturedMesh(
        vertices=grid.vertices, faces=grid.faces, uvs=np.full((n, 2), 0.5), normals=grid.vertex_normals,
        texture=np.full((4, 4, 3), 128, np.uint8), vertex_colors=np.full((n, 3), 0.5),
    )
    path = tmp_path / "big.glb"
    path.write_bytes(glb_bytes(big))
    assert _glb_json(path)["accessors"][-1]["componentType"] == 5125
    assert_gltf_valid(path)
