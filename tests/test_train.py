"""Training as users run it: resumable runs, export to the shipped format, and fine-tuning on a folder of
the user's own meshes (which must lower its own training loss)."""

import copy
import json

import numpy as np
import pytest
import torch
import trimesh

from gen3d.diffusion.clouds import diffusion_for
from gen3d.models.checkpoints import load_model
from gen3d.train.loop import export_ema, load_train_config
from tests.conftest import REPO


def tiny_cfg(points=64, batch=4, steps=1000):
    cfg = load_train_config(REPO / "assets" / "configs" / "gen3d-small-base.json")
    cfg["model"]["model"].update(width=64, layers=2, heads=4)
    cfg["data"] = {"points": points, "workers": 0}
    cfg["train"].update(batch=batch, steps=steps, warmup=5, lr=2e-3, log_every=1, ckpt_every=1000, ema=0.8,
                        sample_every=10**9, threads=1)
    cfg["sample_prompts"] = []
    return cfg


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("my_meshes")
    box = trimesh.creation.box((0.6, 0.2, 0.4))
    box.visual.vertex_colors = [200, 30, 30, 255]
    box.export(d / "red_slab.ply")
    cyl = trimesh.creation.cylinder(radius=0.2, height=0.8)
    cyl.visual.face_colors = [30, 60, 200, 255]
    cyl.export(d / "blue_post.obj")
    ico = trimesh.creation.icosphere(subdivisions=2, radius=0.3)
    ico.visual.vertex_colors = [30, 160, 40, 255]
    ico.export(d / "ball.glb")
    (d / "captions.csv").write_text("file,caption\nred_slab.ply,a red slab\nblue_post.obj,a blue post\n"
                                    "ball.glb,a green ball\n")
    return d


def fixed_loss(model, cfg, folder) -> float:
    """The diffusion loss on a fixed batch of the user's shapes (fixed timesteps and noise)."""
    from gen3d.data.datasets import FolderDataset
    from gen3d.text.minilm import MiniLMEncoder

    ds = FolderDataset(folder, points=cfg["data"]["points"], seed=123, min_length=3)
    items = [ds[i] for i in range(3)]
    x = torch.stack([it["points"] for it in items])
    emb = MiniLMEncoder().encode([it["caption"] for it in items])
    g = torch.Generator().manual_seed(0)
    diffusion = diffusion_for(cfg["model"])
    losses = []
    model.eval()
    with torch.no_grad():
        for t in (50, 200, 400, 700):
            noise = torch.randn(x.shape, generator=g)
            tt = torch.full((3,), t)
            losses.append(diffusion.training_losses(model, x, tt, {"embeddings": emb}, noise=noise)["mse"].mean())
    return float(torch.stack(losses).mean())


def test_finetune_on_user_meshes_lowers_its_loss(tmp_path, tiny_model, user_folder):
    from gen3d.train.base import train

    cfg = tiny_cfg()
    before_model, _ = load_model(tiny_model / "base.safetensors")
    before = fixed_loss(before_model, cfg, user_folder)
    res = train(cfg, tmp_path / "run", max_steps=30, init_from=str(tiny_model / "base.safetensors"),
                data_folder=str(user_folder), quiet=True)
    assert res["step"] == 30
    after = fixed_loss(copy.deepcopy(res["ema"]), cfg, user_folder)
    assert after < 0.8 * before, (before, after)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert len(log) == 30 and all(np.isfinite(r["loss"]) for r in log)
    assert (tmp_path / "run" / "loss.png").stat().st_size > 1000


def test_resume_continues_from_the_checkpoint_and_exports(tmp_path, user_folder):
    from gen3d.pipeline import Pipeline
    from gen3d.train.base import train

    cfg = tiny_cfg()
    cfg["train"]["t_bias"] = 1.5  # timesteps drawn towards high noise (train.t_bias); recorded with the run
    run = tmp_path / "run"
    train(cfg, run, max_steps=3, data_folder=str(user_folder), quiet=True)
    assert json.loads((run / "config.json").read_text())["train"]["t_bias"] == 1.5
    state = json.loads((run / "state.json").read_text())
    assert state["step"] == 3
    res = train(cfg, run, max_steps=2, data_folder=str(user_folder), quiet=True)
    assert res["step"] == 5
    steps = [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]
    out = export_ema(run, tmp_path / "model" / "base.safetensors")
    assert json.loads(out.with_suffix(".json").read_text())["trained"]["steps"] == 5
    from safetensors.torch import load_file

    assert all(v.dtype == torch.float16 for v in load_file(str(out)).values())
    pipe = Pipeline(str(tmp_path / "model"), "cpu")
    assert len(pipe.sample_points(["a red slab"], [0], steps=4, points=32)[0]) == 32


def test_sdf_decoder_training_step_and_mesher(tmp_path):
    from gen3d.mesh.decoder import sdf_function
    from gen3d.pointcloud import PointCloud
    from gen3d.train.sdf import train

    cfg = load_train_config(REPO / "assets" / "configs" / "gen3d-small-sdf.json")
    cfg["model"]["model"].update(width=32, encoder_layers=1, decoder_layers=1)
    cfg["model"]["points"] = 64
    cfg["data"].update(points=128, min_points=32, queries=256, workers=0, categories=["cube", "sphere"])
    cfg["train"].update(batch=2, steps=100, warmup=2, log_every=1, ckpt_every=100, threads=1)
    res = train(cfg, tmp_path / "sdf", max_steps=4, quiet=True)
    assert res["step"] == 4
    log = [json.loads(line) for line in (tmp_path / "sdf" / "log.jsonl").read_text().splitlines()]
    assert all(0.0 <= r["accuracy"] <= 1.0 and np.isfinite(r["loss"]) for r in log)
    xyz = np.random.default_rng(0).uniform(-0.3, 0.3, (300, 3)).astype(np.float32)
    f = sdf_function(res["ema"], cfg["model"], PointCloud(xyz, np.zeros_like(xyz)))
    out = f(np.zeros((10, 3), np.float32))
    assert out.shape == (10,) and np.isfinite(out).all()


def test_a_resume_late_in_a_long_run_can_seed():
    from gen3d.train.loop import seed_everything

    seed_everything(0 + 1000003 * 7050)  # start_run's seed after 7,050 steps: past numpy's 2**32 limit
    a = np.random.rand()
    seed_everything(1000003 * 7050)
    assert np.random.rand() == a


def test_generated_clouds_replace_the_rows_they_cover(tmp_path):
    from gen3d.train.sdf import load_generated, with_generated

    gen = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)  # clouds for shapes 0 and 1
    cloud = -torch.ones(3, 3, 5)
    out = with_generated(cloud, torch.tensor([1, 7, 0]), gen)
    assert torch.equal(out[0], gen[1].T) and torch.equal(out[2], gen[0].T)
    assert torch.equal(out[1], cloud[1])  # shape 7 has no generated cloud
    np.savez(tmp_path / "g.npz", xyz=np.zeros((3, 5, 3), np.float16))
    assert load_generated(tmp_path / "g.npz", 4).shape == (3, 5, 3)
    with pytest.raises(ValueError, match="build_generated_clouds"):
        load_generated(tmp_path / "g.npz", 2)  # more clouds than the cache has shapes


def test_sdf_training_on_generated_clouds_from_a_cache(tmp_path):
    import subprocess
    import sys

    from gen3d.data.cache import CacheSpec, build_cache
    from gen3d.train.sdf import train

    cache = tmp_path / "cache"
    build_cache(cache, CacheSpec(n=6, seed=3, n_points=256, sdf=(64, 64), categories=("cube", "table")), workers=1)
    out = tmp_path / "gen.npz"
    # the real script with the bundled base model (SDEdit of the first 4 shapes)
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_generated_clouds.py"), "--cache", str(cache),
                    "--out", str(out), "--limit", "4", "--strength", "0.3", "--batch", "4"], check=True,
                   capture_output=True, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    with np.load(out) as z:
        xyz = z["xyz"].astype(np.float32)
    assert xyz.shape == (4, 256, 3) and np.isfinite(xyz).all() and np.abs(xyz).max() <= 0.5
    cfg = load_train_config(REPO / "assets" / "configs" / "gen3d-small-sdf.json")
    cfg["model"]["model"].update(width=32, encoder_layers=1, decoder_layers=1)
    cfg["model"]["points"] = 64
    cfg["data"].update(cache=str(cache), generated=str(out), generated_prob=1.0, points=256, min_points=64,
                       queries=128, workers=0)
    cfg["train"].update(batch=2, steps=10, warmup=1, log_every=1, ckpt_every=10, threads=1)
    res = train(cfg, tmp_path / "sdf", max_steps=3, quiet=True)
    assert res["step"] == 3
