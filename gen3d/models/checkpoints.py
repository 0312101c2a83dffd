"""Loading and saving weights without ever running pickled code.

Our own format: ``NAME.safetensors`` (fp16 or fp32 state_dict) + ``NAME.json`` (the config, see configs.py).
Official Point-E ``.pt`` files: ``torch.load(weights_only=True)``, checked against a sha256 when one is
known, loaded with ``strict=True`` into the named config's network.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from gen3d.atomic import atomic_write
from gen3d.models.configs import build_model, named_config
from gen3d.registry import sha256_file  # noqa: F401 - re-exported: checkpoints verify with it


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupted, or does not fit its config."""


def save_checkpoint(
    model: nn.Module, config: dict, path: str | os.PathLike, dtype: torch.dtype | None = torch.float16
) -> Path:
    """Write ``path`` (.safetensors) and its ``.json`` config atomically; returns the weights path."""
    from safetensors.torch import save_file

    path = Path(path).with_suffix(".safetensors")
    state = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).contiguous().cpu()
             for k, v in model.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(state, tmp, metadata={"format": "pt"}))
    atomic_write(path.with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2) + "\n"))
    return path


def load_state_dict(path: str | os.PathLike, expected_sha256: str | None = None) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file {path} does not exist: check the path or run 'gen3d models download'")
    if expected_sha256 is not None:
        got = sha256_file(path)
        if got != expected_sha256:
            raise CheckpointError(
                f"{path} is corrupted (sha256 {got[:12]}..., expected {expected_sha256[:12]}...): "
                "delete it and download again"
            )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any parse failure means the file is unusable
        raise CheckpointError(f"cannot read weights {path} ({type(e).__name__}: {e}): re-download it") from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a plain state_dict of tensors")
    return state


def load_config(path: str | os.PathLike) -> dict:
    cfg = Path(path).with_suffix(".json")
    if not cfg.is_file():
        raise CheckpointError(f"config {cfg} is missing: every .safetensors needs its .json beside it")
    return json.loads(cfg.read_text())


def load_model(
    path: str | os.PathLike,
    config: dict | str | None = None,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    expected_sha256: str | None = None,
    experts: bool = True,
    expert_hashes: dict[str, str] | None = None,
) -> tuple[nn.Module, dict]:
    """Load weights (strict) into the network described by ``config`` (a dict, a named config, or None
    for the JSON next to a .safetensors file). Returns (model in eval mode, config).

    A config that lists ``experts`` (:mod:`gen3d.models.experts`) gives a :class:`TimestepExperts` around the
    base network, each expert's file read from beside ``path`` and, when ``expert_hashes`` is given (a model's
    ``sha256.json``), checked against it; ``experts=False`` loads the base network alone (fine-tuning)."""
    if config is None:
        config = load_config(path)
    elif isinstance(config, str):
        config = named_config(config)
    model = _load_network(path, config, expected_sha256)
    if experts and config.get("experts"):
        from gen3d.diffusion.gaussian import step_range
        from gen3d.models.experts import TimestepExperts

        T = int(config.get("diffusion", {}).get("timesteps", 1024))
        routed = []
        for e in config["experts"]:
            if not isinstance(e, dict) or "file" not in e or "t_range" not in e:
                raise CheckpointError(f"{path}'s config lists an expert without 'file' and 't_range': {e!r}")
            epath = Path(path).parent / e["file"]
            digest = None
            if expert_hashes is not None:
                if epath.name not in expert_hashes:
                    raise CheckpointError(f"expert {epath.name} has no recorded sha256: add it to sha256.json")
                digest = expert_hashes[epath.name]
            try:
                a, b = step_range(e["t_range"], T)
            except ValueError as err:
                raise CheckpointError(f"{path}'s expert {e['file']}: {err}") from err
            routed.append((a, b, _load_network(epath, config, digest)))
        model = TimestepExperts(model, routed)
    return model.to(device=device, dtype=dtype).eval(), config


def _load_network(path: str | os.PathLike, config: dict, expected_sha256: str | None) -> nn.Module:
    state = load_state_dict(path, expected_sha256)
    model = build_model(config)
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[0:2]
        raise CheckpointError(f"{path} does not match its config ({' '.join(first)})") from e
    return model
