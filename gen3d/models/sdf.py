"""Point cloud -> signed distance model (Point-E ``sdf`` layout): a transformer encodes the cloud's xyz into
latents; queries cross-attend to them. Negative means inside.

Two options size the layout for a CPU; with both off it is Point-E's, key for key:

- ``pos_emb="fourier"`` maps xyz to ``[xyz, sin(2^k pi xyz), cos(2^k pi xyz)]`` for ``k < fourier_freqs``
  (as Shap-E and 3DShape2VecSet do) before the input projections: attention logits between such features
  can express a shift-invariant, local kernel, which a bilinear form of raw xyz cannot.
- ``local_k=K`` also gives each query a description of its K nearest points in the FULL cloud (the
  encoder only sees a subsample of ``n_ctx`` points): distances to the nearest and to all K, the offset to
  the nearest, the offset to their centroid and how one-sided they are (see ``local_features``). The global
  latents then decide inside from outside and the points themselves place the surface, so a decoder with a
  few hundred latents can still resolve a chair leg.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gen3d.models.transformer import Perceiver, Transformer

LOCAL_FEATURES = 9
LOCAL_SCALE = 10.0  # box units -> O(1) features


def local_features(offsets: torch.Tensor) -> torch.Tensor:
    """``offsets`` [..., K, 3] (neighbour minus query, nearest first) -> [..., 9]: nearest distance, mean
    distance, nearest offset (3), centroid offset (3), and |centroid offset| / mean distance (0 when the
    neighbours surround the query, 1 when they all lie to one side), distances scaled by ``LOCAL_SCALE``."""
    o = offsets * LOCAL_SCALE
    d = o.norm(dim=-1)
    mean_d = d.mean(-1, keepdim=True)
    centroid = o.mean(-2)
    one_sided = centroid.norm(dim=-1, keepdim=True) / (mean_d + 1e-6)
    return torch.cat([d[..., :1], mean_d, o[..., 0, :], centroid, one_sided], dim=-1)


def knn_offsets(queries: torch.Tensor, cloud: torch.Tensor, k: int) -> torch.Tensor:
    """Batched, exact: queries [B, Q, 3], cloud [B, N, 3] -> offsets [B, Q, K, 3] to the K nearest points,
    nearest first (for training; the mesher uses a KD-tree, see ``knn_offsets_np``)."""
    k = min(k, cloud.shape[1])
    idx = torch.cdist(queries, cloud).topk(k, dim=-1, largest=False).indices  # sorted ascending
    b = torch.arange(cloud.shape[0], device=cloud.device)[:, None, None]
    return cloud[b, idx] - queries[:, :, None, :]


def knn_offsets_np(tree, xyz: np.ndarray, queries: np.ndarray, k: int, workers: int = 1) -> np.ndarray:
    """The same offsets [Q, K, 3] from a ``scipy.spatial.cKDTree`` over ``xyz`` (``workers=-1``: all cores)."""
    k = min(k, len(xyz))
    _, idx = tree.query(queries, k=k, workers=workers)
    idx = idx.reshape(len(queries), k)
    return xyz[idx] - queries[:, None, :]


class SDFModel(nn.Module):
    def __init__(
        self,
        *,
        width: int = 256,
        encoder_layers: int = 8,
        encoder_heads: int = 4,
        decoder_layers: int = 4,
        decoder_heads: int = 4,
        init_scale: float = 0.25,
        n_ctx: int = 4096,
        pos_emb: str = "linear",
        fourier_freqs: int = 6,
        local_k: int = 0,
    ):
        super().__init__()
        if pos_emb not in ("linear", "fourier"):
            raise ValueError(f"pos_emb must be 'linear' or 'fourier', not {pos_emb!r}")
        self.n_ctx = n_ctx
        self.pos_emb = pos_emb
        self.local_k = int(local_k)
        n_in = 3
        if pos_emb == "fourier":
            self.register_buffer("freqs", (2.0 ** torch.arange(fourier_freqs)) * torch.pi, persistent=False)
            n_in = 3 + 6 * fourier_freqs
        self.encoder_input_proj = nn.Linear(n_in, width)
        self.encoder = Transformer(width, encoder_layers, encoder_heads, init_scale)
        self.decoder_input_proj = nn.Linear(n_in + (LOCAL_FEATURES if self.local_k else 0), width)
        self.decoder = Perceiver(width, decoder_layers, decoder_heads, init_scale)
        self.ln_post = nn.LayerNorm(width)
        self.output_proj = nn.Linear(width, 1)

    def embed(self, xyz: torch.Tensor) -> torch.Tensor:
        """xyz [B, 3, N] -> input features [B, N, 3 (+ 6 * fourier_freqs)]."""
        x = xyz.permute(0, 2, 1).to(self.encoder_input_proj.weight.dtype)
        if self.pos_emb == "linear":
            return x
        args = (x[..., None] * self.freqs.to(x.dtype)).flatten(-2)
        return torch.cat([x, torch.sin(args), torch.cos(args)], dim=-1)

    def encode(self, point_clouds: torch.Tensor) -> torch.Tensor:
        """point_clouds [B, 3, N] xyz -> latents [B, N, width]."""
        return self.encoder(self.encoder_input_proj(self.embed(point_clouds)))

    def predict_sdf(self, queries: torch.Tensor, latents: torch.Tensor, local: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """queries [B, 3, Q] (and, with ``local_k``, their ``local_features`` [B, Q, 9]) -> sdf [B, Q]."""
        x = self.embed(queries).to(latents.dtype)
        if self.local_k:
            if local is None:
                raise ValueError("this SDF model needs the queries' local_features (it was built with local_k)")
            x = torch.cat([x, local.to(x.dtype)], dim=-1)
        x = self.ln_post(self.decoder(self.decoder_input_proj(x), latents))
        return self.output_proj(x)[..., 0]

    def forward(self, point_clouds: torch.Tensor, queries: torch.Tensor, local: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Encode ``point_clouds`` [B, 3, N] and predict at ``queries`` [B, 3, Q]. With ``local_k``, ``local``
        holds the queries' features from the full cloud (``local_features``); without it they are taken
        from ``point_clouds``."""
        if self.local_k and local is None:
            local = local_features(knn_offsets(queries.permute(0, 2, 1).float(),
                                               point_clouds.permute(0, 2, 1).float(), self.local_k))
        return self.predict_sdf(queries, self.encode(point_clouds), local)
