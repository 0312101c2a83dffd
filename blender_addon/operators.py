"""GEN3D_OT_* operators. The worker thread (jobs.Runner) only talks HTTP; every bpy call is made here,
on the main thread, and the imports happen inside the operator so a run is one undo step."""

from __future__ import annotations

import atexit
import threading
from pathlib import Path

import bpy
from bpy.props import IntProperty, StringProperty

from . import importer
from .client import Client, ClientError, LocalServer
from .history import History
from .jobs import Runner, Task, plan
from .preferences import prefs


class _State:
    runner: Runner | None = None
    server: LocalServer | None = None
    online: bool | None = None  # None: not checked yet
    health: dict = {}
    message: str = ""
    last_error: str = ""
    checking: bool = False


STATE = _State()


def _stop_at_exit() -> None:
    try:
        if STATE.server is not None:
            STATE.server.stop(timeout=5.0)
    except Exception:  # noqa: BLE001 - interpreter shutdown: best effort
        pass


atexit.register(_stop_at_exit)  # a server the add-on started never outlives Blender


# -- paths, history ---------------------------------------------------------------------------------------
def user_dir() -> Path:
    try:
        return Path(bpy.utils.extension_path_user(__package__, create=True))
    except (ValueError, AttributeError, KeyError):  # installed as a legacy add-on
        return Path(bpy.utils.user_resource("DATAFILES", path="gen3d", create=True))


def history() -> History:
    return History(user_dir())


def refresh_history(context=None) -> None:
    wm = (context or bpy.context).window_manager
    wm.gen3d_history.clear()
    for e in history().load():
        item = wm.gen3d_history.add()
        item.prompt, item.seed = e["prompt"], int(e["seed"])
        item.quality = e.get("quality") or "standard"
        item.size = float(e.get("size") or 0.0)
        item.glb, item.job_id, item.model = e.get("glb") or "", e.get("job_id") or "", e.get("model") or ""
        item.thumbnail = e.get("thumbnail") or ""


# -- connection --------------------------------------------------------------------------------------------
def local_mode(context=None) -> bool:
    p = prefs(context)
    return p is None or p.connection == "LOCAL"


def get_client(context=None, timeout: float = 30.0) -> Client:
    p = prefs(context)
    token = p.token if p else None
    if local_mode(context):
        if STATE.server is None or not STATE.server.running():
            raise ClientError("the local gen3d server is not running: press Start server (or enable auto-start)")
        return Client(STATE.server.url, token or STATE.server.token, timeout=timeout)
    return Client(p.server_url, token, timeout=timeout, online_access=bpy.app.online_access)


def start_local_server(context=None) -> LocalServer:
    p = prefs(context)
    if STATE.server is not None and STATE.server.running():
        return STATE.server
    STATE.server = LocalServer(p.executable if p else "gen3d", model=(p.model if p else None) or None,
                               device=p.device if p else "auto", token=(p.token if p else None) or None,
                               log_path=user_dir() / "server.log")
    STATE.online, STATE.message = None, "starting the local server..."
    return STATE.server


def stop_local_server() -> None:
    if STATE.server is not None:
        STATE.server.stop()
        STATE.server, STATE.online, STATE.health, STATE.message = None, None, {}, "local server stopped"


def check_server_async(context=None) -> None:
    """Refresh STATE.online in a thread (never blocks the UI)."""
    if STATE.checking:
        return
    try:
        client = get_client(context, timeout=2.0)
    except ClientError as e:
        STATE.online, STATE.message = False, str(e)
        return
    STATE.checking = True

    def work():
        try:
            STATE.health = client.health()
            STATE.online, STATE.message = True, ""
        except ClientError as e:
            STATE.online, STATE.message = False, str(e)
        finally:
            STATE.checking = False

    threading.Thread(target=work, daemon=True).start()


def _poll_timer():
    try:
        if STATE.runner is None or not STATE.runner.busy:
            check_server_async()
    except Exception:  # noqa: BLE001 - a timer must never raise
        pass
    return 5.0


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


# -- server ------------------------------------------------------------------------------------------------
class GEN3D_OT_server_start(bpy.types.Operator):
    """Start 'gen3d serve' on 127.0.0.1 from the configured executable"""

    bl_idname = "gen3d.server_start"
    bl_label = "Start server"

    @classmethod
    def poll(cls, context):
        if not local_mode(context):
            cls.poll_message_set("The add-on is set to connect to a URL (see the preferences)")
            return False
        return STATE.server is None or not STATE.server.running()

    def execute(self, context):
        try:
            server = start_local_server(context)
        except ClientError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}

        def wait():
            try:
                STATE.health = server.wait_ready()
                STATE.online, STATE.message = True, ""
            except ClientError as e:
                STATE.online, STATE.message = False, str(e)

        if bpy.app.background:
            wait()
        else:
            threading.Thread(target=wait, daemon=True).start()
        return {"FINISHED"}


class GEN3D_OT_server_stop(bpy.types.Operator):
    """Stop the local server started by the add-on"""

    bl_idname = "gen3d.server_stop"
    bl_label = "Stop server"

    @classmethod
    def poll(cls, context):
        busy = STATE.runner is not None and STATE.runner.busy
        return STATE.server is not None and STATE.server.running() and not busy

    def execute(self, context):
        stop_local_server()
        return {"FINISHED"}


class GEN3D_OT_server_check(bpy.types.Operator):
    """Check whether the server answers"""

    bl_idname = "gen3d.server_check"
    bl_label = "Check server"

    def execute(self, context):
        try:
            STATE.health = get_client(context, timeout=3.0).health()
            STATE.online, STATE.message = True, ""
        except ClientError as e:
            STATE.online, STATE.message = False, str(e)
            self.report({"WARNING"}, str(e))
            return {"CANCELLED"}
        self.report({"INFO"}, f"gen3d {STATE.health.get('version')} on {STATE.health.get('device')}")
        return {"FINISHED"}


class GEN3D_OT_release_model(bpy.types.Operator):
    """Free the server's model memory (the next generation reloads it)"""

    bl_idname = "gen3d.release_model"
    bl_label = "Release model"

    @classmethod
    def poll(cls, context):
        if not STATE.online:
            cls.poll_message_set("Server offline or not checked: press Check server")
            return False
        return not (STATE.runner is not None and STATE.runner.busy)

    def execute(self, context):
        try:
            get_client(context, timeout=10.0).release()
        except ClientError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        STATE.health["models_loaded"] = []
        return {"FINISHED"}


# -- history -----------------------------------------------------------------------------------------------
class GEN3D_OT_history_reimport(bpy.types.Operator):
    """Import this history entry's object again at the 3D cursor"""

    bl_idname = "gen3d.history_reimport"
    bl_label = "Re-import"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(default=-1)

    def execute(self, context):
        wm = context.window_manager
        i = self.index if self.index >= 0 else wm.gen3d_history_index
        if not 0 <= i < len(wm.gen3d_history):
            self.report({"ERROR"}, "select a history entry first")
            return {"CANCELLED"}
        e = wm.gen3d_history[i]
        if not e.glb or not Path(e.glb).is_file():
            self.report({"ERROR"}, f"the file for '{e.prompt}' is gone: press 'Use settings', then Generate")
            return {"CANCELLED"}
        importer.import_glb(context, e.glb, e.prompt, e.seed, e.model, e.job_id, e.size or None)
        return {"FINISHED"}


class GEN3D_OT_history_use(bpy.types.Operator):
    """Copy this entry's prompt, seed, quality and size into the panel"""

    bl_idname = "gen3d.history_use"
    bl_label = "Use settings"

    index: IntProperty(default=-1)

    def execute(self, context):
        wm = context.window_manager
        i = self.index if self.index >= 0 else wm.gen3d_history_index
        if not 0 <= i < len(wm.gen3d_history):
            self.report({"ERROR"}, "select a history entry first")
            return {"CANCELLED"}
        e, s = wm.gen3d_history[i], context.scene.gen3d
        s.prompt, s.seed, s.random_seed = e.prompt, e.seed, False
        if e.quality in ("fast", "standard", "high"):
            s.quality = e.quality
        if e.size > 0:
            s.size = e.size
        return {"FINISHED"}


class GEN3D_OT_history_clear(bpy.types.Operator):
    """Forget the history (imported objects stay)"""

    bl_idname = "gen3d.history_clear"
    bl_label = "Clear history"

    def execute(self, context):
        history().clear()
        refresh_history(context)
        return {"FINISHED"}


CLASSES = (GEN3D_OT_generate, GEN3D_OT_generate_sync, GEN3D_OT_queue, GEN3D_OT_cancel, GEN3D_OT_server_start,
           GEN3D_OT_server_stop, GEN3D_OT_server_check, GEN3D_OT_release_model, GEN3D_OT_history_reimport,
           GEN3D_OT_history_use, GEN3D_OT_history_clear)
