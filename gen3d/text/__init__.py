"""Text encoders: prompt strings -> L2-normalised vectors that condition the point diffusion model.

``minilm`` (bundled, 384-d, offline) serves gen3d's own models; ``clip-vit-l-14`` (768-d, OpenAI CLIP ViT-L/14
through transformers or open-clip-torch, see :mod:`gen3d.text.clip`) serves the official Point-E
base40M-textvec weights. Both satisfy :class:`TextEncoder`; both fail with a one-line :class:`TextEncoderError`.
"""

from __future__ import annotations

from typing import Protocol

import torch

from gen3d.text.minilm import TextEncoderError

__all__ = ["TextEncoder", "TextEncoderError", "get_text_encoder"]


class TextEncoder(Protocol):
    name: str
    dim: int

    def encode(self, prompts: list[str]) -> torch.Tensor:
        """[B, dim] float32, each row L2-normalised."""
        ...


def get_text_encoder(name: str, device: str | torch.device = "cpu") -> TextEncoder:
    if name == "minilm":
        from gen3d.text.minilm import MiniLMEncoder

        return MiniLMEncoder(device=device)
    if name == "clip-vit-l-14":
        from gen3d.text.clip import ClipTextEncoder

        return ClipTextEncoder(device=device)
    raise ValueError(f"unknown text encoder {name!r}: use 'minilm' or 'clip-vit-l-14'")
