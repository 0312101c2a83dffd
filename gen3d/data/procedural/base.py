"""What a category builder returns, and the small kit builders share (random draws, parts, legs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import ConvexHull

from gen3d.data.appearance import Texture, material_word, pick_color
from gen3d.data.geometry import Solid, box, cross3, cylinder
from gen3d.data.shape import Part, make_part


@dataclass
class Facts:
    """True statements about a draft, for captions. ``main`` names the part whose colour and material
    describe the whole object; ``phrases`` are part-level ("with metal legs"), each true by construction."""

    main: str
    adjectives: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # noun modifiers placed right before the noun ("floor" lamp)


@dataclass
class Draft:
    parts: list[Part]
    params: dict[str, Any]
    facts: Facts


@dataclass
class Category:
    name: str
    family: str
    synonyms: list[str]
    size_m: float  # typical largest dimension in metres
    builder: Callable[[np.random.Generator], Draft]


class Kit:
    """Random draws recorded as params, and parts collected in order."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.params: dict[str, Any] = {}
        self.parts: list[Part] = []

    def uniform(self, name: str, lo: float, hi: float) -> float:
        v = round(float(self.rng.uniform(lo, hi)), 4)
        self.params[name] = v
        return v

    def integer(self, name: str, lo: int, hi: int) -> int:
        """Uniform integer in [lo, hi] inclusive."""
        v = int(self.rng.integers(lo, hi + 1))
        self.params[name] = v
        return v

    def choice(self, name: str, options: Sequence[Any]) -> Any:
        v = options[int(self.rng.integers(len(options)))]
        self.params[name] = v
        return v

    def flag(self, name: str, p: float = 0.5) -> bool:
        v = bool(self.rng.random() < p)
        self.params[name] = v
        return v

    def color(self, name: str, palette: str, exclude: tuple[str, ...] = ()) -> str:
        v = pick_color(self.rng, palette, exclude)
        self.params[name] = v
        return v

    def add(self, name: str, solid: Solid, material: str, color: str, texture: Texture | None = None) -> Part:
        part = make_part(name, solid, material, color, texture, jitter=self.rng.normal(0.0, 0.015, 3))
        self.parts.append(part)
        return part

    def draft(self, facts: Facts) -> Draft:
        return Draft(self.parts, self.params, facts)


def mat(material: str) -> str:
    """Caption adjective for a material (raises for materials that are never named)."""
    w = material_word(material)
    if w is None:
        raise ValueError(f"material {material!r} has no caption word")
    return w


def convex_hull(points: np.ndarray) -> Solid:
    """Closed convex solid from a point set, faces oriented outward."""
    pts = np.asarray(points, dtype=np.float64)
    hull = ConvexHull(pts)
    faces = hull.simplices.astype(np.int64)
    a, b, c = pts[faces[:, 0]], pts[faces[:, 1]], pts[faces[:, 2]]
    n = cross3(b - a, c - a)
    flip = np.einsum("ij,ij->i", n, a - pts[hull.vertices].mean(0)) < 0
    faces[flip] = faces[flip][:, ::-1]
    used = np.unique(faces)
    remap = np.full(len(pts), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return Solid(pts[used], remap[faces], convex=True)


def leg(style: str, thickness: float, height: float, at: Sequence[float]) -> Solid:
    """A leg standing on y=at[1]: ``square`` box, ``round`` cylinder or ``tapered`` frustum."""
    x, y, z = at
    if style == "square":
        return box((thickness, height, thickness), at=(x, y + height / 2, z))
    if style == "round":
        return cylinder(thickness / 2, height, 12, at=(x, y, z))
    if style == "tapered":
        return cylinder(thickness * 0.3, height, 12, at=(x, y, z), radius_top=thickness / 2)
    raise ValueError(style)


def corners(w: float, d: float, inset: float) -> list[tuple[float, float]]:
    hx, hz = w / 2 - inset, d / 2 - inset
    return [(-hx, -hz), (hx, -hz), (hx, hz), (-hx, hz)]


def band(value: float, lo: float, hi: float, low_word: str | None, high_word: str | None) -> list[str]:
    """``high_word`` if value is in the top quarter of [lo, hi], ``low_word`` if in the bottom quarter."""
    t = (value - lo) / (hi - lo)
    if t >= 0.75 and high_word:
        return [high_word]
    if t <= 0.25 and low_word:
        return [low_word]
    return []


def number_word(n: int) -> str:
    return ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"][n]
