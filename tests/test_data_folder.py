"""Users' mesh folders: every supported format, colours from textures / vertex / face colours,
normalisation, captions files, and skipped meshes reported without aborting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from gen3d.data.folder import caption_from_name, load_folder, read_captions
from gen3d.data.sampling import contains, sample_sdf, sample_surface
from gen3d.data.shape import FIT_EXTENT


def _solid_texture(mesh: trimesh.Trimesh, rgb: tuple[int, int, int], pbr: bool) -> trimesh.Trimesh:
    uv = np.random.default_rng(0).random((len(mesh.vertices), 2))
    img = Image.new("RGB", (8, 8), rgb)
    if pbr:
        mat = trimesh.visual.material.PBRMaterial(baseColorTexture=img, baseColorFactor=[255, 255, 255, 255])
        mesh.visual = trimesh.visual.TextureVisuals(uv=uv, material=mat)
    else:
        mesh.visual = trimesh.visual.TextureVisuals(uv=uv, image=img)
    return mesh


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("meshes")
    box = trimesh.creation.box((1.0, 2.0, 0.5))
    box.visual.vertex_colors = np.tile([255, 0, 0, 255], (len(box.vertices), 1))
    box.export(d / "red_box.ply")
    trimesh.creation.icosphere(subdivisions=2, radius=3.0).export(d / "ball.stl")
    _solid_texture(trimesh.creation.box(), (0, 0, 255), pbr=False).export(d / "blue_crate.obj")
    _solid_texture(trimesh.creation.cylinder(0.3, 1.0), (0, 255, 0), pbr=True).export(d / "green.glb")
    (d / "gltf").mkdir()
    _solid_texture(trimesh.creation.cone(0.5, 1.0), (255, 255, 0), pbr=True).export(d / "gltf" / "yellow.gltf")
    faced = trimesh.creation.box()
    faced.visual.face_colors = np.tile([255, 128, 0, 255], (len(faced.faces), 1))
    scene = trimesh.Scene()  # two overlapping parts in one file
    scene.add_geometry(faced, node_name="a")
    other = trimesh.creation.box()
    other.visual.face_colors = np.tile([255, 255, 255, 255], (len(other.faces), 1))
    scene.add_geometry(other, node_name="b", transform=trimesh.transformations.translation_matrix([0.5, 0, 0]))
    scene.export(d / "two_boxes.glb")
    open_box = trimesh.creation.box()
    trimesh.Trimesh(open_box.vertices, open_box.faces[:-2]).export(d / "open.stl")
    (d / "broken.obj").write_text("v 1 2\nf 1 2 3 x\n")
    (d / "notes.txt").write_text("not a mesh")
    (d / "captions.csv").write_text(
        'file,caption\nred_box.ply,a tall red box\nred_box.ply,"a red block, standing"\n'
        "gltf/yellow.gltf,a yellow cone\nmissing.obj,a ghost\n"
    )
    return d


def test_every_format_loads_with_its_colours(folder):
    shapes, report = load_folder(folder)
    by_file = {s.params["file"]: s for s in shapes}
    assert sorted(by_file) == ["ball.stl", "blue_crate.obj", "green.glb", "red_box.ply", "two_boxes.glb", "yellow.gltf"]
    expected = {
        "red_box.ply": (1, 0, 0),
        "blue_crate.obj": (0, 0, 1),
        "green.glb": (0, 1, 0),
        "yellow.gltf": (1, 1, 0),
        "ball.stl": (0.7, 0.7, 0.7),
    }
    for name, rgb in expected.items():
        pc = sample_surface(by_file[name], 256, 0)
        assert np.allclose(pc.rgb, rgb, atol=0.01), (name, pc.rgb.mean(0))
    pc = sample_surface(by_file["two_boxes.glb"], 512, 0)
    orange = np.all(np.abs(pc.rgb - [1, 128 / 255, 0]) < 0.01, axis=1)
    white = np.all(pc.rgb > 0.99, axis=1)
    assert orange.sum() > 50 and white.sum() > 50 and (orange | white).all()


def test_normalised_to_the_convention(folder):
    shapes, _ = load_folder(folder)
    for s in shapes:
        lo = np.min([p.vertices.min(0) for p in s.parts], 0)
        hi = np.max([p.vertices.max(0) for p in s.parts], 0)
        assert np.allclose((lo + hi) / 2, 0, atol=1e-6) and abs((hi - lo).max() - FIT_EXTENT) < 1e-6
    box = next(s for s in shapes if s.params["file"] == "red_box.ply")
    assert np.allclose(box.size_m, (1.0, 2.0, 0.5))  # Y up is kept: the tall side stays vertical
    assert np.isclose(np.ptp(np.concatenate([p.vertices for p in box.parts])[:, 1]), FIT_EXTENT)


def test_z_up_meshes_are_turned_y_up(folder):
    shapes, _ = load_folder(folder, up="z")
    box = next(s for s in shapes if s.params["file"] == "red_box.ply")
    assert np.allclose(box.size_m, (1.0, 0.5, 2.0))


def test_bad_meshes_are_reported_and_skipped(folder):
    _, report = load_folder(folder)
    skipped = dict(report.skipped)
    assert set(skipped) == {"open.stl", "broken.obj"}
    assert "not closed" in skipped["open.stl"] and "cannot read" in skipped["broken.obj"]
    assert report.captions_without_file == ["missing.obj"]
    text = report.summary()
    assert "6 meshes loaded, 2 skipped" in text and "open.stl" in text


def test_captions_csv_and_jsonl(folder, tmp_path):
    shapes, report = load_folder(folder)
    by_file = {s.params["file"]: s for s in shapes}
    assert by_file["red_box.ply"].captions == ["a tall red box", "a red block, standing"]
    assert by_file["yellow.gltf"].captions == ["a yellow cone"]
    assert by_file["blue_crate.obj"].captions == ["blue crate"] and "blue_crate.obj" in report.uncaptioned
    jl = tmp_path / "caps.jsonl"
    jl.write_text(
        json.dumps({"file": "ball.stl", "caption": "a big ball"})
        + "\n"
        + json.dumps({"file": "green.glb", "captions": ["a green tube", "a cylinder"]})
        + "\n"
    )
    assert read_captions(jl) == {"ball.stl": ["a big ball"], "green.glb": ["a green tube", "a cylinder"]}
    shapes, _ = load_folder(folder, captions=jl)
    assert {s.params["file"]: s.captions for s in shapes}["green.glb"] == ["a green tube", "a cylinder"]
    assert caption_from_name("old_wooden-chair_03.glb") == "old wooden chair"


def test_sdf_of_user_meshes_matches_trimesh(folder):
    shapes, _ = load_folder(folder)
    two = next(s for s in shapes if s.params["file"] == "two_boxes.glb")
    q, occ = sample_sdf(two, 300, 300, 0)
    ref = np.zeros(len(q), dtype=bool)
    for p in two.parts:
        ref |= p.mesh.contains(q.astype(np.float64))
    assert (ref == (occ > 0.5)).mean() > 0.998
    assert contains(two.parts, np.zeros((1, 3))).all()


def test_folder_dataset_items(folder):
    from gen3d.data.datasets import FolderDataset

    ds = FolderDataset(folder, kind="sdf", points=128, queries=64, min_length=20)
    assert len(ds) == 20 and len(ds.report.skipped) == 2
    item = ds[0]
    assert item["points"].shape == (6, 128) and item["queries"].shape == (3, 64) and item["category"] == -1
    assert item["caption"] in ds.shapes[0].captions
    empty = folder.parent / "empty_meshes"
    empty.mkdir(exist_ok=True)
    with pytest.raises(ValueError, match="no usable meshes"):
        FolderDataset(empty)
