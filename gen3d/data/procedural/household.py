"""Household objects: mug, bowl, vase, bottle, lamp, teapot, candle (metres, Y up, front +Z)."""

from __future__ import annotations

import numpy as np

from gen3d.data.appearance import Texture
from gen3d.data.geometry import arc, cylinder, hemisphere, lathe, rot_y, sphere, tube
from gen3d.data.procedural.base import Draft, Facts, Kit, band, mat


def _pattern(k: Kit, base: str, palette: str, kinds: tuple[str, ...] = ("plain", "stripes")) -> Texture | None:
    kind = k.choice("pattern", list(kinds))
    if kind == "plain":
        return None
    c2 = k.color("pattern_color", palette, exclude=(base,))
    return Texture(kind, axis=1, period_m=k.uniform("pattern_period", 0.012, 0.03), color2=c2)


def _pattern_phrase(tex: Texture | None) -> list[str]:
    if tex is None:
        return []
    word = {"stripes": "stripes", "checker": "a checkered pattern"}[tex.kind]
    return [f"with {tex.color2} {word}"] if tex.kind == "stripes" else [f"with {word}"]


def _cup_profile(r: float, h: float, wall: float, bottom: float, flare: float = 1.0, n: int = 6) -> np.ndarray:
    """Open-topped hollow vessel profile (radius, y) from the bottom pole to the inner-bottom pole."""
    ys = np.linspace(0, h, n)
    rs = r * (1 + (flare - 1) * (ys / h))
    outer = np.c_[rs, ys]
    inner = np.c_[np.maximum(rs - wall, wall), ys][::-1]
    inner = inner[inner[:, 1] >= bottom]
    inner = np.vstack([inner, [[max(rs[0] - wall, wall), bottom]]]) if inner[-1, 1] > bottom else inner
    return np.vstack([[[0.0, 0.0]], outer, inner, [[0.0, bottom]]])


def mug(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    r, h = k.uniform("radius", 0.035, 0.055), k.uniform("height", 0.07, 0.13)
    wall = k.uniform("wall", 0.004, 0.008)
    flare = k.uniform("flare", 0.85, 1.25)
    hs = k.choice("handle_shape", ["round", "square", "none"])
    m = k.choice("material", ["ceramic", "ceramic", "metal", "glass", "plastic"])
    c = k.color("color", m)
    tex = _pattern(k, c, "ceramic") if m == "ceramic" else None
    k.add("body", lathe(_cup_profile(r, h, wall, 0.008, flare), 28), m, c, tex)
    if hs != "none":
        x0 = r * (1 + (flare - 1) * 0.5) - wall
        if hs == "round":
            path = arc((x0, h * 0.5, 0), h * 0.3, -np.pi / 2 * 0.95, np.pi / 2 * 0.95, 9)
            path[:, 0] = x0 + (path[:, 0] - x0) * 1.1
        else:
            hw = h * 0.28
            path = np.array(
                [
                    [x0 - 0.002, h / 2 - hw, 0],
                    [x0 + 0.03, h / 2 - hw, 0],
                    [x0 + 0.035, h / 2, 0],
                    [x0 + 0.03, h / 2 + hw, 0],
                    [x0 - 0.002, h / 2 + hw, 0],
                ]
            )
        k.add("handle", tube(path, 0.006, 8), m, c)
    phrases = ["with a handle" if hs == "round" else "with a square handle"] if hs != "none" else ["without a handle"]
    phrases += _pattern_phrase(tex)
    adjs = band(h, 0.07, 0.13, "short", "tall") + band(flare, 0.85, 1.25, None, "flared")
    return k.draft(Facts("body", adjs, [], phrases))


def bowl(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    r = k.uniform("radius", 0.06, 0.16)
    depth = k.uniform("depth_ratio", 0.35, 0.8) * r
    wall = k.uniform("wall", 0.004, 0.01)
    foot = k.uniform("foot_ratio", 0.3, 0.6)
    curve = k.uniform("curvature", 0.4, 1.0)
    m = k.choice("material", ["ceramic", "wood", "glass", "metal", "plastic"])
    c = k.color("color", m)
    tex = _pattern(k, c, "ceramic") if m == "ceramic" else (Texture("grain", 1, 0.01) if m == "wood" else None)
    t = np.linspace(0, 1, 8)
    rs = r * (foot + (1 - foot) * t**curve)
    ys = depth * t
    outer = np.c_[rs, ys]
    inner = np.c_[np.maximum(rs - wall, 0.002), ys][::-1][:-1]
    prof = np.vstack([[[0.0, 0.0]], outer, inner, [[0.0, wall * 1.5]]])
    k.add("body", lathe(prof, 32), m, c, tex)
    adjs = band(depth / r, 0.35, 0.8, "shallow", "deep") + band(r, 0.06, 0.16, "small", "large")
    return k.draft(
        Facts(
            "body",
            adjs,
            ["rustic"] if m == "wood" else [],
            _pattern_phrase(tex) if tex is not None and tex.kind != "grain" else [],
        )
    )


def vase(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    h = k.uniform("height", 0.2, 0.5)
    rb = k.uniform("base_radius", 0.04, 0.08)
    belly = k.uniform("belly_radius", 0.05, 0.14)
    bpos = k.uniform("belly_position", 0.25, 0.6)
    neck = k.uniform("neck_radius", 0.025, 0.06)
    lip = k.uniform("lip_flare", 1.0, 1.5)
    m = k.choice("material", ["ceramic", "glass", "stone", "metal"])
    c = k.color("color", m)
    tex = _pattern(k, c, "ceramic") if m == "ceramic" else None
    ys = np.array([0, bpos * 0.5, bpos, (1 + bpos) / 2, 0.85, 1.0]) * h
    rs = np.array([rb, (rb + belly) / 2 * 1.05, belly, (belly + neck) / 2, neck, neck * lip])
    wall = 0.006
    inner_d = h * 0.5
    prof = np.vstack(
        [
            [[0, 0]],
            np.c_[rs, ys],
            [[neck * lip - wall, h], [neck - wall, h * 0.85], [max(neck - wall, 0.01), h - inner_d], [0, h - inner_d]],
        ]
    )
    k.add("body", lathe(prof, 32), m, c, tex)
    adjs = band(h, 0.2, 0.5, "short", "tall") + band(belly / h, 0.1, 0.6, "slender", "round")
    return k.draft(Facts("body", adjs, ["old"] if m == "stone" else [], _pattern_phrase(tex)))


def bottle(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    h = k.uniform("height", 0.15, 0.35)
    r = k.uniform("radius", 0.025, 0.05)
    sh = k.uniform("shoulder_height", 0.55, 0.8)
    nr = k.uniform("neck_radius", 0.01, 0.018)
    sq = k.choice("cross_section", ["round", "square"])
    m = k.choice("material", ["glass", "plastic"])
    c = k.color("color", m)
    cap = k.flag("cap", 0.7)
    label = k.flag("label", 0.5)
    sections = 4 if sq == "square" else 24
    prof = [(0, 0), (r, 0), (r, h * sh), (nr * 1.1, h * (sh + (1 - sh) * 0.45)), (nr, h * 0.95), (0, h * 0.95)]
    turn = rot_y(np.pi / 4) if sq == "square" else None
    body = lathe(prof, sections, rot=turn)
    k.add("body", body, m, c)
    phrases = []
    if label:
        lc = k.color("label_color", "plastic", exclude=(c,))
        lab = lathe([(r * 1.02, h * 0.2), (r * 1.02, h * 0.2 + h * sh * 0.4)], sections, rot=turn)
        k.add("label", lab, "paper", lc)
        phrases.append(f"with a {lc} label")
    if cap:
        cc = k.color("cap_color", "plastic")
        k.add("cap", cylinder(nr * 1.25, h * 0.07, 16, at=(0, h * 0.93, 0)), "plastic", cc)
        phrases.append(f"with a {cc} cap")
    adjs = [sq] * (sq == "square") + band(h, 0.15, 0.35, "small", "tall")
    return k.draft(Facts("body", adjs, [], phrases))


def lamp(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    kind = k.choice("lamp_type", ["table", "floor"])
    h = k.uniform("height", 0.35, 0.7) if kind == "table" else k.uniform("height", 1.3, 1.8)
    br = k.uniform("base_radius", 0.07, 0.14) * (1.6 if kind == "floor" else 1.0)
    shade = k.choice("shade_shape", ["cone", "drum", "dome"])
    sr = k.uniform("shade_radius", 0.1, 0.2) * (1.3 if kind == "floor" else 1.0)
    bm = k.choice("base_material", ["metal", "ceramic", "wood"])
    bc = k.color("base_color", bm)
    sc = k.color("shade_color", "fabric")
    k.add("base", cylinder(br, 0.03, 24, radius_top=br * 0.85), bm, bc)
    sh_h = sr * 0.9
    k.add("stem", cylinder(0.012 if kind == "table" else 0.015, h - sh_h * 0.6, 12, at=(0, 0.02, 0)), bm, bc)
    y0 = h - sh_h
    if shade == "cone":
        solid = cylinder(sr, sh_h, 24, at=(0, y0, 0), radius_top=sr * 0.45)
    elif shade == "drum":
        solid = cylinder(sr * 0.85, sh_h, 24, at=(0, y0, 0))
    else:
        solid = hemisphere(sr, at=(0, y0, 0), scale_y=sh_h / sr)
    k.add(
        "shade",
        solid,
        "fabric" if shade != "dome" else "glass",
        sc if shade != "dome" else k.color("dome_color", "glass"),
    )
    sm = "fabric" if shade != "dome" else "glass"
    phrases = [f"with a {mat(sm)} shade", f"with a {mat(bm)} base"]
    phrases += {"cone": ["with a conical shade"], "drum": ["with a drum shade"], "dome": ["with a dome shade"]}[shade]
    return k.draft(
        Facts(
            "base" if shade == "dome" else "shade",
            band(sr, 0.1, 0.2, "small", "wide"),
            ["modern"] if bm == "metal" and shade != "cone" else [],
            phrases,
            [kind],
        )
    )


def teapot(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    r = k.uniform("body_radius", 0.06, 0.1)
    hr = k.uniform("height_ratio", 0.7, 1.3)
    sl = k.uniform("spout_length", 0.05, 0.1)
    sa = k.uniform("spout_angle", 0.5, 1.0)
    knob = k.uniform("knob_size", 0.008, 0.018)
    m = k.choice("material", ["ceramic", "metal"])
    c = k.color("color", m)
    hh = r * hr
    t = np.linspace(-np.pi / 2, np.pi / 2, 9)
    prof = np.c_[np.cos(t) * r, (np.sin(t) + 1) * hh]
    prof[0] = (r * 0.55, 0.0)
    prof[-1] = (r * 0.45, 2 * hh * 0.97)
    k.add("body", lathe(prof, 28), m, c)
    k.add("lid", hemisphere(r * 0.5, at=(0, 2 * hh * 0.95, 0), scale_y=0.5), m, c)
    k.add("knob", sphere(knob, at=(0, 2 * hh * 0.95 + r * 0.25, 0)), m, c)
    p0 = np.array([r * 0.75, hh * 0.7, 0.0])
    d = np.array([np.cos(sa), np.sin(sa), 0.0])
    spout = np.array([p0 - d * 0.02, p0 + d * sl * 0.5, p0 + d * sl])
    k.add("spout", tube(spout, [0.014, 0.01, 0.007], 10), m, c)
    path = arc((-r * 0.95, hh, 0), hh * 0.55, np.pi / 2 * 0.9, np.pi * 1.5 * 0.97, 9)
    path[:, 0] = -r * 0.85 + (path[:, 0] + r * 0.95) * 1.3
    k.add("handle", tube(path, 0.007, 8), m, c)
    adjs = band(hr, 0.7, 1.3, "round", "tall") + band(r, 0.06, 0.1, "small", "large")
    phrases = [f"with a {w} spout" for w in band(sl, 0.05, 0.1, "short", "long")] + ["with a lid"]
    return k.draft(Facts("body", adjs, ["classic"] if m == "ceramic" else ["old"], phrases))


def candle(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    r = k.uniform("radius", 0.01, 0.04)
    h = k.uniform("height", 0.06, 0.25)
    holder = k.choice("holder", ["none", "plate", "candlestick"])
    c = k.color("wax_color", "wax")
    taper = k.uniform("taper", 0.75, 1.0)
    melted = k.flag("melted_top", 0.5)
    y0 = 0.0
    phrases: list[str] = []
    if holder != "none":
        hm = k.choice("holder_material", ["metal", "ceramic"])
        hc = k.color("holder_color", hm)
        k.add("plate", cylinder(r * 2.5, 0.012, 24, radius_top=r * 2.3), hm, hc)
        y0 = 0.012
        if holder == "candlestick":
            k.add("stick", cylinder(r * 0.7, 0.12, 16, at=(0, 0.01, 0), radius_top=r * 0.6), hm, hc)
            k.add("cup", cylinder(r * 1.3, 0.02, 16, at=(0, 0.125, 0)), hm, hc)
            y0 = 0.14
        phrases.append(f"on a {mat(hm)} {'plate' if holder == 'plate' else 'candlestick'}")
    top = r * taper
    prof = [(r, 0), (top, h)] if not melted else [(r, 0), (top, h - 0.005), (top * 0.85, h)]
    k.add("wax", lathe(prof, 20, at=(0, y0, 0)), "wax", c)
    k.add("wick", cylinder(0.0015, 0.012, 6, at=(0, y0 + h - 0.002, 0)), "fabric", "black")
    adjs = band(h, 0.06, 0.25, "short", "tall") + band(r, 0.01, 0.04, "thin", "thick")
    return k.draft(Facts("wax", adjs, [], phrases))
