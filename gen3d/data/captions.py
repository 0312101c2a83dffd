"""Caption templates: category synonyms + true attributes (colour, material, size/shape, style, parts).

Every word comes from the draft's :class:`~gen3d.data.procedural.base.Facts` or its main part's colour
and material, so captions describe only what was generated.
"""

from __future__ import annotations

import re

import numpy as np

from gen3d.data.appearance import MATERIAL_WORDS, material_word


def article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _join(*words: str | None) -> str:
    return " ".join(w for w in words if w)


def _fix_articles(text: str) -> str:
    return re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", r"\1n ", text)


def make_captions(
    nouns: list[str],
    color: str,
    material: str,
    adjectives: list[str],
    styles: list[str],
    phrases: list[str],
    rng: np.random.Generator,
    n: int = 5,
) -> list[str]:
    """Up to ``n`` distinct captions, deterministic given ``rng``.

    ``nouns`` name the object (category synonyms, possibly with a kind: "floor lamp"); ``color`` and
    ``material`` are the main part's; the rest are true attribute words and part phrases.
    """
    mword = material_word(material)
    mnoun = material if MATERIAL_WORDS.get(material) is not None else None

    def pick(items: list[str]) -> str | None:
        return items[int(rng.integers(len(items)))] if items else None

    out: list[str] = []
    for _ in range(6 * n):
        noun = pick(nouns) or nouns[0]
        adj, style, phrase = pick(adjectives), pick(styles), pick(phrases)
        form = int(rng.integers(8))
        if form == 0:
            text = article(_join(color, noun))
        elif form == 1:
            text = article(_join(adj, mword, noun))
        elif form == 2:
            text = _join(article(_join(color, mword, noun)), phrase)
        elif form == 3:
            text = _join(article(_join(style, adj, color, noun)), phrase)
        elif form == 4:
            text = f"{article(noun)} made of {mnoun}, {color}" if mnoun else article(_join(adj, color, noun))
        elif form == 5:
            text = "3D model of " + article(_join(adj, color, noun))
        elif form == 6:
            text = _join(article(_join(color, noun)), phrase)
            other = pick([p for p in phrases if p != phrase and p.startswith("with ")])
            if phrase and phrase.startswith("with ") and other:
                text = f"{text} and {other.removeprefix('with ')}"
        else:
            text = _join(article(_join(style, mword, noun)), phrase)
        text = _fix_articles(" ".join(text.split()))
        if text not in out:
            out.append(text)
        if len(out) == n:
            break
    return out
