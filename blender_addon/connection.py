"""Reaching the gen3d server: the local one the add-on starts from the configured executable, or a URL; a
background health check that never blocks the UI."""

from __future__ import annotations

import threading

import bpy

from .client import Client, ClientError, LocalServer
from .preferences import prefs
from .state import STATE, user_dir


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
