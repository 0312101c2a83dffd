"""OpenAI CLIP ViT-L/14 text tower (through open-clip-torch) for the official Point-E text model.

Point-E feeds the pooled, L2-normalised 768-d text embedding. The weights come from open-clip's own cache
(downloaded on first use where there is internet); ``pip install 'gen3d[clip]'`` installs the package.
"""

from __future__ import annotations

import torch


class ClipTextEncoder:
    name = "clip-vit-l-14"
    dim = 768

    def __init__(self, device: str | torch.device = "cpu", pretrained: str | None = "openai"):
        try:
            import open_clip
        except ImportError as e:
            raise RuntimeError(
                "the Point-E text encoder needs open-clip-torch: pip install 'gen3d[clip]'"
            ) from e
        self.device = torch.device(device)
        model = open_clip.create_model("ViT-L-14", pretrained=pretrained, device=self.device)
        self.model = model.eval()
        self.tokenizer = open_clip.get_tokenizer("ViT-L-14")

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(list(prompts)).to(self.device)
        feats = self.model.encode_text(tokens).float()
        return feats / feats.norm(dim=-1, keepdim=True)
