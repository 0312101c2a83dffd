"""FBX through Blender's own FBX exporter, run in a separate process (gen3d never imports bpy).

The asset is written as a GLB (normal map, tangents, collision nodes named the engine's way), Blender imports it
with its glTF importer and writes the FBX with the preset's axes and units, textures embedded. The file's
creation stamp is 1970-01-01 (or ``SOURCE_DATE_EPOCH``), so the same asset gives the same bytes. Blender comes
from, in order: ``GEN3D_BLENDER`` (a ``blender`` executable or a Python with ``bpy``), this Python when it has
``bpy`` (``pip install 'bpy==4.2.*'`` on Python 3.11), or ``blender`` on PATH.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from gen3d.atomic import atomic_write_bytes
from gen3d.export.engines import FBX_DEFAULT, get_preset, naming_for
from gen3d.export.glb import glb_bytes
from gen3d.export.metadata import merge_metadata
from gen3d.texture.asset import TexturedMesh

INSTALL_HINT = ("FBX export needs Blender: pip install 'bpy==4.2.*' (Python 3.11), or put blender on PATH, "
                "or set GEN3D_BLENDER to a blender executable")
TIMEOUT_S = 300

# Runs inside Blender (a separate process): argv ends with one JSON argument. Kept as text so that nothing in
# the gen3d process imports bpy (tests/test_layout.py).
BLENDER_SCRIPT = r'''
import datetime, json, os, sys
import bpy
from io_scene_fbx import export_fbx_bin

args = json.loads(sys.argv[-1])
_header = export_fbx_bin.fbx_header_elements
_stamp = datetime.datetime.fromtimestamp(args["epoch"], datetime.timezone.utc)
export_fbx_bin.fbx_header_elements = lambda root, scene_data, time=None: _header(root, scene_data, _stamp)
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=args["glb"])
main = bpy.data.objects.get(args["name"])
if main is None:
    raise SystemExit("the glTF import lost the asset node " + args["name"])
main["gen3d"] = args["metadata"]
for image in bpy.data.images:  # glTF images arrive packed; the FBX exporter embeds files
    if image.packed_file is not None:
        ext = ".jpg" if image.file_format == "JPEG" else ".png"
        path = os.path.join(args["tmp"], image.name + ext)
        with open(path, "wb") as fh:  # the GLB's own bytes: no re-encoding
            fh.write(image.packed_file.data)
        image.filepath_raw = path
        image.unpack(method="REMOVE")
metres = args["units"] == "m"
bpy.ops.export_scene.fbx(
    filepath=args["out"], use_selection=False, object_types={"MESH", "EMPTY"}, path_mode="COPY",
    embed_textures=True, axis_forward=args["forward"], axis_up=args["up"], apply_unit_scale=True,
    apply_scale_options="FBX_SCALE_UNITS" if metres else "FBX_SCALE_NONE", bake_space_transform=metres,
    use_custom_props=True, use_tspace=True, add_leaf_bones=False, bake_anim=False, use_mesh_modifiers=False,
)
print("gen3d-fbx-ok")
'''


class BlenderMissingError(RuntimeError):
    """No Blender to write FBX with."""


def blender_command() -> list[str] | None:
    """The command that runs a Python file inside Blender (the file and its arguments follow), or None."""
    chosen = os.environ.get("GEN3D_BLENDER")
    if chosen:  # an explicit choice that does not exist means no Blender (never a silent fallback)
        found = shutil.which(chosen)
        return _command_for(found) if found else None
    if importlib.util.find_spec("bpy") is not None:
        return [sys.executable]
    found = shutil.which("blender")
    return _command_for(found) if found else None


def _command_for(exe: str) -> list[str]:
    if Path(exe).name.startswith("python"):
        return [exe]
    return [exe, "--background", "--factory-startup", "--python-exit-code", "1", "--python"]


def require_blender() -> list[str]:
    cmd = blender_command()
    if cmd is None:
        raise BlenderMissingError(INSTALL_HINT)
    return cmd


def fbx_settings(preset: str | None) -> dict:
    p = get_preset(preset)
    if p is None:
        return {k: FBX_DEFAULT[k] for k in ("units", "up", "forward")}
    return {"units": p.units, "up": p.up, "forward": p.forward}


def fbx_bytes(asset: TexturedMesh, metadata: dict | None = None, name: str = "gen3d_asset",
              preset: str | None = None, images: str = "png", normal_png: bytes | None = None) -> bytes:
    """Serialise ``asset`` to FBX bytes with Blender (see the module docstring; ``normal_png``: as
    :func:`gen3d.export.glb.glb_bytes`)."""
    cmd = require_blender()
    settings = fbx_settings(preset)
    with tempfile.TemporaryDirectory(prefix="gen3d-fbx-") as tmp:
        t = Path(tmp)
        glb = t / f"{name}.glb"
        glb.write_bytes(glb_bytes(asset, metadata=metadata, name=name, naming=naming_for(preset, "fbx"),
                                  images=images, normal_png=normal_png))
        script = t / "gen3d_fbx.py"
        script.write_text(BLENDER_SCRIPT, encoding="utf-8")
        out = t / f"{name}.fbx"
        epoch = int(os.environ["SOURCE_DATE_EPOCH"]) if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit() else 0
        args = {"glb": str(glb), "out": str(out), "name": name, "tmp": tmp, "epoch": epoch,
                "metadata": json.dumps(merge_metadata(asset.metadata, metadata), sort_keys=True), **settings}
        argv = [*cmd, str(script)] + (["--"] if len(cmd) > 1 else []) + [json.dumps(args)]
        env = dict(os.environ, PYTHONHASHSEED="0")  # Blender's FBX ids are hashes of names: fixed across runs
        for key, sub in (("BLENDER_USER_RESOURCES", "blender_user"), ("XDG_CACHE_HOME", "cache")):
            if not env.get(key):
                (t / sub).mkdir()
                env[key] = str(t / sub)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, cwd=tmp)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Blender did not finish the FBX export in {TIMEOUT_S} s") from None
        if proc.returncode != 0 or "gen3d-fbx-ok" not in proc.stdout or not out.is_file():
            lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
            raise RuntimeError(f"Blender's FBX export failed (exit {proc.returncode}): "
                               f"{lines[-1] if lines else 'no output'}")
        # the texture paths name this random folder: the same asset must give the same bytes, so they get a
        # fixed stand-in of the same length (the textures themselves are embedded)
        stand_in = ("/gen3d" + "/_" * len(tmp))[:len(tmp)]
        return out.read_bytes().replace(tmp.encode(), stand_in.encode())


def write_fbx(asset: TexturedMesh, path: str | Path, force: bool = False, metadata: dict | None = None,
              preset: str | None = None, images: str = "png", normal_png: bytes | None = None) -> Path:
    """Write ``asset`` as an FBX file (atomic: nothing is left behind when Blender fails)."""
    path = Path(path)
    return atomic_write_bytes(path, fbx_bytes(asset, metadata, path.stem, preset, images, normal_png), force=force)
