#!/usr/bin/env bash
# Set up gen3d in ./.venv. Idempotent: safe to re-run.
#   bash scripts/setup.sh           runtime (CLI, renderer, classical meshers, USDZ, server, CLIP, engines)
#   bash scripts/setup.sh --test    also test tools: pytest, ruff, the glTF validator, bpy, ray, godot3-server,
#                                   pybullet (its real meshes, for scripts/bench_recon.py)
# Environment: SKIP_APT=1 skips the Debian packages (e.g. when not root).
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (use --test or nothing)" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# 1. Debian packages: headless EGL rendering (pyrender), open3d's libusb, OpenMP.
APT_PKGS="libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 libusb-1.0-0 libgomp1"
# --test also: Godot 3 headless (godot3-server, with the editor's importers) imports the GLBs the engine
# presets write (tests/test_engines.py, tests/test_engines_e2e.py)
if [ "$WITH_TEST" = "1" ]; then APT_PKGS="$APT_PKGS godot3-server"; fi
if [ "${SKIP_APT:-0}" != "1" ] && command -v apt-get >/dev/null 2>&1; then
  missing=""
  for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
    log "installing Debian packages:$missing"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
  fi
fi

# 2. Virtual environment, torch FIRST (the CPU build on local disk; a bare `torch` pulls CUDA).
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || { log "creating .venv"; "$PY" -m venv .venv; }
PIP=".venv/bin/python -m pip"
if ! .venv/bin/python -c 'import torch, sys; sys.exit(0 if torch.__version__.startswith("2.13.0") else 1)' 2>/dev/null; then
  log "installing torch==2.13.0 (CPU)"
  $PIP install -q torch==2.13.0
fi

# 3. The project with its extras (clip: transformers, already pulled in by the MiniLM encoder's package).
EXTRAS="render,classical,usd,server,clip,engines"
[ "$WITH_TEST" = "1" ] && EXTRAS="$EXTRAS,ray,test,docs,bench"
log "installing gen3d[$EXTRAS]"
$PIP install -q -e ".[$EXTRAS]"

# 4. Test-only tools: the Khronos glTF validator, and real Blender as a Python module (bpy 4.2 LTS shares
#    numpy 2 with .venv; bpy 5.0.1 needs numpy<2, so it gets its own .venv-bpy5).
if [ "$WITH_TEST" = "1" ]; then
  if [ -f scripts/package.json ] && [ ! -d scripts/node_modules/gltf-validator ]; then
    log "installing the Khronos glTF validator (npm)"
    (cd scripts && npm ci --no-audit --no-fund --silent 2>/dev/null || npm install --no-audit --no-fund --silent)
  fi
  if ! .venv/bin/python -c 'import importlib.metadata as m, sys; sys.exit(0 if m.version("bpy").startswith("4.2") else 1)' 2>/dev/null; then
    log "installing bpy 4.2 (Blender as a module) into .venv"
    $PIP install -q "bpy==4.2.*"
  fi
  [ -x .venv-bpy5/bin/python ] || { log "creating .venv-bpy5"; "$PY" -m venv .venv-bpy5; }
  if ! .venv-bpy5/bin/python -c 'import importlib.metadata as m, sys; sys.exit(0 if m.version("bpy") == "5.0.1" else 1)' 2>/dev/null; then
    log "installing bpy 5.0.1 into .venv-bpy5"
    .venv-bpy5/bin/python -m pip install -q "bpy==5.0.1" "numpy<2"
  fi
fi
log "done: activate with 'source .venv/bin/activate' or call .venv/bin/gen3d"
