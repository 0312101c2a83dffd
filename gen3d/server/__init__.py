"""``gen3d serve``: a local HTTP JSON job server over :class:`gen3d.pipeline.Pipeline`.

:mod:`gen3d.server.jobs` holds the job queue (one worker thread, first in first out, the model loaded once and
releasable; progress and cancellation through the pipeline's callbacks); :mod:`gen3d.server.app` is the
FastAPI application over it (endpoints, token check, request limits).
"""
