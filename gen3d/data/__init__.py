"""gen3d's own 3D training data: a deterministic, captioned procedural dataset and users' meshes.

Convention (Point-E's, used everywhere in gen3d): Y up, the object's front faces +Z, centred, largest
bounding-box side 0.9 so it fits the cube [-0.5, 0.5]^3 (see :mod:`gen3d.data.shape`).

- :mod:`gen3d.data.procedural`: ``CATEGORIES``, ``category_names()``, ``generate_shape(category, seed)``
- :mod:`gen3d.data.sampling`: ``sample_surface(shape, n, rng)``, ``sample_sdf(shape, n_near, n_uniform, rng)``
- :mod:`gen3d.data.cache`: sharded on-disk datasets (``build_cache``) and their readers
- :mod:`gen3d.data.datasets`: torch ``Dataset``s over the cache and generated on the fly
- :mod:`gen3d.data.folder`: users' own meshes + captions, normalised to the same convention
"""
