"""Props: barrel, crate, treasure chest, sword, shield, hammer, axe (metres, Y up, front +Z)."""

from __future__ import annotations

import numpy as np

from gen3d.data.appearance import Texture, grain
from gen3d.data.geometry import box, cylinder, extrude, hemisphere, lathe, lathe_loop, rot_x, rot_z, sphere, torus, tube
from gen3d.data.procedural.base import Draft, Facts, Kit, band, convex_hull, mat, number_word
from gen3d.data.procedural.vehicles import side_extrude


def barrel(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    h = k.uniform("height", 0.6, 1.2)
    r = k.uniform("radius_ratio", 0.3, 0.45) * h
    bulge = k.uniform("bulge", 0.05, 0.2)
    hoops = k.integer("hoop_count", 2, 4)
    hw = k.uniform("hoop_width", 0.02, 0.05)
    m = k.choice("material", ["wood", "wood", "metal", "plastic"])
    c = k.color("color", m)
    hc = k.color("hoop_color", "metal")
    ys = np.linspace(0, h, 9)

    def rad(y: float | np.ndarray) -> float | np.ndarray:
        return r * (1 + bulge * np.sin(np.pi * y / h))

    k.add("body", lathe(np.c_[rad(ys), ys], 24), m, c, grain(1, 0.02) if m == "wood" else None)
    if m != "plastic":
        for y in np.linspace(h * 0.1, h * 0.9, hoops):
            ri = rad(y) * 0.97
            k.add(
                "hoop",
                lathe_loop(
                    [(ri, y - hw / 2), (rad(y) + 0.008, y - hw / 2), (rad(y) + 0.008, y + hw / 2), (ri, y + hw / 2)], 24
                ),
                "metal",
                hc,
            )
    phrases = [f"with {number_word(hoops)} {hc} metal hoops"] if m != "plastic" else []
    adjs = band(bulge, 0.05, 0.2, "straight", "round") + band(h, 0.6, 1.2, "small", "large")
    return k.draft(Facts("body", adjs, ["rustic", "old"] if m == "wood" else [], phrases))


def crate(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    s = k.uniform("size", 0.4, 1.2)
    hr, dr = k.uniform("height_ratio", 0.6, 1.2), k.uniform("depth_ratio", 0.7, 1.2)
    fw = k.uniform("frame_width", 0.06, 0.12) * s
    braces = k.flag("braces", 0.5)
    planks = k.integer("plank_count", 2, 5)
    m = k.choice("material", ["wood", "wood", "painted wood", "metal", "plastic"])
    c = k.color("color", m)
    w, h, d = s, s * hr, s * dr
    tex = Texture("stripes", 1, h / planks, color2=k.color("plank_color", "wood", (c,))) if m == "wood" else None
    k.add("box", box((w - fw * 0.5, h - fw * 0.5, d - fw * 0.5), at=(0, h / 2, 0)), m, c, tex)
    fc = k.color("frame_color", m)
    for ax in range(3):
        size = [w, h, d]
        for a in (-1, 1):
            for b in (-1, 1):
                ext = [fw, fw, fw]
                ext[ax] = size[ax]
                pos = [0.0, h / 2, 0.0]
                o = [i for i in range(3) if i != ax]
                pos[o[0]] += a * (size[o[0]] / 2 - fw / 2)
                pos[o[1]] += b * (size[o[1]] / 2 - fw / 2)
                k.add("frame", box(ext, at=pos), m, fc, grain(ax, 0.015) if m == "wood" else None)
    if braces:
        diag = np.hypot(w - fw, h - fw)
        ang = np.arctan2(h - fw, w - fw)
        for z in (-d / 2, d / 2):
            k.add("brace", box((diag, fw * 0.8, fw * 0.6), at=(0, h / 2, z), rot=rot_z(ang)), m, fc)
    phrases = [f"with a {fc} frame"] + (["with diagonal braces"] if braces else [])
    phrases += [f"with {c} and {tex.color2} planks"] if tex is not None else []
    adjs = band(s, 0.4, 1.2, "small", "large") + (["square"] if abs(hr - 1) < 0.1 and abs(dr - 1) < 0.1 else [])
    return k.draft(Facts("box", adjs, ["rustic"] if m == "wood" else [], phrases))


def treasure_chest(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    w = k.uniform("width", 0.5, 1.1)
    d = k.uniform("depth_ratio", 0.5, 0.75) * w
    h = k.uniform("height_ratio", 0.35, 0.6) * w
    lid = k.choice("lid", ["round", "flat"])
    bands = k.integer("band_count", 2, 4)
    m = k.choice("material", ["wood", "wood", "painted wood"])
    c = k.color("color", m)
    mc = k.choice("metal_color", ["gold", "silver", "dark grey", "black"])
    tex = grain(0, 0.02) if m == "wood" else None
    k.add("body", box((w, h, d), at=(0, h / 2, 0)), m, c, tex)
    if lid == "round":
        t = np.linspace(0, np.pi, 10)
        semi = np.c_[d / 2 * np.cos(t), h + d / 2 * np.sin(t) * 0.8]
        k.add("lid", side_extrude([tuple(p) for p in semi], w), m, c, tex)
    else:
        k.add("lid", box((w * 1.03, h * 0.25, d * 1.04), at=(0, h * 1.12, 0)), m, c, tex)
    for x in np.linspace(-w / 2 + 0.05, w / 2 - 0.05, bands):
        k.add("band", box((0.035, h * 1.01, d * 1.02), at=(x, h / 2, 0)), "metal", mc)
        if lid == "round":
            t = np.linspace(0, np.pi, 10)
            semi = np.c_[(d / 2 + 0.01) * np.cos(t), h + (d / 2 + 0.01) * np.sin(t) * 0.8 + 0.005]
            k.add("band", side_extrude([tuple(p) for p in semi], 0.035, x=x), "metal", mc)
    lock = k.flag("lock", 0.7)
    if lock:
        k.add("lock", box((0.07, 0.09, 0.04), at=(0, h * 0.95, d / 2 + 0.015)), "metal", mc)
    phrases = [f"with {mc} metal bands"] + (["with a lock"] if lock else []) + [f"with a {lid} lid"]
    return k.draft(Facts("body", band(w, 0.5, 1.1, "small", "large"), ["old"], phrases))


def sword(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    L = k.uniform("blade_length", 0.5, 1.0)
    bw = k.uniform("blade_width", 0.03, 0.08)
    style = k.choice("blade_style", ["straight", "tapered", "leaf"])
    gw = k.uniform("guard_width", 0.12, 0.28)
    gl = k.uniform("grip_length", 0.1, 0.25)
    ps = k.uniform("pommel_size", 0.018, 0.035)
    mc = k.choice("guard_color", ["gold", "silver", "dark grey", "black"])
    gc = k.color("grip_color", "leather")
    y0 = gl + 0.03
    t = bw * 0.12
    if style == "straight":
        outline = [(-bw / 2, 0), (bw / 2, 0), (bw / 2, L * 0.88), (0, L), (-bw / 2, L * 0.88)]
    elif style == "tapered":
        outline = [(-bw / 2, 0), (bw / 2, 0), (bw * 0.2, L * 0.9), (0, L), (-bw * 0.2, L * 0.9)]
    else:
        outline = [(-bw * 0.4, 0), (bw * 0.4, 0), (bw * 0.6, L * 0.6), (0, L), (-bw * 0.6, L * 0.6)]
    pts = np.array([[x, y0 + y, z] for x, y in outline for z in (-t / 2, t / 2)])
    k.add("blade", convex_hull(pts), "metal", "silver")
    k.add("guard", box((gw, 0.03, 0.04), at=(0, y0 - 0.015, 0)), "metal", mc)
    k.add("grip", cylinder(0.014, gl + 0.01, 12, at=(0, ps, 0)), "leather", gc)
    k.add("pommel", sphere(ps, at=(0, ps, 0), rings=6, sections=12), "metal", mc)
    phrases = [f"with a {mc} guard", f"with a {gc} leather grip", f"with a {style} blade"]
    adjs = band(L, 0.5, 1.0, "short", "long") + band(bw, 0.03, 0.08, "thin", "broad")
    return k.draft(Facts("blade", adjs, ["medieval"], phrases))


def shield(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    shape = k.choice("shape", ["round", "kite", "heater"])
    s = k.uniform("size", 0.5, 1.1)
    t = k.uniform("thickness", 0.02, 0.05)
    pattern = k.choice("pattern", ["plain", "stripes", "checker"])
    m = k.choice("material", ["wood", "painted wood", "metal"])
    c = k.color("color", m if m != "metal" else "paint")
    rim = k.flag("rim", 0.6)
    mc = k.choice("metal_color", ["silver", "gold", "dark grey"])
    tex = None
    if pattern != "plain":
        tex = Texture(pattern, 0, s / 6, color2=k.color("pattern_color", "paint", exclude=(c,)))
    elif m == "wood":
        tex = grain(1, 0.02)
    if shape == "round":
        k.add("face", cylinder(s / 2, t, 28, at=(0, s / 2, -t / 2), rot=rot_x(np.pi / 2)), m, c, tex)
        if rim:
            k.add("rim", torus(s / 2, t * 0.6, 28, 8, at=(0, s / 2, 0), rot=rot_x(np.pi / 2)), "metal", mc)
        boss = k.flag("boss", 0.6)
        if boss:
            k.add("boss", hemisphere(s * 0.1, at=(0, s / 2, t / 2 - 0.005), rot=rot_x(np.pi / 2)), "metal", mc)
    else:
        n = 8
        a = np.linspace(0, np.pi, n)
        if shape == "kite":
            outline = np.vstack(
                [
                    np.c_[s * 0.35 * np.cos(a), s * 0.8 + s * 0.2 * np.sin(a)],
                    [[-s * 0.3, s * 0.5], [0, 0], [s * 0.3, s * 0.5]],
                ]
            )
        else:
            u = np.linspace(0, 1, 7)
            left = np.c_[-0.45 * s * (1 - u**2), 0.6 * s * (1 - u)]
            right = (left * [-1, 1])[::-1][1:]
            outline = np.vstack([[[0.45 * s, s], [-0.45 * s, s]], left, right])
        k.add("face", extrude(outline, t), m, c, tex)
        if rim:  # a slightly larger, thinner copy behind the face shows as a metal border
            centre = outline.mean(0)
            border = centre + (outline - centre) * (1 + 0.04 / s)
            k.add("rim", extrude(border, t * 0.6, at=(0, 0, -t * 0.3)), "metal", mc)
        k.params["boss"] = False
        boss = False
    phrases = ([f"with {k.params['pattern_color']} stripes"] if pattern == "stripes" else []) + (
        ["with a checkered pattern"] if pattern == "checker" else []
    )
    phrases += ([f"with a {mc} rim"] if rim else []) + (["with a metal boss"] if boss else [])
    adjs = [{"round": "round", "kite": "kite-shaped", "heater": "heater-shaped"}[shape]] + band(
        s, 0.5, 1.1, "small", "large"
    )
    return k.draft(Facts("face", adjs, ["medieval"], phrases))


def hammer(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    L = k.uniform("handle_length", 0.25, 0.9)
    hr = k.uniform("handle_radius", 0.012, 0.022)
    head = k.choice("head_shape", ["box", "round"])
    hl = k.uniform("head_length_ratio", 0.3, 0.6) * L
    hs = k.uniform("head_size_ratio", 0.25, 0.5) * hl
    claw = k.flag("claw", 0.5 if L < 0.5 else 0.0)
    hm = k.choice("handle_material", ["wood", "metal", "rubber"])
    hc = k.color("handle_color", hm if hm != "rubber" else "plastic")
    k.add("handle", cylinder(hr, L, 12), hm, hc, grain(1, 0.01) if hm == "wood" else None)
    y = L - hs / 2
    x0 = -hl / 2 if not claw else -hl * 0.3
    if head == "box":
        k.add(
            "head",
            box((hl if not claw else hl * 0.6, hs, hs), at=(x0 + (hl if not claw else hl * 0.6) / 2, y, 0)),
            "metal",
            "dark grey",
        )
    else:
        w = hl if not claw else hl * 0.6
        k.add("head", cylinder(hs / 2, w, 16, at=(x0 + w, y, 0), rot=rot_z(np.pi / 2)), "metal", "dark grey")
    if claw:
        pts = [[x0 + 0.01, y + dy, dz] for dy in (-hs / 2, hs / 2) for dz in (-hs / 2, hs / 2)]
        pts += [[x0 - hl * 0.4, y - hs * 0.6 + dy, dz] for dy in (0, hs * 0.2) for dz in (-hs * 0.2, hs * 0.2)]
        k.add("claw", convex_hull(np.array(pts)), "metal", "dark grey")
    phrases = [f"with a {mat(hm)} handle"] + (["with a claw"] if claw else [])
    adjs = band(L, 0.25, 0.9, "small", "long")
    return k.draft(Facts("handle", adjs, [], phrases, ["sledge"] if L > 0.7 else []))


def axe(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    L = k.uniform("handle_length", 0.4, 1.0)
    hs = k.uniform("head_size_ratio", 0.3, 0.45) * L
    double = k.flag("double_headed", 0.35)
    flare = k.uniform("blade_flare", 1.2, 2.2)
    bend = k.uniform("handle_bend", 0.0, 0.06)
    hc = k.color("handle_color", "wood")
    mc = k.choice("head_color", ["silver", "grey", "dark grey"])
    yy = np.linspace(0, L, 6)
    path = np.c_[bend * np.sin(np.pi * yy / L), yy, np.zeros(6)]
    k.add("handle", tube(path, 0.018, 10), "wood", hc, grain(1, 0.01))
    yh = L - hs * 0.55
    for side in (-1, 1) if double else (1,):
        t = 0.025
        pts = [[0, yh + dy, dz] for dy in (-hs * 0.2, hs * 0.2) for dz in (-t, t)]
        pts += [
            [side * hs * 0.9, yh + dy, dz] for dy in (-hs * 0.25 * flare, hs * 0.25 * flare) for dz in (-0.003, 0.003)
        ]
        k.add("head", convex_hull(np.array(pts)), "metal", mc)
    phrases = [f"with a {hc} wooden handle"] + (["with a double-headed blade"] if double else ["with a single blade"])
    adjs = (["double-bladed"] if double else []) + band(L, 0.4, 1.0, "small", "long")
    return k.draft(Facts("head", adjs, ["rustic"] if bend > 0.03 else [], phrases))
