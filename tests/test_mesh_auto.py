"""``--mesher auto`` (chosen from the cloud's density, noise and normals), clouds with normals, the normal
consistency metric and the real-mesh benchmark script (scripts/bench_recon.py)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import trimesh
from typer.testing import CliRunner

from gen3d.cli import app
from gen3d.eval.recon import normal_consistency, sample_surface
from gen3d.export.cloud import save_cloud_ply
from gen3d.mesh.auto import choose_mesher, noise_score, noise_threshold
from gen3d.mesh.cleanup import signed_volume
from gen3d.mesh.reconstruct import reconstruct
from gen3d.mesh.surface import surface_from_cloud
from gen3d.pointcloud import CloudError, PointCloud
from gen3d.pointcloud.io import load_cloud
from tests.conftest import REPO

needs_open3d = pytest.mark.skipif(importlib.util.find_spec("open3d") is None, reason="ball/poisson need open3d")
SPHERE = trimesh.creation.icosphere(4, radius=0.4)
BOX = trimesh.creation.box((0.8, 0.5, 0.6))


def cloud_of(mesh: trimesh.Trimesh, n: int, sigma: float = 0.0, normals: bool = False, seed: int = 0) -> PointCloud:
    pts, tri = sample_surface(mesh.vertices, mesh.faces, n, seed=seed, return_faces=True)
    if sigma:
        pts = pts + np.random.default_rng(seed).normal(0.0, sigma, pts.shape)
    return PointCloud(pts, np.full((n, 3), 0.6), mesh.face_normals[tri] if normals else None)


def test_noise_score_separates_clean_from_noisy_clouds() -> None:
    for mesh in (SPHERE, BOX):
        diag = float(np.linalg.norm(mesh.extents))
        clean, some, more = (noise_score(cloud_of(mesh, 4096, sigma=s * diag).xyz) for s in (0.0, 0.005, 0.01))
        assert clean < 0.005 < some < more and more > noise_threshold(4096), (clean, some, more)
    assert noise_threshold(1024) == pytest.approx(2 * noise_threshold(4096))
    assert noise_threshold(16384) == noise_threshold(4096)


@needs_open3d
def test_auto_chooses_by_density_noise_and_normals() -> None:
    diag = float(np.linalg.norm(BOX.extents))
    name, why = choose_mesher(cloud_of(BOX, 300))
    assert name == "shell" and "sparse" in why and "300" in why
    name, why = choose_mesher(cloud_of(BOX, 4096))
    assert name == "ball" and "clean" in why and "normals" not in why
    name, why = choose_mesher(cloud_of(BOX, 4096, sigma=0.01 * diag))
    assert name == "poisson" and "noisy" in why
    assert "the file's normals" in choose_mesher(cloud_of(BOX, 4096, normals=True))[1]


@needs_open3d
@pytest.mark.parametrize("sigma", [0.0, 0.01])
def test_auto_surface_is_faithful(sigma: float) -> None:
    cloud = cloud_of(SPHERE, 4096, sigma=sigma * 0.8 * np.sqrt(3))
    surf = surface_from_cloud(cloud, "auto", max_faces=4000)
    assert surf.mesher == ("ball" if sigma == 0 else "poisson") and surf.reason
    assert len(surf.faces) <= 4000
    r = np.linalg.norm(surf.to_input_space(surf.vertices), axis=1)
    assert abs(float(np.median(r)) - 0.4) < 0.01  # on the sphere, in the cloud's own frame


@needs_open3d
def test_poisson_uses_the_clouds_own_normals() -> None:
    out = cloud_of(SPHERE, 3000, normals=True)
    inward = PointCloud(out.xyz, out.rgb, -out.normals)
    v_out, f_out = reconstruct(out, "poisson")
    v_in, f_in = reconstruct(inward, "poisson")
    assert signed_volume(v_out, f_out) > 0 > signed_volume(v_in, f_in)  # the given normals decide the inside


def test_clouds_keep_their_normals_through_files(tmp_path) -> None:
    cloud = cloud_of(BOX, 500, normals=True)
    save_cloud_ply(cloud, tmp_path / "binary.ply")
    back = load_cloud(tmp_path / "binary.ply")
    np.testing.assert_allclose(back.normals, cloud.normals, atol=1e-6)
    rows = np.concatenate([cloud.xyz, cloud.normals], axis=1)
    header = ("ply\nformat ascii 1.0\nelement vertex 500\nproperty float x\nproperty float y\nproperty float z\n"
              "property float nx\nproperty float ny\nproperty float nz\nend_header\n")
    (tmp_path / "ascii.ply").write_text(header + "\n".join(" ".join(f"{x:.6f}" for x in r) for r in rows) + "\n")
    np.testing.assert_allclose(load_cloud(tmp_path / "ascii.ply").normals, cloud.normals, atol=1e-5)
    np.savez(tmp_path / "n.npz", xyz=cloud.xyz, normals=cloud.normals * 3.0)  # unnormalised: made unit
    np.testing.assert_allclose(load_cloud(tmp_path / "n.npz").normals, cloud.normals, atol=1e-6)
    assert load_cloud(tmp_path / "ascii.ply").subset(np.arange(10)).normals.shape == (10, 3)
    bad = cloud.normals.copy()
    bad[3] = 0.0
    np.savez(tmp_path / "bad.npz", xyz=cloud.xyz, normals=bad)
    with pytest.raises(CloudError, match="1 normals are zero or not finite"):
        load_cloud(tmp_path / "bad.npz")


@needs_open3d
def test_mesh_command_says_which_mesher_and_why(tmp_path) -> None:
    save_cloud_ply(cloud_of(BOX, 3000, normals=True), tmp_path / "scan.ply")
    res = CliRunner().invoke(app, ["mesh", str(tmp_path / "scan.ply"), "-o", str(tmp_path / "scan.glb"),
                                   "--texture-size", "128", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["mesher"] == "ball" and "clean cloud" in summary["mesher_reason"]
    assert summary["normals_from_file"] is True and summary["points"] == 3000
    res = CliRunner().invoke(app, ["mesh", str(tmp_path / "scan.ply"), "-o", str(tmp_path / "x.glb"),
                                   "--mesher", "nope"])
    assert res.exit_code == 2 and "auto" in res.output and "Traceback" not in res.output


def test_normal_consistency() -> None:
    assert normal_consistency(SPHERE.vertices, SPHERE.faces, SPHERE.vertices, SPHERE.faces) > 0.999
    flipped = SPHERE.faces[:, ::-1]  # unsigned: winding does not matter
    assert normal_consistency(SPHERE.vertices, flipped, SPHERE.vertices, SPHERE.faces) > 0.999
    assert normal_consistency(BOX.vertices, BOX.faces, SPHERE.vertices, SPHERE.faces) < 0.9


@pytest.mark.skipif(importlib.util.find_spec("pybullet_data") is None, reason="pip install pybullet (its meshes)")
@needs_open3d
def test_bench_recon_runs_on_real_meshes(tmp_path) -> None:
    spec = json.loads((REPO / "assets" / "eval" / "recon_meshes.json").read_text())
    splits = [m["split"] for m in spec["meshes"]]
    assert len(splits) >= 30 and splits.count("heldout") == len(splits) // 2
    out = subprocess.run(
        [sys.executable, "scripts/bench_recon.py", "--limit", "2", "--points", "1024", "--noise", "clean,outliers",
         "--meshers", "auto,anchor-poisson", "--samples", "1000", "--json", str(tmp_path / "r.json"),
         "--worst", str(tmp_path / "worst.png"), "--stages"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| 1024 | clean | auto |" in out.stdout and "| 4096 | outliers | anchor-poisson |" in out.stdout
    rows = json.loads((tmp_path / "r.json").read_text())["rows"]
    assert len(rows) == 2 * 2 * 2 and all(0.0 <= r["f1"] <= 1.0 for r in rows)
    assert all(r["used"] in ("shell", "ball", "poisson") for r in rows if r["mesher"] == "auto")
    assert (tmp_path / "worst.png").stat().st_size > 1000
