"""`gen3d make` as a user runs it: a real subprocess, real files, one-line errors."""

import json
import os
import subprocess
import sys

import pytest

GEN3D = [sys.executable, "-m", "gen3d"]


def run(args, cwd, **kw):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(GEN3D + args, cwd=cwd, capture_output=True, text=True, env=env, timeout=300, **kw)


@pytest.fixture(scope="module")
def made(tiny_model, tmp_path_factory):
    d = tmp_path_factory.mktemp("make")
    r = run(["make", "a red chair", "--model", str(tiny_model), "--seed", "5", "--mesher", "poisson",
             "--texture-size", "128", "--json"], d)
    assert r.returncode == 0, r.stderr
    return d, json.loads(r.stdout)


def test_make_writes_a_glb_named_after_the_prompt(made):
    d, summary = made
    assert summary["files"] == ["a_red_chair.glb"] and summary["seeds"] == [5]
    assert (d / "a_red_chair.glb").read_bytes()[:4] == b"glTF"


def test_same_seed_same_bytes_across_processes(made, tiny_model):
    d, _ = made
    (d / "again").mkdir()
    r = run(["make", "a red chair", "--model", str(tiny_model), "--seed", "5", "--mesher", "poisson",
             "--texture-size", "128", "-o", "again/a_red_chair.glb", "--quiet"], d)
    assert r.returncode == 0, r.stderr
    assert (d / "again" / "a_red_chair.glb").read_bytes() == (d / "a_red_chair.glb").read_bytes()


def test_existing_output_is_kept_without_force(made, tiny_model):
    d, _ = made
    before = (d / "a_red_chair.glb").read_bytes()
    r = run(["make", "a red chair", "--model", str(tiny_model), "--seed", "6"], d)
    assert r.returncode == 2
    assert "--force" in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (d / "a_red_chair.glb").read_bytes() == before


def test_variations_and_points_only(tiny_model, tmp_path):
    r = run(["make", "a mug", "--model", str(tiny_model), "--seed", "1", "--variations", "2", "--points-only",
             "-o", "mug.ply"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mug_seed1.ply", "mug_seed2.ply"]
    assert "seed 1, 2" in r.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["make", "   "], "prompt is empty"),
        (["make", "a chair", "--format", "stl"], "unknown --format"),
        (["make", "a chair", "-o", "x.stl"], "cannot write .stl"),
        (["make", "a chair", "--model", "nope"], "unknown model"),
        (["make", "a chair", "--device", "tpu"], "unknown device"),
        (["make", "a chair", "--mesh-resolution", "8"], "--mesh-resolution 8 is out of range"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(args, message, tmp_path, tiny_model):
    if "--model" not in args:
        args = args + ["--model", str(tiny_model)]
    r = run(args, tmp_path)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_mesh_resolution_reaches_the_mesher(tiny_model, tmp_path):
    r = run(["make", "a mug", "--model", str(tiny_model), "--seed", "3", "--mesher", "shell", "--texture-size", "64",
             "--mesh-resolution", "48", "-o", "mug.glb", "--quiet"], tmp_path)
    assert r.returncode == 0, r.stderr
    data = (tmp_path / "mug.glb").read_bytes()
    gltf = json.loads(data[20 : 20 + int.from_bytes(data[12:16], "little")])
    assert gltf["asset"]["extras"]["parameters"]["resolution"] == 48


def test_missing_output_folders_are_created(tiny_model, tmp_path):
    r = run(["make", "a chair", "--model", str(tiny_model), "-o", "new/dir/x.ply", "--points-only", "--seed", "2"],
            tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "new" / "dir" / "x.ply").is_file()


def test_unwritable_output_location(tiny_model, tmp_path):
    """A location nobody can write to, root included: a path below a regular file."""
    (tmp_path / "afile").write_text("x")
    r = run(["make", "a chair", "--model", str(tiny_model), "-o", "afile/x.glb"], tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "afile" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (tmp_path / "afile").read_text() == "x"


def test_bundled_model_is_the_default_and_verified(tmp_path):
    """`gen3d make` with no --model uses the bundled gen3d-small, offline, sha256-checked."""
    r = run(["make", "a red chair", "--seed", "1", "--texture-size", "128", "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["model"] == "gen3d-small" and summary["files"] == ["a_red_chair.glb"]
    assert (tmp_path / "a_red_chair.glb").read_bytes()[:4] == b"glTF"
    v = run(["models", "verify", "gen3d-small"], tmp_path)
    assert v.returncode == 0 and "ok" in v.stdout
