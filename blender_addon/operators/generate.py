"""Generate operators: the modal Generate (progress in the Gen3D tab; Esc or Cancel stops), its Queue and
Cancel, and the blocking Generate for scripts and background Blender. The modal operator's three steps
(:func:`start_run`, :func:`pump`, :func:`finish_run`) are callable on their own."""

from __future__ import annotations

import threading

import bpy
from bpy.props import IntProperty, StringProperty

from .. import importer
from ..client import Client, ClientError
from ..connection import get_client, local_mode, start_local_server
from ..jobs import Runner, Task, plan
from ..preferences import prefs
from ..state import STATE, history, refresh_history, user_dir


def can_start(context) -> str | None:
    """Why Generate cannot run now, or None."""
    if not context.scene.gen3d.prompt.strip():
        return "Enter a prompt first (e.g. 'a red chair')"
    p = prefs(context)
    if local_mode(context):
        if (STATE.server is None or not STATE.server.running()) and not (p and p.auto_start):
            return "Server offline: press Start server, or enable auto-start in the preferences"
    elif STATE.online is False:
        return f"Server offline: {STATE.message or 'check the URL and token in the preferences'}"
    return None


def _tasks_from(settings) -> list[Task]:
    extra = {} if settings.mesher == "DEFAULT" else {"mesher": settings.mesher}
    return plan(settings.prompt, None if settings.random_seed else settings.seed, settings.variations,
                settings.quality, settings.size, **extra)


def _import_task(context, task: Task) -> bpy.types.Object:
    obj = importer.import_glb(context, task.path, task.prompt, task.seed, task.model, task.job_id or "",
                              target_size=task.size)
    if task.understood:  # the server's reading of the prompt, on the object and in the panel
        obj["gen3d_understood"] = task.understood
        STATE.last_understood = task.understood
    try:
        history().add(task.prompt, task.seed, task.quality, task.size, task.job_id, task.model,
                      str(task.path) if task.path else None, str(task.thumbnail) if task.thumbnail else None)
        refresh_history(context)
    except OSError as e:
        print(f"gen3d: could not write the history ({e})")
    return obj


# -- synchronous entry point ---------------------------------------------------------------------------------
def generate_and_import(context, prompt: str, seed: int | None = None, variations: int = 1,
                        quality: str = "standard", size: float | None = 1.0, timeout: float | None = 600.0,
                        **options) -> list[bpy.types.Object]:
    """Generate and import without timers or threads (scripts, headless tests, background Blender).
    Raises ClientError on the first failure; returns the imported objects."""
    if local_mode(context) and (STATE.server is None or not STATE.server.running()):
        start_local_server(context).wait_ready()
    runner = Runner(get_client(context), user_dir() / "results")
    objects = []
    for task in plan(prompt, seed, variations, quality, size, **options):
        runner.process(task, timeout=timeout)
        if task.state != "ready":
            raise ClientError(f"'{task.prompt}' (seed {task.seed}) {task.state}: {task.error}")
        objects.append(_import_task(context, task))
    return objects


class GEN3D_OT_generate_sync(bpy.types.Operator):
    """Generate and import, blocking until done (for scripts and background Blender)"""

    bl_idname = "gen3d.generate_sync"
    bl_label = "Generate (blocking)"
    bl_options = {"REGISTER", "UNDO"}

    prompt: StringProperty(name="Prompt", default="")
    seed: IntProperty(name="Seed", default=-1, min=-1, max=2**31 - 1, description="-1: random")
    variations: IntProperty(name="Variations", default=1, min=1, max=16)
    quality: StringProperty(name="Quality", default="standard")
    size: bpy.props.FloatProperty(name="Size", default=1.0, min=0.01, max=1000.0)
    options_json: StringProperty(name="Extra options (JSON)", default="{}",
                                 description="More server options, e.g. {\"steps\": 8, \"mesher\": \"poisson\"}")

    def execute(self, context):
        import json

        try:
            opts = json.loads(self.options_json or "{}")
            objs = generate_and_import(context, self.prompt or context.scene.gen3d.prompt,
                                       None if self.seed < 0 else self.seed, self.variations, self.quality,
                                       self.size, **opts)
        except (ClientError, importer.ImportError_, ValueError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        context.scene.gen3d.seed = int(objs[-1]["gen3d_seed"])
        self.report({"INFO"}, f"imported {', '.join(o.name for o in objs)}")
        return {"FINISHED"}


# -- modal generate ----------------------------------------------------------------------------------------
class GEN3D_OT_generate(bpy.types.Operator):
    """Generate objects from the prompt (progress in the Gen3D tab; Esc or Cancel stops)"""

    bl_idname = "gen3d.generate"
    bl_label = "Generate"
    bl_options = {"REGISTER", "UNDO"}

    _timer = None

    @classmethod
    def poll(cls, context):
        if STATE.runner is not None and STATE.runner.busy:
            cls.poll_message_set("A generation is running: use Queue to add prompts, or Cancel")
            return False
        why = can_start(context)
        if why:
            cls.poll_message_set(why)
            return False
        return True

    def invoke(self, context, event):
        return self.execute(context)

    def execute(self, context):
        if bpy.app.background:
            self.report({"ERROR"}, "timers do not run in background Blender: use bpy.ops.gen3d.generate_sync")
            return {"CANCELLED"}
        try:
            start_run(context, _tasks_from(context.scene.gen3d))
        except ClientError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        self._imported = 0
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.2, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        runner = STATE.runner
        if event.type == "ESC" and event.value == "PRESS" and runner is not None:
            runner.cancel()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        for area in context.screen.areas if context.screen else []:
            if area.type == "VIEW_3D":
                area.tag_redraw()
        objs, busy = pump(context, runner)
        for obj in objs:
            self.report({"INFO"}, f"imported {obj.name} (seed {obj['gen3d_seed']})")
        self._imported += len(objs)
        if busy:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        errors = finish_run(context, runner)
        if errors:
            self.report({"ERROR"}, errors[0])
        return {"FINISHED"} if self._imported else {"CANCELLED"}


# The modal operator's three steps, callable on their own (background tests drive them without timers).
def start_run(context, tasks: list[Task]) -> Runner:
    """Start the worker thread for ``tasks`` (starting the local server first when needed)."""
    prepare = None
    if local_mode(context) and (STATE.server is None or not STATE.server.running()):
        prepare = start_local_server(context).wait_ready
    client = (Client(STATE.server.url, (prefs(context).token or None), timeout=30.0)
              if local_mode(context) else get_client(context))
    runner = Runner(client, user_dir() / "results")
    runner.add(tasks)
    STATE.runner, STATE.last_error = runner, ""
    if prepare is None:
        runner.start()
        return runner

    def start():
        try:
            STATE.health = prepare()
            STATE.online = True
        except ClientError as e:
            STATE.last_error = str(e)
            runner.cancel()
            return
        runner.start()

    threading.Thread(target=start, daemon=True).start()
    return runner


def pump(context, runner: Runner) -> tuple[list, bool]:
    """Main thread, once per timer tick: import what has been downloaded. Returns (objects, still busy)."""
    objs = []
    for task in runner.take_ready():
        try:
            objs.append(_import_task(context, task))
            task.state = "imported"
            context.scene.gen3d.seed = task.seed  # the seed used, written back
        except importer.ImportError_ as e:
            task.state, task.error = "failed", str(e)
    return objs, runner.busy


def finish_run(context, runner: Runner) -> list[str]:
    """After the last task: collect errors (shown in the panel) and release the model if asked."""
    errors = [f"{t.label()}: {t.error}" for t in runner.tasks if t.state == "failed"]
    if STATE.last_error:
        errors.insert(0, STATE.last_error)
    if errors:
        STATE.last_error = errors[0]
    p = prefs(context)
    if p is not None and p.release_model:
        client = runner.client
        threading.Thread(target=lambda: _quiet(client.release), daemon=True).start()
    return errors


def _quiet(fn):
    try:
        fn()
    except ClientError:
        pass


class GEN3D_OT_queue(bpy.types.Operator):
    """Add the current prompt and settings to the running queue"""

    bl_idname = "gen3d.queue"
    bl_label = "Queue"

    @classmethod
    def poll(cls, context):
        if STATE.runner is None or not STATE.runner.busy:
            cls.poll_message_set("Nothing is running: press Generate")
            return False
        if not context.scene.gen3d.prompt.strip():
            cls.poll_message_set("Enter a prompt first")
            return False
        return True

    def execute(self, context):
        try:
            STATE.runner.add(_tasks_from(context.scene.gen3d))
        except ClientError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        STATE.runner.start()
        return {"FINISHED"}


class GEN3D_OT_cancel(bpy.types.Operator):
    """Cancel the running generation (at the next diffusion step) and the queued ones"""

    bl_idname = "gen3d.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        return STATE.runner is not None and STATE.runner.busy

    def execute(self, context):
        STATE.runner.cancel()
        return {"FINISHED"}



CLASSES = (GEN3D_OT_generate, GEN3D_OT_generate_sync, GEN3D_OT_queue, GEN3D_OT_cancel)
