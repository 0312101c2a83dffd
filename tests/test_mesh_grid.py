"""Coarse-to-fine SDF grids + marching cubes on analytic SDFs: same mesh as the dense grid, far fewer queries."""

from __future__ import annotations

import numpy as np
import pytest

from gen3d.eval.recon import is_watertight
from gen3d.mesh.cleanup import clean_mesh, face_components, signed_volume
from gen3d.mesh.grid import (
    GridStats,
    SdfGridError,
    coarse_to_fine_sdf_grid,
    dense_sdf_grid,
    fill_cavities,
    marching_cubes,
    mesh_from_sdf,
)


def sphere(p: np.ndarray, r: float = 0.35, c=(0.0, 0.0, 0.0)) -> np.ndarray:
    return np.linalg.norm(p - np.asarray(c, dtype=np.float32), axis=1) - r


def box(p: np.ndarray, half=(0.3, 0.2, 0.25), c=(0.0, 0.0, 0.0)) -> np.ndarray:
    q = np.abs(p - np.asarray(c, dtype=np.float32)) - np.asarray(half, dtype=np.float32)
    return np.linalg.norm(np.maximum(q, 0.0), axis=1) + np.minimum(q.max(axis=1), 0.0)


def boxes_union(p: np.ndarray) -> np.ndarray:
    return np.minimum(box(p, (0.3, 0.05, 0.3), (0.0, -0.1, 0.0)), box(p, (0.3, 0.25, 0.04), (0.0, 0.15, -0.26)))


def cylinder_y(p: np.ndarray, cx: float, cz: float, r: float, y0: float, y1: float) -> np.ndarray:
    d_r = np.sqrt((p[:, 0] - cx) ** 2 + (p[:, 2] - cz) ** 2) - r
    d_y = np.abs(p[:, 1] - (y0 + y1) / 2) - (y1 - y0) / 2
    return np.sqrt(np.maximum(d_r, 0) ** 2 + np.maximum(d_y, 0) ** 2) + np.minimum(np.maximum(d_r, d_y), 0)


def chair(p: np.ndarray) -> np.ndarray:
    """Seat + back + four thin legs (radius 1.2% of the box: about 1.5 cells at 128^3)."""
    d = boxes_union(p)
    for cx in (-0.26, 0.26):
        for cz in (-0.26, 0.26):
            d = np.minimum(d, cylinder_y(p, cx, cz, 0.012, -0.45, -0.1))
    return d


def _assert_same_mesh(a, b) -> None:
    (va, fa), (vb, fb) = a, b
    assert va.shape == vb.shape and fa.shape == fb.shape
    np.testing.assert_array_equal(fa, fb)
    np.testing.assert_allclose(va, vb, atol=1e-6)


@pytest.mark.parametrize(
    ("fn", "resolution", "max_fraction"),
    [(sphere, 128, 0.3), (box, 64, 0.45), (boxes_union, 64, 0.5), (chair, 128, 0.2)],
)
def test_coarse_to_fine_matches_dense(fn, resolution: int, max_fraction: float) -> None:
    dense_stats, c2f_stats = GridStats(resolution), GridStats(resolution)
    dense = mesh_from_sdf(fn, resolution=resolution, coarse_to_fine=False, stats=dense_stats)
    c2f = mesh_from_sdf(fn, resolution=resolution, stats=c2f_stats)
    _assert_same_mesh(dense, c2f)
    assert dense_stats.queries == resolution**3
    assert c2f_stats.fraction < max_fraction, c2f_stats.levels
    assert c2f_stats.queries == sum(n for _, n in c2f_stats.levels)


def test_chair_legs_survive_and_mesh_is_closed_and_outward() -> None:
    v, f = mesh_from_sdf(chair, resolution=128)
    assert is_watertight(v, f)
    assert signed_volume(v, f) > 0  # outward winding
    assert len(np.unique(face_components(f, len(v)))) == 1  # legs are attached to the seat
    # cleanup (with smoothing) keeps all four thin legs, down to the floor and at their radius
    cv, cf = clean_mesh(v, f, smooth_iterations=5)
    for cx in (-0.26, 0.26):
        for cz in (-0.26, 0.26):
            leg = cv[(cv[:, 1] < -0.2) & (np.abs(cv[:, 0] - cx) < 0.05) & (np.abs(cv[:, 2] - cz) < 0.05)]
            assert len(leg) > 50 and leg[:, 1].min() < -0.44
            radius = np.sqrt((leg[:, 0] - cx) ** 2 + (leg[:, 2] - cz) ** 2)
            assert 0.009 < np.median(radius) < 0.015


def test_sphere_volume_and_position() -> None:
    v, f = mesh_from_sdf(lambda p: sphere(p, 0.3, (0.1, -0.05, 0.0)), resolution=96)
    assert abs(signed_volume(v, f) / (4 / 3 * np.pi * 0.3**3) - 1) < 0.01
    np.testing.assert_allclose((v.max(0) + v.min(0)) / 2, [0.1, -0.05, 0.0], atol=2e-3)
    assert abs(np.linalg.norm(v - [0.1, -0.05, 0.0], axis=1).mean() - 0.3) < 2e-3


def test_chunks_are_bounded_and_float32() -> None:
    seen: list[int] = []

    def fn(p: np.ndarray) -> np.ndarray:
        assert p.dtype == np.float32 and p.ndim == 2 and p.shape[1] == 3
        seen.append(len(p))
        return sphere(p)

    stats = GridStats(64)
    coarse_to_fine_sdf_grid(fn, resolution=64, chunk_size=1000, stats=stats)
    assert max(seen) <= 1000 and sum(seen) == stats.queries and stats.calls == len(seen)


def test_dense_grid_axis_order() -> None:
    grid = dense_sdf_grid(lambda p: p[:, 0] + 2 * p[:, 1] + 3 * p[:, 2], resolution=9, half_extent=0.5)
    assert grid[8, 0, 0] - grid[0, 0, 0] == pytest.approx(1.0)
    assert grid[0, 8, 0] - grid[0, 0, 0] == pytest.approx(2.0)
    assert grid[0, 0, 8] - grid[0, 0, 0] == pytest.approx(3.0)


def test_learned_style_sdf_with_wider_band() -> None:
    # a non-metric SDF (3x the distance): band 1 may miss cells, a band of 3 is exact again
    scaled = lambda p: 3.0 * sphere(p)  # noqa: E731
    dense = mesh_from_sdf(scaled, resolution=64, coarse_to_fine=False)
    _assert_same_mesh(dense, mesh_from_sdf(scaled, resolution=64, band=3.0))


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (lambda p: np.ones(len(p)), "no zero crossing"),
        (lambda p: np.full(len(p), np.nan), "NaN"),
        (lambda p: np.zeros(3), "values for"),
    ],
)
def test_bad_sdf_outputs(fn, match: str) -> None:
    with pytest.raises(SdfGridError, match=match):
        mesh_from_sdf(fn, resolution=16)


def test_bad_parameters() -> None:
    with pytest.raises(SdfGridError, match="resolution"):
        mesh_from_sdf(sphere, resolution=4)
    with pytest.raises(SdfGridError, match="stride"):
        mesh_from_sdf(sphere, resolution=32, stride=3)
    with pytest.raises(SdfGridError):
        marching_cubes(np.zeros((4, 4)))


def test_torch_tensor_output_is_accepted() -> None:
    torch = pytest.importorskip("torch")
    v, f = mesh_from_sdf(lambda p: torch.from_numpy(sphere(p)), resolution=32)
    assert len(f) > 100


def test_solid_fills_enclosed_pockets_but_keeps_open_ones() -> None:
    def hollow(p):  # a ball of radius 0.3 with a sealed spherical cavity of radius 0.15 inside
        r = np.linalg.norm(p, axis=1)
        return np.maximum(r - 0.3, 0.15 - r)

    v, f = mesh_from_sdf(hollow, resolution=48)
    assert len(np.unique(face_components(f, len(v)))) == 2  # outer and inner surface
    v, f = mesh_from_sdf(hollow, resolution=48, solid=True)
    assert len(np.unique(face_components(f, len(v)))) == 1
    np.testing.assert_allclose(np.linalg.norm(v, axis=1).mean(), 0.3, atol=0.01)
    assert signed_volume(v, f) == pytest.approx(4 / 3 * np.pi * 0.3**3, rel=0.05)

    def cup(p):  # the same shell, cut open at the top: its inside reaches the border and stays empty
        return np.maximum(hollow(p), -(0.1 - p[:, 1]))

    grid = dense_sdf_grid(cup, 48)
    np.testing.assert_array_equal(fill_cavities(grid), grid)
