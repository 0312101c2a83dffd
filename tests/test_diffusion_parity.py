"""Parity with the original Point-E implementation, from the golden vectors (float32, 1e-4 relative)."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gen3d.diffusion.gaussian import GaussianDiffusion
from gen3d.diffusion.samplers import SigmaToT, karras_heun_steps, to_raw, x0_predictor
from gen3d.diffusion.schedules import cosine_betas, karras_sigmas, linear_betas
from gen3d.models.checkpoints import load_model
from gen3d.models.configs import build_model


def _close(got: torch.Tensor, want: torch.Tensor, rtol: float = 1e-4) -> None:
    got, want = got.double(), want.double()
    err = (got - want).abs().max().item()
    scale = want.abs().max().item()
    assert err <= rtol * max(scale, 1e-6), f"max abs err {err:.3e} vs scale {scale:.3e}"


def _config(golden, name: str) -> dict:
    readme = json.loads((golden / "README.json").read_text())
    return readme[name]


def _textvec_model(golden, weights: str):
    cfg = _config(golden, "textvec")["config"]
    model_cfg = {
        "kind": "textvec",
        "model": {
            k: cfg[k]
            for k in ("input_channels", "output_channels", "width", "layers", "heads", "init_scale",
                      "cond_drop_prob", "time_token_cond", "token_cond")
        }
        | {"text_dim": 768},
    }
    model, _ = load_model(golden / weights, model_cfg)
    return model


def test_schedules(golden):
    s = load_file(str(golden / "schedules.safetensors"))
    np.testing.assert_allclose(cosine_betas(1024), s["betas_cosine"].numpy(), rtol=1e-10)
    np.testing.assert_allclose(linear_betas(1024), s["betas_linear"].numpy(), rtol=1e-10)
    _close(karras_sigmas(64, 1e-3, 120.0, 7.0), s["karras_sigmas_64"])


def test_sigma_to_t_probes(golden):
    s = load_file(str(golden / "schedules.safetensors"))
    bridge = SigmaToT(GaussianDiffusion(cosine_betas(1024)))
    got = torch.tensor([bridge.fractional(float(x)) for x in s["sigma_probe"]])
    _close(got, s["t_for_sigma"])
    # and the integer timestep is the fractional one cast down
    assert bridge(s["sigma_probe"]).tolist() == [int(v) for v in s["t_for_sigma"].tolist()]


@torch.no_grad()
def test_textvec_forward(golden):
    model = _textvec_model(golden, "textvec_weights.safetensors")
    io = load_file(str(golden / "textvec_io.safetensors"))
    out = model(io["x"], io["t"], embeddings=io["embeddings"])
    assert out.shape == io["out"].shape
    _close(out, io["out"])


@torch.no_grad()
def test_upsample_forward(golden):
    cfg = _config(golden, "upsample")
    c = cfg["config"]
    model_cfg = {
        "kind": "upsample",
        "model": {
            k: c[k]
            for k in ("input_channels", "output_channels", "width", "layers", "heads", "init_scale",
                      "cond_drop_prob", "time_token_cond", "channel_scales", "channel_biases")
        }
        | {"grid_tokens": cfg["grid_tokens"], "grid_feature_dim": cfg["grid_feature_dim"]},
    }
    model, _ = load_model(golden / "upsample_weights.safetensors", model_cfg)
    io = load_file(str(golden / "upsample_io.safetensors"))
    out = model(io["x"], io["t"], low_res=io["low_res"])
    _close(out, io["out"])


@torch.no_grad()
def test_sdf_forward(golden):
    c = _config(golden, "sdf")["config"]
    model, _ = load_model(golden / "sdf_weights.safetensors", {"kind": "sdf", "model": dict(c)})
    io = load_file(str(golden / "sdf_io.safetensors"))
    _close(model(io["point_clouds"], io["queries"]), io["sdf"])


@torch.no_grad()
def test_guided_heun_sampling_run(golden):
    spec = _config(golden, "sample")
    model = _textvec_model(golden, "sample_weights.safetensors")
    io = load_file(str(golden / "sample_io.safetensors"))
    diffusion = GaussianDiffusion.named(spec["schedule"], spec["timesteps"])
    emb = io["embeddings"]
    x0_fn = x0_predictor(
        model, diffusion, {"embeddings": emb}, {"embeddings": torch.zeros_like(emb)},
        guidance_scale=spec["guidance_scale"], clip_denoised=spec["clip_denoised"],
    )
    seen = []
    records = list(
        karras_heun_steps(
            x0_fn, diffusion, io["x_T"], steps=spec["steps"], sigma_min=spec["sigma_min"],
            sigma_max=spec["sigma_max"], s_churn=spec["s_churn"], progress=lambda i, n: seen.append((i, n)),
        )
    )
    assert seen[-1] == (spec["steps"], spec["steps"]) and len(seen) == spec["steps"]
    # the reference reports its intermediate x0 predictions in raw units too; "mid" is step steps // 2
    _close(to_raw(records[0]["pred_xstart"]), io["pred_xstart_first"])
    _close(to_raw(records[spec["steps"] // 2]["pred_xstart"]), io["pred_xstart_mid"])
    _close(to_raw(records[-1]["x"]), io["final"])


def test_every_golden_file_is_used(golden):
    used = {"README.json", "schedules.safetensors", "textvec_weights.safetensors", "textvec_io.safetensors",
            "sample_weights.safetensors", "sample_io.safetensors", "upsample_weights.safetensors",
            "upsample_io.safetensors", "sdf_weights.safetensors", "sdf_io.safetensors"}
    docs = {"README.md", "SHA256SUMS"}  # the vendored folder's description and checksums
    present = {p.name for p in golden.iterdir() if p.is_file()} - docs
    assert present <= used, f"golden files not covered by tests: {sorted(present - used)}"


def test_named_configs_match_released_sizes():
    from gen3d.models.configs import named_config

    n = sum(p.numel() for p in build_model(named_config("base40M-textvec")).parameters())
    assert 40.0e6 < n < 40.7e6, n
    n = sum(p.numel() for p in build_model(named_config("sdf")).parameters())
    assert 9.0e6 < n < 10.0e6, n
    up = build_model(named_config("upsample"))
    assert {"channel_scales", "channel_biases"} <= set(up.state_dict())


@pytest.mark.parametrize("name", ["base40M-textvec", "upsample", "sdf"])
def test_official_pt_roundtrip_strict(tmp_path, name):
    """An official-style .pt state_dict loads with weights_only=True and strict=True; sha256 is checked."""
    from gen3d.models.checkpoints import CheckpointError, sha256_file
    from gen3d.models.configs import named_config

    torch.manual_seed(0)
    model = build_model(named_config(name))
    path = tmp_path / f"{name}.pt"
    torch.save(model.state_dict(), path)
    loaded, _ = load_model(path, name, expected_sha256=sha256_file(path))
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    with pytest.raises(CheckpointError, match="corrupted"):
        load_model(path, name, expected_sha256="0" * 64)
