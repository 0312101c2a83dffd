"""The CPU-sized SDF decoder options: Fourier positions and local nearest-point features."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh
from scipy.spatial import cKDTree

from gen3d.mesh.decoder import sdf_function
from gen3d.mesh.grid import mesh_from_sdf
from gen3d.models.sdf import LOCAL_FEATURES, SDFModel, knn_offsets, knn_offsets_np, local_features
from gen3d.pointcloud import PointCloud
from gen3d.pointcloud.fps import farthest_points, farthest_points_batched

SMALL = dict(width=32, encoder_layers=1, encoder_heads=4, decoder_layers=1, decoder_heads=4, n_ctx=64)


def test_linear_layout_is_point_e_and_options_only_change_the_input_projections():
    ref = SDFModel(**SMALL).state_dict()
    assert ref["encoder_input_proj.weight"].shape == (32, 3) and ref["decoder_input_proj.weight"].shape == (32, 3)
    new = SDFModel(**SMALL, pos_emb="fourier", fourier_freqs=4, local_k=8).state_dict()
    assert set(new) == set(ref)  # no new keys: official checkpoints and ours share one loader
    assert new["encoder_input_proj.weight"].shape == (32, 3 + 6 * 4)
    assert new["decoder_input_proj.weight"].shape == (32, 3 + 6 * 4 + LOCAL_FEATURES)
    assert all(new[k].shape == ref[k].shape for k in ref if "input_proj" not in k)
    with pytest.raises(ValueError, match="pos_emb"):
        SDFModel(**SMALL, pos_emb="learned")


def test_local_features_describe_the_neighbourhood():
    ring = np.array([[np.cos(a), 0.0, np.sin(a)] for a in np.linspace(0, 2 * np.pi, 16, endpoint=False)]) * 0.1
    centre = local_features(torch.from_numpy(ring[None] - 0.0)).numpy()[0]
    # from the centre: every neighbour 0.1 away (x10 scale), centroid at the query, not one-sided
    np.testing.assert_allclose(centre[:2], [1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(centre[5:8], 0.0, atol=1e-6)
    assert centre[8] < 1e-5
    q = np.array([0.5, 0.0, 0.0])
    off = ring - q
    off = off[np.argsort(np.linalg.norm(off, axis=1))]
    side = local_features(torch.from_numpy(off[None])).numpy()[0]
    np.testing.assert_allclose(side[0], 4.0, atol=1e-6)  # nearest point (0.1, 0, 0) is 0.4 away
    np.testing.assert_allclose(side[2:5], [-4.0, 0.0, 0.0], atol=1e-6)
    assert side[8] > 0.95  # everything lies to one side


def test_kdtree_and_torch_neighbours_agree():
    rng = np.random.default_rng(0)
    cloud = rng.uniform(-0.5, 0.5, (2, 300, 3)).astype(np.float32)
    queries = rng.uniform(-0.5, 0.5, (2, 50, 3)).astype(np.float32)
    t = knn_offsets(torch.from_numpy(queries), torch.from_numpy(cloud), 8).numpy()
    n = np.stack([knn_offsets_np(cKDTree(c), c, q, 8) for c, q in zip(cloud, queries, strict=True)])
    np.testing.assert_allclose(t, n, atol=1e-6)
    # fewer points than k: all of them
    assert knn_offsets_np(cKDTree(cloud[0, :3]), cloud[0, :3], queries[0], 8).shape == (50, 3, 3)


def test_batched_farthest_points_matches_the_numpy_one():
    xyz = np.random.default_rng(1).uniform(-0.5, 0.5, (3, 200, 3))
    batched = farthest_points_batched(torch.from_numpy(xyz), 20).numpy()
    for b in range(3):
        np.testing.assert_array_equal(batched[b], farthest_points(xyz[b], 20))
    assert farthest_points_batched(torch.from_numpy(xyz), 500).shape == (3, 200)


def test_mesher_path_equals_the_training_path():
    torch.manual_seed(0)
    model = SDFModel(**SMALL, pos_emb="fourier", local_k=8).eval()
    with pytest.raises(ValueError, match="local_features"):
        model.predict_sdf(torch.zeros(1, 3, 4), torch.zeros(1, 5, 32))
    xyz = np.random.default_rng(2).uniform(-0.3, 0.3, (60, 3)).astype(np.float32)  # <= points: all encoded
    q = np.random.default_rng(3).uniform(-0.5, 0.5, (40, 3)).astype(np.float32)
    cloud = PointCloud(xyz, np.zeros_like(xyz))
    fn = sdf_function(model, {"points": 64}, cloud, chunk=16, margin=np.inf)
    with torch.no_grad():
        ref = model(torch.from_numpy(xyz.T.copy())[None], torch.from_numpy(q.T.copy())[None])[0].numpy()
    np.testing.assert_allclose(fn(q), ref, atol=1e-5)
    # for the grid, the magnitude is capped by the distance to the nearest point + margin; the sign is kept
    capped = sdf_function(model, {"points": 64}, cloud, chunk=16, margin=0.01)(q)
    nearest = cKDTree(xyz).query(q)[0]
    np.testing.assert_array_equal(np.sign(capped), np.sign(ref))
    np.testing.assert_allclose(np.abs(capped), np.minimum(np.abs(ref), nearest + 0.01), atol=1e-5)


def test_bridge_joins_the_decoder_with_balls_and_skips_the_model_inside_them():
    from gen3d.mesh.classical import shell_radius

    torch.manual_seed(0)
    model = SDFModel(**SMALL, pos_emb="fourier", fourier_freqs=4, local_k=8).eval()
    xyz = np.random.default_rng(2).uniform(-0.3, 0.3, (60, 3)).astype(np.float32)
    q = np.concatenate([np.random.default_rng(3).uniform(-0.5, 0.5, (200, 3)), xyz[:20] + 0.001]).astype(np.float32)
    cloud = PointCloud(xyz, np.zeros_like(xyz))
    plain = sdf_function(model, {"points": 64}, cloud, chunk=64)(q)
    calls = []
    model.predict_sdf = (lambda f: lambda qq, *a: calls.append(qq.shape[-1]) or f(qq, *a))(model.predict_sdf)
    bridged = sdf_function(model, {"points": 64, "mesher": {"bridge": 0.5}}, cloud, chunk=64)(q)  # from the config
    box = np.max(np.maximum(xyz.min(0) - q, q - xyz.max(0)), axis=1)
    ball = np.maximum(cKDTree(xyz).query(q)[0] - 0.5 * shell_radius(xyz), box)  # balls cut to the cloud's box
    outside = ball >= 0
    assert 20 <= (~outside).sum() < len(q)  # the queries next to points are inside their balls
    np.testing.assert_allclose(bridged[outside], np.minimum(plain, ball)[outside], atol=1e-5)
    np.testing.assert_allclose(bridged[~outside], ball[~outside], atol=1e-6)  # inside the union, never asked
    assert sum(calls) == outside.sum()
    assert np.all(bridged[plain < 0] < 0) and np.all(bridged[~outside] < 0)  # a union: inside stays inside
    np.testing.assert_allclose(sdf_function(model, {"points": 64, "mesher": {"bridge": 0.5}}, cloud, chunk=64,
                                            bridge=0.0)(q), plain, atol=1e-6)
    for limit, expect in ((59, plain), (60, bridged)):  # the config bridges clouds of at most bridge_points points
        cfg = {"points": 64, "mesher": {"bridge": 0.5, "bridge_points": limit}}
        np.testing.assert_allclose(sdf_function(model, cfg, cloud, chunk=64)(q), expect, atol=1e-6)
    # where the model calls everything outside, the union is the cut balls: one closed surface inside the grid
    model.predict_sdf = lambda qq, *a: torch.full(qq.shape[:1] + qq.shape[2:], 5.0)
    edge = np.random.default_rng(4).uniform(-0.5, 0.5, (300, 3)).astype(np.float32)
    edge[:, 0] = np.where(np.arange(300) % 2, -0.5, 0.5)  # two walls of points on the box's faces
    wall = PointCloud(edge, np.zeros_like(edge))
    v, f = mesh_from_sdf(sdf_function(model, {"points": 64}, wall, bridge=0.5), resolution=32, half_extent=0.51)
    assert len(f) and trimesh.Trimesh(v, f).is_watertight


def test_sparse_clouds_carry_the_configs_island_threshold_into_cleanup():
    from gen3d.mesh.reconstruct import MIN_ISLAND_FRACTION
    from gen3d.texture.asset import mesh_and_texture

    torch.manual_seed(0)
    model = SDFModel(**SMALL, pos_emb="fourier", fourier_freqs=4, local_k=8).eval()
    model.predict_sdf = lambda qq, *a: torch.full(qq.shape[:1] + qq.shape[2:], 5.0)  # the surface: the balls
    rng = np.random.default_rng(5)
    # a sphere of points and a far, small cluster: the cluster's blob has 2% of the sphere's area
    ball = rng.normal(size=(180, 3))
    ball = 0.3 * ball / np.linalg.norm(ball, axis=1, keepdims=True) - 0.1
    xyz = np.concatenate([ball, 0.38 + 0.02 * rng.normal(size=(12, 3))]).astype(np.float32)
    cloud = PointCloud(xyz, np.full_like(xyz, 0.5))
    cfg = {"points": 64, "mesher": {"bridge": 0.5, "bridge_points": 512, "min_island_fraction": 0.05}}
    assert sdf_function(model, cfg, cloud).min_island_fraction == 0.05
    assert sdf_function(model, {**cfg, "mesher": {**cfg["mesher"], "bridge_points": 100}},
                        cloud).min_island_fraction is None  # a dense cloud for this config: the standard cleanup
    assert sdf_function(model, {"points": 64}, cloud).min_island_fraction is None

    def pieces(asset):
        return len(trimesh.Trimesh(asset.vertices, asset.faces).split(only_watertight=False))  # seams merged

    kw = {"texture_size": 32, "resolution": 40, "drop_outliers": False}
    own = mesh_and_texture(cloud, mesher=sdf_function(model, cfg, cloud), **kw)
    assert own.metadata["parameters"]["min_island_fraction"] == 0.05 and pieces(own) == 1
    given = mesh_and_texture(cloud, mesher=sdf_function(model, cfg, cloud), min_island_fraction=MIN_ISLAND_FRACTION,
                             **kw)  # the caller's threshold wins: the cluster's blob stays
    assert given.metadata["parameters"]["min_island_fraction"] == MIN_ISLAND_FRACTION and pieces(given) >= 2


def test_corrupt_draws_one_jitter_per_cloud_from_a_range():
    from gen3d.train.sdf import corrupt

    cloud = torch.zeros(64, 3, 500)
    g = torch.Generator().manual_seed(0)
    fixed = corrupt(cloud, g, 0.01, 0.0, 400)
    assert fixed.shape == (64, 3, 400)
    np.testing.assert_allclose(fixed.std(dim=(1, 2)).numpy(), 0.01, rtol=0.1)
    ranged = corrupt(cloud, g, [0.002, 0.03], 0.0, 400).std(dim=(1, 2)).numpy()
    assert ranged.min() >= 0.0018 and ranged.max() <= 0.033 and ranged.max() / ranged.min() > 5


def test_point_counts_uniform_or_log_uniform():
    from gen3d.train.sdf import point_count

    g = torch.Generator().manual_seed(0)
    uni = np.array([point_count(192, 2048, "uniform", g) for _ in range(4000)])
    log = np.array([point_count(192, 2048, "log", g) for _ in range(4000)])
    for n in (uni, log):
        assert n.min() >= 192 and n.max() <= 2048
    # log-uniform: each doubling equally likely, so the base model's 256-point clouds are common
    assert abs(np.median(log) - np.sqrt(192 * 2048)) < 60 and abs(np.median(uni) - 1120) < 60
    assert (log <= 384).mean() > 0.25 > 0.15 > (uni <= 384).mean()


def test_a_cloud_denser_than_the_training_ones_is_reduced_to_its_farthest_points():
    torch.manual_seed(0)
    model = SDFModel(**SMALL, pos_emb="fourier", local_k=8).eval()
    xyz = np.random.default_rng(4).uniform(-0.3, 0.3, (500, 3)).astype(np.float32)
    q = np.random.default_rng(5).uniform(-0.5, 0.5, (50, 3)).astype(np.float32)
    reduced = xyz[farthest_points(xyz, 200)]
    dense = sdf_function(model, {"points": 64}, PointCloud(xyz, np.zeros_like(xyz)), local_points=200)(q)
    same = sdf_function(model, {"points": 64}, PointCloud(reduced, np.zeros_like(reduced)), local_points=200)(q)
    np.testing.assert_allclose(dense, same, atol=1e-6)
    full = sdf_function(model, {"points": 64}, PointCloud(xyz, np.zeros_like(xyz)), local_points=500)(q)
    assert not np.allclose(full, dense)  # all 500 points' neighbourhoods differ from the reduced cloud's
