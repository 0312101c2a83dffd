"""gen3d: text prompt -> coloured point cloud -> textured, game-ready 3D mesh.

    import gen3d
    asset = gen3d.generate("a red chair", seed=1)
    asset.save("chair.glb")

Importing this package is cheap (no torch): the pipeline loads on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = {"generate", "generate_many", "load_pipeline", "Pipeline", "Asset"}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str):
    if name in _API:
        from gen3d import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'gen3d' has no attribute {name!r}")
