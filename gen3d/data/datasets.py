"""PyTorch datasets over a shape cache or generated on the fly (both fine with DataLoader workers).

Point samples: ``{"points": float32 [6, N] in model space (xyz*2, rgb*2-1), "caption": str,
"category": int, "category_name": str, "index": int}``.
SDF samples: ``{"cloud": float32 [3, N] xyz, "queries": float32 [3, Q], "occupancy": float32 [Q]}``
(1 inside, 0 outside) plus the same caption/category keys.

Captions are picked deterministically from (seed, epoch, index) (seed: the cache's by default, so a
cached item equals the on-the-fly one); call ``set_epoch`` each epoch to
rotate through them (with ``persistent_workers=False``, the default, workers see the new epoch).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from gen3d.data.cache import CacheSpec, ShapeCache, choose_caption, make_records
from gen3d.data.procedural import category_names
from gen3d.pointcloud import PointCloud


class _EpochMixin:
    epoch: int = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)


def _point_item(xyz: np.ndarray, rgb: np.ndarray, caption: str, label: int, name: str, index: int) -> dict:
    return {
        "points": torch.from_numpy(PointCloud(xyz, rgb).to_model_space()),
        "caption": caption,
        "category": label,
        "category_name": name,
        "index": index,
    }


def _sdf_item(xyz: np.ndarray, q: np.ndarray, occ: np.ndarray, rng: np.random.Generator, n_queries: int | None) -> dict:
    if n_queries is not None and n_queries < len(q):
        sel = rng.choice(len(q), n_queries, replace=False)
        q, occ = q[sel], occ[sel]
    return {
        "cloud": torch.from_numpy(np.ascontiguousarray(xyz.T, dtype=np.float32)),
        "queries": torch.from_numpy(np.ascontiguousarray(q.T, dtype=np.float32)),
        "occupancy": torch.from_numpy(np.asarray(occ, dtype=np.float32)),
    }


class CachedPointDataset(_EpochMixin, Dataset):
    """Coloured point clouds + captions from a cache built by ``gen3d data build``."""

    def __init__(self, root: str | os.PathLike, n_points: int = 1024, seed: int | None = None) -> None:
        self.cache = ShapeCache(root)
        if n_points > self.cache.n_points:
            raise ValueError(f"cache stores {self.cache.n_points} points per shape, {n_points} requested")
        self.n_points = n_points
        self.seed = int(self.cache.meta["seed"]) if seed is None else seed

    def __len__(self) -> int:
        return len(self.cache)

    def __getitem__(self, index: int) -> dict[str, Any]:
        rec = self.cache.records[index]
        xyz, rgb = self.cache.points(index, self.n_points)
        cap = choose_caption(rec["captions"], self.seed, self.epoch, index)
        return _point_item(xyz, rgb, cap, rec["category_index"], rec["category"], index)


class CachedSDFDataset(_EpochMixin, Dataset):
    """Point cloud conditioning + occupancy queries from a cache built with ``--sdf``."""

    def __init__(
        self, root: str | os.PathLike, n_points: int = 1024, n_queries: int | None = None, seed: int | None = None
    ) -> None:
        self.cache = ShapeCache(root)
        if not self.cache.has_sdf:
            raise ValueError(f"{root} has no SDF samples; rebuild it with --sdf")
        self.n_points, self.n_queries = n_points, n_queries
        self.seed = int(self.cache.meta["seed"]) if seed is None else seed

    def __len__(self) -> int:
        return len(self.cache)

    def __getitem__(self, index: int) -> dict[str, Any]:
        rec = self.cache.records[index]
        xyz, _ = self.cache.points(index, self.n_points)
        q, occ = self.cache.sdf(index)
        rng = np.random.default_rng([self.seed, self.epoch, index, 7])
        item = _sdf_item(xyz, q, occ, rng, self.n_queries)
        item.update(
            caption=choose_caption(rec["captions"], self.seed, self.epoch, index),
            category=rec["category_index"],
            category_name=rec["category"],
            index=index,
        )
        return item


class ProceduralDataset(_EpochMixin, Dataset):
    """Shapes generated on the fly: item ``i`` equals shape ``i`` of a cache built with the same
    arguments. With ``sdf=(n_near, n_uniform)`` (or ``kind="sdf"`` and ``queries=Q``, split evenly) items
    also carry cloud/queries/occupancy. ``points`` is an alias of ``n_points``. ``categories`` is the mix,
    round-robin (default: all of them, evenly); a name listed twice comes twice as often, which is how a
    training config (``data.categories``) weights the categories a model gets wrong most.

    ``views=K`` (point clouds only) makes ``length * K`` items: item ``i`` is view ``i % K`` of shape
    ``i // K`` (:func:`gen3d.data.cache.make_records`: view 0 is the cloud above, the others other
    farthest-point clouds of the same surface), each with its own caption draw. A batch that holds several
    views of a shape makes the shape once (:class:`ViewBatchSampler` builds such batches)."""

    def __init__(
        self,
        length: int = 100_000,
        seed: int = 0,
        n_points: int = 1024,
        sdf: tuple[int, int] | None = None,
        categories: Sequence[str] | None = None,
        *,
        kind: str = "points",
        points: int | None = None,
        queries: int | None = None,
        views: int = 1,
    ) -> None:
        if kind not in ("points", "sdf"):
            raise ValueError(f"kind must be 'points' or 'sdf', got {kind!r}")
        if kind == "sdf" and sdf is None:
            q = int(queries or 2048)
            sdf = (q // 2, q - q // 2)
        if views < 1 or (views > 1 and sdf is not None):
            raise ValueError(f"views must be 1, or more for point-cloud items only; got {views}")
        n_points = int(points) if points is not None else n_points
        unknown = sorted(set(categories or ()) - set(category_names()))
        if unknown:
            raise ValueError(f"unknown categories {unknown} in the data's category list: "
                             "see `gen3d data categories` for the names")
        self.spec = CacheSpec(n=length, seed=seed, n_points=n_points, sdf=sdf, categories=tuple(categories or ()))
        self.views = int(views)
        self.labels = category_names()

    def __len__(self) -> int:
        return self.spec.n * self.views

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict[str, Any]]:
        """A whole batch at once (DataLoader calls this when it exists): equal to ``[self[i] for i in indices]``,
        with one farthest-point-sampling pass for the batch (measured: ``scripts/bench_data.py``)."""
        for index in indices:
            if not 0 <= index < len(self):
                raise IndexError(index)
        records = make_records(self.spec, indices, self.views)
        return [self._item(index, rec, arrays) for index, (rec, arrays) in zip(indices, records, strict=True)]

    def _item(self, index: int, rec: dict, arrays: dict) -> dict[str, Any]:
        xyz, rgb = arrays["xyz"], arrays["rgb"].astype(np.float32) / 255.0
        cap = choose_caption(rec["captions"], self.spec.seed, self.epoch, index)
        item = _point_item(xyz, rgb, cap, rec["category_index"], rec["category"], index)
        if self.spec.sdf is not None:
            rng = np.random.default_rng([self.spec.seed, self.epoch, index, 7])
            item.update(_sdf_item(xyz, arrays["sdf_points"], arrays["sdf_occ"].astype(np.float32), rng, None))
        return item


class ViewBatchSampler:
    """Batches for ``ProceduralDataset(views=K)``: each holds ``batch // K`` shapes, drawn in a random order
    without repeats (a permutation of the dataset's ``n_shapes`` from ``seed``), with all K views of each,
    so every shape is generated once for K items. ``len()`` batches: every shape once."""

    def __init__(self, n_shapes: int, batch: int, views: int, seed: int = 0) -> None:
        if views < 1 or batch < views or batch % views:
            raise ValueError(f"the batch ({batch}) must be a multiple of views ({views})")
        self.n_shapes, self.batch, self.views, self.seed = int(n_shapes), int(batch), int(views), int(seed)
        self.per_batch = self.batch // self.views

    def __len__(self) -> int:
        return self.n_shapes // self.per_batch

    def __iter__(self):
        order = torch.randperm(self.n_shapes, generator=torch.Generator().manual_seed(self.seed))
        view = torch.arange(self.views)
        for b in range(len(self)):
            shapes = order[b * self.per_batch : (b + 1) * self.per_batch]
            yield (shapes[:, None] * self.views + view[None, :]).reshape(-1).tolist()


def CachedDataset(  # noqa: N802 - a factory that reads like a class
    root: str | os.PathLike,
    kind: str = "points",
    points: int = 1024,
    seed: int | None = None,
    queries: int | None = None,
) -> CachedPointDataset | CachedSDFDataset:
    """The cached dataset for ``kind`` "points" (point dicts) or "sdf" (cloud/queries/occupancy)."""
    if kind == "points":
        return CachedPointDataset(root, n_points=points, seed=seed)
    if kind == "sdf":
        return CachedSDFDataset(root, n_points=points, n_queries=queries, seed=seed)
    raise ValueError(f"kind must be 'points' or 'sdf', got {kind!r}")


USER_LABEL = -1  # the category label of users' meshes


class FolderDataset(_EpochMixin, Dataset):
    """Users' meshes (see :mod:`gen3d.data.folder`), sampled afresh for each (seed, epoch, index).

    Skipped meshes are listed in ``self.report`` (``report.summary()``); at least one must load. The
    meshes repeat so that the dataset has at least ``min_length`` items (one batch needs that many).
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        captions: str | os.PathLike | None = None,
        kind: str = "points",
        points: int = 1024,
        seed: int = 0,
        queries: int = 2048,
        up: str = "y",
        min_length: int = 256,
    ) -> None:
        from gen3d.data.folder import load_folder

        if kind not in ("points", "sdf"):
            raise ValueError(f"kind must be 'points' or 'sdf', got {kind!r}")
        self.shapes, self.report = load_folder(folder, captions, up=up)
        if not self.shapes:
            raise ValueError(f"no usable meshes in {folder}:\n{self.report.summary()}")
        self.kind, self.points, self.seed, self.queries = kind, points, seed, queries
        self.length = max(len(self.shapes), min_length)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        from gen3d.data.sampling import sample_sdf, sample_surface

        if not 0 <= index < self.length:
            raise IndexError(index)
        shape = self.shapes[index % len(self.shapes)]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        pc = sample_surface(shape, self.points, rng)
        cap = shape.captions[int(rng.integers(len(shape.captions)))]
        item = _point_item(pc.xyz, pc.rgb, cap, USER_LABEL, "user", index)
        if self.kind == "sdf":
            q, occ = sample_sdf(shape, self.queries // 2, self.queries - self.queries // 2, rng)
            item.update(_sdf_item(pc.xyz, q, occ, rng, None))
        return item
