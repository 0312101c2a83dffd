#!/usr/bin/env python
"""Procedural training data speed: shapes per second made one at a time (``dataset[i]``) and a batch at a
time (``dataset.__getitems__``, what a DataLoader calls: one farthest-point-sampling pass per batch), on
one thread, checking that both give the same items. This rate sets the pace of training on a GPU, where
the data workers, not the model, are the bottleneck (model card, stage 4).

With ``--views 2,4`` it also times batches of several views of each shape (``ProceduralDataset(views=K)``
with :class:`~gen3d.data.datasets.ViewBatchSampler`: each shape made once, one cloud per view).

    OMP_NUM_THREADS=1 python scripts/bench_data.py [--points 256] [--batch 128] [--n 512] [--views 2,4]
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=256)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--n", type=int, default=512, help="shapes per measurement")
    ap.add_argument("--seed", type=int, default=10_000_000)
    ap.add_argument("--views", default="", help="comma-separated views per shape to time too, e.g. 2,4")
    a = ap.parse_args()
    import torch

    from gen3d.data.datasets import ProceduralDataset

    torch.set_num_threads(1)
    ds = ProceduralDataset(length=10**7, seed=a.seed, kind="points", points=a.points)
    ds.__getitems__(list(range(8)))  # warm up imports and caches
    idx = list(range(1000, 1000 + a.n))
    t = time.perf_counter()
    single = [ds[i] for i in idx]
    t_single = time.perf_counter() - t
    t = time.perf_counter()
    batched = [item for lo in range(0, a.n, a.batch) for item in ds.__getitems__(idx[lo : lo + a.batch])]
    t_batch = time.perf_counter() - t
    same = all(torch.equal(p["points"], q["points"]) and p["caption"] == q["caption"]
               for p, q in zip(single, batched, strict=True))
    load = os.getloadavg()[0]
    print(f"# gen3d bench_data on {platform.machine()}, {os.cpu_count()} CPUs, 1 thread, load {load:.1f}; "
          f"{a.n} shapes of {a.points} points")
    print("| method | shapes/s | ms/shape |")
    print("|---|---|---|")
    print(f"| one at a time | {a.n / t_single:.0f} | {1000 * t_single / a.n:.2f} |")
    print(f"| batches of {a.batch} | {a.n / t_batch:.0f} | {1000 * t_batch / a.n:.2f} |")
    for views in [int(v) for v in a.views.split(",") if v]:
        from gen3d.data.datasets import ViewBatchSampler

        vds = ProceduralDataset(length=10**7, seed=a.seed, kind="points", points=a.points, views=views)
        batches = iter(ViewBatchSampler(len(vds) // views, a.batch, views, seed=a.seed))
        vds.__getitems__(next(batches))  # warm up
        t = time.perf_counter()
        for _ in range(max(1, a.n // a.batch)):
            vds.__getitems__(next(batches))
        t_views = (time.perf_counter() - t) / (max(1, a.n // a.batch) * a.batch)
        print(f"| batches of {a.batch}, {views} views per shape | {1 / t_views:.0f} clouds "
              f"({1 / t_views / views:.0f} shapes) | {1000 * t_views:.2f} per cloud |")
    print(f"identical items: {same}; speed-up {t_single / t_batch:.2f}x")
    if not same:
        raise SystemExit("batched items differ from single items")


if __name__ == "__main__":
    main()
