"""The add-on's session state (the running queue, the local server it started, the server's last health) and
where its files live: the user folder with results and the generation history."""

from __future__ import annotations

import atexit
from pathlib import Path

import bpy

from .client import LocalServer
from .history import History
from .jobs import Runner


class _State:
    runner: Runner | None = None
    server: LocalServer | None = None
    online: bool | None = None  # None: not checked yet
    health: dict = {}
    message: str = ""
    last_error: str = ""
    last_understood: str = ""  # how the server understood the last imported prompt
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
