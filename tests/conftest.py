import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


GOLDEN_DIR = REPO / "tests" / "data" / "pointe-golden"  # vendored; GEN3D_GOLDEN_DIR points elsewhere


def golden_dir() -> Path:
    return Path(os.environ.get("GEN3D_GOLDEN_DIR", GOLDEN_DIR))


@pytest.fixture(scope="session")
def golden() -> Path:
    d = golden_dir()
    if not (d / "README.json").is_file():
        # The golden vectors are part of the project's reference material: their absence is a failure.
        pytest.fail(f"golden folder {d} not found: set GEN3D_GOLDEN_DIR to a folder with README.json")
    return d


def write_tiny_model(directory: Path, seed: int = 0) -> Path:
    """A tiny, randomly initialised model folder in the shipped format (real code path, cheap to run)."""
    import json

    import torch

    from gen3d.models.checkpoints import save_checkpoint
    from gen3d.models.configs import build_model

    cfg = json.loads((REPO / "assets" / "configs" / "gen3d-small-base.json").read_text())["model"]
    cfg["model"].update(width=64, layers=2, heads=4)
    cfg["points"] = 256
    cfg["sampler"]["steps"] = 8
    torch.manual_seed(seed)
    model = build_model(cfg)
    torch.nn.init.normal_(model.output_proj.weight, std=0.02)  # zero-init would collapse every point
    # the text vector is added to every point token (token_cond false); in an untrained model, random text
    # weights (amplified by guidance) pile the clipped points onto a few box corners, so the text is zeroed
    # here: the tiny model's clouds then match its unconditional ones (tests of the text path use real vectors)
    torch.nn.init.zeros_(model.clip_embed.weight)
    torch.nn.init.zeros_(model.clip_embed.bias)
    save_checkpoint(model, cfg, directory / "base.safetensors")
    return directory


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny_model"))
