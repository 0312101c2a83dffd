"""Text vectors -> coloured point clouds with a text-vector base model (and an optional upsampler).

One function for the pipeline, the training sample sheets and the evaluation, so they all sample the same way.
"""

from __future__ import annotations

from typing import Any

import torch

from gen3d.diffusion.gaussian import GaussianDiffusion
from gen3d.diffusion.samplers import Progress, ddim_steps, karras_heun_steps, run, to_raw, x0_predictor
from gen3d.pointcloud import PointCloud


def diffusion_for(config: dict) -> GaussianDiffusion:
    d = config.get("diffusion", {"schedule": "cosine", "timesteps": 1024})
    return GaussianDiffusion.named(d["schedule"], d["timesteps"], d.get("prediction", "eps"))


def sample_clouds(
    model: torch.nn.Module,
    config: dict,
    embeddings: torch.Tensor,
    *,
    points: int | None = None,
    seeds: list[int],
    sampler: str | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    spacing: float | None = None,
    progress: Progress | None = None,
    cancel: Any = None,
    autocast_ctx: Any = None,
    init: list[PointCloud] | None = None,
    strength: float = 1.0,
) -> list[PointCloud]:
    """Sample one cloud per row of ``embeddings`` (row i uses ``seeds[i]``, so a row's result does not
    depend on what else is in the batch). Returns clouds in the gen3d convention (xyz in [-0.5, 0.5],
    rgb 0..1, clamped). ``sampler``, ``steps``, ``guidance`` and ``spacing`` (DDIM's timestep spacing) default
    to the config's ``sampler`` section.

    ``init`` (DDIM only; one cloud of ``points`` points per row) with ``strength`` in (0, 1) is SDEdit:
    each cloud is noised to timestep ``strength * T`` and denoised from there, so the result keeps its
    shape while taking on the model's own look (the SDF decoder trains on such clouds). At ``strength``
    >= 1 the clouds are not used: plain samples."""
    import contextlib

    s = dict(config.get("sampler", {}))
    sampler = sampler or s.get("name", "heun")
    steps = steps or s.get("steps", 64)
    guidance = s.get("guidance_scale", 3.0) if guidance is None else guidance
    spacing = s.get("spacing", 1.0) if spacing is None else spacing
    n = points or config.get("points", 1024)
    device = embeddings.device
    diffusion = diffusion_for(config)
    gens = [torch.Generator().manual_seed(int(sd)) for sd in seeds]
    if len(gens) != len(embeddings):
        raise ValueError("one seed per prompt row is required")
    unit = torch.stack([torch.randn(6, n, generator=g) for g in gens]).to(device)
    if init is not None and strength < 1:
        if sampler != "ddim" or len(init) != len(gens):
            raise ValueError("init clouds need the ddim sampler and one cloud per prompt row")
        from gen3d.diffusion.samplers import ddim_timesteps

        x0 = torch.stack([torch.from_numpy(c.to_model_space()).float() for c in init]).to(device)
        if x0.shape[-1] != n:
            raise ValueError(f"init clouds must have {n} points, not {x0.shape[-1]}")
        t0 = int(ddim_timesteps(diffusion.num_timesteps, steps, strength, spacing)[0])
        unit = diffusion.q_sample(x0, torch.full((len(x0),), t0, dtype=torch.long, device=device), unit)
    f = x0_predictor(model, diffusion, {"embeddings": embeddings}, {"embeddings": torch.zeros_like(embeddings)},
                     guidance_scale=guidance, clip_denoised=s.get("clip_denoised", True),
                     guidance_interval=s.get("guidance_interval"))
    with torch.no_grad(), (autocast_ctx or contextlib.nullcontext()):
        if sampler == "heun":
            sigma_max = s.get("sigma_max", 120.0)
            it = karras_heun_steps(f, diffusion, unit * sigma_max, steps=steps, sigma_min=s.get("sigma_min", 1e-3),
                                   sigma_max=sigma_max, rho=s.get("rho", 7.0), s_churn=s.get("s_churn", 0.0),
                                   generator=gens, progress=progress, cancel=cancel)
        elif sampler == "ddim":
            it = ddim_steps(f, diffusion, unit, steps=steps, eta=s.get("eta", 0.0), generator=gens,
                            progress=progress, cancel=cancel, strength=strength, spacing=spacing)
        else:
            raise ValueError(f"unknown sampler {sampler!r}: use 'heun' or 'ddim'")
        x = run(it).float().clamp(-1, 1)
    raw = to_raw(x).cpu().numpy()
    return [PointCloud(r[:3].T, r[3:6].T / 255.0) for r in raw]


def upsample_clouds(
    model: torch.nn.Module,
    config: dict,
    clouds: list[PointCloud],
    *,
    seeds: list[int],
    steps: int | None = None,
    progress: Progress | None = None,
    cancel: Any = None,
) -> list[PointCloud]:
    """Add ``config["points"]`` new points to each low-res cloud with an upsampler (Point-E upsample layout;
    Karras Heun, no guidance, the grid input left at zeros). Cloud i's noise comes from ``seeds[i] + 1``.
    Returns each low-res cloud followed by its new points (gen3d convention, clamped)."""
    import numpy as np

    s = dict(config.get("sampler", {}))
    device = next(model.parameters()).device
    low = torch.stack([torch.from_numpy(np.concatenate([c.xyz.T, c.rgb.T * 255.0]).astype(np.float32))
                       for c in clouds]).to(device)
    diffusion = diffusion_for(config)
    gens = [torch.Generator().manual_seed(int(sd) + 1) for sd in seeds]
    if len(gens) != len(clouds):
        raise ValueError("one seed per cloud is required")
    sigma_max = s.get("sigma_max", 160.0)
    x_T = torch.stack([torch.randn(6, int(config["points"]), generator=g) for g in gens]).to(device) * sigma_max
    f = x0_predictor(model, diffusion, {"low_res": low}, clip_denoised=s.get("clip_denoised", True))
    with torch.no_grad():
        x = run(karras_heun_steps(f, diffusion, x_T, steps=steps or s.get("steps", 64),
                                  sigma_min=s.get("sigma_min", 1e-3), sigma_max=sigma_max, rho=s.get("rho", 7.0),
                                  s_churn=s.get("s_churn", 0.0), generator=gens, progress=progress,
                                  cancel=cancel)).float().clamp(-1, 1)
    new = to_raw(x).cpu().numpy()
    return [PointCloud(np.concatenate([c.xyz, n[:3].T]), np.clip(np.concatenate([c.rgb, n[3:6].T / 255.0]), 0, 1))
            for c, n in zip(clouds, new, strict=True)]
