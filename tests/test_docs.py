"""The docs: `mkdocs build --strict` succeeds, and README / model card stay short and keep the two commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MODEL_CARD = ROOT / "assets" / "models" / "gen3d-small" / "MODEL_CARD.md"
COMMANDS = [
    'bash scripts/setup.sh && .venv/bin/gen3d make "a red chair"',
    "bash scripts/test.sh",
]


def test_readme_is_short_and_keeps_the_two_commands():
    size = README.stat().st_size
    assert size <= 10_240, f"README.md is {size} bytes; keep it <= 10,240 (move details into docs/)"
    text = README.read_text(encoding="utf-8")
    for command in COMMANDS:
        assert command in text, f"README.md lost the command {command!r}"


def test_model_card_is_short():
    size = MODEL_CARD.stat().st_size
    assert size <= 15_360, f"MODEL_CARD.md is {size} bytes; keep it <= 15,360 (history goes to docs/model-history.md)"


def test_mkdocs_build_strict(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    site = tmp_path / "site"
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "gen3d make" in cli and "--mesh-resolution" in cli, "the CLI reference was not generated from the app"
    api = (site / "python-api" / "index.html").read_text(encoding="utf-8")
    assert "generate_many" in api and "load_pipeline" in api, "the Python API reference is missing"
    card = (site / "model-card" / "index.html").read_text(encoding="utf-8")
    assert "0.908" in card, "the model card was not included"
