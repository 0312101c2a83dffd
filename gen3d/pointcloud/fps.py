"""Farthest-point sampling of clouds: the learned decoder's encoder input, its training batches, the
evaluation classifier's input. (Training data has its own prefix-stable variant,
:func:`gen3d.data.sampling.farthest_point_sampling`.)"""

from __future__ import annotations

import numpy as np
import torch


def farthest_points(xyz: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` farthest-point-sampled rows of ``xyz`` (all rows when there are fewer), from row 0.

    Squared distances to the newest pick as ``|x|^2 - 2 x.c + |c|^2`` (one matrix-vector product and three
    in-place updates per pick, float64): 4,096 -> 2,048 points in ~0.04 s, against ~0.3 s for the batched
    torch loop, with the same picks."""
    m = len(xyz)
    if m <= n:
        return np.arange(m)
    x = np.ascontiguousarray(xyz, dtype=np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    idx = np.zeros(n, dtype=np.int64)
    nearest = np.full(m, np.inf)
    d = np.empty(m)
    j = 0
    for i in range(1, n):
        np.dot(x, x[j], out=d)
        d *= -2.0
        d += sq
        d += sq[j]
        np.minimum(nearest, d, out=nearest)
        j = int(nearest.argmax())
        idx[i] = j
    return idx


def farthest_points_batched(xyz: torch.Tensor, n: int) -> torch.Tensor:
    """Farthest points for a batch (training): xyz [B, N, 3] -> indices [B, n] (all N when N <= n), from row 0."""
    b, m, _ = xyz.shape
    if m <= n:
        return torch.arange(m, device=xyz.device).expand(b, m)
    idx = torch.zeros(b, n, dtype=torch.long, device=xyz.device)
    d = torch.full((b, m), float("inf"), device=xyz.device)
    rows = torch.arange(b, device=xyz.device)
    for i in range(1, n):
        d = torch.minimum(d, ((xyz - xyz[rows, idx[:, i - 1]][:, None]) ** 2).sum(-1))
        idx[:, i] = d.argmax(1)
    return idx
