"""Collision hulls (gen3d.mesh.collision): one convex hull, CoACD's decomposition of a concave shape, hull limits,
coverage of the surface, determinism, and the hulls on a generated asset."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from gen3d.mesh.cleanup import MeshError
from gen3d.mesh.collision import (
    DEFAULT_MAX_HULL_VERTICES,
    collision_hulls,
    convex_hull,
    decompose,
    hull_coverage,
)


def u_shape() -> trimesh.Trimesh:
    """A U (two posts on a bar): concave, so one hull would fill the gap between the posts."""
    parts = [trimesh.creation.box((1.0, 0.2, 0.3)),
             trimesh.creation.box((0.2, 0.6, 0.3)).apply_translation((-0.4, 0.4, 0.0)),
             trimesh.creation.box((0.2, 0.6, 0.3)).apply_translation((0.4, 0.4, 0.0))]
    return trimesh.util.concatenate(parts)  # three touching boxes: one concave solid to CoACD


def surface(mesh: trimesh.Trimesh, n: int = 3000) -> np.ndarray:
    pts, _ = trimesh.sample.sample_surface(mesh, n, seed=0)
    return pts


def assert_convex_hulls(hulls, max_vertices=DEFAULT_MAX_HULL_VERTICES):
    for v, f in hulls:
        h = trimesh.Trimesh(v, f, process=False)
        assert h.is_watertight and h.is_convex and h.volume > 0
        assert len(v) <= max_vertices and len(f) <= 2 * max_vertices - 4  # Unity: <= 255 triangles at 128


@pytest.fixture(scope="module")
def u_hulls():
    m = u_shape()
    return m, decompose(m.vertices, m.faces, max_hulls=4)


def test_convex_hull_is_convex_and_covers_everything():
    m = trimesh.creation.icosphere(3)  # a sphere of 642 corners: the worst case for the corner cap (128)
    v, f = convex_hull(m.vertices)
    assert_convex_hulls([(v, f)])
    assert len(v) == DEFAULT_MAX_HULL_VERTICES
    # the capped hull loses slivers only: 95% of the surface is within 1.5% of the size of it, all within 2%
    assert hull_coverage([(v, f)], surface(m), tol=0.015 * 2.0) >= 0.95
    assert hull_coverage([(v, f)], surface(m), tol=0.02 * 2.0) == 1.0
    assert hull_coverage([(v, f)], surface(m), tol=1e-9) < 1.0  # ... and the cap really dropped corners
    box = trimesh.creation.box((1, 2, 3))
    assert hull_coverage([convex_hull(box.vertices)], surface(box), tol=1e-9) == 1.0  # uncapped: exact


def test_flat_input_is_refused():
    with pytest.raises(MeshError, match="flat"):
        convex_hull(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0.0]]))


def test_decomposition_of_a_concave_shape(u_hulls):
    m, hulls = u_hulls
    assert 2 <= len(hulls) <= 4  # within the budget, and more than one hull for a U
    assert_convex_hulls(hulls)
    size = float(m.extents.max())
    assert hull_coverage(hulls, surface(m), tol=0.01 * size) >= 0.95
    # the gap between the posts stays open (one hull would fill it)
    gap = np.array([[0.0, 0.45, 0.0], [0.0, 0.6, 0.0]])
    assert hull_coverage(hulls, gap, tol=0.0) == 0.0
    assert hull_coverage([convex_hull(m.vertices)], gap, tol=0.0) == 1.0


def test_decomposition_is_deterministic(u_hulls):
    m, hulls = u_hulls
    again = decompose(m.vertices, m.faces, max_hulls=4)
    assert len(again) == len(hulls)
    for (v1, f1), (v2, f2) in zip(hulls, again, strict=True):
        assert np.array_equal(v1, v2) and np.array_equal(f1, f2)


def test_budget_of_one_and_modes():
    m = u_shape()
    one = decompose(m.vertices, m.faces, max_hulls=1)
    assert len(one) == 1
    assert collision_hulls(m.vertices, m.faces, "none") == []
    assert len(collision_hulls(m.vertices, m.faces, "convex")) == 1
    with pytest.raises(MeshError, match="--collision"):
        collision_hulls(m.vertices, m.faces, "capsule")


def test_generated_asset_gets_hulls_in_its_own_frame():
    from gen3d.texture.asset import mesh_and_texture
    from tests.test_export import box_sdf, two_tone_box_cloud

    asset = mesh_and_texture(two_tone_box_cloud(), mesher=box_sdf, resolution=32, texture_size=64, size_m=2.0,
                             max_faces=300, lods=1, collision="convex")
    assert len(asset.collision) == 1 and asset.lods[0].collision == []  # LODs share the main file's collision
    assert_convex_hulls(asset.collision)
    pts, _ = trimesh.sample.sample_surface(trimesh.Trimesh(asset.vertices, asset.faces), 2000, seed=1)
    assert hull_coverage(asset.collision, pts, tol=0.01 * 2.0) >= 0.99
    assert asset.metadata["parameters"]["collision"] == "convex"
    assert asset.metadata["parameters"]["collision_hulls"] == 1
