"""``gen3d render``: headless (EGL) pyrender preview of a GLB/OBJ/PLY file: a PNG and optionally a turntable GIF."""

from __future__ import annotations

import io
import re
from pathlib import Path

import typer

from gen3d.cli.errors import fail

MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl", ".off")


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text or "") or re.fullmatch(r"\s*(\d+)\s*", text or "")
    if not m:
        raise ValueError(f"--size {text!r}: use WxH, e.g. 512x512")
    w, h = (int(m.group(1)), int(m.group(2))) if m.lastindex == 2 else (int(m.group(1)),) * 2
    if not (16 <= w <= 4096 and 16 <= h <= 4096):
        raise ValueError(f"--size {text!r}: width and height must be between 16 and 4096")
    return w, h


def register(app: typer.Typer) -> None:
    @app.command()
    def render(
        file: Path = typer.Argument(..., help="A mesh (.glb .gltf .obj .ply .stl .off) or a point cloud .ply."),
        output: Path = typer.Option(..., "-o", "--output", help="PNG to write."),
        turntable: Path = typer.Option(None, "--turntable", help="Also write an animated turntable GIF here."),
        size: str = typer.Option("512x512", "--size", help="Image size WxH."),
        frames: int = typer.Option(36, "--frames", help="Turntable frames (one turn)."),
        force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    ) -> None:
        """Render a preview of a 3D file offscreen (no display needed).

        Examples:
          gen3d render chair.glb -o chair.png
          gen3d render chair.glb -o chair.png --turntable chair.gif --size 320x320
        """
        from gen3d.cli.make import run_guarded

        run_guarded(_render, file, output, turntable, size, frames, force)


def _render(file: Path, output: Path, turntable: Path | None, size: str, frames: int, force: bool) -> None:
    from gen3d.atomic import atomic_write_bytes, check_outputs

    try:
        wh = parse_size(size)
    except ValueError as e:
        fail(str(e))
    if output.suffix.lower() != ".png":
        fail(f"-o {output}: the preview is a PNG; end the name with .png")
    if turntable is not None and turntable.suffix.lower() != ".gif":
        fail(f"--turntable {turntable}: end the name with .gif")
    if not 2 <= frames <= 360:
        fail("--frames must be between 2 and 360")
    if not file.is_file():
        fail(f"{file} does not exist")
    if file.suffix.lower() not in MESH_SUFFIXES:
        fail(f"cannot render {file.suffix or 'files without a suffix'}: use {', '.join(MESH_SUFFIXES)}")
    check_outputs([output] + ([turntable] if turntable is not None else []), force=force)  # before slow work
    geom = load_geometry(file)
    render_one = _renderer_for(geom, wh)
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(render_one(None)).save(buf, format="PNG")
    atomic_write_bytes(output, buf.getvalue(), force=force)
    typer.echo(f"wrote {output}")
    if turntable is not None:
        import numpy as np

        from gen3d.render import VIEW_DIRECTION

        d = VIEW_DIRECTION
        radius, height = float(np.hypot(d[0], d[2])), float(d[1])
        start = float(np.arctan2(d[0], d[2]))
        images = []
        for i in range(frames):
            a = start + 2 * np.pi * i / frames
            images.append(Image.fromarray(render_one((radius * np.sin(a), height, radius * np.cos(a)))))
        buf = io.BytesIO()
        images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=max(20, 3000 // frames),
                       loop=0, optimize=False)
        atomic_write_bytes(turntable, buf.getvalue(), force=force)
        typer.echo(f"wrote {turntable}")


def load_geometry(file: Path):
    """A trimesh.Trimesh (mesh files) or a gen3d PointCloud (a .ply without faces), centred and scaled so
    its largest dimension is 1 (the renderer frames the unit cube)."""
    import numpy as np
    import trimesh

    try:
        loaded = trimesh.load(str(file), force="mesh", process=False)
    except Exception as e:  # noqa: BLE001 - any parse failure is the same user error
        fail(f"cannot read {file} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}): is it a valid "
             f"{file.suffix.lstrip('.').upper()} file?")
    if isinstance(loaded, trimesh.Trimesh) and len(loaded.faces) > 0:
        m = loaded.copy()
        lo, hi = m.bounds
        m.apply_translation(-(lo + hi) / 2)
        m.apply_scale(1.0 / (float((hi - lo).max()) or 1.0))
        return m
    if file.suffix.lower() == ".ply":
        from gen3d.pointcloud.io import load_cloud

        cloud = load_cloud(file)
        xyz = np.asarray(cloud.xyz, dtype=np.float64)
        lo, hi = xyz.min(0), xyz.max(0)
        cloud.xyz = ((xyz - (lo + hi) / 2) / (float((hi - lo).max()) or 1.0)).astype(np.float32)
        return cloud
    fail(f"{file} holds no triangles to render")


def _renderer_for(geom, size: tuple[int, int]):
    """``direction -> uint8 [H, W, 3]``: a square render (the camera's aspect is 1) cropped to W x H."""
    import trimesh

    try:
        import pyrender  # noqa: F401

        from gen3d import render as r
    except ImportError as e:
        fail(f"rendering needs pyrender ({e}): pip install 'gen3d[render]' (and the libegl1 package)")
    w, h = size
    side = max(w, h)
    x0, y0 = (side - w) // 2, (side - h) // 2

    def one(direction):
        try:
            if isinstance(geom, trimesh.Trimesh):
                img = r.render_mesh(geom, (side, side), direction=direction)
            else:
                img = r.render_points(geom, (side, side), direction=direction)
        except Exception as e:  # noqa: BLE001 - EGL/driver failures are one user-facing error
            if isinstance(e, (ValueError, OSError)):
                raise
            fail(f"offscreen rendering failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}): "
                 "install EGL (libegl1, libgl1-mesa-dri) and set PYOPENGL_PLATFORM=egl")
        return img[y0:y0 + h, x0:x0 + w]

    return one
