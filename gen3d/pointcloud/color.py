"""Colour operations on a cloud's colours: its colour regions, and giving one region an exact colour.

Colours are sRGB in 0..1 ``[N, 3]``. Distances are CIEDE2000 in CIELAB (scikit-image).
"""

from __future__ import annotations

import numpy as np


def to_lab(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    return rgb2lab(np.clip(np.asarray(rgb, dtype=np.float64), 0, 1).reshape(-1, 1, 3)).reshape(-1, 3)


def to_rgb(lab: np.ndarray) -> np.ndarray:
    from skimage.color import lab2rgb

    return np.clip(lab2rgb(np.asarray(lab, dtype=np.float64).reshape(-1, 1, 3)).reshape(-1, 3), 0, 1)


def delta_e(lab_a: np.ndarray, lab_b: np.ndarray) -> np.ndarray:
    """CIEDE2000 between rows (or one row broadcast against many)."""
    from skimage.color import deltaE_ciede2000

    a, b = np.broadcast_arrays(np.atleast_2d(lab_a), np.atleast_2d(lab_b))
    return deltaE_ciede2000(a, b)


def color_regions(rgb: np.ndarray, k: int = 3, iters: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k-means in CIELAB: ``(labels [N], centres [k, 3] Lab)``; deterministic for a seed."""
    lab = to_lab(rgb)
    k = max(1, min(k, len(lab)))
    rng = np.random.default_rng(seed)
    centres = lab[rng.choice(len(lab), k, replace=False)]
    for _ in range(iters):
        labels = ((lab[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        centres = np.stack([lab[labels == j].mean(0) if (labels == j).any() else centres[j] for j in range(k)])
    labels = ((lab[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    return labels, centres


def dominant_lab(rgb: np.ndarray, k: int = 3) -> np.ndarray:
    """The mean CIELAB colour of the largest colour region."""
    labels, _ = color_regions(rgb, k)
    lab = to_lab(rgb)
    return lab[labels == np.bincount(labels, minlength=k).argmax()].mean(0)


def recolor(rgb: np.ndarray, target: tuple[float, float, float], near: tuple[float, float, float] | None = None,
            k: int = 3, max_distance: float = 30.0, merge_distance: float = 20.0) -> np.ndarray:
    """Give one colour region the exact colour ``target`` (sRGB 0..1), keeping its shading: every point of
    the region moves by the same CIELAB offset, so its mean becomes ``target`` and light/dark variation stays.

    The region is the one whose centre is nearest (CIEDE2000) to ``near`` when one is within ``max_distance``
    (the colour the model was asked for, e.g. the palette's "red" for "crimson"), else the largest region;
    regions within ``merge_distance`` of it (the same part, lit differently) move with it; the other regions
    (legs, handles in another colour) are left as they are."""
    rgb = np.asarray(rgb, dtype=np.float64)
    if len(rgb) == 0:
        return rgb.astype(np.float32)
    labels, centres = color_regions(rgb, k)
    sizes = np.bincount(labels, minlength=len(centres))
    lab = to_lab(rgb)
    means = np.stack([lab[labels == j].mean(0) if sizes[j] else centres[j] for j in range(len(centres))])
    region = int(sizes.argmax())
    if near is not None:
        d = delta_e(means, to_lab(np.asarray(near)[None])[0][None].repeat(len(means), 0))
        d[sizes == 0] = np.inf
        if d.min() <= max_distance:
            region = int(d.argmin())
    # shading can split one coloured part into several regions: take those close to the chosen one too
    close = delta_e(means, means[region][None].repeat(len(means), 0)) <= merge_distance
    sel = np.isin(labels, np.flatnonzero(close & (sizes > 0)))
    goal = to_lab(np.asarray(target)[None])[0]
    out = rgb.copy()
    # lab2rgb clips out-of-gamut colours, which pulls the mean away from the goal: re-centre a few times
    shift = goal - lab[sel].mean(0)
    for _ in range(4):
        out[sel] = to_rgb(lab[sel] + shift)
        err = goal - to_lab(out[sel]).mean(0)
        if np.abs(err).max() < 0.2:
            break
        shift = shift + err
    return out.astype(np.float32)
