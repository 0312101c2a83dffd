"""The "Gen3D" sidebar tab in the 3D viewport."""

from __future__ import annotations

from pathlib import Path

import bpy

from .connection import local_mode
from .operators.generate import can_start
from .state import STATE

_PREVIEWS = None  # bpy.utils.previews collection of history thumbnails


def thumbnail_icon(path: str) -> int:
    """Icon id of a history thumbnail PNG (0 when there is none)."""
    global _PREVIEWS
    if not path or not Path(path).is_file():
        return 0
    if _PREVIEWS is None:
        import bpy.utils.previews

        _PREVIEWS = bpy.utils.previews.new()
    if path not in _PREVIEWS:
        _PREVIEWS.load(path, path, "IMAGE")
    return _PREVIEWS[path].icon_id


def free_previews() -> None:
    global _PREVIEWS
    if _PREVIEWS is not None:
        import bpy.utils.previews

        bpy.utils.previews.remove(_PREVIEWS)
        _PREVIEWS = None


class GEN3D_UL_history(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        row = layout.row(align=True)
        icon_id = thumbnail_icon(item.thumbnail)
        if icon_id:
            row.label(text=item.prompt, icon_value=icon_id)
        else:
            row.label(text=item.prompt, icon="MESH_MONKEY" if item.glb else "QUESTION")
        row.label(text=f"seed {item.seed}")


class GEN3D_PT_generate(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Gen3D"
    bl_label = "Generate"

    def draw(self, context):
        layout = self.layout
        s = context.scene.gen3d
        layout.prop(s, "prompt", text="")
        row = layout.row(align=True)
        row.prop(s, "random_seed", text="Random", toggle=True)
        sub = row.row(align=True)
        sub.enabled = not s.random_seed
        sub.prop(s, "seed")
        layout.prop(s, "variations")
        layout.prop(s, "quality", expand=True)
        layout.prop(s, "size")
        layout.prop(s, "mesher")

        runner = STATE.runner
        if runner is not None and runner.busy:
            text, frac = runner.summary()
            col = layout.column(align=True)
            col.progress(factor=min(max(frac, 0.0), 1.0), type="BAR", text=text)
            cur = runner.current
            if cur is not None and cur.understood:
                col.label(text=f"Understood as: {cur.understood}", icon="INFO")
            row = col.row(align=True)
            row.operator("gen3d.cancel", icon="CANCEL")
            row.operator("gen3d.queue", icon="ADD")
        else:
            col = layout.column()
            col.scale_y = 1.5
            col.operator("gen3d.generate", icon="PLAY")
            why = can_start(context)
            if why:
                layout.label(text=why, icon="INFO")
            if STATE.last_understood:
                layout.label(text=f"Understood as: {STATE.last_understood}", icon="INFO")
        if STATE.last_error:
            box = layout.box()
            for i, line in enumerate(_wrap(STATE.last_error, 48)[:4]):
                box.label(text=line, icon="ERROR" if i == 0 else "BLANK1")


class GEN3D_PT_server(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Gen3D"
    bl_label = "Server"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        if STATE.online:
            h = STATE.health
            loaded = ", ".join(h.get("models_loaded") or []) or "none"
            layout.label(text=f"Online: gen3d {h.get('version', '?')} on {h.get('device', '?')}", icon="CHECKMARK")
            layout.label(text=f"Models loaded: {loaded}")
        elif STATE.online is False:
            for i, line in enumerate(_wrap(STATE.message or "offline", 48)[:3]):
                layout.label(text=line, icon="ERROR" if i == 0 else "BLANK1")
        else:
            layout.label(text=STATE.message or "Not checked yet", icon="QUESTION")
        row = layout.row(align=True)
        if local_mode(context):
            row.operator("gen3d.server_start", icon="PLAY")
            row.operator("gen3d.server_stop", icon="PAUSE")
        row.operator("gen3d.server_check", icon="FILE_REFRESH", text="")
        layout.operator("gen3d.release_model", icon="TRASH")


class GEN3D_PT_history(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Gen3D"
    bl_label = "History"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        wm = context.window_manager
        layout.template_list("GEN3D_UL_history", "", wm, "gen3d_history", wm, "gen3d_history_index", rows=4)
        if 0 <= wm.gen3d_history_index < len(wm.gen3d_history):
            item = wm.gen3d_history[wm.gen3d_history_index]
            icon_id = thumbnail_icon(item.thumbnail)
            if icon_id:
                layout.template_icon(icon_value=icon_id, scale=6.0)
            layout.label(text=f"{item.quality}, {item.size:.2f} m, seed {item.seed}")
        row = layout.row(align=True)
        row.operator("gen3d.history_reimport", icon="IMPORT")
        row.operator("gen3d.history_use", icon="PASTEDOWN")
        row.operator("gen3d.history_clear", icon="X", text="")


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


CLASSES = (GEN3D_UL_history, GEN3D_PT_generate, GEN3D_PT_server, GEN3D_PT_history)
