#!/usr/bin/env python
"""Benchmark the mesh stage: per-stage seconds and the reconstruction table.

    python scripts/bench_mesh.py                 per-stage seconds, 1024 and 4096 points, defaults
    python scripts/bench_mesh.py --recon         meshers side by side: Chamfer, F-score@1%, watertight
    python scripts/bench_mesh.py --json out.json also write the figures as JSON
    python scripts/bench_mesh.py --renders docs/images   docs mesher renders (procedural clouds -> GLB -> pyrender)

Shapes (scripts/bench_mesh_shapes.py): analytic (box, sphere, torus, an SDF chair = seat + back + four thin
legs) and procedural categories from gen3d.data (seed 101). Clouds are sampled from the true surfaces;
reconstructions are scored against the true surfaces (Chamfer = mean distance both ways, F-score at 1% of the box).
The "exact SDF" row meshes the shape's analytic SDF through the coarse-to-fine grid (128^3): the
upper bound for a learned SDF decoder, not a decoder from the cloud.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import trimesh  # noqa: E402
from bench_mesh_shapes import coloured_cloud, generated_like_clouds, procedural_shapes, true_meshes  # noqa: E402

from gen3d.eval.recon import evaluate_reconstruction  # noqa: E402
from gen3d.mesh.cleanup import clean_mesh  # noqa: E402
from gen3d.mesh.decoder import sdf_mesher_from_file  # noqa: E402
from gen3d.mesh.grid import mesh_from_sdf  # noqa: E402
from gen3d.pointcloud import PointCloud  # noqa: E402

# ---------------------------------------------------------------- timing


def stage_times(cloud: PointCloud, mesher, out_dir: Path, tag: str, encoder=None) -> dict[str, float]:
    """``encoder(cloud) -> sdf_fn``: a learned decoder, whose encoding of the cloud is timed as ``encode``."""
    from gen3d.export import export
    from gen3d.texture.asset import mesh_and_texture

    t0, c0 = time.perf_counter(), time.process_time()
    if encoder is not None:
        mesher = encoder(cloud)
    t_enc = time.perf_counter() - t0
    asset = mesh_and_texture(cloud, mesher=mesher)
    t1 = time.perf_counter()
    export(asset, out_dir / f"{tag}.glb", force=True)
    t2, c2 = time.perf_counter(), time.process_time()
    times = {k: v for k, v in asset.timings.items() if k not in ("total", "sdf_queries")}
    if encoder is not None:
        times["encode"] = t_enc
    times["export_glb"] = t2 - t1
    times["total"] = t2 - t0
    times["cpu_total"] = c2 - c0  # CPU seconds of this process (all its threads): robust to other load
    times["faces"] = float(len(asset.faces))
    if "sdf_queries" in asset.timings:
        times["sdf_queries"] = asset.timings["sdf_queries"]
    return times


def bench_stages(repeats: int, sdf_model: Path | None = None) -> dict:
    import open3d  # noqa: F401  (import once, outside the timings: ~1.5 s on first import)

    shapes = true_meshes()
    v, f, sdf = shapes["sdf-chair"]
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        meshers = [("shell", "shell"), ("poisson", "poisson"), ("exact-sdf-grid128", sdf)]
        learned = None
        if sdf_model is not None:
            meshers.insert(0, ("sdf", "learned"))
            learned = sdf_mesher_from_file(sdf_model)
        for mesher_name, mesher in meshers:
            for n in (1024, 4096):
                cloud = coloured_cloud(v, f, n, seed=0)
                encoder = learned if mesher == "learned" else None
                stage_times(cloud, mesher, Path(tmp), "warmup", encoder)
                runs = [stage_times(cloud, mesher, Path(tmp), f"r{i}", encoder) for i in range(repeats)]
                keys = runs[0].keys()
                results[f"{mesher_name}/{n}"] = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in keys}
    return results


# ---------------------------------------------------------------- reconstruction table


def learned_mesher(model_path: Path):
    """``xyz -> (vertices, faces)`` with a learned SDF decoder (safetensors + JSON) through the same
    coarse-to-fine grid as the pipeline's ``--mesher sdf``."""
    from gen3d.mesh.reconstruct import reconstruct

    encoder = sdf_mesher_from_file(model_path)

    def mesh(xyz: np.ndarray):
        cloud = PointCloud(xyz, np.full_like(xyz, 0.5))
        return reconstruct(cloud, encoder(cloud))

    return mesh


def bench_recon(meshers: list[str], sizes: list[int], samples: int, categories: list[str],
                sdf_model: Path | None = None) -> dict:
    from gen3d.eval.recon import evaluate_against_points
    from gen3d.mesh import classical

    fns = {
        "poisson": classical.poisson_mesh,
        "alpha": classical.alpha_mesh,
        "ball": classical.ball_pivot_mesh,
        "shell": classical.shell_mesh,
    }
    if sdf_model is not None:
        fns["sdf"] = learned_mesher(sdf_model)
    shapes = true_meshes()
    procedural = procedural_shapes(categories, seed=101) if categories else {}
    rows: dict = {}
    for mesher in meshers + ["exact-sdf"]:
        for n in sizes:
            if mesher == "exact-sdf" and n != sizes[0]:
                continue
            scores = []
            secs = []
            for name, (gv, gf, sdf) in shapes.items():
                cloud = coloured_cloud(gv, gf, n, seed=1)
                t0 = time.perf_counter()
                if mesher == "exact-sdf":
                    v, f = mesh_from_sdf(sdf, resolution=128)
                else:
                    v, f = fns[mesher](cloud.xyz)
                v, f = clean_mesh(v, f)
                secs.append(time.perf_counter() - t0)
                scores.append((name, evaluate_reconstruction(v, f, gv, gf, n_samples=samples)))
            if mesher != "exact-sdf":
                for name, (true_pts, make_cloud) in procedural.items():
                    cloud = make_cloud(n)
                    t0 = time.perf_counter()
                    try:
                        v, f = clean_mesh(*fns[mesher](cloud.xyz))
                    except ValueError:  # the mesher found no surface: score it as a miss
                        scores.append((name, None))
                        continue
                    secs.append(time.perf_counter() - t0)
                    scores.append((name, evaluate_against_points(v, f, true_pts, n_samples=samples)))
            rows[f"{mesher}/{'-' if mesher == 'exact-sdf' else n}"] = summary(scores, secs)
    return rows


def summary(scores: list, secs: list[float]) -> dict:
    """A table row from (name, ReconScore or None for a miss) pairs and the meshing seconds."""
    ok = [s for _, s in scores if s is not None]
    return {
        "chamfer_pct": 100 * float(np.mean([s.chamfer for s in ok])),
        "fscore_1pct": float(np.sum([s.fscore for s in ok]) / len(scores)),
        "fscore_5pct": float(np.sum([s.fscore_loose for s in ok]) / len(scores)),
        "watertight_rate": float(np.sum([s.watertight for s in ok]) / len(scores)),
        "seconds": float(np.mean(secs)),
        "per_shape_fscore": {name: round(s.fscore, 2) if s else 0.0 for name, s in scores},
    }



def bench_generated(meshers: list[str], categories: list[str], strength: float, seeds: int, samples: int,
                    sdf_model: Path | None = None, min_island_fraction: float | None = None,
                    smooth_iterations: int = 0) -> dict:
    """Reconstruction from generated-like clouds (``generated_like_clouds``), each mesher as the mesh stage
    runs it: outliers dropped first (``remove_outliers``), then the pipeline's own ``reconstruct`` (so the
    learned decoder gets its cap, solid fill and snap) and cleanup (``min_island_fraction`` None: the
    mesher's own, as in ``mesh_and_texture``)."""
    from gen3d.eval.recon import evaluate_against_points
    from gen3d.mesh.reconstruct import island_threshold, reconstruct
    from gen3d.pointcloud.ops import remove_outliers

    data = generated_like_clouds(categories, strength, seeds)
    encoder = sdf_mesher_from_file(sdf_model) if sdf_model is not None else None
    rows: dict = {}
    for mesher in meshers:
        scores, secs, parts = [], [], []
        for name, (true_pts, xyz) in data.items():
            cloud, _ = remove_outliers(PointCloud(xyz, np.full_like(xyz, 0.5)))
            t0 = time.perf_counter()
            fn = encoder(cloud) if mesher == "sdf" else mesher
            islands = island_threshold(fn) if min_island_fraction is None else min_island_fraction
            try:
                v, f = clean_mesh(*reconstruct(cloud, fn), min_island_fraction=islands,
                                  smooth_iterations=smooth_iterations)
            except ValueError:
                scores.append((name, None))
                continue
            secs.append(time.perf_counter() - t0)
            scores.append((name, evaluate_against_points(v, f, true_pts, n_samples=samples)))
            parts.append(len(trimesh.Trimesh(v, f, process=False).split(only_watertight=False)))
        rows[f"{mesher}/generated-like {strength}"] = summary(scores, secs) | {
            "parts": float(np.mean(parts)),  # connected pieces after cleanup (1 = one solid)
        }
    return rows


def make_renders(
    folder: Path, categories: list[str], meshers: list[str], points: int = 4096, size: int = 224,
    prompts: list[str] | None = None,
) -> list[Path]:
    """Per category: its coloured cloud | each mesher's GLB (read back from the file) | the first texture.
    With ``prompts``, the clouds are the bundled model's samples for them (seed 0) instead."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    from PIL import Image

    from gen3d.data.procedural import generate_shape
    from gen3d.data.sampling import sample_surface
    from gen3d.export import export
    from gen3d.render import contact_sheet, render_mesh, render_points
    from gen3d.texture.asset import mesh_and_texture

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if prompts:
        from gen3d.pipeline import Pipeline

        pipe = Pipeline("gen3d-small", "cpu")
        clouds = dict(zip(prompts, pipe.sample_points(prompts, [0] * len(prompts)), strict=True))
    with tempfile.TemporaryDirectory() as tmp:
        for cat in prompts or categories:
            if prompts:
                cloud = clouds[cat]
            else:
                cloud = sample_surface(generate_shape(cat, seed=3), points, rng=0)
            images = [render_points(cloud, (size, size))]
            labels = [f"{cat}: {len(cloud)} points"]
            texture = None
            for spec in meshers:
                mesher, _, res = spec.partition("@")  # "shell@128": a mesher on a given grid
                asset = mesh_and_texture(cloud, mesher=mesher, material_hint=cat, resolution=int(res) if res else None)
                (glb,) = export(asset, Path(tmp) / f"{cat}_{mesher}{res}.glb", lods=0)
                mesh = trimesh.load(glb, force="mesh")
                lo, hi = mesh.bounds
                mesh.apply_translation(-(lo + hi) / 2)
                mesh.apply_scale(1.0 / float((hi - lo).max()))
                images.append(render_mesh(mesh, (size, size)))
                labels.append(f"{spec} GLB, {len(asset.faces)} faces")
                texture = asset.texture if texture is None else texture
            images.append(np.asarray(Image.fromarray(texture).resize((size, size), Image.LANCZOS)))
            labels.append(f"{meshers[0].partition('@')[0]} baked texture")
            path = folder / f"{'make' if prompts else 'mesh'}_{cat.replace(' ', '_')}.png"
            contact_sheet(images, cols=len(images), labels=labels).save(path, optimize=True)
            written.append(path)
            print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recon", action="store_true", help="print the reconstruction table instead")
    ap.add_argument("--meshers", default="shell,poisson,ball,alpha")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--samples", type=int, default=20000, help="surface samples per metric")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--renders", type=Path, default=None, help="write the docs mesher renders into this folder")
    ap.add_argument("--categories", default="chair,mug,car,lamp")
    ap.add_argument("--render-meshers", default="shell,poisson", help="meshers for the renders; NAME@RES picks a grid")
    ap.add_argument("--sdf-model", type=Path, default=None,
                    help="a learned SDF decoder (e.g. assets/models/gen3d-small/sdf.safetensors): adds an 'sdf' "
                         "row to the reconstruction table and to the stage timings")
    ap.add_argument("--recon-categories", default="chair,table,mug,lamp,bookshelf,car",
                    help="gen3d.data procedural categories added to the reconstruction table")
    ap.add_argument("--generated", type=float, default=None, metavar="STRENGTH",
                    help="reconstruction table from generated-like clouds instead: held-out procedural shapes "
                         "re-drawn by the bundled base model (SDEdit at STRENGTH, e.g. 0.5), 256 points; with "
                         "1, plain samples of the shapes' captions (only pieces and watertight mean much then)")
    ap.add_argument("--generated-seeds", type=int, default=2, help="shapes per category for --generated")
    ap.add_argument("--min-island-fraction", type=float, default=None,
                    help="--generated: cleanup drops pieces under this share of the largest piece's area "
                         "(default: the mesher's own, sdf.json's mesher.min_island_fraction for sdf, else 0.01)")
    ap.add_argument("--smooth-iterations", type=int, default=0,
                    help="--generated: Taubin smoothing iterations in cleanup (default 0, as gen3d make)")
    ap.add_argument("--render-prompts", default=None,
                    help="comma-separated prompts: render the bundled model's clouds for them instead of shapes")
    args = ap.parse_args()
    if args.sdf_model is not None:
        from gen3d.mesh.reconstruct import register_sdf_mesher

        register_sdf_mesher("sdf", sdf_mesher_from_file(args.sdf_model))
    if args.renders:
        make_renders(args.renders, args.categories.split(","), args.render_meshers.split(","),
                     prompts=args.render_prompts.split(",") if args.render_prompts else None)
        return
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}"
    )
    print(f"# gen3d bench_mesh on {machine}; load average {os.getloadavg()[0]:.1f} at start")
    if args.recon or args.generated is not None:
        cats = [c for c in args.recon_categories.split(",") if c]
        meshers = args.meshers.split(",") + (["sdf"] if args.sdf_model else [])
        if args.generated is not None:
            rows = bench_generated(meshers, cats, args.generated, args.generated_seeds, args.samples,
                                   args.sdf_model, args.min_island_fraction, args.smooth_iterations)
        else:
            rows = bench_recon(meshers, [1024, 4096], args.samples, cats, args.sdf_model)
        loose = args.generated is not None
        print("| mesher | points | Chamfer (% of box) | F-score@1% |" + (" F-score@5% | pieces |" if loose else "")
              + " watertight | s/shape | per shape F@1% |")
        print("|---" * (9 if loose else 7) + "|")
        for key, r in rows.items():
            mesher, n = key.split("/")
            shapes = ", ".join(f"{k} {v:.2f}" for k, v in r["per_shape_fscore"].items())
            print(
                f"| {mesher} | {n} | {r['chamfer_pct']:.2f} | {r['fscore_1pct']:.3f} | "
                + (f"{r['fscore_5pct']:.3f} | {r['parts']:.2f} | " if loose else "")
                + f"{r['watertight_rate']:.0%} | {r['seconds']:.2f} | {shapes} |"
            )
        out = {"machine": machine, "recon": rows}
    else:
        res = bench_stages(args.repeats, args.sdf_model)
        stages = ["encode", "decode", "marching_cubes", "snap", "cleanup", "decimate", "unwrap", "bake",
                  "frame_and_lods", "export_glb", "total", "cpu_total"]
        print("| run | " + " | ".join(s for s in stages) + " | faces |")
        print("|---" * (len(stages) + 2) + "|")
        for key, t in res.items():
            print(f"| {key} | " + " | ".join(f"{t.get(s, 0.0):.3f}" for s in stages) + f" | {int(t['faces'])} |")
        out = {"machine": machine, "stages": res}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
