"""History operators: re-import an entry's GLB, copy its settings into the panel, clear the history."""

from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import IntProperty

from .. import importer
from ..state import history, refresh_history


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



CLASSES = (GEN3D_OT_history_reimport, GEN3D_OT_history_use, GEN3D_OT_history_clear)
