#!/usr/bin/env python
"""Render the docs pictures of what a user receives today: the released pipeline at its default settings.

A fixed list of prompts (prompt i gets seed i; chosen before looking, never re-rolled) goes through
``gen3d.load_pipeline()`` + ``generate`` exactly as ``gen3d make PROMPT --seed i`` does, the GLBs are written to
``--glb-dir``, read back, and their final textured meshes tiled into a labelled contact sheet with gen3d's own
pyrender renderer (``docs/images/outputs.png``). With ``--blender`` the same GLBs are imported into a real
Blender scene through the add-on's importer (``blender_addon/importer.py``, at the add-on's default Size of 1 m),
laid out in a row and rendered (Cycles on the CPU by default) to ``docs/images/blender_import.png``.

    .venv/bin/python scripts/render_docs_images.py                      # docs/images/outputs.png
    .venv/bin/python scripts/render_docs_images.py --blender            # + docs/images/blender_import.png
    .venv/bin/python scripts/render_docs_images.py --prompts 2 --steps 4 --out-dir /tmp/d --tile 96
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# fixed before any picture was looked at: one prompt per kind of object the model knows (furniture, tableware,
# lighting, weapons, vehicles, plants, buildings); prompt i gets seed i
PROMPTS = ["a red chair", "a wooden table", "a blue mug", "a lamp", "a sword", "a green car", "a pine tree",
           "a house"]
MAX_PNG_BYTES = 1_000_000
ENGINES = ("cycles", "eevee", "workbench")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use WxH, e.g. 1600x600") from None
    if not (64 <= w <= 4096 and 64 <= h <= 4096):
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be between 64 and 4096")
    return w, h


def png_bytes(img, limit: int = MAX_PNG_BYTES) -> bytes:
    """The image as an optimised PNG; above ``limit`` bytes, as a 256-colour palette PNG (dithered)."""
    from PIL import Image

    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    if buf.tell() > limit:
        buf = io.BytesIO()
        img.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                    dither=Image.Dither.FLOYDSTEINBERG).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def generate(model: str, jobs: list[tuple[str, int]], glb_dir: Path, steps: int | None,
             texture_size: int) -> list[dict]:
    """One pipeline, then ``gen3d make``'s call per prompt; each GLB is written (atomically) to ``glb_dir``."""
    import gen3d
    from gen3d.cli.make import slug

    t0 = time.perf_counter()
    pipe = gen3d.load_pipeline(model, device="cpu")
    print(f"loaded {pipe.spec.name} in {time.perf_counter() - t0:.1f} s", flush=True)
    out = []
    for prompt, seed in jobs:
        t0 = time.perf_counter()
        asset = pipe.generate(prompt, seed=seed, steps=steps, texture_size=texture_size)
        glb = glb_dir / f"{slug(prompt)}_seed{seed}.glb"
        asset.save(glb, force=True)
        secs = time.perf_counter() - t0
        warn = "; ".join(asset.metadata.get("warnings", []))
        print(f"  {prompt!r} seed {seed}: {secs:.1f} s, {len(asset.mesh.faces)} faces -> {glb}"
              + (f" (warning: {warn})" if warn else ""), flush=True)
        out.append({"prompt": prompt, "seed": seed, "glb": str(glb), "model": pipe.spec.name, "seconds": secs})
    return out


def mesh_sheet(items: list[dict], tile: int, cols: int, label_size: int):
    """The GLBs as written, read back (centred, largest side 1) and rendered by gen3d's renderer, one tile each."""
    import numpy as np

    from gen3d.cli.render import load_geometry
    from gen3d.render import contact_sheet, render_mesh

    images = []
    for it in items:
        mesh = load_geometry(Path(it["glb"]))
        radius = float(np.linalg.norm(mesh.vertices, axis=1).max())  # keep the whole bounding sphere in view
        images.append(render_mesh(mesh, size=(tile, tile), distance=max(2.4, 1.06 * radius / np.sin(np.radians(15)))))
    labels = [f"{it['prompt']} (seed {it['seed']})" for it in items]
    return contact_sheet(images, cols=cols, labels=labels, label_size=label_size)


def blender_render(items: list[dict], out: Path, size: tuple[int, int], engine: str, samples: int,
                   timeout: float) -> dict:
    """Run the bpy worker (this script, ``--bpy-worker``) in a subprocess with its own Blender user folders."""
    import importlib.util

    if importlib.util.find_spec("bpy") is None:
        raise RuntimeError(f"bpy is not installed for {sys.executable}: run bash scripts/setup.sh --test")
    with tempfile.TemporaryDirectory(prefix="gen3d-docs-bpy-") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        for key, sub in (("BLENDER_USER_RESOURCES", "user"), ("XDG_CACHE_HOME", "cache"), ("HOME", "home")):
            env[key] = str(tmp / sub)
            (tmp / sub).mkdir()
        spec = {"items": items, "render": str(tmp / "render.png"), "size": list(size), "engine": engine,
                "samples": samples, "facts": str(tmp / "facts.json")}
        (tmp / "spec.json").write_text(json.dumps(spec))
        cmd = [sys.executable, str(Path(__file__).resolve()), "--bpy-worker", str(tmp / "spec.json")]
        try:
            proc = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Blender did not finish in {timeout:.0f} s: lower --samples or --blender-size"
                               ) from None
        facts_path = Path(spec["facts"])
        facts = json.loads(facts_path.read_text()) if facts_path.is_file() else {}
        if "error" in facts or not Path(spec["render"]).is_file():
            tail = facts.get("error") or (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"the Blender render failed (rc {proc.returncode}): {tail}")
        from PIL import Image

        img = Image.open(spec["render"]).convert("RGB")
        img.load()
    img = caption_strip(img, facts["objects"])
    from gen3d.atomic import atomic_write_bytes

    atomic_write_bytes(out, png_bytes(img), force=True)
    return facts


def caption_strip(img, objects: list[dict], font_size: int = 17):
    """The Blender render with each object's prompt and seed written under it (centred on its image x)."""
    from PIL import Image, ImageDraw, ImageFont

    w, h = img.size
    out = Image.new("RGB", (w, h + 2 * font_size + 14), (255, 255, 255))
    out.paste(img, (0, 0))
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default(size=font_size)
    for o in objects:
        for i, line in enumerate((o["prompt"], f"seed {o['seed']}")):
            tw = draw.textlength(line, font=font)
            x = min(max(2, o["x"] * w - tw / 2), w - tw - 2)
            draw.text((x, h + 5 + i * (font_size + 3)), line, fill=(40, 40, 40) if i == 0 else (110, 110, 110),
                      font=font)
    return out


# ------------------------------------------------------------------------------------------ inside Blender
def bpy_worker(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    facts: dict = {}
    try:
        facts = _bpy_scene_and_render(spec)
    except Exception as e:  # noqa: BLE001 - reported to the parent as one line
        facts = {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
    Path(spec["facts"]).write_text(json.dumps(facts))
    sys.stdout.flush()
    os._exit(0)  # bpy's atexit handlers can hang or crash a background process


def _bpy_scene_and_render(spec: dict) -> dict:
    import importlib.util
    import math

    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    mod_spec = importlib.util.spec_from_file_location("gen3d_addon_importer", ROOT / "blender_addon" / "importer.py")
    importer = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(importer)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    objs, gap = [], 0.3
    x = 0.0
    for it in spec["items"]:  # the add-on's import (default Size 1 m), each at the 3D cursor, left to right
        scene.cursor.location = (x, 0.0, 0.0)
        obj = importer.import_glb(bpy.context, it["glb"], it["prompt"], it["seed"], it["model"], target_size=1.0)
        bpy.context.view_layer.update()  # obj.dimensions is stale (the GLB's real size) until this
        obj.location.x += obj.dimensions.x / 2
        x += obj.dimensions.x + gap
        objs.append(obj)
    bpy.context.view_layer.update()

    bpy.ops.mesh.primitive_plane_add(size=60, location=(x / 2, 0, 0))
    ground = bpy.context.active_object
    mat = bpy.data.materials.new("ground")
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (0.6, 0.6, 0.62, 1)
    bsdf.inputs["Roughness"].default_value = 0.85
    ground.data.materials.append(mat)

    w, h = spec["size"]
    lo_x = min(o.location.x - o.dimensions.x / 2 for o in objs)
    hi_x = max(o.location.x + o.dimensions.x / 2 for o in objs)
    top = max(o.dimensions.z for o in objs)
    centre = Vector(((lo_x + hi_x) / 2, 0.0, top * 0.45))
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    cam.data.lens = 50
    scene.collection.objects.link(cam)
    scene.camera = cam
    half_fov = math.atan(cam.data.sensor_width / 2 / cam.data.lens)  # horizontal (sensor fit: the wider side)
    dist = ((hi_x - lo_x) / 2 * 1.04) / math.tan(half_fov) + 0.6
    elev = math.radians(16)
    cam.location = centre + Vector((0.0, -dist * math.cos(elev), dist * math.sin(elev)))
    cam.rotation_euler = (centre - cam.location).to_track_quat("-Z", "Y").to_euler()

    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy = 3.0
    sun.data.angle = math.radians(8)
    sun.rotation_euler = (math.radians(45), 0, math.radians(-35))
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("w")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.82, 0.86, 0.94, 1)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.8
    scene.world = world

    engine = spec["engine"]
    if engine == "cycles":
        scene.render.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = spec["samples"]
        scene.cycles.use_denoising = True
        scene.cycles.max_bounces = 4
    elif engine == "eevee":
        scene.render.engine = "BLENDER_EEVEE_NEXT" if bpy.app.version >= (4, 2, 0) else "BLENDER_EEVEE"
    else:
        scene.render.engine = "BLENDER_WORKBENCH"
        scene.display.shading.color_type = "TEXTURE"
        scene.display.shading.light = "STUDIO"
    scene.view_settings.view_transform = "Standard"  # the textures' colours as baked (no Filmic/AgX wash-out)
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = w, h, 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.filepath = spec["render"]
    t0 = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    secs = time.perf_counter() - t0
    placed = []
    for o in objs:  # where each object's foot lands in the image (for its caption)
        p = world_to_camera_view(scene, cam, Vector((o.location.x, o.location.y, 0.0)))
        placed.append({"prompt": o["gen3d_prompt"], "seed": o["gen3d_seed"], "x": p.x, "y": 1.0 - p.y,
                       "dimensions": [round(d, 3) for d in o.dimensions],
                       "textured": bool(importer.has_image_texture(o)), "faces": len(o.data.polygons)})
    return {"objects": placed, "engine": scene.render.engine, "render_seconds": secs,
            "blender": list(bpy.app.version)}


# ------------------------------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="gen3d-small", help="a registered model name or a model folder")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "images", help="where the PNGs go")
    ap.add_argument("--glb-dir", type=Path, default=Path(tempfile.gettempdir()) / "gen3d-docs-glbs",
                    help="where the generated GLBs go")
    ap.add_argument("--prompts", type=int, default=len(PROMPTS),
                    help=f"use the first N of the fixed prompts (default all {len(PROMPTS)})")
    ap.add_argument("--steps", type=int, default=None, help="diffusion steps (default: the model's, as gen3d make)")
    ap.add_argument("--texture-size", type=int, default=1024, help="texture size (default 1024, as gen3d make)")
    ap.add_argument("--tile", type=int, default=384, help="contact-sheet tile size in pixels")
    ap.add_argument("--cols", type=int, default=4)
    ap.add_argument("--label-size", type=int, default=18, help="caption font size in pixels")
    ap.add_argument("--blender", action="store_true", help="also render the GLBs imported into Blender")
    ap.add_argument("--blender-size", type=_size, default=(1600, 520), help="Blender render WxH (a caption "
                    "strip is added below)")
    ap.add_argument("--engine", choices=ENGINES, default="cycles", help="Blender render engine")
    ap.add_argument("--samples", type=int, default=16, help="Cycles samples (denoised)")
    ap.add_argument("--blender-timeout", type=float, default=1800.0, help="seconds before giving up on Blender")
    ap.add_argument("--bpy-worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.bpy_worker:
        return bpy_worker(args.bpy_worker)
    if not 1 <= args.prompts <= len(PROMPTS):
        print(f"error: --prompts must be between 1 and {len(PROMPTS)}", file=sys.stderr)
        return 2
    if args.tile < 32 or args.cols < 1 or args.label_size < 6:
        print("error: --tile must be at least 32, --cols at least 1 and --label-size at least 6", file=sys.stderr)
        return 2
    jobs = [(p, i) for i, p in enumerate(PROMPTS[:args.prompts])]
    sheet_path, blender_path = args.out_dir / "outputs.png", args.out_dir / "blender_import.png"
    try:
        from gen3d.atomic import atomic_write_bytes, check_outputs

        check_outputs([sheet_path] + ([blender_path] if args.blender else []), force=True)  # makes the folders
        args.glb_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        items = generate(args.model, jobs, args.glb_dir, args.steps, args.texture_size)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        sheet = mesh_sheet(items, args.tile, args.cols, args.label_size)
        atomic_write_bytes(sheet_path, png_bytes(sheet), force=True)
        print(f"wrote {sheet_path} ({sheet.size[0]}x{sheet.size[1]}, {sheet_path.stat().st_size // 1024} KB): "
              f"{len(items)} prompts, seeds 0-{len(items) - 1}, generated in {t_gen:.1f} s, "
              f"rendered in {time.perf_counter() - t0:.1f} s", flush=True)
        if args.blender:
            t0 = time.perf_counter()
            facts = blender_render(items, blender_path, args.blender_size, args.engine, args.samples,
                                   args.blender_timeout)
            print(f"wrote {blender_path} ({blender_path.stat().st_size // 1024} KB): Blender "
                  f"{'.'.join(map(str, facts['blender']))} {facts['engine']}, render {facts['render_seconds']:.1f} s, "
                  f"{time.perf_counter() - t0:.1f} s in all; textured: "
                  f"{sum(o['textured'] for o in facts['objects'])}/{len(facts['objects'])}", flush=True)
    except Exception as e:  # noqa: BLE001 - one line for the user, whatever failed
        if str(e) or type(e).__name__ != "Exit":  # a gen3d.cli helper's typer.Exit has printed its own line
            print(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
