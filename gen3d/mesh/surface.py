"""Coloured cloud -> clean, decimated triangle surface: the geometry half of the mesh stage.

outliers dropped -> normalised into the unit cube (when it does not fit) -> mesher (``auto`` chooses one from
the cloud, :mod:`gen3d.mesh.auto`) -> cleanup -> decimation. :func:`gen3d.texture.asset.mesh_and_texture` adds
UVs, textures, scale and LODs; ``scripts/bench_recon.py`` scores each step's output against true surfaces.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from gen3d.mesh.cleanup import clean_mesh
from gen3d.mesh.decimate import DEFAULT_MAX_FACES, decimate
from gen3d.mesh.grid import SdfFn
from gen3d.mesh.reconstruct import (
    SDF_MESHERS,
    SdfMesher,
    check_resolution,
    default_resolution,
    fits_unit_cube,
    island_threshold,
    reconstruct,
)
from gen3d.pointcloud import PointCloud
from gen3d.pointcloud.ops import check_cloud, normalize_cloud, remove_outliers


@dataclass
class Surface:
    """Meshes in the space of ``cloud`` (the input with outliers dropped, normalised): ``raw`` as the mesher
    made it, ``full`` after cleanup, and ``vertices``/``faces`` decimated to the face budget.
    ``cloud_space = (input_xyz - centre) * scale``."""

    vertices: np.ndarray
    faces: np.ndarray
    full_vertices: np.ndarray
    full_faces: np.ndarray
    raw_vertices: np.ndarray
    raw_faces: np.ndarray
    cloud: PointCloud
    mesher: str
    reason: str
    resolution: int
    min_island_fraction: float
    outliers_removed: int
    budget: int
    centre: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))
    scale: float = 1.0

    def to_input_space(self, vertices: np.ndarray) -> np.ndarray:
        return np.asarray(vertices, dtype=np.float64) / self.scale + self.centre


def surface_from_cloud(
    cloud: PointCloud,
    mesher: str | SdfFn | SdfMesher = "shell",
    max_faces: int | None = None,
    resolution: int | None = None,
    smooth_iterations: int = 0,
    min_island_fraction: float | None = None,
    normalize: bool | None = None,
    sdf_band: float = 1.0,
    drop_outliers: bool = True,
    timings: dict[str, float] | None = None,
) -> Surface:
    """See the module docstring; the arguments are :func:`gen3d.texture.asset.mesh_and_texture`'s."""
    timings = timings if timings is not None else {}
    check_cloud(cloud)
    check_resolution(resolution)
    work, removed = cloud, 0
    if drop_outliers:  # isolated stray points would become blobs/spikes and bleed their colour
        work, removed = remove_outliers(work)
        check_cloud(work)
    centre, scale = np.zeros(3, np.float32), 1.0
    if normalize or (normalize is None and not fits_unit_cube(work)):
        work, centre, scale = normalize_cloud(work, extent=1.0)
    reason, poisson_trim = "chosen by the caller", None
    if mesher == "auto":
        from gen3d.mesh.auto import NOISY_POISSON_TRIM, choose_mesher

        t0 = time.perf_counter()
        mesher, reason = choose_mesher(work)
        poisson_trim = NOISY_POISSON_TRIM if mesher == "poisson" else None
        timings["choose"] = time.perf_counter() - t0
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
    raw_v, raw_f = reconstruct(work, mesher, resolution=resolution, timings=timings, sdf_band=sdf_band,
                               poisson_trim=poisson_trim)
    t0 = time.perf_counter()
    v, f = clean_mesh(raw_v, raw_f, min_island_fraction=min_island_fraction, smooth_iterations=smooth_iterations)
    timings["cleanup"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    budget = DEFAULT_MAX_FACES if max_faces is None else int(max_faces)
    dv, df = decimate(v, f, budget)
    timings["decimate"] = time.perf_counter() - t0
    return Surface(dv, df, v, f, raw_v, raw_f, work, name, reason, resolution, float(min_island_fraction), removed,
                   budget, np.asarray(centre, np.float32), float(scale))
