"""Grow a point diffusion model's depth without changing what it computes, as a starting point for training.

    python scripts/grow_depth.py assets/models/gen3d-small/base.safetensors runs/grown/base.safetensors --after 1,3

Each block named by ``--after`` gets a copy inserted right after it whose two output projections (attention and
MLP ``c_proj``) are zero, so the new block adds nothing to the residual stream until training moves it: the grown
model's outputs equal the source's exactly. Train it with ``gen3d train base --init-from OUT --set
model.model.layers=N`` (N: the grown depth, printed here).
"""

from __future__ import annotations

import argparse
import copy
import sys

import torch

from gen3d.models.checkpoints import load_model, save_checkpoint
from gen3d.models.configs import build_model


def grow(model: torch.nn.Module, config: dict, after: list[int]) -> tuple[torch.nn.Module, dict]:
    """(model, config) -> (grown model, its config); see the module docstring."""
    layers = int(config["model"]["layers"])
    if not after or any(not 0 <= i < layers for i in after) or len(set(after)) != len(after):
        raise ValueError(f"--after needs distinct block indices in 0..{layers - 1}, got {after}")
    order = [(i, copy_) for i in range(layers) for copy_ in ([False, True] if i in after else [False])]
    grown_cfg = copy.deepcopy(config)
    grown_cfg["model"]["layers"] = len(order)
    grown = build_model(grown_cfg)
    src = model.state_dict()
    out = {k: v for k, v in src.items() if not k.startswith("backbone.resblocks.")}
    for j, (i, is_copy) in enumerate(order):
        prefix = f"backbone.resblocks.{i}."
        for k, v in src.items():
            if k.startswith(prefix):
                rest = k[len(prefix):]
                w = v.clone()
                if is_copy and rest.split(".")[1] == "c_proj":
                    w.zero_()
                out[f"backbone.resblocks.{j}.{rest}"] = w
    grown.load_state_dict(out, strict=True)
    return grown.eval(), grown_cfg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", help="a .safetensors base model with its .json config beside it")
    ap.add_argument("out", help="where to write the grown .safetensors (+ .json)")
    ap.add_argument("--after", required=True, help="comma-separated block indices to copy, e.g. 1,3")
    a = ap.parse_args(argv)
    try:
        after = [int(x) for x in a.after.split(",")]
        model, config = load_model(a.src, experts=False)  # the base network; experts do not fit the grown depth
        config = {k: v for k, v in config.items() if k != "experts"}
        grown, cfg = grow(model, config, after)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    save_checkpoint(grown, cfg, a.out, dtype=None)
    print(f"{config['model']['layers']} -> {cfg['model']['layers']} layers; train with "
          f"--init-from {a.out} --set model.model.layers={cfg['model']['layers']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
