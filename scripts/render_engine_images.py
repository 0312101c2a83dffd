#!/usr/bin/env python
"""Render the pictures of docs/engines.md with gen3d's own renderer (pyrender, smooth shading, normal maps):

- ``normal_map_lod.png``: the same generated object at 2k faces, 2k faces + its baked normal map, and 10k faces;
- ``collision_hulls.png``: the mesh, its convex hull (``--collision convex``) and its CoACD decomposition
  (``--collision decomposed``), one colour per hull.

The object is the docs' first prompt at its seed ("a red chair", seed 0: chosen before looking, as in
scripts/render_docs_images.py), through ``gen3d.load_pipeline().generate`` as ``gen3d make`` runs it.

    .venv/bin/python scripts/render_engine_images.py [--out-dir docs/images --tile 480]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

PROMPT, SEED = "a red chair", 0
DIRECTION = (0.55, 0.35, 1.0)


def centred(asset):
    """A copy of the textured mesh moved to the origin and scaled to a largest side of 1 (the renderer's frame)."""
    import copy

    import numpy as np

    a = copy.copy(asset)
    lo, hi = asset.vertices.min(axis=0), asset.vertices.max(axis=0)
    a.vertices = ((asset.vertices - (lo + hi) / 2) / float((hi - lo).max())).astype(np.float32)
    return a, (lo + hi) / 2, float((hi - lo).max())


def hull_mesh(hulls, centre, scale):
    """All hulls as one trimesh, one colour each, in the centred frame."""
    import numpy as np
    import trimesh

    palette = np.array([[230, 97, 1], [94, 60, 153], [27, 158, 119], [217, 95, 2], [117, 112, 179],
                        [231, 41, 138], [102, 166, 30], [230, 171, 2], [166, 118, 29], [31, 120, 180]])
    parts = []
    for i, (v, f) in enumerate(hulls):
        m = trimesh.Trimesh((np.asarray(v) - centre) / scale, f, process=False)
        m.visual.face_colors = np.append(palette[i % len(palette)], 255)
        parts.append(m)
    return trimesh.util.concatenate(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--tile", type=int, default=480, help="pixels per picture (square)")
    ap.add_argument("--model", default="gen3d-small")
    args = ap.parse_args()

    from gen3d.pipeline import load_pipeline
    from gen3d.render import contact_sheet, render_mesh, render_textured

    t0 = time.perf_counter()
    pipe = load_pipeline(args.model)
    low = pipe.generate(PROMPT, seed=SEED, max_faces=2000, normal_map=True, collision="decomposed").mesh
    high = pipe.generate(PROMPT, seed=SEED, max_faces=10000).mesh
    convex = pipe.generate(PROMPT, seed=SEED, max_faces=2000, collision="convex").mesh.collision
    size = (args.tile, args.tile)
    lo_c, centre, scale = centred(low)
    hi_c, _, _ = centred(high)
    view = {"size": size, "distance": 2.25, "direction": DIRECTION}
    images = [render_textured(lo_c, normal_map=False, **view), render_textured(lo_c, **view),
              render_textured(hi_c, **view)]
    labels = [f"{len(low.faces)} faces", f"{len(low.faces)} faces + normal map", f"{len(high.faces)} faces"]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    contact_sheet(images, cols=3, labels=labels, label_size=max(12, args.tile // 28)).save(
        args.out_dir / "normal_map_lod.png", optimize=True)
    hulls = [render_textured(lo_c, **view), render_mesh(hull_mesh(convex, centre, scale), **view),
             render_mesh(hull_mesh(low.collision, centre, scale), **view)]
    contact_sheet(hulls, cols=3, labels=["mesh", "--collision convex (1 hull)",
                                         f"--collision decomposed ({len(low.collision)} hulls)"],
                  label_size=max(12, args.tile // 28)).save(args.out_dir / "collision_hulls.png", optimize=True)
    print(f"wrote {args.out_dir / 'normal_map_lod.png'} and {args.out_dir / 'collision_hulls.png'} "
          f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
