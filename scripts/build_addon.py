#!/usr/bin/env python3
"""Build the installable Blender extension zip from blender_addon/.

    python scripts/build_addon.py                 # -> dist/gen3d_blender-<version>.zip
    python scripts/build_addon.py -o /tmp/gen3d.zip

The zip has blender_manifest.toml at its root (Blender 4.2+ "Install from Disk"; the same zip also
installs as a legacy add-on through its bl_info). Only the add-on's own .py/.toml files go in.
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "blender_addon"
REQUIRED = ("blender_manifest.toml", "__init__.py", "client.py", "jobs.py", "history.py", "preferences.py",
            "state.py", "connection.py", "operators/__init__.py", "operators/generate.py", "operators/server.py",
            "operators/history.py", "panels.py", "importer.py")


def manifest_version(text: str) -> str:
    m = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    if not m:
        raise SystemExit("error: blender_addon/blender_manifest.toml has no version: add version = \"X.Y.Z\"")
    return m.group(1)


def build(output: Path | None = None) -> Path:
    missing = [f for f in REQUIRED if not (SRC / f).is_file()]
    if missing:
        raise SystemExit(f"error: blender_addon/ is missing {', '.join(missing)}: restore them from git")
    manifest = (SRC / "blender_manifest.toml").read_text()
    try:
        import tomllib

        data = tomllib.loads(manifest)
        for key in ("id", "version", "name", "license", "blender_version_min", "permissions"):
            if key not in data:
                raise SystemExit(f"error: blender_manifest.toml lacks '{key}': add it (see Blender's manifest docs)")
    except ModuleNotFoundError:  # Python 3.10: no tomllib; the regex check below still runs
        pass
    version = manifest_version(manifest)
    out = output or ROOT / "dist" / f"gen3d_blender-{version}.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in SRC.rglob("*") if p.is_file() and p.suffix in (".py", ".toml")
                   and "__pycache__" not in p.parts and not p.name.startswith("."))
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for p in files:
            info = zipfile.ZipInfo(str(p.relative_to(SRC)), date_time=(2024, 1, 1, 0, 0, 0))  # reproducible
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, p.read_bytes())
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, help="zip path (default dist/gen3d_blender-<version>.zip)")
    args = ap.parse_args(argv)
    out = build(args.output)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
