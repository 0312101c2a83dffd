"""GLB -> one clean Blender object: glTF importer, structural empties removed, at the 3D cursor, Z up,
real size, in a "Gen3D" collection, with the baked texture material and gen3d custom properties.
Main thread only."""

from __future__ import annotations

from pathlib import Path

import bpy
from mathutils import Matrix

COLLECTION = "Gen3D"
PROPS = ("gen3d_prompt", "gen3d_seed", "gen3d_model", "gen3d_job_id")


class ImportError_(RuntimeError):
    pass


def gen3d_collection(scene) -> bpy.types.Collection:
    col = bpy.data.collections.get(COLLECTION)
    if col is None:
        col = bpy.data.collections.new(COLLECTION)
    if scene.collection.children.get(col.name) is None:
        scene.collection.children.link(col)
    return col


def object_name(prompt: str) -> str:
    name = " ".join(prompt.split())[:60].strip()
    return name or "gen3d"


def import_glb(context, path: str | Path, prompt: str, seed: int, model: str = "", job_id: str = "",
               target_size: float | None = None) -> bpy.types.Object:
    """Import ``path`` and return the single mesh object made from it."""
    path = Path(path)
    if not path.is_file():
        raise ImportError_(f"{path} does not exist: generate the object again")
    scene = context.scene
    before = set(bpy.data.objects)
    result = bpy.ops.import_scene.gltf(filepath=str(path))
    if "FINISHED" not in result:
        raise ImportError_(f"Blender's glTF importer could not read {path.name}: generate it again")
    new = [o for o in bpy.data.objects if o not in before]
    meshes = [o for o in new if o.type == "MESH"]
    if not meshes:
        for o in new:
            bpy.data.objects.remove(o, do_unlink=True)
        raise ImportError_(f"{path.name} holds no mesh: generate it again")

    # bake every node transform (parents, the importer's Y-up -> Z-up) into the mesh data
    for o in meshes:
        if o.data.users > 1:
            o.data = o.data.copy()
        o.data.transform(o.matrix_world)
        o.parent = None
        o.matrix_world = Matrix.Identity(4)
    for o in new:  # structural empties, cameras, lights: not part of the asset
        if o.type != "MESH":
            bpy.data.objects.remove(o, do_unlink=True)
    obj = meshes[0]
    if len(meshes) > 1:
        with context.temp_override(active_object=obj, selected_editable_objects=meshes, object=obj):
            bpy.ops.object.join()

    mesh = obj.data
    # origin at the bottom centre (gen3d exports it there; enforce it for any GLB)
    xs = [v.co for v in mesh.vertices]
    if xs:
        lo = [min(c[i] for c in xs) for i in range(3)]
        hi = [max(c[i] for c in xs) for i in range(3)]
        centre = Matrix.Translation((-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]))
        mesh.transform(centre)
        extent = max(h - l for h, l in zip(hi, lo, strict=True))
        if target_size and extent > 0 and abs(extent - target_size) > 1e-4 * target_size:
            mesh.transform(Matrix.Scale(target_size / extent, 4))
    mesh.update()

    name = object_name(prompt)
    obj.name = name
    mesh.name = name
    obj.location = scene.cursor.location.copy()
    obj.rotation_euler = (0.0, 0.0, 0.0)
    obj.scale = (1.0, 1.0, 1.0)

    col = gen3d_collection(scene)
    for c in list(obj.users_collection):
        c.objects.unlink(obj)
    col.objects.link(obj)
    for mat in mesh.materials:
        if mat is not None and not mat.name.startswith("gen3d"):
            mat.name = f"gen3d {name}"

    obj["gen3d_prompt"] = prompt
    obj["gen3d_seed"] = int(seed)
    obj["gen3d_model"] = model or ""
    obj["gen3d_job_id"] = job_id or ""

    for o in context.view_layer.objects:
        o.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj
    return obj


def has_image_texture(obj) -> bool:
    for mat in obj.data.materials:
        if mat is None or not mat.use_nodes:
            continue
        if any(n.type == "TEX_IMAGE" and n.image is not None for n in mat.node_tree.nodes):
            return True
    return False
