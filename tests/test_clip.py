"""The CLIP ViT-L/14 text encoder of the official Point-E stack, through its transformers backend, on a tiny
random CLIP text tower saved with ``save_pretrained`` (tests/helpers_clip.py) and loaded the way users load a
local copy (``GEN3D_CLIP_PATH``). The real weights (1.7 GB) are never downloaded here."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers", reason="the CLIP text encoder's transformers backend is not installed")

from gen3d.text import TextEncoderError, get_text_encoder  # noqa: E402
from tests.helpers_clip import write_tiny_clip  # noqa: E402

PROMPTS = ["a red chair", "a tall wooden table with metal legs", "A  Blue   MUG!", "lamp " * 120]


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return write_tiny_clip(tmp_path_factory.mktemp("tiny_clip"))


@pytest.fixture
def enc(tiny_clip, monkeypatch):
    monkeypatch.setenv("GEN3D_CLIP_PATH", str(tiny_clip))
    monkeypatch.delenv("GEN3D_CLIP_BACKEND", raising=False)
    return get_text_encoder("clip-vit-l-14")


def openai_encode_text(model, tokens: torch.Tensor) -> torch.Tensor:
    """OpenAI CLIP's ``encode_text`` (clip/model.py), written out on the HF module's weights: token + position
    embedding, causal pre-LN transformer with quick-GELU, ln_final, the state at ``text.argmax(-1)`` (EOT has the
    largest id) times the projection."""
    tm = model.text_model
    x = tm.embeddings.token_embedding(tokens) + tm.embeddings.position_embedding.weight[: tokens.shape[1]]
    n, heads = tokens.shape[1], model.config.num_attention_heads
    causal = torch.full((n, n), float("-inf")).triu(1)
    for layer in tm.encoder.layers:
        a = layer.self_attn
        h = layer.layer_norm1(x)
        q, k, v = (p(h).unflatten(-1, (heads, -1)).transpose(1, 2) for p in (a.q_proj, a.k_proj, a.v_proj))
        att = torch.softmax(q @ k.transpose(-1, -2) * a.scale + causal, dim=-1)
        x = x + a.out_proj((att @ v).transpose(1, 2).flatten(2))
        h = layer.mlp.fc1(layer.layer_norm2(x))
        x = x + layer.mlp.fc2(h * torch.sigmoid(1.702 * h))
    x = tm.final_layer_norm(x)
    return model.text_projection(x[torch.arange(len(tokens)), tokens.argmax(-1)])


def test_clip_transformers_backend_vectors(enc, tiny_clip) -> None:
    from transformers import CLIPTextModelWithProjection, CLIPTokenizer

    assert enc.name == "clip-vit-l-14" and enc.dim == 768 and enc.backend == "transformers"
    assert enc.folder == tiny_clip
    e = enc.encode(PROMPTS)
    assert e.shape == (4, 768) and e.dtype == torch.float32
    torch.testing.assert_close(e.norm(dim=-1), torch.ones(4))
    assert torch.equal(enc.encode(PROMPTS), e)  # deterministic
    assert torch.equal(get_text_encoder("clip-vit-l-14").encode(PROMPTS), e)  # and across loads
    d = torch.cdist(e, e) + torch.eye(4) * 10
    assert d.min() > 1e-3, d  # different prompts, different vectors
    torch.testing.assert_close(enc.encode(["a red chair"])[0], e[0], atol=1e-6, rtol=1e-5)  # batching/padding

    # the HF model called directly, OpenAI style: every prompt padded to 77 tokens, no attention mask
    tok = CLIPTokenizer.from_pretrained(str(tiny_clip))
    model = CLIPTextModelWithProjection.from_pretrained(str(tiny_clip)).eval()
    ids = tok(PROMPTS, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    assert ids.shape == (4, 77) and (ids[:, 0] == tok.bos_token_id).all()
    assert ids[3, -1] == tok.eos_token_id  # truncate=True: [SOT] + 75 tokens + [EOT]
    assert tok.convert_ids_to_tokens(ids[2, :6].tolist()) == ["<|startoftext|>", "a</w>", "blue</w>", "mug</w>",
                                                              "!</w>", "<|endoftext|>"]
    with torch.no_grad():
        want = model(input_ids=ids).text_embeds
        openai = openai_encode_text(model, ids)
    torch.testing.assert_close(e, want / want.norm(dim=-1, keepdim=True), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(want, openai, atol=1e-5, rtol=1e-4)  # text_embeds is OpenAI's encode_text


def test_clip_errors_are_one_line(tmp_path, monkeypatch, tiny_clip) -> None:
    from gen3d.text.clip import ClipTextEncoder

    def error(**kw) -> str:
        with pytest.raises(TextEncoderError) as info:
            ClipTextEncoder(**kw)
        msg = str(info.value)
        assert "\n" not in msg and isinstance(info.value, RuntimeError)  # the CLI prints it without a traceback
        return msg

    monkeypatch.delenv("GEN3D_CLIP_PATH", raising=False)
    monkeypatch.delenv("GEN3D_CLIP_BACKEND", raising=False)
    (tmp_path / "empty").mkdir()
    assert "GEN3D_CLIP_PATH" in error(path=tmp_path / "empty") and "save_pretrained" in error(path=tmp_path / "x")
    assert "unknown CLIP backend 'nope'" in error(backend="nope")
    assert "GEN3D_CLIP_PATH" in error(path=tiny_clip, backend="open_clip")
    # nothing cached and the Hub offline: the message names both fixes (no network is tried)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    msg = error(backend="transformers")
    assert "openai/clip-vit-large-patch14" in msg and "HF_HUB_OFFLINE=0" in msg and "GEN3D_CLIP_PATH" in msg
