"""The understanding lexicon (gen3d/text/lexicon.json, written by scripts/make_lexicon.py) and how prompt
understanding uses it. The parser's prompts here were written for these tests, not taken from any evaluation set."""

import json

import pytest
import tomllib

from gen3d.text.colors import find_color
from gen3d.text.lexicon import LEXICON, load_lexicon, normal, variants
from gen3d.text.understand import name_table, understand
from gen3d.text.vocab import Vocabulary
from tests.conftest import REPO

SMALL = REPO / "assets" / "models" / "gen3d-small"


class _NoEncoder:
    text = None  # name matching only


@pytest.fixture(scope="module")
def vocab():
    return Vocabulary.load(SMALL, _NoEncoder())


def test_every_category_has_many_names_and_each_name_one_category():
    from gen3d.data.procedural import CATEGORIES

    lex = load_lexicon()
    assert set(lex) == set(CATEGORIES)
    assert min(len(names) for names in lex.values()) >= 25
    seen: dict[str, str] = {}
    for cat, names in lex.items():
        for name in names:
            assert name == normal(name), name  # stored as understanding reads it
            assert seen.setdefault(name, cat) == cat, f"'{name}' is named for {seen[name]} and {cat}"


def test_the_model_vocabulary_decides_its_own_names(vocab):
    own = {" ".join(k) for k in name_table(vocab.entries)}
    clash = {n for names in load_lexicon().values() for n in names} & own
    assert not clash  # the vocabulary's names and synonyms are not repeated (nor contradicted) in the lexicon
    # and a colour word never starts a name whose rest names the same category ("red pine": the colour is kept)
    lex = load_lexicon()
    for cat, names in lex.items():
        for name in names:
            first, _, rest = name.partition(" ")
            if rest and find_color(first) is not None:
                assert rest not in lex[cat], name


def test_names_are_written_every_way():
    assert ("fire-engine",) in variants(("fire", "engine"))
    assert ("lorries",) in variants(("lorry",))
    assert ("18", "wheeler") in variants(("18-wheeler",)) and ("18wheeler",) in variants(("18-wheeler",))
    assert ("shelves",) in variants(("shelf",))


def test_shipped_as_package_data():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "lexicon.json" in pyproject["tool"]["setuptools"]["package-data"]["gen3d.text"]
    data = json.loads(LEXICON.read_text())
    assert "WordNet 3.0" in data["source"] and set(next(iter(data["categories"].values()))) == {"wordnet", "added"}


@pytest.mark.parametrize(("prompt", "category", "noun"), [
    ("a wooden dinghy with two oars", "boat", "dinghy"),             # a kind of boat
    ("Three LORRIES", "truck", "lorries"),                            # -y -> -ies, case
    ("two fire-engines parked outside", "truck", "fire-engines"),     # hyphenated and plural
    ("a bergère in pale blue", "armchair", "bergere"),                # accents
    ("a toad stool with a red cap", "mushroom", "toad stool"),        # longer than the vocabulary's "stool"
    ("a saguaro in the desert", "cactus", "saguaro"),
    ("an old hatchet", "axe", "hatchet"),
    ("a big grey stone", "rock", "stone"),                            # a material word as the head noun
    ("a smooth stone covered in moss", "rock", "stone"),
    ("a tiny marble", "sphere", "marble"),
    ("a granite bench", "bench", "bench"),                            # ... but not as a material
    ("a slate coffee table", "table", "coffee table"),
    ("a lighthouse lamp", "lamp", "lamp"),                            # a lexicon name modifies the model's own
    ("a barn door table", "table", "table"),
    ("canoe, birch bark", "boat", "canoe"),                           # no name across a comma ("canoe birch")
    ("a chest of drawers", "cabinet", "chest of drawers"),
    ("a tall oak", "tree", "oak"),
    ("an oak bookcase", "bookshelf", "bookcase"),
])
def test_lexicon_names_in_prompts(vocab, prompt, category, noun):
    u = understand(prompt, vocab, similarity=False)
    assert (u.category, u.how, u.noun) == (category, "name", noun)


def test_colours_and_several_objects_with_lexicon_names(vocab):
    u = understand("a white house with a red door", vocab, similarity=False)
    assert (u.category, u.color_words[0]) == ("house", "white")
    assert understand("an olive green loveseat", vocab, similarity=False).color_words[0] == "olive green"
    two = understand("a rocking chair and an ottoman", vocab, similarity=False)
    assert (two.category, two.others) == ("chair", ["stool"])
    assert understand("a table made of oak", vocab, similarity=False).material == "wood"


def test_the_canonical_prompts_still_parse():
    """With the real encoder (several names, and prompts with none): the canonical prompts' categories."""
    from gen3d.eval.report import read_prompts
    from gen3d.text import get_text_encoder

    class Owner:
        text = get_text_encoder("minilm")

    full = Vocabulary.load(SMALL, Owner())
    for name, floor in (("prompts.jsonl", 0.98), ("paraphrases_dev.jsonl", 0.95)):
        rows = read_prompts(REPO / "assets" / "eval" / name)
        right = sum(understand(r["prompt"], full).category == r["category"] for r in rows)
        assert right / len(rows) >= floor, (name, right, len(rows))
