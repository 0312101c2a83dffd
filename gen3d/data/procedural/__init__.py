"""The category registry and :func:`generate_shape`.

``category_names()`` is sorted alphabetically; the index in that list is the class label used by
training and the classifier, so adding a category shifts labels: bump ``DATASET_VERSION`` when you do.
"""

from __future__ import annotations

import numpy as np

from gen3d.data.captions import make_captions
from gen3d.data.procedural import buildings, furniture, household, nature, primitives, props, vehicles
from gen3d.data.procedural.base import Category, Draft, Facts
from gen3d.data.shape import Shape, normalise_parts

DATASET_VERSION = 1

_SPECS: list[tuple[str, str, list[str], float, object]] = [
    # furniture
    ("chair", "furniture", ["chair", "dining chair", "side chair", "seat"], 0.9, furniture.chair),
    ("armchair", "furniture", ["armchair", "lounge chair", "easy chair", "club chair"], 0.95, furniture.armchair),
    ("stool", "furniture", ["stool", "seat"], 0.6, furniture.stool),
    ("table", "furniture", ["table"], 1.4, furniture.table),
    ("desk", "furniture", ["desk", "writing desk", "office desk", "work desk"], 1.4, furniture.desk),
    ("bench", "furniture", ["bench", "seat bench", "park bench"], 1.5, furniture.bench),
    ("sofa", "furniture", ["sofa", "couch", "settee"], 2.0, furniture.sofa),
    ("bed", "furniture", ["bed", "bedframe"], 2.1, furniture.bed),
    ("bookshelf", "furniture", ["bookshelf", "bookcase", "shelf unit", "shelving"], 1.6, furniture.bookshelf),
    ("cabinet", "furniture", ["cabinet", "cupboard"], 1.0, furniture.cabinet),
    # household
    ("mug", "household", ["mug", "cup", "coffee mug"], 0.12, household.mug),
    ("bowl", "household", ["bowl", "dish"], 0.25, household.bowl),
    ("vase", "household", ["vase", "flower vase", "urn"], 0.35, household.vase),
    ("bottle", "household", ["bottle", "flask"], 0.25, household.bottle),
    ("lamp", "household", ["lamp", "light fixture"], 0.6, household.lamp),
    ("teapot", "household", ["teapot", "tea pot", "tea kettle"], 0.25, household.teapot),
    ("candle", "household", ["candle"], 0.15, household.candle),
    # vehicles
    ("car", "vehicles", ["car", "automobile", "vehicle"], 4.2, vehicles.car),
    ("truck", "vehicles", ["truck", "lorry"], 7.0, vehicles.truck),
    ("airplane", "vehicles", ["airplane", "aeroplane", "plane", "aircraft"], 25.0, vehicles.airplane),
    ("boat", "vehicles", ["boat", "ship", "vessel"], 7.0, vehicles.boat),
    ("rocket", "vehicles", ["rocket", "spaceship", "space rocket"], 45.0, vehicles.rocket),
    # buildings
    ("house", "buildings", ["house", "home", "cottage", "building"], 10.0, buildings.house),
    ("tower", "buildings", ["tower", "turret", "keep"], 20.0, buildings.tower),
    # nature
    ("tree", "nature", ["tree", "deciduous tree", "leafy tree"], 7.0, nature.tree),
    ("pine tree", "nature", ["pine tree", "pine", "fir tree", "conifer", "evergreen tree"], 10.0, nature.pine_tree),
    ("rock", "nature", ["rock", "boulder"], 1.2, nature.rock),
    ("mushroom", "nature", ["mushroom", "toadstool", "fungus"], 0.12, nature.mushroom),
    ("cactus", "nature", ["cactus", "succulent"], 1.5, nature.cactus),
    # props
    ("barrel", "props", ["barrel", "cask", "keg"], 0.9, props.barrel),
    ("crate", "props", ["crate", "shipping crate"], 0.8, props.crate),
    ("treasure chest", "props", ["treasure chest", "chest", "loot chest"], 0.8, props.treasure_chest),
    ("sword", "props", ["sword", "blade"], 1.0, props.sword),
    ("shield", "props", ["shield"], 0.8, props.shield),
    ("hammer", "props", ["hammer"], 0.5, props.hammer),
    ("axe", "props", ["axe", "battle axe"], 0.7, props.axe),
    # primitives
    ("cube", "primitives", ["cube", "block"], 1.0, primitives.cube),
    ("sphere", "primitives", ["sphere", "ball", "orb"], 1.0, primitives.sphere_),
    ("cylinder", "primitives", ["cylinder"], 1.0, primitives.cylinder_),
    ("cone", "primitives", ["cone"], 1.0, primitives.cone_),
    ("torus", "primitives", ["torus", "ring", "donut"], 1.0, primitives.torus_),
    ("pyramid", "primitives", ["pyramid"], 1.0, primitives.pyramid),
]

CATEGORIES: dict[str, Category] = {
    name: Category(name, family, synonyms, size, builder)  # type: ignore[arg-type]
    for name, family, synonyms, size, builder in _SPECS
}


def category_names() -> list[str]:
    """All category names, sorted; a name's index is its class label."""
    return sorted(CATEGORIES)


def category_index(name: str) -> int:
    return category_names().index(name)


def draft_shape(category: str, seed: int) -> tuple[Draft, np.random.Generator]:
    if category not in CATEGORIES:
        raise KeyError(f"unknown category {category!r}; known: {', '.join(category_names())}")
    rng = np.random.default_rng([int(seed), DATASET_VERSION, category_index(category)])
    return CATEGORIES[category].builder(rng), rng


def generate_shape(category: str, seed: int, n_captions: int = 5) -> Shape:
    """Build one shape of ``category`` deterministically from ``seed``, normalised to the convention."""
    draft, rng = draft_shape(category, seed)
    size = normalise_parts(draft.parts)
    main = _main_part(draft)
    facts = draft.facts
    synonyms = CATEGORIES[category].synonyms
    nouns = [f"{kind} {syn}" for syn in synonyms for kind in facts.kinds] + (synonyms if facts.kinds else [])
    captions = make_captions(
        nouns or CATEGORIES[category].synonyms,
        main.color_name,
        main.material,
        facts.adjectives,
        facts.styles,
        facts.phrases,
        rng,
        n_captions,
    )
    return Shape(category, int(seed), draft.params, draft.parts, size, captions)


def _main_part(draft: Draft):
    for p in draft.parts:
        if p.name == draft.facts.main:
            return p
    raise ValueError(f"main part {draft.facts.main!r} not among the parts")


__all__ = ["CATEGORIES", "Category", "Facts", "category_index", "category_names", "draft_shape", "generate_shape"]
