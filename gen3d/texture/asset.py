"""The textured asset every exporter takes, the one place scale and origin are applied, and the whole stage
that makes it from a coloured cloud:

decode (mesher) -> cleanup -> decimate (:mod:`gen3d.mesh.surface`) -> UV unwrap -> texture bake -> scale/origin
(+ LODs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from gen3d.mesh.cleanup import MeshError, vertex_normals
from gen3d.mesh.collision import DEFAULT_MAX_HULLS, Hull, check_collision_mode, collision_hulls, require_coacd
from gen3d.mesh.decimate import decimate, lod_budgets
from gen3d.mesh.grid import SdfFn
from gen3d.mesh.reconstruct import SdfMesher
from gen3d.mesh.surface import surface_from_cloud
from gen3d.pointcloud import PointCloud
from gen3d.texture.bake import bake_texture, idw_colours
from gen3d.texture.material import PBRMaterial, material_from_hint
from gen3d.texture.normals import SurfaceNormals, bake_normal_map, vertex_tangents
from gen3d.texture.unwrap import unwrap

DEFAULT_TEXTURE_SIZE = 1024
DEFAULT_SIZE_M = 1.0


@dataclass
class TexturedMesh:
    """A UV-textured triangle mesh in metres, glTF Y-up, origin at the bottom centre of its box.

    ``uvs`` use the OpenGL/OBJ convention ((0, 0) = bottom-left of ``texture``, whose row 0 is the top).
    ``vertex_colors`` are 0..1 sRGB. ``lods`` holds coarser levels (LOD1, LOD2, ...). ``normal_map`` (optional)
    is a tangent-space normal map in the frame of ``tangents`` (see :mod:`gen3d.texture.normals`); ``collision``
    holds convex hulls (vertices, faces) in the asset's frame.
    """

    vertices: np.ndarray  # float32 [V, 3]
    faces: np.ndarray  # int64 [F, 3], counter-clockwise seen from outside
    uvs: np.ndarray  # float32 [V, 2]
    normals: np.ndarray  # float32 [V, 3], unit length
    texture: np.ndarray  # uint8 [H, W, 3]
    vertex_colors: np.ndarray  # float32 [V, 3], 0..1
    material: PBRMaterial = field(default_factory=PBRMaterial)
    metadata: dict = field(default_factory=dict)
    lods: list[TexturedMesh] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    normal_map: np.ndarray | None = None  # uint8 [H, W, 3]
    tangents: np.ndarray | None = None  # float32 [V, 4]: xyz unit, w = +-1
    collision: list[Hull] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float32)
        self.faces = np.ascontiguousarray(self.faces, dtype=np.int64)
        self.uvs = np.ascontiguousarray(self.uvs, dtype=np.float32)
        self.normals = np.ascontiguousarray(self.normals, dtype=np.float32)
        self.texture = np.ascontiguousarray(self.texture, dtype=np.uint8)
        self.vertex_colors = np.ascontiguousarray(self.vertex_colors, dtype=np.float32)
        n = len(self.vertices)
        if self.vertices.ndim != 2 or self.vertices.shape[1] != 3:
            raise ValueError(f"vertices must be [V, 3], got {self.vertices.shape}")
        if self.faces.ndim != 2 or self.faces.shape[1] != 3 or len(self.faces) == 0:
            raise ValueError(f"faces must be a non-empty [F, 3], got {self.faces.shape}")
        if self.faces.min() < 0 or self.faces.max() >= n:
            raise ValueError("faces index vertices that do not exist")
        for label, arr, width in (("uvs", self.uvs, 2), ("normals", self.normals, 3)):
            if arr.shape != (n, width):
                raise ValueError(f"{label} must be [{n}, {width}], got {arr.shape}")
        if self.vertex_colors.shape != (n, 3):
            raise ValueError(f"vertex_colors must be [{n}, 3], got {self.vertex_colors.shape}")
        if self.texture.ndim != 3 or self.texture.shape[2] != 3:
            raise ValueError(f"texture must be [H, W, 3] uint8, got {self.texture.shape}")
        if (self.normal_map is None) != (self.tangents is None):
            raise ValueError("a normal map needs tangents and tangents need a normal map")
        if self.normal_map is not None:
            self.normal_map = np.ascontiguousarray(self.normal_map, dtype=np.uint8)
            self.tangents = np.ascontiguousarray(self.tangents, dtype=np.float32)
            if self.normal_map.ndim != 3 or self.normal_map.shape[2] != 3:
                raise ValueError(f"normal_map must be [H, W, 3] uint8, got {self.normal_map.shape}")
            if self.tangents.shape != (n, 4):
                raise ValueError(f"tangents must be [{n}, 4], got {self.tangents.shape}")

    @property
    def extent(self) -> np.ndarray:
        return self.vertices.max(axis=0) - self.vertices.min(axis=0)


def to_asset_frame(vertices: np.ndarray, size_m: float) -> tuple[np.ndarray, float, np.ndarray]:
    """Scale so the largest box side is ``size_m`` metres and move the bottom centre to the origin.

    Returns ``(new_vertices, scale, offset)`` with ``new = vertices * scale + offset``.
    """
    if not np.isfinite(size_m) or size_m <= 0:
        raise ValueError(f"--size must be a positive number of metres, got {size_m}")
    v = np.asarray(vertices, dtype=np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    scale = float(size_m) / max(float((hi - lo).max()), 1e-12)
    centre = (lo + hi) / 2.0
    offset = -np.array([centre[0], lo[1], centre[2]]) * scale
    return (v * scale + offset).astype(np.float32), scale, offset


def texture_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    cloud: PointCloud,
    texture_size: int = DEFAULT_TEXTURE_SIZE,
    timings: dict[str, float] | None = None,
    high: SurfaceNormals | None = None,
) -> dict[str, np.ndarray]:
    """Unwrap + bake + vertex colours for a clean mesh in cloud space (no scaling); with ``high`` (the
    full-resolution surface, same space) also tangents and a normal map of the texture's size."""
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    normals_src = vertex_normals(vertices, faces)
    uvm = unwrap(vertices, faces, texture_size=texture_size)
    t1 = time.perf_counter()
    timings["unwrap"] = timings.get("unwrap", 0.0) + t1 - t0
    image, coverage = bake_texture(uvm.vertices, uvm.faces, uvm.uvs, cloud.xyz, cloud.rgb, size=texture_size)
    colours = idw_colours(cloud.xyz, cloud.rgb, uvm.vertices, k=4)
    timings["bake"] = timings.get("bake", 0.0) + time.perf_counter() - t1
    out = {
        "vertices": uvm.vertices,
        "faces": uvm.faces,
        "uvs": uvm.uvs,
        "normals": normals_src[uvm.vmap],
        "texture": image,
        "vertex_colors": colours,
        "coverage": np.float64(coverage),
        "charts": np.int64(uvm.charts),
        "normal_map": None,
        "tangents": None,
    }
    if high is not None:
        t2 = time.perf_counter()
        out["tangents"] = vertex_tangents(uvm.vertices, uvm.faces, out["normals"], uvm.uvs)
        out["normal_map"], _ = bake_normal_map(uvm.vertices, uvm.faces, uvm.uvs, out["normals"], out["tangents"],
                                               high, size=texture_size)
        timings["normal_bake"] = timings.get("normal_bake", 0.0) + time.perf_counter() - t2
    return out


def mesh_and_texture(
    cloud: PointCloud,
    mesher: str | SdfFn | SdfMesher = "shell",
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
    normal_map: bool = False,
    collision: str = "none",
    max_hulls: int = DEFAULT_MAX_HULLS,
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
    ``normal_map`` bakes the full-resolution surface (before decimation) into a tangent-space normal map for the
    mesh and each LOD. ``collision`` (none | convex | decomposed, see :mod:`gen3d.mesh.collision`) adds convex
    hulls of the decimated mesh (at most ``max_hulls``) to the asset, not to its LODs.
    """
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    if texture_size < 16 or texture_size > 8192:
        raise MeshError(f"--texture-size {texture_size} is out of range; use 16..8192 (default 1024)")
    if max_faces is not None and max_faces < 64:
        raise MeshError(f"--max-faces {max_faces} is too small; use at least 64")
    if lods < 0 or lods > 8:
        raise MeshError(f"--lods {lods} is out of range; use 0..8")
    collision = check_collision_mode(collision)
    if collision == "decomposed":
        require_coacd()
    size = DEFAULT_SIZE_M if size_m is None else float(size_m)
    if not np.isfinite(size) or size <= 0:
        raise MeshError(f"--size must be a positive number of metres, got {size_m}")
    surf = surface_from_cloud(cloud, mesher, max_faces=max_faces, resolution=resolution,
                              smooth_iterations=smooth_iterations, min_island_fraction=min_island_fraction,
                              normalize=normalize, sdf_band=sdf_band, drop_outliers=drop_outliers, timings=timings)
    work, v, f, v_full, f_full = surf.cloud, surf.vertices, surf.faces, surf.full_vertices, surf.full_faces
    budget = surf.budget

    high = None
    if normal_map:
        t0 = time.perf_counter()
        high = SurfaceNormals(v_full, f_full, vertex_normals(v_full, f_full))
        timings["normal_bake"] = time.perf_counter() - t0
    parts = texture_mesh(v, f, work, texture_size, timings, high=high)
    t0 = time.perf_counter()
    verts, scale, offset = to_asset_frame(parts["vertices"], size)
    mat = material or material_from_hint(material_hint)
    meta = dict(metadata or {})
    meta.setdefault("parameters", {})
    meta["parameters"] = {
        **meta["parameters"],
        "mesher": surf.mesher,
        "mesher_reason": surf.reason,
        "min_island_fraction": surf.min_island_fraction,
        "texture_size": int(texture_size),
        "max_faces": budget,
        "size_m": size,
        "resolution": surf.resolution,
        "points": len(cloud),
        "outliers_removed": surf.outliers_removed,
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
        normal_map=parts["normal_map"],
        tangents=parts["tangents"],
    )
    if normal_map:
        meta["parameters"]["normal_map"] = True
    if collision != "none":
        t1 = time.perf_counter()
        hulls = collision_hulls((v.astype(np.float64) * scale + offset), f, collision, max_hulls=max_hulls)
        asset.collision = hulls
        meta["parameters"].update(collision=collision, collision_hulls=len(hulls))
        timings["collision"] = time.perf_counter() - t1
    for level, lod_faces in enumerate(lod_budgets(len(f), lods), start=1):
        lv, lf = decimate(v_full, f_full, lod_faces)  # from the full mesh, not from LOD0
        lod_tex = max(64, texture_size >> level)
        lp = texture_mesh(lv, lf, work, lod_tex, timings, high=high)
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
                normal_map=lp["normal_map"],
                tangents=lp["tangents"],
            )
        )
    timings["frame_and_lods"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    return asset
