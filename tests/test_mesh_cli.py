"""``gen3d mesh``: a coloured cloud file becomes validator-clean GLB + OBJ set + PLY; bad inputs give
one-line errors with exit code 2 and no traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

try:  # tests/ is a package in some checkouts, a plain folder in others
    from tests.helpers_gltf import assert_gltf_valid
except ImportError:  # pragma: no cover
    from helpers_gltf import assert_gltf_valid
from typer.testing import CliRunner

from gen3d.cli import app

runner = CliRunner()


def _write_xyz(path, n: int = 1500) -> None:
    box = trimesh.creation.box((0.8, 0.5, 0.6))
    pts, _ = trimesh.sample.sample_surface(box, n, seed=3)
    rgb = np.where(pts[:, 1:2] > 0, [220, 30, 30], [30, 60, 220])
    np.savetxt(path, np.concatenate([pts * 100 + 7, rgb], axis=1), fmt="%.5f")  # centimetres, off-centre


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_mesh_command_writes_all_formats(tmp_path) -> None:
    cloud = tmp_path / "scan.xyz"
    _write_xyz(cloud)
    out = tmp_path / "out"
    res = _run(
        "mesh", str(cloud), "-o", str(out / "chair.glb"), "-o", str(out / "chair.obj"), "-o", str(out / "chair.ply"),
        "--size", "0.9", "--texture-size", "256", "--max-faces", "3000", "--lods", "1",
        "--cloud-out", str(out / "cloud.ply"), "--json",
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        ["chair.glb", "chair_LOD1.glb", "chair.obj", "chair.mtl", "chair_basecolor.png", "chair_LOD1.obj",
         "chair_LOD1.mtl", "chair_LOD1_basecolor.png", "chair.ply", "chair_LOD1.ply", "cloud.ply"]
    )
    assert summary["faces"] <= 3000 and max(summary["extent_m"]) == pytest.approx(0.9, abs=1e-3)
    assert_gltf_valid(out / "chair.glb", out / "chair_LOD1.glb")
    mesh = trimesh.load(out / "chair.glb", force="mesh")
    assert mesh.bounds[0][1] == pytest.approx(0.0, abs=1e-6)
    # the same cloud again without --force: refused before any work, files untouched
    before = (out / "chair.glb").read_bytes()
    res = _run("mesh", str(cloud), "-o", str(out / "chair.glb"))
    assert res.exit_code == 2 and "already exists" in res.output and "--force" in res.output
    assert (out / "chair.glb").read_bytes() == before


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", "contains no points"),
        ("0 0 0\n1 0 0\n0 1 0\n", "only 3 points"),
        ("0.5 0.5 0.5\n" * 50, "identical"),
        ("".join(f"{i} {i % 7} {i % 3}\n" for i in range(40)) + "nan 0 0\n", "NaN"),
    ],
)
def test_bad_clouds(tmp_path, content: str, match: str) -> None:
    cloud = tmp_path / "bad.xyz"
    cloud.write_text(content)
    res = _run("mesh", str(cloud), "-o", str(tmp_path / "x.glb"))
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and match in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.glb").exists()


def test_bad_options(tmp_path) -> None:
    cloud = tmp_path / "c.xyz"
    _write_xyz(cloud, 300)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = [
        (["-o", str(blocker / "x.glb")], "writable"),
        (["-o", str(tmp_path / "x.stl")], ".glb"),
        (["-o", str(tmp_path / "x.glb"), "--mesher", "magic"], "unknown --mesher"),
        (["-o", str(tmp_path / "x.glb"), "--texture-size", "4"], "texture-size"),
        (["-o", str(tmp_path / "x.glb"), "-o", str(tmp_path / "x.glb")], "same file"),
    ]
    for extra, match in cases:
        res = _run("mesh", str(cloud), *extra)
        assert res.exit_code == 2 and match in res.output, (extra, res.output)
        assert "Traceback" not in res.output
    res = _run("mesh", str(tmp_path / "missing.ply"), "-o", str(tmp_path / "x.glb"))
    assert res.exit_code == 2 and "does not exist" in res.output


def test_mesh_with_the_bundled_learned_decoder(tmp_path) -> None:
    cloud = tmp_path / "scan.xyz"
    _write_xyz(cloud, n=3000)
    res = _run("mesh", str(cloud), "-o", str(tmp_path / "box.glb"), "--mesher", "sdf", "--texture-size", "128",
               "--size", "0.8", "--max-faces", "400000", "--json")  # no decimation: it may open the surface
    assert res.exit_code == 0, res.output
    assert_gltf_valid(tmp_path / "box.glb")
    glb = trimesh.load(tmp_path / "box.glb", force="mesh")
    mesh = trimesh.Trimesh(glb.vertices, glb.faces)  # merged again across the UV seams
    # the box (0.8 x 0.5 x 0.6) comes back at its proportions, closed, as one solid
    np.testing.assert_allclose(mesh.extents, [0.8, 0.5, 0.6], atol=0.03)
    assert mesh.is_watertight and mesh.volume == pytest.approx(0.8 * 0.5 * 0.6, rel=0.1)
