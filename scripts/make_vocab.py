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


if __name__ == "__main__":
    main()
