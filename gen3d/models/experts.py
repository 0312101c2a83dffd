"""Timestep experts: one network for the quiet (low-noise) steps, others for ranges of noisier ones.

A base model's JSON may list ``"experts": [{"file": "base_high_noise.safetensors", "t_range": [0.375, 1.0]}]``:
each expert is a network of the same architecture, usually fine-tuned from the base weights on only its range
of timesteps (``gen3d train base --set 'train.t_range=[lo,hi]'``), so its capacity goes to those steps (as in
eDiff-I's ensemble of expert denoisers). At sampling time every call goes to the expert whose range holds its
timestep, ``[lo*T, hi*T)`` (``hi = 1`` includes the last step), and to the base network otherwise. Sampling
costs the same as with one network; the weights take one more file per expert.
"""

from __future__ import annotations

import torch
from torch import nn


class TimestepExperts(nn.Module):
    """Routes each row of a call ``model(x, t, **kwargs)`` by its timestep: to the first expert whose
    ``[start, stop)`` holds ``t``, else to ``base``. Tensor kwargs with one row per sample are split alike."""

    def __init__(self, base: nn.Module, experts: list[tuple[int, int, nn.Module]]):
        super().__init__()
        if not experts:
            raise ValueError("TimestepExperts needs at least one expert: use the base network alone")
        ranges = sorted((a, b) for a, b, _ in experts)
        for (a0, b0), (a1, _) in zip(ranges, ranges[1:], strict=False):
            if a1 < b0:
                raise ValueError(f"expert timestep ranges [{a0}, {b0}) and [{a1}, ...) overlap")
        self.base = base
        self.experts = nn.ModuleList(m for _, _, m in experts)
        self.ranges = [(int(a), int(b)) for a, b, _ in experts]

    def route(self, t: torch.Tensor) -> torch.Tensor:
        """Per row: -1 for the base network, else the expert's index."""
        which = torch.full_like(t, -1, dtype=torch.long)
        for i, (a, b) in enumerate(self.ranges):
            which[(t >= a) & (t < b) & (which < 0)] = i
        return which

    def _net(self, i: int) -> nn.Module:
        return self.base if i < 0 else self.experts[i]

    def forward(self, x: torch.Tensor, t: torch.Tensor, **kwargs) -> torch.Tensor:
        which = self.route(t)
        first = int(which[0])
        if bool((which == first).all()):  # the usual case: a sampler calls with one timestep for the batch
            return self._net(first)(x, t, **kwargs)
        n = x.shape[0]
        out = None
        for i in which.unique().tolist():
            rows = which == i
            kw = {k: (v[rows] if torch.is_tensor(v) and v.ndim and v.shape[0] == n else v) for k, v in kwargs.items()}
            y = self._net(int(i))(x[rows], t[rows], **kw)
            if out is None:
                out = y.new_empty((n, *y.shape[1:]))
            out[rows] = y
        return out
