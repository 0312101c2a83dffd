"""Train the point upsampler (Point-E upsample layout, sized for a CPU): a low-res cloud -> new points.

``gen3d train upsample --config assets/configs/gen3d-small-upsample.json --out runs/upsample``. Each item is
a cloud of ``cond_points + points`` surface points in farthest-point order (a shape cache, the user's mesh
folder or procedural shapes: all three sample that way), so its first ``cond_points`` points are a well spread
low-res cloud, like the base model's output, and the rest are the new points to generate. The low-res points
get a little jitter (xyz and colour) so that the base model's imperfect clouds are in distribution. Text
prompts have no CLIP image grid: the grid input stays zeros (so the model's condition dropout changes nothing).
"""

from __future__ import annotations

from pathlib import Path

import torch

from gen3d.diffusion.clouds import diffusion_for, upsample_clouds
from gen3d.diffusion.samplers import to_raw
from gen3d.train.loop import fit, start_run


def split(points: torch.Tensor, cond_points: int, g: torch.Generator, jitter: float = 0.0,
          color_jitter: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``points`` [B, 6, cond_points + M] in model space (FPS order) -> (low_res [B, 6, cond_points] in RAW units
    (xyz in [-0.5, 0.5], rgb 0..255) with per-example jitter of up to ``jitter`` (xyz, std) and
    ``color_jitter`` (rgb as a fraction of 255, std), new points [B, 6, M] in model space)."""
    low = to_raw(points[:, :, :cond_points].float())
    b = len(points)
    if jitter or color_jitter:
        scale = torch.rand((b, 1, 1), generator=g)  # from clean to the full jitter: the base's samples vary
        std = torch.tensor([jitter] * 3 + [color_jitter * 255.0] * 3)[None, :, None] * scale
        low = low + torch.randn(low.shape, generator=g) * std
    low = torch.cat([low[:, :3].clamp(-0.5, 0.5), low[:, 3:].clamp(0.0, 255.0)], dim=1)
    return low, points[:, :, cond_points:].float()


def sample_sheet(model, model_cfg: dict, low: torch.Tensor, truth: torch.Tensor, out: Path,
                 steps: int | None = None) -> Path:
    """A contact sheet of rows (low-res input, upsampled, ground truth) for fixed validation clouds: ``low``
    [K, 6, cond_points] raw units, ``truth`` [K, 6, points] model space (the true new points)."""
    import numpy as np

    from gen3d.pointcloud import PointCloud
    from gen3d.render import contact_sheet, render_points

    model.eval()
    lows = [PointCloud(c[:3].T.numpy(), c[3:].T.numpy() / 255.0) for c in low]
    ups = upsample_clouds(model, model_cfg, lows, seeds=list(range(len(lows))), steps=steps)
    truths = [PointCloud.from_model_space(c.numpy()) for c in truth]
    truths = [PointCloud(np.concatenate([lo.xyz, tr.xyz]), np.concatenate([lo.rgb, tr.rgb]))
              for lo, tr in zip(lows, truths, strict=True)]
    images, labels = [], []
    for lo, up, tr in zip(lows, ups, truths, strict=True):
        images += [render_points(c, size=(192, 192)) for c in (lo, up, tr)]
        labels += [f"input {len(lo)}", f"upsampled {len(up)}", f"truth {len(tr)}"]
    sheet = contact_sheet(images, cols=3, labels=labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def train(cfg: dict, run_dir: str | Path, *, max_steps: int | None = None, time_limit: float | None = None,
          device: str = "auto", init_from: str | None = None, data_folder: str | None = None,
          quiet: bool = False) -> dict:
    """Run (or resume) training in ``run_dir``; always leaves a resumable checkpoint. ``init_from`` starts from
    upsampler weights; ``data_folder`` trains on a user's meshes (their captions are not used)."""
    from gen3d.train.data import batches

    run_dir = Path(run_dir)
    tc, model_cfg = cfg["train"], cfg["model"]
    if model_cfg.get("kind") != "upsample":
        raise ValueError(f"train upsample needs a model of kind 'upsample', the config has {model_cfg.get('kind')!r}")
    model, dev, seed, start = start_run(cfg, run_dir, device, init_from)
    diffusion = diffusion_for(model_cfg)
    cond = int(model_cfg["cond_points"])
    total = cond + int(model_cfg["points"])  # the data's FPS prefix: low-res + new points
    data_cfg = dict(cfg["data"]) | {"points": total} | ({"folder": data_folder} if data_folder else {})
    it = batches(data_cfg, tc["batch"], seed=seed, kind="points", start_step=start)
    g = torch.Generator().manual_seed(seed + 7919 * start)
    jitter, color_jitter = float(data_cfg.get("jitter", 0.005)), float(data_cfg.get("color_jitter", 0.02))

    def loss_fn(m, batch):
        low, x = split(batch["points"], cond, g, jitter, color_jitter)
        t = torch.randint(0, diffusion.num_timesteps, (len(x),), device=dev)
        return diffusion.training_losses(m, x.to(dev), t, {"low_res": low.to(dev)})

    n_sheet = int(cfg.get("sample_count", 4))
    fixed: list[torch.Tensor] = []

    def on_checkpoint(ema_model, step):
        if n_sheet <= 0:
            return
        if not fixed:  # the same validation clouds (clean inputs) for every sheet of the run
            val = next(batches(data_cfg | {"workers": 0}, n_sheet, seed=seed + 99991, kind="points"))
            fixed.extend(split(val["points"], cond, torch.Generator().manual_seed(0)))
        sample_sheet(ema_model, model_cfg, fixed[0], fixed[1], run_dir / "samples" / f"step_{step:06d}.png")

    return fit(cfg, run_dir, model, loss_fn, it, dev, max_steps=max_steps, time_limit=time_limit,
               on_checkpoint=on_checkpoint, quiet=quiet)
