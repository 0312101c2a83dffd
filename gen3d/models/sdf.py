"""Point cloud -> signed distance model (Point-E ``sdf`` layout): a transformer encodes the cloud's xyz into
latents; queries cross-attend to them. Negative means inside."""

from __future__ import annotations

import torch
from torch import nn

from gen3d.models.transformer import Perceiver, Transformer


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
    ):
        super().__init__()
        self.n_ctx = n_ctx
        self.encoder_input_proj = nn.Linear(3, width)
        self.encoder = Transformer(width, encoder_layers, encoder_heads, init_scale)
        self.decoder_input_proj = nn.Linear(3, width)
        self.decoder = Perceiver(width, decoder_layers, decoder_heads, init_scale)
        self.ln_post = nn.LayerNorm(width)
        self.output_proj = nn.Linear(width, 1)

    def encode(self, point_clouds: torch.Tensor) -> torch.Tensor:
        """point_clouds [B, 3, N] xyz -> latents [B, N, width]."""
        h = self.encoder_input_proj(point_clouds.permute(0, 2, 1).to(self.encoder_input_proj.weight.dtype))
        return self.encoder(h)

    def predict_sdf(self, queries: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """queries [B, 3, Q] -> sdf [B, Q]."""
        x = self.decoder_input_proj(queries.permute(0, 2, 1).to(latents.dtype))
        x = self.ln_post(self.decoder(x, latents))
        return self.output_proj(x)[..., 0]

    def forward(self, point_clouds: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        return self.predict_sdf(queries, self.encode(point_clouds))
