"""A tiny, randomly initialised CLIP text tower with a real CLIP BPE tokenizer, saved with ``save_pretrained``.

Same classes and file layout as ``openai/clip-vit-large-patch14`` (``CLIPTextModelWithProjection``, 768-d
projection, 77 positions, quick-GELU, ``<|startoftext|>``/``<|endoftext|>`` as the last two ids), but 2 layers of
width 32 and a ~540-token vocabulary (the 512 byte-level symbols, with and without ``</w>``, plus the merges of a
few words), so it builds in a fraction of a second. ``GEN3D_CLIP_PATH`` pointed at the folder makes
``get_text_encoder("clip-vit-l-14")`` load it through the transformers backend.
"""

from __future__ import annotations

import json
from pathlib import Path

WORDS = "a red chair blue wooden table with metal legs mug lamp tall".split()


def write_tiny_clip(directory: Path, seed: int = 0) -> Path:
    import torch
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    directory = Path(directory)
    src = directory / "bpe"
    src.mkdir(parents=True, exist_ok=True)
    byte_symbols = list(bytes_to_unicode().values())
    tokens = byte_symbols + [b + "</w>" for b in byte_symbols]
    merges: list[tuple[str, str]] = []
    for word in WORDS:  # CLIP's merges.txt: pairs merged left to right, the last symbol carrying </w>
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            if (parts[0], parts[1]) not in merges:
                merges.append((parts[0], parts[1]))
                tokens.append(parts[0] + parts[1])
            parts = [parts[0] + parts[1], *parts[2:]]
    tokens = [*dict.fromkeys(tokens), "<|startoftext|>", "<|endoftext|>"]
    (src / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False))
    (src / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")

    out = directory / "clip"
    tokenizer = CLIPTokenizer.from_pretrained(str(src), model_max_length=77)
    config = CLIPTextConfig(vocab_size=len(tokens), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                            num_attention_heads=4, max_position_embeddings=77, projection_dim=768,
                            hidden_act="quick_gelu", bos_token_id=tokenizer.bos_token_id,
                            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    CLIPTextModelWithProjection(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
