"""``gen3d train upsample``: real (tiny) training runs through the CLI and the Python API, a resume after a
kill, an overfit on one batch, and an exported upsampler used by the pipeline next to a base model."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import torch
from typer.testing import CliRunner

from gen3d.cli import app
from gen3d.train.loop import load_train_config
from tests.conftest import REPO, write_tiny_model

COND, NEW = 16, 48
runner = CliRunner()


def tiny_cfg(**train) -> dict:
    cfg = load_train_config(REPO / "assets" / "configs" / "gen3d-small-upsample.json")
    cfg["model"]["model"].update(width=32, layers=1, heads=4, grid_tokens=1, grid_feature_dim=8)
    cfg["model"].update(cond_points=COND, points=NEW)
    cfg["model"]["sampler"]["steps"] = 4
    cfg["data"] = {"points": 9999, "workers": 0, "categories": ["cube", "sphere"], "jitter": 0.005,
                   "color_jitter": 0.02}  # data.points is ignored: cond_points + points are read
    cfg["train"].update(batch=4, steps=1000, warmup=5, lr=2e-3, log_every=1, ckpt_every=1000, ema=0.8,
                        sample_every=10**9, threads=1)
    cfg["sample_count"] = 0
    cfg["train"] |= train
    return cfg


def write_cfg(path, cfg) -> str:
    path.write_text(json.dumps(cfg))
    return str(path)


def log_steps(run) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]


def test_shipped_config_is_the_upsample_layout():
    from gen3d.models.configs import build_model, named_config

    cfg = load_train_config(REPO / "assets" / "configs" / "gen3d-small-upsample.json")["model"]
    official = named_config("upsample")
    assert cfg["kind"] == "upsample" and cfg["cond_points"] + cfg["points"] == 1024
    assert set(cfg["model"]) == set(official["model"]) and set(cfg["sampler"]) == set(official["sampler"])
    assert cfg["sampler"]["name"] == "heun" and cfg["sampler"]["guidance_scale"] == 1.0
    same_depth = cfg | {"model": cfg["model"] | {"layers": official["model"]["layers"]}}
    assert set(build_model(same_depth).state_dict()) == set(build_model(official).state_dict())


def test_cli_trains_writes_a_checkpoint_and_resumes(tmp_path):
    conf, run = write_cfg(tmp_path / "tiny.json", tiny_cfg()), tmp_path / "run"
    res = runner.invoke(app, ["train", "upsample", "--config", conf, "--out", str(run), "--max-steps", "3",
                              "--set", "train.ckpt_every=2"])
    assert res.exit_code == 0, res.output
    assert "stopped at step 3" in res.output
    assert json.loads((run / "state.json").read_text())["step"] == 3
    assert (run / "state.safetensors").is_file() and (run / "loss.png").stat().st_size > 1000
    assert json.loads((run / "config.json").read_text())["train"]["ckpt_every"] == 2
    res = runner.invoke(app, ["train", "upsample", "--config", conf, "--out", str(run), "--max-steps", "2"])
    assert res.exit_code == 0, res.output
    assert log_steps(run) == [1, 2, 3, 4, 5]
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["loss"]) and np.isfinite(r["mse"]) for r in log)
    sdf_config = str(REPO / "assets" / "configs" / "gen3d-small-sdf.json")
    bad = runner.invoke(app, ["train", "upsample", "--config", sdf_config, "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "kind 'upsample'" in bad.output


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    conf, run = write_cfg(tmp_path / "tiny.json", tiny_cfg(ckpt_every=2)), tmp_path / "run"
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gen3d", "train", "upsample", "--config", conf, "--out",
                             str(run)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            state = run / "state.json"
            if state.is_file() and json.loads(state.read_text())["step"] >= 4:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    last = json.loads((run / "state.json").read_text())["step"]
    assert last >= 4 and last % 2 == 0
    res = runner.invoke(app, ["train", "upsample", "--config", conf, "--out", str(run), "--max-steps", "2"])
    assert res.exit_code == 0, res.output
    assert json.loads((run / "state.json").read_text())["step"] == last + 2
    steps = log_steps(run)
    assert steps[-2:] == [last + 1, last + 2]  # the resumed run continues after the checkpoint


def fixed_mse(model, low, x, cfg) -> float:
    from gen3d.diffusion.clouds import diffusion_for

    diffusion = diffusion_for(cfg["model"])
    g = torch.Generator().manual_seed(0)
    model.eval()
    with torch.no_grad():
        out = [diffusion.training_losses(model, x, torch.full((len(x),), t), {"low_res": low},
                                         noise=torch.randn(x.shape, generator=g))["mse"].mean()
               for t in (30, 150, 400, 800)]
    return float(torch.stack(out).mean())


def test_overfit_on_one_batch_from_a_shape_cache(tmp_path):
    from gen3d.data.cache import CacheSpec, build_cache
    from gen3d.data.datasets import CachedPointDataset
    from gen3d.models.configs import build_model
    from gen3d.train.upsample import split, train

    build_cache(tmp_path / "cache", CacheSpec(n=4, seed=3, n_points=COND + NEW + 16), workers=1)
    cfg = tiny_cfg(steps=60, warmup=5, lr=3e-3)
    cfg["data"]["cache"] = str(tmp_path / "cache")  # 4 shapes = one batch of 4, every step
    ds = CachedPointDataset(tmp_path / "cache", n_points=COND + NEW)
    low, x = split(torch.stack([ds[i]["points"] for i in range(4)]), COND, torch.Generator())
    before = fixed_mse(build_model(cfg["model"]), low, x, cfg)  # zero-initialised output: mse 1
    res = train(cfg, tmp_path / "run", max_steps=60, quiet=True)
    assert res["step"] == 60
    after = fixed_mse(res["ema"], low, x, cfg)
    assert after < 0.6 * before, (before, after)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert np.mean([r["loss"] for r in log[-10:]]) < 0.7 * np.mean([r["loss"] for r in log[:5]])


def test_low_res_split_is_raw_units_with_bounded_jitter():
    from gen3d.diffusion.samplers import to_raw
    from gen3d.train.upsample import split

    pts = torch.rand(3, 6, 40) * 2 - 1
    low, new = split(pts, 10, torch.Generator().manual_seed(0), jitter=0.01, color_jitter=0.02)
    assert low.shape == (3, 6, 10) and new.shape == (3, 6, 30) and torch.equal(new, pts[:, :, 10:])
    clean = to_raw(pts[:, :, :10])
    assert low[:, :3].abs().max() <= 0.5 and 0 <= low[:, 3:].min() and low[:, 3:].max() <= 255
    assert 0 < (low - clean)[:, :3].abs().max() < 0.06 and (low - clean)[:, 3:].abs().max() < 0.12 * 255


def test_exported_upsampler_adds_points_in_the_pipeline(tmp_path):
    from safetensors.torch import load_file

    from gen3d.pipeline import Pipeline
    from gen3d.train.upsample import train

    cfg = tiny_cfg()
    cfg["sample_count"] = 2  # also draws the (input, upsampled, truth) sheet at the end
    train(cfg, tmp_path / "run", max_steps=2, quiet=True)
    assert (tmp_path / "run" / "samples" / "step_000002.png").stat().st_size > 1000
    base_only = write_tiny_model(tmp_path / "base_only")
    model = tmp_path / "model"
    model.mkdir()
    for f in ("base.safetensors", "base.json"):
        shutil.copy(base_only / f, model / f)
    out = runner.invoke(app, ["train", "export", str(tmp_path / "run"), "-o", str(model / "upsample.safetensors")])
    assert out.exit_code == 0, out.output
    exported = json.loads((model / "upsample.json").read_text())
    assert exported["kind"] == "upsample" and exported["trained"]["steps"] == 2
    assert (exported["cond_points"], exported["points"]) == (COND, NEW) and exported["sampler"]["name"] == "heun"
    assert all(v.dtype == torch.float16 for v in load_file(str(model / "upsample.safetensors")).values())

    pipe, alone = Pipeline(str(model), "cpu"), Pipeline(str(base_only), "cpu")
    assert pipe.upsampler is not None and alone.upsampler is None
    a = pipe.generate("a red chair", seed=5, points_only=True, points=COND).point_cloud
    b = pipe.generate("a red chair", seed=5, points_only=True, points=COND).point_cloud
    c = pipe.generate("a red chair", seed=6, points_only=True, points=COND).point_cloud
    low = alone.generate("a red chair", seed=5, points_only=True, points=COND).point_cloud
    assert len(low) == COND and len(a) == COND + NEW
    assert np.array_equal(a.xyz, b.xyz) and np.array_equal(a.rgb, b.rgb)  # deterministic for a fixed seed
    assert not np.array_equal(a.xyz, c.xyz)
    np.testing.assert_array_equal(a.xyz[:COND], low.xyz)  # the base's points are kept, new ones appended
    assert np.abs(a.xyz).max() <= 0.5 and 0 <= a.rgb.min() and a.rgb.max() <= 1


def test_bundled_model_uses_an_upsampler_only_when_its_file_exists(tmp_path, monkeypatch):
    from gen3d.models.checkpoints import save_checkpoint
    from gen3d.models.configs import build_model
    from gen3d.pipeline import Pipeline
    from gen3d.registry import get_spec, verify

    spec = get_spec("gen3d-small")
    assert spec.has("upsample") and not (spec.directory() / "upsample.safetensors").exists()
    assert verify("gen3d-small")["upsample.safetensors"] == "absent (optional)"
    assert Pipeline("gen3d-small", "cpu").upsampler is None
    assets = tmp_path / "assets"
    shutil.copytree(spec.directory(), assets / "models" / "gen3d-small",
                    ignore=shutil.ignore_patterns("*.png", "vocab*"))
    monkeypatch.setenv("GEN3D_ASSETS", str(assets))
    cfg = tiny_cfg()["model"]
    save_checkpoint(build_model(cfg), cfg, assets / "models" / "gen3d-small" / "upsample.safetensors")
    pipe = Pipeline("gen3d-small", "cpu")
    assert pipe.upsampler is not None and pipe.upsample_config["points"] == NEW
    assert verify("gen3d-small")["upsample.safetensors"] == "present (no recorded hash)"
