"""Timestep experts (gen3d.models.experts): routing, loading from a model folder, and sampling through it."""

import json
import shutil

import pytest
import torch

from gen3d.diffusion.gaussian import step_range
from gen3d.models.checkpoints import CheckpointError, load_model
from gen3d.models.experts import TimestepExperts
from gen3d.registry import sha256_file
from tests.conftest import write_tiny_model


class Const(torch.nn.Module):
    """Returns ``value + embeddings.sum(1)`` per row: shows which network ran and which rows it got."""

    def __init__(self, value: float):
        super().__init__()
        self.value = torch.nn.Parameter(torch.tensor(float(value)))
        self.calls = 0

    def forward(self, x, t, embeddings):
        self.calls += 1
        return (self.value + embeddings.sum(1))[:, None, None].expand(-1, *x.shape[1:]).clone()


def test_rows_go_to_the_network_whose_timestep_range_holds_them():
    base, hi = Const(0.0), Const(100.0)
    m = TimestepExperts(base, [(384, 1024, hi)])
    x = torch.zeros(4, 6, 8)
    emb = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    out = m(x, torch.tensor([0, 383, 384, 1023]), embeddings=emb)
    assert out[:, 0, 0].tolist() == [1.0, 2.0, 103.0, 104.0]  # each row's own embedding went with it
    assert out.shape == x.shape
    # a sampler's call (one timestep for the whole batch) is one call to one network
    base.calls = hi.calls = 0
    m(x, torch.full((4,), 500), embeddings=emb)
    assert (base.calls, hi.calls) == (0, 1)
    assert step_range((0.375, 1.0), 1024) == (384, 1024)
    with pytest.raises(ValueError, match="overlap"):
        TimestepExperts(base, [(100, 600, hi), (500, 1024, Const(1.0))])
    with pytest.raises(ValueError, match="t_range"):
        step_range((0.5, 0.2), 1024)


def _expert_folder(tmp_path, tiny_model):
    """A tiny model folder with a high-noise expert (other weights) and a recorded sha256.json."""
    folder = tmp_path / "m"
    shutil.copytree(tiny_model, folder)
    other = write_tiny_model(tmp_path / "other", seed=1)
    shutil.copy(other / "base.safetensors", folder / "base_high_noise.safetensors")
    cfg = json.loads((folder / "base.json").read_text())
    cfg["experts"] = [{"file": "base_high_noise.safetensors", "t_range": [0.375, 1.0]}]
    (folder / "base.json").write_text(json.dumps(cfg))
    hashes = {p.name: sha256_file(p) for p in folder.glob("*.safetensors")}
    (folder / "sha256.json").write_text(json.dumps(hashes))
    return folder, other, hashes


def test_a_config_with_experts_loads_them_checked_and_routes_to_them(tmp_path, tiny_model):
    folder, other, hashes = _expert_folder(tmp_path, tiny_model)
    model, cfg = load_model(folder / "base.safetensors", expert_hashes=hashes)
    assert isinstance(model, TimestepExperts) and model.ranges == [(384, 1024)]
    base, _ = load_model(tiny_model / "base.safetensors")
    expert, _ = load_model(other / "base.safetensors")
    x, emb = torch.randn(2, 6, 256), torch.randn(2, 384)
    with torch.no_grad():
        for t, want in ((900, expert), (100, base)):
            tt = torch.full((2,), t)
            assert torch.equal(model(x, tt, embeddings=emb), want(x, tt, embeddings=emb))
    alone, _ = load_model(folder / "base.safetensors", experts=False)  # fine-tuning starts from the base network
    assert not isinstance(alone, TimestepExperts)

    with pytest.raises(CheckpointError, match="no recorded sha256"):
        load_model(folder / "base.safetensors", expert_hashes={"base.safetensors": hashes["base.safetensors"]})
    with pytest.raises(CheckpointError, match="corrupted"):
        load_model(folder / "base.safetensors", expert_hashes=hashes | {"base_high_noise.safetensors": "0" * 64})
    cfg["experts"][0]["t_range"] = [0.9, 0.1]
    (folder / "base.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="t_range"):
        load_model(folder / "base.safetensors")


def test_a_low_and_a_high_noise_expert_leave_the_middle_steps_to_the_base_network(tmp_path, tiny_model):
    folder, other, hashes = _expert_folder(tmp_path, tiny_model)
    low = write_tiny_model(tmp_path / "low", seed=2)
    shutil.copy(low / "base.safetensors", folder / "base_low_noise.safetensors")
    cfg = json.loads((folder / "base.json").read_text())
    cfg["experts"].append({"file": "base_low_noise.safetensors", "t_range": [0.0, 0.2]})
    (folder / "base.json").write_text(json.dumps(cfg))
    hashes["base_low_noise.safetensors"] = sha256_file(folder / "base_low_noise.safetensors")
    model, _ = load_model(folder / "base.safetensors", expert_hashes=hashes)
    assert model.ranges == [(384, 1024), (0, 205)]
    nets = {name: load_model(d / "base.safetensors")[0] for name, d in (("base", tiny_model), ("high", other),
                                                                         ("low", low))}
    x, emb = torch.randn(3, 6, 256), torch.randn(3, 384)
    with torch.no_grad():
        for t, want in ((1023, "high"), (384, "high"), (383, "base"), (205, "base"), (204, "low"), (0, "low")):
            tt = torch.full((3,), t)
            assert torch.equal(model(x, tt, embeddings=emb), nets[want](x, tt, embeddings=emb)), (t, want)
        mixed = torch.tensor([900, 300, 10])  # one call, rows for all three networks
        got = model(x, mixed, embeddings=emb)
        for i, want in enumerate(("high", "base", "low")):
            ref = nets[want](x[i:i + 1], mixed[i:i + 1], embeddings=emb[i:i + 1])
            assert torch.allclose(got[i:i + 1], ref, atol=1e-5), want


def test_the_pipeline_samples_through_the_experts(tmp_path, tiny_model):
    from gen3d.pipeline import Pipeline

    folder, _, _ = _expert_folder(tmp_path, tiny_model)
    pipe = Pipeline(str(folder))
    assert isinstance(pipe.base, TimestepExperts)
    plain = Pipeline(str(tiny_model))
    a = pipe.sample_points(["a chair"], [3])[0]
    b = plain.sample_points(["a chair"], [3])[0]
    assert a.xyz.shape == b.xyz.shape
    assert not torch.allclose(torch.as_tensor(a.xyz), torch.as_tensor(b.xyz))  # the expert took the noisy steps
    (folder / "base_high_noise.safetensors").write_bytes(b"not weights")
    with pytest.raises(CheckpointError, match="corrupted"):
        Pipeline(str(folder))


def test_training_timesteps_can_be_kept_to_an_experts_range():
    from gen3d.diffusion.gaussian import GaussianDiffusion

    d = GaussianDiffusion.named("cosine", 1024)
    torch.manual_seed(0)
    t = d.sample_timesteps(20000, t_range=(0.375, 1.0))
    assert int(t.min()) == 384 and int(t.max()) == 1023
    assert abs(float(t.float().mean()) - (384 + 1023) / 2) < 5  # uniform within the range
    low = d.sample_timesteps(20000, bias=1.5, t_range=(0.0, 0.5))
    assert int(low.max()) == 511 and float((low >= 256).float().mean()) > 0.6
    for bad in ((0.5, 0.5), (-0.1, 1.0), (0.2, 1.1), "x"):
        with pytest.raises(ValueError, match="t_range"):
            d.sample_timesteps(4, t_range=bad)
