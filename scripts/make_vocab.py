#!/usr/bin/env python
"""Write a model folder's vocab.json: the categories it was trained on, their synonyms and real sizes, and
sample captions, so the pipeline can warn about prompts far from what the model knows.

    python scripts/make_vocab.py assets/models/gen3d-small [--threshold 0.55]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--threshold", type=float, default=0.55, help="cosine similarity below which a prompt warns")
    ap.add_argument("--captions", type=int, default=4, help="sample captions per category")
    ap.add_argument("--encoder", default="minilm", help="the model's text encoder")
    a = ap.parse_args()
    from gen3d.data.procedural import CATEGORIES, generate_shape

    entries = []
    for name, cat in sorted(CATEGORIES.items()):
        phrases = {name, *cat.synonyms}
        for seed in range(a.captions):
            phrases.update(generate_shape(name, seed).captions[:1])
        entries += [{"phrase": p, "category": name, "size_m": round(float(cat.size_m), 3)} for p in sorted(phrases)]
    out = a.model_dir / "vocab.json"
    out.write_text(json.dumps({"threshold": a.threshold, "entries": entries}, indent=1) + "\n")
    print(f"wrote {out}: {len(entries)} phrases for {len(CATEGORIES)} categories")
    # The phrases' text vectors, so that a cold start does not encode them all again (fp16, ~0.2 MB).
    from safetensors.torch import save_file

    from gen3d.text import get_text_encoder
    from gen3d.text.vocab import VOCAB_VECTORS, phrases_digest

    encoder = get_text_encoder(a.encoder)
    phrases = [e["phrase"] for e in entries]
    vectors = encoder.encode(phrases).half().contiguous()
    save_file({"vectors": vectors}, str(a.model_dir / VOCAB_VECTORS),
              metadata={"encoder": encoder.name, "phrases_sha256": phrases_digest(phrases)})
    (a.model_dir / VOCAB_VECTORS).chmod(0o644)
    print(f"wrote {a.model_dir / VOCAB_VECTORS}: {tuple(vectors.shape)} {encoder.name} vectors")


if __name__ == "__main__":
    main()
