"""The sharded shape cache and the torch datasets over it / on the fly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from gen3d.data.cache import CacheSpec, ShapeCache, build_cache
from gen3d.data.datasets import CachedPointDataset, CachedSDFDataset, ProceduralDataset
from gen3d.data.procedural import category_names

SPEC = CacheSpec(n=10, seed=5, n_points=128, sdf=(64, 64), shard_size=4)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cache")
    seen = []
    build_cache(root, SPEC, workers=1, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (10, 10) and seen[0][0] == 0
    return root


def test_layout_and_manifest(cache_dir):
    meta = json.loads((cache_dir / "meta.json").read_text())
    assert meta["n"] == 10 and meta["n_points"] == 128 and meta["label_names"] == category_names()
    lines = [json.loads(s) for s in (cache_dir / "manifest.jsonl").read_text().splitlines()]
    assert [r["index"] for r in lines] == list(range(10))
    names = category_names()
    for r in lines:
        assert r["category"] == names[r["index"] % len(names)] and names[r["category_index"]] == r["category"]
        assert r["captions"] and len(r["params"]) >= 5 and len(r["size_m"]) == 3
    assert np.load(cache_dir / "shards" / "shard-00002.xyz.npy").shape == (2, 128, 3)
    assert np.load(cache_dir / "shards" / "shard-00000.rgb.npy").dtype == np.uint8
    assert np.load(cache_dir / "shards" / "shard-00001.sdf_occ.npy").shape == (4, 128)


def test_same_seed_same_bytes_with_workers_and_resume(cache_dir, tmp_path):
    other = tmp_path / "c2"
    build_cache(other, SPEC, workers=2)
    assert _files(other) == _files(cache_dir)
    (other / "shards" / "shard-00001.jsonl").unlink()  # an unfinished shard is rebuilt on resume
    (other / "shards" / "shard-00001.xyz.npy").write_bytes(b"junk")
    build_cache(other, SPEC, workers=1)
    assert _files(other) == _files(cache_dir)
    with pytest.raises(ValueError):
        build_cache(other, CacheSpec(n=10, seed=6, n_points=128, sdf=(64, 64), shard_size=4))


def test_point_dataset_items_match_on_the_fly_generation(cache_dir):
    ds = CachedPointDataset(cache_dir, n_points=64)
    item = ds[3]
    assert item["points"].shape == (6, 64) and item["points"].dtype == torch.float32
    assert item["points"].abs().max() <= 1.0
    assert item["category_name"] == category_names()[item["category"]]
    full = CachedPointDataset(cache_dir, n_points=128)[3]["points"]
    assert torch.equal(full[:, :64], item["points"])  # fewer points = the FPS prefix
    fly = ProceduralDataset(10, seed=5, n_points=128, sdf=(64, 64))[3]
    assert torch.allclose(fly["points"], full, atol=1e-6) and fly["caption"] == item["caption"]
    caps = {ds[3]["caption"]}
    for epoch in range(1, 8):
        ds.set_epoch(epoch)
        caps.add(ds[3]["caption"])
    assert len(caps) > 1 and caps <= set(ShapeCache(cache_dir).records[3]["captions"])
    with pytest.raises(ValueError):
        CachedPointDataset(cache_dir, n_points=256)


def test_loaders_with_workers(cache_dir):
    batch = next(iter(DataLoader(CachedPointDataset(cache_dir, 128), batch_size=5, num_workers=2)))
    assert batch["points"].shape == (5, 6, 128) and len(batch["caption"]) == 5
    sdf = next(iter(DataLoader(CachedSDFDataset(cache_dir, 128, n_queries=100), batch_size=3, num_workers=2)))
    assert sdf["cloud"].shape == (3, 3, 128) and sdf["queries"].shape == (3, 3, 100)
    assert sdf["occupancy"].shape == (3, 100) and set(sdf["occupancy"].unique().tolist()) <= {0.0, 1.0}
    fly = next(iter(DataLoader(ProceduralDataset(4, seed=1, n_points=64, sdf=(32, 32)), batch_size=2, num_workers=2)))
    assert fly["points"].shape == (2, 6, 64) and fly["queries"].shape == (2, 3, 64)


def test_a_failing_job_stops_the_build(tmp_path):
    with pytest.raises(KeyError, match="dragon"):
        build_cache(tmp_path / "bad", CacheSpec(n=200, shard_size=50, categories=("dragon",)), workers=2)


def test_batched_fps_equals_one_cloud_fps():
    from gen3d.data.sampling import farthest_point_sampling, farthest_point_sampling_many

    rng = np.random.default_rng(0)
    clouds = [rng.random((m, 3)).astype(np.float32) for m in (300, 1024, 977, 64, 513)]
    clouds.append(np.repeat(rng.random((20, 3)), 30, axis=0))  # many duplicates: ties must break the same way
    many = farthest_point_sampling_many(clouds, 256)
    for cloud, got in zip(clouds, many, strict=True):
        assert np.array_equal(got, farthest_point_sampling(cloud, 256))
    assert np.array_equal(many[3], np.arange(64))  # fewer points than asked: all of them, as before


def test_batched_records_equal_the_one_shape_path():
    """make_records (one FPS pass per batch, used by DataLoader through __getitems__) against the original
    per-shape functions: generate_shape -> sample_surface -> sample_sdf with the same rng."""
    from gen3d.data.cache import make_records, shape_seed
    from gen3d.data.procedural import generate_shape
    from gen3d.data.sampling import sample_sdf, sample_surface

    spec = CacheSpec(n=100, seed=5, n_points=128, sdf=(64, 32))
    cats = spec.category_list()
    indices = [3, 0, 41, 17, 60]
    for index, (rec, arrays) in zip(indices, make_records(spec, indices), strict=True):
        seed = shape_seed(spec.seed, index)
        shape = generate_shape(cats[index % len(cats)], seed)
        rng = np.random.default_rng([seed, 1])
        pc = sample_surface(shape, spec.n_points, rng)
        q, occ = sample_sdf(shape, 64, 32, rng)
        assert rec["index"] == index and rec["captions"] == shape.captions
        assert np.array_equal(arrays["xyz"], pc.xyz) and np.array_equal(arrays["rgb"], pc.rgb_uint8)
        assert np.array_equal(arrays["sdf_points"], q) and np.array_equal(arrays["sdf_occ"], occ.astype(np.uint8))
    ds = ProceduralDataset(length=100, seed=5, points=128)
    batch = ds.__getitems__(indices)
    for index, item in zip(indices, batch, strict=True):
        single = ds[index]
        assert torch.equal(item["points"], single["points"]) and item["caption"] == single["caption"]
    with pytest.raises(IndexError):
        ds.__getitems__([0, 100])


def test_views_are_other_even_clouds_of_the_same_shape_made_once():
    from scipy.spatial import cKDTree

    from gen3d.data import cache
    from gen3d.data.datasets import ViewBatchSampler

    plain = ProceduralDataset(length=50, seed=5, points=128)
    ds = ProceduralDataset(length=50, seed=5, points=128, views=3)
    assert len(ds) == 150
    calls = []
    real = cache.generate_shape
    cache.generate_shape = lambda *a: calls.append(a) or real(*a)
    try:
        items = ds.__getitems__([21, 22, 23, 3, 5])  # shape 7's three views, shape 1's view 0 and view 2
    finally:
        cache.generate_shape = real
    assert len(calls) == 2  # each shape generated once for all its views
    assert torch.equal(items[0]["points"], plain[7]["points"]) and torch.equal(items[3]["points"], plain[1]["points"])
    assert len({it["category_name"] for it in items[:3]}) == 1 and items[0]["index"] == 21
    for other in items[1:3]:
        assert not torch.equal(other["points"], items[0]["points"])
        a, b = items[0]["points"][:3].T.numpy(), other["points"][:3].T.numpy()
        assert cKDTree(a).query(b)[0].mean() < 0.05  # the same surface (model units: the box is 2 wide)
        spread = cKDTree(b).query(b, k=2)[0][:, 1]
        assert spread.min() > 0.2 * np.median(spread)  # farthest-point even, not a random subset
    assert torch.equal(ds[22]["points"], items[1]["points"])  # deterministic per item
    with pytest.raises(ValueError, match="views"):
        ProceduralDataset(length=5, kind="sdf", views=2)
    with pytest.raises(IndexError):
        ds.__getitems__([150])

    sampler = ViewBatchSampler(50, batch=12, views=3, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 12 and all(len(b) == 12 for b in batches)
    shapes = [i // 3 for b in batches for i in b]
    assert len(set(shapes)) == 48 and all(shapes.count(k) == 3 for k in set(shapes))  # no repeats, all views
    for b in batches:
        assert sorted(b) == sorted(k * 3 + v for k in {i // 3 for i in b} for v in range(3))
    assert batches == list(ViewBatchSampler(50, batch=12, views=3, seed=1))
    with pytest.raises(ValueError, match="multiple"):
        ViewBatchSampler(50, batch=10, views=3)
    loader = DataLoader(ds, batch_sampler=sampler, num_workers=0)
    first = next(iter(loader))
    assert first["points"].shape == (12, 6, 128)


def test_category_list_sets_the_mix_and_rejects_unknown_names():
    ds = ProceduralDataset(length=6, seed=2, points=64, categories=["cube", "torus", "torus"])
    assert [ds[i]["category_name"] for i in range(6)] == ["cube", "torus", "torus"] * 2
    with pytest.raises(ValueError, match=r"unknown categories \['pinetree'\].*gen3d data categories"):
        ProceduralDataset(length=6, categories=["cube", "pinetree"])
