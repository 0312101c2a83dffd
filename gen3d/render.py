"""Headless previews with pyrender (EGL): meshes, point clouds and labelled contact sheets.

The camera looks at the origin from the front (+Z), a little to the right and above (a 3/4 view),
with Y up, framing the [-0.5, 0.5]^3 cube of the gen3d convention. Offscreen renderers are cached per
image size, so rendering many small images is cheap after the first.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from collections.abc import Sequence  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import numpy as np  # noqa: E402

if TYPE_CHECKING:
    import trimesh
    from PIL import Image

    from gen3d.pointcloud import PointCloud

_RENDERERS: dict[tuple[int, int, float], Any] = {}
VIEW_DIRECTION = np.array([0.55, 0.45, 1.0])  # from the target towards the camera
BACKGROUND = (1.0, 1.0, 1.0)


def look_at(eye: np.ndarray, target: np.ndarray = np.zeros(3), up: np.ndarray = np.array([0.0, 1.0, 0.0])):
    """4x4 camera-to-world pose (OpenGL convention: the camera looks down its -Z)."""
    f = eye - target
    f = f / np.linalg.norm(f)
    r = np.cross(up, f)
    r = r / np.linalg.norm(r)
    u = np.cross(f, r)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = r, u, f, eye
    return pose


def _renderer(size: tuple[int, int], point_size: float = 1.0):
    import pyrender

    key = (int(size[0]), int(size[1]), float(point_size))
    if key not in _RENDERERS:
        _RENDERERS[key] = pyrender.OffscreenRenderer(key[0], key[1], point_size=point_size)
    return _RENDERERS[key]


def _scene(distance: float, direction: np.ndarray | None):
    import pyrender

    scene = pyrender.Scene(bg_color=(*BACKGROUND, 1.0), ambient_light=(0.35, 0.35, 0.35))
    d = VIEW_DIRECTION if direction is None else np.asarray(direction, dtype=np.float64)
    pose = look_at(d / np.linalg.norm(d) * distance)
    scene.add(pyrender.PerspectiveCamera(yfov=np.deg2rad(30.0), aspectRatio=1.0), pose=pose)
    scene.add(pyrender.DirectionalLight(intensity=1.6), pose=pose)
    scene.add(pyrender.DirectionalLight(intensity=0.9), pose=look_at(np.array([-1.0, 2.0, 0.5])))
    return scene


def render_mesh(
    mesh: trimesh.Trimesh,
    size: tuple[int, int] = (256, 256),
    distance: float = 2.4,
    direction: Sequence[float] | None = None,
) -> np.ndarray:
    """RGB uint8 [H, W, 3] image of a mesh (vertex/face colours or its material), flat-shaded."""
    import pyrender

    scene = _scene(distance, None if direction is None else np.asarray(direction))
    scene.add(pyrender.Mesh.from_trimesh(mesh, smooth=False))
    color, _ = _renderer(size).render(scene)
    return np.ascontiguousarray(color[..., :3])


def render_textured(
    asset: Any,
    size: tuple[int, int] = (256, 256),
    distance: float = 2.4,
    direction: Sequence[float] | None = None,
    normal_map: bool = True,
) -> np.ndarray:
    """RGB uint8 [H, W, 3] image of a textured asset (gen3d's TexturedMesh: ``vertices``, ``faces``, ``normals``,
    ``uvs``, ``texture`` and optionally ``normal_map`` + ``tangents``), smooth-shaded with its vertex normals and,
    when ``normal_map`` and it has one, its tangent-space normal map (what a game engine shows)."""
    import pyrender

    mat_args: dict[str, Any] = {"baseColorTexture": pyrender.Texture(source=np.asarray(asset.texture, np.uint8),
                                                                      source_channels="RGB"),
                                "metallicFactor": 0.0, "roughnessFactor": 0.7}
    tangents = None
    if normal_map and getattr(asset, "normal_map", None) is not None:
        mat_args["normalTexture"] = pyrender.Texture(source=np.asarray(asset.normal_map, np.uint8),
                                                     source_channels="RGB")
        tangents = np.asarray(asset.tangents, dtype=np.float32)
    prim = pyrender.Primitive(
        positions=np.asarray(asset.vertices, np.float32), normals=np.asarray(asset.normals, np.float32),
        tangents=tangents, texcoord_0=np.asarray(asset.uvs, np.float32),
        indices=np.asarray(asset.faces, np.uint32), material=pyrender.MetallicRoughnessMaterial(**mat_args),
    )
    scene = _scene(distance, None if direction is None else np.asarray(direction))
    scene.add(pyrender.Mesh([prim]))
    color, _ = _renderer(size).render(scene)
    return np.ascontiguousarray(color[..., :3])


def render_points(
    cloud: PointCloud,
    size: tuple[int, int] = (256, 256),
    distance: float = 2.4,
    point_size: float | None = None,
    direction: Sequence[float] | None = None,
) -> np.ndarray:
    """RGB uint8 [H, W, 3] image of a coloured point cloud (unlit points)."""
    import pyrender

    scene = _scene(distance, None if direction is None else np.asarray(direction))
    scene.add(pyrender.Mesh.from_points(cloud.xyz, colors=cloud.rgb))
    ps = point_size if point_size is not None else max(1.5, size[0] / 90.0)
    color, _ = _renderer(size, ps).render(scene)
    return np.ascontiguousarray(color[..., :3])


def contact_sheet(
    images: Sequence[np.ndarray],
    cols: int = 4,
    labels: Sequence[str] | None = None,
    pad: int = 4,
    background: tuple[int, int, int] = (255, 255, 255),
    label_size: int | None = None,
) -> Image.Image:
    """Tile equally sized RGB images into a grid, with an optional text label under each tile
    (``label_size``: the labels' font size in pixels; default Pillow's small default font)."""
    from PIL import Image, ImageDraw, ImageFont

    if not images:
        raise ValueError("contact_sheet needs at least one image")
    h, w = images[0].shape[:2]
    cols = max(1, min(cols, len(images)))
    rows = (len(images) + cols - 1) // cols
    font = ImageFont.load_default() if label_size is None else ImageFont.load_default(size=label_size)
    label_h = (14 if label_size is None else label_size + 6) if labels else 0
    sheet = Image.new("RGB", (cols * (w + pad) + pad, rows * (h + label_h + pad) + pad), background)
    draw = ImageDraw.Draw(sheet)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        x, y = pad + c * (w + pad), pad + r * (h + label_h + pad)
        sheet.paste(Image.fromarray(np.asarray(img, dtype=np.uint8)[..., :3]), (x, y))
        if labels:
            text = str(labels[i])
            while len(text) > 3 and draw.textlength(text, font=font) > w:
                text = text[:-2] + "…" if not text.endswith("…") else text[:-2] + "…"
            draw.text((x + 2, y + h + 1), text, fill=(40, 40, 40), font=font)
    return sheet


def cloud_sheet(clouds: Sequence[PointCloud], labels: Sequence[str] | None = None, size: int = 192,
                cols: int = 8) -> Image.Image:
    """A labelled contact sheet of point clouds, one ``size`` x ``size`` render each (training and release sheets)."""
    return contact_sheet([render_points(c, size=(size, size)) for c in clouds], cols=cols, labels=labels)


def as_trimesh(mesh: Any) -> trimesh.Trimesh:
    """A trimesh from a trimesh or any mesh-like object with ``vertices``/``faces`` and optionally
    ``uvs`` + ``texture`` (uint8 image) or ``vertex_colors`` (0..1 or uint8), e.g. gen3d's TexturedMesh."""
    import trimesh

    if isinstance(mesh, trimesh.Trimesh):
        return mesh
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    uvs, tex = getattr(mesh, "uvs", None), getattr(mesh, "texture", None)
    if uvs is not None and tex is not None and len(uvs) == len(v):
        from PIL import Image

        visual = trimesh.visual.TextureVisuals(uv=np.asarray(uvs), image=Image.fromarray(np.asarray(tex, np.uint8)))
        return trimesh.Trimesh(v, f, visual=visual, process=False)
    cols = getattr(mesh, "vertex_colors", None)
    if cols is not None and len(cols) == len(v):
        cols = np.asarray(cols)
        cols = np.clip(cols * 255, 0, 255).astype(np.uint8) if cols.dtype.kind == "f" else cols.astype(np.uint8)
        return trimesh.Trimesh(v, f, vertex_colors=cols, process=False)
    return trimesh.Trimesh(v, f, process=False)


def render_asset_preview(asset: Any, path: str | os.PathLike, size: tuple[int, int] = (384, 384)) -> Any:
    """Save a PNG showing an asset's point cloud and (when it has one) its mesh side by side.

    ``asset`` needs ``point_cloud`` (a PointCloud) and optionally ``mesh`` (see :func:`as_trimesh`)."""
    from pathlib import Path

    images, labels = [], []
    cloud = getattr(asset, "point_cloud", None)
    if cloud is not None:
        images.append(render_points(cloud, size))
        labels.append("points")
    if getattr(asset, "mesh", None) is not None:
        images.append(render_mesh(as_trimesh(asset.mesh), size))
        labels.append("mesh")
    if not images:
        raise ValueError("the asset has neither a point cloud nor a mesh to preview")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(images, cols=len(images), labels=labels).save(out)
    return out
