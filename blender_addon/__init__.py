"""Gen3D for Blender: text prompt -> textured object at the 3D cursor, via a gen3d job server.

Blender side is standard library only (no torch): the heavy work runs in ``gen3d serve``, started by the
add-on from a configured ``gen3d`` executable or reached at a URL. ``client``, ``jobs`` and ``history``
never import bpy (importing this package does not either; ``register`` loads the bpy modules).
"""

from __future__ import annotations

# Legacy add-on installs read this; Blender 4.2+ extensions read blender_manifest.toml.
bl_info = {
    "name": "Gen3D",
    "author": "gen3d developers",
    "version": (0, 1, 0),
    "blender": (4, 2, 0),
    "location": "View3D > Sidebar > Gen3D",
    "description": "Generate textured 3D objects from a text prompt",
    "category": "Add Mesh",
}


def _modules():
    import importlib

    names = ("client", "jobs", "history", "preferences", "importer", "state", "connection", "operators", "panels")
    return [importlib.import_module(f".{n}", __package__) for n in names]


def register():
    import bpy

    _, _, _, preferences, _, _, connection, operators, panels = _modules()
    for cls in preferences.CLASSES + operators.CLASSES + panels.CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.gen3d = bpy.props.PointerProperty(type=preferences.GEN3D_Settings)
    bpy.types.WindowManager.gen3d_history = bpy.props.CollectionProperty(type=preferences.GEN3D_HistoryItem)
    bpy.types.WindowManager.gen3d_history_index = bpy.props.IntProperty(default=0)
    bpy.app.timers.register(_load_history, first_interval=0.1)
    if not bpy.app.background:
        bpy.app.timers.register(connection._poll_timer, first_interval=1.0, persistent=True)


def _load_history():
    from . import state

    try:
        state.refresh_history()
    except (AttributeError, OSError):
        pass
    return None


def unregister():
    import bpy

    _, _, _, preferences, _, state, connection, operators, panels = _modules()
    for fn in (connection._poll_timer, _load_history):
        if bpy.app.timers.is_registered(fn):
            bpy.app.timers.unregister(fn)
    if state.STATE.runner is not None:
        state.STATE.runner.cancel()
    connection.stop_local_server()
    st = state.STATE
    st.runner, st.online, st.health, st.message, st.last_error = None, None, {}, "", ""
    del bpy.types.WindowManager.gen3d_history_index
    del bpy.types.WindowManager.gen3d_history
    del bpy.types.Scene.gen3d
    panels.free_previews()
    for cls in reversed(preferences.CLASSES + operators.CLASSES + panels.CLASSES):
        bpy.utils.unregister_class(cls)
