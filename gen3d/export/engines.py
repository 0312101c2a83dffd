"""Game-engine conventions: the ``--preset`` table (unity, unreal, godot, web), collision node names per engine,
and the FBX axes and units each engine expects.

Collision hulls are written as extra nodes named the way each engine's importer recognises them:

- godot: ``<name>_hull_NN-convcolonly``: Godot's scene importer turns each into a StaticBody with a convex
  CollisionShape and drops the mesh;
- unreal: ``UCX_<name>_NN``: Unreal's FBX importer turns them into the static mesh's convex collision;
- unity: a ``<name>_collider`` node (the hull itself, or an empty parent of ``<name>_collider_NN``), for a
  MeshCollider with Convex on (Unity creates no colliders from names by itself).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

NAMINGS = ("godot", "unreal", "unity")


@dataclass(frozen=True)
class Preset:
    """What ``--preset NAME`` sets. Explicit flags override each field."""

    name: str
    engine: str | None  # collision naming convention (None: the format's default)
    format: str  # default output format
    max_faces: int  # LOD0 face budget
    texture_size: int  # base colour and normal map texels (LODs halve it)
    lods: int
    collision: str  # none | convex | decomposed
    normal_map: bool
    images: str  # png | png9 | jpeg (see gen3d.export.glb.encode_image)
    units: str  # of FBX files; glTF is always metres
    up: str  # FBX up axis; glTF is always +Y
    forward: str  # FBX forward axis
    max_bytes: int | None = None  # the main file and its LOD files together (gen3d.export.budget)

    def options(self) -> dict:
        return asdict(self)


MAX_BYTES = 1_500_000  # issue 41: LOD0 2k faces + 2 LODs + collision + 1024^2 maps in 1.5 MB
PRESETS: dict[str, Preset] = {
    "unity": Preset("unity", "unity", "fbx", 2000, 1024, 2, "convex", True, "jpeg", "m", "Y", "-Z", MAX_BYTES),
    "unreal": Preset("unreal", "unreal", "fbx", 2000, 1024, 2, "decomposed", True, "jpeg", "cm", "Z", "-Y",
                     MAX_BYTES),
    "godot": Preset("godot", "godot", "glb", 2000, 1024, 2, "convex", True, "jpeg", "m", "Y", "-Z", MAX_BYTES),
    "web": Preset("web", None, "glb", 2000, 1024, 0, "none", True, "jpeg", "m", "Y", "-Z", MAX_BYTES),
}
# FBX written without a preset: metres, Y up, -Z forward (Blender's defaults), Unreal's collision names
FBX_DEFAULT = {"engine": "unreal", "units": "m", "up": "Y", "forward": "-Z"}


class PresetError(ValueError):
    """An unknown preset or naming convention."""


def get_preset(name: str | None) -> Preset | None:
    if name is None:
        return None
    key = str(name).lower()
    if key not in PRESETS:
        raise PresetError(f"unknown --preset {name!r}: use one of {', '.join(PRESETS)}")
    return PRESETS[key]


def apply_preset(preset: str | None, **given):
    """Fill the options left as None from ``preset`` (explicit values win) -> dict of the same keys. Options the
    preset does not know stay as given."""
    p = get_preset(preset)
    if p is None:
        return dict(given)
    opts = p.options()
    return {k: (opts[k] if v is None and k in opts else v) for k, v in given.items()}


def naming_for(preset: str | None, fmt: str) -> str:
    """The collision naming convention for a preset, or, without one, the format's usual engine."""
    p = get_preset(preset)
    if p is not None and p.engine is not None:
        return p.engine
    return FBX_DEFAULT["engine"] if fmt == "fbx" else "godot"


def collision_nodes(name: str, count: int, naming: str | None = None) -> list[dict]:
    """Nodes for ``count`` hulls of the asset node ``name``: dicts with ``name``, ``hull`` (index into the asset's
    hulls, or None for an empty grouping node) and ``parent`` (index of an earlier entry, or None: top level)."""
    naming = "godot" if naming is None else naming
    if naming not in NAMINGS:
        raise PresetError(f"unknown collision naming {naming!r}: use one of {', '.join(NAMINGS)}")
    if count <= 0:
        return []
    if naming == "godot":
        return [{"name": f"{name}_hull_{i:02d}-convcolonly", "hull": i, "parent": None} for i in range(count)]
    if naming == "unreal":
        return [{"name": f"UCX_{name}_{i:02d}", "hull": i, "parent": None} for i in range(count)]
    if count == 1:
        return [{"name": f"{name}_collider", "hull": 0, "parent": None}]
    return [{"name": f"{name}_collider", "hull": None, "parent": None}] + [
        {"name": f"{name}_collider_{i:02d}", "hull": i, "parent": 0} for i in range(count)
    ]
