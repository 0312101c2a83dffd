"""gen3d: text prompt -> coloured point cloud -> textured, game-ready 3D mesh.

Importing this package is cheap (no torch): heavy modules load on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
