#!/usr/bin/env bash
# Set up (with test extras) and run the whole test suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"
export HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
# pytest exit code 5 (no tests collected) is a failure too.
[ "$rc" = "5" ] && { echo "no tests were collected: failing" >&2; exit 1; }
exit "$rc"
