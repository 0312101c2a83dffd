"""Primitives: cube, sphere, cylinder, cone, torus, pyramid, each with a size, material, colour and pattern."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gen3d.data.appearance import Texture, grain
from gen3d.data.geometry import Solid, box, cone, cylinder, lathe, rot_y, sphere, torus
from gen3d.data.procedural.base import Draft, Facts, Kit, band

_MATERIALS = ["plastic", "metal", "wood", "stone", "glass", "ceramic"]


def _primitive(rng: np.random.Generator, make: Callable[[Kit, float], tuple[Solid, list[str]]]) -> Draft:
    k = Kit(rng)
    s = k.uniform("size", 0.1, 2.0)
    m = k.choice("material", _MATERIALS)
    c = k.color("color", m)
    pattern = k.choice("pattern", ["plain", "plain", "stripes", "checker"]) if m != "wood" else "grain"
    period = k.uniform("pattern_period", 0.08, 0.25) * s
    tex: Texture | None = None
    phrases: list[str] = []
    if pattern == "grain":
        tex = grain(1, period * 0.2)
    elif pattern != "plain":
        tex = Texture(pattern, int(k.integer("pattern_axis", 0, 1)), period, k.color("pattern_color", "paint", (c,)))
        phrases = (
            [f"with {tex.color2} stripes"] if pattern == "stripes" else [f"with a {c} and {tex.color2} checker pattern"]
        )
    solid, adjs = make(k, s)
    k.add("body", solid, m, c, tex)
    return k.draft(Facts("body", adjs + band(s, 0.1, 2.0, "small", "large"), [], phrases))


def cube(rng: np.random.Generator) -> Draft:
    def make(k: Kit, s: float) -> tuple[Solid, list[str]]:
        yaw = k.uniform("yaw", 0.0, np.pi / 2)
        return box((s, s, s), at=(0, s / 2, 0), rot=rot_y(yaw)), []

    return _primitive(rng, make)


def sphere_(rng: np.random.Generator) -> Draft:
    def make(k: Kit, s: float) -> tuple[Solid, list[str]]:
        seg = k.choice("segments", [6, 8, 12, 20, 28])
        return sphere(s / 2, at=(0, s / 2, 0), rings=max(seg // 2, 3), sections=seg), ["low-poly"] * (seg <= 8)

    return _primitive(rng, make)


def cylinder_(rng: np.random.Generator) -> Draft:
    def make(k: Kit, s: float) -> tuple[Solid, list[str]]:
        hr = k.uniform("height_ratio", 0.3, 2.5)
        seg = k.choice("segments", [8, 16, 28])
        r = s / 2 if hr <= 1 else s / (2 * hr)
        return cylinder(r, 2 * r * hr, seg), (["tall"] if hr > 1.8 else ["flat"] if hr < 0.5 else [])

    return _primitive(rng, make)


def cone_(rng: np.random.Generator) -> Draft:
    def make(k: Kit, s: float) -> tuple[Solid, list[str]]:
        hr = k.uniform("height_ratio", 0.5, 2.5)
        seg = k.choice("segments", [8, 16, 28])
        r = s / 2 if hr <= 1 else s / (2 * hr)
        return cone(r, 2 * r * hr, seg), (["tall"] if hr > 1.8 else ["flat"] if hr < 0.7 else [])

    return _primitive(rng, make)


def torus_(rng: np.random.Generator) -> Draft:
    def make(k: Kit, s: float) -> tuple[Solid, list[str]]:
        tr = k.uniform("tube_ratio", 0.12, 0.45)
        upright = k.flag("upright", 0.4)
        R = s / 2 / (1 + tr)
        sol = torus(R, R * tr, 28, 12, at=(0, R * tr, 0))
        if upright:
            sol = torus(R, R * tr, 28, 12, rot=np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]]), at=(0, s / 2, 0))
        return sol, (["thick"] if tr > 0.35 else ["thin"] if tr < 0.18 else []) + (["upright"] if upright else [])

    return _primitive(rng, make)


def pyramid(rng: np.random.Generator) -> Draft:
    def make(k: Kit, s: float) -> tuple[Solid, list[str]]:
        sides = k.choice("base_sides", [3, 4, 5, 6])
        hr = k.uniform("height_ratio", 0.5, 1.6)
        r = s / 2
        sol = lathe([(r, 0.0), (0.0, s * hr)], sides, rot=rot_y(np.pi / sides))
        word = {3: "triangular", 4: "square", 5: "pentagonal", 6: "hexagonal"}[sides]
        return sol, [word] + (["tall"] if hr > 1.3 else [])

    return _primitive(rng, make)
