"""Samplers: Karras/EDM Heun (Point-E's bridge to a discrete model) and DDIM, both with classifier-free
guidance in x0 space over all channels, a progress callback and cancellation between steps.

An *x0 function* ``x0_fn(x_t, t) -> x0`` wraps a model, its diffusion and its conditioning; both samplers
drive one. ``x_t`` is in the variance-preserving space of the discrete diffusion, ``t`` integer timesteps.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from gen3d.diffusion.gaussian import GaussianDiffusion
from gen3d.diffusion.schedules import karras_sigmas

X0Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Progress = Callable[[int, int], None]

# Point-E maps raw point clouds (xyz in [-0.5, 0.5], rgb 0..255) to model space with these.
CHANNEL_SCALES = (2.0, 2.0, 2.0, 2.0 / 255.0, 2.0 / 255.0, 2.0 / 255.0)
CHANNEL_BIASES = (0.0, 0.0, 0.0, -1.0, -1.0, -1.0)


class Cancelled(RuntimeError):
    """Sampling was cancelled between steps."""


def to_raw(x: torch.Tensor) -> torch.Tensor:
    """Model space [B, 6, N] -> raw units (xyz / 2, rgb (v + 1) * 255 / 2), no clamping."""
    scales = torch.tensor(CHANNEL_SCALES, dtype=x.dtype, device=x.device)[None, :, None]
    biases = torch.tensor(CHANNEL_BIASES, dtype=x.dtype, device=x.device)[None, :, None]
    return (x - biases) / scales


def _is_cancelled(cancel: Any) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def randn_like(x: torch.Tensor, generator: torch.Generator | list[torch.Generator] | None) -> torch.Tensor:
    """Noise shaped like ``x``; with a list of generators, row i comes from generator i (so a row does not
    depend on the rest of the batch)."""
    if isinstance(generator, (list, tuple)):
        rows = [torch.randn(x.shape[1:], generator=g, dtype=x.dtype) for g in generator]
        return torch.stack(rows).to(x.device)
    return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)


def _cat_kwargs(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: torch.cat([a[k], b[k]], dim=0) for k in a}


def x0_predictor(
    model: Callable[..., torch.Tensor],
    diffusion: GaussianDiffusion,
    cond: dict[str, torch.Tensor],
    uncond: dict[str, torch.Tensor] | None = None,
    guidance_scale: float = 1.0,
    clip_denoised: bool = True,
    guidance_interval: tuple[float, float] | None = None,
) -> X0Fn:
    """Build ``x0_fn``. With ``uncond`` and a scale other than 0 or 1, runs one batch of
    [conditional rows; unconditional rows] and returns ``x0_u + s * (x0_c - x0_u)`` (each branch clamped
    to [-1, 1] first when ``clip_denoised``).

    ``guidance_interval = (lo, hi)`` guides only the steps with ``lo < t / T <= hi`` (T: the diffusion's
    timesteps) and runs the conditional rows alone elsewhere (Kynkaanniemi et al. 2024, "Applying guidance
    in a limited interval"); None guides every step."""
    guided = uncond is not None and guidance_scale not in (0.0, 1.0)
    both = _cat_kwargs(cond, uncond) if guided else cond
    lo, hi = guidance_interval if guidance_interval is not None else (-1.0, 2.0)
    if not lo < hi:
        raise ValueError(f"guidance_interval {guidance_interval} is empty; give (lo, hi) with lo < hi")

    def x0_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        frac = t.float() / diffusion.num_timesteps
        inside = (frac > lo) & (frac <= hi)
        if not guided or not bool(inside.any()):
            out = model(x, t, **cond)
            return diffusion.p_mean_variance(out, x.float(), t, clip_denoised)["pred_xstart"]
        xx, tt = torch.cat([x, x]), torch.cat([t, t])
        x0 = diffusion.p_mean_variance(model(xx, tt, **both), xx.float(), tt, clip_denoised)["pred_xstart"]
        c, u = x0.chunk(2)
        scale = torch.where(inside, guidance_scale, 1.0).to(c.dtype).reshape(-1, *([1] * (c.ndim - 1)))
        return u + scale * (c - u)

    return x0_fn


class SigmaToT:
    """Point-E's bridge: the (fractional) timestep where alpha_bar = 1/(sigma^2+1), by linear
    interpolation over alpha_bar, computed in float32 like the reference and cast DOWN to an integer."""

    def __init__(self, diffusion: GaussianDiffusion):
        self.ac = diffusion.alphas_cumprod
        self.n = diffusion.num_timesteps

    def fractional(self, sigma: float) -> float:
        sigma = np.float32(sigma)
        ac = np.float32(1.0) / (sigma**2 + np.float32(1.0))
        if ac > self.ac[0]:
            return 0.0
        if ac <= self.ac[-1]:
            return float(self.n - 1)
        # alphas_cumprod decreases with t: interpolate over the reversed (increasing) arrays.
        return float(np.interp(float(ac), self.ac[::-1], np.arange(self.n, dtype=np.float64)[::-1]))

    def __call__(self, sigmas: torch.Tensor) -> torch.Tensor:
        vals = [int(self.fractional(s)) for s in sigmas.detach().cpu().float().numpy()]
        return torch.tensor(vals, dtype=torch.long, device=sigmas.device)


def karras_heun_steps(
    x0_fn: X0Fn,
    diffusion: GaussianDiffusion,
    x_T: torch.Tensor,
    steps: int = 64,
    sigma_min: float = 1e-3,
    sigma_max: float = 120.0,
    rho: float = 7.0,
    s_churn: float = 0.0,
    s_tmin: float = 0.0,
    s_tmax: float = float("inf"),
    s_noise: float = 1.0,
    generator: torch.Generator | list[torch.Generator] | None = None,
    progress: Progress | None = None,
    cancel: Any = None,
) -> Iterator[dict[str, Any]]:
    """Heun's 2nd-order EDM sampler; ``x_T`` is unit noise already multiplied by ``sigma_max``.
    Yields ``{"i", "x", "sigma", "pred_xstart"}`` per step and finally ``{"x": sample}``."""
    sigmas = karras_sigmas(steps, sigma_min, sigma_max, rho).to(x_T.device)
    to_t = SigmaToT(diffusion)
    ones = x_T.new_ones([x_T.shape[0]])

    def denoise(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        s = sigma * ones
        c_in = (1.0 / (s**2 + 1) ** 0.5).reshape(-1, *([1] * (x.ndim - 1)))
        return x0_fn(x * c_in, to_t(s))

    x = x_T
    n = len(sigmas) - 1
    denoised = x
    for i in range(n):
        if _is_cancelled(cancel):
            raise Cancelled(f"cancelled at step {i} of {n}")
        gamma = min(s_churn / n, 2**0.5 - 1) if s_tmin <= sigmas[i] <= s_tmax else 0.0
        sigma_hat = sigmas[i] * (gamma + 1)
        if gamma > 0:
            eps = randn_like(x, generator) * s_noise
            x = x + eps * (sigma_hat**2 - sigmas[i] ** 2) ** 0.5
        denoised = denoise(x, sigma_hat)
        d = (x - denoised) / sigma_hat
        yield {"i": i, "x": x, "sigma": float(sigmas[i]), "pred_xstart": denoised}
        dt = sigmas[i + 1] - sigma_hat
        if sigmas[i + 1] == 0:
            x = x + d * dt
        else:
            x_2 = x + d * dt
            d_2 = (x_2 - denoise(x_2, sigmas[i + 1])) / sigmas[i + 1]
            x = x + (d + d_2) / 2 * dt
        if progress is not None:
            progress(i + 1, n)
    yield {"x": x, "pred_xstart": denoised}


def ddim_timesteps(num_timesteps: int, steps: int, strength: float = 1.0, spacing: float = 1.0) -> np.ndarray:
    """DDIM's timesteps, descending: ``steps`` of them from ``num_timesteps - 1`` to 0, at
    ``(num_timesteps - 1) * (i / (steps - 1)) ** spacing`` (1: evenly spaced; above 1: denser at low noise, as
    DDIM's "quadratic" 2; timesteps that round to the same integer are pushed apart, so there are always
    ``steps``), keeping those at or below ``strength * (num_timesteps - 1)`` (``strength < 1`` starts part way,
    from a noised cloud: SDEdit)."""
    if not spacing > 0:
        raise ValueError(f"spacing {spacing} must be > 0 (1 = evenly spaced timesteps)")
    if not 1 <= steps <= num_timesteps:
        raise ValueError(f"steps {steps} must be between 1 and the diffusion's {num_timesteps} timesteps")
    ts = ((num_timesteps - 1) * np.linspace(0, 1, steps) ** spacing).round().astype(np.int64)
    for i in range(1, len(ts)):  # ascending; make them distinct (the top one stays num_timesteps - 1)
        ts[i] = max(ts[i], ts[i - 1] + 1)
    for i in range(len(ts) - 2, -1, -1):
        ts[i] = min(ts[i], ts[i + 1] - 1)
    ts = ts[::-1]
    ts = ts[ts <= strength * (num_timesteps - 1) + 1e-9]
    if not len(ts):
        raise ValueError(f"strength {strength} keeps no DDIM step of {steps}; raise it")
    return ts


def ddim_steps(
    x0_fn: X0Fn,
    diffusion: GaussianDiffusion,
    x_T: torch.Tensor,
    steps: int = 50,
    eta: float = 0.0,
    generator: torch.Generator | list[torch.Generator] | None = None,
    progress: Progress | None = None,
    cancel: Any = None,
    strength: float = 1.0,
    spacing: float = 1.0,
) -> Iterator[dict[str, Any]]:
    """DDIM over ``steps`` timesteps of the discrete diffusion (``ddim_timesteps``: evenly spaced, or denser
    at low noise with ``spacing > 1``); ``x_T`` is unit noise, or with ``strength < 1`` a sample of x_t at the
    first of ``ddim_timesteps(T, steps, strength, spacing)``.
    Yields ``{"i", "x", "t", "pred_xstart"}`` per step and finally ``{"x": sample}``."""
    ts = ddim_timesteps(diffusion.num_timesteps, steps, strength, spacing)
    ac = diffusion.alphas_cumprod
    x = x_T
    x0 = x
    for i, t in enumerate(ts):
        if _is_cancelled(cancel):
            raise Cancelled(f"cancelled at step {i} of {len(ts)}")
        t_batch = torch.full((x.shape[0],), int(t), dtype=torch.long, device=x.device)
        x0 = x0_fn(x, t_batch)
        eps = diffusion.predict_eps(x, t_batch, x0)
        yield {"i": i, "x": x, "t": int(t), "pred_xstart": x0}
        a_t = float(ac[t])
        a_prev = float(ac[ts[i + 1]]) if i + 1 < len(ts) else 1.0
        sigma = eta * np.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
        x = np.sqrt(a_prev) * x0 + np.sqrt(max(1 - a_prev - sigma**2, 0.0)) * eps
        if sigma > 0:
            x = x + sigma * randn_like(x, generator)
        if progress is not None:
            progress(i + 1, len(ts))
    yield {"x": x, "pred_xstart": x0}


def run(steps_iter: Iterator[dict[str, Any]]) -> torch.Tensor:
    """Drain a sampler generator and return the final sample."""
    last = deque(steps_iter, maxlen=1)
    return last[0]["x"]
