"""A sharded on-disk dataset of generated shapes, deterministic by seed.

Layout of a cache directory::

    meta.json                  format, dataset version, n, seed, points per shape, sdf sizes, categories
    manifest.jsonl             one line per shape: index, category, category_index, seed, params, captions, size_m
    shards/shard-00000.xyz.npy float32 [S, N, 3]  surface points in farthest-point order (any prefix is a
                                                 good subsample), in the [-0.5, 0.5]^3 convention
    shards/shard-00000.rgb.npy uint8   [S, N, 3]  colours
    shards/shard-00000.sdf_points.npy float32 [S, Q, 3], shards/shard-00000.sdf_occ.npy uint8 [S, Q]  (--sdf)
    shards/shard-00000.jsonl   the shard's manifest lines (a finished shard is skipped when resuming)

Shape ``i`` is category ``categories[i % K]`` with seed ``shape_seed(seed, i)``: the same arguments give
the same bytes whatever the number of workers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gen3d.data.procedural import DATASET_VERSION, category_names, generate_shape
from gen3d.data.sampling import farthest_point_sampling_many, pick_surface, sample_sdf, sample_surface, surface_pool

FORMAT = "gen3d-shape-cache"


def shape_seed(base_seed: int, index: int) -> int:
    return int(np.random.SeedSequence([int(base_seed), int(index)]).generate_state(1, np.uint32)[0])


@dataclass(frozen=True)
class CacheSpec:
    n: int
    seed: int = 0
    n_points: int = 4096
    sdf: tuple[int, int] | None = None  # (n_near, n_uniform)
    shard_size: int = 1000
    categories: tuple[str, ...] = ()

    def category_list(self) -> list[str]:
        return list(self.categories) or category_names()


def make_record(spec: CacheSpec, index: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Generate and sample shape ``index`` of the dataset described by ``spec``."""
    return make_records(spec, [index])[0]


def make_records(spec: CacheSpec, indices: Sequence[int],
                 views: int = 1) -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """:func:`make_record` for several items, equal item for item; their farthest-point sampling runs as one
    batch (:func:`~gen3d.data.sampling.farthest_point_sampling_many`), which makes a DataLoader batch of
    procedural shapes faster to generate.

    With ``views > 1`` (point clouds only) every shape gives ``views`` clouds: item ``i`` is view ``i % views``
    of shape ``i // views`` (its record says which, ``"view"``). View 0 is :func:`make_record`'s cloud of that
    shape; view ``v > 0`` runs farthest-point sampling over the same candidate points in another order (a
    permutation drawn from the shape's seed and ``v``), so it is a different, equally even cloud of the same
    surface. Each distinct shape in ``indices`` is generated and its surface sampled once, whatever the
    number of its views there: the shape, not the FPS, is most of the cost (``scripts/bench_data.py --views``).
    """
    if views < 1:
        raise ValueError(f"views must be at least 1, got {views}")
    if views > 1 and spec.sdf is not None:
        raise ValueError("views are for point-cloud items; an SDF cache samples its queries per shape")
    cats = spec.category_list()
    shapes: dict[int, tuple] = {}
    drafts, clouds = [], []
    for index in indices:
        k, view = divmod(int(index), views)
        if k not in shapes:
            cat, seed = cats[k % len(cats)], shape_seed(spec.seed, k)
            shape = generate_shape(cat, seed)
            rng = np.random.default_rng([seed, 1])
            pts, rgb = surface_pool(shape, spec.n_points, rng)
            shapes[k] = (cat, seed, shape, rng.bit_generator.state, pts, rgb)
        cat, seed, shape, state, pts, rgb = shapes[k]
        if view == 0:  # the shape's own generator, where the pool left it (each item gets its own copy)
            rng = np.random.default_rng()
            rng.bit_generator.state = state
            order = None
        else:
            rng = np.random.default_rng([seed, 2, view])
            order = np.random.default_rng([seed, 1, view]).permutation(len(pts))
        drafts.append((k, view, cat, seed, shape, rng, pts, rgb, order))
        clouds.append(pts if order is None else pts[order])
    picks = farthest_point_sampling_many(clouds, spec.n_points)
    out = []
    for (k, view, cat, seed, shape, rng, pts, rgb, order), idx in zip(drafts, picks, strict=True):
        record, arrays = _finish_record(spec, k, cat, seed, shape, rng, pts, rgb, idx if order is None else order[idx])
        out.append((record | {"view": view} if views > 1 else record, arrays))
    return out


def _finish_record(spec: CacheSpec, index: int, cat: str, seed: int, shape, rng: np.random.Generator,
                   pts: np.ndarray, rgb: np.ndarray, idx: np.ndarray) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    pc = pick_surface(pts, rgb, idx, spec.n_points, rng)
    arrays = {"xyz": pc.xyz, "rgb": pc.rgb_uint8}
    if spec.sdf is not None:
        q, occ = sample_sdf(shape, spec.sdf[0], spec.sdf[1], rng)
        arrays["sdf_points"] = q
        arrays["sdf_occ"] = occ.astype(np.uint8)
    record = {
        "index": index,
        "category": cat,
        "category_index": category_names().index(cat),
        "seed": seed,
        "params": shape.params,
        "captions": shape.captions,
        "size_m": [round(s, 4) for s in shape.size_m],
    }
    return record, arrays


def _build_chunk(args: tuple[CacheSpec, int, int]) -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    spec, lo, hi = args
    return make_records(spec, range(lo, hi))


def _shard_paths(root: Path, shard: int) -> dict[str, Path]:
    base = root / "shards" / f"shard-{shard:05d}"
    return {k: Path(f"{base}.{k}.npy") for k in ("xyz", "rgb", "sdf_points", "sdf_occ")} | {
        "jsonl": Path(f"{base}.jsonl")
    }


def _write_shard(root: Path, shard: int, items: list[tuple[dict[str, Any], dict[str, np.ndarray]]]) -> None:
    paths = _shard_paths(root, shard)
    for key in items[0][1]:
        tmp = paths[key].with_suffix(".tmp.npy")
        np.save(tmp, np.stack([a[key] for _, a in items]))
        os.replace(tmp, paths[key])
    tmp = paths["jsonl"].with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r, _ in items))
    os.replace(tmp, paths["jsonl"])  # written last: marks the shard complete


def build_cache(
    out: str | os.PathLike,
    spec: CacheSpec,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 25,
) -> dict[str, Any]:
    """Build (or resume) a cache at ``out``; returns the meta dict. ``progress(done, total)`` is called
    as shapes finish."""
    root = Path(out)
    (root / "shards").mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT,
        "dataset_version": DATASET_VERSION,
        "n": spec.n,
        "seed": spec.seed,
        "n_points": spec.n_points,
        "sdf": list(spec.sdf) if spec.sdf else None,
        "shard_size": spec.shard_size,
        "categories": spec.category_list(),
        "label_names": category_names(),
    }
    meta_path = root / "meta.json"
    if meta_path.exists():
        old = json.loads(meta_path.read_text())
        if old != meta:
            raise ValueError(f"{root} holds a different cache ({old}); use an empty directory")
    meta_path.write_text(json.dumps(meta, indent=2))
    n_shards = (spec.n + spec.shard_size - 1) // spec.shard_size
    todo = [s for s in range(n_shards) if not _shard_paths(root, s)["jsonl"].exists()]
    done = sum(min((s + 1) * spec.shard_size, spec.n) - s * spec.shard_size for s in range(n_shards) if s not in todo)
    if progress:
        progress(done, spec.n)
    jobs = []
    for s in todo:
        lo, hi = s * spec.shard_size, min((s + 1) * spec.shard_size, spec.n)
        jobs += [(spec, a, min(a + chunk, hi)) for a in range(lo, hi, chunk)]
    pending: dict[int, list] = {}
    pool = None
    if workers > 1:
        import multiprocessing as mp

        pool = mp.get_context("spawn" if os.name == "nt" else "fork").Pool(workers)
        results = pool.imap(_build_chunk, jobs)
    else:
        results = map(_build_chunk, jobs)
    failed = True
    try:
        for items in results:
            first = items[0][0]["index"]
            shard = first // spec.shard_size
            pending.setdefault(shard, []).extend(items)
            done += len(items)
            if progress:
                progress(done, spec.n)
            want = min((shard + 1) * spec.shard_size, spec.n) - shard * spec.shard_size
            if len(pending[shard]) == want:
                _write_shard(root, shard, sorted(pending.pop(shard), key=lambda it: it[0]["index"]))
        failed = False
    finally:
        if pool is not None:
            if failed:  # do not wait for the remaining jobs when one failed
                pool.terminate()
            else:
                pool.close()
            pool.join()
    with open(root / "manifest.jsonl.tmp", "w") as f:
        for s in range(n_shards):
            f.write(_shard_paths(root, s)["jsonl"].read_text())
    os.replace(root / "manifest.jsonl.tmp", root / "manifest.jsonl")
    return meta


class ShapeCache:
    """Read access to a cache directory; shard arrays are memory-mapped lazily (safe to use in workers)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.meta = json.loads((self.root / "meta.json").read_text())
        if self.meta.get("format") != FORMAT:
            raise ValueError(f"{self.root} is not a gen3d shape cache")
        with open(self.root / "manifest.jsonl") as f:
            self.records: list[dict[str, Any]] = [json.loads(line) for line in f]
        self._arrays: dict[tuple[int, str], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.records)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_arrays"] = {}
        return state

    @property
    def n_points(self) -> int:
        return int(self.meta["n_points"])

    @property
    def has_sdf(self) -> bool:
        return self.meta.get("sdf") is not None

    def _array(self, shard: int, key: str) -> np.ndarray:
        if (shard, key) not in self._arrays:
            self._arrays[(shard, key)] = np.load(_shard_paths(self.root, shard)[key], mmap_mode="r")
        return self._arrays[(shard, key)]

    def _loc(self, index: int) -> tuple[int, int]:
        return divmod(index, int(self.meta["shard_size"]))

    def points(self, index: int, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(xyz float32 [n, 3], rgb float32 0..1 [n, 3]): the first ``n`` stored points (FPS prefix)."""
        n = self.n_points if n is None else n
        if n > self.n_points:
            raise ValueError(f"cache stores {self.n_points} points per shape, {n} requested")
        s, r = self._loc(index)
        xyz = np.array(self._array(s, "xyz")[r, :n], dtype=np.float32)
        rgb = np.array(self._array(s, "rgb")[r, :n], dtype=np.float32) / 255.0
        return xyz, rgb

    def sdf(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(queries float32 [Q, 3], occupancy float32 [Q])."""
        if not self.has_sdf:
            raise ValueError("this cache was built without SDF samples (use --sdf)")
        s, r = self._loc(index)
        return (
            np.array(self._array(s, "sdf_points")[r], dtype=np.float32),
            np.array(self._array(s, "sdf_occ")[r], dtype=np.float32),
        )


def choose_caption(captions: Sequence[str], seed: int, epoch: int, index: int) -> str:
    """A caption chosen deterministically from (seed, epoch, index)."""
    rng = np.random.default_rng([int(seed), int(epoch), int(index)])
    return captions[int(rng.integers(len(captions)))]


def build_cache_from_shapes(
    out: str | os.PathLike,
    shapes: Sequence[Any],
    n_points: int = 4096,
    sdf: tuple[int, int] | None = None,
    seed: int = 0,
    shard_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write already-built shapes (e.g. users' meshes from :func:`gen3d.data.folder.load_folder`) in the
    cache layout; a shape whose category is not a procedural one gets label -1."""
    root = Path(out)
    (root / "shards").mkdir(parents=True, exist_ok=True)
    labels = category_names()
    meta = {
        "format": FORMAT,
        "dataset_version": DATASET_VERSION,
        "n": len(shapes),
        "seed": seed,
        "n_points": n_points,
        "sdf": list(sdf) if sdf else None,
        "shard_size": shard_size,
        "categories": sorted({s.category for s in shapes}),
        "label_names": labels,
        "source": "shapes",
    }
    (root / "meta.json").write_text(json.dumps(meta, indent=2))
    items = []
    for i, shape in enumerate(shapes):
        rng = np.random.default_rng([seed, i])
        pc = sample_surface(shape, n_points, rng)
        arrays = {"xyz": pc.xyz, "rgb": pc.rgb_uint8}
        if sdf is not None:
            q, occ = sample_sdf(shape, sdf[0], sdf[1], rng)
            arrays |= {"sdf_points": q, "sdf_occ": occ.astype(np.uint8)}
        record = {
            "index": i,
            "category": shape.category,
            "category_index": labels.index(shape.category) if shape.category in labels else -1,
            "seed": int(shape.seed),
            "params": shape.params,
            "captions": list(shape.captions),
            "size_m": [round(float(s), 4) for s in shape.size_m],
        }
        items.append((record, arrays))
        if len(items) == shard_size or i == len(shapes) - 1:
            _write_shard(root, i // shard_size, items)
            items = []
        if progress:
            progress(i + 1, len(shapes))
    n_shards = (len(shapes) + shard_size - 1) // shard_size
    with open(root / "manifest.jsonl.tmp", "w") as f:
        for s in range(n_shards):
            f.write(_shard_paths(root, s)["jsonl"].read_text())
    os.replace(root / "manifest.jsonl.tmp", root / "manifest.jsonl")
    return meta
