"""Engine presets and flags (gen3d.export.engines, ``--preset``, ``--collision``, ``--normal-map``, ``--format fbx``)
on the cheap tiny model: what a preset sets, explicit flags winning, engine naming, one-line errors, batch.
The real model through real engines is tests/test_engines_e2e.py."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from gen3d.export.engines import PRESETS, PresetError, apply_preset, collision_nodes, get_preset, naming_for

try:  # tests/ is a package in some checkouts, a plain folder in others
    from tests.helpers_gltf import assert_gltf_valid
except ImportError:  # pragma: no cover
    from helpers_gltf import assert_gltf_valid

GEN3D = [sys.executable, "-m", "gen3d"]
CHEAP = ["--mesher", "poisson", "--texture-size", "128", "--max-faces", "400"]


def run(args, cwd, **env):
    return subprocess.run(GEN3D + args, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1", **env))


def gltf(path) -> dict:
    data = path.read_bytes()
    n = struct.unpack_from("<I", data, 12)[0]
    return json.loads(data[20:20 + n])


def test_the_preset_table():
    assert set(PRESETS) == {"unity", "unreal", "godot", "web"}
    for name in ("unity", "unreal", "godot"):
        p = PRESETS[name]
        assert p.lods == 2 and p.collision != "none" and p.normal_map and p.max_faces == 2000
    assert PRESETS["unreal"].units == "cm" and PRESETS["unreal"].up == "Z" and PRESETS["unreal"].format == "fbx"
    assert PRESETS["unity"].units == "m" and PRESETS["unity"].up == "Y" and PRESETS["unity"].format == "fbx"
    assert PRESETS["godot"].format == PRESETS["web"].format == "glb" and PRESETS["web"].collision == "none"
    assert get_preset(None) is None and get_preset("Godot").name == "godot"
    with pytest.raises(PresetError, match="unity, unreal, godot, web"):
        get_preset("cryengine")


def test_explicit_options_override_the_preset():
    out = apply_preset("godot", max_faces=500, texture_size=None, lods=0, collision=None, normal_map=False)
    assert out == {"max_faces": 500, "texture_size": 1024, "lods": 0, "collision": "convex", "normal_map": False}
    assert apply_preset(None, max_faces=None, lods=1) == {"max_faces": None, "lods": 1}


def test_collision_names_follow_each_engine():
    assert [n["name"] for n in collision_nodes("chair", 2, "godot")] == [
        "chair_hull_00-convcolonly", "chair_hull_01-convcolonly"]
    assert [n["name"] for n in collision_nodes("chair", 2, "unreal")] == ["UCX_chair_00", "UCX_chair_01"]
    assert collision_nodes("chair", 1, "unity") == [{"name": "chair_collider", "hull": 0, "parent": None}]
    many = collision_nodes("chair", 2, "unity")
    assert [(n["name"], n["hull"], n["parent"]) for n in many] == [
        ("chair_collider", None, None), ("chair_collider_00", 0, 0), ("chair_collider_01", 1, 0)]
    assert naming_for(None, "glb") == "godot" and naming_for(None, "fbx") == "unreal"
    assert naming_for("unity", "glb") == "unity" and naming_for("web", "fbx") == "unreal"


@pytest.fixture(scope="module")
def godot_made(tiny_model, tmp_path_factory):
    d = tmp_path_factory.mktemp("preset")
    r = run(["make", "a red chair", "--model", str(tiny_model), "--seed", "5", "--preset", "godot", *CHEAP,
             "-o", "chair.glb", "--json"], d)
    assert r.returncode == 0, r.stderr
    return d, json.loads(r.stdout)


def test_make_with_a_preset(godot_made):
    d, summary = godot_made
    assert summary["files"] == ["chair.glb", "chair_LOD1.glb", "chair_LOD2.glb"]  # the preset's 2 LODs
    assert_gltf_valid(*(d / f for f in summary["files"]))
    doc = gltf(d / "chair.glb")
    names = [n["name"] for n in doc["nodes"]]
    assert names[0] == "chair" and names[1] == "chair_hull_00-convcolonly"  # the preset's convex hull
    assert doc["materials"][0]["normalTexture"]["index"] == 1  # the preset's normal map
    assert doc["materials"][0]["name"] == "chair_material"
    assert doc["images"][0]["mimeType"] == "image/jpeg"
    params = doc["asset"]["extras"]["parameters"]
    # explicit flags won over the preset's 2000 faces and 1024 texels
    assert params["max_faces"] == 400 and params["texture_size"] == 128
    assert params["collision"] == "convex" and params["normal_map"] is True
    lod = gltf(d / "chair_LOD2.glb")
    assert len(lod["nodes"]) == 1 and "normalTexture" in lod["materials"][0]  # collision only in LOD0
    for f in summary["files"]:  # 128^2 maps fit the preset's 1.5 MB easily: lossless normal maps
        enc = gltf(d / f)["asset"]["extras"]["normal_map_encoding"]
        assert enc == {"grid_step": 1, "lossless": True, "mean_error_deg": 0.0, "preset_budget_bytes": 1_500_000}


def test_the_budget_takes_the_finest_normal_map_grid_that_fits():
    from types import SimpleNamespace

    from gen3d.export.budget import NORMAL_STEPS, SLACK_BYTES, fit_normal_maps
    from gen3d.export.glb import encode_png_small
    from gen3d.texture.normals import normal_map_error, quantize_normal_map

    rng = np.random.default_rng(0)
    items = []
    for size in (128, 64):  # LOD0 and LOD1: bumpy normals (tilts of up to ~25 degrees) on one square chart
        xy = 128 + np.cumsum(rng.integers(-6, 7, (size, size, 2)), axis=1).clip(-55, 55)
        nm = np.concatenate([xy, np.full((size, size, 1), 240)], axis=2).astype(np.uint8)
        items.append(SimpleNamespace(normal_map=nm, uvs=np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float),
                                     faces=np.array([[0, 1, 2], [0, 2, 3]])))

    def size_of(level, png):
        return 1000 + len(png)

    def total(step):  # the files with the smallest PNGs of that step, and the metadata's slack
        return sum(size_of(k, encode_png_small(quantize_normal_map(it.normal_map, step)))
                   for k, it in enumerate(items)) + SLACK_BYTES * len(items)

    lossless = fit_normal_maps(items, size_of, 10**9)
    assert lossless.step == 1 and lossless.fits and lossless.errors_deg == [0.0, 0.0]
    assert [len(p) for p in lossless.pngs] == [len(encode_png_small(it.normal_map)) for it in items]
    for budget in (total(1) - 1, total(2) - 1, total(3) - 1):
        got = fit_normal_maps(items, size_of, budget)
        k = NORMAL_STEPS.index(got.step)
        assert got.fits and got.total_bytes + SLACK_BYTES * len(items) <= budget and k > 0
        assert total(NORMAL_STEPS[k - 1]) > budget  # the finer step does not fit
        assert got.errors_deg[0] == pytest.approx(normal_map_error(items[0].normal_map,
                                                                   quantize_normal_map(items[0].normal_map, got.step)))
        assert 0.0 < got.errors_deg[0] < 2.5
    hopeless = fit_normal_maps(items, size_of, 100)
    assert hopeless.step == NORMAL_STEPS[-1] and not hopeless.fits


def test_flags_turn_preset_features_off(tiny_model, tmp_path):
    r = run(["make", "a red chair", "--model", str(tiny_model), "--seed", "5", "--preset", "godot", *CHEAP,
             "--lods", "0", "--collision", "none", "--no-normal-map", "-o", "plain.glb", "-q"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.glb"]
    doc = gltf(tmp_path / "plain.glb")
    assert len(doc["nodes"]) == 1 and "normalTexture" not in doc["materials"][0]


def test_collision_and_normal_map_without_a_preset(tiny_model, tmp_path):
    r = run(["make", "a red chair", "--model", str(tiny_model), "--seed", "5", *CHEAP, "--collision", "convex",
             "--normal-map", "-o", "c.glb", "-q"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert_gltf_valid(tmp_path / "c.glb")
    doc = gltf(tmp_path / "c.glb")
    assert [n["name"] for n in doc["nodes"]] == ["c", "c_hull_00-convcolonly"]  # GLB: Godot's names
    assert doc["images"][0]["mimeType"] == "image/png" and "TANGENT" in doc["meshes"][0]["primitives"][0]["attributes"]


@pytest.mark.parametrize("args, message", [
    (["--preset", "cryengine"], "unknown --preset"),
    (["--collision", "sphere"], "unknown --collision"),
])
def test_bad_engine_options_are_one_line(tiny_model, tmp_path, args, message):
    r = run(["make", "a chair", "--model", str(tiny_model), *args], tmp_path)
    assert r.returncode == 2 and message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_fbx_without_blender_is_one_line_and_writes_nothing(tiny_model, tmp_path):
    r = run(["make", "a chair", "--model", str(tiny_model), "--preset", "unreal", "-o", "chair.fbx"], tmp_path,
            GEN3D_BLENDER=str(tmp_path / "no-blender-here"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "pip install 'bpy==4.2.*'" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_batch_with_a_preset(tiny_model, tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"prompt": "a red chair", "seed": 5, "mesher": "poisson", "texture_size": 128,
                                   "max_faces": 400}) + "\n"
                       + json.dumps({"prompt": "a mug", "seed": 6, "mesher": "poisson", "texture_size": 128,
                                     "max_faces": 400, "preset": "web"}) + "\n")
    r = run(["batch", str(prompts), "--out", "out", "--model", str(tiny_model), "--preset", "godot", "--lods", "1",
             "--no-thumbnails", "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    files = sorted(p.name for p in out.iterdir() if p.suffix == ".glb")
    # row 0: the batch's godot preset with --lods 1 over its 2; row 1: its own web preset (no LODs), but the
    # batch's explicit --lods 1 still applies
    assert files == ["0000_a_red_chair.glb", "0000_a_red_chair_LOD1.glb", "0001_a_mug.glb", "0001_a_mug_LOD1.glb"]
    assert_gltf_valid(*(out / f for f in files))
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["options"]["preset"] for r in records] == ["godot", "web"]
    assert records[0]["options"]["collision"] == "convex" and records[1]["options"]["collision"] == "none"
    assert [n["name"] for n in gltf(out / "0000_a_red_chair.glb")["nodes"]][1].endswith("-convcolonly")
    assert len(gltf(out / "0001_a_mug.glb")["nodes"]) == 1
    r = run(["batch", str(prompts), "--out", "out", "--model", str(tiny_model), "--preset", "godot", "--lods", "1",
             "--no-thumbnails", "--resume", "--json"], tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["skipped"] == 2  # LOD files are part of a finished job


def test_fbx_is_reproducible_and_named_for_unreal_by_default(tmp_path):
    pytest.importorskip("bpy", reason="FBX export needs bpy 4.2 (pip install 'bpy==4.2.*')")
    from gen3d.export import export
    from gen3d.texture.asset import mesh_and_texture
    from tests.helpers_engines import blender_reimport
    from tests.test_export import box_sdf, two_tone_box_cloud

    asset = mesh_and_texture(two_tone_box_cloud(), mesher=box_sdf, resolution=32, texture_size=64, size_m=2.0,
                             max_faces=300, collision="convex", normal_map=True)
    a = export(asset, tmp_path / "a" / "crate.fbx")[0]
    b = export(asset, tmp_path / "b" / "crate.fbx")[0]
    assert a.read_bytes() == b.read_bytes()  # fixed creation stamp, ids and texture paths
    facts = blender_reimport([a], tmp_path)["crate.fbx"]
    names = {o["name"]: o for o in facts["objects"]}
    assert set(names) == {"crate", "UCX_crate_00"}  # no preset: Unreal's names, the FBX world's convention
    assert names["crate"]["materials"][0]["normal_map"] and abs(max(names["crate"]["dimensions"]) - 2.0) < 0.01
