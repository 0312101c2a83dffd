"""Furniture: chair, armchair, stool, table, desk, bench, sofa, bed, bookshelf, cabinet (metres, Y up, front +Z)."""

from __future__ import annotations

import numpy as np

from gen3d.data.appearance import grain
from gen3d.data.geometry import box, cylinder, sphere, torus
from gen3d.data.procedural.base import Draft, Facts, Kit, band, corners, leg, mat, number_word


def _wood_or(kit: Kit, name: str, options: list[str]) -> tuple[str, str]:
    """Draw a material and a colour from its palette."""
    m = kit.choice(f"{name}_material", options)
    return m, kit.color(f"{name}_color", m)


def _tex(material: str, axis: int = 0):
    return grain(axis) if material == "wood" else None


def chair(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    w, d = k.uniform("seat_width", 0.38, 0.55), k.uniform("seat_depth", 0.38, 0.5)
    sh = k.uniform("seat_height", 0.4, 0.5)
    bh = k.uniform("back_height", 0.25, 0.7)
    style = k.choice("leg_style", ["square", "round", "tapered"])
    lt = k.uniform("leg_thickness", 0.03, 0.055)
    back = k.choice("back_style", ["solid", "slats", "spindles"])
    sm, sc = _wood_or(k, "seat", ["wood", "plastic", "fabric", "leather"])
    lm, lc = _wood_or(k, "leg", ["wood", "metal"])
    t = 0.04
    k.add("seat", box((w, t, d), at=(0, sh - t / 2, 0)), sm, sc, _tex(sm))
    for x, z in corners(w, d, lt / 2 + 0.01):
        k.add("leg", leg(style, lt, sh - t, (x, 0, z)), lm, lc, _tex(lm, 1))
    bz = -d / 2 + 0.02
    if back == "solid":
        k.add("back", box((w, bh, 0.03), at=(0, sh + bh / 2, bz)), sm, sc, _tex(sm))
    else:
        n = k.integer("slat_count", 2, 5) if back == "slats" else k.integer("slat_count", 3, 7)
        for x in (-w / 2 + 0.02, w / 2 - 0.02):
            k.add("back post", box((0.035, bh, 0.035), at=(x, sh + bh / 2, bz)), lm, lc, _tex(lm, 1))
        k.add("back rail", box((w, 0.06, 0.03), at=(0, sh + bh - 0.03, bz)), sm, sc, _tex(sm))
        sw = (w - 0.08) / (2 * n) if back == "slats" else 0.018
        for x in np.linspace(-w / 2 + 0.06, w / 2 - 0.06, n):
            k.add("slat", box((sw, bh - 0.06, 0.02), at=(x, sh + (bh - 0.06) / 2, bz)), sm, sc, _tex(sm, 1))
    phrases = (
        [f"with {mat(lm)} legs"]
        if lm != sm
        else [f"with four {style if style != 'square' else ''} legs".replace("  ", " ")]
    )
    phrases += [f"with a {w_} back" for w_ in band(bh, 0.25, 0.7, "low", "tall")]
    if back != "solid":
        phrases.append("with a slatted back" if back == "slats" else "with a spindle back")
    styles = ["rustic"] if sm == "wood" and lm == "wood" and back == "spindles" else []
    styles += ["modern"] if lm == "metal" and sm in ("plastic", "leather") else []
    return k.draft(Facts("seat", band(w, 0.38, 0.55, "narrow", "wide"), styles, phrases))


def armchair(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    w, d = k.uniform("width", 0.7, 1.0), k.uniform("depth", 0.7, 0.9)
    lh = k.uniform("leg_height", 0.05, 0.2)
    bh = k.uniform("back_height", 0.4, 0.75)
    ah = k.uniform("arm_height", 0.12, 0.3)
    aw = k.uniform("arm_width", 0.08, 0.2)
    style = k.choice("leg_style", ["square", "round", "tapered"])
    um, uc = _wood_or(k, "upholstery", ["fabric", "leather"])
    lm, lc = _wood_or(k, "leg", ["wood", "metal"])
    base_h, cush = 0.2, 0.12
    y0 = lh
    k.add("base", box((w, base_h, d), at=(0, y0 + base_h / 2, 0)), um, uc)
    k.add("cushion", box((w - 2 * aw, cush, d - 0.15), at=(0, y0 + base_h + cush / 2, 0.06)), um, uc)
    top = y0 + base_h
    k.add("back", box((w, bh + cush, 0.15), at=(0, top + (bh + cush) / 2, -d / 2 + 0.075)), um, uc)
    for s in (-1, 1):
        k.add("arm", box((aw, ah + cush, d), at=(s * (w / 2 - aw / 2), top + (ah + cush) / 2, 0)), um, uc)
    for x, z in corners(w, d, 0.06):
        k.add("leg", leg(style, 0.05, lh + 0.01, (x, 0, z)), lm, lc, _tex(lm, 1))
    phrases = [f"with short {mat(lm)} legs" if lh < 0.12 else f"with {mat(lm)} legs"]
    phrases += [f"with {w_} arms" for w_ in band(aw, 0.08, 0.2, "thin", "wide")]
    phrases += [f"with a {w_} back" for w_ in band(bh, 0.4, 0.75, "low", "high")]
    styles = ["modern"] if lm == "metal" else (["classic"] if um == "leather" else [])
    return k.draft(Facts("base", band(w, 0.7, 1.0, None, "wide") + ["comfy"] * (um == "fabric"), styles, phrases))


def stool(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    h = k.uniform("height", 0.42, 0.8)
    shape = k.choice("seat_shape", ["round", "square"])
    r = k.uniform("seat_radius", 0.15, 0.22)
    n = k.integer("leg_count", 3, 4)
    lt = k.uniform("leg_thickness", 0.025, 0.045)
    foot = k.flag("footrest", 0.5)
    sm, sc = _wood_or(k, "seat", ["wood", "plastic", "leather", "metal"])
    lm, lc = _wood_or(k, "leg", ["wood", "metal"])
    t = 0.04
    seat = cylinder(r, t, 24, at=(0, h - t, 0)) if shape == "round" else box((2 * r, t, 2 * r), at=(0, h - t / 2, 0))
    k.add("seat", seat, sm, sc, _tex(sm))
    ang = np.arange(n) * 2 * np.pi / n + (np.pi / 4 if n == 4 else np.pi / 2)
    rr = r * (0.75 if shape == "round" else 0.95)
    for a in ang:
        k.add(
            "leg",
            leg("round" if lm == "metal" else "square", lt, h - t, (rr * np.cos(a), 0, rr * np.sin(a))),
            lm,
            lc,
            _tex(lm, 1),
        )
    if foot:
        k.add("footrest", torus(rr, lt * 0.4, 24, 8, at=(0, h * 0.35, 0)), lm, lc)
    phrases = [f"with {number_word(n)} legs"] + (["with a footrest"] if foot else [])
    if lm != sm:
        phrases.append(f"with {mat(lm)} legs")
    adjs = [shape] + band(h, 0.42, 0.8, "low", "tall")
    return k.draft(Facts("seat", adjs, ["modern"] if lm == "metal" and sm != "wood" else [], phrases))


def table(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    shape = k.choice("top_shape", ["rectangular", "round", "square"])
    w = k.uniform("width", 0.7, 2.0)
    d = w if shape != "rectangular" else k.uniform("depth", 0.5, min(1.0, w * 0.8))
    h = k.uniform("height", 0.4, 0.78)
    t = k.uniform("top_thickness", 0.025, 0.06)
    base = k.choice("base", ["four legs", "pedestal", "trestle"])
    tm, tc = _wood_or(k, "top", ["wood", "glass", "stone", "plastic"])
    lm, lc = _wood_or(k, "leg", ["wood", "metal"])
    if shape == "round":
        k.add("top", cylinder(w / 2, t, 32, at=(0, h - t, 0)), tm, tc, _tex(tm, 1))
    else:
        k.add("top", box((w, t, d), at=(0, h - t / 2, 0)), tm, tc, _tex(tm))
    lh = h - t
    if base == "four legs":
        inset = 0.06 if shape != "round" else w / 2 * (1 - 0.62)
        pts = (
            corners(w, d, inset)
            if shape != "round"
            else [(np.cos(a) * w / 2 * 0.62, np.sin(a) * w / 2 * 0.62) for a in np.pi / 4 + np.arange(4) * np.pi / 2]
        )
        for x, z in pts:
            k.add("leg", leg("square" if lm == "wood" else "round", 0.05, lh, (x, 0, z)), lm, lc, _tex(lm, 1))
    elif base == "pedestal":
        k.add("pedestal", cylinder(0.05, lh, 16), lm, lc, _tex(lm, 1))
        k.add("foot", cylinder(min(w, d) * 0.3, 0.04, 24), lm, lc, _tex(lm, 1))
    else:
        for x in (-w / 2 + 0.15, w / 2 - 0.15):
            k.add("trestle leg", box((0.06, lh, d * 0.7), at=(x, lh / 2, 0)), lm, lc, _tex(lm, 1))
        k.add("stretcher", box((w - 0.3, 0.06, 0.05), at=(0, lh * 0.3, 0)), lm, lc, _tex(lm))
    phrases = [f"with {mat(lm)} legs" if base != "pedestal" else f"with a {mat(lm)} pedestal"]
    if base == "pedestal":
        phrases.append("on a single pedestal")
    adjs = ([shape] if shape != "rectangular" else band(w, 0.7, 2.0, None, "long")) + band(h, 0.4, 0.78, "low", None)
    styles = ["rustic"] if tm == "wood" and lm == "wood" and base == "trestle" else []
    styles += ["modern"] if tm == "glass" or (lm == "metal" and tm == "stone") else []
    return k.draft(Facts("top", adjs, styles, phrases))


def desk(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    w, d = k.uniform("width", 1.0, 1.8), k.uniform("depth", 0.55, 0.8)
    h = k.uniform("height", 0.72, 0.78)
    drawers = k.choice("drawer_side", ["left", "right", "both", "none"])
    nd = k.integer("drawer_count", 2, 4)
    handle = k.choice("handle_style", ["knob", "bar"])
    tm, tc = _wood_or(k, "top", ["wood", "painted wood", "plastic"])
    lm, lc = _wood_or(k, "leg", ["wood", "metal"])
    hm = k.choice("handle_material", ["metal", "wood"])
    hcol = "silver" if hm == "metal" else k.color("handle_color", "wood")
    t = 0.035
    k.add("top", box((w, t, d), at=(0, h - t / 2, 0)), tm, tc, _tex(tm))
    lh = h - t
    pw = 0.42
    sides = {"left": [-1], "right": [1], "both": [-1, 1], "none": []}[drawers]
    for s in sides:
        cx = s * (w / 2 - pw / 2 - 0.01)
        k.add("pedestal", box((pw, lh, d - 0.04), at=(cx, lh / 2, -0.01)), tm, tc, _tex(tm))
        dh = (lh - 0.08) / nd
        for i in range(nd):
            y = 0.05 + dh * (i + 0.5)
            k.add("drawer", box((pw - 0.04, dh - 0.02, 0.02), at=(cx, y, d / 2 - 0.02)), tm, tc, _tex(tm))
            if handle == "knob":
                k.add("handle", sphere(0.015, at=(cx, y, d / 2 + 0.005), rings=6, sections=10), hm, hcol)
            else:
                k.add("handle", box((0.12, 0.015, 0.025), at=(cx, y, d / 2 + 0.005)), hm, hcol)
    for x, z in corners(w, d, 0.04):
        if not any(np.sign(x) == s for s in sides):
            k.add("leg", leg("square", 0.05, lh, (x, 0, z)), lm, lc, _tex(lm, 1))
    phrases = []
    if sides:
        phrases.append(f"with {number_word(nd * len(sides))} drawers")
    if len(sides) < 2:
        phrases.append(f"with {mat(lm)} legs")
    styles = ["modern"] if lm == "metal" else (["classic"] if tm == "wood" and len(sides) == 2 else [])
    return k.draft(Facts("top", band(w, 1.0, 1.8, "small", "large"), styles, phrases))


def bench(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    L, d = k.uniform("length", 1.0, 2.0), k.uniform("depth", 0.3, 0.5)
    h = k.uniform("height", 0.4, 0.48)
    support = k.choice("support", ["slab legs", "four legs", "six legs"])
    backrest = k.flag("backrest", 0.5)
    planks = k.integer("plank_count", 1, 4)
    sm, sc = _wood_or(k, "seat", ["wood", "painted wood", "stone", "metal"])
    lm, lc = _wood_or(k, "leg", ["wood", "metal", "stone"])
    t = 0.05
    pd = d / planks
    for i in range(planks):
        z = -d / 2 + pd * (i + 0.5)
        k.add("seat", box((L, t, pd * 0.9 if planks > 1 else d), at=(0, h - t / 2, z)), sm, sc, _tex(sm))
    lh = h - t
    if support == "slab legs":
        for x in (-L / 2 + 0.12, L / 2 - 0.12):
            k.add("leg", box((0.07, lh, d * 0.9), at=(x, lh / 2, 0)), lm, lc, _tex(lm, 1))
    else:
        xs = [-L / 2 + 0.08, L / 2 - 0.08] + ([0.0] if support == "six legs" else [])
        for x in xs:
            for z in (-d / 2 + 0.05, d / 2 - 0.05):
                k.add("leg", leg("square", 0.05, lh, (x, 0, z)), lm, lc, _tex(lm, 1))
    if backrest:
        k.add("backrest", box((L, 0.3, 0.04), at=(0, h + 0.2, -d / 2 + 0.02)), sm, sc, _tex(sm))
        for x in (-L / 2 + 0.12, L / 2 - 0.12):
            k.add("back post", box((0.05, 0.36, 0.04), at=(x, h + 0.16, -d / 2 + 0.02)), lm, lc, _tex(lm, 1))
    phrases = (["with a backrest"] if backrest else []) + [f"with {mat(lm)} legs"]
    if planks > 1:
        phrases.append(f"with {number_word(planks)} planks")
    styles = ["rustic"] if sm == "wood" and support == "slab legs" else []
    return k.draft(Facts("seat", band(L, 1.0, 2.0, "short", "long"), styles, phrases))


def sofa(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    seats = k.integer("seat_count", 2, 4)
    sw = k.uniform("seat_width", 0.5, 0.65)
    d = k.uniform("depth", 0.8, 1.0)
    bh = k.uniform("back_height", 0.3, 0.55)
    arms = k.choice("arm_style", ["none", "low", "high"])
    lh = k.uniform("leg_height", 0.04, 0.16)
    um, uc = _wood_or(k, "upholstery", ["fabric", "leather"])
    lm, lc = _wood_or(k, "leg", ["wood", "metal"])
    aw = 0.15 if arms != "none" else 0.0
    w = seats * sw + 2 * aw
    base_h = 0.22
    k.add("base", box((w, base_h, d), at=(0, lh + base_h / 2, 0)), um, uc)
    top = lh + base_h
    for i in range(seats):
        x = -w / 2 + aw + sw * (i + 0.5)
        k.add("cushion", box((sw - 0.02, 0.14, d - 0.22), at=(x, top + 0.07, 0.1)), um, uc)
    k.add("back", box((w, bh + 0.14, 0.2), at=(0, top + (bh + 0.14) / 2, -d / 2 + 0.1)), um, uc)
    if arms != "none":
        ah = 0.2 if arms == "low" else 0.32
        for s in (-1, 1):
            k.add("arm", box((aw, ah, d), at=(s * (w / 2 - aw / 2), top + ah / 2, 0)), um, uc)
    for x, z in corners(w, d, 0.06):
        k.add("leg", leg("round" if lm == "metal" else "tapered", 0.05, lh + 0.01, (x, 0, z)), lm, lc, _tex(lm, 1))
    phrases = [f"with {number_word(seats)} seat cushions"]
    phrases += ["without arms"] if arms == "none" else [f"with {arms} arms"]
    phrases += [f"with {mat(lm)} legs"]
    styles = ["modern"] if arms == "none" or lm == "metal" else ([] if um == "fabric" else ["classic"])
    adjs = ["large"] if seats == 4 else (["small"] if seats == 2 else [])
    return k.draft(Facts("base", adjs, styles, phrases))


def bed(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    size = k.choice("bed_size", ["single", "double", "king"])
    w = {"single": 0.95, "double": 1.45, "king": 1.85}[size] + k.uniform("width_jitter", -0.05, 0.05)
    L = k.uniform("length", 1.95, 2.15)
    hh = k.uniform("headboard_height", 0.3, 0.8)
    foot = k.flag("footboard", 0.5)
    pillows = k.integer("pillow_count", 1, 3 if size != "single" else 1)
    fm, fc = _wood_or(k, "frame", ["wood", "painted wood", "metal"])
    bc = k.color("bedding_color", "fabric")
    pc = k.color("pillow_color", "fabric")
    fh = 0.3
    k.add("frame", box((w, fh, L), at=(0, 0.1 + fh / 2 - 0.05, 0)), fm, fc, _tex(fm, 2))
    for x, z in corners(w, L, 0.05):
        k.add("leg", box((0.07, 0.12, 0.07), at=(x, 0.06, z)), fm, fc, _tex(fm, 1))
    top = 0.1 + fh - 0.05
    k.add("mattress", box((w - 0.06, 0.2, L - 0.1), at=(0, top + 0.1, 0.02)), "fabric", bc)
    k.add("headboard", box((w + 0.04, top + 0.2 + hh, 0.06), at=(0, (top + 0.2 + hh) / 2, -L / 2)), fm, fc, _tex(fm))
    if foot:
        k.add("footboard", box((w + 0.04, top + 0.25, 0.05), at=(0, (top + 0.25) / 2, L / 2)), fm, fc, _tex(fm))
    pw = (w - 0.2) / pillows
    for i in range(pillows):
        x = -w / 2 + 0.1 + pw * (i + 0.5)
        k.add("pillow", box((pw - 0.05, 0.1, 0.4), at=(x, top + 0.25, -L / 2 + 0.3)), "fabric", pc)
    phrases = [f"with {bc} bedding", f"with a {mat(fm) if fm != 'painted wood' else 'wooden'} frame"]
    phrases += [f"with a {w_} headboard" for w_ in band(hh, 0.3, 0.8, "low", "tall")]
    phrases += ["with a footboard"] if foot else []
    phrases += [f"with {number_word(pillows)} pillow{'s' if pillows > 1 else ''}"]
    adjs = ["large"] if size == "king" else []
    kinds = [{"single": "single", "double": "double", "king": "king-size"}[size]]
    return k.draft(Facts("frame", adjs, ["modern"] if fm == "metal" else [], phrases, kinds))


def bookshelf(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    w, h = k.uniform("width", 0.6, 1.2), k.uniform("height", 0.8, 2.0)
    d = k.uniform("depth", 0.25, 0.38)
    n = k.integer("shelf_count", 2, 6)
    back = k.flag("back_panel", 0.7)
    books = k.flag("books", 0.6)
    m, c = _wood_or(k, "frame", ["wood", "painted wood", "metal"])
    t = 0.025
    for x in (-w / 2 + t / 2, w / 2 - t / 2):
        k.add("side", box((t, h, d), at=(x, h / 2, 0)), m, c, _tex(m, 1))
    gap = (h - t) / n
    for i in range(n + 1):
        k.add("shelf", box((w - 2 * t, t, d), at=(0, min(i * gap + t / 2, h - t / 2), 0)), m, c, _tex(m))
    if back:
        k.add("back", box((w - 2 * t, h, 0.01), at=(0, h / 2, -d / 2 + 0.005)), m, c, _tex(m))
    if books:
        for i in range(n):
            x = -w / 2 + t + 0.01
            y0 = i * gap + t
            while True:
                bw = float(rng.uniform(0.02, 0.05))
                bh = float(rng.uniform(0.5, 0.85)) * (gap - t)
                if x + bw > w / 2 - t - 0.01 - 0.15 * (i % 2):
                    break
                k.add(
                    "book",
                    box((bw * 0.95, bh, d * 0.7), at=(x + bw / 2, y0 + bh / 2, 0.0)),
                    "paper",
                    k.rng.choice(["red", "blue", "green", "navy", "dark red", "cream", "black"]),
                )
                x += bw
    phrases = [f"with {number_word(n)} shelves"] + (["filled with books"] if books else ["with empty shelves"])
    adjs = band(h, 0.8, 2.0, "short", "tall") + band(w, 0.6, 1.2, "narrow", "wide")
    return k.draft(Facts("side", adjs, ["modern"] if m == "metal" else [], phrases))


def cabinet(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    w, h = k.uniform("width", 0.5, 1.2), k.uniform("height", 0.6, 1.8)
    d = k.uniform("depth", 0.35, 0.55)
    front = k.choice("front", ["doors", "drawers"])
    n = k.integer("front_count", 1, 2) if front == "doors" else k.integer("front_count", 2, 5)
    handle = k.choice("handle_style", ["knob", "bar"])
    base = k.choice("base", ["plinth", "legs"])
    m, c = _wood_or(k, "body", ["wood", "painted wood", "metal"])
    y0 = 0.1
    k.add("body", box((w, h - y0, d), at=(0, y0 + (h - y0) / 2, 0)), m, c, _tex(m))
    if base == "plinth":
        k.add("plinth", box((w - 0.04, y0 + 0.01, d - 0.04), at=(0, (y0 + 0.01) / 2, -0.01)), m, c, _tex(m))
    else:
        for x, z in corners(w, d, 0.04):
            k.add("leg", leg("tapered", 0.045, y0 + 0.01, (x, 0, z)), m, c, _tex(m, 1))
    hc = "gold" if k.flag("brass_handles", 0.3) else "silver"
    for i in range(n):
        if front == "doors":
            fw, fh = (w - 0.04) / n, h - y0 - 0.04
            cx, cy = -w / 2 + 0.02 + fw * (i + 0.5), y0 + (h - y0) / 2
            hx = cx + (fw / 2 - 0.06) * (1 if (n == 1 or i == 0) else -1) * (-1 if n == 2 else 1)
            hy = cy
        else:
            fw, fh = w - 0.04, (h - y0 - 0.04) / n
            cx, cy = 0.0, y0 + 0.02 + fh * (i + 0.5)
            hx, hy = 0.0, cy
        k.add(
            "door" if front == "doors" else "drawer",
            box((fw - 0.01, fh - 0.01, 0.02), at=(cx, cy, d / 2)),
            m,
            c,
            _tex(m, 1 if front == "doors" else 0),
        )
        if handle == "knob":
            k.add("handle", sphere(0.018, at=(hx, hy, d / 2 + 0.012), rings=6, sections=10), "metal", hc)
        else:
            hs = (0.02, 0.12, 0.025) if front == "doors" else (0.14, 0.02, 0.025)
            k.add("handle", box(hs, at=(hx, hy, d / 2 + 0.012)), "metal", hc)
    word = "door" if front == "doors" else "drawer"
    phrases = [f"with {number_word(n)} {word}{'s' if n > 1 else ''}", f"with {hc} {handle}s"]
    phrases += ["on legs"] if base == "legs" else []
    adjs = band(h, 0.6, 1.8, "low", "tall") + band(w, 0.5, 1.2, "narrow", "wide")
    return k.draft(Facts("body", adjs, ["modern"] if m == "metal" else ["classic"] * (base == "legs"), phrases))
