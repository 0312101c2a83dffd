"""Train the learned mesh decoder (Point-E SDF layout, sized for a CPU) on procedural occupancy samples.

Inputs are made to look like generated clouds: a random number of points per batch (``data.min_points`` ..
``data.points``; ``data.points_dist: "log"`` draws it log-uniformly, as many batches per octave of density, so
sparse clouds like the base model's 256 points are common), Gaussian jitter, a few outliers, xyz only. The
encoder sees the model's ``points`` farthest-point samples of that cloud, as the mesher gives it; a model with
``local_k`` also reads each query's nearest points in the whole cloud. With ``data.generated`` (an ``.npz``
from ``scripts/build_generated_clouds.py``: the cached shapes re-drawn by the base model, SDEdit) a fraction
``data.generated_prob`` of the batches use those clouds instead, so the decoder learns to make the cached
shape's solid from clouds with a generator's clustering, spread and stray points.

The model's output is a signed value, negative inside; it is trained as an occupancy logit
(``inside = sigmoid(-sdf)``), so marching cubes at level 0 extracts the 50% occupancy surface.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gen3d.train.loop import fit, start_run


def corrupt(cloud: torch.Tensor, g: torch.Generator, jitter: float | list, outliers: float, n: int) -> torch.Tensor:
    """cloud [B, 3, N] -> [B, 3, n]: a random subset, jittered, with a fraction of uniform outliers. ``jitter``
    is a standard deviation, or ``[lo, hi]``: one drawn log-uniformly per cloud (generated clouds vary)."""
    b, _, m = cloud.shape
    idx = torch.stack([torch.randperm(m, generator=g)[:n] for _ in range(b)])
    x = torch.gather(cloud, 2, idx[:, None, :].expand(b, 3, n))
    if isinstance(jitter, (list, tuple)):
        lo, hi = (float(j) for j in jitter)
        sigma = torch.exp(torch.empty(b, 1, 1).uniform_(np.log(lo), np.log(hi), generator=g))
    else:
        sigma = torch.full((b, 1, 1), float(jitter))
    x = x + torch.randn(x.shape, generator=g) * sigma
    k = int(round(outliers * n))
    if k:
        x[:, :, :k] = torch.rand((b, 3, k), generator=g) - 0.5
    return x.clamp(-0.5, 0.5)


def point_count(lo: int, hi: int, dist: str, g: torch.Generator) -> int:
    """A cloud size in ``lo..hi``: uniform, or log-uniform (``dist="log"``: each doubling equally likely)."""
    if dist == "log":
        u = float(torch.rand((), generator=g))
        return int(min(hi, max(lo, round(lo * (hi / lo) ** u))))
    return int(torch.randint(lo, hi + 1, (1,), generator=g))


def local_batch(context: torch.Tensor, queries: torch.Tensor, k: int) -> torch.Tensor:
    """context [B, 3, M], queries [B, 3, Q] -> local_features [B, Q, 9], through the mesher's KD-tree path."""
    from scipy.spatial import cKDTree

    from gen3d.models.sdf import knn_offsets_np, local_features

    ctx, qs = context.permute(0, 2, 1).numpy(), queries.permute(0, 2, 1).float().numpy()
    off = np.stack([knn_offsets_np(cKDTree(c), c, q, k) for c, q in zip(ctx, qs, strict=True)])
    return local_features(torch.from_numpy(off))


def occupancy_loss(model, cloud: torch.Tensor, queries: torch.Tensor, occupancy: torch.Tensor,
                   local: torch.Tensor | None = None) -> dict:
    sdf = model(cloud, queries, local)
    loss = F.binary_cross_entropy_with_logits(-sdf.float(), occupancy.float(), reduction="none").mean(1)
    acc = ((sdf < 0).float() == occupancy).float().mean(1)
    return {"loss": loss, "accuracy": acc.detach()}


def load_generated(path: str | Path, n_shapes: int) -> torch.Tensor:
    """The generated clouds [M, N, 3] for the first M <= ``n_shapes`` shapes of a cache (checked), float32."""
    with np.load(path) as z:
        xyz = z["xyz"]
    if xyz.ndim != 3 or not 0 < xyz.shape[0] <= n_shapes or xyz.shape[2] != 3:
        raise ValueError(f"{path} holds clouds {xyz.shape}, not one per cached shape (at most {n_shapes}, N, 3): "
                         "build it from the same cache with scripts/build_generated_clouds.py")
    return torch.from_numpy(xyz.astype(np.float32))


def with_generated(cloud: torch.Tensor, index: torch.Tensor, generated: torch.Tensor) -> torch.Tensor:
    """cloud [B, 3, N] with row i replaced by ``generated[index[i]]`` (N points) where there is one; shapes
    past the generated ones keep their own (corrupted) cloud of the same size."""
    out = cloud.clone()
    have = index < len(generated)
    out[have] = generated[index[have]].permute(0, 2, 1).to(cloud.dtype)
    return out


def train(cfg: dict, run_dir: str | Path, *, max_steps: int | None = None, time_limit: float | None = None,
          device: str = "auto", quiet: bool = False, init_from: str | None = None) -> dict:
    from gen3d.pointcloud.fps import farthest_points_batched
    from gen3d.train.data import batches

    run_dir = Path(run_dir)
    tc, dc = cfg["train"], cfg["data"]
    model, dev, seed, start = start_run(cfg, run_dir, device, init_from)
    it = batches(dc, tc["batch"], seed=seed, kind="sdf", start_step=start)
    g = torch.Generator().manual_seed(seed + 7919 * start)
    enc = int(cfg["model"].get("points", 512))  # the encoder sees <= enc points
    lo, hi = int(dc.get("min_points", 256)), int(dc.get("points", enc))
    k = int(cfg["model"]["model"].get("local_k", 0))
    dist = dc.get("points_dist", "uniform")
    if dist not in ("uniform", "log"):
        raise ValueError(f"data.points_dist must be 'uniform' or 'log', not {dist!r}")
    generated, p_gen = None, float(dc.get("generated_prob", 0.5))
    if dc.get("generated"):
        if not dc.get("cache"):
            raise ValueError("data.generated needs data.cache: the clouds are matched to cached shapes by index")
        from gen3d.data.cache import ShapeCache

        generated = load_generated(dc["generated"], len(ShapeCache(dc["cache"])))

    def loss_fn(m, batch):
        n = point_count(lo, max(lo, hi), dist, g)
        use_generated = generated is not None and float(torch.rand((), generator=g)) < p_gen
        if use_generated:
            n = generated.shape[1]
        cloud = corrupt(batch["cloud"].float(), g, dc.get("jitter", 0.004), float(dc.get("outliers", 0.01)), n)
        if use_generated:
            cloud = with_generated(cloud, batch["index"], generated)
        queries = batch["queries"].float()
        local = local_batch(cloud, queries, k) if k else None  # from the whole cloud
        if n > enc:  # the encoder sees its farthest points, as in the mesher
            idx = farthest_points_batched(cloud.permute(0, 2, 1), enc)
            cloud = torch.gather(cloud, 2, idx[:, None, :].expand(-1, 3, -1))
        return occupancy_loss(m, cloud.to(dev), queries.to(dev), batch["occupancy"].to(dev),
                              None if local is None else local.to(dev))

    return fit(cfg, run_dir, model, loss_fn, it, dev, max_steps=max_steps, time_limit=time_limit, quiet=quiet)
