"""Pausing Python's cyclic garbage collector around bulk work that makes no reference cycles.

A bulk load, an index build or a run of due jobs makes millions of short- or
long-lived objects that hold no cycles; each full collection meanwhile walks
every object the process holds (a million activities and more), which was half
of a large load's time and 6 % of a day of due jobs. The collector is process-wide:
while a call runs, other threads run without it too (docs/threads.md).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector is left as it was found."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
