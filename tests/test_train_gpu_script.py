"""scripts/train_base_gpu.py (the script that made the shipped weights' GPU stage), run here on the CPU for a
few seconds: it must start from released weights, follow a wall-clock schedule, and leave the shipped
format behind; plus the fp16 text-encoder copy it uses on machines without the encoder package."""

import importlib.util
import json

import pytest
import torch

from gen3d.models.checkpoints import load_model
from gen3d.text.minilm import MiniLMEncoder, TextEncoderError, export_fp16
from gen3d.train.loop import fit, lr_at
from tests.conftest import REPO


def _script():
    spec = importlib.util.spec_from_file_location("train_base_gpu", REPO / "scripts" / "train_base_gpu.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_wall_clock_schedule(tmp_path):
    assert lr_at(0, 1.0, 10, 100) == pytest.approx(0.1)  # warm-up is by step either way
    assert lr_at(50, 1.0, 10, 100, progress=0.0) == pytest.approx(1.0)
    assert lr_at(50, 1.0, 10, 100, progress=0.5) == pytest.approx(0.55)
    assert lr_at(50, 1.0, 10, 100, progress=3.0) == pytest.approx(0.1)  # past the budget: the floor
    assert lr_at(55, 1.0, 10, 100) == pytest.approx(0.55)  # the step schedule is unchanged
    with pytest.raises(ValueError, match="time limit"):
        fit({"train": {"lr": 1e-3, "steps": 10, "schedule": "time"}}, tmp_path / "run", torch.nn.Linear(1, 1),
            None, iter([]), torch.device("cpu"), quiet=True)
    assert not (tmp_path / "run").exists()  # refused before touching the run folder


@pytest.fixture(scope="module")
def fp16_encoder(tmp_path_factory):
    return export_fp16(tmp_path_factory.mktemp("minilm16"))


def test_fp16_encoder_copy_matches_the_package(fp16_encoder):
    prompts = ["a red chair", "3D model of a tall blue lamp with a round shade", "a torus made of metal, gold"]
    a = MiniLMEncoder().encode(prompts)
    b = MiniLMEncoder(folder=fp16_encoder).encode(prompts)
    assert (fp16_encoder / "model.safetensors").stat().st_size < 50e6
    assert torch.allclose(a, b, atol=1e-3) and (a * b).sum(-1).min() > 0.9999
    with pytest.raises(TextEncoderError, match="sha256.*verify=False"):  # the copy is not the package's file
        MiniLMEncoder(folder=fp16_encoder, verify=True)


def test_gpu_script_runs_on_cpu_and_writes_the_shipped_format(tmp_path, fp16_encoder):
    out = tmp_path / "out"
    summary = _script().main(["--out", str(out), "--minutes", "0.15", "--batch", "4", "--workers", "0",
                              "--warmup", "1", "--device", "cpu", "--minilm-dir", str(fp16_encoder),
                              "--snap-every", "0", "--log-every", "1"])
    assert summary["steps"] >= 2 and summary["samples"] == 4 * summary["steps"]
    for name in ("base.safetensors", "base.json", "ema_fp32.safetensors", "model_fp32.safetensors",
                 "snap.safetensors", "log.jsonl", "summary.json"):
        assert (out / name).is_file(), name
    assert len(list(out.iterdir())) <= 8  # what a device lease brings back
    shipped = json.loads((REPO / "assets/models/gen3d-small/base.json").read_text())
    new = json.loads((out / "base.json").read_text())
    assert new["trained"]["steps"] == shipped["trained"]["steps"]
    # the script trains the base network alone: the shipped timestep expert is not carried over to new weights
    assert shipped.get("experts") and "experts" not in new
    assert new["trained"]["gpu_steps"] == shipped["trained"].get("gpu_steps", 0) + summary["steps"]
    model, _ = load_model(out / "base.safetensors")
    before, _ = load_model(REPO / "assets/models/gen3d-small/base.safetensors", experts=False)
    moved = [not torch.equal(p, q) for p, q in zip(model.state_dict().values(), before.state_dict().values(),
                                                   strict=True)]
    assert any(moved)  # it trained
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert len(log) == summary["steps"] and all(r["loss"] == r["loss"] for r in log)
    assert all(0.0 <= r["data_wait"] <= 1.0 for r in log) and 0.0 <= summary["data_wait"] <= 1.0
    lrs = [r["lr"] for r in log[1:]]  # after the 1-step warm-up: cosine over the wall clock, peak 2.5e-4
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False)) and 2.5e-5 <= lrs[-1] < 2.5e-4


def test_gpu_script_with_several_views_per_shape(tmp_path, fp16_encoder):
    out = tmp_path / "views"
    summary = _script().main(["--out", str(out), "--minutes", "0.05", "--batch", "4", "--views", "2",
                              "--workers", "0", "--warmup", "1", "--device", "cpu", "--minilm-dir",
                              str(fp16_encoder), "--log-every", "1"])
    assert summary["steps"] >= 1 and summary["views"] == 2 and summary["shapes"] == 2 * summary["steps"]
    trained = json.loads((out / "base.json").read_text())["trained"]
    shipped = json.loads((REPO / "assets/models/gen3d-small/base.json").read_text())["trained"]
    assert trained["gpu_samples"] == shipped["gpu_samples"] + 4 * summary["steps"]
    assert trained["gpu_shapes"] == shipped["gpu_samples"] + 2 * summary["steps"]  # earlier stages: 1 view
    with pytest.raises(SystemExit):  # refused before anything loads or is written
        _script().main(["--out", str(tmp_path / "bad"), "--batch", "5", "--views", "2"])
    assert not (tmp_path / "bad").exists()


def test_cli_time_schedule_needs_a_time_limit(tmp_path):
    import subprocess
    import sys

    run = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "gen3d", "train", "base", "--out", str(run), "--set",
                          "train.schedule=time", "--max-steps", "1"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "--time-limit" in res.stderr + res.stdout
    assert len((res.stderr + res.stdout).strip().splitlines()) == 1 and not run.exists()
