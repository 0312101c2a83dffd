"""Colour names as people write them -> sRGB.

Three sources, looked up in this order:

1. gen3d's own palette (``gen3d.data.appearance.COLORS``: the colours the training captions use, e.g.
   "red", "dark grey"), so a prompt's "red" means the red the model was trained on;
2. the CSS Color Module Level 4 / X11 names (Pillow's ``ImageColor.colormap``: 148 names such as "crimson",
   "navy", "teal", "gray" and "grey", "light slate gray" written with or without spaces);
3. hex codes, ``#rgb`` or ``#rrggbb``.

Spelling is forgiving (case, hyphens, extra spaces, "gray"/"grey", "colour"/"color" suffixes); anything else
is an :class:`UnknownColorError` whose one-line message names the word and the fix.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache


class UnknownColorError(ValueError):
    """A colour name that none of the tables knows."""


@dataclass(frozen=True)
class NamedColor:
    name: str  # canonical: the palette's name ("light grey"), else the CSS name ("crimson"), else "#rrggbb"
    rgb: tuple[float, float, float]  # sRGB in 0..1
    source: str  # "palette", "css", "hex" or "shade" (a lighter or darker named colour)


_HEX = re.compile(r"#(?:[0-9a-f]{3}|[0-9a-f]{6})")


def normalise(text: str) -> str:
    """Lower case, single spaces, no hyphens/underscores, "gray" spelled "grey", a trailing "colour" dropped."""
    s = re.sub(r"[\s_\-]+", " ", text.strip().lower())
    s = re.sub(r"\s+colou?r(ed)?$", "", s)
    return re.sub(r"gray", "grey", s)


@cache
def _palette() -> dict[str, tuple[str, tuple[float, float, float]]]:
    """Squashed name ("darkred") -> (palette name "dark red", sRGB 0..1)."""
    from gen3d.data.appearance import COLORS

    return {normalise(k).replace(" ", ""): (k, tuple(v)) for k, v in COLORS.items()}


@cache
def _css() -> dict[str, tuple[str, tuple[float, float, float]]]:
    """Squashed name ("lightslategrey") -> (CSS name, sRGB 0..1)."""
    from PIL import ImageColor

    out = {}
    for name, hexcode in sorted(ImageColor.colormap.items()):
        rgb = ImageColor.getrgb(hexcode)
        key = normalise(name).replace(" ", "")
        out.setdefault(key, (name, tuple(round(c / 255, 6) for c in rgb[:3])))
    return out


def find_color(text: str) -> NamedColor | None:
    """The colour ``text`` names, or None. Besides the tables' names, a shade followed by a hue ("navy blue")
    and adjective forms ("golden", "reddish", "bluish") are understood."""
    s = normalise(text)
    if not s:
        return None
    found = _lookup(s)
    if found is None and " " in s:
        head, last = s.split(" ", 1)
        if head in LIGHTER or head in DARKER:  # "pale grey" -> light grey, "deep red" -> dark red
            return _shade(last, "light" if head in LIGHTER else "dark")
        head, last = s.rsplit(" ", 1)
        if " " not in head and head not in FUNCTION_WORDS and _lookup(last) is not None:
            # "navy blue" -> navy; "reddish brown", "army green" -> the hue
            found = (None if head.endswith("ish") else _lookup(head)) or _lookup(last)
    if found is None:  # "golden" -> gold, "reddish" -> red, "greyish" -> grey
        for suffix, add in (("dish", ""), ("ish", ""), ("ish", "e"), ("en", "")):
            if s.endswith(suffix) and len(s) > len(suffix) + 2:
                found = _lookup(s[: -len(suffix)] + add)
                if found is not None:
                    break
    return found


LIGHTER = {"pale", "light", "pastel", "soft"}
FUNCTION_WORDS = {"a", "an", "the", "in", "on", "with", "and", "or", "of", "for", "to", "at", "by", "its", "his",
                  "her", "my", "your", "their", "our", "is", "painted", "all", "some"}
DARKER = {"dark", "deep", "rich"}


def _shade(text: str, way: str) -> NamedColor | None:
    """"light"/"dark" + a colour: the table's own "light blue" / "dark red" when it has one, else the colour
    with its CIELAB lightness moved by 20."""
    base = find_color(text)
    if base is None:
        return None
    named = _lookup(f"{way} {base.name}")
    if named is not None:
        return named
    import numpy as np
    from skimage.color import lab2rgb, rgb2lab

    lab = rgb2lab(np.array(base.rgb, dtype=np.float64).reshape(1, 1, 3))
    lab[..., 0] = np.clip(lab[..., 0] + (20 if way == "light" else -20), 0, 100)
    rgb = tuple(round(float(c), 6) for c in np.clip(lab2rgb(lab), 0, 1).reshape(3))
    return NamedColor(f"{way} {base.name}", rgb, "shade")


def _lookup(s: str) -> NamedColor | None:
    key = s.replace(" ", "")
    if key in _palette():
        name, rgb = _palette()[key]
        return NamedColor(name, rgb, "palette")
    css = _css().get(key)
    if css is not None:
        return NamedColor(css[0], css[1], "css")
    if _HEX.fullmatch(s):
        h = s[1:] if len(s) == 7 else "".join(c * 2 for c in s[1:])
        return NamedColor("#" + h, tuple(round(int(h[i : i + 2], 16) / 255, 6) for i in (0, 2, 4)), "hex")
    return None


def resolve_color(text: str) -> NamedColor:
    """Like :func:`find_color`, but an unknown name raises :class:`UnknownColorError` (one line, with the fix)."""
    found = find_color(text)
    if found is not None:
        return found
    s = normalise(text)
    close = difflib.get_close_matches(s, color_names(), n=3, cutoff=0.75)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    raise UnknownColorError(f"unknown colour {text!r}{hint}: use a CSS colour name such as 'crimson', 'gray' or "
                            f"'navy', or a hex code like '#aa2222'")


def nearest_palette_name(rgb) -> str:
    """The name of gen3d's palette colour nearest to ``rgb`` (sRGB 0..1) by CIEDE2000: the colour word the
    model was trained on that comes closest to a shade ("crimson" -> "red")."""
    import numpy as np
    from skimage.color import deltaE_ciede2000, rgb2lab

    names = [n for n, _ in _palette().values()]
    labs = rgb2lab(np.array([[v for _, v in _palette().values()]], dtype=np.float64))[0]
    target = rgb2lab(np.asarray(rgb, dtype=np.float64).reshape(1, 1, 3))[0, 0]
    return names[int(np.argmin(deltaE_ciede2000(labs, target[None].repeat(len(labs), 0))))]


def color_names() -> list[str]:
    """Every name :func:`resolve_color` accepts in its canonical spelling (palette names, then CSS names)."""
    seen = [n for n, _ in _palette().values()]
    return seen + sorted({n for n, _ in _css().values()} - set(seen))
