"""Fast start: ``gen3d --help`` (and the help of every command, and ``gen3d models list``) imports no torch,
no Ray and no renderer, checked in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "ray", "pyrender", "open3d", "trimesh", "numpy")
PROBE = """
import json, sys
sys.argv = ["gen3d", *json.loads(sys.argv[1])]
from gen3d.cli import main
try:
    main()
except SystemExit as e:
    code = e.code
else:
    code = 0
print("\\nMODULES " + json.dumps([m for m in {heavy} if m in sys.modules]) + " CODE " + str(code))
""".replace("{heavy}", repr(list(HEAVY)))


def _probe(args: list[str], tmp_path) -> tuple[list[str], str, str]:
    env = {**os.environ, "GEN3D_HOME": str(tmp_path)}
    res = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, env=env,
                         timeout=120)
    line = [x for x in res.stdout.splitlines() if x.startswith("MODULES ")][-1]
    mods, code = line[len("MODULES "):].rsplit(" CODE ", 1)
    return json.loads(mods), code, res.stdout


@pytest.mark.parametrize("args", [["--help"], ["batch", "--help"], ["render", "--help"], ["models", "--help"],
                                  ["models", "list"], ["models", "path"]])
def test_help_imports_nothing_heavy(args, tmp_path) -> None:
    mods, code, out = _probe(args, tmp_path)
    assert code in ("0", "None"), out
    assert mods == [], f"gen3d {' '.join(args)} imported {mods}"
    if args == ["--help"]:
        for cmd in ("batch", "render", "models", "make"):
            assert cmd in out
