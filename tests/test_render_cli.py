"""``gen3d render``: headless PNG previews and turntable GIFs of GLB/OBJ/PLY files; one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from PIL import Image
from typer.testing import CliRunner

from gen3d.cli import app

pytest.importorskip("pyrender", reason="pip install 'gen3d[render]'")
runner = CliRunner()


def _red_blue_box(path):
    """A 1.2 x 0.4 x 0.6 m box (not symmetric under rotation), red on top, blue below, offset from the origin."""
    box = trimesh.creation.box((1.2, 0.4, 0.6))
    box.apply_translation((3.0, 0.2, -1.0))
    box.unmerge_vertices()  # per-face colours survive the export as vertex colours
    up = box.triangles_center[:, 1] > 0.2
    colors = np.where(up[:, None], [220, 20, 20, 255], [20, 40, 220, 255]).astype(np.uint8)
    box.visual = trimesh.visual.ColorVisuals(box, face_colors=colors)
    box.export(path)
    return path


def _coverage(img: np.ndarray) -> float:
    return float((np.asarray(img)[..., :3].min(axis=-1) < 240).mean())


def test_render_png_and_turntable(tmp_path) -> None:
    glb = _red_blue_box(tmp_path / "box.glb")
    png, gif = tmp_path / "box.png", tmp_path / "spin.gif"
    res = runner.invoke(app, ["render", str(glb), "-o", str(png), "--turntable", str(gif), "--size", "160x120",
                              "--frames", "8"])
    assert res.exit_code == 0, res.output
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape == (120, 160, 3)
    assert 0.05 < _coverage(img) < 0.9  # framed: the off-centre box is in view and not clipped to the edges
    r, g, b = img[..., 0].astype(int), img[..., 1].astype(int), img[..., 2].astype(int)
    assert ((r > 120) & (g < 80) & (b < 80)).sum() > 50 and ((b > 120) & (r < 80)).sum() > 50  # both colours
    anim = Image.open(gif)
    assert anim.n_frames == 8 and anim.size == (160, 120) and anim.info.get("loop") == 0
    frames = []
    for i in range(anim.n_frames):
        anim.seek(i)
        frames.append(np.asarray(anim.convert("RGB"), dtype=np.int16))
    assert np.abs(frames[0] - frames[2]).mean() > 2  # it turns
    # existing outputs: refused without --force, replaced with it
    res = runner.invoke(app, ["render", str(glb), "-o", str(png)])
    assert res.exit_code == 2 and "already exists" in res.output and len(res.output.strip().splitlines()) == 1
    res = runner.invoke(app, ["render", str(glb), "-o", str(png), "--force", "--size", "64"])
    assert res.exit_code == 0 and Image.open(png).size == (64, 64)


def test_render_obj_and_point_cloud(tmp_path) -> None:
    from gen3d.export.cloud import save_cloud_ply
    from gen3d.pointcloud import PointCloud

    mesh = _red_blue_box(tmp_path / "box.obj")
    res = runner.invoke(app, ["render", str(mesh), "-o", str(tmp_path / "obj.png"), "--size", "96x96"])
    assert res.exit_code == 0, res.output
    assert _coverage(np.asarray(Image.open(tmp_path / "obj.png").convert("RGB"))) > 0.05
    rng = np.random.default_rng(0)
    xyz = rng.uniform(-1, 1, (3000, 3)).astype(np.float32) * [2.0, 1.0, 1.0]
    save_cloud_ply(PointCloud(xyz, np.tile([0.1, 0.7, 0.1], (3000, 1))), tmp_path / "cloud.ply")
    res = runner.invoke(app, ["render", str(tmp_path / "cloud.ply"), "-o", str(tmp_path / "c.png"), "--size", "96"])
    assert res.exit_code == 0, res.output
    img = np.asarray(Image.open(tmp_path / "c.png").convert("RGB")).astype(int)
    assert ((img[..., 1] > 120) & (img[..., 0] < 100)).mean() > 0.05  # green points


@pytest.mark.parametrize(("setup", "args", "match"), [
    ("box", ["--size", "big"], "use WxH"),
    ("box", ["--size", "8x8"], "between 16 and 4096"),
    ("box", ["-o", "OUT/x.jpg"], "end the name with .png"),
    ("box", ["--turntable", "OUT/x.mp4"], "end the name with .gif"),
    ("missing", [], "does not exist"),
    ("garbage", [], "cannot read"),
    ("text", [], "cannot render .txt"),
])
def test_render_errors_are_one_line(tmp_path, setup, args, match) -> None:
    src = {"box": tmp_path / "b.glb", "missing": tmp_path / "none.glb", "garbage": tmp_path / "g.glb",
           "text": tmp_path / "t.txt"}[setup]
    if setup == "box":
        _red_blue_box(src)
    elif setup in ("garbage", "text"):
        src.write_bytes(b"this is not a mesh")
    args = [a.replace("OUT", str(tmp_path)) for a in args]
    if "-o" not in args:
        args = ["-o", str(tmp_path / "o.png"), *args]
    res = runner.invoke(app, ["render", str(src), *args])
    assert res.exit_code == 2, res.output
    assert match in res.output and len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert not (tmp_path / "o.png").exists()
