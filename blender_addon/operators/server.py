"""Server operators: start and stop the local ``gen3d serve``, check that the server answers, release its model."""

from __future__ import annotations

import threading

import bpy

from ..client import ClientError
from ..connection import get_client, local_mode, start_local_server, stop_local_server
from ..state import STATE


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



CLASSES = (GEN3D_OT_server_start, GEN3D_OT_server_stop, GEN3D_OT_server_check, GEN3D_OT_release_model)
