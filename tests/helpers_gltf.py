"""Run the Khronos glTF validator (scripts/validate_gltf.mjs) from tests.

Missing node or validator: the test is skipped locally but FAILS when CI=true, so CI cannot pass
without actually validating.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "validate_gltf.mjs"
VALIDATOR = ROOT / "scripts" / "node_modules" / "gltf-validator"


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"glTF validator unavailable in CI: {reason}")
    pytest.skip(f"glTF validator unavailable: {reason} (run: bash scripts/setup.sh --test)")


def validate_gltf(*paths: str | Path) -> dict:
    """Validate files; returns the report dict. Does not assert (see :func:`assert_gltf_valid`)."""
    node = shutil.which("node")
    if node is None:
        _missing("node is not on PATH")
    if not VALIDATOR.is_dir():
        _missing("scripts/node_modules/gltf-validator is not installed")
    proc = subprocess.run(
        [node, str(SCRIPT), *map(str, paths)], capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode not in (0, 1):
        pytest.fail(f"validator crashed (rc={proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def assert_gltf_valid(*paths: str | Path) -> dict:
    """Zero errors and zero warnings for every file."""
    report = validate_gltf(*paths)
    for entry in report["files"]:
        assert entry["errors"] == 0 and entry["warnings"] == 0, json.dumps(entry, indent=1)[:3000]
    assert report["ok"]
    return report
