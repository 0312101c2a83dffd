#!/usr/bin/env python
"""Write assets/eval/prompts.jsonl: five prompts per category (its name, a paraphrase, a synonym, a colour
phrase and a material or size phrase taken from real generated captions), each labelled with its category
and, where the prompt names one, its colour. Also color_prompts.jsonl beside it: just the rows that name a
colour, for a many-seed colour check (``gen3d eval --prompts assets/eval/color_prompts.jsonl --seeds 8``).

    python scripts/make_eval_prompts.py [-o assets/eval/prompts.jsonl]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SEED_BASE = 800_000_000  # never used by training caches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", type=Path, default=Path("assets/eval/prompts.jsonl"))
    a = ap.parse_args()
    from gen3d.data.appearance import COLORS
    from gen3d.data.captions import article
    from gen3d.data.procedural import CATEGORIES, generate_shape

    colours = sorted(COLORS, key=len, reverse=True)  # match "dark red" before "red"
    rows = []
    for name, cat in sorted(CATEGORIES.items()):
        rows.append({"prompt": article(name), "category": name})
        rows.append({"prompt": f"a 3d model of {article(name)}", "category": name})  # a paraphrase
        syn = next((s for s in cat.synonyms if s != name), None)
        if syn:
            rows.append({"prompt": article(syn), "category": name})
        coloured = other = None
        for i in range(40):
            for cap in generate_shape(name, SEED_BASE + i).captions:
                words = cap.split(" ", 1)[1] if " " in cap else cap
                col = next((c for c in colours if words.startswith(c + " ")), None)
                if col and coloured is None:
                    coloured = {"prompt": cap, "category": name, "color": col}
                elif col is None and other is None and cap not in (f"a {name}", f"an {name}"):
                    other = {"prompt": cap, "category": name}
            if coloured and other:
                break
        rows += [r for r in (coloured, other) if r]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    coloured_rows = [r for r in rows if "color" in r]
    (a.out.parent / "color_prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in coloured_rows))
    print(f"wrote {a.out}: {len(rows)} prompts, {len(coloured_rows)} with a colour (also in color_prompts.jsonl)")


if __name__ == "__main__":
    main()
