"""scripts/grow_depth.py: a deeper copy of a model that computes exactly what the source does, and trains."""

import importlib.util
import json

import pytest
import torch

from gen3d.models.checkpoints import load_model, save_checkpoint
from gen3d.models.configs import build_model
from tests.conftest import REPO

CONFIG = {"kind": "textvec", "model": {"input_channels": 6, "output_channels": 12, "width": 32, "layers": 3,
                                       "heads": 2, "text_dim": 16, "time_token_cond": True, "token_cond": False}}


def _script():
    spec = importlib.util.spec_from_file_location("grow_depth", REPO / "scripts" / "grow_depth.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_grown_model_matches_source_and_can_learn(tmp_path, capsys):
    torch.manual_seed(0)
    src = build_model(CONFIG).eval()
    # perturb every weight so a block copied to the wrong place, or a projection not zeroed, would show
    with torch.no_grad():
        for p in src.parameters():
            p.add_(0.05 * torch.randn_like(p))
    save_checkpoint(src, CONFIG, tmp_path / "src.safetensors", dtype=None)
    grow = _script()
    assert grow.main([str(tmp_path / "src.safetensors"), str(tmp_path / "big.safetensors"), "--after", "0,2"]) == 0
    assert "3 -> 5 layers" in capsys.readouterr().out
    big, cfg = load_model(tmp_path / "big.safetensors")
    assert cfg["model"]["layers"] == 5 == json.loads((tmp_path / "big.json").read_text())["model"]["layers"]
    x, t, e = torch.randn(2, 6, 64), torch.tensor([5, 700]), torch.randn(2, 16)
    with torch.no_grad():
        assert torch.equal(src(x, t, embeddings=e), big(x, t, embeddings=e))
    blocks = big.backbone.resblocks
    assert torch.equal(blocks[1].ln_1.weight, blocks[0].ln_1.weight)  # the copy of block 0 follows it
    assert not blocks[1].mlp.c_proj.weight.any() and not blocks[4].attn.c_proj.weight.any()
    assert torch.equal(blocks[3].mlp.c_proj.weight, src.backbone.resblocks[2].mlp.c_proj.weight)
    # the zeroed projections get gradients, so the new blocks do learn
    big.train()
    big(x, t, embeddings=e).square().mean().backward()
    assert blocks[1].mlp.c_proj.weight.grad.abs().sum() > 0


def test_bad_block_index_is_one_line_and_writes_nothing(tmp_path, capsys):
    save_checkpoint(build_model(CONFIG), CONFIG, tmp_path / "src.safetensors")
    assert _script().main([str(tmp_path / "src.safetensors"), str(tmp_path / "big.safetensors"), "--after", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --after needs distinct block indices in 0..2") and "\n" not in err
    assert not (tmp_path / "big.safetensors").exists()
    with pytest.raises(SystemExit):
        _script().main([str(tmp_path / "src.safetensors"), str(tmp_path / "big.safetensors")])
