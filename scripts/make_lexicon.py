#!/usr/bin/env python
"""Write gen3d/text/lexicon.json: for each of the model's categories, the many words people use for that kind
of object (kinds, trade and technical names), which prompt understanding matches like the vocabulary's own names.

    apt-get install wordnet-base        # Princeton WordNet 3.0, the candidates' source (only this script needs it)
    python scripts/make_lexicon.py [--wordnet /usr/share/wordnet] [--rejected]

Candidates are WordNet 3.0's hyponyms (kinds, and named instances) of the root senses each category lists in
``scripts/lexicon_sources.toml``, less the subtrees it cuts ("counter" under "table"); a synset under the roots of
two categories goes to the nearer root ("wing chair" is an armchair, not just a chair). Then, curated:

- a one-word name is kept only when its most frequent WordNet sense is one of the category's ("pickup" is a
  truck; "machine", "sack", "tower" in the car, bed and boat trees are not) and none of its senses is a food
  of another category ("peach", "mango": the fruit before the tree), or when it is added by hand;
- WordNet names a category's ``exclude`` lists are dropped; its ``add`` list (general knowledge) is added;
- capitalised one-word names ("Constitution", "Monitor") and the model's own names and synonyms (its
  vocabulary decides those) are dropped, and so are WordNet names that start with a colour word ("white
  house", "red pine"), and added ones whose rest after colour, material or size words names the same category
  ("golden barrel cactus", "wooden stool", "tiny house").

A name that would land in two categories stops the script: the lists must say which.
``--rejected`` prints the WordNet one-word names left out by the first rule, for review.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "gen3d" / "text" / "lexicon.json"
SOURCES = REPO / "scripts" / "lexicon_sources.toml"
WORDNET_LICENCE = (  # it must appear on all copies of the database and modifications of it
    "Permission to use, copy, modify and distribute this software and database and its documentation for any "
    "purpose and without fee or royalty is hereby granted, provided that you agree to comply with the following "
    "copyright notice and statements, including the disclaimer, and that the same appear on ALL copies of the "
    "software, database and documentation, including modifications that you make for internal use or for "
    "distribution. WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. THIS SOFTWARE AND "
    "DATABASE IS PROVIDED \"AS IS\" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR "
    "IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES "
    "OF MERCHANTABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE "
    "OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. The name "
    "of Princeton University or Princeton may not be used in advertising or publicity pertaining to distribution "
    "of the software and/or database. Title to copyright in this software, database and any associated "
    "documentation shall at all times remain with Princeton University and LICENSEE agrees to preserve same."
)


class WordNet:
    """The noun part of a WordNet 3.0 database folder (``data.noun``, ``index.noun``)."""

    def __init__(self, folder: Path):
        self.synsets: dict[str, tuple[list[str], list[str]]] = {}  # offset -> (lemmas, hyponym offsets)
        self.food: set[str] = set()  # synsets in WordNet's noun.food lexicographer file (13)
        for line in (folder / "data.noun").open(encoding="latin-1"):
            if line.startswith("  "):  # the licence header
                continue
            f = line.partition(" | ")[0].split()
            n = int(f[3], 16)
            lemmas = [f[4 + 2 * i].replace("_", " ") for i in range(n)]
            i = 4 + 2 * n
            count, i = int(f[i]), i + 1
            hyponyms = [f[i + 4 * k + 1] for k in range(count) if f[i + 4 * k] in ("~", "~i")
                        and f[i + 4 * k + 2] == "n"]
            self.synsets[f[0]] = ([_clean(x) for x in lemmas], hyponyms)
            if f[1] == "13":
                self.food.add(f[0])
        self.senses: dict[str, list[str]] = {}  # lemma -> its synsets, most frequent sense first
        for line in (folder / "index.noun").open(encoding="latin-1"):
            if line.startswith("  "):
                continue
            f = line.split()
            count, pointers = int(f[2]), int(f[3])
            self.senses[f[0].replace("_", " ")] = f[6 + pointers : 6 + pointers + count]

    def sense(self, spec: str) -> str:
        """``"chair#1"`` -> the synset offset of that sense."""
        word, _, k = spec.rpartition("#")
        return self.senses[word.lower()][int(k) - 1]

    def distances(self, root: str) -> dict[str, int]:
        """Every synset under ``root`` (hyponyms and instances, any depth) -> its distance from it."""
        out, todo = {root: 0}, deque([root])
        while todo:
            s = todo.popleft()
            for h in self.synsets[s][1]:
                if h not in out:
                    out[h] = out[s] + 1
                    todo.append(h)
        return out


def _clean(lemma: str) -> str:
    return lemma.split("(")[0]  # "galleon(a)": WordNet's syntactic markers


def wordnet_names(wn: WordNet, roots: dict[str, list[str]], cut: dict[str, list[str]]):
    """category -> {name: its most frequent sense is the category's and no sense a food of another},
    each synset under its nearest root."""
    owner: dict[str, tuple[int, str]] = {}
    for cat, specs in roots.items():
        below: dict[str, int] = {}
        for spec in specs:
            for s, d in wn.distances(wn.sense(spec)).items():
                below[s] = min(d, below.get(s, d))
        gone = {x.lower() for x in cut.get(cat, [])}  # subtrees that are no kind of it ("counter" under "table")
        for top in [s for s in below if gone & {w.lower() for w in wn.synsets[s][0]}]:
            for s in wn.distances(top):
                below.pop(s, None)
        for s, d in below.items():
            if s not in owner or d < owner[s][0]:
                owner[s] = (d, cat)
    names: dict[str, dict[str, bool]] = {cat: {} for cat in roots}
    for s, (_, cat) in owner.items():
        for lemma in wn.synsets[s][0]:
            senses = wn.senses.get(lemma.lower(), [None])
            food = any(x in wn.food and owner.get(x, (0, None))[1] != cat for x in senses)  # "peach", "mango"
            ok = owner.get(senses[0], (0, None))[1] == cat and not food
            names[cat][lemma] = names[cat].get(lemma, False) or ok
    return names


def modified(name: str, cat: str, names: dict[str, str]) -> bool:
    """Whether ``name`` is colour, material or size words before a name of the same category ("golden barrel
    cactus", "wooden stool", "tiny house"): the rest names the object, and the words, left out of the name,
    describe it."""
    from gen3d.text.understand import SIZE_WORDS, modifier_word

    words = name.split()
    i = 0
    while i < len(words) - 1 and (modifier_word(words[i]) or words[i] in SIZE_WORDS):
        i += 1
    return i > 0 and names.get(" ".join(words[i:])) == cat


def build(wordnet: Path, show_rejected: bool = False) -> dict:
    import tomllib

    from gen3d.data.procedural import CATEGORIES
    from gen3d.text.lexicon import normal
    from gen3d.text.understand import words_of

    sources = tomllib.loads(SOURCES.read_text(encoding="utf-8"))
    roots, cut, exclude, add = ({c: d.get(k, []) for c, d in sources.items()} for k in ("roots", "cut", "exclude",
                                                                                        "add"))
    wn = WordNet(wordnet)
    own = {f"{normal(p)}{end}": c  # the model's names and synonyms, with the plurals its vocabulary matches
           for c, cat in CATEGORIES.items() for p in (c, *cat.synonyms) for end in ("", "s", "es")}
    found = wordnet_names(wn, roots, cut)
    out: dict[str, dict[str, list[str]]] = {}
    where: dict[str, str] = {}
    excluded = {c: {normal(x) for x in xs} for c, xs in exclude.items()}
    clashes: list[str] = []

    def keep(cat: str, name: str, source: str) -> None:
        key = normal(name)
        if not key or key in own or (source == "wordnet" and key in excluded.get(cat, ())):
            return
        if where.get(key, cat) != cat:
            clashes.append(f"'{key}' is named for {where[key]} and {cat}")
        if key not in where:
            where[key] = cat
            out.setdefault(cat, {"wordnet": [], "added": []})[source].append(key)

    for cat in sorted(CATEGORIES):
        out.setdefault(cat, {"wordnet": [], "added": []})
        for name in add.get(cat, []):
            keep(cat, name, "added")
    from gen3d.text.colors import find_color

    for cat in sorted(CATEGORIES):
        rejected = []
        for name, first_sense in sorted(found.get(cat, {}).items()):
            words = words_of(name)
            one = len(words) == 1
            if not words or (one and (not first_sense or name[:1].isupper())):
                rejected.append(name)
                continue
            if not one and find_color(words[0]) is not None:  # "red pine", "silver bell": kept only by hand
                continue
            keep(cat, name, "wordnet")
        if show_rejected and rejected:
            print(f"{cat}: {', '.join(rejected)}")
    if clashes:
        raise SystemExit("say which in lexicon_sources.toml:\n" + "\n".join(clashes))
    for cat in out:
        out[cat] = {k: sorted(n for n in v if k == "wordnet" or not modified(n, cat, {**where, **own}))
                    for k, v in out[cat].items()}
    return {
        "about": "Words and short phrases for each category's kind of object, matched by prompt understanding "
                 "like the model's own names (gen3d/text/lexicon.py). Written by scripts/make_lexicon.py: "
                 "'wordnet' are WordNet 3.0 hyponyms of the category's senses, curated; 'added' are written "
                 "by hand from general knowledge.",
        "source": "Princeton WordNet 3.0 (Debian's wordnet-base), WordNet 3.0 Copyright 2006 by Princeton University",
        "wordnet_licence": WORDNET_LICENCE,
        "categories": out,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"), help="WordNet 3.0 dict folder")
    ap.add_argument("--rejected", action="store_true", help="print the one-word WordNet names left out")
    ap.add_argument("-o", "--out", type=Path, default=OUT)
    a = ap.parse_args()
    if not (a.wordnet / "data.noun").is_file():
        raise SystemExit(f"no WordNet 3.0 database in {a.wordnet}: apt-get install wordnet-base")
    lexicon = build(a.wordnet, a.rejected)
    a.out.write_text(json.dumps(lexicon, indent=1, ensure_ascii=False) + "\n")
    n = {k: sum(len(v) for v in c.values()) for k, c in lexicon["categories"].items()}
    print(f"wrote {a.out}: {sum(n.values())} names for {len(n)} categories "
          f"(fewest: {min(n, key=n.get)} {min(n.values())}, most: {max(n, key=n.get)} {max(n.values())})")


if __name__ == "__main__":
    main()
