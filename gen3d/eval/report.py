"""``gen3d eval``: sample a prompt file with a model and score the samples (see metrics.py).

Each prompt line: ``{"prompt": ..., "category": ..., "color": optional}``; the colour may be any name
gen3d.text.colors knows (palette or CSS/X11 names in either spelling, shades, hex codes). Real reference
shapes come from the procedural generator at seeds the training data never used (``REAL_SEED_BASE`` + i).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REAL_SEED_BASE = 900_000_000
DEFAULT_CLASSIFIER = Path(__file__).resolve().parent.parent.parent / "assets" / "eval" / "classifier.safetensors"


def read_prompts(path: str | Path) -> list[dict]:
    """Rows of a prompt file; a row's optional colour is checked and spelled canonically ("gray" -> "grey")."""
    from gen3d.data.procedural import category_names
    from gen3d.text.colors import UnknownColorError, resolve_color

    names = set(category_names())
    rows = []
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{i} is not JSON ({e.msg}): one object per line") from e
        if "prompt" not in row or "category" not in row:
            raise ValueError(f"{path}:{i} needs 'prompt' and 'category' keys")
        if row["category"] not in names:
            raise ValueError(f"{path}:{i}: unknown category {row['category']!r}; see 'gen3d data categories'")
        if row.get("color") is not None:
            try:
                row["color"] = resolve_color(str(row["color"])).name
            except UnknownColorError as e:
                raise ValueError(f"{path}:{i}: {e}") from None
        rows.append(row)
    if not rows:
        raise ValueError(f"{path} holds no prompts")
    return rows


def real_clouds(category: str, n: int, points: int, offset: int = 0) -> list[np.ndarray]:
    """Reference clouds [points, 6] (xyz, rgb) of a category at seeds training never saw."""
    from gen3d.data.procedural import generate_shape
    from gen3d.data.sampling import sample_surface

    out = []
    for i in range(n):
        seed = REAL_SEED_BASE + offset + i
        pc = sample_surface(generate_shape(category, seed), points, seed)
        out.append(np.concatenate([pc.xyz, pc.rgb], axis=1))
    return out


def evaluate(prompts_file: str | Path, *, model: str = "gen3d-small", seeds: int = 2, points: int | None = None,
             steps: int | None = None, guidance: float | None = None, batch: int = 16, limit: int | None = None,
             classifier: str | Path = DEFAULT_CLASSIFIER, real_per_category: int = 8, device: str = "auto",
             sheet: str | Path | None = None, first_seed: int = 0, log=print, conditioning: str | None = None,
             mesh: bool = True, mesh_sheet: str | Path | None = None, mesh_reference: int = 4) -> dict:
    """Sample and score a prompt file. ``mesh`` (default on) also runs every sample through the mesh + texture
    stage ``gen3d make`` runs and scores the final assets (gen3d.eval.mesh_eval), with ``mesh_reference``
    ground-truth meshes per category for the geometry figures; ``mesh_sheet``: a PNG of the final meshes."""
    from gen3d.data.appearance import COLORS
    from gen3d.eval.classifier import Classifier
    from gen3d.eval.metrics import color_matches, coverage_mmd, diversity, frechet_distance, inception_score
    from gen3d.pipeline import load_pipeline

    if not 0 <= first_seed or first_seed + seeds > 1000:
        raise ValueError(f"seeds {first_seed}..{first_seed + seeds - 1} must lie in 0..999: lower --first-seed")
    rows = read_prompts(prompts_file)[:limit]
    clf = Classifier.load(classifier)
    pipe = load_pipeline(model, device)
    n_points = points or int(pipe.base_config.get("points", 1024))
    sampler = pipe.base_config.get("sampler", {})
    jobs = [(i, r, s) for i, r in enumerate(rows) for s in range(first_seed, first_seed + seeds)]
    job_seeds = [1000 * i + s for i, _, s in jobs]
    t0 = time.time()
    clouds = []
    for j in range(0, len(jobs), batch):
        chunk = jobs[j : j + batch]
        clouds += pipe.sample_points([r["prompt"] for _, r, _ in chunk], job_seeds[j : j + batch],
                                     steps=steps, guidance=guidance, points=n_points, conditioning=conditioning)
        log(f"sampled {len(clouds)}/{len(jobs)} ({time.time() - t0:.0f} s)")
    sample_seconds = (time.time() - t0) / len(jobs)
    labels = clf.labels
    probs, feats = clf.run([np.concatenate([c.xyz, c.rgb], axis=1) for c in clouds])
    pred = [labels[k] for k in probs.argmax(1)]
    correct = [p == r["category"] for p, (_, r, _) in zip(pred, jobs, strict=True)]
    colour_ok = {k: color_matches(c.rgb, r["color"], COLORS)  # job index -> hit, for samples naming a colour
                 for k, (c, (_, r, _)) in enumerate(zip(clouds, jobs, strict=True)) if r.get("color")}
    colour_hits = list(colour_ok.values())

    cats = sorted({r["category"] for r in rows})
    real_a = {c: real_clouds(c, real_per_category, n_points) for c in cats}
    real_b = {c: real_clouds(c, real_per_category, n_points, offset=10_000) for c in cats}
    _, fa = clf.run([x for c in cats for x in real_a[c]])
    pb, fb = clf.run([x for c in cats for x in real_b[c]])
    real_labels = [c for c in cats for _ in range(real_per_category)]
    real_acc = float(np.mean([labels[k] == c for k, c in zip(pb.argmax(1), real_labels, strict=True)]))

    by_prompt: dict[int, list[np.ndarray]] = defaultdict(list)
    by_cat: dict[str, list[np.ndarray]] = defaultdict(list)
    per_cat_correct: dict[str, list[bool]] = defaultdict(list)
    for c, (i, r, _), ok in zip(clouds, jobs, correct, strict=True):
        by_prompt[i].append(c.xyz)
        by_cat[r["category"]].append(c.xyz)
        per_cat_correct[r["category"]].append(ok)
    covs, mmds = [], []
    for c in cats:
        cov, mmd = coverage_mmd(by_cat[c][:real_per_category], [x[:, :3] for x in real_a[c]])
        covs.append(cov)
        mmds.append(mmd)
    real_div = float(np.mean([diversity([x[:, :3] for x in real_a[c][:seeds]]) for c in cats])) if seeds > 1 \
        else float("nan")
    result = {
        "model": model, "classifier": str(classifier), "prompts": len(rows), "seeds": seeds, "samples": len(jobs),
        "first_seed": first_seed, "points": n_points, "conditioning": pipe._conditioning(conditioning),
        "steps": int(steps or sampler.get("steps", 64)),
        "guidance": float(sampler.get("guidance_scale", 3.0) if guidance is None else guidance),
        "sampler": str(sampler.get("name", "heun")), "spacing": float(sampler.get("spacing", 1.0)),
        "seconds_per_sample": round(sample_seconds, 3),
        "category_accuracy": float(np.mean(correct)),
        "category_accuracy_se": standard_error(correct),
        "color_accuracy": float(np.mean(colour_hits)) if colour_hits else None, "color_prompts": len(colour_hits),
        "color_accuracy_se": standard_error(colour_hits) if colour_hits else None,
        "p_fid": frechet_distance(feats, fa), "p_fid_real_vs_real": frechet_distance(fb, fa),
        "p_is": inception_score(probs), "p_is_real": inception_score(pb),
        "diversity": float(np.nanmean([diversity(v) for v in by_prompt.values()])) if seeds > 1 else None,
        "diversity_real": real_div,
        "coverage": float(np.mean(covs)), "mmd": float(np.mean(mmds)),
        "classifier_accuracy_on_real": real_acc,
        "per_category_accuracy": {c: float(np.mean(v)) for c, v in sorted(per_cat_correct.items())},
        "confusions": confusions(jobs, pred),
        "per_sample": [
            {"prompt": r["prompt"], "seed": seed, "category": r["category"], "predicted": p}
            | ({"color": r["color"], "color_ok": bool(colour_ok[k])} if k in colour_ok else {})
            for k, ((_, r, _), seed, p) in enumerate(zip(jobs, job_seeds, pred, strict=True))
        ],
    }
    result["mesh_scored"] = bool(mesh)
    if mesh:
        from gen3d.eval.mesh_eval import score_meshes

        mesh_result, per_mesh = score_meshes(pipe, clouds, jobs, job_seeds, clf, fa, n_points,
                                             reference_per_category=mesh_reference, seed_base=REAL_SEED_BASE,
                                             sheet=mesh_sheet, log=log)
        result.update(mesh_result)
        for row, extra in zip(result["per_sample"], per_mesh, strict=True):
            row.update(extra)
    if sheet:
        from gen3d.render import contact_sheet, render_points

        picks = [k for k, (_, _, s) in enumerate(jobs) if s == 0][:64]
        imgs = [render_points(clouds[k], size=(160, 160)) for k in picks]
        contact_sheet(imgs, cols=8, labels=[f"{jobs[k][1]['prompt'][:22]} ({pred[k]})" for k in picks]).save(sheet)
        result["sheet"] = str(sheet)
    return result


def confusions(jobs: list[tuple[int, dict, int]], pred: list[str]) -> dict[str, dict[str, int]]:
    """For each category with misses: what the judge called its samples instead, most frequent first."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for (_, r, _), p in zip(jobs, pred, strict=True):
        if p != r["category"]:
            out[r["category"]][p] = out[r["category"]].get(p, 0) + 1
    return {c: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for c, v in sorted(out.items())}


def weakest_lines(r: dict, n: int = 5) -> list[str]:
    """The ``n`` least recognised categories, each with what the judge took its samples for."""
    acc = r.get("per_category_accuracy", {})
    conf = r.get("confusions", {})
    lines = []
    for c in sorted(acc, key=lambda c: (acc[c], c))[:n]:
        if acc[c] >= 1.0:
            break
        taken = ", ".join(f"{k} {v}" for k, v in conf.get(c, {}).items())
        lines.append(f"{c} {acc[c]:.2f}" + (f" (taken for {taken})" if taken else ""))
    return lines


def standard_error(hits) -> float:
    """Binomial standard error of a hit rate, sqrt(p (1 - p) / n): how far a score moves by chance alone (84
    colour samples at 0.87 give about 0.04, so two evaluations can differ by 0.06 with nothing changed)."""
    p, n = float(np.mean(hits)), len(hits)
    return float(np.sqrt(p * (1.0 - p) / n))


def format_table(r: dict) -> list[tuple[str, str, str]]:
    def f(x, d=3):
        return "n/a" if x is None else f"{x:.{d}f}"

    def pm(x, se):  # files written before the standard errors were recorded have none
        return f(x) if x is None or se is None else f"{x:.3f} ± {se:.3f}"

    return [
        ("category accuracy", pm(r["category_accuracy"], r.get("category_accuracy_se")),
         f"classifier on real shapes: {f(r['classifier_accuracy_on_real'])}"),
        ("named-colour accuracy", pm(r["color_accuracy"], r.get("color_accuracy_se")),
         f"{r['color_prompts']} samples naming a colour"),
        ("P-FID", f(r["p_fid"], 2), f"real vs real floor: {f(r['p_fid_real_vs_real'], 2)}"),
        ("P-IS", f(r["p_is"], 2), f"real: {f(r['p_is_real'], 2)}"),
        ("diversity (Chamfer)", f(r["diversity"]), f"real: {f(r['diversity_real'])}"),
        ("coverage", f(r["coverage"]), "share of real shapes matched"),
        ("MMD (Chamfer)", f(r["mmd"]), "lower is better"),
        ("seconds / sample", f(r["seconds_per_sample"], 2), f"{r['points']} points"),
    ]


def mesh_column(r: dict) -> list[str]:
    """The final-mesh value beside each row of :func:`format_table` ("" where only clouds have one)."""
    if not r.get("mesh_scored"):
        return [""] * 8

    def f(x, d=3):
        return "n/a" if x is None else f"{x:.{d}f}"

    def pm(x, se):
        return f(x) if x is None or se is None else f"{x:.3f} ± {se:.3f}"

    failed = f", {r['mesh_failures']} failed" if r.get("mesh_failures") else ""
    return [pm(r["mesh_category_accuracy"], r.get("mesh_category_accuracy_se")),
            pm(r["mesh_color_accuracy"], r.get("mesh_color_accuracy_se")),
            f(r["mesh_pfid"], 2), f(r["mesh_pis"], 2), "", "", "",
            f"+{f(r['mesh_seconds_per_sample'], 2)} mesh stage{failed}"]


def geometry_rows(r: dict) -> list[tuple[str, str, str]]:
    """(figure, final meshes, ground truth) rows of ``mesh_geometry``: overall means, and the genus of the
    categories whose topology is known (torus, mug)."""
    g = r.get("mesh_geometry")
    if not g:
        return []

    def f(x, d=2):
        return "n/a" if x is None else f"{x:.{d}f}"

    o = g["overall"]
    rows = [("roughness (mean dihedral, deg)", f(o["roughness_deg"]), f(o["roughness_deg_gt"])),
            ("roughness ratio (generated / truth)", f(o["roughness_ratio"]), "1.00"),
            ("boundary edges (holes)", f(o["boundary_edges"], 1), f(o["boundary_edges_gt"], 1)),
            ("non-manifold edges", f(o["nonmanifold_edges"], 1), f(o["nonmanifold_edges_gt"], 1)),
            ("connected components", f(o["components"]), f(o["components_gt"])),
            ("watertight fraction", f(o["watertight"]), f(o["watertight_gt"]))]
    for c, x in g["genus"].items():
        rows.append((f"genus of {c} (expected {x['expected']})",
                     f"{f(x['genus_mean'])} mean, {f(x['expected_fraction'])} at {x['expected']}",
                     f"{f(x['genus_gt_mean'])} mean, {f(x['expected_fraction_gt'])} at {x['expected']}"))
    return rows
