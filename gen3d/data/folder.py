"""Users' own meshes: a folder of OBJ / GLB / GLTF / PLY / STL files plus a captions file.

Captions come from ``captions.csv`` or ``captions.jsonl`` in the folder (or a path given explicitly):
CSV rows ``file,caption`` (a header row is optional), JSONL lines ``{"file": ..., "caption": ...}`` or
``{"file": ..., "captions": [...]}``; a file may have several rows. Files without a caption get one
from their name ("red_chair-02.obj" -> "red chair") and are listed in the report.

Each mesh becomes a :class:`~gen3d.data.shape.Shape` in the gen3d convention (Y up, front +Z, centred,
largest side 0.9), one part per geometry, with colours read from its texture (UV lookup), vertex colours,
face colours or material colour. Meshes that cannot be read, are empty or are not closed are skipped
and reported; they never abort a build.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gen3d.data.shape import Part, Shape, normalise_parts

SUPPORTED = (".obj", ".glb", ".gltf", ".ply", ".stl")
CAPTION_FILES = ("captions.csv", "captions.jsonl")
DEFAULT_RGB = (0.7, 0.7, 0.7)


class MeshError(ValueError):
    """A mesh that cannot be used (unreadable, empty or not closed); the message says why."""


@dataclass
class FolderReport:
    loaded: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    uncaptioned: list[str] = field(default_factory=list)
    captions_without_file: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{len(self.loaded)} meshes loaded, {len(self.skipped)} skipped"]
        lines += [f"  skipped {f}: {why}" for f, why in self.skipped]
        if self.uncaptioned:
            lines.append(
                f"  {len(self.uncaptioned)} without a caption (named from the file): "
                + ", ".join(self.uncaptioned[:10])
                + (" ..." if len(self.uncaptioned) > 10 else "")
            )
        if self.captions_without_file:
            lines.append("  captions for missing files: " + ", ".join(self.captions_without_file[:10]))
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------- captions


def read_captions(path: str | os.PathLike) -> dict[str, list[str]]:
    """``{file name: [captions]}`` from a CSV or JSONL captions file."""
    path = Path(path)
    out: dict[str, list[str]] = {}
    if path.suffix.lower() == ".jsonl":
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                caps = row["captions"] if "captions" in row else [row["caption"]]
                out.setdefault(str(row["file"]), []).extend(str(c) for c in caps)
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise ValueError(f'{path}:{n}: expected {{"file": ..., "caption": ...}} ({e})') from e
    else:
        with open(path, newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.reader(f), 1):
                if not row or not "".join(row).strip():
                    continue
                if n == 1 and [c.strip().lower() for c in row[:2]] == ["file", "caption"]:
                    continue
                if len(row) < 2:
                    raise ValueError(f"{path}:{n}: expected 'file,caption'")
                out.setdefault(row[0].strip(), []).append(",".join(row[1:]).strip())
    return out


def caption_from_name(name: str) -> str:
    stem = Path(name).stem
    words = [w for w in re.split(r"[_\-\s.]+", stem) if w and not w.isdigit()]
    return " ".join(words).lower() or stem


# ---------------------------------------------------------------------------------------- colours


class TextureColor:
    """Colours from a texture image at the barycentric UV of each sample point (nearest texel)."""

    def __init__(self, faces: np.ndarray, uv: np.ndarray, image: np.ndarray, factor: np.ndarray) -> None:
        self.faces, self.uv, self.image, self.factor = faces, uv, image, factor

    def __call__(self, face_index: np.ndarray, bary: np.ndarray) -> np.ndarray:
        uv = np.einsum("kj,kjc->kc", bary, self.uv[self.faces[face_index]])
        h, w = self.image.shape[:2]
        x = np.floor((uv[:, 0] % 1.0) * w).astype(np.int64).clip(0, w - 1)
        y = np.floor((1.0 - uv[:, 1] % 1.0) * h).astype(np.int64).clip(0, h - 1)
        return self.image[y, x, :3].astype(np.float64) / 255.0 * self.factor[None, :3]


class VertexColor:
    def __init__(self, faces: np.ndarray, colors: np.ndarray) -> None:
        self.faces, self.colors = faces, colors

    def __call__(self, face_index: np.ndarray, bary: np.ndarray) -> np.ndarray:
        return np.einsum("kj,kjc->kc", bary, self.colors[self.faces[face_index]])


class FaceColor:
    def __init__(self, colors: np.ndarray) -> None:
        self.colors = colors

    def __call__(self, face_index: np.ndarray, bary: np.ndarray) -> np.ndarray:
        return self.colors[face_index]


class ConstantColor:
    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = np.asarray(rgb, dtype=np.float64)[:3]

    def __call__(self, face_index: np.ndarray, bary: np.ndarray) -> np.ndarray:
        return np.repeat(self.rgb[None], len(face_index), 0)


def _material_color_and_image(material: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """(RGBA factor 0..1, texture image or None). glTF (PBR) multiplies the texture by its base colour
    factor; for OBJ-style materials the texture map replaces the diffuse colour (what viewers show)."""
    base = getattr(material, "baseColorFactor", None)
    if base is not None:
        factor = np.asarray(base, dtype=np.float64)
        factor = factor / 255.0 if factor.max() > 1.0 else factor
        tex = getattr(material, "baseColorTexture", None)
        return factor, None if tex is None else np.asarray(tex.convert("RGBA"))
    img = getattr(material, "image", None)
    if img is not None:
        return np.ones(4), np.asarray(img.convert("RGBA"))
    diffuse = getattr(material, "diffuse", None)
    return (np.ones(4) if diffuse is None else np.asarray(diffuse, dtype=np.float64) / 255.0), None


def color_function(mesh: Any):
    """A (face_index, barycentric) -> rgb callable for a loaded trimesh's visuals."""
    visual = mesh.visual
    faces = np.asarray(mesh.faces)
    if visual.kind == "texture":
        factor, image = _material_color_and_image(visual.material)
        uv = getattr(visual, "uv", None)
        if image is not None and uv is not None and len(uv) == len(mesh.vertices):
            return TextureColor(faces, np.asarray(uv, dtype=np.float64), image, factor)
        return ConstantColor(factor[:3])
    if visual.kind == "vertex":
        return VertexColor(faces, np.asarray(visual.vertex_colors, dtype=np.float64)[:, :3] / 255.0)
    if visual.kind == "face":
        return FaceColor(np.asarray(visual.face_colors, dtype=np.float64)[:, :3] / 255.0)
    return ConstantColor(np.asarray(DEFAULT_RGB))


# ---------------------------------------------------------------------------------------- meshes

_Z_UP_TO_Y_UP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], dtype=np.float64)


def _geometries(path: Path) -> list[Any]:
    import trimesh

    try:
        loaded = trimesh.load(str(path))
    except Exception as e:  # noqa: BLE001 - any reader failure is reported, not raised
        raise MeshError(f"cannot read ({type(e).__name__}: {e})") from e
    if isinstance(loaded, trimesh.Scene):
        meshes = []
        for node in loaded.graph.nodes_geometry:
            transform, name = loaded.graph[node]
            geom = loaded.geometry[name]
            if isinstance(geom, trimesh.Trimesh):
                g = geom.copy()
                g.apply_transform(transform)
                meshes.append(g)
        return meshes
    if isinstance(loaded, trimesh.Trimesh):
        return [loaded]
    raise MeshError(f"holds no triangle mesh ({type(loaded).__name__})")


def load_mesh_shape(path: str | os.PathLike, captions: list[str] | None = None, up: str = "y") -> Shape:
    """One user mesh as a normalised Shape (raises :class:`MeshError` when it cannot be used)."""
    path = Path(path)
    meshes = [m for m in _geometries(path) if len(m.faces)]
    if not meshes:
        raise MeshError("empty: no triangles")
    parts = []
    for i, m in enumerate(meshes):
        if not m.is_watertight:
            raise MeshError(f"not closed (geometry {i} has open edges); close it to use it for training")
        if up == "z":
            m.apply_transform(_Z_UP_TO_Y_UP)
        if m.volume < 0:
            m.invert()
        parts.append(
            Part(
                f"mesh{i}",
                np.asarray(m.vertices, dtype=np.float64),
                np.asarray(m.faces, dtype=np.int64),
                "unknown",
                "unknown",
                np.asarray(DEFAULT_RGB),
                surface_color=color_function(m),
            )
        )
    size = normalise_parts(parts)
    caps = list(captions) if captions else [caption_from_name(path.name)]
    return Shape("user", 0, {"file": path.name}, parts, size, caps)


def mesh_files(folder: str | os.PathLike) -> list[Path]:
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED)


def load_folder(
    folder: str | os.PathLike, captions: str | os.PathLike | None = None, up: str = "y"
) -> tuple[list[Shape], FolderReport]:
    """All usable meshes under ``folder`` (sorted by path) and a report of what was skipped and why."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    cap_path = Path(captions) if captions else next((root / n for n in CAPTION_FILES if (root / n).exists()), None)
    table = read_captions(cap_path) if cap_path is not None else {}
    report = FolderReport()
    shapes = []
    files = mesh_files(root)
    for f in files:
        rel = f.relative_to(root).as_posix()
        caps = table.get(rel) or table.get(f.name)
        if not caps:
            report.uncaptioned.append(rel)
        try:
            shapes.append(load_mesh_shape(f, caps, up=up))
            report.loaded.append(rel)
        except MeshError as e:
            report.skipped.append((rel, str(e)))
    names = {f.relative_to(root).as_posix() for f in files} | {f.name for f in files}
    report.captions_without_file = sorted(k for k in table if k not in names)
    return shapes, report
