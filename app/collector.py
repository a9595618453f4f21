"""Python's cyclic garbage collector paused for a bulk job (a build, an import).

Such a job makes hundreds of thousands of small objects that all live until it ends and
hardly any cycles: each full collection walks them all again without finding garbage (a
third of an import's dry run, 5 % of a build, and pages the build's forked children share
get copied). The collector runs again afterwards, as it was.
"""
from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
