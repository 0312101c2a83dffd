"""Train the learned mesh decoder (Point-E SDF layout, sized for a CPU) on procedural occupancy samples.

Inputs are made to look like generated clouds: a random number of points per batch (``min_points`` ..
``points``), Gaussian jitter, a few outliers, xyz only. The model's output is a signed value, negative
inside; it is trained as an occupancy logit (``inside = sigmoid(-sdf)``), so marching cubes at level 0
extracts the 50% occupancy surface.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from gen3d.train.loop import fit, start_run


def corrupt(cloud: torch.Tensor, g: torch.Generator, jitter: float, outliers: float, n: int) -> torch.Tensor:
    """cloud [B, 3, N] -> [B, 3, n]: a random subset, jittered, with a fraction of uniform outliers."""
    b, _, m = cloud.shape
    idx = torch.stack([torch.randperm(m, generator=g)[:n] for _ in range(b)])
    x = torch.gather(cloud, 2, idx[:, None, :].expand(b, 3, n))
    x = x + torch.randn(x.shape, generator=g) * jitter
    k = int(round(outliers * n))
    if k:
        x[:, :, :k] = torch.rand((b, 3, k), generator=g) - 0.5
    return x.clamp(-0.5, 0.5)


def occupancy_loss(model, cloud: torch.Tensor, queries: torch.Tensor, occupancy: torch.Tensor) -> dict:
    sdf = model(cloud, queries)
    loss = F.binary_cross_entropy_with_logits(-sdf.float(), occupancy.float(), reduction="none").mean(1)
    acc = ((sdf < 0).float() == occupancy).float().mean(1)
    return {"loss": loss, "accuracy": acc.detach()}


def train(cfg: dict, run_dir: str | Path, *, max_steps: int | None = None, time_limit: float | None = None,
          device: str = "auto", quiet: bool = False) -> dict:
    from gen3d.train.data import batches

    run_dir = Path(run_dir)
    tc, dc = cfg["train"], cfg["data"]
    model, dev, seed, start = start_run(cfg, run_dir, device)
    it = batches(dc, tc["batch"], seed=seed, kind="sdf", start_step=start)
    g = torch.Generator().manual_seed(seed + 7919 * start)
    lo, hi = int(dc.get("min_points", 256)), int(cfg["model"].get("points", 512))  # encoder sees <= hi points

    def loss_fn(m, batch):
        n = int(torch.randint(lo, hi + 1, (1,), generator=g))
        cloud = corrupt(batch["cloud"].float(), g, float(dc.get("jitter", 0.004)), float(dc.get("outliers", 0.01)), n)
        return occupancy_loss(m, cloud.to(dev), batch["queries"].to(dev).float(), batch["occupancy"].to(dev))

    return fit(cfg, run_dir, model, loss_fn, it, dev, max_steps=max_steps, time_limit=time_limit, quiet=quiet)
