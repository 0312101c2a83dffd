"""Exporters: GLB, OBJ (+MTL+PNG), PLY, USDZ, FBX (through Blender); format chosen from the file suffix.

``export(asset, "chair.glb", lods=2)`` also writes ``chair_LOD1.glb`` and ``chair_LOD2.glb`` from
``asset.lods``. Every write is atomic and refuses to overwrite unless ``force``. ``preset`` (unity, unreal,
godot, web; see :mod:`gen3d.export.engines`) names collision nodes the engine's way and sets FBX axes and units.
"""

from __future__ import annotations

from pathlib import Path

from gen3d.atomic import OutputExistsError, OutputFolderError, atomic_write_bytes, check_outputs
from gen3d.texture.asset import TexturedMesh

FORMATS = {".glb": "glb", ".obj": "obj", ".ply": "ply", ".usdz": "usdz", ".fbx": "fbx"}

__all__ = [
    "FORMATS",
    "ExportFormatError",
    "OutputExistsError",
    "OutputFolderError",
    "atomic_write_bytes",
    "check_outputs",
    "export",
    "format_for",
    "lod_path",
    "output_paths",
]


class ExportFormatError(ValueError):
    """An output format gen3d cannot write."""


def format_for(path: str | Path, format: str | None = None) -> str:
    if format is not None:
        fmt = format.lower().lstrip(".")
        if fmt not in FORMATS.values():
            raise ExportFormatError(f"unknown format {format!r}; use one of {', '.join(FORMATS.values())}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ExportFormatError(
            f"cannot tell the format of {Path(path).name!r}; end the name with {', '.join(FORMATS)}"
        )
    return FORMATS[suffix]


def lod_path(path: str | Path, level: int) -> Path:
    path = Path(path)
    return path if level == 0 else path.with_name(f"{path.stem}_LOD{level}{path.suffix}")


def output_paths(path: str | Path, format: str | None = None, lods: int = 0) -> list[Path]:
    """Every file :func:`export` would write (for overwrite checks before any work)."""
    fmt = format_for(path, format)
    out: list[Path] = []
    for level in range(lods + 1):
        p = lod_path(path, level)
        if fmt == "obj":
            from gen3d.export.obj import obj_paths

            out.extend(obj_paths(p))
        else:
            out.append(p)
    return out


def _write_one(asset: TexturedMesh, path: Path, fmt: str, force: bool, metadata: dict | None,
               preset: str | None = None, images: str | None = None, normal_png: bytes | None = None) -> list[Path]:
    from gen3d.export.engines import get_preset, naming_for

    p = get_preset(preset)
    images = images or (p.images if p is not None else "png")
    if fmt == "glb":
        from gen3d.export.glb import write_glb

        naming = naming_for(preset, fmt) if (p is not None or asset.collision) else None
        return [write_glb(asset, path, force=force, metadata=metadata, naming=naming, images=images,
                          normal_png=normal_png)]
    if fmt == "fbx":
        from gen3d.export.fbx import write_fbx

        return [write_fbx(asset, path, force=force, metadata=metadata, preset=preset, images=images,
                          normal_png=normal_png)]
    if fmt == "obj":
        from gen3d.export.obj import write_obj

        return write_obj(asset, path, force=force, metadata=metadata)
    if fmt == "ply":
        from gen3d.export.ply import write_ply

        return [write_ply(asset, path, force=force, metadata=metadata)]
    from gen3d.export.usdz import write_usdz

    return [write_usdz(asset, path, force=force, metadata=metadata)]


def export(
    asset: TexturedMesh,
    path: str | Path,
    format: str | None = None,
    force: bool = False,
    lods: int | None = None,
    metadata: dict | None = None,
    preset: str | None = None,
    images: str | None = None,
) -> list[Path]:
    """Write ``asset`` (and ``lods`` of its LODs; default: all it has) -> the paths written. ``images``: png, png9
    or jpeg (default: the preset's, else png; see :func:`gen3d.export.glb.encode_image`). With a preset, GLB and
    FBX normal maps are fitted into its byte budget (:mod:`gen3d.export.budget`)."""
    fmt = format_for(path, format)
    n_lods = len(asset.lods) if lods is None else int(lods)
    if n_lods > len(asset.lods):
        raise ExportFormatError(
            f"{n_lods} LODs requested but the asset has {len(asset.lods)}; build them with lods={n_lods}"
        )
    check_outputs(output_paths(path, fmt, n_lods), force=force)
    if fmt == "usdz":
        from gen3d.export.usdz import require_usd

        require_usd()
    if fmt == "fbx":
        from gen3d.export.fbx import require_blender

        require_blender()
    from gen3d.export.engines import get_preset

    get_preset(preset)  # an unknown preset fails before anything is written
    items = [asset, *asset.lods[:n_lods]]
    fitted = _budget_normal_maps(items, Path(path), fmt, metadata, preset, images)
    written: list[Path] = []
    for level, item in enumerate(items):
        png, meta = fitted[level] if fitted else (None, metadata)
        written.extend(_write_one(item, lod_path(path, level), fmt, force, meta, preset, images, png))
    return written


def _budget_normal_maps(items: list[TexturedMesh], path: Path, fmt: str, metadata: dict | None,
                        preset: str | None, images: str | None) -> list[tuple[bytes, dict]] | None:
    """(normal map PNG, metadata) per level, fitted into the preset's byte budget for all the files together, or
    None without a preset, a budget or normal maps. GLB files are measured as written; FBX files once per level by
    Blender with a 1-texel normal map (Blender embeds the PNG's own bytes, so each file then grows by its PNG's
    length, to within a few bytes that the budget's slack covers)."""
    from gen3d.export.engines import get_preset, naming_for

    p = get_preset(preset)
    if p is None or p.max_bytes is None or fmt not in ("glb", "fbx") or any(i.normal_map is None for i in items):
        return None
    from gen3d.export.budget import fit_normal_maps
    from gen3d.export.glb import encode_png_small, glb_bytes

    images = images or p.images
    if fmt == "fbx":
        from gen3d.export.fbx import fbx_bytes

        one = encode_png_small(items[0].normal_map[:1, :1])
        base = [len(fbx_bytes(it, metadata, lod_path(path, k).stem, preset, images, one)) - len(one)
                for k, it in enumerate(items)]

        def size_of(level: int, png: bytes) -> int:
            return base[level] + len(png)
    else:
        def size_of(level: int, png: bytes) -> int:
            return len(glb_bytes(items[level], metadata=metadata, name=lod_path(path, level).stem,
                                 naming=naming_for(preset, fmt), images=images, normal_png=png))

    fitted = fit_normal_maps(items, size_of, p.max_bytes)
    return [(png, {**(metadata or {}), **fitted.metadata(k, p.max_bytes)}) for k, png in enumerate(fitted.pngs)]
