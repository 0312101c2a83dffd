"""Real engines for the engine-preset tests: Godot 3 (Debian's headless ``godot3-server``) imports GLBs with its
editor importer; Blender (the pip ``bpy`` module, in a subprocess) re-imports GLB, FBX and USDZ.

A missing tool skips the test locally and FAILS when CI=true (``bash scripts/setup.sh --test`` installs both).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GODOT_PROJECT = ROOT / "tests" / "engines" / "godot"
BLENDER_SCRIPT = ROOT / "tests" / "blender" / "engines_reimport.py"
GODOT = "godot3-server"
# lines Godot 3.2's server build prints at every exit, whatever the project: not import problems
GODOT_BENIGN = ("free_static: Condition \"p_ptr == __null\" is true", "At: core/os/memory.cpp:158")


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is not installed in CI: run bash scripts/setup.sh --test")
    pytest.skip(f"{what} is not installed (bash scripts/setup.sh --test installs it)")


def godot_problems(output: str) -> list[str]:
    """Godot's ERROR/WARNING lines (with their 'At:' line) except the exit noise every run prints."""
    lines = output.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith(("ERROR:", "WARNING:", "SCRIPT ERROR:")) and not any(b in line for b in GODOT_BENIGN):
            nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
            out.append(f"{line.strip()} {nxt}".strip())
    return out


def godot_import(files: list[Path], workdir: Path, timeout: float = 240) -> tuple[dict, list[str]]:
    """Import ``files`` (GLBs) into a fresh copy of tests/engines/godot with the headless editor, then load each
    imported scene as a game would -> ({file name: node tree}, problems Godot printed while doing it)."""
    exe = shutil.which(GODOT)
    if exe is None:
        _missing(f"{GODOT} (apt-get install godot3-server)")
    project = workdir / "godot_project"
    shutil.copytree(GODOT_PROJECT, project)
    for f in files:
        shutil.copy2(f, project / Path(f).name)
    home = workdir / "godot_home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ, HOME=str(home), LANG="en_US.UTF-8", LC_ALL="", XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"))
    imp = subprocess.run([exe, "--path", str(project), "--editor"], env=env, capture_output=True, text=True,
                         timeout=timeout)
    log = imp.stdout + imp.stderr
    assert "GEN3D_IMPORTED" in log, f"Godot's editor did not finish importing (rc {imp.returncode}):\n{log[-3000:]}"
    run = subprocess.run([exe, "--path", str(project), "--script", "res://check.gd"], env=env, capture_output=True,
                         text=True, timeout=timeout)
    out = run.stdout + run.stderr
    line = next((ln for ln in out.splitlines() if ln.startswith("GEN3D_JSON ")), None)
    assert line is not None, f"check.gd printed no result (rc {run.returncode}):\n{out[-3000:]}"
    return json.loads(line[len("GEN3D_JSON "):]), godot_problems(log) + godot_problems(out)


def walk(node: dict):
    """Every node of a node tree from :func:`godot_import` (depth first)."""
    yield node
    for child in node.get("children", []):
        yield from walk(child)


def blender_reimport(files: list[Path], workdir: Path, timeout: float = 300) -> dict:
    """Import each file (GLB, FBX, USDZ) into an empty Blender scene -> {file name: facts} (see
    tests/blender/engines_reimport.py). Blender runs in a subprocess: one bpy per process, its own user folders."""
    if importlib.util.find_spec("bpy") is None:
        _missing("bpy 4.2 (pip install 'bpy==4.2.*')")
    out = workdir / "blender_facts.json"
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(workdir / "blender_user"),
               XDG_CACHE_HOME=str(workdir / "blender_cache"), OMP_NUM_THREADS="1")
    for key in ("BLENDER_USER_RESOURCES", "XDG_CACHE_HOME"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, str(BLENDER_SCRIPT), str(out), *map(str, files)], env=env, cwd=workdir,
                          capture_output=True, text=True, timeout=timeout)
    assert out.is_file(), f"Blender wrote nothing (rc {proc.returncode}): {proc.stderr[-3000:]}"
    return json.loads(out.read_text())
