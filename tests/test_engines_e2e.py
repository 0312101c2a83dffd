"""Every engine preset end to end with the bundled gen3d-small (one ``gen3d batch``, one row per preset): each
output passes the Khronos validator (0 errors, 0 warnings) and its engine's import (Godot 3 for every GLB; Blender
for FBX, GLB and USDZ), each preset's whole download (the 2k-face main file with collision and 1024^2 maps, and its
LOD files) stays within 1.5 MB, and the files are named the engine's way."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import struct
import subprocess
import sys

import pytest

from gen3d.export.engines import PRESETS
from tests.helpers_engines import blender_reimport, godot_import, walk

try:  # tests/ is a package in some checkouts, a plain folder in others
    from tests.helpers_gltf import assert_gltf_valid
except ImportError:  # pragma: no cover
    from helpers_gltf import assert_gltf_valid

HAS_BPY = importlib.util.find_spec("bpy") is not None
HAS_USD = importlib.util.find_spec("pxr") is not None
MAX_GLB_BYTES = 1_500_000
PROMPT, SEED, SIZE_M = "a wooden chair", 3, 0.9
ROWS = {  # job id -> row; FBX (unity, unreal) also as GLB so Godot and the validator see every preset
    "0000_godot": {"preset": "godot"},
    "0001_unity": {"preset": "unity", "format": "glb" + (",fbx" if HAS_BPY else "")},
    "0002_unreal": {"preset": "unreal", "format": "glb" + (",fbx" if HAS_BPY else "")},
    "0003_web": {"preset": "web", "format": "glb" + (",usdz" if HAS_USD else "")},
}


def gltf(path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    n = struct.unpack_from("<I", data, 12)[0]
    return json.loads(data[20:20 + n]), data[20 + n + 8:]


def image_sizes(path) -> list[tuple[int, int]]:
    from PIL import Image

    doc, binary = gltf(path)
    out = []
    for im in doc["images"]:
        view = doc["bufferViews"][im["bufferView"]]
        blob = binary[view.get("byteOffset", 0):view.get("byteOffset", 0) + view["byteLength"]]
        out.append(Image.open(io.BytesIO(blob)).size)
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    d = tmp_path_factory.mktemp("engines")
    prompts = d / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": PROMPT, "seed": SEED, "size": SIZE_M,
                                           "name": jid.split("_", 1)[1], **row}) + "\n" for jid, row in ROWS.items()))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "gen3d", "batch", str(prompts), "--out", str(d / "out"),
                        "--no-thumbnails", "--json"], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return d / "out"


def test_every_glb_is_validator_clean(made):
    glbs = sorted(made.glob("*.glb"))
    assert len(glbs) == 3 * 3 + 1  # three game presets with 2 LODs each, web without
    assert_gltf_valid(*glbs)


@pytest.mark.parametrize("jid", list(ROWS))
def test_preset_outputs(made, jid):
    preset = PRESETS[ROWS[jid]["preset"]]
    doc, _ = gltf(made / f"{jid}.glb")
    prim = doc["meshes"][0]["primitives"][0]
    assert doc["accessors"][prim["indices"]]["count"] // 3 <= preset.max_faces
    assert "TANGENT" in prim["attributes"] and "normalTexture" in doc["materials"][0]
    assert image_sizes(made / f"{jid}.glb") == [(1024, 1024)] * 2  # base colour and normal map
    for level in (1, 2):
        lod = made / f"{jid}_LOD{level}.glb"
        assert lod.is_file() == (level <= preset.lods)
        if lod.is_file():
            assert image_sizes(lod) == [(1024 >> level, 1024 >> level)] * 2
    names = [n["name"] for n in doc["nodes"]][1:]
    hulls = doc["asset"]["extras"]["parameters"].get("collision_hulls", 0)
    if preset.name == "godot":
        assert names == ["0000_godot_hull_00-convcolonly"]
    elif preset.name == "unity":
        assert names == ["0001_unity_collider"]
    elif preset.name == "unreal":
        assert 2 <= hulls <= 16 and names == [f"UCX_0002_unreal_{i:02d}" for i in range(hulls)]
    else:
        assert names == [] and hulls == 0


@pytest.mark.parametrize("jid", list(ROWS))
def test_size_budget(made, jid):
    """LOD0 at 2k faces + 2 LODs + collision + 1024^2 base colour and normal maps: the preset's whole download (the
    main file and its LOD files; GLB, and FBX where bpy wrote one) stays within 1.5 MB, with normal maps as close
    to lossless as that allows (gen3d.export.budget)."""
    preset = PRESETS[ROWS[jid]["preset"]]
    assert preset.max_bytes == MAX_GLB_BYTES
    doc, _ = gltf(made / f"{jid}.glb")
    assert doc["accessors"][doc["meshes"][0]["primitives"][0]["indices"]]["count"] // 3 > 1500  # ~2k faces
    for ext in (".glb", ".fbx"):
        files = [made / f"{jid}{f'_LOD{k}' if k else ''}{ext}" for k in range(preset.lods + 1)]
        if ext == ".fbx" and not files[0].is_file():
            continue
        sizes = {f.name: f.stat().st_size for f in files}
        print(f"{jid}{ext}: {sum(sizes.values()):,} bytes", sizes)
        assert sum(sizes.values()) <= MAX_GLB_BYTES, sizes
    encodings = [gltf(made / f"{jid}{f'_LOD{k}' if k else ''}.glb")[0]["asset"]["extras"]["normal_map_encoding"]
                 for k in range(preset.lods + 1)]
    print(f"{jid} normal maps:", encodings)
    assert len({e["grid_step"] for e in encodings}) == 1  # one choice for the whole download
    assert all(e["mean_error_deg"] < 1.5 and e["lossless"] == (e["grid_step"] == 1) for e in encodings)


def test_godot_imports_every_glb(made, tmp_path):
    glbs = sorted(made.glob("*.glb"))
    scenes, problems = godot_import(glbs, tmp_path)
    assert problems == [], "\n".join(problems)
    assert sorted(scenes) == [p.name for p in glbs] and all(scenes.values())
    for name, root in scenes.items():
        stem = name[:-4]
        meshes = [n for n in walk(root) if n["class"] == "MeshInstance"]
        main = next(n for n in meshes if n["name"] == stem)
        assert main["albedo_texture"] and main["normal_texture"] and main["tangents"]
        bodies = [n for n in walk(root) if n["class"] == "StaticBody"]
        if stem == "0000_godot":  # -convcolonly: a StaticBody with a convex shape, and no visible hull mesh
            assert [b["name"] for b in bodies] == ["0000_godot_hull_00"] and len(meshes) == 1
            shapes = [c for c in bodies[0]["children"] if c["class"] == "CollisionShape"]
            assert shapes and all(s["shape"] == "ConvexPolygonShape" and s["points"] >= 4 for s in shapes)
        else:  # other engines' names mean nothing to Godot; LODs and web carry no collision
            assert bodies == []
        assert abs(max(main["size"]) - SIZE_M) < 0.01 and abs(main["min"][1]) < 0.01  # metres, on the floor


def test_blender_reimports_fbx_glb_and_usdz(made, tmp_path):
    files = [made / "0000_godot.glb", made / "0001_unity.fbx", made / "0002_unreal.fbx", made / "0002_unreal_LOD1.fbx",
             made / "0003_web.usdz"]
    files = [f for f in files if f.is_file()]
    if not HAS_BPY:
        pytest.skip("bpy is not installed: no FBX was written and nothing can re-import")
    facts = blender_reimport(files, tmp_path)
    for f in files:
        got = facts[f.name]
        assert "error" not in got, got.get("error")
        objs = {o["name"]: o for o in got["objects"]}
        main = objs.get(f.stem) or next(o for o in got["objects"] if o["type"] == "MESH")
        assert main["type"] == "MESH" and main["polygons"] > 100
        mats = main["materials"]
        assert mats and mats[0]["base_color_textured"] and mats[0]["images"], mats
        if f.suffix != ".usdz":  # gen3d's USDZ carries the base colour only
            assert mats[0]["normal_map"], mats
        dims = sorted(main["dimensions"])
        assert abs(dims[-1] - SIZE_M) < 0.02, dims  # real size back in Blender (FBX: cm or m, both read right)
    unreal = {o["name"]: o for o in facts["0002_unreal.fbx"]["objects"]}
    ucx = sorted(n for n in unreal if n.startswith("UCX_0002_unreal_"))
    assert len(ucx) >= 2 and all(unreal[n]["type"] == "MESH" and not unreal[n]["materials"] for n in ucx)
    unity = {o["name"]: o for o in facts["0001_unity.fbx"]["objects"]}
    assert unity["0001_unity_collider"]["type"] == "MESH"
    assert "gen3d" in unity["0001_unity"]["props"] and PROMPT in unity["0001_unity"]["props"]["gen3d"]
    lod = {o["name"] for o in facts["0002_unreal_LOD1.fbx"]["objects"]}
    assert not any(n.startswith("UCX_") for n in lod)
    godot = {o["name"] for o in facts["0000_godot.glb"]["objects"]}
    assert "0000_godot_hull_00-convcolonly" in godot


def test_the_godot_check_sees_a_broken_glb(made, tmp_path):
    broken = tmp_path / "broken.glb"
    broken.write_bytes((made / "0003_web.glb").read_bytes()[:4000])
    _, problems = godot_import([broken], tmp_path)
    assert any("ERR_FILE_CORRUPT" in p for p in problems), problems
