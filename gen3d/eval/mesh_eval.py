"""Final-mesh scoring for ``gen3d eval``: every sampled cloud goes through the mesh + texture stage exactly as
``gen3d make`` runs it (:meth:`Pipeline.mesh` with :meth:`Pipeline.generate_many`'s defaults), and the
textured asset is judged like a cloud (surface points with their texture colours, in the classifier's frame:
gen3d.eval.surface) and measured (gen3d.eval.geometry) against ground-truth shapes meshed the same way."""

from __future__ import annotations

import inspect
import time
from collections import defaultdict

import numpy as np

# generate_many's parameter -> Pipeline.mesh's: the mesh settings gen3d make uses unless told otherwise
_MESH_ARGS = {"mesher": "mesher", "texture_size": "texture_size", "max_faces": "max_faces", "size": "size",
              "lods": "lods", "mesh_resolution": "resolution"}


def make_mesh_settings(pipe) -> dict:
    """The keyword arguments :meth:`Pipeline.generate_many` passes to :meth:`Pipeline.mesh` by default (read
    from its signature, so the evaluation follows any change of the defaults)."""
    params = inspect.signature(pipe.generate_many).parameters
    out = {dst: params[src].default for src, dst in _MESH_ARGS.items() if src in params}
    out["mesher"] = out.get("mesher") or pipe.default_mesher
    return out


def score_meshes(pipe, clouds: list, jobs: list[tuple[int, dict, int]], job_seeds: list[int], clf,
                 real_feats: np.ndarray, n_points: int, *, reference_per_category: int = 4,
                 seed_base: int = 0, sheet=None, log=print) -> tuple[dict, list[dict]]:
    """Mesh, texture and score every sample -> (result fields, one dict of ``mesh_*`` fields per sample).

    A sample whose mesh stage fails counts as a miss for category and colour (its error is recorded) and is
    left out of P-FID / P-IS and the geometry means."""
    from gen3d.data.appearance import COLORS
    from gen3d.eval.geometry import mesh_figures, reference_figures, summarise
    from gen3d.eval.metrics import color_matches, frechet_distance, inception_score
    from gen3d.eval.report import confusions, standard_error
    from gen3d.eval.surface import mesh_cloud
    from gen3d.pipeline import clean_prompt

    settings = make_mesh_settings(pipe)
    picks = set([k for k, (_, _, s) in enumerate(jobs) if s == jobs[0][2]][:64]) if sheet else set()
    inputs, figures, extra, renders, seconds = [], [], [], {}, []
    resolution = None
    t0 = time.time()
    every = max(1, len(jobs) // 20)
    for k, (cloud, (_, row, _), seed) in enumerate(zip(clouds, jobs, job_seeds, strict=True)):
        t = time.perf_counter()
        try:
            asset = pipe.mesh(cloud, prompt=clean_prompt(row["prompt"])[0], **settings)
        except ValueError as e:  # MeshError, SdfGridError: the user would get an error, not an asset
            seconds.append(time.perf_counter() - t)
            inputs.append(None)
            figures.append(None)
            extra.append({"mesh_error": str(e)})
            continue
        seconds.append(time.perf_counter() - t)
        resolution = asset.metadata.get("parameters", {}).get("resolution", resolution)
        inputs.append(mesh_cloud(asset, n_points, seed=seed))
        fig = mesh_figures(asset.vertices, asset.faces)
        figures.append(fig)
        extra.append({"mesh_" + key: v for key, v in fig.items()} | {"mesh_faces": int(len(asset.faces))})
        if k in picks:
            renders[k] = _render(asset)
        if (k + 1) % every == 0 or k + 1 == len(jobs):
            log(f"meshed {k + 1}/{len(jobs)} ({time.time() - t0:.0f} s, {np.mean(seconds):.2f} s per mesh)")

    ok = [k for k, x in enumerate(inputs) if x is not None]
    labels = clf.labels
    probs, feats = clf.run([inputs[k] for k in ok]) if ok else (np.zeros((0, len(labels))), None)
    pred: list[str | None] = [None] * len(jobs)
    for k, p in zip(ok, probs.argmax(1) if ok else [], strict=True):
        pred[k] = labels[int(p)]
    correct = [p == r["category"] for p, (_, r, _) in zip(pred, jobs, strict=True)]
    colour_ok = {k: (inputs[k] is not None and color_matches(inputs[k][:, 3:], r["color"], COLORS))
                 for k, (_, r, _) in enumerate(jobs) if r.get("color")}
    hits = list(colour_ok.values())
    per_cat: dict[str, list[bool]] = defaultdict(list)
    for ((_, r, _), c) in zip(jobs, correct, strict=True):
        per_cat[r["category"]].append(c)
    for k, x in enumerate(extra):
        x["mesh_predicted"] = pred[k]
        if k in colour_ok:
            x["mesh_color_ok"] = bool(colour_ok[k])

    cats = sorted({r["category"] for _, r, _ in jobs})
    if resolution is None:  # no sample meshed: the grid the mesher would have used
        from gen3d.mesh.reconstruct import default_resolution

        resolution = default_resolution(n_points)
    max_faces = settings.get("max_faces") or _default_max_faces()
    ref = reference_figures(cats, reference_per_category, resolution, max_faces, seed_base, log=log)
    geometry = summarise([(r["category"], f) for (_, r, _), f in zip(jobs, figures, strict=True)], ref,
                         reference_per_category, resolution, max_faces)
    result = {
        "mesh_scored": True,
        "mesh_settings": {k: v for k, v in settings.items() if v is not None},
        "mesh_samples": len(jobs), "mesh_failures": len(jobs) - len(ok),
        "mesh_seconds_per_sample": round(float(np.mean(seconds)), 3),
        "mesh_category_accuracy": float(np.mean(correct)),
        "mesh_category_accuracy_se": standard_error(correct),
        "mesh_color_accuracy": float(np.mean(hits)) if hits else None,
        "mesh_color_accuracy_se": standard_error(hits) if hits else None,
        "mesh_pfid": frechet_distance(feats, real_feats) if len(ok) > 1 else None,
        "mesh_pis": inception_score(probs) if ok else None,
        "mesh_per_category_accuracy": {c: float(np.mean(v)) for c, v in sorted(per_cat.items())},
        "mesh_confusions": confusions(jobs, [p or "(no mesh)" for p in pred]),
        "mesh_geometry": geometry,
    }
    if sheet:
        from gen3d.render import contact_sheet

        keys = sorted(renders)
        if keys:
            contact_sheet([renders[k] for k in keys], cols=8,
                          labels=[f"{jobs[k][1]['prompt'][:22]} ({pred[k]})" for k in keys]).save(sheet)
            result["mesh_sheet"] = str(sheet)
    return result, extra


def _default_max_faces() -> int:
    from gen3d.mesh.decimate import DEFAULT_MAX_FACES

    return DEFAULT_MAX_FACES


def _render(asset) -> np.ndarray:
    """A 160 px render of a textured asset moved into the gen3d unit cube (the renderer's framing)."""
    import dataclasses

    from gen3d.eval.surface import classifier_frame
    from gen3d.render import as_trimesh, render_mesh

    unit = dataclasses.replace(asset, vertices=classifier_frame(asset.vertices, asset.vertices), lods=[])
    return render_mesh(as_trimesh(unit), size=(160, 160))
