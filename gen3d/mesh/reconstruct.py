"""Coloured point cloud -> triangle mesh in cloud space: the meshers, their registry and grid choice.

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

from gen3d.mesh.cleanup import MIN_ISLAND_FRACTION, MeshError, snap_to_points
from gen3d.mesh.grid import DEFAULT_HALF_EXTENT, DEFAULT_RESOLUTION, GridStats, SdfFn, mesh_from_sdf
from gen3d.pointcloud import PointCloud

CLASSICAL_MESHERS = ("poisson", "alpha", "ball", "shell")
SDF_CHUNK = 32768  # grid nodes per SDF call: fewer calls; the learned decoder pipelines them in 4,096s

# name -> factory(cloud) -> sdf_fn; the learned decoder registers itself here (e.g. as "sdf")
SDF_MESHERS: dict[str, Callable[[PointCloud], SdfFn]] = {}


SPARSE_POINTS = 512  # clouds of at most this many points ...
SPARSE_RESOLUTION = 64  # ... are meshed on this grid unless a resolution is given


def default_resolution(n_points: int) -> int:
    """The SDF grid for a cloud of ``n_points``: :data:`DEFAULT_RESOLUTION` (128), or 64 for sparse clouds
    (at most 512 points, e.g. gen3d-small's 256-point samples). Their points lie about 1/16 of the box apart,
    far coarser than a 64^3 grid's cells: there a 128^3 grid measured the same accuracy for four times the
    triangles and several times the mesh-stage seconds (docs/meshing.md)."""
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


def fits_unit_cube(cloud: PointCloud) -> bool:
    lo, hi = cloud.xyz.min(axis=0), cloud.xyz.max(axis=0)
    return bool(np.all(lo >= -0.5 - 1e-3) and np.all(hi <= 0.5 + 1e-3) and (hi - lo).max() >= 0.25)


def reconstruct(
    cloud: PointCloud,
    mesher: str | SdfFn = "shell",
    resolution: int | None = None,
    timings: dict[str, float] | None = None,
    sdf_band: float = 1.0,
    poisson_trim: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run a mesher on the cloud (in the gen3d unit-cube convention) -> raw (vertices, faces). ``resolution``
    (SDF meshers' grid) defaults to :func:`default_resolution` of the cloud's size; ``poisson_trim`` overrides
    :func:`~gen3d.mesh.classical.poisson_mesh`'s ``trim``."""
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

        normals = cloud.normals  # the file's own normals, when it has them; else estimated and oriented
        fn = {
            "poisson": lambda xyz: classical.poisson_mesh(
                xyz, classical.poisson_depth(len(xyz)), normals=normals,
                trim=classical.POISSON_TRIM if poisson_trim is None else poisson_trim),
            "alpha": classical.alpha_mesh,
            "ball": lambda xyz: classical.ball_pivot_mesh(xyz, normals=normals),
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
