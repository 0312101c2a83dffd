"""scripts/render_sample_sheet.py: the release sample sheet, sampled through the model's own pipeline."""

import importlib.util
import json

import numpy as np
from PIL import Image

from tests.conftest import REPO
from tests.test_experts import _expert_folder


def _script():
    spec = importlib.util.spec_from_file_location("render_sample_sheet", REPO / "scripts" / "render_sample_sheet.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sheet_has_one_labelled_tile_per_prompt_and_uses_the_experts(tmp_path, tiny_model, capsys):
    cfg = tmp_path / "train.json"
    cfg.write_text(json.dumps({"sample_prompts": ["a red chair", "a torus", "a lamp"]}))
    folder, _, _ = _expert_folder(tmp_path, tiny_model)
    run = _script().main
    args = ["--config", str(cfg), "--steps", "3", "--size", "64", "--cols", "2"]
    assert run(["--model", str(folder), "--out", str(tmp_path / "a.png"), *args]) == 0
    assert "3 prompts, DDIM 3, seeds 0-2" in capsys.readouterr().out
    img = np.asarray(Image.open(tmp_path / "a.png").convert("RGB"))
    assert img.shape == (2 * (64 + 14 + 4) + 4, 2 * (64 + 4) + 4, 3)  # 2 columns, 2 rows with labels
    for r, c in ((0, 0), (0, 1), (1, 0)):  # every prompt's tile has drawn points; the empty fourth does not
        y, x = 4 + r * (64 + 14 + 4), 4 + c * (64 + 4)
        assert (img[y:y + 64, x:x + 64] < 250).any(axis=-1).sum() > 20, (r, c)
    y, x = 4 + 64 + 14 + 4, 4 + 64 + 4
    assert (img[y:y + 64, x:x + 64] == 255).all()

    assert run(["--model", str(folder), "--out", str(tmp_path / "b.png"), *args]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()  # fixed seeds: same sheet
    assert run(["--model", str(tiny_model), "--out", str(tmp_path / "plain.png"), *args]) == 0
    assert (tmp_path / "plain.png").read_bytes() != (tmp_path / "a.png").read_bytes()  # the expert took steps


def test_a_config_without_prompts_is_one_line_and_writes_nothing(tmp_path, tiny_model, capsys):
    cfg = tmp_path / "train.json"
    cfg.write_text(json.dumps({"model": {}}))
    out = tmp_path / "s.png"
    assert _script().main(["--model", str(tiny_model), "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot read sample_prompts") and "--config" in err and "\n" not in err
    assert not out.exists()
    assert _script().main(["--model", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and not out.exists()
