"""Batch generation: a prompt file -> one folder of assets, a ``manifest.jsonl`` and an ``index.html`` gallery.

Prompt files:

- ``.txt``: one prompt a line (blank lines and lines starting with ``#`` are skipped);
- ``.csv``: a header row with a ``prompt`` column; other columns are per-row options (empty cell = default);
- ``.jsonl``: one object a line with ``prompt`` and optional options (or a bare JSON string).

Per-row options: ``seed variations steps guidance sampler mesher texture_size max_faces size format name``.
Every row x variation is a *job* with a stable id (``0003_a_red_chair`` or ``0003_a_red_chair_v1``). Rows
without a seed get one derived from the batch seed and the row number (recorded in the manifest), so a batch
re-run with the same file and batch seed makes the same assets.

Workers (the local process, or Ray actors that load the model once each) return the files' bytes; only the
driver writes into the output folder, each file atomically, and appends one manifest line per job with fsync.
A job's files are all written before its manifest line; an interrupted job leaves none of its files behind.
``resume`` skips jobs whose latest manifest line is ``ok`` with the same prompt, seed, model and options and
whose files are still there with the recorded sha256.

Modules: :mod:`~gen3d.batch.jobs` (prompt files -> jobs), :mod:`~gen3d.batch.worker` (one job -> its files'
bytes), :mod:`~gen3d.batch.manifest` (manifest, resume, committing a job's files),
:mod:`~gen3d.batch.gallery` (``index.html``), :mod:`~gen3d.batch.runner` (:func:`~gen3d.batch.runner.run_batch`
and the local backend) and :mod:`~gen3d.batch.ray_backend` (the Ray backend).
"""
