#!/usr/bin/env python
"""Time full Karras-Heun sampling of the base40M-textvec config (random weights) on the current device.

For each (batch, precision) it runs in a fresh subprocess (so peak memory is per configuration) and prints
seconds per sample and peak memory (CUDA: max allocated; CPU: peak RSS of the process).

    python scripts/bench_sampling.py                       # 64 steps, batch 1 and 4, fp32 and bf16
    python scripts/bench_sampling.py --steps 8 --batch 1   # a quicker look; time scales linearly with steps
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def one(batch: int, precision: str, steps: int, device_name: str, config: str) -> dict:
    import resource

    import torch

    from gen3d.device import autocast, resolve_device
    from gen3d.diffusion.gaussian import GaussianDiffusion
    from gen3d.diffusion.samplers import karras_heun_steps, run, x0_predictor
    from gen3d.models.configs import build_model, named_config

    device = resolve_device(device_name)
    cfg = named_config(config)
    torch.manual_seed(0)
    model = build_model(cfg).to(device).eval()
    s = cfg["sampler"]
    diffusion = GaussianDiffusion.named(cfg["diffusion"]["schedule"], cfg["diffusion"]["timesteps"])
    dim = cfg["model"]["text_dim"]
    emb = torch.nn.functional.normalize(torch.randn(batch, dim, device=device), dim=-1)
    f = x0_predictor(model, diffusion, {"embeddings": emb}, {"embeddings": torch.zeros_like(emb)},
                     guidance_scale=s["guidance_scale"], clip_denoised=True)
    x_T = torch.randn(batch, 6, cfg["points"], device=device) * s["sigma_max"]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with torch.no_grad(), autocast(device, precision == "bf16"):
        t0 = time.perf_counter()
        out = run(karras_heun_steps(f, diffusion, x_T, steps=steps, sigma_min=s["sigma_min"],
                                    sigma_max=s["sigma_max"], s_churn=s["s_churn"]))
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
    assert torch.isfinite(out).all()
    peak = (torch.cuda.max_memory_allocated() if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"config": config, "device": str(device), "batch": batch, "precision": precision, "steps": steps,
            "model_evals": 2 * steps - 1, "seconds": dt, "seconds_per_sample": dt / batch,
            "peak_mem_mb": peak / 2**20, "threads": torch.get_num_threads()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--config", default="base40M-textvec")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--_one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._one:
        b, p = a._one.split(",")
        print(json.dumps(one(int(b), p, a.steps, a.device, a.config)))
        return
    rows = []
    print(f"{'config':<16} {'device':<6} {'batch':>5} {'prec':<5} {'steps':>5} {'s/sample':>9} {'peak MB':>8}")
    for p in a.precision:
        for b in a.batch:
            cmd = [sys.executable, __file__, "--_one", f"{b},{p}", "--steps", str(a.steps), "--device", a.device,
                   "--config", a.config]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            rows.append(r)
            print(f"{r['config']:<16} {r['device']:<6} {b:>5} {p:<5} {r['steps']:>5} "
                  f"{r['seconds_per_sample']:>9.2f} {r['peak_mem_mb']:>8.0f}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
