#!/usr/bin/env python
"""Render a model's release sample sheet: one sample per fixed prompt, tiled into a labelled PNG.

The prompts are the training config's ``sample_prompts`` (the list the periodic training sheets use);
prompt i gets seed ``first_seed + i``. Sampling goes through :class:`gen3d.pipeline.Pipeline`, so a model
folder's timestep experts, sha256 checks and sampler settings (spacing, guidance) are the ones
``gen3d make`` and ``gen3d eval`` use; ``--steps`` overrides the step count only.

    python scripts/render_sample_sheet.py                                   # gen3d-small -> its samples.png
    python scripts/render_sample_sheet.py --model runs/cand --out /tmp/sheet.png --steps 16
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="gen3d-small", help="a registered model name or a model folder")
    ap.add_argument("--config", default=str(ROOT / "assets/configs/gen3d-small-base.json"),
                    help="training config whose sample_prompts are rendered")
    ap.add_argument("--out", default=None, help="PNG to write (default: the model folder's samples.png)")
    ap.add_argument("--steps", type=int, default=32, help="DDIM steps (default 32)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--cols", type=int, default=8)
    ap.add_argument("--size", type=int, default=192, help="tile size in pixels")
    args = ap.parse_args(argv)

    try:
        prompts = json.loads(Path(args.config).read_text())["sample_prompts"]
    except (OSError, ValueError, KeyError) as e:
        print(f"error: cannot read sample_prompts from {args.config} ({e}); pass --config with a training config",
              file=sys.stderr)
        return 2
    if not prompts:
        print(f"error: {args.config} lists no sample_prompts; add some or pass another --config", file=sys.stderr)
        return 2

    import torch

    from gen3d.atomic import atomic_write_bytes
    from gen3d.pipeline import ModelError, Pipeline
    from gen3d.render import cloud_sheet

    try:
        pipe = Pipeline(args.model, device="cpu")
    except (ModelError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else pipe.spec.directory() / "samples.png"
    seeds = [args.first_seed + i for i in range(len(prompts))]
    with torch.inference_mode():
        clouds = pipe.sample_points(prompts, seeds, steps=args.steps)
    sheet = cloud_sheet(clouds, labels=prompts, size=args.size, cols=args.cols)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    atomic_write_bytes(out, buf.getvalue(), force=True)
    print(f"wrote {out} ({sheet.size[0]}x{sheet.size[1]}): {len(prompts)} prompts, DDIM {args.steps}, "
          f"seeds {seeds[0]}-{seeds[-1]}, model {pipe.spec.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
