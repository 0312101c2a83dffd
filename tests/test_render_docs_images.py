"""scripts/render_docs_images.py: the docs contact sheet of final textured meshes from the released pipeline."""

import importlib.util

import numpy as np
from PIL import Image

from tests.conftest import REPO


def _script():
    spec = importlib.util.spec_from_file_location("render_docs_images", REPO / "scripts" / "render_docs_images.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_mesh_sheet_of_two_prompts_with_labels_and_glbs(tmp_path, capsys):
    mod = _script()
    out, glbs = tmp_path / "images", tmp_path / "glbs"
    args = ["--prompts", "2", "--steps", "4", "--texture-size", "64", "--tile", "96", "--cols", "2",
            "--label-size", "12", "--out-dir", str(out), "--glb-dir", str(glbs)]
    assert mod.main(args) == 0
    text = capsys.readouterr().out
    assert "2 prompts, seeds 0-1" in text and "gen3d-small" in text
    assert sorted(p.name for p in glbs.iterdir()) == ["a_red_chair_seed0.glb", "a_wooden_table_seed1.glb"]
    assert all(p.read_bytes()[:4] == b"glTF" for p in glbs.iterdir())
    assert not (out / "blender_import.png").exists()  # only with --blender
    img = np.asarray(Image.open(out / "outputs.png").convert("RGB"))
    assert img.shape == (96 + (12 + 6) + 4 + 4, 2 * (96 + 4) + 4, 3)  # 2 tiles in one row, a 12 px label each
    for c in range(2):  # each tile shows a rendered mesh, and each caption has dark text
        x = 4 + c * (96 + 4)
        assert (img[4:4 + 96, x:x + 96] < 240).any(axis=-1).sum() > 100, c
        assert (img[4 + 96:4 + 96 + 18, x:x + 96] < 120).any(axis=-1).sum() > 20, c
    assert list(out.iterdir()) == [out / "outputs.png"]  # no temp files left behind


def test_bad_arguments_are_one_line_and_write_nothing(tmp_path, capsys):
    mod = _script()
    out = tmp_path / "images"
    assert mod.main(["--prompts", "0", "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --prompts") and "\n" not in err
    assert mod.main(["--model", str(tmp_path / "nowhere"), "--prompts", "1", "--out-dir", str(out),
                     "--glb-dir", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert not (out / "outputs.png").exists()


def test_big_pictures_fall_back_to_a_palette_png_under_the_limit():
    mod = _script()
    noise = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    data = mod.png_bytes(Image.fromarray(noise), limit=10_000)  # incompressible: over the limit as RGB
    import io

    assert Image.open(io.BytesIO(data)).mode == "P"
    small = mod.png_bytes(Image.new("RGB", (64, 64), (255, 255, 255)))
    assert Image.open(io.BytesIO(small)).mode == "RGB"
