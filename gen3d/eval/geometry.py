"""Geometry figures of final meshes and of ground-truth procedural shapes meshed the same way.

Per mesh (welded by position first: the UV unwrap splits vertices along chart seams, which are not holes):

- roughness: the mean dihedral angle between adjacent faces, in degrees (trimesh's ``face_adjacency_angles``;
  0 for a flat sheet). It depends on the tessellation, so the ground truth is tessellated like the assets.
- boundary edges: edges that belong to one face only (holes, open rims); non-manifold edges: edges of three
  or more faces (a mesh without holes that is still not watertight has these);
- components: face-connected pieces; watertight: every edge shared by exactly two faces;
- genus: the sum over closed components of ``g = (2 - (V - E + F)) / 2``; None when no component is closed.

Ground truth: a procedural shape (``generate_shape``) is a union of overlapping closed parts, so its own part
meshes would count every part as a component and miss the handle loop a mug's body and handle make together,
and its coarse facets (a box's 90-degree edges, a 28-sided lathe) have nothing in common with a marching-cubes
surface. It is therefore meshed as the pipeline meshes: its exact signed distance (sign from the union's
containment test, magnitude from the part surfaces) goes through the same grid mesher at the same resolution,
the same cleanup and the same decimation budget.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

GENUS_EXPECTED = {"torus": 1, "mug": 1}
FIGURES = ("roughness_deg", "boundary_edges", "nonmanifold_edges", "components", "watertight", "genus")


def mesh_figures(vertices: np.ndarray, faces: np.ndarray) -> dict:
    """Roughness (degrees), boundary and non-manifold edges, components, watertightness and genus of one
    triangle mesh."""
    import trimesh

    tm = trimesh.Trimesh(np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64), process=True)
    angles = tm.face_adjacency_angles
    _, uses = np.unique(tm.edges_sorted, axis=0, return_counts=True)  # faces per edge
    parts = tm.split(only_watertight=False, repair=False)  # trimesh's default repair would fill the holes
    closed = [p for p in parts if p.is_watertight]
    return {
        "roughness_deg": float(np.degrees(angles).mean()) if len(angles) else 0.0,
        "boundary_edges": int((uses == 1).sum()),
        "nonmanifold_edges": int((uses > 2).sum()),
        "components": int(len(parts)),
        "watertight": bool(tm.is_watertight),
        "genus": int(round(sum((2 - p.euler_number) / 2 for p in closed))) if closed else None,
    }


def ground_truth_mesh(category: str, seed: int, resolution: int, max_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """A procedural shape meshed the way the pipeline meshes a cloud: its signed distance on the same grid
    (:func:`gen3d.mesh.grid.mesh_from_sdf` at ``resolution``), :func:`~gen3d.mesh.cleanup.clean_mesh` and
    :func:`~gen3d.mesh.decimate.decimate` to ``max_faces``. In the gen3d unit cube."""
    from gen3d.data.procedural import generate_shape
    from gen3d.data.sampling import contains
    from gen3d.eval.recon import point_to_mesh_distance
    from gen3d.mesh.cleanup import clean_mesh
    from gen3d.mesh.decimate import decimate
    from gen3d.mesh.grid import mesh_from_sdf

    shape = generate_shape(category, seed)
    parts = shape.mesh(texture_edge=0)
    pv, pf = np.asarray(parts.vertices, dtype=np.float64), np.asarray(parts.faces, dtype=np.int64)

    def sdf(points: np.ndarray) -> np.ndarray:
        d = point_to_mesh_distance(points, pv, pf)  # exact outside; inside, overlapping parts only shorten it
        return np.where(contains(shape.parts, points), -d, d).astype(np.float32)

    v, f = mesh_from_sdf(sdf, resolution=int(resolution))
    v, f = clean_mesh(v, f)
    return decimate(v, f, int(max_faces))


def reference_figures(categories: list[str], per_category: int, resolution: int, max_faces: int,
                      seed_base: int, log=print) -> dict[str, list[dict]]:
    """:func:`mesh_figures` of ``per_category`` ground-truth meshes per category, at seeds ``seed_base + i``
    (the real-reference seeds of ``gen3d eval``)."""
    import time

    out: dict[str, list[dict]] = {}
    t0 = time.time()
    for k, c in enumerate(categories, 1):
        out[c] = [mesh_figures(*ground_truth_mesh(c, seed_base + i, resolution, max_faces))
                  for i in range(per_category)]
        if k == len(categories) or k % 10 == 0:
            log(f"ground-truth meshes: {k}/{len(categories)} categories ({time.time() - t0:.0f} s)")
    return out


def _mean(xs) -> float | None:
    xs = [float(x) for x in xs if x is not None]
    return float(np.mean(xs)) if xs else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else float(a / b)


def _block(gen: list[dict], ref: list[dict], failed: int) -> dict:
    """Mean figures of generated meshes beside those of their ground truth (``ref``: one entry per generated
    sample's category share, so overall figures weigh categories as the samples do)."""
    out: dict = {"samples": len(gen) + failed, "meshed": len(gen)}
    for key in FIGURES:
        out[key] = _mean(g[key] for g in gen)
        out[f"{key}_gt"] = _mean(r[key] for r in ref)
    out["roughness_ratio"] = _ratio(out["roughness_deg"], out["roughness_deg_gt"])
    return out


def summarise(samples: list[tuple[str, dict | None]], reference: dict[str, list[dict]], per_category: int,
              resolution: int, max_faces: int) -> dict:
    """``mesh_geometry`` of an evaluation: per category and overall means (``watertight``: a fraction), the
    roughness ratio generated / ground truth, and the genus of the categories in :data:`GENUS_EXPECTED`
    (``genus_mean`` over the meshes with a closed component, ``expected_fraction`` over all samples).
    ``samples``: (category, :func:`mesh_figures` or None for a sample whose mesh stage failed)."""
    by_cat: dict[str, list[dict]] = defaultdict(list)
    failed: dict[str, int] = defaultdict(int)
    for cat, fig in samples:
        if fig is None:
            failed[cat] += 1
        else:
            by_cat[cat].append(fig)
    cats = sorted({c for c, _ in samples})
    ref_means = {c: {k: _mean(r[k] for r in reference[c]) for k in FIGURES} for c in cats}
    weighted = [ref_means[c] for c, fig in samples if fig is not None]  # one ground-truth entry per sample
    genus = {}
    for c, expected in GENUS_EXPECTED.items():
        if c not in cats:
            continue
        g = [x["genus"] for x in by_cat[c]]
        n = len(g) + failed[c]  # a failed mesh, or one with no closed component, does not have the genus
        genus[c] = {"expected": expected, "samples": n, "with_genus": sum(x is not None for x in g),
                    "genus_mean": _mean(g), "expected_fraction": sum(x == expected for x in g) / n,
                    "genus_gt_mean": _mean(r["genus"] for r in reference[c]),
                    "expected_fraction_gt": float(np.mean([r["genus"] == expected for r in reference[c]]))}
    return {
        "overall": _block([f for c in cats for f in by_cat[c]], weighted, sum(failed.values())),
        "per_category": {c: _block(by_cat[c], reference[c], failed[c]) for c in cats},
        "genus": genus,
        "reference": {"shapes_per_category": per_category, "resolution": int(resolution),
                      "max_faces": int(max_faces), "meshed": "exact SDF of the procedural shape, same grid "
                      "mesher, cleanup and decimation as the pipeline"},
    }
