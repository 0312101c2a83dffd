"""Classical meshers, cleanup, decimation, cloud loading/validation, the mesh_and_texture stage,
and the reconstruction metrics."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from gen3d.eval.recon import chamfer_distance, evaluate_reconstruction, fscore, is_watertight, sample_surface
from gen3d.mesh.cleanup import (
    MeshError,
    clean_mesh,
    face_components,
    remove_degenerate,
    signed_volume,
    snap_to_points,
)
from gen3d.mesh.decimate import decimate, lod_budgets
from gen3d.mesh.reconstruct import available_meshers, register_sdf_mesher
from gen3d.pointcloud import CloudError, PointCloud
from gen3d.pointcloud.io import load_cloud
from gen3d.pointcloud.ops import check_cloud, normalize_cloud, remove_outliers
from gen3d.texture.asset import mesh_and_texture

needs_open3d = pytest.mark.skipif(
    __import__("importlib").util.find_spec("open3d") is None, reason="poisson/alpha/ball need open3d"
)

BOX = trimesh.creation.box((0.8, 0.5, 0.6))


def box_cloud(n: int, seed: int = 0) -> PointCloud:
    pts, _ = trimesh.sample.sample_surface(BOX, n, seed=seed)
    return PointCloud(pts, np.full((n, 3), 0.5))


TORUS = trimesh.creation.torus(0.3, 0.1, major_sections=96, minor_sections=48)


@pytest.mark.parametrize(
    ("mesher", "shape"),
    [
        pytest.param("poisson", BOX, marks=needs_open3d),
        ("shell", BOX),
        ("shell", TORUS),
        pytest.param("ball", BOX, marks=needs_open3d),
        pytest.param("alpha", TORUS, marks=needs_open3d),
    ],
)
def test_classical_meshers_reconstruct(mesher: str, shape: trimesh.Trimesh) -> None:
    from gen3d.mesh import classical

    pts, _ = trimesh.sample.sample_surface(shape, 4096, seed=0)
    fn = {
        "poisson": classical.poisson_mesh,
        "ball": classical.ball_pivot_mesh,
        "alpha": classical.alpha_mesh,
        "shell": lambda x: classical.shell_mesh(x, resolution=96),
    }
    v, f = clean_mesh(*fn[mesher](pts))
    score = evaluate_reconstruction(v, f, shape.vertices, shape.faces, n_samples=3000)
    assert score.precision > 0.85, score  # the surface it makes lies on the true one
    if mesher in ("poisson", "shell"):  # the reliable ones: closed, outward, complete
        assert score.fscore > (0.85 if mesher == "poisson" else 0.8), score
        assert score.watertight and signed_volume(v, f) > 0, score
    else:  # ball pivoting / alpha shapes leave holes on sparse clouds
        assert score.recall > 0.5, score


def test_shell_mesher_keeps_thin_legs_without_normals() -> None:
    from gen3d.mesh.classical import mean_spacing, shell_mesh

    # a table: 0.8 x 0.04 x 0.6 top and four legs of radius 0.02 (sparse: 1024 points)
    parts = [trimesh.creation.box((0.8, 0.04, 0.6), trimesh.transformations.translation_matrix([0, 0.2, 0]))]
    for x in (-0.35, 0.35):
        for z in (-0.25, 0.25):
            leg = trimesh.creation.cylinder(0.02, 0.4, sections=24)
            leg.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
            leg.apply_translation([x, -0.02, z])
            parts.append(leg)
    table = trimesh.util.concatenate(parts)
    pts, _ = trimesh.sample.sample_surface(table, 1024, seed=0)
    v, f = clean_mesh(*shell_mesh(pts))
    assert is_watertight(v, f) and signed_volume(v, f) > 0
    for x in (-0.35, 0.35):
        for z in (-0.25, 0.25):
            leg = v[(v[:, 1] < 0.0) & (np.abs(v[:, 0] - x) < 0.06) & (np.abs(v[:, 2] - z) < 0.06)]
            assert len(leg) > 20 and leg[:, 1].min() < -0.18  # every leg reaches (near) the floor
            r = np.hypot(leg[:, 0] - x, leg[:, 2] - z)
            assert 0.01 < np.median(r) < 0.04  # and stays thin
    top = v[(np.abs(v[:, 0]) < 0.3) & (np.abs(v[:, 2]) < 0.2) & (v[:, 1] > 0.2)]
    r = 2.0 * mean_spacing(pts)
    # the table top lies on the points (y = 0.22), not on the dilated shell (0.22 + r)
    assert abs(np.median(top[:, 1]) - 0.22) < 0.25 * r, (np.median(top[:, 1]), r)


@needs_open3d
def test_normals_point_outward() -> None:
    from gen3d.mesh.classical import estimate_normals

    pts = box_cloud(2048).xyz
    n = estimate_normals(pts)
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-6)
    # on a box centred at the origin an outward normal has a positive dot with the position
    assert (np.einsum("ij,ij->i", n, pts) > 0).mean() > 0.97


def test_winding_is_checked_before_trimesh_repairs_it() -> None:
    import subprocess
    import sys

    from gen3d.mesh.cleanup import consistently_wound, fix_winding

    box = trimesh.creation.box()
    v, f = np.asarray(box.vertices), np.asarray(box.faces)
    assert consistently_wound(f)
    bad = f.copy()
    bad[[0, 5]] = bad[[0, 5], ::-1]  # two faces flipped
    assert not consistently_wound(bad)
    fv, ff = fix_winding(v, bad)
    assert consistently_wound(ff) and signed_volume(fv, ff) > 0 and trimesh.Trimesh(fv, ff).is_winding_consistent
    inside_out = f[:, ::-1]
    assert consistently_wound(inside_out)  # consistent, but facing in: turned outward without trimesh's pass
    fv, ff = fix_winding(v, inside_out)
    assert np.array_equal(ff, f) and signed_volume(fv, ff) > 0
    # a cold `gen3d make` (an SDF mesher: the learned decoder by default) never imports trimesh (and networkx
    # with it: ~0.5 s): marching cubes output is consistently wound, and the rest of the mesh stage and the GLB
    # export need nothing from it (`shell` does: its Taubin smoothing is trimesh's)
    code = ("import sys, tempfile, pathlib, numpy as np; from gen3d.pointcloud import PointCloud; "
            "from gen3d.texture.asset import mesh_and_texture; from gen3d.export import export; "
            "p = np.random.default_rng(0).normal(size=(300, 3)); p = 0.4 * p / np.linalg.norm(p, axis=1)[:, None]; "
            "ball = lambda q: np.linalg.norm(q, axis=1) - 0.4; "
            "a = mesh_and_texture(PointCloud(p, np.full_like(p, 0.5)), mesher=ball, texture_size=64); "
            "export(a, pathlib.Path(tempfile.mkdtemp()) / 'a.glb', lods=0); print('trimesh' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_cleanup_drops_floaters_and_degenerates() -> None:
    main = trimesh.creation.icosphere(subdivisions=3, radius=0.4)
    floater = trimesh.creation.icosphere(subdivisions=1, radius=0.01)
    floater.apply_translation([0.6, 0, 0])
    v = np.concatenate([main.vertices, floater.vertices])
    f = np.concatenate([main.faces, floater.faces + len(main.vertices)])
    f = np.concatenate([f, [[0, 0, 1], [0, 1, 2]], f[:1]])  # degenerate, then a duplicate face
    v2, f2 = remove_degenerate(v, f)
    assert len(f2) == len(main.faces) + len(floater.faces) + 1
    cv, cf = clean_mesh(v, f[:, ::-1])  # inward winding gets fixed too
    assert len(np.unique(face_components(cf, len(cv)))) == 1
    assert len(cf) == len(main.faces) + 1 or len(cf) == len(main.faces)
    assert signed_volume(cv, cf) > 0


def test_decimation_honours_budget() -> None:
    m = trimesh.creation.icosphere(subdivisions=5)
    for budget in (5000, 1000, 200):
        v, f = decimate(m.vertices, m.faces, budget)
        assert len(f) <= budget and len(f) > 0.8 * budget
    v, f = decimate(m.vertices, m.faces, 10**6)
    assert len(f) == len(m.faces)
    assert lod_budgets(10000, 3) == [5000, 2500, 1250]
    with pytest.raises(MeshError):
        decimate(m.vertices, m.faces, 2)


def test_mesh_and_texture_face_budget_and_size() -> None:
    asset = mesh_and_texture(box_cloud(1024), max_faces=800, texture_size=128, size_m=0.5)
    assert len(asset.faces) <= 800
    assert asset.extent.max() == pytest.approx(0.5, rel=1e-5)
    assert set(asset.timings) >= {"decode", "cleanup", "decimate", "unwrap", "bake", "total"}


def test_user_cloud_is_normalised_for_meshing() -> None:
    c = box_cloud(2048)
    far = PointCloud(c.xyz * 1000 + 5000, c.rgb)  # millimetres, off-centre
    asset = mesh_and_texture(far, texture_size=64, size_m=1.0)
    np.testing.assert_allclose(asset.extent / asset.extent.max(), [1.0, 0.625, 0.75], atol=0.03)
    n, centre, scale = normalize_cloud(far)
    assert np.ptp(n.xyz, axis=0).max() == pytest.approx(1.0, rel=1e-5)


def test_sdf_mesher_callable_and_registry() -> None:
    def sdf(p: np.ndarray) -> np.ndarray:  # a sphere the size of the cloud
        return np.linalg.norm(p, axis=1) - 0.45

    asset = mesh_and_texture(box_cloud(1024), mesher=sdf, resolution=48, texture_size=64)
    assert asset.timings["sdf_queries"] < 48**3 and "marching_cubes" in asset.timings
    register_sdf_mesher("test-sphere", lambda cloud: sdf)
    assert "test-sphere" in available_meshers()
    asset = mesh_and_texture(box_cloud(1024), mesher="test-sphere", resolution=48, texture_size=64)
    assert is_watertight(asset.vertices, asset.faces) is False or len(asset.faces) > 0
    with pytest.raises(ValueError, match="classical"):
        register_sdf_mesher("poisson", lambda cloud: sdf)
    with pytest.raises(MeshError, match="unknown mesher"):
        mesh_and_texture(box_cloud(1024), mesher="nope")


def test_default_grid_follows_the_cloud_size() -> None:
    from gen3d.mesh.reconstruct import default_resolution

    def sdf(p: np.ndarray) -> np.ndarray:
        return np.linalg.norm(p, axis=1) - 0.45

    assert default_resolution(256) == default_resolution(512) == 64 and default_resolution(513) == 128
    runs = {}
    for n, res in ((256, None), (1024, None), (256, 128)):
        asset = mesh_and_texture(box_cloud(n), mesher=sdf, resolution=res, texture_size=64)
        runs[n, res] = (asset.metadata["parameters"]["resolution"], asset.timings["sdf_queries"])
    assert runs[256, None][0] == 64 and runs[1024, None][0] == 128 and runs[256, 128][0] == 128
    assert runs[256, None][1] < runs[1024, None][1] / 3  # the sparse cloud's surface costs a quarter of the queries


@pytest.mark.parametrize(
    ("xyz", "match"),
    [
        (np.zeros((0, 3)), "empty"),
        (np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]]), "only 3 points"),
        (np.zeros((100, 3)), "identical"),
        (np.concatenate([np.random.default_rng(0).random((99, 3)), [[np.nan, 0, 0]]]), "NaN"),
        (np.stack([np.linspace(0, 1, 50)] * 3, axis=1), "line"),
    ],
)
def test_bad_clouds_give_clear_errors(xyz: np.ndarray, match: str) -> None:
    cloud = PointCloud(xyz, np.zeros_like(xyz))
    with pytest.raises(CloudError, match=match):
        check_cloud(cloud)
    with pytest.raises(ValueError, match=match):
        mesh_and_texture(cloud)


def test_bad_parameters() -> None:
    c = box_cloud(256)
    with pytest.raises(MeshError, match="texture-size"):
        mesh_and_texture(c, texture_size=8)
    with pytest.raises(MeshError, match="max-faces"):
        mesh_and_texture(c, max_faces=10)
    with pytest.raises(MeshError, match="size"):
        mesh_and_texture(c, size_m=-1)
    with pytest.raises(MeshError, match="--mesh-resolution 8 is out of range"):
        mesh_and_texture(c, resolution=8)


def test_load_cloud_formats(tmp_path) -> None:
    rng = np.random.default_rng(0)
    xyz = rng.random((50, 3)).astype(np.float32)
    rgb8 = rng.integers(0, 256, (50, 3))
    np.savetxt(tmp_path / "a.xyz", np.concatenate([xyz, rgb8], 1), fmt="%.6f")
    np.savetxt(tmp_path / "b.txt", xyz, fmt="%.6f", header="x y z")
    np.savetxt(tmp_path / "c.csv", np.concatenate([xyz, rgb8 / 255], 1), fmt="%.6f", delimiter=",")
    np.savez(tmp_path / "d.npz", coords=xyz, R=rgb8[:, 0], G=rgb8[:, 1], B=rgb8[:, 2])  # Point-E layout
    np.savez(tmp_path / "e.npz", xyz=xyz, rgb=rgb8 / 255.0)
    for name, has_rgb in (("a.xyz", True), ("b.txt", False), ("c.csv", True), ("d.npz", True), ("e.npz", True)):
        c = load_cloud(tmp_path / name)
        np.testing.assert_allclose(c.xyz, xyz, atol=1e-5)
        if has_rgb:
            np.testing.assert_allclose(c.rgb, rgb8 / 255.0, atol=1e-5)
        else:
            assert np.allclose(c.rgb, 0.7)
    (tmp_path / "bad.txt").write_text("1 2 3\n4 five 6\n")
    with pytest.raises(CloudError, match="bad.txt:2"):
        load_cloud(tmp_path / "bad.txt")
    with pytest.raises(CloudError, match="does not exist"):
        load_cloud(tmp_path / "missing.ply")
    (tmp_path / "x.stl").write_text("solid")
    with pytest.raises(CloudError, match="unsupported"):
        load_cloud(tmp_path / "x.stl")
    np.savez(tmp_path / "f.npz", foo=xyz)
    with pytest.raises(CloudError, match="'xyz'"):
        load_cloud(tmp_path / "f.npz")


def test_outliers_are_dropped_before_meshing() -> None:
    clean = box_cloud(2048)
    assert remove_outliers(clean)[1] == 0  # an even cloud loses nothing
    rng = np.random.default_rng(0)
    far = np.array([[0.0, 0.0, 0.0], [0.1, 0.05, -0.1], [-0.2, 0.1, 0.05]])  # inside the box, far from its faces
    noisy = PointCloud(np.concatenate([clean.xyz, far]), np.concatenate([clean.rgb, rng.random((3, 3))]))
    kept, removed = remove_outliers(noisy)
    assert removed == 3 and len(kept) == 2048
    asset = mesh_and_texture(noisy, texture_size=64, max_faces=2000)
    assert asset.metadata["parameters"]["outliers_removed"] == 3
    assert len(asset.faces) <= 2000


def test_recon_metrics() -> None:
    a = np.random.default_rng(0).random((500, 3))
    assert chamfer_distance(a, a) == 0.0
    assert fscore(a, a, 1e-9)[0] == 1.0
    shifted = a + [0.05, 0, 0]
    assert chamfer_distance(a, shifted) <= 0.1 + 1e-9
    assert fscore(a, a + [1.0, 0, 0], 0.01)[0] == 0.0
    s = sample_surface(BOX.vertices, BOX.faces, 2000)
    assert np.abs(np.abs(s) - [0.4, 0.25, 0.3]).min(axis=1).max() < 1e-9  # on the box surface
    score = evaluate_reconstruction(BOX.vertices, BOX.faces, BOX.vertices, BOX.faces, n_samples=4000)
    assert score.fscore > 0.95 and score.watertight
    assert not is_watertight(BOX.vertices, BOX.faces[:-1])


def test_snap_to_points_moves_a_shrunken_surface_onto_the_cloud() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=0.28)
    rng = np.random.default_rng(0)
    d = rng.normal(size=(2000, 3))
    cloud = 0.3 * d / np.linalg.norm(d, axis=1, keepdims=True)
    v = snap_to_points(sphere.vertices, sphere.faces, cloud)
    r = np.linalg.norm(v, axis=1)
    assert abs(r.mean() - 0.3) < 0.002 and r.std() < 0.003  # onto the points, and smooth
    # jittered points: the surface follows their mean, not each point
    noisy = cloud + rng.normal(scale=0.004, size=cloud.shape)
    r = np.linalg.norm(snap_to_points(sphere.vertices, sphere.faces, noisy), axis=1)
    assert abs(r.mean() - 0.3) < 0.003 and r.std() < 0.004
    # a part of the mesh far from every point (beyond the reach) does not move
    far = np.vstack([cloud[cloud[:, 1] > 0], [[0.0, 0.3, 0.0]]])
    v = snap_to_points(sphere.vertices, sphere.faces, far)
    low = sphere.vertices[:, 1] < -0.2
    np.testing.assert_allclose(v[low], sphere.vertices[low], atol=1e-6)
    assert abs(np.linalg.norm(v[sphere.vertices[:, 1] > 0.1], axis=1).mean() - 0.3) < 0.002
