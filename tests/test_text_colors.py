"""Colour names as people write them: spellings, shades, hex codes, and one-line errors for the rest."""

import numpy as np
import pytest

from gen3d.data.appearance import COLORS
from gen3d.eval import metrics
from gen3d.text.colors import UnknownColorError, color_names, find_color, resolve_color


@pytest.mark.parametrize(("text", "name"), [
    ("gray", "grey"), ("Light Gray", "light grey"), ("dark-red", "dark red"), ("darkred", "dark red"),
    ("  NAVY  blue ", "navy"), ("golden", "gold"), ("reddish", "red"), ("bluish", "blue"), ("grey colour", "grey"),
    ("crimson", "crimson"), ("sky blue", "skyblue"), ("Forest Green", "forestgreen"), ("slate gray", "slategray"),
    ("#a22", "#aa2222"), ("#AA2222", "#aa2222"),
])
def test_spellings_shades_and_hex_resolve(text, name):
    assert resolve_color(text).name == name


def test_palette_names_keep_the_training_colours_and_css_names_their_srgb():
    for name, rgb in COLORS.items():
        c = resolve_color(name)
        assert (c.name, c.rgb, c.source) == (name, tuple(rgb), "palette")
    crimson = resolve_color("crimson")
    assert crimson.source == "css" and np.allclose(np.array(crimson.rgb) * 255, (220, 20, 60), atol=1e-3)
    assert resolve_color("#00ff80").rgb == (0.0, 1.0, round(128 / 255, 6))
    assert len(color_names()) > 140 and "grey" in color_names() and "crimson" in color_names()


@pytest.mark.parametrize("text", ["blurple", "", "#12345", "chair", "queen"])
def test_unknown_colours_fail_in_one_line_naming_the_fix(text):
    assert find_color(text) is None
    with pytest.raises(UnknownColorError) as e:
        resolve_color(text)
    msg = str(e.value)
    assert "\n" not in msg and repr(text) in msg and "hex code" in msg
    if text == "blurple":
        assert "did you mean 'purple'" in msg


def test_colour_check_accepts_any_spelling_and_shades():
    rgb = np.concatenate([np.tile(COLORS["grey"], (700, 1)), np.tile(COLORS["red"], (300, 1))])
    assert metrics.color_matches(rgb, "gray", COLORS) and metrics.color_matches(rgb, "grey", COLORS)
    assert not metrics.color_matches(rgb, "navy", COLORS)
    crimson = np.tile(resolve_color("crimson").rgb, (500, 1))
    assert metrics.color_matches(crimson, "crimson", COLORS) and metrics.color_matches(crimson, "red", COLORS)
    assert not metrics.color_matches(crimson, "teal", COLORS)
    with pytest.raises(ValueError, match="unknown colour 'blurple'"):
        metrics.color_matches(crimson, "blurple", COLORS)


def test_eval_prompt_files_spell_colours_canonically_and_reject_unknown_ones(tmp_path):
    from gen3d.eval.report import read_prompts

    good = tmp_path / "good.jsonl"
    good.write_text('{"prompt": "a gray chair", "category": "chair", "color": "gray"}\n'
                    '{"prompt": "a crimson mug", "category": "mug", "color": "Crimson"}\n'
                    '{"prompt": "a mug", "category": "mug"}\n')
    assert [r.get("color") for r in read_prompts(good)] == ["grey", "crimson", None]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a chair", "category": "chair"}\n'
                   '{"prompt": "x", "category": "chair", "color": "blurple"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: unknown colour 'blurple'") as e:
        read_prompts(bad)
    assert "\n" not in str(e.value)


def test_gen3d_eval_rejects_an_unknown_colour_in_one_line_with_exit_code_2(tmp_path):
    from typer.testing import CliRunner

    from gen3d.cli import app

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x", "category": "chair", "color": "blurple"}\n')
    r = CliRunner().invoke(app, ["eval", "--prompts", str(bad), "--json", str(tmp_path / "out.json")])
    assert r.exit_code == 2 and "unknown colour 'blurple'" in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "out.json").exists()
