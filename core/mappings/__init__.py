"""Mappings beyond styles, one module each, on the same job, pipeline and writers:
``matte`` (a frame mapping), ``stabilize`` (a sequence mapping: a camera-path pass, then a
per-frame warp)."""
