"""Prompt understanding (gen3d.text.understand), exact colours (gen3d.pointcloud.color) and how the pipeline,
`gen3d make --explain` and the metadata show them. The parser's prompts here were written for these tests, not
taken from any evaluation set."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gen3d.pointcloud.color import delta_e, dominant_lab, recolor, to_lab
from gen3d.text.colors import resolve_color
from gen3d.text.understand import understand, warnings_for
from gen3d.text.vocab import Vocabulary
from tests.conftest import REPO

SMALL = REPO / "assets" / "models" / "gen3d-small"


class _NoEncoder:
    text = None  # name matching only: similarity would need the encoder


@pytest.fixture(scope="module")
def vocab():
    return Vocabulary.load(SMALL, _NoEncoder())


@pytest.mark.parametrize(("prompt", "category", "noun"), [
    ("two wooden Stools", "stool", "stools"),                    # plural, case
    ("my grandmother's   dining chair", "chair", "dining chair"),  # possessive, spacing, longest name
    ("a cactus in a terracotta pot", "cactus", "cactus"),        # the head noun, not the pot's material
    ("a treasure chest full of coins", "treasure chest", "treasure chest"),
    ("an evergreen tree covered in snow", "pine tree", "evergreen tree"),
    ("a floor lamp next to a sofa", "lamp", "floor lamp"),        # the first object of two (a lexicon name)
])
def test_category_from_the_words_of_the_prompt(vocab, prompt, category, noun):
    u = understand(prompt, vocab, similarity=False)
    assert (u.category, u.how, u.noun) == (category, "name", noun)


def test_colours_materials_sizes_and_the_caption(vocab):
    u = understand("A tiny Crimson sofa made of velvet, with oak legs", vocab, similarity=False)
    assert u.category == "sofa" and u.color_words[0] == "crimson" and u.color.source == "css"
    assert (u.material, u.material_word) == ("fabric", "velvet") and u.size_words == ["tiny"]
    assert u.caption == "a red fabric sofa"  # the training captions' own words
    assert u.summary() == "sofa, red (crimson), fabric (velvet), tiny"
    hexed = understand("a #1e90ff rocket", vocab, similarity=False)
    assert hexed.color.name == "#1e90ff" and hexed.caption.startswith("a ") and "rocket" in hexed.caption
    two_words = understand("a navy blue mug", vocab, similarity=False)
    assert two_words.color.name == "navy" and two_words.caption == "a navy mug"
    # the object's own colour before a part's, and noun-like colour names alone are not colours
    parts = understand("a bench with black legs painted forest green", vocab, similarity=False)
    assert parts.color_words[0] == "black"  # no colour before "with": the first one named
    own = understand("a white truck with red wheels", vocab, similarity=False)
    assert own.color_words == ["white", "red"]
    assert understand("a snow covered house", vocab, similarity=False).colors == []


def test_several_objects_warn_which_one_is_made(vocab):
    u = understand("a chair and a table", vocab, similarity=False)
    assert u.category == "chair" and u.others == ["table"]
    (w,) = warnings_for(u, vocab)
    assert "several objects (chair, table)" in w and w.endswith("one object is made: chair")
    assert understand("a barrel cactus", vocab, similarity=False).others == []  # one object, two names
    assert understand("a mug with a handle", vocab, similarity=False).others == []


def test_similarity_finds_what_no_name_matches(tiny_model):
    """With the real encoder: a word the vocabulary lacks still lands on its category."""
    from gen3d.pipeline import load_pipeline

    d = tiny_model.parent / "tiny_with_vocab"
    if not d.exists():
        shutil.copytree(tiny_model, d)
        for name in ("vocab.json", "vocab.safetensors"):
            shutil.copy(SMALL / name, d / name)
    pipe = load_pipeline(str(d), "cpu")
    u = pipe.understand("a large leather couch for the living room")
    assert u.category == "sofa"
    far = pipe.understand("a quantum entanglement diagram")
    assert far.category is None and far.caption is None
    assert any("outside what this model knows" in w for w in warnings_for(far, pipe.vocabulary))


def test_without_a_vocabulary_only_colours_are_understood():
    u = understand("a crimson dragon", None)
    assert u.category is None and u.caption is None and u.color.name == "crimson"
    assert u.summary() == "nothing this model knows, red (crimson)"


def _two_tone(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    red = np.array(resolve_color("red").rgb) * rng.uniform(0.8, 1.1, (n, 1))  # shaded palette red
    brown = np.tile(resolve_color("brown").rgb, (n // 2, 1)) + rng.normal(0, 0.02, (n // 2, 3))
    return np.clip(np.concatenate([red, brown]), 0, 1)


def test_recolor_moves_the_asked_for_region_to_the_exact_colour_and_keeps_shading():
    rgb = _two_tone()
    crimson = resolve_color("crimson").rgb
    out = recolor(rgb, crimson, near=resolve_color("red").rgb)
    n = 2000
    assert delta_e(to_lab(out[:n]).mean(0), to_lab(np.array([crimson]))[0])[0] < 1.0
    assert np.allclose(out[n:], rgb[n:], atol=1e-6)  # the brown legs are left alone
    lightness_spread = to_lab(out[:n])[:, 0].std(), to_lab(rgb[:n])[:, 0].std()
    assert lightness_spread[0] == pytest.approx(lightness_spread[1], rel=0.25)  # shading kept
    # with nothing near the asked-for colour, the largest region takes it
    teal = recolor(rgb, resolve_color("teal").rgb, near=(0.0, 0.0, 1.0))
    assert delta_e(to_lab(teal[:n]).mean(0), to_lab(np.array([resolve_color("teal").rgb]))[0])[0] < 1.0
    assert delta_e(dominant_lab(teal), to_lab(np.array([resolve_color("teal").rgb]))[0])[0] < 10.0


def test_exact_colour_reaches_the_final_texture():
    """A crimson-asked cloud, meshed and baked: the texture's dominant colour is within CIEDE2000 10."""
    from gen3d.pointcloud import PointCloud
    from gen3d.texture.asset import mesh_and_texture

    rng = np.random.default_rng(1)
    xyz = rng.normal(size=(3000, 3))
    xyz = 0.4 * xyz / np.linalg.norm(xyz, axis=1, keepdims=True)
    rgb = np.array(resolve_color("red").rgb) * rng.uniform(0.85, 1.05, (3000, 1))
    crimson = resolve_color("crimson").rgb
    cloud = PointCloud(xyz, recolor(np.clip(rgb, 0, 1), crimson, near=resolve_color("red").rgb))
    asset = mesh_and_texture(cloud, mesher="shell", texture_size=128, resolution=48)
    h, w = asset.texture.shape[:2]
    uv = asset.uvs
    px = asset.texture[((1 - uv[:, 1]) * (h - 1)).round().astype(int), (uv[:, 0] * (w - 1)).round().astype(int)]
    assert delta_e(dominant_lab(px / 255.0), to_lab(np.array([crimson]))[0])[0] <= 10.0


def test_make_explain_metadata_and_colour_option(tiny_model, tmp_path):
    d = tmp_path / "model"
    shutil.copytree(tiny_model, d)
    for name in ("vocab.json", "vocab.safetensors"):
        shutil.copy(SMALL / name, d / name)
    cmd = [sys.executable, "-m", "gen3d", "make", "a crimson armchair made of velvet", "--model", str(d),
           "--seed", "2", "--points-only", "-o", str(tmp_path / "a.ply"), "--explain"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={"OMP_NUM_THREADS": "1",
                       "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr
    assert "understood as: armchair, red (crimson), fabric (velvet)" in r.stderr
    assert "conditioned on: 'a red fabric armchair'" in r.stderr
    r = subprocess.run(cmd[:-1] + ["--json", "--force", "--conditioning", "prompt"], capture_output=True,
                       text=True, timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    summary = json.loads(r.stdout)
    assert summary["understood"] == "armchair, red (crimson), fabric (velvet)"
    assert summary["conditioning"] == {"mode": "prompt", "text": "a crimson armchair made of velvet"}
    bad = subprocess.run(cmd[:-1] + ["--color", "blurple", "--force"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown colour 'blurple'" in bad.stderr and len(bad.stderr.splitlines()) == 1
    bad = subprocess.run(cmd[:-1] + ["--conditioning", "vibes", "--force"], capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and "--conditioning" in bad.stderr


def test_pipeline_metadata_says_what_was_understood(tiny_model):
    from gen3d.pipeline import load_pipeline

    d = tiny_model.parent / "tiny_with_vocab"
    if not d.exists():
        shutil.copytree(tiny_model, d)
        for name in ("vocab.json", "vocab.safetensors"):
            shutil.copy(SMALL / name, d / name)
    pipe = load_pipeline(str(d), "cpu")
    a = pipe.generate("a chair and a table", seed=3, points_only=True, steps=2)
    assert a.metadata["understood"]["category"] == "chair"
    assert a.metadata["understood"]["summary"] == "chair"
    assert a.metadata["conditioning"] == {"mode": "caption", "text": "a chair"}
    assert any("one object is made: chair" in w for w in a.metadata["warnings"])
    forced = pipe.generate("a chair", seed=3, points_only=True, steps=2, color="#00ff00")
    assert forced.metadata["parameters"]["color"] == "#00ff00"
    green = to_lab(np.array([[0.0, 1.0, 0.0]]))[0]
    labels_lab = to_lab(forced.point_cloud.rgb)
    assert delta_e(labels_lab, green[None].repeat(len(labels_lab), 0)).min() < 3.0  # one region is now #00ff00
    with pytest.raises(ValueError, match="unknown colour"):
        pipe.generate("a chair", seed=3, points_only=True, steps=2, color="blurple")


def test_server_job_record_and_colour_validation():
    from gen3d.server.jobs import JobRequest

    assert JobRequest(prompt="a chair", color="Crimson").options()["color"] == "crimson"
    with pytest.raises(ValueError, match="unknown colour 'blurple'"):
        JobRequest(prompt="a chair", color="blurple")
