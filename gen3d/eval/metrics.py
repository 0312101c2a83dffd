"""Model metrics on generated clouds: category accuracy (the R-precision analogue), P-FID and P-IS from the
classifier's features, named-colour accuracy in CIELAB, diversity across seeds, and Chamfer coverage / MMD
against real shapes of the category."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

# ---------------------------------------------------------------------------------------------- classifier


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two feature sets [M, D] (Gaussian fit of each)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    eps = np.eye(a.shape[1]) * 1e-6  # keeps the product well-conditioned for small sample sets
    s1, s2 = np.cov(a, rowvar=False) + eps, np.cov(b, rowvar=False) + eps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = np.real(linalg.sqrtm(s1 @ s2))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def inception_score(probs: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y)))."""
    p = np.clip(probs, 1e-12, 1.0)
    py = p.mean(0, keepdims=True)
    return float(np.exp((p * (np.log(p) - np.log(py))).sum(1).mean()))


# ---------------------------------------------------------------------------------------------- colour


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in 0..1 [..., 3] -> CIELAB (D65) [..., 3]."""
    c = np.asarray(rgb, dtype=np.float64)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def dominant_color(rgb: np.ndarray, k: int = 3, iters: int = 12, seed: int = 0) -> np.ndarray:
    """The centre (sRGB 0..1) of the largest of ``k`` k-means clusters in CIELAB."""
    lab = srgb_to_lab(rgb)
    rng = np.random.default_rng(seed)
    centres = lab[rng.choice(len(lab), k, replace=False)]
    for _ in range(iters):
        assign = ((lab[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        centres = np.stack([lab[assign == j].mean(0) if (assign == j).any() else centres[j] for j in range(k)])
    assign = ((lab[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    biggest = np.bincount(assign, minlength=k).argmax()
    return rgb[assign == biggest].mean(0)


def nearest_color_name(rgb: np.ndarray, palette: dict[str, tuple[float, float, float]]) -> tuple[str, float]:
    names = list(palette)
    labs = srgb_to_lab(np.array([palette[n] for n in names]))
    d = np.linalg.norm(labs - srgb_to_lab(np.asarray(rgb))[None], axis=1)
    return names[int(d.argmin())], float(d.min())


def color_matches(rgb: np.ndarray, target: str | tuple[float, float, float],
                  palette: dict[str, tuple[float, float, float]], max_delta_e: float = 25.0) -> bool:
    """True when the cloud's dominant colour is within ``max_delta_e`` (CIE76) of the target colour, or the
    palette entry nearest to it is the one nearest to the target. ``target`` is a colour name in any spelling
    :func:`gen3d.text.colors.resolve_color` accepts ("gray", "crimson", "#aa2222") or an sRGB triple in 0..1;
    an unknown name raises its one-line ValueError."""
    from gen3d.text.colors import resolve_color

    target_rgb = np.asarray(resolve_color(target).rgb if isinstance(target, str) else target, dtype=np.float64)
    dom = dominant_color(rgb)
    de = float(np.linalg.norm(srgb_to_lab(dom) - srgb_to_lab(target_rgb)))
    return de <= max_delta_e or nearest_color_name(dom, palette)[0] == nearest_color_name(target_rgb, palette)[0]


# ---------------------------------------------------------------------------------------------- geometry


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    from gen3d.eval.recon import chamfer_distance

    return chamfer_distance(a, b)


def diversity(clouds: list[np.ndarray]) -> float:
    """Mean pairwise Chamfer distance between samples of one prompt (0 = all identical)."""
    if len(clouds) < 2:
        return float("nan")
    d = [chamfer(clouds[i], clouds[j]) for i in range(len(clouds)) for j in range(i + 1, len(clouds))]
    return float(np.mean(d))


def coverage_mmd(generated: list[np.ndarray], real: list[np.ndarray]) -> tuple[float, float]:
    """Coverage: share of real shapes that are some generated sample's nearest real shape; MMD: mean over
    real shapes of the Chamfer distance to their closest generated sample."""
    d = np.array([[chamfer(g, r) for r in real] for g in generated])
    cov = len(set(d.argmin(1).tolist())) / len(real)
    return float(cov), float(d.min(0).mean())
