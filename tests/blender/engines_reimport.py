"""Runs inside real Blender (the pip ``bpy`` module, background): import each GLB / FBX / USDZ into an empty scene
and write what arrived as JSON for tests/helpers_engines.py::blender_reimport.

    python tests/blender/engines_reimport.py OUT.json FILE [FILE ...]
(BLENDER_USER_RESOURCES and XDG_CACHE_HOME should point at temp folders.)
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path


def material_facts(mat) -> dict:
    facts = {"name": mat.name, "images": [], "normal_map": False, "base_color_textured": False}
    if not mat.use_nodes:
        return facts
    for node in mat.node_tree.nodes:
        if node.type == "TEX_IMAGE" and node.image is not None:
            facts["images"].append({"name": node.image.name, "size": list(node.image.size)})
        if node.type == "NORMAL_MAP" and node.inputs["Color"].is_linked:
            facts["normal_map"] = True
        if node.type == "BSDF_PRINCIPLED" and node.inputs["Base Color"].is_linked:
            facts["base_color_textured"] = True
    return facts


def object_facts(obj) -> dict:
    facts = {"name": obj.name, "type": obj.type, "parent": obj.parent.name if obj.parent else None,
             "dimensions": list(obj.dimensions), "props": {k: str(obj[k])[:200] for k in obj.keys()}}
    if obj.type == "MESH":
        mesh = obj.data
        facts.update(vertices=len(mesh.vertices), polygons=len(mesh.polygons),
                     uv_layers=[uv.name for uv in mesh.uv_layers],
                     materials=[material_facts(m) for m in mesh.materials if m is not None])
    return facts


def world_box(objects) -> list[float]:
    from mathutils import Vector

    pts = [obj.matrix_world @ Vector(c) for obj in objects for c in obj.bound_box]
    if not pts:
        return []
    lo = [min(p[i] for p in pts) for i in range(3)]
    hi = [max(p[i] for p in pts) for i in range(3)]
    return [hi[i] - lo[i] for i in range(3)] + lo


def import_one(bpy, path: Path) -> dict:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    suffix = path.suffix.lower()
    if suffix == ".glb":
        result = bpy.ops.import_scene.gltf(filepath=str(path))
    elif suffix == ".fbx":
        result = bpy.ops.import_scene.fbx(filepath=str(path))
    elif suffix in (".usdz", ".usd", ".usda", ".usdc"):
        result = bpy.ops.wm.usd_import(filepath=str(path))
    else:
        raise ValueError(f"cannot import {path.name}")
    objects = list(bpy.context.scene.objects)
    meshes = [o for o in objects if o.type == "MESH"]
    return {
        "result": sorted(result),
        "objects": [object_facts(o) for o in objects],
        "box": world_box(meshes),  # [dx, dy, dz, min x, min y, min z] over every mesh, in Blender's Z-up metres
    }


def main(out: str, files: list[str]) -> dict:
    import bpy

    facts: dict = {"version": list(bpy.app.version)}
    for f in files:
        try:
            facts[Path(f).name] = import_one(bpy, Path(f))
        except Exception:  # noqa: BLE001 - reported to the test
            facts[Path(f).name] = {"error": traceback.format_exc()}
    Path(out).write_text(json.dumps(facts, indent=1))
    return facts


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
