"""Vehicles: car, truck, airplane, boat, rocket (metres, Y up, front +Z)."""

from __future__ import annotations

import numpy as np

from gen3d.data.appearance import Texture
from gen3d.data.geometry import Solid, box, cylinder, extrude, lathe, rot_x, rot_y, rot_z, sphere
from gen3d.data.procedural.base import Draft, Facts, Kit, band, convex_hull, number_word


def side_extrude(profile_zy: list[tuple[float, float]], width: float, x: float = 0.0) -> Solid:
    """Extrude a side-view profile given as (z, y) points across X (width centred at ``x``)."""
    return extrude(profile_zy, width, rot=rot_y(-np.pi / 2), at=(x, 0, 0))


def wheel(r: float, w: float, x: float, y: float, z: float) -> Solid:
    """A wheel with its axle along X, centred at (x, y, z)."""
    return cylinder(r, w, 18, at=(x + w / 2, y, z), rot=rot_z(np.pi / 2))


def car(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    L, W = k.uniform("length", 3.6, 4.8), k.uniform("width", 1.6, 1.9)
    wr = k.uniform("wheel_radius", 0.28, 0.38)
    style = k.choice("body_style", ["sedan", "hatchback", "coupe", "sport utility"])
    bh = k.uniform("body_height", 0.45, 0.6) * (1.3 if style == "sport utility" else 1.0)
    rh = k.uniform("roof_height", 0.4, 0.55) * (0.85 if style == "coupe" else 1.0)
    spoiler = k.flag("spoiler", 0.3 if style in ("coupe", "hatchback") else 0.0)
    c = k.color("paint_color", "paint")
    gc = k.color("window_color", "glass")
    y0 = wr * 0.55
    top = y0 + bh
    body = [
        (-L / 2, y0),
        (L / 2 - 0.05, y0),
        (L / 2, y0 + bh * 0.55),
        (L / 2 - 0.45, top),
        (-L / 2 + 0.05, top),
        (-L / 2, top - 0.1),
    ]
    k.add("body", side_extrude(body, W), "metal", c)
    zr = {"sedan": -L * 0.3, "hatchback": -L / 2 + 0.08, "coupe": -L * 0.25, "sport utility": -L / 2 + 0.1}[style]
    zf = L * 0.18
    cab = [(zr, top - 0.02), (zf, top - 0.02), (zf - rh * 1.4, top + rh), (zr + rh * 0.7, top + rh)]
    k.add("windows", side_extrude(cab, W * 0.86), "glass", gc)
    k.add(
        "roof",
        side_extrude(
            [
                (zr + rh * 0.7, top + rh - 0.01),
                (zf - rh * 1.4, top + rh - 0.01),
                (zf - rh * 1.4 - 0.05, top + rh + 0.04),
                (zr + rh * 0.7 + 0.05, top + rh + 0.04),
            ],
            W * 0.84,
        ),
        "metal",
        c,
    )
    for x in (-W / 2 + 0.1, W / 2 - 0.1):
        for z in (-L / 2 + 0.75, L / 2 - 0.75):
            k.add("wheel", wheel(wr, 0.22, x, wr, z), "rubber", "black")
    if spoiler:
        k.add("spoiler", box((W * 0.9, 0.04, 0.25), at=(0, top + 0.18, -L / 2 + 0.15)), "metal", c)
        for x in (-W * 0.3, W * 0.3):
            k.add("spoiler post", box((0.05, 0.2, 0.08), at=(x, top + 0.08, -L / 2 + 0.15)), "metal", c)
    phrases = [f"with {gc} windows"] + (["with a rear spoiler"] if spoiler else [])
    adjs = band(L, 3.6, 4.8, "small", "long")
    return k.draft(Facts("body", adjs, ["sporty"] if style == "coupe" else [], phrases, [style]))


def truck(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    L, W = k.uniform("length", 5.5, 9.0), k.uniform("width", 2.0, 2.5)
    ch = k.uniform("cab_height", 1.6, 2.3)
    cargo = k.choice("cargo", ["box", "flatbed", "tank"])
    axles = k.integer("axle_count", 2, 3)
    wr = k.uniform("wheel_radius", 0.4, 0.55)
    cc = k.color("cab_color", "paint")
    kc = k.color("cargo_color", "paint")
    y0 = wr * 0.7
    cl = 1.9
    k.add("chassis", box((W * 0.8, 0.3, L), at=(0, y0 + 0.15, 0)), "metal", "dark grey")
    cz = L / 2 - cl / 2
    k.add(
        "cab",
        convex_hull(
            np.array(
                [
                    [sx * W / 2, y, z]
                    for sx in (-1, 1)
                    for y, z in [
                        (y0 + 0.3, cz - cl / 2),
                        (y0 + 0.3, cz + cl / 2),
                        (y0 + ch * 0.55, cz + cl / 2),
                        (y0 + ch, cz + cl / 2 - 0.45),
                        (y0 + ch, cz - cl / 2),
                    ]
                ]
            )
        ),
        "metal",
        cc,
    )
    k.add(
        "windshield",
        box((W * 0.8, ch * 0.3, 0.06), at=(0, y0 + ch * 0.75, cz + cl / 2 - 0.22), rot=rot_x(-0.8)),
        "glass",
        "dark grey",
    )
    bl = L - cl - 0.2
    bz = -L / 2 + bl / 2
    if cargo == "box":
        k.add("cargo", box((W, 2.3, bl), at=(0, y0 + 0.3 + 1.15, bz)), "metal", kc)
    elif cargo == "flatbed":
        k.add(
            "cargo",
            box((W, 0.15, bl), at=(0, y0 + 0.375, bz)),
            "wood",
            kc if kc in ("brown",) else "brown",
            Texture("grain", 2, 0.05),
        )
    else:
        k.add(
            "cargo",
            lathe(
                [(0, 0), (W * 0.48, 0.05), (W * 0.48, bl - 0.05), (0, bl)],
                24,
                at=(0, y0 + 0.3 + W * 0.48, bz - bl / 2),
                rot=rot_x(np.pi / 2),
            ),
            "metal",
            kc,
        )
    zs = [L / 2 - 1.0] + list(np.linspace(-L / 2 + 1.0, -L / 2 + 1.0 + 1.3 * (axles - 2), axles - 1))
    for z in zs:
        for x in (-W / 2 + 0.15, W / 2 - 0.15):
            k.add("wheel", wheel(wr, 0.3, x, wr, z), "rubber", "black")
    cargo_phrase = {"box": f"with a {kc} box trailer", "flatbed": "with a wooden flatbed", "tank": f"with a {kc} tank"}[
        cargo
    ]
    phrases = [cargo_phrase, f"with {number_word(axles)} axles", f"with a {cc} cab"]
    kind = {"box": "delivery", "flatbed": "flatbed", "tank": "tanker"}[cargo]
    return k.draft(Facts("cab", band(L, 5.5, 9.0, "small", "long"), [], phrases, [kind]))


def _wing(
    span: float, root: float, tip: float, sweep: float, t: float, x0: float, y: float, z: float, side: int
) -> Solid:
    pts = []
    for dy in (-t / 2, t / 2):
        pts += [
            [x0, y + dy, z + root / 2],
            [x0, y + dy, z - root / 2],
            [x0 + side * span, y + dy * 0.5, z - sweep - tip / 2],
            [x0 + side * span, y + dy * 0.5, z - sweep + tip / 2],
        ]
    return convex_hull(np.array(pts))


def airplane(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    L = k.uniform("length", 10.0, 40.0)
    fr = k.uniform("fuselage_ratio", 0.05, 0.08) * L
    span = k.uniform("span_ratio", 0.8, 1.2) * L
    sweep = k.uniform("sweep", 0.0, 0.6)
    pos = k.choice("wing_position", ["low", "high"])
    engines = k.choice("engine_count", [0, 2, 4])
    c = k.color("body_color", "paint")
    tc = k.color("tail_color", "paint")
    prof = [(0, 0), (fr * 0.35, 0.02 * L), (fr, 0.25 * L), (fr, 0.82 * L), (fr * 0.6, 0.95 * L), (0, L)]
    k.add("fuselage", lathe(prof, 20, at=(0, 0, -L / 2), rot=rot_x(np.pi / 2)), "metal", c)
    wy = -fr * 0.5 if pos == "low" else fr * 0.6
    root = L * 0.18
    for s in (-1, 1):
        k.add("wing", _wing(span / 2, root, root * 0.35, sweep * span / 2, fr * 0.25, 0, wy, L * 0.05, s), "metal", c)
        k.add(
            "stabilizer",
            _wing(span * 0.17, L * 0.1, L * 0.04, sweep * span * 0.1, fr * 0.15, 0, fr * 0.3, -L * 0.43, s),
            "metal",
            c,
        )
    fin = convex_hull(
        np.array(
            [
                [dx, y, z]
                for dx in (-fr * 0.08, fr * 0.08)
                for y, z in [(fr * 0.5, -L * 0.32), (fr * 0.5, -L * 0.48), (fr * 2.6, -L * 0.5), (fr * 2.6, -L * 0.44)]
            ]
        )
    )
    k.add("tail fin", fin, "metal", tc)
    if engines:
        xs = [span * 0.17] if engines == 2 else [span * 0.14, span * 0.28]
        for x in xs:
            for s in (-1, 1):
                zc = L * 0.05 - sweep * x + root * 0.2
                k.add(
                    "engine",
                    cylinder(fr * 0.35, L * 0.12, 14, at=(s * x, wy - fr * 0.4, zc - L * 0.06), rot=rot_x(np.pi / 2)),
                    "metal",
                    "grey",
                )
    else:
        k.add("propeller", box((fr * 2.2, fr * 0.2, fr * 0.05), at=(0, 0, L / 2 + 0.01)), "metal", "dark grey")
    phrases = [f"with a {tc} tail", f"with {pos} wings"]
    phrases += [f"with {number_word(engines)} engines"] if engines else ["with a propeller"]
    adjs = band(sweep, 0.0, 0.6, "straight-winged", "swept-wing")
    kinds = ["jet"] if engines else ["propeller"]
    return k.draft(Facts("fuselage", adjs, ["modern"] if engines else ["vintage"], phrases, kinds))


def boat(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    kind = k.choice("boat_type", ["sailboat", "motorboat", "rowboat"])
    L = k.uniform("length", 3.0, 4.5) if kind == "rowboat" else k.uniform("length", 5.0, 12.0)
    B = k.uniform("beam_ratio", 0.3, 0.45) * L
    H = k.uniform("hull_height_ratio", 0.1, 0.16) * L
    hm = k.choice("hull_material", ["wood", "painted wood", "plastic"] if kind == "rowboat" else ["plastic", "metal"])
    c = k.color("hull_color", hm)
    deck = [(sx * B / 2, H, -L / 2) for sx in (-1, 1)] + [(sx * B / 2, H, 0.05 * L) for sx in (-1, 1)]
    deck += [(sx * B * 0.3, H, 0.38 * L) for sx in (-1, 1)] + [(0, H * 1.1, L / 2)]
    keel = [(sx * B * 0.25, 0, -L * 0.45) for sx in (-1, 1)] + [(sx * B * 0.2, 0, 0.2 * L) for sx in (-1, 1)]
    k.add("hull", convex_hull(np.array(deck + keel)), hm, c, Texture("grain", 2, 0.04) if hm == "wood" else None)
    phrases: list[str] = []
    if kind == "sailboat":
        mh = k.uniform("mast_height", 1.0, 1.5) * L
        sc = k.color("sail_color", "fabric")
        k.add("mast", cylinder(0.05 + L * 0.004, mh, 10, at=(0, H * 0.9, 0.05 * L)), "wood", "brown")
        k.add(
            "sail",
            convex_hull(
                np.array(
                    [
                        [dx, y, z]
                        for dx in (-0.01, 0.01)
                        for y, z in [(H + 0.3, 0.03 * L), (H + mh * 0.95, 0.03 * L), (H + 0.3, -0.35 * L)]
                    ]
                )
            ),
            "fabric",
            sc,
        )
        phrases.append(f"with a {sc} sail")
    elif kind == "motorboat":
        cc = k.color("cabin_color", "paint", exclude=(c,))
        cl = k.uniform("cabin_length", 0.2, 0.35) * L
        k.add("cabin", box((B * 0.6, H * 0.8, cl), at=(0, H + H * 0.4 - 0.05, -0.05 * L)), "plastic", cc)
        k.add(
            "windshield",
            box((B * 0.55, H * 0.35, 0.05), at=(0, H + H * 0.9, -0.05 * L + cl / 2), rot=rot_x(-0.5)),
            "glass",
            "light blue",
        )
        phrases.append(f"with a {cc} cabin")
    else:
        n = k.integer("seat_count", 1, 3)
        for z in np.linspace(-L * 0.25, L * 0.15, n):
            k.add("seat", box((B * 0.7, 0.05, 0.25), at=(0, H + 0.02, z)), "wood", "tan", Texture("grain", 0, 0.03))
        phrases.append(f"with {number_word(n)} seat{'s' if n > 1 else ''}")
    adjs = band(L, 3.0 if kind == "rowboat" else 5.0, 4.5 if kind == "rowboat" else 12.0, "small", "long")
    return k.draft(Facts("hull", adjs, ["rustic"] * (hm == "wood"), phrases))


def rocket(rng: np.random.Generator) -> Draft:
    k = Kit(rng)
    h = k.uniform("height", 20.0, 70.0)
    r = k.uniform("radius_ratio", 0.05, 0.09) * h
    nose = k.uniform("nose_ratio", 0.1, 0.22) * h
    fins = k.integer("fin_count", 3, 4)
    fs = k.uniform("fin_size", 0.6, 1.4)
    striped = k.flag("stripes", 0.4)
    c = k.color("body_color", "paint", exclude=("black",))
    nc = k.color("nose_color", "paint")
    fc = k.color("fin_color", "paint")
    base = h * 0.05
    tex = Texture("stripes", 1, h * 0.08, color2=k.color("stripe_color", "paint", exclude=(c,))) if striped else None
    body_h = h - nose - base
    k.add("body", cylinder(r, body_h, 24, at=(0, base, 0)), "metal", c, tex)
    t = np.linspace(0, 1, 6)
    prof = np.c_[r * np.sqrt(1 - t**2) * 1.0, base + body_h + nose * t]
    prof[-1, 0] = 0.0
    k.add("nose", lathe(prof, 24, at=(0, -0.01, 0)), "metal", nc)
    k.add("nozzle", cylinder(r * 0.45, base + 0.02, 16, radius_top=r * 0.7), "metal", "dark grey")
    for i in range(fins):
        a = i * 2 * np.pi / fins + np.pi / 4
        pts = np.array(
            [[r * 0.8, base, dz] for dz in (-0.05 * r, 0.05 * r)]
            + [[r * 0.8, base + h * 0.22 * fs, dz] for dz in (-0.05 * r, 0.05 * r)]
            + [[r + r * 1.2 * fs, base - h * 0.03, dz] for dz in (-0.05 * r, 0.05 * r)]
            + [[r + r * 1.2 * fs, base + h * 0.06, dz] for dz in (-0.05 * r, 0.05 * r)]
        )
        k.add("fin", convex_hull(pts).moved(rot=rot_y(a)), "metal", fc)
    k.add("window", sphere(r * 0.22, at=(0, base + body_h * 0.8, r * 0.9), rings=6, sections=12), "glass", "light blue")
    phrases = [f"with {number_word(fins)} {fc} fins", f"with a {nc} nose cone"]
    phrases += [f"with {tex.color2} stripes"] if tex is not None else []
    return k.draft(Facts("body", band(r / h, 0.05, 0.09, "slender", "stubby"), [], phrases))
