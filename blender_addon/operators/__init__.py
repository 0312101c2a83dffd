"""GEN3D_OT_* operators, one module per group: :mod:`.generate` (generate, blocking generate, queue, cancel),
:mod:`.server` (start, stop, check, release the model) and :mod:`.history` (re-import, use settings, clear).
The worker thread (jobs.Runner) only talks HTTP; every bpy call is made in an operator, on the main thread,
and the imports happen inside the operator so a run is one undo step."""

from __future__ import annotations

from . import generate, history, server

CLASSES = generate.CLASSES + server.CLASSES + history.CLASSES
