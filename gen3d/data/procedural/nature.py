"""Nature: tree, pine tree, rock, mushroom, cactus (metres, Y up, front +Z)."""

from __future__ import annotations

import numpy as np

from gen3d.data.appearance import Texture
from gen3d.data.geometry import cone, cylinder, hemisphere, lathe, sphere, tube
from gen3d.data.procedural.base import Draft, Facts, Kit, band, convex_hull, number_word

_BARK = Texture("grain", 1, 0.03)


def tree(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    h = k.uniform("height", 3.0, 12.0)
    tr = k.uniform("trunk_ratio", 0.025, 0.05) * h
    cr = k.uniform("canopy_ratio", 0.25, 0.45) * h
    blobs = k.integer("canopy_blobs", 1, 5)
    oval = k.uniform("canopy_stretch", 0.8, 1.5)
    season = k.choice("season", ["summer", "autumn"])
    branches = k.integer("branch_count", 0, 3)
    lc = k.color("leaf_color", "plant") if season == "summer" else k.choice("leaf_color", ["orange", "yellow", "red"])
    bc = k.color("bark_color", "wood")
    ch = h - cr * oval
    k.add("trunk", cylinder(tr, ch + cr * 0.3, 12, radius_top=tr * 0.6), "wood", bc, _BARK)
    for i in range(branches):
        a = 2 * np.pi * i / max(branches, 1) + 0.5
        d = np.array([np.cos(a), 1.2, np.sin(a)])
        p0 = np.array([0, ch * 0.75, 0])
        k.add(
            "branch",
            tube([p0, p0 + d * cr * 0.35, p0 + d * cr * 0.6], [tr * 0.5, tr * 0.35, tr * 0.25], 8),
            "wood",
            bc,
            _BARK,
        )
    centre = np.array([0.0, ch + cr * oval * 0.7, 0.0])
    k.add("canopy", sphere((cr, cr * oval, cr), at=centre, rings=8, sections=16), "plant", lc)
    for i in range(blobs - 1):
        a = 2 * np.pi * i / max(blobs - 1, 1) + float(rng.uniform(0, 1))
        off = np.array([np.cos(a) * cr * 0.6, float(rng.uniform(-0.3, 0.2)) * cr, np.sin(a) * cr * 0.6])
        k.add("canopy", sphere(cr * 0.6, at=centre + off, rings=6, sections=12), "plant", lc)
    phrases = [f"with {lc} leaves", f"with a {bc} trunk"]
    adjs = band(h, 3.0, 12.0, "small", "tall") + (["leafy"] if blobs >= 3 else []) + band(oval, 0.8, 1.5, "round", None)
    return k.draft(Facts("canopy", adjs, ["autumn"] if season == "autumn" else [], phrases))


def pine_tree(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    h = k.uniform("height", 3.0, 20.0)
    tiers = k.integer("tiers", 2, 5)
    wr = k.uniform("width_ratio", 0.25, 0.5)
    th = k.uniform("trunk_height_ratio", 0.1, 0.25) * h
    overlap = k.uniform("tier_overlap", 0.3, 0.6)
    c = k.color("needle_color", "plant")
    bc = k.color("bark_color", "wood")
    k.add("trunk", cylinder(h * 0.03, th + h * 0.1, 10), "wood", bc, _BARK)
    span = h - th
    tier_h = span / (tiers * (1 - overlap) + overlap)
    for i in range(tiers):
        y = th + i * tier_h * (1 - overlap)
        r = wr * h * 0.5 * (1 - 0.6 * i / tiers)
        k.add("tier", cone(r, tier_h, 16, at=(0, y, 0)), "plant", c)
    phrases = [f"with {number_word(tiers)} tiers", f"with {c} needles"]
    adjs = band(h, 3.0, 20.0, "small", "tall") + band(wr, 0.25, 0.5, "slender", "wide")
    return k.draft(Facts("tier", adjs, [], phrases))


def rock(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    s = k.uniform("size", 0.3, 2.5)
    sx, sz = k.uniform("stretch_x", 0.8, 1.6), k.uniform("stretch_z", 0.7, 1.3)
    fy = k.uniform("flatness", 0.35, 1.0)
    rough = k.uniform("roughness", 0.05, 0.3)
    n = k.integer("facet_points", 14, 40)
    c = k.color("color", "stone")
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    pts = d * (1 + rough * rng.uniform(-1, 1, (n, 1))) * np.array([sx, fy, sz]) * s / 2
    k.add("rock", convex_hull(pts), "stone", c)
    adjs = (["flat"] if fy < 0.55 else ["round"] if fy > 0.85 and sx < 1.1 else []) + band(
        s, 0.3, 2.5, "small", "large"
    )
    adjs += ["jagged"] if rough > 0.22 and n < 22 else []
    return k.draft(Facts("rock", adjs, [], []))


def mushroom(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    h = k.uniform("stem_height", 0.04, 0.15)
    sr = k.uniform("stem_radius_ratio", 0.1, 0.2) * h
    cr = k.uniform("cap_ratio", 0.35, 0.8) * h
    cap = k.choice("cap_shape", ["dome", "flat", "cone"])
    c = k.choice("cap_color", ["red", "brown", "tan", "orange", "beige", "white"])
    spots = k.flag("spots", 0.5 if c in ("red", "orange", "brown") else 0.0)
    stc = k.choice("stem_color", ["white", "cream", "beige"])
    k.add("stem", lathe([(sr * 1.3, 0), (sr, h * 0.5), (sr * 0.85, h)], 14), "plant", stc)
    y = h * 0.95
    if cap == "cone":
        solid = cone(cr, cr * 1.1, 16, at=(0, y, 0))
    else:
        solid = hemisphere(cr, at=(0, y, 0), scale_y=0.75 if cap == "dome" else 0.35)

    def surf(a: float, t: float) -> np.ndarray:
        """A point on the cap surface at azimuth ``a`` and elevation parameter ``t`` in (0, pi/2)."""
        if cap == "cone":
            rr, yy = cr * (1 - t / (np.pi / 2)), 1.1 * cr * t / (np.pi / 2)
        else:
            rr, yy = cr * np.cos(t), (0.75 if cap == "dome" else 0.35) * cr * np.sin(t)
        return np.array([rr * np.cos(a), y + yy, rr * np.sin(a)])

    k.add("cap", solid, "plant", c)
    if spots:
        for i in range(7):
            a, t = 2 * np.pi * i / 7 + 0.3, 0.35 + 0.5 * ((i * 3) % 7) / 7
            k.add("spot", sphere(cr * 0.12, at=surf(a, t), rings=5, sections=8), "plant", "white")
    phrases = [f"with a {c} cap"] + (["with white spots"] if spots else []) + [f"with a {stc} stem"]
    adjs = [{"dome": "round", "flat": "flat", "cone": "pointed"}[cap]] + band(h, 0.04, 0.15, "small", "tall")
    return k.draft(Facts("cap", adjs, [], phrases))


def cactus(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    h = k.uniform("height", 0.3, 3.0)
    r = k.uniform("radius_ratio", 0.07, 0.14) * h
    arms = k.integer("arm_count", 0, 3)
    pot = k.flag("pot", 0.5)
    flower = k.flag("flower", 0.3)
    c = k.color("color", "plant")
    y0 = 0.0
    if pot:
        pc = k.choice("pot_color", ["orange", "brown", "red", "white"])
        ph = r * 2.2
        k.add("pot", cylinder(r * 1.7, ph, 20, radius_top=r * 2.1), "ceramic", pc)
        y0 = ph * 0.85
    t = np.linspace(0, np.pi / 2, 5)
    prof = np.vstack([[[r, 0.0]], np.c_[r * np.cos(t), h - r + r * np.sin(t)]])
    prof[-1, 0] = 0.0
    k.add("stem", lathe(prof, 16, at=(0, y0, 0)), "plant", c)
    for i in range(arms):
        a = 2 * np.pi * i / max(arms, 1) + 0.4
        ya = y0 + h * (0.3 + 0.15 * i)
        ar = r * 0.6
        reach = r + ar * 1.6
        up = h * 0.22
        dirv = np.array([np.cos(a), 0, np.sin(a)])
        path = [
            np.array([0, ya, 0]) + dirv * r * 0.3,
            np.array([0, ya, 0]) + dirv * reach * 0.7,
            np.array([0, ya + ar * 0.4, 0]) + dirv * reach,
            np.array([0, ya + up, 0]) + dirv * reach,
        ]
        k.add("arm", tube(path, ar, 10), "plant", c)
        k.add("arm tip", sphere(ar, at=path[-1], rings=6, sections=10), "plant", c)
    if flower:
        k.add(
            "flower",
            sphere((r * 0.45, r * 0.2, r * 0.45), at=(0, y0 + h - r * 0.05, 0), rings=6, sections=10),
            "plant",
            "pink",
        )
    phrases = [f"with {number_word(arms)} arm{'s' if arms > 1 else ''}"] if arms else ["without arms"]
    phrases += ([f"in a {pc} pot"] if pot else []) + (["with a pink flower"] if flower else [])
    return k.draft(Facts("stem", band(h, 0.3, 3.0, "small", "tall"), [], phrases))
