"""Headless previews: meshes, point clouds, mesh-like objects and contact sheets."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import trimesh

pytest.importorskip("pyrender", reason="pyrender (the 'render' extra) is not installed")

from gen3d.pointcloud import PointCloud  # noqa: E402
from gen3d.render import as_trimesh, contact_sheet, render_asset_preview, render_mesh, render_points  # noqa: E402


def _red_cube() -> trimesh.Trimesh:
    m = trimesh.creation.box((0.6, 0.6, 0.6))
    m.visual.vertex_colors = np.tile([230, 20, 20, 255], (len(m.vertices), 1))
    return m


def test_render_mesh_shows_the_object_in_the_middle_on_white():
    img = render_mesh(_red_cube(), size=(96, 96))
    assert img.shape == (96, 96, 3) and img.dtype == np.uint8
    assert (img[0, 0] > 240).all() and (img[-1, -1] > 240).all()  # background
    centre = img[40:56, 40:56].reshape(-1, 3).astype(int)
    assert (centre[:, 0] > centre[:, 1] + 60).all()  # red object in front of the camera


def test_render_points_colours():
    rng = np.random.default_rng(0)
    xyz = rng.uniform(-0.3, 0.3, (3000, 3))
    img = render_points(PointCloud(xyz, np.tile([0.1, 0.2, 0.9], (3000, 1))), size=(64, 64))
    blue = img[..., 2].astype(int) > img[..., 0].astype(int) + 80
    assert blue[24:40, 24:40].mean() > 0.3 and not blue[:4, :4].any()


def test_contact_sheet_layout():
    tiles = [np.full((20, 30, 3), c, np.uint8) for c in (0, 80, 160, 240, 40)]
    sheet = contact_sheet(tiles, cols=2, labels=["a", "b", "c", "d", "e"], pad=2)
    assert sheet.size == (2 * 32 + 2, 3 * (20 + 14 + 2) + 2)
    assert sheet.getpixel((2, 2)) == (0, 0, 0) and sheet.getpixel((34, 2)) == (80, 80, 80)
    assert contact_sheet(tiles, cols=9).size[0] == 5 * 34 + 4
    with pytest.raises(ValueError):
        contact_sheet([])


def test_mesh_like_objects_and_asset_preview(tmp_path):
    cube = _red_cube()
    like = SimpleNamespace(
        vertices=cube.vertices.astype(np.float32),
        faces=cube.faces,
        vertex_colors=np.tile([0.0, 1.0, 0.0], (len(cube.vertices), 1)),
    )
    tm = as_trimesh(like)
    assert tm.visual.vertex_colors[0, :3].tolist() == [0, 255, 0]
    asset = SimpleNamespace(point_cloud=PointCloud(cube.sample(500), np.ones((500, 3)) * 0.5), mesh=like)
    out = render_asset_preview(asset, tmp_path / "p" / "preview.png", size=(64, 64))
    from PIL import Image

    img = np.asarray(Image.open(out))
    assert img.shape[1] > 2 * 64
    green = img[..., 1].astype(int) > img[..., 0].astype(int) + 80
    assert green[:, img.shape[1] // 2 :].any() and not green[:, : img.shape[1] // 2].any()
