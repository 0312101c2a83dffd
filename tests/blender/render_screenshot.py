"""Render the README picture: the add-on (installed from the built zip) generates an object through a running
``gen3d serve`` and imports it at the 3D cursor; Cycles (CPU) renders the scene. Not a test.

    .venv/bin/gen3d serve --port 8717 &                     # the model to show
    .venv/bin/python scripts/build_addon.py -o /tmp/gen3d_blender.zip
    BLENDER_USER_RESOURCES=$(mktemp -d) XDG_CACHE_HOME=$(mktemp -d) \\
      .venv/bin/python tests/blender/render_screenshot.py /tmp/gen3d_blender.zip http://127.0.0.1:8717 \\
      docs/images/blender_import.png --prompt "a red chair" --seed 7
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

MOD = "bl_ext.user_default.gen3d"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("zip")
    ap.add_argument("url")
    ap.add_argument("out", type=Path)
    ap.add_argument("--prompt", action="append", help="repeat for several objects (default: a red chair)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--variations", type=int, default=3)
    ap.add_argument("--quality", default="fast")
    ap.add_argument("--options", default="{}", help="extra server options as JSON")
    ap.add_argument("--token", default="")
    ap.add_argument("--samples", type=int, default=24)
    ap.add_argument("--size", default="720x420")
    args = ap.parse_args()

    import bpy  # noqa: I001
    import addon_utils  # noqa: F401 - needs bpy first
    from mathutils import Vector

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.extensions.package_install_files(filepath=args.zip, repo="user_default", enable_on_install=True)
    prefs = bpy.context.preferences.addons[MOD].preferences
    prefs.connection, prefs.server_url, prefs.token = "URL", args.url, args.token
    scene = bpy.context.scene

    objs = []
    jobs = [(p, args.seed + i) for p in (args.prompt or ["a red chair"]) for i in range(args.variations)]
    for k, (prompt, seed) in enumerate(jobs):  # side by side, each placed at the 3D cursor by the add-on
        scene.cursor.location = (k * 1.5, 0.0, 0.0)
        bpy.ops.gen3d.generate_sync(prompt=prompt, seed=seed, quality=args.quality, size=1.0,
                                    options_json=args.options)
        objs.append(bpy.context.view_layer.objects.active)

    bpy.ops.mesh.primitive_plane_add(size=40, location=(0, 0, 0))
    ground = bpy.context.active_object
    mat = bpy.data.materials.new("ground")
    mat.use_nodes = True
    mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0.55, 0.56, 0.58, 1)
    mat.node_tree.nodes["Principled BSDF"].inputs["Roughness"].default_value = 0.8
    ground.data.materials.append(mat)

    lo = Vector((min(o.location.x - o.dimensions.x / 2 for o in objs), -0.6, 0))
    hi = Vector((max(o.location.x + o.dimensions.x / 2 for o in objs), 0.6, max(o.dimensions.z for o in objs)))
    centre = (lo + hi) / 2
    cam_data = bpy.data.cameras.new("cam")
    cam_data.lens = 50
    cam = bpy.data.objects.new("cam", cam_data)
    scene.collection.objects.link(cam)
    dist = max(hi.x - lo.x, 2.0) * 1.6
    cam.location = centre + Vector((0.0, -dist, dist * 0.45))
    cam.rotation_euler = (centre - cam.location).to_track_quat("-Z", "Y").to_euler()
    scene.camera = cam
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy = 3.5
    sun.rotation_euler = (math.radians(50), 0, math.radians(30))
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("w")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.8, 0.85, 0.95, 1)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.7
    scene.world = world

    w, h = (int(v) for v in args.size.split("x"))
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = args.samples
    scene.cycles.use_denoising = True
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = w, h, 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.compression = 100
    args.out.parent.mkdir(parents=True, exist_ok=True)
    scene.render.filepath = str(args.out.resolve())
    bpy.ops.render.render(write_still=True)
    print(json.dumps({"out": str(args.out), "objects": [(o.name, o["gen3d_seed"], list(o.dimensions)) for o in objs],
                      "bytes": args.out.stat().st_size}))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
