"""The understanding lexicon: for each category, the many words people use for that kind of object ("dinghy",
"hatchet", "loveseat", "saguaro"), beyond the few names and synonyms of the model's own vocabulary.

It lives in ``lexicon.json`` beside this module (written by ``scripts/make_lexicon.py`` from WordNet 3.0's
hyponyms of each category, curated, and words added by hand) and is used only to *understand* prompts: the
model's training captions and vocabulary are unchanged. :func:`gen3d.text.understand.understand` matches its
names like the vocabulary's, whose own names always win.
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from pathlib import Path

LEXICON = Path(__file__).with_name("lexicon.json")


def fold(text: str) -> str:
    """Accents dropped ("bergère" -> "bergere", "café" -> "cafe"), so such words stay one word."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normal(phrase: str) -> str:
    """A name as prompt understanding reads it: lower case, words only ("Captain's chair" -> "captain chair")."""
    from gen3d.text.understand import words_of

    return " ".join(words_of(phrase))


@cache
def load_lexicon(path: str | None = None) -> dict[str, tuple[str, ...]]:
    """category -> its lexicon names (WordNet's and those added by hand), as written in the file."""
    data = json.loads(Path(path or LEXICON).read_text(encoding="utf-8"))
    return {cat: tuple(sorted({n for names in d.values() for n in names})) for cat, d in data["categories"].items()}


def plurals(word: str) -> list[str]:
    """The plural forms a name's last word may take: ``+s``, ``+es``, ``-y -> -ies``, ``-f(e) -> -ves``."""
    out = [word + "s", word + "es"]
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        out.append(word[:-1] + "ies")
    if word.endswith("f"):
        out.append(word[:-1] + "ves")
    if word.endswith("fe"):
        out.append(word[:-2] + "ves")
    return out


def variants(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The ways a name may be written: "fire engine" / "fire-engine", "18-wheeler" / "18 wheeler" /
    "18wheeler", each also in the plural."""
    forms = [words]
    if len(words) > 1:
        forms.append(("-".join(words),))
    if any("-" in w for w in words):
        forms.append(tuple(p for w in words for p in w.split("-")))
        forms.append(tuple(w.replace("-", "") for w in words))
    return [v for f in forms for v in (f, *((*f[:-1], p) for p in plurals(f[-1])))]


@cache
def _table(path: str | None) -> dict[tuple[str, ...], str]:
    from gen3d.text.understand import words_of

    out: dict[tuple[str, ...], str] = {}
    for cat, names in sorted(load_lexicon(path).items()):
        for name in names:
            words = tuple(words_of(name))
            for i, form in enumerate(variants(words)):
                if i == 0 or form not in out:  # a name as written wins over another's variant
                    out[form] = cat
    return out


def lexicon_table(own: dict[tuple[str, ...], str], path: str | None = None) -> dict[tuple[str, ...], str]:
    """The lexicon's names as word tuples (with plurals and hyphenated forms) -> category, leaving out those
    the model's own names ``own`` already say."""
    return {k: c for k, c in _table(path).items() if k not in own}


def is_lexicon_word(word: str) -> bool:
    """Whether ``word`` is a one-word lexicon name or a plural of one (a real word, not a typo)."""
    return (word,) in _table(None)
