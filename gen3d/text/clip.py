"""OpenAI CLIP ViT-L/14 text tower for the official Point-E text model (base40M-textvec).

Point-E conditions on OpenAI CLIP's ``encode_text(clip.tokenize(prompts, truncate=True))``, L2-normalised:
the EOT token's final-layer state, projected to 768-d. Two backends compute that same vector:

- ``transformers`` (default when open-clip-torch cannot be imported): ``CLIPTextModelWithProjection`` and the
  CLIP tokenizer from the Hugging Face repo ``openai/clip-vit-large-patch14`` (OpenAI's weights, converted);
  ``text_embeds`` is the projected EOT state.
- ``open_clip`` (open-clip-torch with its ``openai`` weights): used when it imports. open-clip imports
  torchvision, which must be a build made for the installed torch.

Weights, in order: ``path=`` or ``GEN3D_CLIP_PATH`` (a local folder written by ``save_pretrained``: model +
tokenizer; always the transformers backend, no network), else the Hugging Face cache (``HF_HUB_CACHE``),
downloaded there once (about 1.7 GB) when the Hub can be reached. ``GEN3D_CLIP_BACKEND`` (``auto`` |
``transformers`` | ``open_clip``) forces a backend. Every failure is a one-line :class:`TextEncoderError`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import warnings
from pathlib import Path

import torch

from gen3d.text.minilm import TextEncoderError

HUB_REPO = "openai/clip-vit-large-patch14"
HUB_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.json",
             "merges.txt", "special_tokens_map.json"]
PATH_ENV = "GEN3D_CLIP_PATH"
BACKEND_ENV = "GEN3D_CLIP_BACKEND"
BACKENDS = ("auto", "transformers", "open_clip")
INSTALL_HINT = "pip install 'gen3d[clip]'"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _hub_offline() -> bool:
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    if any(f.strip().upper() in ("1", "ON", "YES", "TRUE") for f in flags):
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _complete(folder: Path) -> bool:
    has_tok = (folder / "tokenizer.json").is_file() or (
        (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file())
    has_weights = (folder / "model.safetensors").is_file() or (folder / "pytorch_model.bin").is_file()
    return (folder / "config.json").is_file() and has_weights and has_tok


def hub_folder() -> Path:
    """The cached snapshot of ``openai/clip-vit-large-patch14``, downloading the files it lacks when online."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:
        raise TextEncoderError(f"the CLIP text encoder needs huggingface_hub: {INSTALL_HINT}") from e
    cache = os.environ.get("HF_HUB_CACHE") or None
    with contextlib.suppress(Exception):  # not cached yet (LocalEntryNotFoundError, a missing snapshot, ...)
        folder = Path(snapshot_download(HUB_REPO, allow_patterns=HUB_FILES, cache_dir=cache, local_files_only=True))
        if _complete(folder):
            return folder
    if _hub_offline():
        raise TextEncoderError(
            f"the CLIP ViT-L/14 weights ({HUB_REPO}, about 1.7 GB) are not downloaded and the Hugging Face Hub is "
            f"offline (HF_HUB_OFFLINE): run once with HF_HUB_OFFLINE=0 to download them, or set {PATH_ENV} to a "
            "folder saved with save_pretrained")
    try:
        folder = Path(snapshot_download(HUB_REPO, allow_patterns=HUB_FILES, cache_dir=cache))
    except Exception as e:  # noqa: BLE001 - network, HTTP and cache errors all become one line
        raise TextEncoderError(
            f"cannot download the CLIP ViT-L/14 weights ({HUB_REPO}) from the Hugging Face Hub ({_first_line(e)}): "
            f"check the network, or set {PATH_ENV} to a folder saved with save_pretrained") from e
    if not _complete(folder):
        raise TextEncoderError(f"the download of {HUB_REPO} into {folder} is incomplete: delete that folder and retry")
    return folder


@contextlib.contextmanager
def _quiet_transformers():
    """No "unexpected keys" report (the hub checkpoint also holds the vision tower) and no load progress bar."""
    from transformers.utils import logging as tlog

    level, bars = tlog.get_verbosity(), tlog.is_progress_bar_enabled()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        tlog.set_verbosity(level)
        if bars:
            tlog.enable_progress_bar()


class ClipTextEncoder:
    name = "clip-vit-l-14"
    dim = 768

    def __init__(self, device: str | torch.device = "cpu", pretrained: str | None = "openai",
                 path: str | os.PathLike | None = None, backend: str | None = None):
        """``path`` (else ``GEN3D_CLIP_PATH``): a local transformers folder. ``backend``: see the module doc.
        ``pretrained``: the open-clip weights tag (open_clip backend only)."""
        self.device = torch.device(device)
        path = path if path is not None else (os.environ.get(PATH_ENV) or None)
        backend = (backend or os.environ.get(BACKEND_ENV) or "auto").strip().lower().replace("-", "_")
        if backend not in BACKENDS:
            raise TextEncoderError(f"unknown CLIP backend {backend!r} ({BACKEND_ENV}): "
                                   f"use one of {', '.join(BACKENDS)}")
        if backend == "open_clip" and path is not None:
            raise TextEncoderError(f"a local CLIP folder ({PATH_ENV}) needs the transformers backend: unset "
                                   f"{BACKEND_ENV} or set it to transformers")
        if backend == "open_clip" or (backend == "auto" and path is None and self._open_clip_usable()):
            self._load_open_clip(pretrained)
        else:
            self._load_transformers(path)

    # ------------------------------------------------------------------------------------------------
    @staticmethod
    def _open_clip_usable() -> bool:
        if importlib.util.find_spec("open_clip") is None:
            return False
        try:
            with warnings.catch_warnings():  # a broken torchvision warns before it raises
                warnings.simplefilter("ignore")
                import open_clip  # noqa: F401
        except Exception:  # noqa: BLE001 - e.g. a torchvision built for another torch: use transformers
            return False
        return True

    def _load_open_clip(self, pretrained: str | None) -> None:
        try:
            import open_clip
        except Exception as e:  # noqa: BLE001 - ImportError, or torchvision failing inside the import
            raise TextEncoderError(
                f"open-clip-torch does not import ({_first_line(e)}): install a torchvision built for torch "
                f"{torch.__version__}, or use {BACKEND_ENV}=transformers") from e
        try:
            model = open_clip.create_model("ViT-L-14", pretrained=pretrained, device=self.device)
        except Exception as e:  # noqa: BLE001 - download and cache errors become one line
            raise TextEncoderError(
                f"open-clip cannot load ViT-L-14/{pretrained} ({_first_line(e)}): check the network, or use "
                f"{BACKEND_ENV}=transformers with {PATH_ENV}") from e
        self.backend = "open_clip"
        self.model = model.eval()
        self.tokenizer = open_clip.get_tokenizer("ViT-L-14")

    def _load_transformers(self, path: str | os.PathLike | None) -> None:
        try:
            from transformers import AutoTokenizer, CLIPTextModelWithProjection
        except ImportError as e:
            raise TextEncoderError(
                f"the Point-E text encoder (CLIP ViT-L/14) needs transformers: {INSTALL_HINT}") from e
        if path is not None:
            folder = Path(path).expanduser()
            if not _complete(folder):
                raise TextEncoderError(
                    f"{PATH_ENV}={folder} is not a CLIP text model folder (needs config.json, model.safetensors and "
                    "tokenizer files): write one with save_pretrained, or unset it to use the Hugging Face Hub")
        else:
            folder = hub_folder()
        try:
            with _quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
                model = CLIPTextModelWithProjection.from_pretrained(str(folder), local_files_only=True)
        except Exception as e:  # noqa: BLE001 - a broken or foreign folder is one line
            raise TextEncoderError(f"cannot load a CLIP text model from {folder} ({_first_line(e)})") from e
        if model.config.projection_dim != self.dim:
            raise TextEncoderError(f"the CLIP text model in {folder} gives {model.config.projection_dim}-d vectors; "
                                   f"Point-E needs {self.dim}-d (ViT-L/14)")
        self.backend = "transformers"
        self.folder = folder
        self.model = model.float().eval().to(self.device)
        self.tokenizer = tokenizer
        self.context_length = int(model.config.max_position_embeddings)  # 77: OpenAI's truncate=True length

    # ------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, prompts: list[str]) -> torch.Tensor:
        if isinstance(prompts, str):
            prompts = [prompts]
        if self.backend == "open_clip":
            tokens = self.tokenizer(list(prompts)).to(self.device)
            feats = self.model.encode_text(tokens).float()
        else:
            # [SOT] + at most 75 BPE tokens + [EOT]; padding after EOT changes nothing (causal attention, EOT pooling)
            enc = self.tokenizer(list(prompts), padding=True, truncation=True, max_length=self.context_length,
                                 return_tensors="pt")
            out = self.model(input_ids=enc["input_ids"].to(self.device),
                             attention_mask=enc["attention_mask"].to(self.device))
            feats = out.text_embeds.float()
        return feats / feats.norm(dim=-1, keepdim=True)
