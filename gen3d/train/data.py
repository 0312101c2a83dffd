"""Batches for training, from one of three sources named in the config's ``data`` section:

- ``cache``: a dataset folder built by ``gen3d data build`` (fast; the default for the bundled model);
- ``folder``: a user's meshes + captions file (fine-tuning);
- neither: procedural shapes generated on the fly.

``kind="points"`` yields ``{"points": [B, 6, N] model space, "caption": [str]}``; ``kind="sdf"`` yields
``{"cloud": [B, 3, N], "queries": [B, 3, Q], "occupancy": [B, Q]}``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader


def dataset(data_cfg: dict, seed: int, kind: str):
    from gen3d.data import datasets

    points = int(data_cfg.get("points", 256))
    if data_cfg.get("cache"):
        return datasets.CachedDataset(data_cfg["cache"], kind=kind, points=points, seed=seed,
                                      queries=int(data_cfg.get("queries", 2048)))
    if data_cfg.get("folder"):
        return datasets.FolderDataset(data_cfg["folder"], captions=data_cfg.get("captions"), kind=kind,
                                      points=points, seed=seed, queries=int(data_cfg.get("queries", 2048)))
    return datasets.ProceduralDataset(kind=kind, points=points, seed=seed, queries=int(data_cfg.get("queries", 2048)),
                                      categories=data_cfg.get("categories"))


def batches(data_cfg: dict, batch_size: int, seed: int, kind: str = "points", start_step: int = 0) -> Iterator[dict]:
    """Endless, deterministic batches (a resumed run continues from ``start_step`` with fresh data)."""
    epoch = start_step  # a different, reproducible shuffle for each (re)start
    workers = int(data_cfg.get("workers", 0))
    while True:
        ds = dataset(data_cfg, seed + epoch, kind)
        g = torch.Generator().manual_seed(seed + epoch)
        shuffle = not isinstance(ds, torch.utils.data.IterableDataset)
        if shuffle and len(ds) < batch_size:
            raise ValueError(f"the dataset has {len(ds)} items, fewer than one batch of {batch_size}: "
                             "lower train.batch or add data")
        loader = DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=g, num_workers=workers,
                            drop_last=True, persistent_workers=False)
        yield from loader
        epoch += 1
