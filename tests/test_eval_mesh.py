"""gen3d eval's final-mesh scoring: the textured-surface sampler, the asset frame, geometry figures, ground
truth, and the mesh figures of a whole (tiny) evaluation."""

import json

import numpy as np
import pytest
import trimesh

from gen3d.eval.geometry import ground_truth_mesh, mesh_figures
from gen3d.eval.surface import classifier_frame, mesh_cloud, textured_surface_points
from gen3d.texture.asset import TexturedMesh, to_asset_frame


def quad_mesh(texture: np.ndarray) -> TexturedMesh:
    """A unit square in the XY plane, two triangles, with UV = (x, y): the texture covers it exactly."""
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float32)
    f = np.array([[0, 1, 2], [0, 2, 3]])
    return TexturedMesh(v, f, v[:, :2].copy(), np.tile([0, 0, 1.0], (4, 1)), texture, np.full((4, 3), 0.5))


def test_sampler_returns_a_solid_texture_colour():
    tex = np.zeros((32, 32, 3), np.uint8)
    tex[:] = (200, 30, 60)
    xyz, rgb = textured_surface_points(quad_mesh(tex), 500, seed=1)
    assert xyz.shape == (500, 3) and np.allclose(xyz[:, 2], 0)
    np.testing.assert_allclose(rgb, np.tile(np.array([200, 30, 60]) / 255, (500, 1)), atol=1e-6)


def test_sampler_follows_the_uvs_of_a_two_colour_texture():
    tex = np.zeros((16, 16, 3), np.uint8)
    tex[:, :8] = (255, 0, 0)  # left half (u < 0.5) red
    tex[:, 8:] = (0, 0, 255)  # right half blue
    tex[:8, :8] = (0, 255, 0)  # ... except the top-left quarter (v > 0.5: row 0 is the top), green
    xyz, rgb = textured_surface_points(quad_mesh(tex), 4000, seed=2)
    u, v = xyz[:, 0], xyz[:, 1]  # the quad's UVs are its x, y
    left, right, top = u < 0.45, u > 0.55, v > 0.55
    np.testing.assert_allclose(rgb[left & (v < 0.45)], [[1, 0, 0]] * int((left & (v < 0.45)).sum()), atol=1e-6)
    np.testing.assert_allclose(rgb[left & top], [[0, 1, 0]] * int((left & top).sum()), atol=1e-6)
    np.testing.assert_allclose(rgb[right], [[0, 0, 1]] * int(right.sum()), atol=1e-6)
    # at the border, bilinear filtering mixes the two texels either side, half and half at u = 0.5
    mid = np.abs(u - 0.5) < 0.002
    assert mid.any() and np.all(np.abs(rgb[mid & (v < 0.45), 0] - 0.5) < 0.1)


def test_the_asset_frame_is_undone_into_the_classifiers_frame():
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.3)
    unit = sphere.vertices * [1.0, 1.5, 0.8] + [0.05, -0.02, 0.01]  # an ellipsoid in the gen3d cube
    metres, _, _ = to_asset_frame(unit, 7.0)  # 7 m tall, Y up, origin at the bottom centre
    tex = np.full((8, 8, 3), 128, np.uint8)
    asset = TexturedMesh(metres, sphere.faces, np.zeros((len(unit), 2)), sphere.vertex_normals, tex,
                         np.full((len(unit), 3), 0.5))
    x = mesh_cloud(asset, 2000, seed=0)
    assert x.shape == (2000, 6) and np.allclose(x[:, 3:], 128 / 255)
    expect = classifier_frame(unit, unit)
    assert np.ptp(expect, axis=0).max() == pytest.approx(0.9)
    lo, hi = x[:, :3].min(0), x[:, :3].max(0)
    np.testing.assert_allclose(lo, expect.min(0), atol=0.02)
    np.testing.assert_allclose(hi, expect.max(0), atol=0.02)
    assert np.ptp(x[:, :3], axis=0).max() == pytest.approx(0.9, abs=0.02)


def test_genus_components_and_holes():
    torus = mesh_figures(*_vf(trimesh.creation.torus(0.3, 0.1)))
    sphere = mesh_figures(*_vf(trimesh.creation.icosphere(subdivisions=2)))
    assert torus["genus"] == 1 and sphere["genus"] == 0
    assert torus["watertight"] and torus["components"] == 1 and torus["boundary_edges"] == 0
    fin = trimesh.creation.box()  # a box with a fin: one edge shared by three faces, no hole
    fin_v = np.vstack([fin.vertices, [[0.5, 0.5, 1.5]]])
    e = fin.edges_unique[0]
    finned = mesh_figures(fin_v, np.vstack([fin.faces, [[e[0], e[1], len(fin_v) - 1]]]))
    assert finned["nonmanifold_edges"] == 1 and finned["boundary_edges"] == 2 and not finned["watertight"]
    two = trimesh.util.concatenate([trimesh.creation.torus(0.3, 0.1),
                                    trimesh.creation.torus(0.3, 0.1).apply_translation([2, 0, 0])])
    assert mesh_figures(*_vf(two))["components"] == 2 and mesh_figures(*_vf(two))["genus"] == 2
    s = trimesh.creation.icosphere(subdivisions=2)
    holed = mesh_figures(s.vertices, s.faces[1:])  # one triangle removed: a hole with three edges
    assert holed["boundary_edges"] == 3 and not holed["watertight"] and holed["genus"] is None
    # UV seams split vertices; the figures weld them back, so a seam is not a hole
    split_v = s.vertices[s.faces].reshape(-1, 3)
    split_f = np.arange(len(split_v)).reshape(-1, 3)
    welded = mesh_figures(split_v, split_f)
    assert welded["roughness_deg"] == pytest.approx(sphere["roughness_deg"])
    rest = ("boundary_edges", "components", "watertight", "genus")
    assert {k: welded[k] for k in rest} == {k: sphere[k] for k in rest}


def test_roughness_grows_with_noise():
    s = trimesh.creation.icosphere(subdivisions=3)
    smooth = mesh_figures(*_vf(s))["roughness_deg"]
    noisy_v = s.vertices + np.random.default_rng(0).normal(0, 0.02, s.vertices.shape)
    noisy = mesh_figures(noisy_v, s.faces)["roughness_deg"]
    assert 0 < smooth < 10 and noisy > 2 * smooth


def test_geometry_summary_weighs_categories_as_the_samples_do():
    from gen3d.eval.geometry import summarise

    def fig(r, genus, wt=True):
        return {"roughness_deg": r, "boundary_edges": 0, "nonmanifold_edges": 0, "components": 1,
                "watertight": wt, "genus": genus}

    samples = [("torus", fig(20.0, 1)), ("torus", fig(40.0, None, wt=False)), ("torus", None),
               ("cube", fig(10.0, 0))]
    ref = {"torus": [fig(4.0, 1), fig(6.0, 1)], "cube": [fig(2.0, 0)]}
    g = summarise(samples, ref, 2, 64, 10000)
    t = g["per_category"]["torus"]
    assert t["samples"] == 3 and t["meshed"] == 2 and t["roughness_deg"] == 30.0 and t["roughness_deg_gt"] == 5.0
    assert t["roughness_ratio"] == 6.0 and t["watertight"] == 0.5 and t["watertight_gt"] == 1.0
    # overall: each meshed sample's own category's ground truth (5, 5, 2), not the plain mean over categories
    assert g["overall"]["roughness_deg"] == pytest.approx(70 / 3) and g["overall"]["roughness_deg_gt"] == 4.0
    assert g["genus"]["torus"] == {"expected": 1, "samples": 3, "with_genus": 1, "genus_mean": 1.0,
                                   "expected_fraction": pytest.approx(1 / 3), "genus_gt_mean": 1.0,
                                   "expected_fraction_gt": 1.0}
    assert "mug" not in g["genus"] and "cube" not in g["genus"]


def test_ground_truth_is_meshed_like_an_asset():
    v, f = ground_truth_mesh("torus", 900_000_000, resolution=48, max_faces=3000)
    fig = mesh_figures(v, f)
    assert len(f) <= 3000 and fig["genus"] == 1 and fig["components"] == 1 and fig["watertight"]
    assert np.ptp(v, axis=0).max() == pytest.approx(0.9, abs=0.05)


def _vf(m):
    return m.vertices, m.faces


@pytest.fixture(scope="module")
def random_judge(tmp_path_factory):
    """An untrained classifier over every category (the figures' ranges, not their values, are tested)."""
    import torch
    from safetensors.torch import save_file

    from gen3d.data.procedural import category_names
    from gen3d.eval.classifier import PointNet2

    torch.manual_seed(0)
    labels = category_names()
    path = tmp_path_factory.mktemp("judge") / "clf.safetensors"
    save_file({k: v.contiguous() for k, v in PointNet2(len(labels)).state_dict().items()}, str(path))
    path.with_suffix(".json").write_text(json.dumps({"labels": labels, "feature_dim": 512}))
    return path


def test_eval_scores_the_final_meshes(tiny_model, random_judge, tmp_path):
    from typer.testing import CliRunner

    from gen3d.cli import app

    prompts = tmp_path / "p.jsonl"
    prompts.write_text("\n".join(json.dumps(r) for r in [
        {"prompt": "a red torus", "category": "torus", "color": "red"},
        {"prompt": "a mug", "category": "mug"},
    ]))
    out, sheet = tmp_path / "eval.json", tmp_path / "meshes.png"
    common = ["eval", "--prompts", str(prompts), "--model", str(tiny_model), "--seeds", "2", "--steps", "2",
              "--classifier", str(random_judge), "--device", "cpu"]
    r = CliRunner().invoke(app, [*common, "--json", str(out), "--mesh-sheet", str(sheet), "--mesh-reference", "1"])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["mesh_scored"] and res["mesh_samples"] == 4 and "final mesh" in r.output
    labels = json.loads(random_judge.with_suffix(".json").read_text())["labels"]
    rows = res["per_sample"]
    meshed = [x for x in rows if "mesh_error" not in x]
    assert len(meshed) == 4 - res["mesh_failures"] and len(meshed) >= 2
    assert all(x["mesh_predicted"] in labels for x in meshed)
    hits = [x["mesh_predicted"] == x["category"] for x in rows]
    assert res["mesh_category_accuracy"] == pytest.approx(np.mean(hits))
    assert 0 <= res["mesh_category_accuracy_se"] <= 0.5
    assert [x["mesh_color_ok"] for x in rows if "color" in x] and res["color_prompts"] == 2
    assert res["mesh_color_accuracy"] == pytest.approx(np.mean([x["mesh_color_ok"] for x in rows if "color" in x]))
    assert res["mesh_pfid"] >= 0 and np.isfinite(res["mesh_pfid"]) and 1.0 <= res["mesh_pis"] <= len(labels)
    assert res["mesh_settings"]["texture_size"] == 1024 and res["mesh_seconds_per_sample"] > 0
    g = res["mesh_geometry"]
    assert set(g["per_category"]) == {"torus", "mug"}
    o = g["overall"]
    assert 0 < o["roughness_deg"] < 90 and 0 < o["roughness_deg_gt"] < 30 and o["roughness_ratio"] > 0
    assert 0 <= o["watertight"] <= 1 and o["watertight_gt"] == 1.0 and o["components"] >= 1
    assert o["boundary_edges"] >= 0 and o["boundary_edges_gt"] == 0 and o["nonmanifold_edges_gt"] == 0
    assert g["genus"]["torus"]["genus_gt_mean"] == 1.0 and g["genus"]["torus"]["expected"] == 1
    assert set(g["genus"]) == {"torus", "mug"}
    for x in meshed:
        assert x["mesh_components"] >= 1 and x["mesh_roughness_deg"] > 0 and x["mesh_faces"] <= 10000
    assert res["mesh_sheet"] == str(sheet) and sheet.stat().st_size > 1000

    # --no-mesh: clouds only, and none of the mesh figures
    r = CliRunner().invoke(app, [*common, "--json", str(out), "--no-mesh"])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["mesh_scored"] is False and not any(k.startswith("mesh_") and k != "mesh_scored" for k in res)
    assert not any(k.startswith("mesh_") for x in res["per_sample"] for k in x) and "final mesh" not in r.output
