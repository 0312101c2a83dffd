"""Wavefront OBJ + MTL + PNG, with file and material names unique per asset.

``chair.obj`` writes ``chair.obj``, ``chair.mtl`` and ``chair_basecolor.png`` with material
``chair_material``, so several assets can share a folder. Positions are welded (seams live only in
the ``vt`` indices), vertex colours ride on the ``v`` lines (the common ``v x y z r g b`` extension),
and the MTL carries the PBR extension (``Pr`` roughness, ``Pm`` metallic).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from gen3d.atomic import atomic_write_bytes, check_outputs
from gen3d.export.glb import encode_png
from gen3d.export.metadata import merge_metadata
from gen3d.texture.asset import TexturedMesh


def weld(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge bit-identical positions -> (index of the kept vertex per unique position, inverse map)."""
    v = np.ascontiguousarray(vertices, dtype=np.float32)
    _, first, inverse = np.unique(v.view(np.dtype((np.void, 12))).reshape(-1), return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def obj_paths(path: str | Path) -> tuple[Path, Path, Path]:
    path = Path(path)
    return path, path.with_suffix(".mtl"), path.with_name(f"{path.stem}_basecolor.png")


def _fmt(rows: np.ndarray, prefix: str, digits: int) -> str:
    if len(rows) == 0:
        return ""
    buf = io.StringIO()
    fmt = prefix + " " + " ".join([f"%.{digits}f"] * rows.shape[1])
    np.savetxt(buf, rows, fmt=fmt)
    return buf.getvalue()


def write_obj(
    asset: TexturedMesh, path: str | Path, force: bool = False, metadata: dict | None = None
) -> list[Path]:
    """Write OBJ + MTL + PNG (atomic per file; all three checked before any is written)."""
    obj_path, mtl_path, png_path = obj_paths(path)
    check_outputs([obj_path, mtl_path, png_path], force=force)
    stem = obj_path.stem
    mat_name = f"{stem}_material"
    first, inverse = weld(asset.vertices)
    pos = asset.vertices[first]
    col = np.clip(asset.vertex_colors[first], 0.0, 1.0)
    nrm = asset.normals.astype(np.float64)
    # one normal per welded position: average the seam copies
    acc = np.zeros((len(first), 3))
    np.add.at(acc, inverse, nrm)
    acc /= np.maximum(np.linalg.norm(acc, axis=1, keepdims=True), 1e-12)
    meta = merge_metadata(asset.metadata, metadata)
    header = [f"# {meta.get('generator', 'gen3d')} {meta.get('gen3d_version', '')}".rstrip()]
    if meta.get("prompt"):
        header.append("# prompt: " + str(meta["prompt"]).replace("\n", " "))
    header += [f"mtllib {mtl_path.name}", f"o {stem}"]
    f = asset.faces
    fv = inverse[f] + 1
    ft = f + 1
    face_rows = np.stack([fv[:, 0], ft[:, 0], fv[:, 0], fv[:, 1], ft[:, 1], fv[:, 1], fv[:, 2], ft[:, 2], fv[:, 2]], 1)
    buf = io.StringIO()
    np.savetxt(buf, face_rows, fmt="f %d/%d/%d %d/%d/%d %d/%d/%d")
    text = "\n".join(header) + "\n"
    text += _fmt(np.concatenate([pos, col], axis=1), "v", 6)
    text += _fmt(asset.uvs, "vt", 6)
    text += _fmt(acc, "vn", 5)
    text += f"usemtl {mat_name}\ns 1\n" + buf.getvalue()
    mat = asset.material
    mtl = (
        f"# gen3d material for {stem}\nnewmtl {mat_name}\n"
        "Ka 0.000000 0.000000 0.000000\n"
        f"Kd {mat.base_color_factor[0]:.6f} {mat.base_color_factor[1]:.6f} {mat.base_color_factor[2]:.6f}\n"
        "Ks 0.000000 0.000000 0.000000\nd 1.000000\nillum 1\n"
        f"Pr {mat.roughness:.6f}\nPm {mat.metallic:.6f}\n"
        f"map_Kd {png_path.name}\n"
    )
    atomic_write_bytes(png_path, encode_png(asset.texture), force=force)
    atomic_write_bytes(mtl_path, mtl.encode("utf-8"), force=force)
    atomic_write_bytes(obj_path, text.encode("utf-8"), force=force)
    return [obj_path, mtl_path, png_path]
