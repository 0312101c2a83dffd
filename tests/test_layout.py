"""The code layout, read from the source with ``ast`` (every import, including those inside functions): which
parts of gen3d may import which, no bpy in gen3d, an add-on that stands alone, and no module over 400 lines.

gen3d's parts are its top-level modules and packages. Data flows prompt -> text -> diffusion/models -> mesh ->
texture -> export; ``pipeline`` assembles the stages, ``eval`` and ``train`` use them, and the shells (``cli``,
``server``, ``batch``) drive everything. A part may import itself, the root ``gen3d`` (for ``__version__``) and
any part of a lower layer; inside a layer, only what ``SAME_LAYER`` lists (for the stages: earlier stages in
the data flow). There are no exceptions: a piece two layers share moves down to the lower one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GEN3D = REPO / "gen3d"
MAX_LINES = 400
LINE_CHECKED = ("gen3d", "blender_addon", "scripts")

# lowest layer first
LAYERS: dict[str, tuple[str, ...]] = {
    # the point cloud type, devices, model files, atomic writes: no gen3d imports
    "foundation": ("device", "registry", "pointcloud", "atomic"),
    "data": ("data",),  # training data: procedural shapes, captions, surface sampling, caches
    "stages": ("text", "diffusion", "models", "mesh", "texture", "export"),  # in data-flow order
    "assembly": ("pipeline", "render"),  # the pipeline over the stages; previews and contact sheets
    "consumers": ("eval", "train"),
    "shells": ("cli", "server", "batch", "__main__"),
}
STAGE_ORDER = LAYERS["stages"]
# imports allowed between parts of one layer (besides the stages' data-flow order)
SAME_LAYER = {("cli", "server"), ("cli", "batch"), ("__main__", "cli")}
# the root package's lazy public API (gen3d.generate, gen3d.Pipeline, ...) loads the pipeline
ROOT_MAY_IMPORT = {"pipeline"}
STAGES_NEVER = {"pipeline", "render", "eval", "train", "cli", "server", "batch", "__main__"}
DATA_NEVER = {"text", "diffusion", "models", "mesh", "texture", "export", "pipeline", "render", "server", "batch",
              "cli", "eval", "train"}
BLENDER_MODULES = {"bpy", "bmesh", "mathutils", "bpy_extras", "addon_utils", "bl_ext", "bl_ui", "bl_operators"}


def layer_of(part: str) -> int:
    return next(i for i, parts in enumerate(LAYERS.values()) if part in parts)


def module_name(path: Path) -> tuple[str, bool]:
    """('gen3d.data.sampling', False) for gen3d/data/sampling.py; ('gen3d.data', True) for its __init__.py."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imported_modules(module: str, is_package: bool, source: str) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import in ``source``, at any depth. ``from X import a`` gives
    ``X.a`` (a module or a name in X: both name X's part); relative imports are resolved against ``module``."""
    out: list[tuple[int, str]] = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            out += [(node.lineno, f"{prefix}.{alias.name}") for alias in node.names]
    return out


def part_of(name: str) -> str | None:
    """The gen3d part a dotted name belongs to: 'gen3d.mesh.decoder' -> 'mesh'; 'gen3d.__version__' -> None
    (the root); not gen3d -> ''."""
    bits = name.split(".")
    if bits[0] != "gen3d":
        return ""
    if len(bits) == 1 or bits[1] not in all_parts():
        return None
    return bits[1]


def all_parts() -> set[str]:
    return {p.stem if p.is_file() else p.name for p in GEN3D.iterdir()
            if (p.is_file() and p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").is_file()}


def allowed(module: str, target: str | None) -> bool:
    """May ``module`` (a dotted gen3d module) import from part ``target`` (None: the root package)?"""
    source = part_of(module)
    if source is None:  # the root package
        return target is None or target in ROOT_MAY_IMPORT
    if target is None or target == source:
        return True
    src, dst = layer_of(source), layer_of(target)
    if src != dst:
        return dst < src
    if source in STAGE_ORDER:
        return STAGE_ORDER.index(target) < STAGE_ORDER.index(source)
    return (source, target) in SAME_LAYER


def layering_violations(module: str, is_package: bool, source: str) -> list[str]:
    bad = []
    for line, name in imported_modules(module, is_package, source):
        target = part_of(name)
        if target != "" and not allowed(module, target):
            bad.append(f"{module}:{line} imports {name} ({part_of(module) or 'gen3d'} -> {target or 'gen3d'})")
    return bad


def gen3d_modules() -> list[tuple[str, bool, str]]:
    return [(*module_name(p), p.read_text(encoding="utf-8")) for p in sorted(GEN3D.rglob("*.py"))]


def imports_by_part(part: str) -> list[tuple[str, int, str]]:
    return [(m, line, name) for m, pkg, src in gen3d_modules() if part_of(m) == part
            for line, name in imported_modules(m, pkg, src)]


def test_every_part_of_gen3d_has_a_layer():
    placed = {p for parts in LAYERS.values() for p in parts}
    assert all_parts() - placed == set(), "a new top-level module or package: add it to a layer in LAYERS"
    assert placed - all_parts() == set(), "LAYERS names a part that no longer exists"


def test_imports_follow_the_layers():
    bad = [v for m, pkg, src in gen3d_modules() for v in layering_violations(m, pkg, src)]
    assert bad == [], "imports against the layers (move the shared piece down to the lower layer):\n" + \
        "\n".join(bad)



def test_training_data_imports_nothing_above_it():
    bad = [f"{m}:{line} imports {name}" for m, line, name in imports_by_part("data") if part_of(name) in DATA_NEVER]
    assert bad == []


@pytest.mark.parametrize("stage", STAGE_ORDER)
def test_stages_never_import_the_pipeline_consumers_or_shells(stage):
    bad = [f"{m}:{line} imports {name}" for m, line, name in imports_by_part(stage) if part_of(name) in STAGES_NEVER]
    assert bad == []


def test_only_shells_import_shells():
    shells = set(LAYERS["shells"])
    bad = [f"{m}:{line} imports {name}" for m, pkg, src in gen3d_modules() if part_of(m) not in shells
           for line, name in imported_modules(m, pkg, src) if part_of(name) in shells]
    assert bad == []


def test_nothing_in_gen3d_imports_blender():
    bad = [f"{m}:{line} imports {name}" for m, pkg, src in gen3d_modules()
           for line, name in imported_modules(m, pkg, src) if name.split(".")[0] in BLENDER_MODULES]
    assert bad == []


def test_the_addon_stands_alone():
    """The add-on talks to gen3d over HTTP only; its client, job runner and history never touch bpy (they run in
    tests without Blender)."""
    bad = []
    for p in sorted((REPO / "blender_addon").rglob("*.py")):
        module, pkg = module_name(p)
        for line, name in imported_modules(module, pkg, p.read_text(encoding="utf-8")):
            top = name.split(".")[0]
            if top == "gen3d" or (p.stem in ("client", "jobs", "history") and p.parent.name == "blender_addon"
                                  and top in BLENDER_MODULES):
                bad.append(f"{p.relative_to(REPO)}:{line} imports {name}")
    assert bad == []


def test_no_module_over_400_lines():
    long = []
    for folder in LINE_CHECKED:
        for p in sorted((REPO / folder).rglob("*.py")):
            if "node_modules" in p.parts or "__pycache__" in p.parts:
                continue
            n = len(p.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                long.append(f"{p.relative_to(REPO)}: {n} lines")
    assert long == [], f"split these by responsibility (at most {MAX_LINES} lines):\n" + "\n".join(long)


# -- the checks themselves catch what they are for ----------------------------------------------------------------
@pytest.mark.parametrize(("module", "is_package", "source"), [
    ("gen3d.data.sampling", False, "def f():\n    from gen3d.mesh.cleanup import MeshError\n"),  # in a function
    ("gen3d.data.sampling", False, "import gen3d.render\n"),
    ("gen3d.data", True, "from ..export import atomic\n"),  # relative, in a package's __init__
    ("gen3d.data.cache", False, "from ..train import loop\n"),
    ("gen3d.mesh.decoder", False, "from gen3d import pipeline\n"),  # a part named through the root
    ("gen3d.diffusion.clouds", False, "from gen3d.models.checkpoints import load_model\n"),  # against the data flow
    ("gen3d.pointcloud.io", False, "from gen3d.atomic import atomic_write_bytes\n"),  # foundation: nothing
    ("gen3d.server.app", False, "from gen3d.cli.make import run_guarded\n"),  # shells: only cli drives the others
    ("gen3d.batch.runner", False, "from gen3d.server.jobs import JobManager\n"),
])
def test_a_layering_violation_is_reported(module, is_package, source):
    assert layering_violations(module, is_package, source)


@pytest.mark.parametrize(("module", "is_package", "source"), [
    ("gen3d.data.sampling", False, "from gen3d.pointcloud import PointCloud\n"),
    ("gen3d.data", True, "from .procedural import generate_shape\n"),
    ("gen3d.export.glb", False, "from gen3d import __version__\nfrom gen3d.texture.asset import TexturedMesh\n"),
    ("gen3d.cli.serve", False, "def f():\n    from gen3d.server.app import create_app\n"),
    ("gen3d.eval.report", False, "from gen3d.pipeline import load_pipeline\n"),
])
def test_an_allowed_import_is_not_reported(module, is_package, source):
    assert layering_violations(module, is_package, source) == []
