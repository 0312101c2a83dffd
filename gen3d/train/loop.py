"""Pieces every training run shares: config files, EMA, resumable checkpoints (safetensors + JSON, never
pickle), the learning-rate schedule, JSONL logs and a loss-curve PNG.

A run directory holds::

    config.json        the training config as run
    state.safetensors  model, EMA and optimizer tensors of the last checkpoint
    state.json         step, optimizer hyper-parameters, RNG seed, wall-clock so far
    log.jsonl          one line per logged step
    loss.png           the loss curve
    samples/step_N.png sample sheets (base models)
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gen3d.atomic import atomic_write


def load_train_config(path: str | os.PathLike, overrides: dict | None = None) -> dict:
    cfg = json.loads(Path(path).read_text())
    for key, value in (overrides or {}).items():
        node = cfg
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return cfg


class EMA:
    """Exponential moving average of a model's floating-point tensors."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for e, p in zip(self.model.state_dict().values(), model.state_dict().values(), strict=True):
            if e.is_floating_point():
                e.lerp_(p.detach(), 1.0 - self.decay)
            else:
                e.copy_(p)


def lr_at(step: int, base_lr: float, warmup: int, total: int, min_ratio: float = 0.1,
          progress: float | None = None) -> float:
    """Linear warm-up then cosine decay to ``min_ratio * base_lr`` at ``total`` (then flat). ``progress``
    (0..1), when given, replaces the step-based position in the decay: a wall-clock schedule."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    if progress is None:
        progress = (step - warmup) / max(1, total - warmup)
    progress = min(1.0, max(0.0, progress))
    return base_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def save_state(run_dir: Path, model: nn.Module, ema: EMA, opt: torch.optim.Optimizer, meta: dict) -> None:
    """Write the resumable state atomically (tensors in safetensors, the rest in JSON)."""
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    tensors |= {f"ema.{k}": v.detach().contiguous().cpu() for k, v in ema.model.state_dict().items()}
    sd = opt.state_dict()
    for idx, st in sd["state"].items():
        for name, v in st.items():
            t = v if isinstance(v, torch.Tensor) else torch.tensor(v)
            tensors[f"opt.{idx}.{name}"] = t.detach().contiguous().cpu()
    atomic_write(run_dir / "state.safetensors", lambda tmp: save_file(tensors, tmp))
    meta = meta | {"param_groups": sd["param_groups"]}
    atomic_write(run_dir / "state.json", lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=2)))


def load_state(run_dir: Path, model: nn.Module, ema: EMA, opt: torch.optim.Optimizer) -> dict | None:
    """Restore a run written by :func:`save_state`; returns its meta dict, or None if there is none."""
    from safetensors.torch import load_file

    if not (run_dir / "state.json").is_file() or not (run_dir / "state.safetensors").is_file():
        return None
    meta = json.loads((run_dir / "state.json").read_text())
    tensors = load_file(str(run_dir / "state.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    ema.model.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}, strict=True)
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, idx, name = k.split(".", 2)
            state.setdefault(int(idx), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": meta.pop("param_groups")})
    return meta


class Logger:
    """Appends JSON lines to ``log.jsonl`` and redraws ``loss.png`` on demand."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / "log.jsonl"
        self.run_dir = run_dir

    def log(self, record: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")

    def records(self) -> list[dict]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def plot(self, key: str = "loss", out: str = "loss.png") -> Path | None:
        pts = [(r["step"], r[key]) for r in self.records() if key in r and math.isfinite(r[key])]
        if len(pts) < 2:
            return None
        img = plot_curve(np.array(pts, dtype=np.float64), title=f"{key} vs step")
        target = self.run_dir / out
        atomic_write(target, lambda tmp: img.save(tmp, format="PNG"))
        return target


def plot_curve(pts: np.ndarray, title: str, size: tuple[int, int] = (640, 360)):
    """A minimal line plot (log-scaled y, smoothed) drawn with Pillow."""
    from PIL import Image, ImageDraw

    w, h = size
    pad_l, pad_r, pad_t, pad_b = 60, 15, 25, 30
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    x, y = pts[:, 0], np.log10(np.maximum(pts[:, 1], 1e-8))
    k = max(1, len(y) // 50)
    ys = np.convolve(y, np.ones(k) / k, mode="valid")
    xs = x[k - 1 :]
    x0, x1 = float(x.min()), float(max(x.max(), x.min() + 1))
    y0, y1 = float(y.min()), float(max(y.max(), y.min() + 1e-3))

    def px(a, b):
        px_x = pad_l + (a - x0) / (x1 - x0) * (w - pad_l - pad_r)
        return px_x, h - pad_b - (b - y0) / (y1 - y0) * (h - pad_t - pad_b)

    d.rectangle([pad_l, pad_t, w - pad_r, h - pad_b], outline="black")
    d.line([px(a, b) for a, b in zip(x, y, strict=True)], fill=(180, 200, 230), width=1)
    if len(xs) > 1:
        d.line([px(a, b) for a, b in zip(xs, ys, strict=True)], fill=(20, 60, 160), width=2)
    d.text((pad_l, 5), title + " (log10 y)", fill="black")
    for frac in (0.0, 0.5, 1.0):
        yv = y0 + frac * (y1 - y0)
        _, py = px(x0, yv)
        d.text((5, py - 6), f"{10 ** yv:.3g}", fill="black")
    d.text((pad_l, h - pad_b + 8), f"{int(x0)}", fill="black")
    d.text((w - pad_r - 40, h - pad_b + 8), f"{int(x1)}", fill="black")
    return img


class Timer:
    def __init__(self, offset: float = 0.0):
        self.start = time.time() - offset

    @property
    def elapsed(self) -> float:
        return time.time() - self.start


def fit(
    cfg: dict,
    run_dir: Path,
    model: nn.Module,
    loss_fn,
    batches,
    device: torch.device,
    *,
    max_steps: int | None = None,
    time_limit: float | None = None,
    on_checkpoint=None,
    quiet: bool = False,
) -> dict:
    """The shared loop: AdamW + warm-up/cosine LR, grad clipping, EMA, bf16 autocast when it helps, JSONL logs,
    resumable checkpoints every ``ckpt_every`` steps (and at the end), and ``on_checkpoint(ema_model, step)``
    every ``sample_every`` steps for sample sheets. ``loss_fn(model, batch) -> dict`` with a per-example or
    scalar ``loss`` plus any other scalars to log. With ``train.schedule == "time"`` and a ``time_limit``, the
    cosine decay runs over the wall-clock budget instead of ``train.steps`` (for a fixed-length GPU lease); the
    budget counts from this call, so a resumed run starts its wall-clock schedule again."""
    from gen3d.device import autocast

    tc = cfg["train"]
    by_time = tc.get("schedule", "steps") == "time"
    if by_time and not time_limit:
        raise ValueError("train.schedule 'time' needs a time limit: pass --time-limit SECONDS (time_limit= in Python) "
                         "or use train.schedule 'steps'")
    run_dir.mkdir(parents=True, exist_ok=True)
    model.train()
    ema = EMA(model, tc.get("ema", 0.995))
    opt = torch.optim.AdamW(model.parameters(), lr=tc["lr"], betas=tuple(tc.get("betas", (0.9, 0.99))),
                            weight_decay=tc.get("weight_decay", 0.01))
    meta = load_state(run_dir, model, ema, opt) or {"step": 0, "seconds": 0.0}
    atomic_write(run_dir / "config.json", lambda tmp: Path(tmp).write_text(json.dumps(cfg, indent=2)))
    step = step0 = int(meta["step"])
    total = int(tc["steps"])
    stop_at = min(total, step0 + max_steps) if max_steps is not None else total
    use_bf16 = {"auto": bf16_helps(device), "bf16": True, "fp32": False}[tc.get("precision", "auto")]
    logger = Logger(run_dir)
    timer = Timer(offset=float(meta.get("seconds", 0.0)))
    started = t_last = time.time()
    rows: list[dict] = []
    waited = 0.0  # seconds this log window spent waiting for data
    if not quiet:
        n = sum(p.numel() for p in model.parameters())
        print(f"training {n / 1e6:.2f}M params on {device} ({'bf16' if use_bf16 else 'fp32'}), "
              f"step {step} -> {stop_at}", flush=True)
    while step < stop_at:
        t_wait = time.time()
        batch = next(batches)
        waited += time.time() - t_wait
        progress = (time.time() - started) / time_limit if by_time else None
        for group in opt.param_groups:
            group["lr"] = lr_at(step, tc["lr"], tc.get("warmup", 200), total, tc.get("min_lr_ratio", 0.1), progress)
        with autocast(device, use_bf16):
            terms = loss_fn(model, batch)
        loss = terms["loss"].float().mean()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}: lower the learning rate")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), tc.get("clip", 1.0))
        opt.step()
        ema.update(model)
        step += 1
        rows.append({k: float(v.detach().float().mean()) for k, v in terms.items()} | {"grad_norm": float(gnorm)})
        done = step >= stop_at or (time_limit is not None and time.time() - started > time_limit)
        if step % tc.get("log_every", 10) == 0 or done:
            rec = {"step": step} | {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
            window = max(time.time() - t_last, 1e-9)
            rec |= {"lr": opt.param_groups[0]["lr"], "steps_per_s": len(rows) / window,
                    "data_wait": min(1.0, waited / window),  # share of the window spent waiting for batches
                    "seconds": timer.elapsed}
            logger.log(rec)
            rows, t_last, waited = [], time.time(), 0.0
            if not quiet:
                print(json.dumps(rec), flush=True)
        if step % tc.get("ckpt_every", 200) == 0 or done:
            save_state(run_dir, model, ema, opt, {"step": step, "seconds": timer.elapsed})
            logger.plot()
        if on_checkpoint is not None and (step % tc.get("sample_every", 1000) == 0 or (done and step >= stop_at)):
            on_checkpoint(ema.model, step)
            model.train()
        if done:
            break
    return {"step": step, "seconds": timer.elapsed, "run_dir": str(run_dir), "ema": ema.model}


def bf16_helps(device: torch.device) -> bool:
    """bf16 autocast speeds training on CUDA and on CPUs with native bf16 (AVX-512 BF16 / AMX); on plain
    AVX2 CPUs it is several times SLOWER (measured here: 7x for sampling), so 'auto' leaves it off there."""
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resume_step(run_dir: str | Path) -> int:
    """The step a run folder's checkpoint is at (0 for a new run)."""
    p = Path(run_dir) / "state.json"
    return int(json.loads(p.read_text())["step"]) if p.is_file() else 0


def start_run(cfg: dict, run_dir: str | Path, device: str = "auto",
              init_from: str | None = None) -> tuple[nn.Module, torch.device, int, int]:
    """What every ``gen3d train`` command does first -> (model, device, seed, start step): resolve the device,
    set the thread count, seed (afresh after a resume), build the config's model and, for a new run only,
    load ``init_from`` weights into it (a resumed run keeps its own)."""
    from gen3d.device import resolve_device
    from gen3d.models.checkpoints import load_model
    from gen3d.models.configs import build_model

    tc, model_cfg = cfg["train"], cfg["model"]
    dev = resolve_device(device)
    if tc.get("threads"):
        torch.set_num_threads(int(tc["threads"]))
    seed, start = int(tc.get("seed", 0)), resume_step(run_dir)
    seed_everything(seed + 1000003 * start)  # fresh noise after a resume
    model = build_model(model_cfg).to(dev)
    if init_from and start == 0:
        released, _ = load_model(init_from, None if str(init_from).endswith(".safetensors") else model_cfg,
                                 experts=False)  # a model with timestep experts fine-tunes from its base network
        model.load_state_dict(released.state_dict())
    return model, dev, seed, start


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch; any int (numpy takes 0..2**32-1, so a resumed run's large seed wraps)."""
    import random

    seed = int(seed) % 2**32
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def export_ema(run_dir: str | Path, out: str | Path, extra: dict | None = None) -> Path:
    """Write a run's EMA weights as fp16 safetensors + JSON config (the shipped format)."""
    from safetensors.torch import load_file

    from gen3d.models.checkpoints import save_checkpoint
    from gen3d.models.configs import build_model

    run_dir = Path(run_dir)
    cfg = json.loads((run_dir / "config.json").read_text())
    tensors = load_file(str(run_dir / "state.safetensors"))
    model = build_model(cfg["model"])
    model.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}, strict=True)
    meta = json.loads((run_dir / "state.json").read_text())
    model_cfg = cfg["model"] | {"trained": {"steps": meta["step"], "cpu_hours": round(meta["seconds"] / 3600, 2)}}
    model_cfg |= extra or {}
    return save_checkpoint(model, model_cfg, Path(out))
