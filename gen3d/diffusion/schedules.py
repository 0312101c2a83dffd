"""Noise schedules: Point-E's cosine and linear betas, and Karras/EDM sigmas."""

from __future__ import annotations

import math

import numpy as np
import torch


def betas_for_alpha_bar(num_steps: int, alpha_bar, max_beta: float = 0.999) -> np.ndarray:
    betas = [min(1 - alpha_bar((i + 1) / num_steps) / alpha_bar(i / num_steps), max_beta) for i in range(num_steps)]
    return np.array(betas, dtype=np.float64)


def cosine_betas(num_steps: int = 1024) -> np.ndarray:
    """alpha_bar(t) = cos^2(((t/T) + 0.008) / 1.008 * pi/2), betas capped at 0.999."""
    return betas_for_alpha_bar(num_steps, lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2)


def linear_betas(num_steps: int = 1024) -> np.ndarray:
    """Linear from 1e-4 to 0.02, both scaled by 1000/T."""
    scale = 1000 / num_steps
    return np.linspace(scale * 0.0001, scale * 0.02, num_steps, dtype=np.float64)


def named_betas(name: str, num_steps: int = 1024) -> np.ndarray:
    if name == "cosine":
        return cosine_betas(num_steps)
    if name == "linear":
        return linear_betas(num_steps)
    raise ValueError(f"unknown beta schedule {name!r}: use 'cosine' or 'linear'")


def karras_sigmas(steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> torch.Tensor:
    """EDM sigma ladder from sigma_max down to sigma_min (float32), with a trailing zero: [steps + 1]."""
    ramp = torch.linspace(0, 1, steps)
    min_inv, max_inv = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (max_inv + ramp * (min_inv - max_inv)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros([1])])
