import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def golden_dir() -> Path:
    return Path(os.environ.get("GEN3D_GOLDEN_DIR", REPO.parent / "shared" / "pointe-reference" / "golden"))


@pytest.fixture(scope="session")
def golden() -> Path:
    d = golden_dir()
    if not (d / "README.json").is_file():
        # The golden vectors are part of the project's reference material: their absence is a failure.
        pytest.fail(f"golden folder {d} not found: set GEN3D_GOLDEN_DIR to a folder with README.json")
    return d
