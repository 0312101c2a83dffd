"""Coloured point cloud -> clean, UV-textured asset in metres: the stages the pipeline and CLI call.

decode (mesher) -> cleanup -> decimate -> UV unwrap -> texture bake -> scale/origin (+ LODs).
``mesher`` is a classical mesher name ("shell": normal-free, keeps thin parts, no open3d needed, the
default; "poisson", "alpha", "ball": open3d), a registered SDF mesher name, an :class:`SdfMesher` (a
learned decoder to condition on the cloud as meshed, e.g. a pipeline's own), or an SDF callable
``sdf_fn(points [Q,3]) -> [Q]`` already conditioned on the cloud (negative inside).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gen3d.mesh.asset import TexturedMesh, to_asset_frame
from gen3d.mesh.cleanup import MIN_ISLAND_FRACTION, MeshError, clean_mesh, snap_to_points, vertex_normals
from gen3d.mesh.decimate import DEFAULT_MAX_FACES, decimate, lod_budgets
from gen3d.mesh.grid import DEFAULT_HALF_EXTENT, DEFAULT_RESOLUTION, GridStats, SdfFn, mesh_from_sdf
from gen3d.pointcloud import PointCloud
from gen3d.pointcloud.ops import check_cloud, normalize_cloud, remove_outliers
from gen3d.texture.bake import bake_texture, idw_colours
from gen3d.texture.material import PBRMaterial, material_from_hint
from gen3d.texture.unwrap import unwrap

CLASSICAL_MESHERS = ("poisson", "alpha", "ball", "shell")
SDF_CHUNK = 32768  # grid nodes per SDF call: fewer calls; the learned decoder pipelines them in 4,096s
DEFAULT_TEXTURE_SIZE = 1024
DEFAULT_SIZE_M = 1.0

# name -> factory(cloud) -> sdf_fn; the learned decoder registers itself here (e.g. as "sdf")
SDF_MESHERS: dict[str, Callable[[PointCloud], SdfFn]] = {}


SPARSE_POINTS = 512  # clouds of at most this many points ...
SPARSE_RESOLUTION = 64  # ... are meshed on this grid unless a resolution is given


def default_resolution(n_points: int) -> int:
    """The SDF grid for a cloud of ``n_points``: :data:`DEFAULT_RESOLUTION` (128), or 64 for sparse clouds
    (at most 512 points, e.g. gen3d-small's 256-point samples). Their points lie about 1/16 of the box apart,
    far coarser than a 64^3 grid's cells: there a 128^3 grid measured the same accuracy for four times the
    triangles and several times the mesh-stage seconds (README, "Meshers")."""
    return SPARSE_RESOLUTION if n_points <= SPARSE_POINTS else DEFAULT_RESOLUTION


def check_resolution(resolution: int | None) -> None:
    """Raise :class:`MeshError` for a ``--mesh-resolution`` outside 16..512 (None: the default, by cloud size)."""
    if resolution is not None and not 16 <= resolution <= 512:
        raise MeshError(f"--mesh-resolution {resolution} is out of range; use 16..512 (default: by cloud size)")


@dataclass(frozen=True)
class SdfMesher:
    """A named ``factory(cloud) -> sdf_fn``: :func:`mesh_and_texture` conditions it on the cloud it meshes,
    after outlier removal and normalisation, as it does a registered SDF mesher name."""

    name: str
    factory: Callable[[PointCloud], SdfFn]


def island_threshold(mesher) -> float:
    """Cleanup's island threshold for a mesher (a name or a conditioned SDF function): the function's own
    ``min_island_fraction`` when it carries one (the learned decoder on sparse clouds), else
    :data:`~gen3d.mesh.cleanup.MIN_ISLAND_FRACTION`."""
    own = getattr(mesher, "min_island_fraction", None)
    return MIN_ISLAND_FRACTION if own is None else float(own)


def register_sdf_mesher(name: str, factory: Callable[[PointCloud], SdfFn]) -> None:
    """Make ``--mesher NAME`` use ``factory(cloud)`` (an SDF callable) with coarse-to-fine meshing."""
    if name in CLASSICAL_MESHERS:
        raise ValueError(f"{name!r} is a classical mesher name; choose another name")
    SDF_MESHERS[name] = factory


def available_meshers() -> list[str]:
    return list(CLASSICAL_MESHERS) + sorted(SDF_MESHERS)


def _fits_unit_cube(cloud: PointCloud) -> bool:
    lo, hi = cloud.xyz.min(axis=0), cloud.xyz.max(axis=0)
    return bool(np.all(lo >= -0.5 - 1e-3) and np.all(hi <= 0.5 + 1e-3) and (hi - lo).max() >= 0.25)


def reconstruct(
    cloud: PointCloud,
    mesher: str | SdfFn = "shell",
    resolution: int | None = None,
    timings: dict[str, float] | None = None,
    sdf_band: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Run a mesher on the cloud (in the gen3d unit-cube convention) -> raw (vertices, faces). ``resolution``
    (SDF meshers' grid) defaults to :func:`default_resolution` of the cloud's size."""
    timings = timings if timings is not None else {}
    resolution = default_resolution(len(cloud)) if resolution is None else int(resolution)
    t0 = time.perf_counter()
    sdf_fn: SdfFn | None = None
    if callable(mesher):
        sdf_fn = mesher
    elif mesher in SDF_MESHERS:
        sdf_fn = SDF_MESHERS[mesher](cloud)
        timings["encode"] = time.perf_counter() - t0
    elif mesher in CLASSICAL_MESHERS:
        from gen3d.mesh import classical

        fn = {
            "poisson": classical.poisson_mesh,
            "alpha": classical.alpha_mesh,
            "ball": classical.ball_pivot_mesh,
            "shell": lambda xyz: classical.shell_mesh(xyz, resolution=resolution),
        }
        v, f = fn[mesher](cloud.xyz)
        timings["decode"] = time.perf_counter() - t0
        return v, f
    else:
        raise MeshError(f"unknown mesher {mesher!r}; choose one of {', '.join(available_meshers())}")
    stats = GridStats(resolution)
    t1 = time.perf_counter()
    v, f = mesh_from_sdf(sdf_fn, resolution=resolution, half_extent=DEFAULT_HALF_EXTENT, band=sdf_band, stats=stats,
                         solid=True, chunk_size=SDF_CHUNK)
    elapsed = time.perf_counter() - t1
    timings["decode"] = stats.seconds_sdf
    timings["marching_cubes"] = elapsed - stats.seconds_sdf
    t2 = time.perf_counter()
    v = snap_to_points(v, f, cloud.xyz)  # the zero level of a learned occupancy sits inside thin parts
    timings["snap"] = time.perf_counter() - t2
    timings["sdf_queries"] = float(stats.queries)
    return v, f


def texture_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    cloud: PointCloud,
    texture_size: int = DEFAULT_TEXTURE_SIZE,
    timings: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Unwrap + bake + vertex colours for a clean mesh in cloud space (no scaling)."""
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    normals_src = vertex_normals(vertices, faces)
    uvm = unwrap(vertices, faces, texture_size=texture_size)
    t1 = time.perf_counter()
    timings["unwrap"] = timings.get("unwrap", 0.0) + t1 - t0
    image, coverage = bake_texture(uvm.vertices, uvm.faces, uvm.uvs, cloud.xyz, cloud.rgb, size=texture_size)
    colours = idw_colours(cloud.xyz, cloud.rgb, uvm.vertices, k=4)
    timings["bake"] = timings.get("bake", 0.0) + time.perf_counter() - t1
    return {
        "vertices": uvm.vertices,
        "faces": uvm.faces,
        "uvs": uvm.uvs,
        "normals": normals_src[uvm.vmap],
        "texture": image,
        "vertex_colors": colours,
        "coverage": np.float64(coverage),
        "charts": np.int64(uvm.charts),
    }


def mesh_and_texture(
    cloud: PointCloud,
    mesher: str | SdfFn = "shell",
    texture_size: int = DEFAULT_TEXTURE_SIZE,
    max_faces: int | None = None,
    size_m: float | None = None,
    material_hint: str | None = None,
    lods: int = 0,
    resolution: int | None = None,
    smooth_iterations: int = 0,
    min_island_fraction: float | None = None,
    normalize: bool | None = None,
    material: PBRMaterial | None = None,
    metadata: dict | None = None,
    sdf_band: float = 1.0,
    drop_outliers: bool = True,
) -> TexturedMesh:
    """The whole mesh stage: coloured cloud -> :class:`TexturedMesh` in metres (Y up, bottom-centre origin).

    ``max_faces`` defaults to :data:`DEFAULT_MAX_FACES` (the mesh is decimated before unwrapping);
    ``size_m`` (largest side, metres) defaults to 1 m; ``lods`` coarser levels halve the face count and
    texture size each. ``resolution`` (SDF meshers' grid) defaults to :func:`default_resolution` of the
    cloud's size. ``normalize=None`` rescales the cloud only when it does not already fit the
    gen3d unit cube (the SDF meshers need it there). ``sdf_band`` is the coarse-to-fine refinement
    band in cell diagonals for SDF meshers (1.0 is exact for a true SDF; for the learned decoder, whose
    values are capped distances, 1.5 scored the same F@1% with 12% more queries). ``drop_outliers``
    removes isolated points (see :func:`gen3d.pointcloud.ops.remove_outliers`) before meshing and baking.
    ``min_island_fraction`` (cleanup drops pieces with less area than this fraction of the largest) defaults
    to the SDF mesher's own ``min_island_fraction`` attribute when it has one (the learned decoder's
    config, :func:`gen3d.mesh.decoder.sdf_function`), else :data:`MIN_ISLAND_FRACTION`.
    """
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    check_cloud(cloud)
    if texture_size < 16 or texture_size > 8192:
        raise MeshError(f"--texture-size {texture_size} is out of range; use 16..8192 (default 1024)")
    if max_faces is not None and max_faces < 64:
        raise MeshError(f"--max-faces {max_faces} is too small; use at least 64")
    check_resolution(resolution)
    if lods < 0 or lods > 8:
        raise MeshError(f"--lods {lods} is out of range; use 0..8")
    size = DEFAULT_SIZE_M if size_m is None else float(size_m)
    if not np.isfinite(size) or size <= 0:
        raise MeshError(f"--size must be a positive number of metres, got {size_m}")
    work = cloud
    removed = 0
    if drop_outliers:  # isolated stray points would become blobs/spikes and bleed their colour
        work, removed = remove_outliers(work)
        check_cloud(work)
    if normalize or (normalize is None and not _fits_unit_cube(work)):
        work, _, _ = normalize_cloud(work, extent=1.0)

    resolution = default_resolution(len(work)) if resolution is None else int(resolution)
    if isinstance(mesher, SdfMesher):
        name, factory = mesher.name, mesher.factory
    else:
        name = mesher if isinstance(mesher, str) else getattr(mesher, "__name__", "sdf")
        factory = SDF_MESHERS.get(mesher) if isinstance(mesher, str) else None
    if factory is not None:  # conditioned on the cloud as meshed (outliers dropped); also gives its cleanup default
        t0 = time.perf_counter()
        mesher = factory(work)
        timings["encode"] = time.perf_counter() - t0
    if min_island_fraction is None:
        min_island_fraction = island_threshold(mesher)
    v, f = reconstruct(work, mesher, resolution=resolution, timings=timings, sdf_band=sdf_band)
    t0 = time.perf_counter()
    v, f = clean_mesh(v, f, min_island_fraction=min_island_fraction, smooth_iterations=smooth_iterations)
    timings["cleanup"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    budget = DEFAULT_MAX_FACES if max_faces is None else int(max_faces)
    v_full, f_full = v, f
    v, f = decimate(v, f, budget)
    timings["decimate"] = time.perf_counter() - t0

    parts = texture_mesh(v, f, work, texture_size, timings)
    t0 = time.perf_counter()
    verts, scale, offset = to_asset_frame(parts["vertices"], size)
    mat = material or material_from_hint(material_hint)
    meta = dict(metadata or {})
    meta.setdefault("parameters", {})
    meta["parameters"] = {
        **meta["parameters"],
        "mesher": name,
        "min_island_fraction": float(min_island_fraction),
        "texture_size": int(texture_size),
        "max_faces": budget,
        "size_m": size,
        "resolution": int(resolution),
        "points": len(cloud),
        "outliers_removed": removed,
    }
    asset = TexturedMesh(
        vertices=verts,
        faces=parts["faces"],
        uvs=parts["uvs"],
        normals=parts["normals"],
        texture=parts["texture"],
        vertex_colors=parts["vertex_colors"],
        material=mat,
        metadata=meta,
        timings=timings,
    )
    for level, lod_faces in enumerate(lod_budgets(len(f), lods), start=1):
        lv, lf = decimate(v_full, f_full, lod_faces)  # from the full mesh, not from LOD0
        lod_tex = max(64, texture_size >> level)
        lp = texture_mesh(lv, lf, work, lod_tex, timings)
        asset.lods.append(
            TexturedMesh(
                vertices=(lp["vertices"].astype(np.float64) * scale + offset).astype(np.float32),
                faces=lp["faces"],
                uvs=lp["uvs"],
                normals=lp["normals"],
                texture=lp["texture"],
                vertex_colors=lp["vertex_colors"],
                material=mat,
                metadata={**meta, "lod": level},
            )
        )
    timings["frame_and_lods"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    return asset
