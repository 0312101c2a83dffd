"""The learned mesh decoder: a Point-E-layout SDF model turned into an ``sdf_fn(points) -> sdf`` for the
coarse-to-fine grid mesher (gen3d.mesh.grid). The cloud is encoded once (subsampled by farthest-point
sampling to the model's ``points`` latent tokens); queries run in chunks without gradients."""

from __future__ import annotations

import numpy as np
import torch

from gen3d.pointcloud import PointCloud


def farthest_points(xyz: np.ndarray, n: int, start: int = 0) -> np.ndarray:
    """Indices of ``n`` farthest-point-sampled rows of ``xyz`` (all rows when there are fewer)."""
    m = len(xyz)
    if m <= n:
        return np.arange(m)
    idx = np.empty(n, dtype=np.int64)
    idx[0] = start
    d = np.full(m, np.inf)
    for i in range(1, n):
        d = np.minimum(d, ((xyz - xyz[idx[i - 1]]) ** 2).sum(1))
        idx[i] = int(d.argmax())
    return idx


def sdf_function(model: torch.nn.Module, config: dict, cloud: PointCloud, chunk: int = 16384):
    """Encode ``cloud`` and return ``sdf_fn(points [Q, 3]) -> np.ndarray [Q]`` (negative inside)."""
    device = next(model.parameters()).device
    n = int(config.get("points", 4096))
    xyz = cloud.xyz[farthest_points(cloud.xyz, n)]
    with torch.no_grad():
        latents = model.encode(torch.from_numpy(np.ascontiguousarray(xyz.T))[None].to(device))

    def sdf_fn(points: np.ndarray) -> np.ndarray:
        pts = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))
        out = np.empty(len(pts), dtype=np.float32)
        with torch.no_grad():
            for i in range(0, len(pts), chunk):
                q = pts[i : i + chunk].T[None].to(device)
                out[i : i + chunk] = model.predict_sdf(q, latents)[0].float().cpu().numpy()
        return out

    return sdf_fn
