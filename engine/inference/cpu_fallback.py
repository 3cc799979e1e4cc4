"""CUDA running out of memory in the middle of a job: the job runs again on the CPU, with a notice.

    take = render_with_cpu_fallback(build, notice=warn)

`build(device)` makes the (pipeline, request, segments) of the job for a device: None = the device the
user asked for, "cpu" = the retry; segments = what `pipeline.source.prepare(request)` returned, or None
for the pipeline to prepare it. A job already on the CPU, or failing for another reason, raises as it is.
"""

from __future__ import annotations

from typing import Callable

import torch

OOM_NOTICE = "CUDA ran out of memory: this one was made on the CPU instead (slower)"


def is_cuda_oom(exc: BaseException) -> bool:
    """torch's CUDA out-of-memory error (older builds raise a RuntimeError saying so)."""
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(exc, oom)) or (
        isinstance(exc, RuntimeError) and "CUDA out of memory" in str(exc))


def on_cuda(pipeline) -> bool:
    device = getattr(pipeline.source, "device", None)
    return getattr(device, "type", str(device)) == "cuda"


def render_with_cpu_fallback(build: Callable, notice: Callable[[str], None], cancel=None):
    """Render the job built by `build(None)`; on CUDA out of memory, free the cache, say `OOM_NOTICE`
    through `notice` and render the job built by `build("cpu")`."""
    pipeline, request, segments = build(None)
    try:
        return pipeline.render(request, cancel=cancel, segments=segments)
    except Exception as exc:  # noqa: BLE001 - only CUDA OOM is handled; the rest is raised again
        if not (is_cuda_oom(exc) and on_cuda(pipeline)):
            raise
    del pipeline
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    notice(OOM_NOTICE)
    pipeline, request, segments = build("cpu")
    return pipeline.render(request, cancel=cancel, segments=segments)
