"""Transformer blocks with the Point-E parameter layout (key for key).

Attention weights are laid out PER HEAD: ``c_qkv`` emits ``[B, T, heads, 3*d]`` which splits into q, k, v
(and ``c_kv`` emits ``[B, S, heads, 2*d]``). Attention runs through
``torch.nn.functional.scaled_dot_product_attention``; its default 1/sqrt(d) scale equals Point-E's
``d**-0.25`` on both q and k.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def init_linear(layer: nn.Linear, std: float) -> None:
    nn.init.normal_(layer.weight, std=std)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding ``[cos, sin]`` of (integer) timesteps ``t`` [B] -> [B, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """q [B, T, H, d], k/v [B, S, H, d] -> [B, T, H*d]."""
    b, t, h, d = q.shape
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return out.transpose(1, 2).reshape(b, t, h * d)


class MLP(nn.Module):
    def __init__(self, width: int, init_scale: float):
        super().__init__()
        self.c_fc = nn.Linear(width, width * 4)
        self.c_proj = nn.Linear(width * 4, width)
        init_linear(self.c_fc, init_scale)
        init_linear(self.c_proj, init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x)))


class MultiheadAttention(nn.Module):
    def __init__(self, width: int, heads: int, init_scale: float):
        super().__init__()
        self.heads = heads
        self.c_qkv = nn.Linear(width, width * 3)
        self.c_proj = nn.Linear(width, width)
        init_linear(self.c_qkv, init_scale)
        init_linear(self.c_proj, init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        qkv = self.c_qkv(x).view(b, t, self.heads, -1)
        q, k, v = qkv.chunk(3, dim=-1)
        return self.c_proj(_attend(q, k, v))


class MultiheadCrossAttention(nn.Module):
    def __init__(self, width: int, heads: int, init_scale: float):
        super().__init__()
        self.heads = heads
        self.c_q = nn.Linear(width, width)
        self.c_kv = nn.Linear(width, width * 2)
        self.c_proj = nn.Linear(width, width)
        init_linear(self.c_q, init_scale)
        init_linear(self.c_kv, init_scale)
        init_linear(self.c_proj, init_scale)

    def forward(self, x: torch.Tensor, data: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        s = data.shape[1]
        q = self.c_q(x).view(b, t, self.heads, -1)
        k, v = self.c_kv(data).view(b, s, self.heads, -1).chunk(2, dim=-1)
        return self.c_proj(_attend(q, k, v))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int, init_scale: float):
        super().__init__()
        self.attn = MultiheadAttention(width, heads, init_scale)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = MLP(width, init_scale)
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class ResidualCrossAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int, init_scale: float):
        super().__init__()
        self.attn = MultiheadCrossAttention(width, heads, init_scale)
        self.ln_1 = nn.LayerNorm(width)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = MLP(width, init_scale)
        self.ln_3 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, data: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), self.ln_2(data))
        return x + self.mlp(self.ln_3(x))


class Transformer(nn.Module):
    """A stack of pre-LN self-attention blocks (``resblocks.{i}``)."""

    def __init__(self, width: int, layers: int, heads: int, init_scale: float = 0.25):
        super().__init__()
        self.width = width
        scale = init_scale * math.sqrt(1.0 / width)
        self.resblocks = nn.ModuleList(ResidualAttentionBlock(width, heads, scale) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x)
        return x


class Perceiver(nn.Module):
    """A stack of cross-attention blocks: queries attend to a fixed set of latents (``resblocks.{i}``)."""

    def __init__(self, width: int, layers: int, heads: int, init_scale: float = 0.25):
        super().__init__()
        scale = init_scale * math.sqrt(1.0 / width)
        self.resblocks = nn.ModuleList(ResidualCrossAttentionBlock(width, heads, scale) for _ in range(layers))

    def forward(self, x: torch.Tensor, data: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, data)
        return x
