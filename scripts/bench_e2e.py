#!/usr/bin/env python
"""End-to-end benchmark: prompt -> GLB per stage (median of several runs), cold `gen3d make` wall time and
peak RSS, and batch throughput (assets/minute) for 32 prompts with the local backend and with Ray.

    python scripts/bench_e2e.py                          # the bundled gen3d-small at default settings
    python scripts/bench_e2e.py --runs 3 --cold-runs 1 --batch-prompts 8 --no-ray   # a quicker look
    python scripts/bench_e2e.py --standin                # no bundled weights yet: a random-weights model of the
                                                         # same base config (timings only; shapes are noise;
                                                         # no SDF decoder, so the default classical mesher)

Every measurement runs in a fresh subprocess so peak RSS is per measurement. Results print as a Markdown
table and, with --json PATH, as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = [
    "a red chair", "a wooden table", "a blue mug", "a lamp", "a green pine tree", "a car", "an airplane", "a sword",
    "a house", "a yellow sofa", "a barrel", "a torus", "a white bathtub", "a bookshelf", "a black office chair",
    "a round side table", "a teapot", "a wine bottle", "a bicycle", "a rowboat", "a stool", "a bed", "a vase",
    "a candle", "a wooden crate", "a traffic cone", "a desk", "a bench", "a cactus", "a mushroom", "a rocket",
    "a treasure chest",
]


def _gen3d() -> list[str]:
    return [sys.executable, "-c", "from gen3d.cli import main; main()"]


def _env(threads: int | None = None) -> dict:
    """The children's environment. Torch threads are the user's default (all cores) unless ``threads``;
    an ``OMP_NUM_THREADS`` inherited from a test shell is dropped so that "default settings" means that."""
    env = {**os.environ}
    env.pop("OMP_NUM_THREADS", None)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    env.setdefault("PYOPENGL_PLATFORM", "egl")
    env.setdefault("RAY_AUTH_MODE", "disabled")
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    return env


# ------------------------------------------------------------------------------------------------ children


def child_single(model: str, runs: int, prompt: str) -> None:
    """Load once, then ``runs`` x (generate + save GLB); JSON on stdout."""
    t0 = time.perf_counter()
    from gen3d.pipeline import load_pipeline

    pipe = load_pipeline(model, "cpu")
    load_s = time.perf_counter() - t0
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):  # run 0 warms caches (first-call costs) and is reported apart
            t1 = time.perf_counter()
            asset = pipe.generate(prompt, seed=i)
            t2 = time.perf_counter()
            asset.save(Path(tmp) / f"a{i}.glb")
            t3 = time.perf_counter()
            stages = {k: v for k, v in asset.timings.items() if k not in ("total", "sdf_queries")}  # seconds only
            stages["export"] = t3 - t2
            stages["total"] = t3 - t1
            out.append(stages)
    import torch

    print(json.dumps({"load_s": load_s, "first": out[0], "runs": out[1:], "threads": torch.get_num_threads(),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "faces": int(len(asset.mesh.faces)), "mesher": asset.metadata["parameters"].get("mesher")}))


# ------------------------------------------------------------------------------------------------ driver


def _run(cmd: list[str], env: dict, timeout: float = 3600) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr[-2000:]}")
    return dt, res


def _children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def bench_single(model: str, runs: int, env: dict) -> dict:
    _, res = _run([sys.executable, __file__, "_single", "--model", model, "--runs", str(runs)], env)
    data = json.loads(res.stdout.strip().splitlines()[-1])
    stages = list(data["runs"][0])
    data["median"] = {k: statistics.median(r[k] for r in data["runs"]) for k in stages}
    return data


def bench_cold(model: str, runs: int, env: dict, tmp: Path) -> dict:
    walls = []
    for i in range(runs):
        dt, _ = _run(_gen3d() + ["make", "a red chair", "-o", str(tmp / f"cold{i}.glb"), "--seed", str(i),
                                 "--model", model, "-q", "--force"], env)
        walls.append(dt)
    return {"walls_s": walls, "median_s": statistics.median(walls)}


def bench_help(env: dict) -> float:
    return statistics.median(_run(_gen3d() + ["--help"], env)[0] for _ in range(3))


def bench_batch(model: str, n: int, backend: str, env: dict, tmp: Path, workers: int | None) -> dict:
    prompts = tmp / "prompts.txt"
    prompts.write_text("\n".join((PROMPTS * (n // len(PROMPTS) + 1))[:n]) + "\n")
    out = tmp / f"batch_{backend}"
    cmd = _gen3d() + ["batch", str(prompts), "--out", str(out), "--model", model, "--json", "--force",
                      "--backend", backend]
    if backend == "ray" and workers:
        cmd += ["--workers", str(workers)]
    if backend == "ray":
        env = {**env, "RAY_TMPDIR": tempfile.mkdtemp(prefix="rb", dir="/tmp")}
    dt, res = _run(cmd, env)
    summary = json.loads(res.stdout)
    recs = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    finished = sorted(r["finished"] for r in recs)
    steady = (len(finished) - 1) / (finished[-1] - finished[0]) * 60 if len(finished) > 1 else None
    if backend == "ray":
        shutil.rmtree(env["RAY_TMPDIR"], ignore_errors=True)
    return {"backend": backend, "assets": summary["ok"], "failed": summary["failed"], "wall_s": dt,
            "assets_per_min": summary["ok"] / dt * 60, "steady_assets_per_min": steady,
            "median_asset_s": statistics.median(r["timings"]["total"] for r in recs if r["status"] == "ok")}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_single":
        ap = argparse.ArgumentParser()
        ap.add_argument("_single")
        ap.add_argument("--model", required=True)
        ap.add_argument("--runs", type=int, default=5)
        ap.add_argument("--prompt", default="a red chair")
        a = ap.parse_args()
        return child_single(a.model, a.runs, a.prompt)

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="gen3d-small", help="model name or folder (default gen3d-small)")
    ap.add_argument("--standin", action="store_true", help="use a random-weights model of the gen3d-small "
                    "configs (for timing before the bundled weights exist; shapes are noise)")
    ap.add_argument("--runs", type=int, default=5, help="warm single-asset runs (median)")
    ap.add_argument("--cold-runs", type=int, default=3, help="cold `gen3d make` runs (median)")
    ap.add_argument("--batch-prompts", type=int, default=32)
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray backend")
    ap.add_argument("--workers", type=int, default=None, help="Ray actors (default: one per CPU)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads in the children (default: torch's own default, i.e. all cores)")
    args = ap.parse_args()

    env = _env(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench_e2e_"))
    model = args.model
    try:
        if args.standin:
            model = str(make_standin(tmp / "standin"))
        else:
            from gen3d.registry import ModelError, resolve

            try:
                spec = resolve(model)
            except ModelError as e:
                raise SystemExit(f"error: {e}") from None
            if not spec.path("base").is_file():
                raise SystemExit(f"error: {spec.path('base')} is missing: train/export the model or use --standin")
        results: dict = {"model": args.model + (" (random-weights stand-in)" if args.standin else ""),
                         "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                         "load_avg_before": os.getloadavg(), "command": " ".join(["python", *sys.argv])}
        results["help_s"] = bench_help(env)
        results["single"] = bench_single(model, args.runs, env)
        results["cold"] = bench_cold(model, args.cold_runs, env, tmp) if args.cold_runs else None
        results["peak_rss_mb_any_child"] = _children_peak_mb()
        results["batch"] = [bench_batch(model, args.batch_prompts, "local", env, tmp, None)]
        if not args.no_ray:
            results["batch"].append(bench_batch(model, args.batch_prompts, "ray", env, tmp, args.workers))
        results["load_avg_after"] = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def make_standin(directory: Path) -> Path:
    """A model folder with the gen3d-small base config and random weights (real code path). No SDF decoder:
    a random one gives no surface, so the stand-in meshes with the default classical mesher."""
    import torch

    from gen3d.models.checkpoints import save_checkpoint
    from gen3d.models.configs import build_model

    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for role in ("base",):
        cfg_path = ROOT / "assets" / "configs" / f"gen3d-small-{role}.json"
        cfg = json.loads(cfg_path.read_text())["model"]
        model = build_model(cfg)
        if hasattr(model, "output_proj"):
            torch.nn.init.normal_(model.output_proj.weight, std=0.02)  # zero-init collapses every point
        save_checkpoint(model, cfg, directory / f"{role}.safetensors")
    return directory


def report(r: dict) -> str:
    s = r["single"]
    lines = [f"model: {r['model']}; {r['cores']} cores; load average before {r['load_avg_before'][0]:.1f}, "
             f"after {r['load_avg_after'][0]:.1f}; torch threads {s['threads']}",
             f"command: {r['command']}", "",
             f"`gen3d --help`: {r['help_s']:.2f} s (median of 3)",
             f"model load (warm process): {s['load_s']:.2f} s; mesher {s['mesher']}; {s['faces']} faces", "",
             "| stage | median s (warm) | first call s |", "|---|---:|---:|"]
    for k, v in s["median"].items():
        lines.append(f"| {k} | {v:.3f} | {s['first'].get(k, float('nan')):.3f} |")
    lines.append("")
    if r["cold"]:
        lines.append(f"cold `gen3d make` end to end (new process, load + generate + GLB): median "
                     f"{r['cold']['median_s']:.2f} s of {len(r['cold']['walls_s'])} "
                     f"({', '.join(f'{w:.1f}' for w in r['cold']['walls_s'])})")
    lines.append(f"peak RSS: single-asset process {s['peak_rss_mb']:.0f} MB; largest of all child processes "
                 f"{r['peak_rss_mb_any_child']:.0f} MB")
    lines += ["", "| batch backend | assets | failed | wall s | assets/min (incl. start) | assets/min (steady) | "
                  "median s/asset |", "|---|---:|---:|---:|---:|---:|---:|"]
    for b in r["batch"]:
        steady = f"{b['steady_assets_per_min']:.1f}" if b["steady_assets_per_min"] else "-"
        lines.append(f"| {b['backend']} | {b['assets']} | {b['failed']} | {b['wall_s']:.1f} | "
                     f"{b['assets_per_min']:.1f} | {steady} | {b['median_asset_s']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
