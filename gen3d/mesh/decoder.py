"""The learned mesh decoder: a Point-E-layout SDF model turned into an ``sdf_fn(points) -> sdf`` for the
coarse-to-fine grid mesher (gen3d.mesh.grid). The cloud is encoded once (subsampled by farthest-point
sampling to the model's ``points`` latent tokens); queries run in chunks without gradients."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from gen3d.pointcloud import PointCloud
from gen3d.pointcloud.fps import farthest_points

LOCAL_POINTS = 2048  # the bundled decoder trained on clouds of 192..2048 points


def sdf_function(model: torch.nn.Module, config: dict, cloud: PointCloud, chunk: int = 4096,
                 margin: float = 0.06, local_points: int = LOCAL_POINTS, bridge: float | None = None):
    """Encode ``cloud`` and return ``sdf_fn(points [Q, 3]) -> np.ndarray [Q]`` (negative inside). A model
    with ``local_k`` also reads each query's nearest points of the whole cloud, found with a KD-tree.

    The coarse-to-fine grid refines cells whose values come within a band, reading values as distances. A
    trained occupancy logit is not one (a thin table top can sit between coarse nodes that all read
    "outside, logit 5"), so the value returned is ``sign(logit) * min(|logit|, margin + distance to the
    nearest cloud point)``: the sign, hence the surface, is the model's, and the coarse levels (whose bands
    are wider than ``margin``) always refine around the points; the finest ones refine on the sign alone.

    A cloud of more than ``local_points`` points is reduced to that many farthest points for the queries'
    neighbourhoods: the decoder trained on at most that many (denser clouds shift its local features out of
    range), and the KD-tree lookups, the largest cost, get cheaper.

    ``bridge > 0`` (default: the config's ``mesher.bridge`` for clouds of at most ``mesher.bridge_points``
    points, else 0) joins the model's solid with a ball of ``bridge`` x
    :func:`gen3d.mesh.classical.shell_radius` around every point: ``min(value, distance - radius)``, the balls
    cut to the cloud's bounding box so the union closes inside the grid. On sparse, noisy clouds (gen3d-small's
    own 256-point samples) the model's zero level breaks thin slabs into pieces where the points are far
    apart; the balls bridge those gaps. Queries inside a ball are inside the union whatever the model says,
    so the model reads only the others. On dense clouds the ball caps add refined cells (2.5x the queries on
    1024-4096 points) for little gain, hence ``bridge_points``.

    The returned function carries ``min_island_fraction``: the config's ``mesher.min_island_fraction`` for
    clouds of at most ``bridge_points`` points, else None. :func:`gen3d.texture.asset.mesh_and_texture`
    uses it as its cleanup threshold when the caller gives none: on sparse generated clouds the decoder
    leaves small floaters (under 5% of the largest piece) that the standard 1% keeps (docs/meshing.md)."""
    from scipy.spatial import cKDTree

    from gen3d.models.sdf import knn_offsets_np, local_features

    device = next(model.parameters()).device
    n = int(config.get("points", 4096))
    full = np.ascontiguousarray(cloud.xyz, dtype=np.float32)
    if len(full) > local_points:
        full = full[farthest_points(full, local_points)]
    xyz = full[farthest_points(full, n)]
    k = int(getattr(model, "local_k", 0))
    tree = cKDTree(full)
    radius, lo, hi = 0.0, None, None
    opts = config.get("mesher", {})
    sparse = len(cloud) <= opts.get("bridge_points", np.inf)
    if bridge is None:  # the config's choice, for clouds of at most mesher.bridge_points points (default: any)
        bridge = float(opts.get("bridge", 0.0)) if sparse else 0.0
    if bridge > 0:
        from gen3d.mesh.classical import shell_radius

        radius = float(bridge * shell_radius(full))
        lo, hi = cloud.xyz.min(axis=0), cloud.xyz.max(axis=0)
    with torch.no_grad():
        latents = model.encode(torch.from_numpy(np.ascontiguousarray(xyz.T))[None].to(device))

    def neighbours(part: np.ndarray) -> np.ndarray:
        return knn_offsets_np(tree, full, part, max(k, 1))

    def sdf_fn(points: np.ndarray) -> np.ndarray:
        pts = np.ascontiguousarray(points, dtype=np.float32)
        out = np.empty(len(pts), dtype=np.float32)
        # the KD-tree lookups of the next chunk run in a thread while the model reads this one (both release
        # the GIL): on two cores the two halves of the work overlap instead of taking turns
        with ThreadPoolExecutor(max_workers=1) as pool, torch.no_grad():
            pending = pool.submit(neighbours, pts[:chunk])
            for i in range(0, len(pts), chunk):
                part = pts[i : i + chunk]
                offsets = pending.result()
                if i + chunk < len(pts):
                    pending = pool.submit(neighbours, pts[i + chunk : i + 2 * chunk])
                nearest = np.linalg.norm(offsets[:, 0], axis=-1)
                value = nearest - radius  # the balls (only used where bridge > 0) ...
                if radius > 0:  # ... cut to the cloud's box, so they never reach the grid's edge and stay closed
                    value = np.maximum(value, np.max(np.maximum(lo - part, part - hi), axis=1))
                ask = value >= 0 if radius > 0 else slice(None)  # inside a ball: inside the union already
                part, offsets = part[ask], offsets[ask]
                if len(part):
                    local = local_features(torch.from_numpy(offsets))[None].to(device) if k else None
                    q = torch.from_numpy(part.T.copy())[None].to(device)
                    logit = model.predict_sdf(q, latents, local)[0].float().cpu().numpy()
                    capped = np.sign(logit) * np.minimum(np.abs(logit), nearest[ask] + margin)
                    value[ask] = np.minimum(capped, value[ask]) if radius > 0 else capped
                out[i : i + chunk] = value
        return out

    islands = opts.get("min_island_fraction") if sparse else None
    sdf_fn.min_island_fraction = None if islands is None else float(islands)  # cleanup's default for this cloud
    return sdf_fn


def sdf_mesher_from_file(path, expected_sha256: str | None = None, device: str = "cpu"):
    """``cloud -> sdf_fn`` from a learned decoder's safetensors + JSON (checked against ``expected_sha256``)."""
    from gen3d.models.checkpoints import load_model

    net, config = load_model(path, None, device=device, expected_sha256=expected_sha256)
    net = net.float().eval()
    return lambda cloud: sdf_function(net, config, cloud)


def learned_sdf_mesher(model: str = "gen3d-small", device: str = "cpu"):
    """``cloud -> sdf_fn`` with a model's learned decoder (sha256-checked like every load), for meshing clouds
    that come from outside the pipeline (``gen3d mesh --mesher sdf``)."""
    from gen3d.registry import ModelError, recorded_hashes, resolve

    spec = resolve(model)
    if not spec.has("sdf") or not spec.path("sdf").is_file():
        raise ModelError(f"model {spec.name} has no learned SDF decoder; use another --mesher (e.g. shell)")
    path = spec.path("sdf")
    return sdf_mesher_from_file(path, recorded_hashes(spec).get(path.name), device)
