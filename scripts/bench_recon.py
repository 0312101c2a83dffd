#!/usr/bin/env python
"""Benchmark `gen3d mesh` on real meshes nobody here made, with open3d's screened Poisson and ball pivoting
run side by side as anchors.

    python scripts/bench_recon.py                          tune half, every condition, every mesher
    python scripts/bench_recon.py --split heldout          the held-out half (report; never tune on it)
    python scripts/bench_recon.py --points 4096 --noise clean --meshers auto,anchor-poisson
    python scripts/bench_recon.py --json out.json --worst docs/images/recon_worst.png --stages

Meshes: assets/eval/recon_meshes.json (40 meshes shipped in the pybullet wheel, `pip install pybullet`: scans,
sculpts and CAD parts; tune/heldout halves fixed before any tuning). Each mesh is scaled so its largest side
is 1; clouds are area-uniform surface samples (seed 0) of 1,024 / 4,096 / 16,384 points, clean, with Gaussian
noise of sigma 0.5% and 1% of the box diagonal, or with 2% outliers (uniform in the box). gen3d meshers run
the geometry of `gen3d mesh` (outliers dropped, mesher, cleanup, decimation to 10,000 faces); anchors are plain
open3d: normals by PCA (30 neighbours) oriented by its tangent-plane MST, screened Poisson at depth 8, cropped
to the cloud's box; ball pivoting at 1x/2x/4x the mean spacing. Scores against the true surface: F-score at 1%
and 2% of the box's largest side, Chamfer (mean distance both ways, % of the box), normal consistency.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from gen3d.eval.recon import evaluate_reconstruction, normal_consistency, sample_surface  # noqa: E402
from gen3d.pointcloud import PointCloud  # noqa: E402

MESH_LIST = ROOT / "assets" / "eval" / "recon_meshes.json"
GEN3D_MESHERS = ("auto", "shell", "poisson", "ball", "sdf")
ANCHORS = ("anchor-poisson", "anchor-ball")
NOISES = ("clean", "0.005", "0.01", "outliers")


def mesh_root() -> Path:
    try:
        import pybullet_data
    except ImportError:
        sys.exit("bench_recon needs the meshes shipped in pybullet: pip install pybullet")
    return Path(pybullet_data.getDataPath())


def load_true_mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The mesh centred and scaled so its largest side is 1 (degenerate faces dropped)."""
    import trimesh

    m = trimesh.load(str(path), force="mesh", process=True)
    v = np.asarray(m.vertices, dtype=np.float64)
    f = np.asarray(m.faces, dtype=np.int64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    v = (v - (lo + hi) / 2) / float((hi - lo).max())
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    f = f[np.linalg.norm(np.cross(b - a, c - a), axis=1) > 1e-12]
    return v, f


def make_cloud(v: np.ndarray, f: np.ndarray, n: int, noise: str, seed: int = 0, normals: bool = False) -> PointCloud:
    pts, tri = sample_surface(v, f, n, seed=seed, return_faces=True)
    rng = np.random.default_rng(seed + 7)
    nrm = None
    if normals:
        from gen3d.mesh.cleanup import face_normals

        nrm = face_normals(v, f)[tri]
    diag = float(np.linalg.norm(np.ptp(v, axis=0)))
    if noise in ("0.005", "0.01"):
        pts = pts + rng.normal(0.0, float(noise) * diag, pts.shape)
    elif noise == "outliers":
        k = int(round(0.02 * n))
        lo, hi = v.min(axis=0), v.max(axis=0)
        pad = 0.05 * (hi - lo)
        swap = rng.choice(n, size=k, replace=False)  # the cloud keeps n points, 2% of them outliers
        pts = pts.copy()
        pts[swap] = rng.uniform(lo - pad, hi + pad, (k, 3))
    elif noise != "clean":
        raise SystemExit(f"unknown noise {noise!r}; choose from {', '.join(NOISES)}")
    return PointCloud(pts.astype(np.float32), np.full((n, 3), 0.7, np.float32), nrm)


def anchor_normals(o3d, pcd) -> None:
    pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=30))
    pcd.orient_normals_consistent_tangent_plane(16)


def anchor_mesh(name: str, cloud: PointCloud) -> tuple[np.ndarray, np.ndarray]:
    import open3d as o3d

    o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
    xyz = cloud.xyz.astype(np.float64)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
    anchor_normals(o3d, pcd)
    if name == "anchor-poisson":
        mesh, _ = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(pcd, depth=8, n_threads=1)
        bbox = pcd.get_axis_aligned_bounding_box()
        mesh = mesh.crop(bbox)
    else:
        spacing = float(np.mean(pcd.compute_nearest_neighbor_distance()))
        radii = o3d.utility.DoubleVector([spacing, 2 * spacing, 4 * spacing])
        mesh = o3d.geometry.TriangleMesh.create_from_point_cloud_ball_pivoting(pcd, radii)
    return np.asarray(mesh.vertices), np.asarray(mesh.triangles, dtype=np.int64)


def run_one(mesher: str, cloud: PointCloud, stages: bool) -> dict:
    """-> {"final": (v, f), "raw"/"clean": (v, f) with --stages, "seconds", "used", "reason"} in the cloud's frame."""
    t0 = time.perf_counter()
    if mesher in ANCHORS:
        v, f = anchor_mesh(mesher, cloud)
        return {"final": (v, f), "seconds": time.perf_counter() - t0, "used": mesher, "reason": ""}
    from gen3d.mesh.surface import surface_from_cloud

    if mesher == "sdf":
        from gen3d.mesh.decoder import learned_sdf_mesher
        from gen3d.mesh.reconstruct import register_sdf_mesher

        register_sdf_mesher("sdf", learned_sdf_mesher("gen3d-small"))
    s = surface_from_cloud(cloud, mesher)
    out = {"final": (s.to_input_space(s.vertices), s.faces), "seconds": time.perf_counter() - t0, "used": s.mesher,
           "reason": s.reason}
    if stages:
        out["raw"] = (s.to_input_space(s.raw_vertices), s.raw_faces)
        out["clean"] = (s.to_input_space(s.full_vertices), s.full_faces)
    return out


def score(pred: tuple[np.ndarray, np.ndarray], true: tuple[np.ndarray, np.ndarray], samples: int) -> dict:
    v, f = pred
    if len(f) == 0:
        return {"f1": 0.0, "f2": 0.0, "chamfer_pct": float("nan"), "normal_consistency": 0.0}
    r = evaluate_reconstruction(v, f, true[0], true[1], threshold_fraction=0.01, loose_fraction=0.02,
                                n_samples=samples)
    nc = normal_consistency(v, f, true[0], true[1], n_samples=samples // 2)
    return {"f1": r.fscore, "f2": r.fscore_loose, "chamfer_pct": 100 * r.chamfer, "normal_consistency": nc,
            "faces": int(len(f))}


def table(rows: list[dict], meshers: list[str], conditions: list[tuple[int, str]]) -> str:
    head = ("| points | noise | mesher | median F@1% | median F@2% | worst F@1% | Chamfer % | normal cons. "
            "| s (median) |")
    lines = [head, "|" + "---|" * 9]
    for n, noise in conditions:
        for m in meshers:
            rs = [r for r in rows if r["points"] == n and r["noise"] == noise and r["mesher"] == m]
            if not rs:
                continue
            med = {k: statistics.median(r[k] for r in rs) for k in ("f1", "f2", "chamfer_pct", "normal_consistency",
                                                                     "seconds")}
            lines.append(f"| {n} | {noise} | {m} | {med['f1']:.3f} | {med['f2']:.3f} | {min(r['f1'] for r in rs):.3f} "
                         f"| {med['chamfer_pct']:.2f} | {med['normal_consistency']:.3f} | {med['seconds']:.2f} |")
    return "\n".join(lines)


def below_anchor(rows: list[dict], mesher: str, n: int, noise: str, margin: float = 0.02) -> list[str]:
    by = {(r["mesh"], r["mesher"]): r["f1"] for r in rows if r["points"] == n and r["noise"] == noise}
    return [mesh for (mesh, m), f in by.items() if m == mesher and (mesh, "anchor-poisson") in by
            and f < by[(mesh, "anchor-poisson")] - margin]


def worst_sheet(rows: list[dict], meshes: dict, mesher: str, n: int, out: Path, count: int = 6) -> None:
    """The ``count`` meshes with the lowest F@1% for ``mesher`` at ``n`` clean points: truth, mesher, Poisson
    anchor."""
    import trimesh
    from PIL import Image, ImageDraw

    from gen3d.render import render_mesh

    sel = sorted((r for r in rows if r["mesher"] == mesher and r["points"] == n and r["noise"] == "clean"),
                 key=lambda r: r["f1"])[:count]
    tile = 200
    sheet = Image.new("RGB", (3 * tile, len(sel) * (tile + 16)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, r in enumerate(sel):
        true = meshes[r["mesh"]]
        cloud = make_cloud(*true, n, "clean")
        panels = [("truth", true), (f"{mesher} F {r['f1']:.2f}", run_one(mesher, cloud, False)["final"])]
        anchor = next((a for a in rows if a["mesh"] == r["mesh"] and a["mesher"] == "anchor-poisson"
                       and a["points"] == n and a["noise"] == "clean"), None)
        panels.append((f"poisson F {anchor['f1']:.2f}" if anchor else "poisson",
                       run_one("anchor-poisson", cloud, False)["final"]))
        for j, (label, (v, f)) in enumerate(panels):
            img = render_mesh(trimesh.Trimesh(v, f, process=False), size=(tile, tile), distance=2.3)
            sheet.paste(Image.fromarray(np.asarray(img)[..., :3]), (j * tile, i * (tile + 16) + 16))
            draw.text((j * tile + 4, i * (tile + 16) + 2), f"{Path(r['mesh']).stem}: {label}", fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    print(f"wrote {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="tune", choices=["tune", "heldout", "all"])
    ap.add_argument("--points", default="1024,4096,16384")
    ap.add_argument("--noise", default="clean,0.005,0.01,outliers", help="noisy clouds use 4,096 points only")
    ap.add_argument("--meshers", default="auto,shell,poisson,anchor-poisson,anchor-ball")
    ap.add_argument("--normals", action="store_true", help="give the clouds their true normals (PLY nx ny nz)")
    ap.add_argument("--samples", type=int, default=10000, help="surface samples per side for the scores")
    ap.add_argument("--limit", type=int, default=0, help="only the first N meshes (quick looks)")
    ap.add_argument("--stages", action="store_true", help="also score gen3d meshers' raw and cleaned meshes")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worst", type=Path, help="PNG of the worst cases of the first mesher on clean clouds "
                    "(4,096 points, else the densest run)")
    a = ap.parse_args()

    spec = json.loads(MESH_LIST.read_text())
    entries = [e for e in spec["meshes"] if a.split == "all" or e["split"] == a.split]
    entries = entries[: a.limit] if a.limit else entries
    meshers = a.meshers.split(",")
    points = [int(p) for p in a.points.split(",")]
    noises = a.noise.split(",")
    conditions = [(n, "clean") for n in points if "clean" in noises]
    conditions += [(4096, x) for x in noises if x != "clean"]
    root = mesh_root()
    meshes = {e["path"]: load_true_mesh(root / e["path"]) for e in entries}
    rows: list[dict] = []
    t_start = time.perf_counter()
    for e in entries:
        true = meshes[e["path"]]
        for n, noise in conditions:
            cloud = make_cloud(*true, n, noise, normals=a.normals)
            for m in meshers:
                try:
                    out = run_one(m, cloud, a.stages)
                    row = {**score(out["final"], true, a.samples), "seconds": out["seconds"], "used": out["used"],
                           "reason": out["reason"]}
                    for stage in ("raw", "clean") if "raw" in out else ():
                        row[f"f1_{stage}"] = score(out[stage], true, a.samples)["f1"]
                except Exception as exc:  # a failed mesher scores 0 and says why
                    row = {"f1": 0.0, "f2": 0.0, "chamfer_pct": float("nan"), "normal_consistency": 0.0,
                           "seconds": float("nan"), "error": str(exc)[:200]}
                rows.append({"mesh": e["path"], "kind": e["kind"], "points": n, "noise": noise, "mesher": m, **row})
                print(f"{e['path']:55s} {n:6d} {noise:8s} {m:15s} F1 {row['f1']:.3f} F2 {row['f2']:.3f} "
                      f"{row['seconds']:.2f}s {row.get('used', '')} {row.get('error', '')}", flush=True)
    print(f"\n{len(entries)} meshes ({a.split}), {time.perf_counter() - t_start:.0f} s, "
          f"{platform.processor() or platform.machine()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    print(table(rows, meshers, conditions))
    for m in meshers:
        if m not in ANCHORS and "anchor-poisson" in meshers and (4096, "clean") in conditions:
            low = below_anchor(rows, m, 4096, "clean")
            print(f"{m}: {len(low)} meshes more than 0.02 below the Poisson anchor at 4,096 clean points"
                  + (f": {', '.join(Path(x).stem for x in low)}" if low else ""))
    if a.stages:
        for m in meshers:
            rs = [r for r in rows if r["mesher"] == m and "f1_raw" in r]
            if rs:
                print(f"{m} stages, median F@1%: raw {statistics.median(r['f1_raw'] for r in rs):.3f}, cleaned "
                      f"{statistics.median(r['f1_clean'] for r in rs):.3f}, "
                      f"decimated {statistics.median(r['f1'] for r in rs):.3f}")
    if a.json:
        a.json.write_text(json.dumps({"split": a.split, "normals": a.normals, "rows": rows}, indent=1))
        print(f"wrote {a.json}")
    clean = [n for n, noise in conditions if noise == "clean"]
    if a.worst and clean:
        worst_sheet(rows, meshes, meshers[0], 4096 if 4096 in clean else max(clean), a.worst)


if __name__ == "__main__":
    main()
