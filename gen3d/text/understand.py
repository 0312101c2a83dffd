"""Prompt understanding: a free prompt -> what a closed-vocabulary model can make.

``understand("a crimson armchair made of velvet", vocab)`` finds

- the **category**: a category name or synonym of the model's vocabulary, or a name of the understanding
  lexicon (:mod:`gen3d.text.lexicon`: "dinghy", "hatchet", "loveseat"), written in the prompt (whole words,
  plurals, longest first; of several, the head noun of the first noun phrase: "a barrel cactus" -> cactus),
  else, by MiniLM similarity, the vocabulary phrase nearest to the prompt;
- the **colours** (:mod:`gen3d.text.colors`: palette and CSS/X11 names, shades, hex codes), the first one
  in the object's own noun phrase taken as its main colour;
- **material** and **size** words;
- other objects the prompt names ("a chair and a table": one object is made, and a warning says which).

From that it writes a **canonical caption** in the training captions' own words ("a red fabric armchair": the
nearest palette colour, the material adjective, the category name) that the model can be conditioned on.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from gen3d.text.colors import NamedColor, find_color, nearest_palette_name
from gen3d.text.lexicon import fold, is_lexicon_word, lexicon_table

# word -> the training material label (gen3d.data.appearance.MATERIAL_WORDS keys)
MATERIALS: dict[str, str] = {
    **{w: "wood" for w in ("wood", "wooden", "timber", "oak", "oaken", "walnut", "mahogany", "maple", "birch", "teak",
                           "cedar", "cherrywood", "ash", "beech", "bamboo", "plywood", "driftwood", "rosewood",
                           "ebony", "wicker", "rattan", "log", "logs")},
    **{w: "metal" for w in ("metal", "metallic", "steel", "iron", "cast-iron", "aluminium", "aluminum", "chrome",
                           "brass", "copper", "bronze", "tin", "pewter", "titanium", "stainless")},
    **{w: "plastic" for w in ("plastic", "acrylic", "vinyl", "polymer", "resin")},
    **{w: "fabric" for w in ("fabric", "upholstered", "cloth", "velvet", "linen", "cotton", "wool", "woollen",
                            "tweed", "canvas", "suede", "felt", "corduroy")},
    **{w: "leather" for w in ("leather", "hide")},
    **{w: "stone" for w in ("stone", "marble", "granite", "slate", "sandstone", "limestone", "basalt", "cobblestone")},
    **{w: "glass" for w in ("glass", "crystal")},
    **{w: "ceramic" for w in ("ceramic", "porcelain", "china", "clay", "terracotta", "earthenware", "stoneware")},
    "wax": "wax", "beeswax": "wax", "paraffin": "wax",
    "brick": "brick", "bricks": "brick",
    "concrete": "concrete", "cement": "concrete",
    "rubber": "rubber",
    "paper": "paper", "cardboard": "paper",
    "painted": "painted wood",
}
SIZE_WORDS = {"tiny", "small", "little", "mini", "miniature", "petite", "compact", "big", "large", "huge", "giant",
              "enormous", "massive", "gigantic", "oversized", "tall", "high", "low", "short", "long", "wide",
              "narrow", "thin", "thick", "slim", "squat", "chunky", "towering"}
# CSS names that are mostly nouns when they stand alone ("snow", "linen"); as "salmon pink" they still count
NOUN_COLOURS = {"snow", "linen", "wheat", "peru", "tomato", "salmon", "chocolate", "honeydew", "seashell",
                "bisque", "moccasin", "thistle", "orchid", "plum", "lime"}
# words that end the object's own noun phrase: what follows describes parts, places or other things
CLAUSE = re.compile(r"\s*(?:,|;|&|\b(?:and|plus|with|made|that|which|for|in|on|of|from|by|next|beside|under|"
                    r"above|at|to)\b)\s*")
MIN_SIMILARITY = 0.3  # nearer than this, a prompt naming no category is made as its nearest one (with a warning)
JOINING = {"and", "plus", "beside", "alongside", "next", "besides"}  # "a chair and a table": two objects


@dataclass
class Understanding:
    prompt: str
    category: str | None = None
    how: str = "none"  # "name" (a vocabulary word in the prompt), "similar" (nearest phrase), "none"
    score: float = 0.0  # 1 for a name; the cosine similarity otherwise
    noun: str | None = None  # the words that named it
    colors: list[NamedColor] = field(default_factory=list)  # main colour first
    color_words: list[str] = field(default_factory=list)  # as written
    material: str | None = None
    material_word: str | None = None
    size_words: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # other categories the prompt names as objects
    caption: str | None = None  # what the model is conditioned on (None: the prompt itself)

    @property
    def color(self) -> NamedColor | None:
        return self.colors[0] if self.colors else None

    def summary(self) -> str:
        """``armchair, red (crimson), fabric (velvet), small``."""
        parts = [self.category or "nothing this model knows"]
        if self.color is not None:  # the model's own colour word, with the shade as written
            word = self.color_words[0]
            name = nearest_palette_name(self.color.rgb) if self.color.source != "palette" else self.color.name
            parts.append(name if word == name else f"{name} ({word})")
        if self.material:
            w = self.material_word
            parts.append(self.material if not w or w == self.material else f"{self.material} ({w})")
        parts += self.size_words
        return ", ".join(parts)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["colors"] = [{"name": c.name, "rgb": [round(x, 4) for x in c.rgb], "source": c.source}
                       for c in self.colors]
        d["summary"] = self.summary()
        return d


def words_of(text: str) -> list[str]:
    """Lower-case words; possessives, punctuation and accents dropped, hex codes and hyphenated words kept."""
    t = re.sub(r"['\u2019]s\b", "", fold(text.lower())).replace("&", " and ")
    return re.findall(r"#[0-9a-f]{3,6}\b|[a-z0-9]+(?:-[a-z0-9]+)*", t)


def name_table(entries: list[dict]) -> dict[tuple[str, ...], str]:
    """The vocabulary's names and synonyms (its phrases that are not sample captions) as word tuples,
    with plurals."""
    out: dict[tuple[str, ...], str] = {}
    for e in entries:
        phrase = e["phrase"].lower()
        if re.match(r"^(a|an|3d)\b", phrase):  # a sample caption, not a name
            continue
        words = tuple(words_of(phrase))
        for form in (words, (*words[:-1], words[-1] + "s"), (*words[:-1], words[-1] + "es")):
            out.setdefault(form, e["category"])
    return out


def find_names(words: list[str], names: dict[tuple[str, ...], str], breaks: set[int] = frozenset()
               ) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, category) matches of the names in ``words``, longest first, none across a
    break (the index of a word after a comma: "canoe, birch bark" names no "canoe birch")."""
    longest = max((len(k) for k in names), default=0)
    taken = [False] * len(words)
    found = []
    for n in range(longest, 0, -1):
        for i in range(len(words) - n + 1):
            key = tuple(words[i : i + n])
            if key in names and not any(taken[i : i + n]) and not breaks & set(range(i + 1, i + n)):
                found.append((i, i + n, names[key]))
                taken[i : i + n] = [True] * n
    return sorted(found)


def comma_breaks(prompt: str) -> set[int]:
    """The indices (into :func:`words_of`) of the words that follow a comma, semicolon, colon or full stop."""
    out, n = set(), 0
    for piece in re.split(r"[,;:.!?]+(?:\s|$)", prompt):
        n += len(words_of(piece))
        out.add(n)
    return out


def head_chunk_end(prompt: str, words: list[str]) -> int:
    """How many of ``words`` lie in the prompt's first noun phrase (before "with", "made of", a comma, ...)."""
    m = CLAUSE.search(prompt.lower())
    first = prompt[: m.start()] if m else prompt
    return max(1, len(words_of(first))) if words else 0


def find_colors(words: list[str], skip: set[int]) -> list[tuple[int, str, NamedColor]]:
    """(position, words as written, colour) for colour names in ``words``, three-word names first."""
    out, used = [], set(skip)
    for n in (3, 2, 1):
        for i in range(len(words) - n + 1):
            span = set(range(i, i + n))
            if span & used:
                continue
            text = " ".join(words[i : i + n])
            if n == 1 and text in NOUN_COLOURS:
                continue
            c = find_color(text)
            if c is not None:
                if n > 1 and c == find_color(words[i + n - 1]):  # "tiny crimson", "army green": the hue word
                    text = words[i + n - 1]
                out.append((i, text, c))
                used |= span
    return sorted(out, key=lambda x: x[0])


def modifier_word(word: str) -> bool:
    """A lexicon name that is also a material or colour word ("stone", "oak", "marble", "olive")."""
    return word in MATERIALS or word in NOUN_COLOURS or find_color(word) is not None


def lexicon_matches(words: list[str], matches: list[tuple[int, int, str]], own: dict, head_end: int):
    """``matches`` less the lexicon's names that are likely not the object: a material or colour word that is
    not the head of the first noun phrase ("a stone bench", "a marble table"; "a big grey stone" is a rock)."""
    out = []
    for s, e, c in matches:
        key = tuple(words[s:e])
        if key not in own and len(key) == 1 and modifier_word(key[0]):
            if not (s < head_end and (e == head_end or words[e].endswith(("ing", "ed")))):
                continue
        out.append((s, e, c))
    return out


def before_own_names(cands: list[tuple[int, int, str]], words: list[str], own: dict) -> list[tuple[int, int, str]]:
    """``cands`` less lexicon names before one of the model's own names: modifiers ("a farmhouse table",
    "a castle tower"); the model's names always count."""
    last_own = max((s for s, e, _ in cands if tuple(words[s:e]) in own), default=-1)
    return [m for m in cands if tuple(words[m[0] : m[1]]) in own or m[1] > last_own]


def fuzzy_names(words: list[str], names: dict[tuple[str, ...], str], is_word) -> list[tuple[int, int, str]]:
    """(start, end, category) for misspelt names ("chiar", "tabel", "sheild"): a word that is not a word of the
    text encoder's vocabulary (``is_word``; real words such as "plant" or "three" are never typos of "plane"
    or "tree"), keeps the name's first letter and length give or take one, and is close to it."""
    import difflib

    single = {k[0]: c for k, c in names.items() if len(k) == 1}
    out = []
    for i, w in enumerate(words):
        if len(w) < 4 or w.startswith("#") or is_word(w):
            continue
        alike = [n for n in single if n[0] == w[0] and abs(len(n) - len(w)) <= 1]
        close = difflib.get_close_matches(w, alike, n=1, cutoff=0.75)
        if close:
            out.append((i, i + 1, single[close[0]]))
    return out


def _similarity_text(words: list[str]) -> str:
    """The prompt without its colour, material and size words (they say little about the category and
    would pull it towards captions with the same colour)."""
    drop = {j for i, text, _ in find_colors(words, set()) for j in range(i, i + len(text.split()))}
    kept = [w for j, w in enumerate(words) if j not in drop and w not in MATERIALS and w not in SIZE_WORDS]
    return " ".join(kept or words)


def understand(prompt: str, vocab=None, similarity: bool = True) -> Understanding:
    """What ``prompt`` asks of a model with vocabulary ``vocab`` (a :class:`gen3d.text.vocab.Vocabulary`;
    None: colours, materials and sizes only). ``similarity=False`` skips the text encoder.

    The category: the vocabulary's and the lexicon's names in the prompt (a lexicon name before one of the
    vocabulary's is a modifier, "a farmhouse table"; one that is also a material or colour word counts only as
    the head noun, "a big grey stone" but not "a stone bench"); when several are named in the object's own noun
    phrase ("a rocket ship", "a barrel cactus") the text encoder picks among them, else the last (the head
    noun). With no name, misspelt names ("chiar", "tabel") are tried, then the category whose vocabulary
    phrases are nearest to the prompt (colour, material and size words left out)."""
    u = Understanding(prompt)
    words = words_of(prompt)
    entries = getattr(vocab, "entries", None) or []
    names = name_table(entries) if entries else {}
    head_end = head_chunk_end(prompt, words)
    matches = find_names(words, {**lexicon_table(names), **names}, comma_breaks(prompt)) if entries else []
    matches = lexicon_matches(words, matches, names, head_end)
    cands, how = before_own_names([m for m in matches if m[0] < head_end] or matches, words, names), "name"
    if not cands and entries and similarity:
        fuzzy = fuzzy_names(words, names, lambda w: vocab.is_word(w) or is_lexicon_word(w))
        cands, how = ([m for m in fuzzy if m[0] < head_end] or fuzzy), "fuzzy"
    sim_text = _similarity_text(words) if entries and similarity else None
    named: set[int] = set()
    if cands:
        pick = cands[-1]  # the head noun of the object's own noun phrase
        if sim_text is not None and len({c for _, _, c in cands}) > 1:
            scores = vocab.category_scores(sim_text)
            pick = max(reversed(cands), key=lambda m: scores.get(m[2], -1.0))
        start, end, cat = pick
        u.category, u.how, u.score, u.noun = cat, how, 1.0, " ".join(words[start:end])
        for s, e, other in matches:
            between = words[min(end, e) : max(start, s)]
            joined = bool(JOINING & set(between)) or any(
                w == "with" and nxt in ("a", "an", "the", "some") for w, nxt in zip(between, between[1:], strict=False))
            if other != cat and joined and other not in u.others:
                u.others.append(other)
        named = set(range(start, end))
    elif sim_text is not None:
        scores = vocab.category_scores(sim_text)
        best = max(scores, key=scores.get) if scores else None
        if best is not None and scores[best] >= MIN_SIMILARITY:  # below the model's threshold it still warns
            u.category, u.how, u.score = best, "similar", float(scores[best])
    colours = find_colors(words, named)
    colours.sort(key=lambda x: (x[0] >= head_end, x[0]))  # the object's own noun phrase first
    u.colors = [c for _, _, c in colours]
    u.color_words = [w for _, w, _ in colours]
    for i, w in enumerate(words):
        if i in named:
            continue
        if u.material is None and w in MATERIALS:
            u.material, u.material_word = MATERIALS[w], w
        if w in SIZE_WORDS and w not in u.size_words:
            u.size_words.append(w)
    if u.category is not None:
        u.caption = canonical_caption(u)
    return u


def canonical_caption(u: Understanding) -> str:
    """The understood object in the training captions' words: ``a red fabric armchair``."""
    from gen3d.data.appearance import MATERIAL_WORDS
    from gen3d.data.captions import _fix_articles, article

    colour = nearest_palette_name(u.color.rgb) if u.color is not None else None
    mword = None
    if u.material and MATERIAL_WORDS.get(u.material):
        mword = MATERIAL_WORDS[u.material][0]
    words = [w for w in (colour, mword, u.category) if w]
    return _fix_articles(article(" ".join(words)))


def warnings_for(u: Understanding, vocab=None) -> list[str]:
    """Warnings for a prompt naming nothing the model knows well, or several objects."""
    out = []
    threshold = getattr(vocab, "threshold", 0.0)
    if getattr(vocab, "entries", None) and (u.category is None or (u.how == "similar" and u.score < threshold)):
        near = ", ".join(e["category"] for _, e in vocab.nearest(u.prompt)) if u.category is None else u.category
        made = f"; it is made as the nearest: {u.category}" if u.category else ""
        out.append(f"'{u.prompt}' is outside what this model knows (closest: {near}){made}. For open-vocabulary "
                   "prompts try --model point-e-40m (GPU recommended).")
    if u.others:
        out.append(f"'{u.prompt}' names several objects ({', '.join([u.category, *u.others])}); one object is "
                   f"made: {u.category}")
    return out
