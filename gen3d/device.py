"""Device selection: ``auto`` picks cuda, then mps, then cpu; an explicit device must exist."""

from __future__ import annotations

import contextlib

import torch

VALID = ("auto", "cpu", "cuda", "mps")


class DeviceError(ValueError):
    """An explicitly requested device is not available here."""


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    out = ["cpu"]
    if torch.cuda.is_available():
        out.insert(0, "cuda")
    if _mps_available():
        out.insert(0 if "cuda" not in out else 1, "mps")
    return out


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Turn ``auto|cpu|cuda|cuda:N|mps`` into a torch.device, never silently falling back."""
    if isinstance(name, torch.device):
        name = str(name)
    name = (name or "auto").strip().lower()
    base = name.split(":", 1)[0]
    if base not in VALID:
        raise DeviceError(f"unknown device {name!r}: use one of auto, cpu, cuda, mps")
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device 'cuda' was requested but no CUDA GPU is available: use --device cpu or auto")
    if base == "mps" and not _mps_available():
        raise DeviceError("device 'mps' was requested but Apple MPS is not available: use --device cpu or auto")
    return torch.device(name)


def autocast(device: torch.device, enabled: bool, dtype: torch.dtype = torch.bfloat16):
    """bf16 autocast on cpu/cuda when ``enabled``; a no-op context otherwise."""
    if not enabled or device.type not in ("cpu", "cuda"):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
