"""Named colours, material palettes and procedural textures (wood grain, stripes, checker).

Colours are sRGB floats in 0..1. A :class:`Texture` maps points in metres (the object's own frame,
before normalisation) to colours, so texture scale stays physical whatever the object's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.78, 0.12, 0.12),
    "dark red": (0.45, 0.06, 0.08),
    "orange": (0.95, 0.50, 0.10),
    "yellow": (0.95, 0.85, 0.18),
    "gold": (0.85, 0.68, 0.22),
    "green": (0.22, 0.60, 0.22),
    "dark green": (0.08, 0.33, 0.12),
    "olive": (0.45, 0.48, 0.18),
    "teal": (0.10, 0.50, 0.50),
    "blue": (0.15, 0.30, 0.80),
    "light blue": (0.55, 0.75, 0.95),
    "navy": (0.08, 0.12, 0.38),
    "purple": (0.50, 0.20, 0.60),
    "pink": (0.95, 0.55, 0.70),
    "brown": (0.50, 0.32, 0.16),
    "dark brown": (0.30, 0.18, 0.09),
    "tan": (0.78, 0.62, 0.42),
    "beige": (0.88, 0.80, 0.65),
    "cream": (0.96, 0.93, 0.82),
    "white": (0.94, 0.94, 0.94),
    "light grey": (0.75, 0.75, 0.76),
    "grey": (0.50, 0.50, 0.51),
    "dark grey": (0.25, 0.25, 0.27),
    "black": (0.07, 0.07, 0.08),
    "silver": (0.78, 0.79, 0.82),
}

_BRIGHT = ["red", "orange", "yellow", "green", "blue", "light blue", "navy", "purple", "pink", "white", "black", "teal"]

# Material -> colours it plausibly comes in.
PALETTES: dict[str, list[str]] = {
    "wood": ["brown", "dark brown", "tan"],
    "painted wood": _BRIGHT + ["cream", "dark green", "dark red"],
    "metal": ["silver", "grey", "dark grey", "black", "gold"],
    "plastic": _BRIGHT + ["grey"],
    "fabric": [
        "red",
        "dark red",
        "blue",
        "navy",
        "green",
        "dark green",
        "grey",
        "beige",
        "cream",
        "brown",
        "purple",
        "teal",
        "orange",
        "yellow",
        "pink",
        "black",
    ],
    "leather": ["brown", "dark brown", "black", "tan", "dark red"],
    "stone": ["grey", "light grey", "dark grey", "beige"],
    "glass": ["light blue", "green", "teal", "white"],
    "ceramic": ["white", "cream", "blue", "red", "green", "yellow", "teal", "black", "pink", "navy"],
    "wax": ["white", "cream", "red", "yellow", "purple", "pink"],
    "plant": ["green", "dark green", "olive"],
    "brick": ["red", "dark red", "brown"],
    "concrete": ["grey", "light grey", "beige"],
    "rubber": ["black", "dark grey"],
    "paint": _BRIGHT + ["silver", "gold", "dark green", "dark red"],
}

# Material label -> caption words (first is the default adjective). None: not mentioned as a material.
MATERIAL_WORDS: dict[str, list[str] | None] = {
    "wood": ["wooden", "wood"],
    "metal": ["metal", "metallic", "steel"],
    "plastic": ["plastic"],
    "fabric": ["fabric", "upholstered", "cloth"],
    "leather": ["leather"],
    "stone": ["stone"],
    "glass": ["glass"],
    "ceramic": ["ceramic", "porcelain"],
    "wax": ["wax"],
    "brick": ["brick"],
    "concrete": ["concrete"],
    "rubber": ["rubber"],
    "painted wood": ["painted wooden", "painted"],
    "paper": ["paper"],
    "plant": None,
    "paint": None,
}

MATERIALS: list[str] = sorted(MATERIAL_WORDS)


def material_word(material: str) -> str | None:
    words = MATERIAL_WORDS[material]
    return None if words is None else words[0]


def pick_color(rng: np.random.Generator, palette: str, exclude: tuple[str, ...] = ()) -> str:
    names = [c for c in PALETTES[palette] if c not in exclude]
    return names[int(rng.integers(len(names)))]


@dataclass
class Texture:
    """A procedural colour pattern: ``grain`` (wood rings about ``axis``), ``stripes`` or ``checker``.

    ``grain`` darkens the base colour (its colour name stays true); ``stripes``/``checker`` alternate
    the base colour with ``color2`` (both names go into the shape's colours).
    """

    kind: str
    axis: int = 1
    period_m: float = 0.05
    color2: str | None = None

    def apply(self, base: np.ndarray, points_m: np.ndarray) -> np.ndarray:
        p = points_m
        if self.kind == "grain":
            u, w = (p[:, k] for k in range(3) if k != self.axis)
            along = p[:, self.axis]
            r = np.sqrt((u + 0.37) ** 2 + (w + 0.21) ** 2) + 0.004 * np.sin(along * 23.0 + u * 5.0)
            t = 0.5 + 0.5 * np.sin(2 * np.pi * r / self.period_m)
            shade = 1.0 - 0.35 * t**3
            return base[None, :] * shade[:, None]
        c2 = np.asarray(COLORS[self.color2 or "white"], dtype=np.float64)
        if self.kind == "stripes":
            sel = np.floor(p[:, self.axis] / self.period_m).astype(np.int64) % 2 == 1
        elif self.kind == "checker":
            sel = np.floor(p / self.period_m).astype(np.int64).sum(1) % 2 == 1
        else:
            raise ValueError(f"unknown texture kind {self.kind!r}")
        out = np.repeat(base[None, :], len(p), 0)
        out[sel] = c2
        return out


def grain(axis: int = 1, period_m: float = 0.02) -> Texture:
    return Texture("grain", axis=axis, period_m=period_m)
