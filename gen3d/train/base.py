"""Train the text-conditioned point diffusion model (Point-E text-vector layout, MiniLM text vectors).

``gen3d train base --config assets/configs/gen3d-small-base.json --out runs/base``: data -> model ->
(optional start from released weights) -> the shared loop (gen3d.train.loop.fit) with the diffusion loss
and periodic sample sheets of a fixed prompt list.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from gen3d.diffusion.clouds import diffusion_for, sample_clouds
from gen3d.diffusion.gaussian import check_t_range
from gen3d.text import get_text_encoder
from gen3d.train.loop import fit, start_run


class CaptionVectors:
    """Text vectors for captions, computed once per distinct caption."""

    def __init__(self, encoder):
        self.encoder = encoder
        self.cache: dict[str, torch.Tensor] = {}

    def __call__(self, captions: list[str]) -> torch.Tensor:
        todo = sorted({c for c in captions if c not in self.cache})
        if todo:
            for c, v in zip(todo, self.encoder.encode(todo), strict=True):
                self.cache[c] = v
        return torch.stack([self.cache[c] for c in captions])


def sample_sheet(model, model_cfg: dict, vectors: CaptionVectors, prompts: list[str], out: Path, points: int,
                 steps: int = 32) -> Path:
    """Render a model's samples for a fixed prompt list into one contact sheet PNG."""
    from gen3d.render import cloud_sheet

    model.eval()
    device = next(model.parameters()).device
    emb = vectors(prompts).to(device)
    clouds = sample_clouds(model, model_cfg, emb, points=points, seeds=list(range(len(prompts))), sampler="ddim",
                           steps=steps)
    sheet = cloud_sheet(clouds, labels=prompts)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def train(cfg: dict, run_dir: str | Path, *, max_steps: int | None = None, time_limit: float | None = None,
          device: str = "auto", init_from: str | None = None, data_folder: str | None = None,
          quiet: bool = False) -> dict:
    """Run (or resume) training in ``run_dir``; always leaves a resumable checkpoint. ``init_from`` starts a
    fine-tune from released weights; ``data_folder`` trains on a user's meshes + captions."""
    from gen3d.train.data import batches

    run_dir = Path(run_dir)
    tc, model_cfg = cfg["train"], cfg["model"]
    model, dev, seed, start = start_run(cfg, run_dir, device, init_from)
    diffusion = diffusion_for(model_cfg)
    vectors = CaptionVectors(get_text_encoder(model_cfg.get("text_encoder", "minilm"), device=dev))
    data_cfg = dict(cfg["data"]) | ({"folder": data_folder} if data_folder else {})
    it: Iterator[dict] = batches(data_cfg, tc["batch"], seed=seed, kind="points", start_step=start)

    t_bias = float(tc.get("t_bias", 1.0))
    t_range = check_t_range(tc.get("t_range", (0.0, 1.0)))
    if t_bias <= 0:
        raise ValueError(f"train.t_bias must be > 0 (1 = uniform timesteps), got {t_bias}")

    def loss_fn(m, batch):
        x = batch["points"].to(dev).float()
        emb = vectors(list(batch["caption"])).to(dev)
        t = diffusion.sample_timesteps(x.shape[0], dev, bias=t_bias, t_range=t_range)
        return diffusion.training_losses(m, x, t, {"embeddings": emb})

    prompts = cfg.get("sample_prompts", [])
    points = int(data_cfg.get("points", model_cfg.get("points", 256)))

    def on_checkpoint(ema_model, step):
        if prompts:
            sample_sheet(ema_model, model_cfg, vectors, prompts, run_dir / "samples" / f"step_{step:06d}.png", points)

    return fit(cfg, run_dir, model, loss_fn, it, dev, max_steps=max_steps, time_limit=time_limit,
               on_checkpoint=on_checkpoint, quiet=quiet)

