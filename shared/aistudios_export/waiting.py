"""The wait planner's public import path (`aistudios_export.waiting.next_wait`), kept for the scripts
that use it; the planner itself lives with the workflow, in `workflow/waiting.py`."""

from .settings import DEFAULT_MAX_WAIT, DEFAULT_MIN_WAIT
from .workflow.waiting import Sample, keep_samples, next_wait

__all__ = ["DEFAULT_MAX_WAIT", "DEFAULT_MIN_WAIT", "Sample", "keep_samples", "next_wait"]
