"""Evaluation metrics and the gen3d eval path (tiny classifier, tiny model)."""

import json

import numpy as np
import pytest

from gen3d.data.appearance import COLORS
from gen3d.eval import metrics


def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 8))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert metrics.frechet_distance(a, a + 1.0) == pytest.approx(8.0, rel=0.05)


def test_inception_score_bounds():
    assert metrics.inception_score(np.full((10, 5), 0.2)) == pytest.approx(1.0)
    assert metrics.inception_score(np.eye(5)) == pytest.approx(5.0, rel=1e-4)


def test_lab_and_named_colours():
    np.testing.assert_allclose(metrics.srgb_to_lab(np.array([1.0, 1.0, 1.0])), [100, 0, 0], atol=0.05)
    rgb = np.concatenate([np.tile(COLORS["red"], (700, 1)), np.tile(COLORS["silver"], (300, 1))])
    rgb = rgb + np.random.default_rng(0).normal(0, 0.02, rgb.shape)
    assert metrics.nearest_color_name(metrics.dominant_color(np.clip(rgb, 0, 1)), COLORS)[0] == "red"
    assert metrics.color_matches(np.clip(rgb, 0, 1), "red", COLORS)
    assert not metrics.color_matches(np.clip(rgb, 0, 1), "blue", COLORS)


def test_diversity_and_coverage():
    rng = np.random.default_rng(1)
    a = rng.uniform(-0.5, 0.5, (200, 3))
    assert metrics.diversity([a, a]) == 0.0
    far = [a + 2.0, a + 2.0]
    cov, mmd = metrics.coverage_mmd([a, a + 0.01], [a, far[0]])
    assert cov == 0.5 and mmd > 1.0


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    from gen3d.data.cache import CacheSpec, build_cache

    out = tmp_path_factory.mktemp("cache")
    build_cache(out, CacheSpec(n=48, seed=3, n_points=256, categories=("cube", "sphere", "torus", "cone")))
    return out


def test_classifier_trains_and_evaluate_runs_end_to_end(tiny_cache, tiny_model, tmp_path):
    from gen3d.eval.classifier import Classifier, train_classifier
    from gen3d.eval.report import evaluate, format_table

    meta = train_classifier(tiny_cache, tmp_path / "clf.safetensors", steps=40, batch=8, points=128, log=lambda m: 0)
    assert 0.0 <= meta["heldout_accuracy"] <= 1.0 and meta["heldout_shapes"] >= 4
    clf = Classifier.load(tmp_path / "clf.safetensors")
    probs, feats = clf.run([np.random.default_rng(0).uniform(-0.5, 0.5, (300, 6)) + [0, 0, 0, 0.5, 0.5, 0.5]],
                           points=128)
    assert probs.shape == (1, len(clf.labels)) and feats.shape == (1, 512)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("\n".join(json.dumps(r) for r in [
        {"prompt": "a cube", "category": "cube"},
        {"prompt": "a red sphere", "category": "sphere", "color": "red"},
    ]))
    res = evaluate(prompts, model=str(tiny_model), seeds=2, steps=4, points=64, classifier=tmp_path / "clf.safetensors",
                   real_per_category=3, device="cpu", sheet=tmp_path / "sheet.png", log=lambda m: 0, mesh=False)
    assert res["samples"] == 4 and 0.0 <= res["category_accuracy"] <= 1.0 and res["color_prompts"] == 2
    assert np.isfinite(res["p_fid"]) and np.isfinite(res["p_fid_real_vs_real"])
    assert (tmp_path / "sheet.png").stat().st_size > 1000
    assert len(format_table(res)) == 8 and not res["mesh_scored"] and "mesh_pfid" not in res  # the final meshes:
    # tests/test_eval_mesh.py
    p = res["category_accuracy"]
    assert res["category_accuracy_se"] == pytest.approx((p * (1 - p) / 4) ** 0.5)
    assert "±" in format_table(res)[0][1] and "2 samples" in format_table(res)[1][2]
    # one record per sample, in prompt-then-seed order, agreeing with the aggregate figures
    rows = res["per_sample"]
    assert [(x["prompt"], x["seed"]) for x in rows] == [("a cube", 0), ("a cube", 1), ("a red sphere", 1000),
                                                         ("a red sphere", 1001)]
    assert np.mean([x["predicted"] == x["category"] for x in rows]) == pytest.approx(p)
    assert [x["color_ok"] for x in rows if "color" in x] and all("color_ok" not in x for x in rows[:2])
    assert np.mean([x["color_ok"] for x in rows if "color" in x]) == pytest.approx(res["color_accuracy"])
    for cat, taken in res["confusions"].items():
        assert sum(taken.values()) == sum(x["category"] == cat and x["predicted"] != cat for x in rows)

    # the command line, judged by a classifier other than the bundled one
    from typer.testing import CliRunner

    from gen3d.cli import app

    out = tmp_path / "eval.json"
    r = CliRunner().invoke(app, ["eval", "--prompts", str(prompts), "--model", str(tiny_model), "--seeds", "1",
                                 "--steps", "2", "--guidance", "5", "--points", "64", "--first-seed", "3",
                                 "--classifier", str(tmp_path / "clf.safetensors"),
                                 "--json", str(out), "--device", "cpu", "--no-mesh"])
    assert r.exit_code == 0, r.output
    saved = json.loads(out.read_text())
    # --first-seed: a second set of samples (seed index 3 of each prompt: 1000 * prompt + 3)
    assert saved["first_seed"] == 3 and [x["seed"] for x in saved["per_sample"]] == [3, 1003]
    bad = CliRunner().invoke(app, ["eval", "--prompts", str(prompts), "--model", str(tiny_model), "--seeds", "2",
                                   "--first-seed", "999", "--json", str(tmp_path / "bad.json")])
    assert bad.exit_code != 0 and "--first-seed" in bad.output and not (tmp_path / "bad.json").exists()
    assert saved["classifier"] == str(tmp_path / "clf.safetensors") and saved["samples"] == 2
    assert saved["steps"] == 2 and saved["guidance"] == 5.0 and len(saved["per_sample"]) == 2
    assert ("weakest categories:" in r.output) == any(x["predicted"] != x["category"] for x in saved["per_sample"])
    own = json.loads((tiny_model / "base.json").read_text())["sampler"].get("guidance_scale", 3.0)
    assert res["steps"] == 4 and res["guidance"] == own  # the model's own guidance when none is given
    own_sampler = json.loads((tiny_model / "base.json").read_text())["sampler"]
    assert res["sampler"] == own_sampler.get("name", "heun") and res["spacing"] == own_sampler.get("spacing", 1.0)


def test_prompt_file_errors(tmp_path):
    from gen3d.eval.report import read_prompts

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a dragon", "category": "dragon"}\n')
    with pytest.raises(ValueError, match="unknown category 'dragon'"):
        read_prompts(bad)


def test_shipped_prompt_file_covers_every_category():
    from gen3d.data.procedural import category_names
    from gen3d.eval.report import read_prompts
    from tests.conftest import REPO

    rows = read_prompts(REPO / "assets" / "eval" / "prompts.jsonl")
    assert len(rows) >= 150
    assert {r["category"] for r in rows} == set(category_names())
    assert sum("color" in r for r in rows) >= 30


def test_confusions_and_weakest_lines():
    from gen3d.eval.report import confusions, weakest_lines

    jobs = [(0, {"category": "torus"}, 0), (0, {"category": "torus"}, 1), (1, {"category": "cube"}, 0),
            (2, {"category": "desk"}, 0), (2, {"category": "desk"}, 1), (2, {"category": "desk"}, 2)]
    pred = ["rock", "rock", "cube", "table", "desk", "bench"]
    conf = confusions(jobs, pred)
    assert conf == {"desk": {"bench": 1, "table": 1}, "torus": {"rock": 2}}
    r = {"per_category_accuracy": {"torus": 0.0, "cube": 1.0, "desk": 1 / 3}, "confusions": conf}
    assert weakest_lines(r) == ["torus 0.00 (taken for rock 2)", "desk 0.33 (taken for bench 1, table 1)"]
    assert weakest_lines({"per_category_accuracy": {"cube": 1.0}}) == []
