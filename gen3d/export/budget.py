"""A preset's byte budget for its whole download: the main file and its LOD files together (issue 41: LOD0 at 2k
faces, 2 LODs, collision and 1024² base colour and normal maps in 1.5 MB).

The normal maps are most of those bytes, and a lumpy generated surface does not compress well as a lossless PNG.
So the normal maps of every level are written lossless when all the files fit, and otherwise snapped to the finest
grid of :data:`NORMAL_STEPS` that fits (:func:`gen3d.texture.normals.quantize_normal_map`: a plain PNG, glTF core).
The mean angle each step adds to the decoded normals is measured on the covered texels and written into each
file's metadata (``normal_map_encoding``). The measurements behind the choice are in docs/engines.md: for the same
error JPEG costs more bytes, and a smaller LOD normal map more error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gen3d.texture.asset import TexturedMesh

# per-channel grid steps, finest first: lossless, then about 0.4, 0.5, 0.85 and 1.2 degrees of mean error on a
# generated object's normal map (even steps pay more bytes for their error than the odd step above them, so 4
# and 6 are left out)
NORMAL_STEPS = (1, 2, 3, 5, 7)
LEVEL9_GAIN = 1.04  # zlib level 9 saves at most about 3% of a normal map PNG's level-6 bytes
SLACK_BYTES = 256  # per file: the metadata written after the choice (step and error)


@dataclass
class NormalMaps:
    """The chosen encoding of every level's normal map."""

    step: int
    pngs: list[bytes]  # one per level
    errors_deg: list[float]  # mean angle the step adds, per level (0 when lossless)
    total_bytes: int  # of the files with these PNGs (as measured by ``size_of``)
    fits: bool

    def metadata(self, level: int, budget: int) -> dict:
        return {"normal_map_encoding": {"grid_step": self.step, "lossless": self.step == 1,
                                        "mean_error_deg": round(self.errors_deg[level], 3),
                                        "preset_budget_bytes": budget}}


def fit_normal_maps(items: Sequence[TexturedMesh], size_of: Callable[[int, bytes], int], budget: int,
                    steps: Sequence[int] = NORMAL_STEPS) -> NormalMaps:
    """Encode the normal maps of ``items`` (the levels, each with a normal map) with the finest of ``steps`` whose
    files fit in ``budget`` bytes; ``size_of(level, png)`` is the size of level ``level``'s file with that normal
    map PNG. Steps are tried with quick PNGs (zlib level 6), and the step before the first that fits once more
    with the smallest (level 9, 2-3% smaller). The files are never larger than measured. When no step fits: the
    last."""
    from gen3d.export.glb import encode_png_small
    from gen3d.texture.normals import chart_mask, normal_map_error, quantize_normal_map

    def grid(step: int) -> list:
        return [quantize_normal_map(it.normal_map, step) for it in items]

    def encode(maps: list, level: int, measure: bool = True) -> tuple[list[bytes], int]:
        pngs = [encode_png_small(m, level=level) for m in maps]
        if not measure:
            return pngs, 0
        return pngs, sum(size_of(k, png) for k, png in enumerate(pngs)) + SLACK_BYTES * len(items)

    i, totals = 0, []
    while True:
        maps = grid(steps[i])
        pngs, total = encode(maps, 6)
        totals.append(total)
        if total <= budget or i == len(steps) - 1:
            break
        i += 1
    smallest = False
    if i > 0 and totals[i - 1] <= budget * LEVEL9_GAIN:  # the finer step may fit with the smallest PNGs
        finer = grid(steps[i - 1])
        finer_pngs, finer_total = encode(finer, 9)
        if finer_total <= budget:
            i, maps, pngs, smallest = i - 1, finer, finer_pngs, True
    if not smallest:
        pngs = [min(a, b, key=len) for a, b in zip(pngs, encode(maps, 9, measure=False)[0], strict=True)]
    step = steps[i]
    errors = [0.0 if step == 1 else normal_map_error(it.normal_map, m, chart_mask(it.uvs, it.faces, m.shape[0]))
              for it, m in zip(items, maps, strict=True)]
    total = sum(size_of(k, png) for k, png in enumerate(pngs))
    return NormalMaps(step, pngs, errors, total, total + SLACK_BYTES * len(items) <= budget)
