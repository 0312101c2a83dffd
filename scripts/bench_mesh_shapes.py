"""The shapes scripts/bench_mesh.py scores meshers on, each with a known true surface (imported by it; not run
on its own).

Analytic: a box, a sphere, a torus and an SDF chair (seat + back + four thin legs), each with its exact SDF and
a dense true mesh; clouds are sampled from the true surfaces. Procedural: categories from gen3d.data (their
true surface points), as sampled clouds or re-drawn by the bundled base model (generated-like clouds).
"""

from __future__ import annotations

import numpy as np
import trimesh

from gen3d.mesh.grid import mesh_from_sdf
from gen3d.pointcloud import PointCloud


def sdf_box(p, half=(0.35, 0.22, 0.28), c=(0.0, 0.0, 0.0)):
    q = np.abs(p - np.asarray(c, np.float32)) - np.asarray(half, np.float32)
    return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(axis=1), 0)


def sdf_sphere(p):
    return np.linalg.norm(p, axis=1) - 0.4


def sdf_torus(p, big=0.3, small=0.1):
    # ring in the xy plane, like trimesh.creation.torus
    q = np.stack([np.linalg.norm(p[:, [0, 1]], axis=1) - big, p[:, 2]], axis=1)
    return np.linalg.norm(q, axis=1) - small


def _cyl_y(p, cx, cz, r, y0, y1):
    d_r = np.sqrt((p[:, 0] - cx) ** 2 + (p[:, 2] - cz) ** 2) - r
    d_y = np.abs(p[:, 1] - (y0 + y1) / 2) - (y1 - y0) / 2
    return np.sqrt(np.maximum(d_r, 0) ** 2 + np.maximum(d_y, 0) ** 2) + np.minimum(np.maximum(d_r, d_y), 0)


def sdf_chair(p):
    d = np.minimum(sdf_box(p, (0.3, 0.04, 0.3), (0, -0.06, 0)), sdf_box(p, (0.3, 0.22, 0.035), (0, 0.2, -0.265)))
    for cx in (-0.26, 0.26):
        for cz in (-0.26, 0.26):
            d = np.minimum(d, _cyl_y(p, cx, cz, 0.025, -0.45, -0.06))
    return d


def true_meshes() -> dict[str, tuple]:
    box = trimesh.creation.box((0.7, 0.44, 0.56))
    sphere = trimesh.creation.icosphere(subdivisions=6, radius=0.4)
    torus = trimesh.creation.torus(0.3, 0.1, major_sections=128, minor_sections=64)
    chair = mesh_from_sdf(sdf_chair, resolution=256)
    return {
        "box": (box.vertices, box.faces, sdf_box),
        "sphere": (sphere.vertices, sphere.faces, sdf_sphere),
        "torus": (torus.vertices, torus.faces, sdf_torus),
        "sdf-chair": (chair[0], chair[1], sdf_chair),
    }


def coloured_cloud(vertices, faces, n: int, seed: int) -> PointCloud:
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    pts, _ = trimesh.sample.sample_surface(mesh, n, seed=seed)
    rgb = np.stack([0.5 + 0.5 * np.sign(pts[:, 1]) * 0.8, 0.3 + pts[:, 0], 0.6 - 0.4 * pts[:, 2]], axis=1)
    return PointCloud(pts, np.clip(rgb, 0, 1))


def procedural_shapes(categories: list[str], seed: int, n_true: int = 200000) -> dict[str, tuple]:
    """gen3d.data procedural shapes: (dense true surface points, a coloured-cloud maker)."""
    from gen3d.data.procedural import generate_shape
    from gen3d.data.sampling import sample_surface, surface_candidates

    out = {}
    for cat in categories:
        shape = generate_shape(cat, seed=seed)
        true_pts, _ = surface_candidates(shape.parts, n_true, np.random.default_rng(seed), remove_hidden=True)
        out[cat] = (true_pts, lambda n, shape=shape: sample_surface(shape, n, rng=1))
    return out


def generated_like_clouds(categories: list[str], strength: float, seeds: int, model: str = "gen3d-small"):
    """Held-out procedural shapes (seed 101 + i) re-drawn by the bundled base model from their own captions
    (SDEdit at ``strength``, scripts/build_generated_clouds.py): clouds with a generator's look whose true
    surface is known. Returns {name: (true surface points, cloud xyz)}."""
    from gen3d.data.procedural import generate_shape
    from gen3d.data.sampling import sample_surface, surface_candidates
    from gen3d.diffusion.clouds import sample_clouds
    from gen3d.pipeline import Pipeline

    pipe = Pipeline(model, device="cpu")
    n = int(pipe.base_config.get("points", 256))
    names, truths, inits, captions = [], [], [], []
    for cat in categories:
        for i in range(seeds):
            shape = generate_shape(cat, seed=101 + i)
            truths.append(surface_candidates(shape.parts, 200000, np.random.default_rng(i), remove_hidden=True)[0])
            inits.append(sample_surface(shape, n, rng=i))
            captions.append(shape.captions[0])
            names.append(f"{cat}{i}")
    emb = pipe.text.encode(captions)
    # evenly spaced DDIM steps (spacing 1), as when the README's mesher figures were measured (the model's own
    # sampler may space them otherwise, which moves where a given strength starts)
    clouds = sample_clouds(pipe.base, pipe.base_config, emb, seeds=list(range(len(inits))), sampler="ddim",
                           steps=16, spacing=1.0, init=inits, strength=strength)
    return {name: (t, c.xyz) for name, t, c in zip(names, truths, clouds, strict=True)}
