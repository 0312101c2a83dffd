"""The coloured point cloud that flows between stages, and what every stage does with one.

``PointCloud`` and ``CloudError`` live here; :mod:`gen3d.pointcloud.io` reads cloud files,
:mod:`gen3d.pointcloud.ops` checks, normalises and de-speckles clouds before meshing, and
:mod:`gen3d.pointcloud.fps` picks farthest-point subsets. This package imports nothing else from gen3d:
training data, the stages and the shells all build on it.

Convention (used everywhere in gen3d, the Point-E one): Y up, front facing +Z, centred, fitting the
cube [-0.5, 0.5]^3. ``xyz`` is float32 [N, 3]; ``rgb`` is float32 [N, 3] in 0..1.
Model space (what the diffusion models see) is ``xyz * 2`` and ``rgb * 2 - 1``, every channel in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class CloudError(ValueError):
    """A point cloud that cannot be loaded or meshed; the message names the problem and the fix."""


@dataclass
class PointCloud:
    xyz: np.ndarray
    rgb: np.ndarray
    normals: np.ndarray | None = None  # float32 [N, 3] unit, outward; from a file's nx/ny/nz (optional)

    def __post_init__(self) -> None:
        self.xyz = np.ascontiguousarray(self.xyz, dtype=np.float32)
        self.rgb = np.ascontiguousarray(self.rgb, dtype=np.float32)
        if self.xyz.ndim != 2 or self.xyz.shape[1] != 3:
            raise ValueError(f"xyz must be [N, 3], got {self.xyz.shape}")
        if self.rgb.shape != self.xyz.shape:
            raise ValueError(f"rgb must match xyz {self.xyz.shape}, got {self.rgb.shape}")
        if self.normals is not None:
            n = np.asarray(self.normals, dtype=np.float32)
            if n.shape != self.xyz.shape:
                raise ValueError(f"normals must match xyz {self.xyz.shape}, got {n.shape}")
            self.normals = np.ascontiguousarray(n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12))

    def subset(self, index: np.ndarray) -> PointCloud:
        """The points at ``index`` (an index array or boolean mask), normals included."""
        return PointCloud(self.xyz[index], self.rgb[index], None if self.normals is None else self.normals[index])

    def __len__(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def rgb_uint8(self) -> np.ndarray:
        return np.clip(np.round(self.rgb * 255.0), 0, 255).astype(np.uint8)

    def to_model_space(self) -> np.ndarray:
        """[6, N] float32 array in model space (xyz*2, rgb*2-1)."""
        return np.concatenate([self.xyz.T * 2.0, self.rgb.T * 2.0 - 1.0], axis=0).astype(np.float32)

    @classmethod
    def from_model_space(cls, arr: np.ndarray) -> PointCloud:
        """Inverse of :meth:`to_model_space` for a [6, N] array; colours clamped to 0..1."""
        arr = np.asarray(arr, dtype=np.float32)
        xyz = arr[:3].T / 2.0
        rgb = np.clip((arr[3:6].T + 1.0) / 2.0, 0.0, 1.0)
        return cls(xyz, rgb)
