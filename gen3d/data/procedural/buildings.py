"""Buildings: house, tower (metres, Y up, front +Z)."""

from __future__ import annotations

import numpy as np

from gen3d.data.appearance import Texture
from gen3d.data.geometry import box, cone, cylinder, lathe, rot_y
from gen3d.data.procedural.base import Draft, Facts, Kit, band, convex_hull, mat, number_word
from gen3d.data.procedural.vehicles import side_extrude

_ROOF_COLORS = ["red", "dark red", "dark grey", "brown", "black", "navy", "dark green", "grey"]


def house(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    W, D = k.uniform("width", 6.0, 12.0), k.uniform("depth", 5.0, 9.0)
    storeys = k.integer("storeys", 1, 2)
    roof = k.choice("roof_type", ["gable", "hip", "flat"])
    pitch = k.uniform("roof_pitch", 0.3, 0.7)
    chimney = k.flag("chimney", 0.5)
    wm = k.choice("wall_material", ["brick", "painted wood", "concrete", "stone"])
    wc = k.color("wall_color", wm)
    rc = k.choice("roof_color", [c for c in _ROOF_COLORS if c != wc])
    nw = k.integer("windows_per_storey", 1, 4)
    H = 2.8 * storeys
    tex = Texture("stripes", 1, 0.25, color2="cream") if wm == "brick" and k.flag("mortar_lines", 0.5) else None
    k.add("walls", box((W, H, D), at=(0, H / 2, 0)), wm, wc, tex)
    rh = pitch * D / 2
    if roof == "gable":
        k.add("roof", side_extrude([(-D / 2 - 0.3, H), (D / 2 + 0.3, H), (0, H + rh)], W + 0.4), "ceramic", rc)
    elif roof == "hip":
        pts = [[sx * (W / 2 + 0.3), H, sz * (D / 2 + 0.3)] for sx in (-1, 1) for sz in (-1, 1)]
        pts += [[sx * max(W / 2 - D / 2, 0.3), H + rh, 0] for sx in (-1, 1)]
        k.add("roof", convex_hull(np.array(pts)), "ceramic", rc)
    else:
        k.add("roof", box((W + 0.3, 0.3, D + 0.3), at=(0, H + 0.15, 0)), "concrete", rc)
    if chimney:
        top = H + (rh if roof != "flat" else 0.3) + 0.6
        k.add(
            "chimney",
            box((0.6, top - H + 0.5, 0.6), at=(W * 0.3, H - 0.5 + (top - H + 0.5) / 2, -D * 0.15)),
            "brick",
            "dark red",
        )
    dc = k.color("door_color", "painted wood")
    k.add("door", box((1.0, 2.1, 0.1), at=(0, 1.05, D / 2)), "painted wood", dc)
    gc = "light blue"
    for s in range(storeys):
        y = 1.6 + 2.8 * s
        xs = np.linspace(-W / 2 + 1.2, W / 2 - 1.2, nw + (1 if s == 0 else 0))
        for x in xs:
            if s == 0 and abs(x) < 1.0:
                continue
            k.add("window", box((0.9, 1.1, 0.08), at=(x, y, D / 2)), "glass", gc)
    phrases = [f"with a {rc} roof", f"with a {dc} door"]
    phrases += {"gable": ["with a pitched roof"], "hip": ["with a hipped roof"], "flat": ["with a flat roof"]}[roof]
    phrases += ["with a chimney"] if chimney else []
    phrases += [f"with {mat(wm)} walls"]
    adjs = ["two-storey" if storeys == 2 else "single-storey"] + band(W, 6.0, 12.0, "small", "wide")
    styles = ["modern"] if roof == "flat" else (["rustic"] if wm in ("stone", "painted wood") else [])
    return k.draft(Facts("walls", adjs, styles, phrases))


def tower(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    shape = k.choice("plan", ["round", "square"])
    h = k.uniform("height", 8.0, 30.0)
    r = k.uniform("radius", 2.0, 5.0)
    top = k.choice("top", ["battlements", "cone roof", "flat"])
    nwin = k.integer("window_count", 1, 5)
    m = k.choice("material", ["stone", "brick"])
    c = k.color("wall_color", m)
    sec = 24 if shape == "round" else 4
    turn = rot_y(np.pi / 4) if shape == "square" else None
    rr = r if shape == "round" else r * np.sqrt(2)
    k.add("walls", lathe([(rr, 0), (rr * 0.92, h)], sec, rot=turn), m, c)
    phrases: list[str] = []
    if top == "battlements":
        k.add("parapet", lathe([(rr * 1.0, h - 0.2), (rr * 1.0, h + 0.6)], sec, rot=turn), m, c)
        n = 12 if shape == "round" else 8
        for i in range(n):
            a = 2 * np.pi * i / n
            if shape == "round":
                at = (r * 0.92 * np.cos(a), h + 0.5 + 0.4, r * 0.92 * np.sin(a))
            else:
                side = i // 2
                t = -0.5 + (i % 2) * 0.6 + 0.2
                off = r * 0.92
                at = [(t * 2 * off, 0, off), (off, 0, -t * 2 * off), (-t * 2 * off, 0, -off), (-off, 0, t * 2 * off)][
                    side
                ]
                at = (at[0], h + 0.9, at[2])
            k.add("merlon", box((0.8, 0.8, 0.8), at=at, rot=rot_y(-a) if shape == "round" else None), m, c)
        phrases.append("with battlements")
    elif top == "cone roof":
        rc = k.color("roof_color", "brick")
        k.add("roof", cone(rr * 1.15, r * 1.5, sec, at=(0, h - 0.1, 0), rot=turn), "ceramic", rc)
        phrases.append(f"with a {rc} pointed roof")
    else:
        k.add("roof", cylinder(rr * 0.95, 0.3, sec, at=(0, h - 0.1, 0), rot=turn), m, c)
        phrases.append("with a flat top")
    for i in range(nwin):
        y = h * (i + 0.7) / (nwin + 0.5)
        k.add("window", box((0.7, 1.2, 0.3), at=(0, y, r * 0.92 * (1 - 0.08 * y / h) + 0.02)), "glass", "dark grey")
    k.add("door", box((1.2, 2.2, 0.3), at=(0, 1.1, r * 0.98)), "wood", "dark brown", Texture("grain", 1, 0.05))
    phrases += [f"with {number_word(nwin)} window{'s' if nwin > 1 else ''}"]
    adjs = [shape] + band(h / r, 1.6, 15.0, "squat", "tall")
    return k.draft(Facts("walls", adjs, ["old", "medieval"] if top == "battlements" else [], phrases))
