"""Discrete Gaussian diffusion with Point-E's learned-range variance head.

The model outputs ``2*C`` channels: its prediction (first C) and a variance interpolation value (last C):
``log var = f*log(beta_t) + (1-f)*log(beta~_t)``, ``f = (value+1)/2``.
The prediction is epsilon (``prediction="eps"``, Point-E's; the default) or the velocity
``v = sqrt(abar)*eps - sqrt(1-abar)*x0`` (``prediction="v"``): x0 then comes out directly at high noise
instead of as an epsilon residual multiplied by up to sqrt(1/abar - 1) ~ 2e4 at the last step, which an
undertrained model cannot make precise enough (its first denoised guesses saturate at the box corners).
Training loss = MSE on the prediction + the variational bound term (with the mean detached).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from gen3d.diffusion.schedules import named_betas


def _extract(arr: np.ndarray, t: torch.Tensor, ndim: int) -> torch.Tensor:
    out = torch.from_numpy(arr).to(t.device)[t].float()
    return out.reshape(out.shape + (1,) * (ndim - 1))


def _mean_flat(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=list(range(1, x.ndim)))


def normal_kl(mean1, logvar1, mean2, logvar2) -> torch.Tensor:
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def _approx_std_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def discretized_gaussian_log_likelihood(x, means, log_scales) -> torch.Tensor:
    """Log-likelihood of data in [-1, 1] discretised to 256 bins (the t=0 decoder term)."""
    centered = x - means
    inv_stdv = torch.exp(-log_scales)
    cdf_plus = _approx_std_normal_cdf(inv_stdv * (centered + 1.0 / 255.0))
    cdf_min = _approx_std_normal_cdf(inv_stdv * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    cdf_delta = cdf_plus - cdf_min
    return torch.where(
        x < -0.999,
        log_cdf_plus,
        torch.where(x > 0.999, log_one_minus_cdf_min, torch.log(cdf_delta.clamp(min=1e-12))),
    )


PREDICTIONS = ("eps", "v")


def check_t_range(t_range) -> tuple[float, float]:
    """``(lo, hi)`` with 0 <= lo < hi <= 1, as floats; anything else is refused with the fix."""
    try:
        lo, hi = (float(v) for v in t_range)
    except (TypeError, ValueError):
        raise ValueError(f"t_range must be two fractions [lo, hi] of the schedule, got {t_range!r}") from None
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"t_range {t_range!r} must satisfy 0 <= lo < hi <= 1 (fractions of the schedule)")
    return lo, hi


def step_range(t_range, num_timesteps: int) -> tuple[int, int]:
    """``(lo, hi)`` fractions -> the integer timesteps ``[a, b)`` they cover (hi = 1 covers the last step)."""
    lo, hi = check_t_range(t_range)
    a = int(round(lo * num_timesteps))
    return a, max(int(round(hi * num_timesteps)), a + 1)


class GaussianDiffusion:
    """Schedule constants (float64 numpy, gathered per-timestep into float32) and the maths on them."""

    def __init__(self, betas: np.ndarray, prediction: str = "eps"):
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {', '.join(PREDICTIONS)}, got {prediction!r}")
        self.prediction = prediction
        self.betas = np.asarray(betas, dtype=np.float64)
        self.num_timesteps = len(self.betas)
        alphas = 1.0 - self.betas
        self.alphas_cumprod = np.cumprod(alphas)
        self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
        self.sqrt_alphas_cumprod = np.sqrt(self.alphas_cumprod)
        self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - self.alphas_cumprod)
        self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod)
        self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod - 1)
        self.posterior_variance = self.betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.posterior_log_variance_clipped = np.log(
            np.append(self.posterior_variance[1], self.posterior_variance[1:])
        )
        self.posterior_mean_coef1 = self.betas * np.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.posterior_mean_coef2 = (1.0 - self.alphas_cumprod_prev) * np.sqrt(alphas) / (1.0 - self.alphas_cumprod)

    @classmethod
    def named(cls, schedule: str = "cosine", num_steps: int = 1024, prediction: str = "eps") -> GaussianDiffusion:
        return cls(named_betas(schedule, num_steps), prediction)

    # forward process ---------------------------------------------------------------------------------
    def q_sample(self, x_start: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        noise = torch.randn_like(x_start) if noise is None else noise
        return (
            _extract(self.sqrt_alphas_cumprod, t, x_start.ndim) * x_start
            + _extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.ndim) * noise
        )

    def q_posterior(self, x_start: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor):
        mean = (
            _extract(self.posterior_mean_coef1, t, x_t.ndim) * x_start
            + _extract(self.posterior_mean_coef2, t, x_t.ndim) * x_t
        )
        return mean, _extract(self.posterior_log_variance_clipped, t, x_t.ndim)

    def predict_x0(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return (
            _extract(self.sqrt_recip_alphas_cumprod, t, x_t.ndim) * x_t
            - _extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.ndim) * eps
        )

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        return (_extract(self.sqrt_recip_alphas_cumprod, t, x_t.ndim) * x_t - x0) / _extract(
            self.sqrt_recipm1_alphas_cumprod, t, x_t.ndim
        )

    def split_prediction(self, pred: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor):
        """The model's prediction channels -> (eps, x0), unclipped."""
        if self.prediction == "eps":
            return pred, self.predict_x0(x_t, t, pred)
        a = _extract(self.sqrt_alphas_cumprod, t, x_t.ndim)
        s = _extract(self.sqrt_one_minus_alphas_cumprod, t, x_t.ndim)
        return s * x_t + a * pred, a * x_t - s * pred

    def target(self, x_start: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """What the model's prediction channels are trained to output."""
        if self.prediction == "eps":
            return noise
        a = _extract(self.sqrt_alphas_cumprod, t, x_start.ndim)
        s = _extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.ndim)
        return a * noise - s * x_start

    # reverse process ---------------------------------------------------------------------------------
    def p_mean_variance(self, model_output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, clip_denoised: bool):
        """From a raw model output [B, 2C, N] -> dict(mean, log_variance, pred_xstart, eps)."""
        c = x_t.shape[1]
        pred, v = model_output[:, :c].float(), model_output[:, c : 2 * c].float()
        min_log = _extract(self.posterior_log_variance_clipped, t, x_t.ndim)
        max_log = _extract(np.log(self.betas), t, x_t.ndim)
        frac = (v + 1) / 2
        log_variance = frac * max_log + (1 - frac) * min_log
        eps, x0 = self.split_prediction(pred, x_t.float(), t)
        if clip_denoised:
            x0 = x0.clamp(-1, 1)
        mean, _ = self.q_posterior(x0, x_t, t)
        return {"mean": mean, "log_variance": log_variance, "pred_xstart": x0, "eps": eps}

    # training ----------------------------------------------------------------------------------------
    def sample_timesteps(self, n: int, device: torch.device | str = "cpu", bias: float = 1.0,
                         t_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
        """``n`` training timesteps. ``bias`` = 1 is uniform; ``bias`` > 1 draws ``t = T * u**(1/bias)``, whose
        density grows as ``(t/T)**(bias-1)``: more of the training signal goes to the high-noise steps that
        decide an object's overall shape, less to the low-noise steps that refine its surface.

        ``t_range = (lo, hi)``, fractions of the schedule, keeps the draws in ``[lo*T, hi*T)``: the training
        range of a timestep expert (e.g. ``(0.35, 1)`` for one that only ever sees the noisier steps)."""
        a, b = step_range(t_range, self.num_timesteps)
        if bias <= 0:
            raise ValueError(f"timestep bias must be > 0, got {bias}")
        if bias == 1.0 and (a, b) == (0, self.num_timesteps):
            return torch.randint(0, self.num_timesteps, (n,), device=device)
        u = torch.rand(n, device=device) ** (1.0 / bias)
        return (a + u * (b - a)).long().clamp_(a, b - 1)

    def training_losses(
        self,
        model: Callable[..., torch.Tensor],
        x_start: torch.Tensor,
        t: torch.Tensor,
        model_kwargs: dict | None = None,
        noise: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Per-example losses: ``mse`` (on the prediction: epsilon or v), ``vb`` (bits/dim, mean detached),
        ``loss`` = mse + vb."""
        noise = torch.randn_like(x_start) if noise is None else noise
        x_t = self.q_sample(x_start, t, noise)
        out = model(x_t, t, **(model_kwargs or {})).float()
        c = x_start.shape[1]
        pred = out[:, :c]
        frozen = torch.cat([pred.detach(), out[:, c : 2 * c]], dim=1)
        vb = self._vb_bits(frozen, x_start, x_t, t)
        mse = _mean_flat((self.target(x_start, t, noise) - pred) ** 2)
        return {"mse": mse, "vb": vb, "loss": mse + vb}

    def _vb_bits(self, model_output, x_start, x_t, t) -> torch.Tensor:
        true_mean, true_log_var = self.q_posterior(x_start, x_t, t)
        out = self.p_mean_variance(model_output, x_t, t, clip_denoised=False)
        kl = _mean_flat(normal_kl(true_mean, true_log_var, out["mean"], out["log_variance"])) / math.log(2.0)
        nll = -discretized_gaussian_log_likelihood(x_start, out["mean"], 0.5 * out["log_variance"])
        nll = _mean_flat(nll) / math.log(2.0)
        return torch.where(t == 0, nll, kl)
