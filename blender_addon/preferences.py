"""Add-on preferences (server connection) and the per-scene generation settings."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

ADDON = __package__


def prefs(context=None):
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON)
    return None if addon is None else addon.preferences


class GEN3D_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON

    connection: EnumProperty(
        name="Server",
        items=[("LOCAL", "Start locally", "Start 'gen3d serve' from the gen3d executable below"),
               ("URL", "Connect to URL", "Use a running gen3d server (e.g. a studio GPU box)")],
        default="LOCAL",
    )
    executable: StringProperty(name="gen3d executable", subtype="FILE_PATH", default="gen3d",
                               description="Path to the gen3d command (e.g. /path/to/gen3d/.venv/bin/gen3d)")
    model: StringProperty(name="Model", default="gen3d-small", description="Model name or folder for the local server")
    device: EnumProperty(name="Device", items=[(d, d, "") for d in ("auto", "cpu", "cuda", "mps")], default="auto")
    auto_start: BoolProperty(name="Start the server automatically", default=True,
                             description="Start the local server when Generate is pressed and it is not running")
    server_url: StringProperty(name="Server URL", default="http://127.0.0.1:8717")
    token: StringProperty(name="Token", subtype="PASSWORD", default="",
                          description="Sent as 'Authorization: Bearer TOKEN' (needed for non-loopback servers)")
    release_model: BoolProperty(name="Release the model when the queue is done", default=False,
                                description="Free the server's memory after each run (the next run reloads it)")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "connection", expand=True)
        if self.connection == "LOCAL":
            layout.prop(self, "executable")
            row = layout.row()
            row.prop(self, "model")
            row.prop(self, "device")
            layout.prop(self, "auto_start")
        else:
            layout.prop(self, "server_url")
            if not bpy.app.online_access:
                layout.label(text="Online access is off: only 127.0.0.1 URLs work", icon="ERROR")
        layout.prop(self, "token")
        layout.prop(self, "release_model")


class GEN3D_Settings(bpy.types.PropertyGroup):
    prompt: StringProperty(name="Prompt", default="", description="What to make, e.g. 'a red chair'")
    random_seed: BoolProperty(name="Random seed", default=True,
                              description="Pick a new seed each time (the seed used is written back below)")
    seed: IntProperty(name="Seed", default=0, min=0, max=2**31 - 1)
    variations: IntProperty(name="Variations", default=1, min=1, max=16,
                            description="Objects to make (seeds seed, seed+1, ...)")
    quality: EnumProperty(
        name="Quality",
        items=[("fast", "Fast", "Few diffusion steps, coarse mesh, 512 px texture"),
               ("standard", "Standard", "The model's steps, mesh resolution by cloud size, 1024 px texture"),
               ("high", "High", "More steps, finer mesh, 2048 px texture")],
        default="standard",
    )
    mesher: EnumProperty(
        name="Mesher",
        items=[("DEFAULT", "Model default", "The server's choice for the model (its SDF decoder when it has one)"),
               ("sdf", "SDF decoder", "The model's learned SDF decoder"),
               ("shell", "Shell", "Distance-to-points shell (keeps thin parts)"),
               ("poisson", "Poisson", "Screened Poisson surface reconstruction"),
               ("alpha", "Alpha shape", "Alpha shape of the points")],
        default="DEFAULT",
    )
    size: FloatProperty(name="Size", default=1.0, min=0.01, max=1000.0, unit="LENGTH", subtype="DISTANCE",
                        description="Largest dimension of the object in metres")


class GEN3D_HistoryItem(bpy.types.PropertyGroup):
    prompt: StringProperty()
    seed: IntProperty()
    quality: StringProperty()
    size: FloatProperty()
    glb: StringProperty()
    job_id: StringProperty()
    model: StringProperty()
    thumbnail: StringProperty()


CLASSES = (GEN3D_AddonPreferences, GEN3D_Settings, GEN3D_HistoryItem)
