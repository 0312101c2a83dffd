"""Point diffusion transformers in the Point-E layouts.

``TextVecPointDiffusion`` is the base40M-textvec layout: tokens ``[text, time, N points]``; the text vector
(L2-normalised by its encoder, all zeros for the unconditional branch) is multiplied by sqrt(dim) and
projected by ``clip_embed``. ``UpsamplePointDiffusion`` is the upsample layout: tokens
``[time, grid tokens, low-res points, new points]``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gen3d.models.transformer import MLP, Transformer, timestep_embedding


class _PointDiffusionBase(nn.Module):
    def __init__(
        self,
        *,
        input_channels: int = 6,
        output_channels: int = 12,
        width: int = 512,
        layers: int = 12,
        heads: int = 8,
        init_scale: float = 0.25,
        time_token_cond: bool = True,
    ):
        super().__init__()
        self.input_channels = input_channels
        self.output_channels = output_channels
        self.time_token_cond = time_token_cond
        self.time_embed = MLP(width, init_scale * math.sqrt(1.0 / width))
        self.ln_pre = nn.LayerNorm(width)
        self.backbone = Transformer(width, layers, heads, init_scale)
        self.ln_post = nn.LayerNorm(width)
        self.input_proj = nn.Linear(input_channels, width)
        self.output_proj = nn.Linear(width, output_channels)
        with torch.no_grad():
            self.output_proj.weight.zero_()
            self.output_proj.bias.zero_()

    @property
    def width(self) -> int:
        return self.backbone.width

    def _embed_time(self, t: torch.Tensor) -> torch.Tensor:
        return self.time_embed(timestep_embedding(t, self.width).to(self.input_proj.weight.dtype))

    def _forward_with_cond(self, x: torch.Tensor, cond: list[tuple[torch.Tensor, bool]]) -> torch.Tensor:
        """``cond``: (embedding [B, W] or [B, L, W], as_token) in token order; others are added."""
        h = self.input_proj(x.permute(0, 2, 1))
        for emb, as_token in cond:
            if not as_token:
                h = h + emb[:, None]
        prefix = [emb[:, None] if emb.dim() == 2 else emb for emb, as_token in cond if as_token]
        if prefix:
            h = torch.cat(prefix + [h], dim=1)
        h = self.ln_post(self.backbone(self.ln_pre(h)))
        if prefix:
            h = h[:, sum(p.shape[1] for p in prefix) :]
        return self.output_proj(h).permute(0, 2, 1)


class TextVecPointDiffusion(_PointDiffusionBase):
    """Text-vector conditioned point diffusion transformer (base40M-textvec layout)."""

    def __init__(self, *, text_dim: int = 768, cond_drop_prob: float = 0.1, token_cond: bool = True, **kw):
        super().__init__(**kw)
        self.text_dim = text_dim
        self.cond_drop_prob = cond_drop_prob
        self.token_cond = token_cond
        self.clip_embed = nn.Linear(text_dim, self.width)

    def forward(self, x: torch.Tensor, t: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        """x [B, C, N] in model space, t [B] integer timesteps, embeddings [B, text_dim] -> [B, 12, N]."""
        if embeddings.shape != (x.shape[0], self.text_dim):
            raise ValueError(f"embeddings must be [{x.shape[0]}, {self.text_dim}], got {tuple(embeddings.shape)}")
        emb = embeddings.to(self.clip_embed.weight.dtype)
        if self.training and self.cond_drop_prob > 0:
            keep = torch.rand(len(x), device=x.device) >= self.cond_drop_prob
            emb = emb * keep[:, None].to(emb)
        text = self.clip_embed(math.sqrt(self.text_dim) * emb)
        cond = [(text, self.token_cond), (self._embed_time(t), self.time_token_cond)]
        return self._forward_with_cond(x, cond)


class UpsamplePointDiffusion(_PointDiffusionBase):
    """Upsampler (upsample layout): denoises new points given low-res points and a CLIP image grid."""

    def __init__(
        self,
        *,
        cond_input_channels: int | None = None,
        grid_tokens: int = 256,
        grid_feature_dim: int = 1024,
        channel_scales: list[float] | None = None,
        channel_biases: list[float] | None = None,
        cond_drop_prob: float = 0.1,
        **kw,
    ):
        super().__init__(**kw)
        self.grid_tokens = grid_tokens
        self.grid_feature_dim = grid_feature_dim
        self.cond_drop_prob = cond_drop_prob
        self.cond_point_proj = nn.Linear(cond_input_channels or self.input_channels, self.width)
        self.clip_embed = nn.Sequential(nn.LayerNorm(grid_feature_dim), nn.Linear(grid_feature_dim, self.width))
        scales = channel_scales or [2.0, 2.0, 2.0, 2.0 / 255.0, 2.0 / 255.0, 2.0 / 255.0]
        biases = channel_biases or [0.0, 0.0, 0.0, -1.0, -1.0, -1.0]
        self.register_buffer("channel_scales", torch.tensor(scales, dtype=torch.float32))
        self.register_buffer("channel_biases", torch.tensor(biases, dtype=torch.float32))

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, low_res: torch.Tensor, grid: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x [B, C, N_new] model space; low_res [B, C, N_low] in RAW units (xyz, rgb 0..255);
        grid [B, grid_feature_dim, grid_tokens] CLIP image grid, zeros when None (text prompts)."""
        dtype = self.input_proj.weight.dtype
        low = low_res.to(dtype) * self.channel_scales[None, :, None].to(dtype)
        low = low + self.channel_biases[None, :, None].to(dtype)
        low_embed = self.cond_point_proj(low.permute(0, 2, 1))
        if grid is None:
            grid = torch.zeros(len(x), self.grid_feature_dim, self.grid_tokens, device=x.device, dtype=dtype)
        grid = grid.to(dtype)
        if self.training and self.cond_drop_prob > 0:
            keep = torch.rand(len(x), device=x.device) >= self.cond_drop_prob
            grid = grid * keep[:, None, None].to(grid)
        grid_embed = self.clip_embed(grid.permute(0, 2, 1))
        cond = [(self._embed_time(t), self.time_token_cond), (grid_embed, True), (low_embed, True)]
        return self._forward_with_cond(x, cond)
