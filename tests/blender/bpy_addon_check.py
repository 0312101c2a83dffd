"""Runs inside real Blender (the pip ``bpy`` module, background): install the built zip as an extension,
enable, register/unregister, generate synchronously against a running server, inspect the imported
object, undo. Writes every observation as JSON for tests/blender/test_addon_bpy.py to assert on.

    python tests/blender/bpy_addon_check.py ZIP SERVER_URL OUT.json [--token T] [--executable GEN3D --model DIR]
(BLENDER_USER_RESOURCES and XDG_CACHE_HOME should point at temp folders.)
"""

from __future__ import annotations

import json
import struct
import sys
import traceback
from pathlib import Path

MOD = "bl_ext.user_default.gen3d"
CHEAP = {"steps": 8, "mesher": "poisson", "texture_size": 256}


def gen3d_types(bpy) -> list[str]:
    return sorted(n for n in dir(bpy.types) if n.startswith("GEN3D"))


def glb_extent(path: Path) -> list[float]:
    data = path.read_bytes()
    n = struct.unpack("<I", data[12:16])[0]
    doc = json.loads(data[20:20 + n])
    acc = doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]
    return [hi - lo for hi, lo in zip(acc["max"], acc["min"], strict=True)]


def op_error(fn, **kw) -> str:
    try:
        r = fn(**kw)
    except RuntimeError as e:
        return str(e)
    return f"no error ({r})"


class RNALayout:
    """Stands in for UILayout when calling the panels' draw() in background Blender (which draws no UI):
    every call is checked against UILayout's RNA (the function exists, keyword parameters exist, enum
    values such as icon names are valid, properties and operators named exist); sub-layouts likewise."""

    SUB = ("row", "column", "box", "split", "column_flow", "grid_flow")

    def __init__(self, calls: list):
        object.__setattr__(self, "_calls", calls)

    def __setattr__(self, name, value):
        import bpy

        if name not in bpy.types.UILayout.bl_rna.properties:
            raise AttributeError(f"UILayout has no property {name!r}")

    def __getattr__(self, name):
        import bpy

        funcs = bpy.types.UILayout.bl_rna.functions
        if name not in funcs:
            raise AttributeError(f"UILayout has no function {name!r}")
        params = {p.identifier: p for p in funcs[name].parameters}
        calls = self._calls

        def call(*args, **kw):
            for k, v in kw.items():
                if k not in params:
                    raise TypeError(f"UILayout.{name}() has no parameter {k!r}")
                p = params[k]
                if p.type == "ENUM" and isinstance(v, str) and v not in {e.identifier for e in p.enum_items}:
                    raise ValueError(f"UILayout.{name}({k}={v!r}): not a valid {k}")
            if name in ("prop", "template_list") and args:
                pairs = [(args[0], args[1])] if name == "prop" else [(args[2], args[3]), (args[4], args[5])]
                for data, prop in pairs:
                    if prop not in data.bl_rna.properties:
                        raise AttributeError(f"{data.bl_rna.identifier} has no property {prop!r}")
            if name == "operator":
                mod, op = args[0].split(".")
                if op not in dir(getattr(bpy.ops, mod)):
                    raise AttributeError(f"no operator {args[0]}")
            calls.append(name + (f":{args[0]}" if args and isinstance(args[0], str) else "")
                         + (f":{kw['text']}" if kw.get("text") else ""))
            return RNALayout(calls) if name in self.SUB else None

        return call


def draw_panels(bpy) -> list[str]:
    from types import SimpleNamespace

    from bl_ext.user_default.gen3d import panels  # noqa: PLC0415 - only importable once installed

    calls: list[str] = []
    for cls in (panels.GEN3D_PT_generate, panels.GEN3D_PT_server, panels.GEN3D_PT_history):
        cls.draw(SimpleNamespace(layout=RNALayout(calls)), bpy.context)
    wm = bpy.context.window_manager
    for i, item in enumerate(wm.gen3d_history):
        panels.GEN3D_UL_history.draw_item(None, bpy.context, RNALayout(calls), wm, item, 0, wm,
                                          "gen3d_history_index", i)
    return calls


def pump_until_idle(bpy, runner, timeout: float = 180.0) -> tuple[list, list[str]]:
    import time

    from bl_ext.user_default.gen3d.operators import generate  # noqa: PLC0415 - only importable once installed

    objs, texts, t0 = [], [], time.monotonic()
    while True:
        got, busy = generate.pump(bpy.context, runner)
        objs += [o.name for o in got]
        texts.append(runner.summary()[0])
        if not busy:
            return objs, texts
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"runner still busy after {timeout} s: {texts[-1]}")
        time.sleep(0.05)


def modal_flow(bpy, scene) -> dict:
    import time

    from bl_ext.user_default.gen3d import connection, jobs, state  # noqa: PLC0415 - only importable once installed
    from bl_ext.user_default.gen3d.operators import generate  # noqa: PLC0415

    f: dict = {}
    n0 = len(scene.objects)
    s = scene.gen3d
    s.prompt, s.random_seed, s.seed, s.variations, s.quality, s.size = "a blue mug", False, 30, 1, "fast", 0.5
    s.mesher = "poisson"  # the tiny random test model's clouds: a mesher that needs no learned decoder
    runner = generate.start_run(bpy.context, generate._tasks_from(s))
    s.prompt, s.seed = "a green tree", 40
    f["queue_op"] = list(bpy.ops.gen3d.queue())  # a second prompt while the first runs
    f["generate_while_busy"] = op_error(bpy.ops.gen3d.generate)
    f["cancel_poll_while_busy"] = bpy.ops.gen3d.cancel.poll()
    f["flow_objects"], texts = pump_until_idle(bpy, runner)
    f["flow_texts"] = sorted(set(texts))
    f["flow_states"] = [(t.prompt, t.seed, t.state) for t in runner.tasks]
    prefs = bpy.context.preferences.addons[MOD].preferences
    prefs.release_model = True  # "release the model when the queue is done"
    f["loaded_before_finish"] = connection.get_client(bpy.context).health()["models_loaded"]
    f["flow_errors"] = generate.finish_run(bpy.context, runner)
    t0 = time.monotonic()
    while connection.get_client(bpy.context).health()["models_loaded"] and time.monotonic() - t0 < 10:
        time.sleep(0.1)
    f["loaded_after_finish"] = connection.get_client(bpy.context).health()["models_loaded"]
    prefs.release_model = False
    f["flow_seed_written_back"] = scene.gen3d.seed
    f["flow_new_objects"] = len(scene.objects) - n0

    # cancel from the Cancel operator while the first of two diffuses; the second never starts
    n1 = len(scene.objects)
    tasks = jobs.plan("a lamp", 5, 2, "fast", 1.0, steps=1000)
    runner = generate.start_run(bpy.context, tasks)
    t0 = time.monotonic()
    while not (tasks[0].stage == "diffuse" and tasks[0].progress > 0.06):
        if time.monotonic() - t0 > 60 or tasks[0].state in jobs.FINISHED:
            raise RuntimeError(f"the long job never reached diffusion: {tasks[0]}")
        time.sleep(0.05)
    f["progress_text_running"] = runner.summary()[0]
    f["draw_running"] = draw_panels(bpy)
    f["cancel_op"] = list(bpy.ops.gen3d.cancel())
    t_cancel = time.monotonic()
    _, _ = pump_until_idle(bpy, runner, timeout=60)
    f["cancel_seconds"] = time.monotonic() - t_cancel
    f["cancel_states"] = [t.state for t in tasks]
    f["cancel_new_objects"] = len(scene.objects) - n1
    f["cancel_errors"] = generate.finish_run(bpy.context, runner)
    f["cancel_poll_after"] = bpy.ops.gen3d.cancel.poll()
    state.STATE.last_error = "example: the server said no"
    f["draw_idle"] = draw_panels(bpy)
    state.STATE.last_error = ""
    return f


def main(zip_path: str, url: str, out: str, token: str = "", executable: str = "", model: str = "") -> dict:
    import bpy  # noqa: I001 - bpy first: it puts addon_utils on the path
    import addon_utils

    facts: dict = {"version": list(bpy.app.version), "online_access": bpy.app.online_access}
    bpy.ops.wm.read_factory_settings(use_empty=True)

    # -- install + enable ------------------------------------------------------------------------------
    facts["install"] = list(bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                                                     enable_on_install=True))
    facts["enabled_after_install"] = MOD in bpy.context.preferences.addons
    facts["types_after_install"] = gen3d_types(bpy)
    facts["ops"] = sorted(n for n in dir(bpy.ops.gen3d) if not n.startswith("_"))

    # -- unregister / register cleanly ------------------------------------------------------------------
    addon_utils.disable(MOD, default_set=True)
    facts["types_after_disable"] = gen3d_types(bpy)
    facts["scene_prop_after_disable"] = hasattr(bpy.types.Scene, "gen3d")
    addon_utils.enable(MOD, default_set=True)
    facts["types_after_reenable"] = gen3d_types(bpy)
    facts["scene_prop_after_reenable"] = hasattr(bpy.types.Scene, "gen3d")

    prefs = bpy.context.preferences.addons[MOD].preferences
    prefs.connection, prefs.server_url, prefs.token = "URL", url, token
    scene = bpy.context.scene

    # -- disabled states explain why ---------------------------------------------------------------------
    scene.gen3d.prompt = ""
    facts["poll_empty_prompt"] = op_error(bpy.ops.gen3d.generate)
    scene.gen3d.prompt = "a red chair"
    facts["modal_in_background"] = op_error(bpy.ops.gen3d.generate)

    # -- synchronous generate + import -------------------------------------------------------------------
    scene.cursor.location = (1.0, 2.0, 0.5)
    win = bpy.context.window_manager.windows[0]
    override = {"window": win, "screen": win.screen, "area": win.screen.areas[-1]}
    with bpy.context.temp_override(**override):
        bpy.ops.ed.undo_push(message="before Gen3D")
        facts["generate"] = list(bpy.ops.gen3d.generate_sync(prompt="a red chair", seed=7, size=1.2, quality="fast",
                                                             options_json=json.dumps(CHEAP)))
        bpy.ops.ed.undo_push(message="Gen3D: a red chair")  # what the UI pushes after an UNDO operator

    objs = list(scene.objects)
    facts["objects"] = [(o.name, o.type) for o in objs]
    obj = next((o for o in objs if o.type == "MESH"), None)
    if obj is not None:
        world = [obj.matrix_world @ v.co for v in obj.data.vertices]
        facts["obj"] = {
            "name": obj.name, "data_name": obj.data.name,
            "location": list(obj.location), "rotation": list(obj.rotation_euler), "scale": list(obj.scale),
            "dimensions": list(obj.dimensions), "min_z": min(v.z for v in world),
            "centre_xy": [(min(v[i] for v in world) + max(v[i] for v in world)) / 2 for i in (0, 1)],
            "collections": [c.name for c in obj.users_collection],
            "parent": obj.parent.name if obj.parent else None,
            "props": {k: obj[k] for k in ("gen3d_prompt", "gen3d_seed", "gen3d_model", "gen3d_job_id",
                                          "gen3d_understood") if k in obj},
            "materials": [m.name for m in obj.data.materials if m],
            "image_sizes": [list(n.image.size) for m in obj.data.materials if m and m.use_nodes
                            for n in m.node_tree.nodes if n.type == "TEX_IMAGE" and n.image],
            "image_linked_to_base_color": any(
                lk.from_node.type == "TEX_IMAGE" and lk.to_socket.name == "Base Color"
                for m in obj.data.materials if m and m.use_nodes for lk in m.node_tree.links),
            "polygons": len(obj.data.polygons),
            "selected": obj.select_get(), "active": bpy.context.view_layer.objects.active == obj,
        }
        from bl_ext.user_default.gen3d import state  # noqa: PLC0415 - only importable once installed

        glb = state.user_dir() / "results" / f"{obj['gen3d_job_id']}.glb"
        facts["glb_in_user_dir"] = glb.is_file()
        facts["glb_extent_xyz"] = glb_extent(glb) if glb.is_file() else None
        facts["history"] = [(h.prompt, h.seed) for h in bpy.context.window_manager.gen3d_history]
        thumbs = [h.thumbnail for h in bpy.context.window_manager.gen3d_history]
        facts["history_thumbnails"] = [bool(t) and Path(t).is_file() for t in thumbs]
        from bl_ext.user_default.gen3d import panels  # noqa: PLC0415

        if thumbs and thumbs[0]:
            panels.thumbnail_icon(thumbs[0])  # icon ids stay 0 in background Blender (no icon system)
        facts["thumbnail_loaded"] = bool(thumbs and thumbs[0] and panels._PREVIEWS is not None
                                         and thumbs[0] in panels._PREVIEWS)
        facts["history_file"] = str(state.history().path)
    facts["seed_written_back"] = scene.gen3d.seed
    facts["gen3d_collection_in_scene"] = "Gen3D" in scene.collection.children

    # -- undo removes it ----------------------------------------------------------------------------------
    with bpy.context.temp_override(**override):
        facts["undo"] = list(bpy.ops.ed.undo())
    facts["objects_after_undo"] = [o.name for o in bpy.context.scene.objects]
    with bpy.context.temp_override(**override):
        facts["redo"] = list(bpy.ops.ed.redo())
    facts["objects_after_redo"] = [o.name for o in bpy.context.scene.objects]
    scene = bpy.context.scene  # undo/redo rebuild the data: old references are gone

    # -- a server-side failure is reported with its cause ------------------------------------------------
    facts["failure"] = op_error(bpy.ops.gen3d.generate_sync, prompt="a chair", seed=1,
                                options_json=json.dumps({**CHEAP, "mesher": "sdf"}))

    # -- the modal operator's flow, its timer ticks driven by hand (timers do not run in background) ------
    facts.update(modal_flow(bpy, scene))

    # -- a non-loopback URL is refused while online access is off (no traffic is sent) -------------------
    prefs.server_url = "http://10.255.255.1:8717"
    facts["offline_remote"] = op_error(bpy.ops.gen3d.generate_sync, prompt="a chair", seed=1)
    prefs.server_url = url

    # -- an unreachable server: the check marks it offline and Generate says why ---------------------------
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    prefs.server_url = dead
    facts["check_dead"] = op_error(bpy.ops.gen3d.server_check)
    scene.gen3d.prompt = "a chair"
    facts["poll_server_offline"] = op_error(bpy.ops.gen3d.generate)
    prefs.server_url = url
    facts["check_alive"] = op_error(bpy.ops.gen3d.server_check)
    facts["has_progress_widget"] = "progress" in bpy.types.UILayout.bl_rna.functions  # the panel's bar

    # -- history re-import and "use these settings" ------------------------------------------------------
    wm = bpy.context.window_manager
    facts["history_final"] = [(h.prompt, h.seed) for h in wm.gen3d_history]
    wm.gen3d_history_index = [h.prompt for h in wm.gen3d_history].index("a red chair")
    scene.gen3d.prompt, scene.gen3d.random_seed = "something else", True
    facts["history_use"] = list(bpy.ops.gen3d.history_use())
    facts["settings_after_use"] = [scene.gen3d.prompt, scene.gen3d.seed, scene.gen3d.random_seed,
                                   round(scene.gen3d.size, 4), scene.gen3d.quality]
    n_before = len([o for o in bpy.data.objects if o.type == "MESH"])
    facts["history_reimport"] = list(bpy.ops.gen3d.history_reimport())
    facts["meshes_after_reimport"] = len([o for o in bpy.data.objects if o.type == "MESH"]) - n_before

    # -- local mode: the add-on starts gen3d serve itself from the configured executable ------------------
    if executable:
        from bl_ext.user_default.gen3d import state  # noqa: PLC0415
        from bl_ext.user_default.gen3d.operators import generate  # noqa: PLC0415

        prefs.connection, prefs.executable, prefs.model, prefs.device, prefs.token = (
            "LOCAL", executable, model, "cpu", "")
        prefs.auto_start = False
        scene.gen3d.prompt = "a chair"
        facts["poll_local_offline"] = op_error(bpy.ops.gen3d.generate)
        prefs.auto_start = True
        objs = generate.generate_and_import(bpy.context, "a small box", seed=3, quality="fast", size=0.25,
                                             steps=8, texture_size=256, mesher="poisson")
        facts["local_objects"] = [(o.name, round(max(o.dimensions), 4), o["gen3d_seed"]) for o in objs]
        proc = state.STATE.server.proc
        facts["local_server_running"] = proc.poll() is None

    # -- unregister cleanly --------------------------------------------------------------------------------
    addon_utils.disable(MOD, default_set=True)
    facts["types_after_final_disable"] = gen3d_types(bpy)
    facts["wm_prop_after_final_disable"] = hasattr(bpy.types.WindowManager, "gen3d_history")
    if executable:
        facts["local_server_stopped_on_disable"] = proc.poll() is not None
    return facts


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("zip")
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--token", default="")
    ap.add_argument("--executable", default="", help="gen3d executable: also test the add-on starting a server")
    ap.add_argument("--model", default="", help="model for that server")
    a = ap.parse_args()
    out = a.out
    try:
        result = main(a.zip, a.url, a.out, a.token, a.executable, a.model)
    except Exception:  # noqa: BLE001 - reported to the test
        result = {"crash": traceback.format_exc()}
    Path(out).write_text(json.dumps(result, indent=1, default=str))
    sys.stdout.flush()
    import os

    os._exit(0)  # skip Blender's atexit teardown (the result is written)
