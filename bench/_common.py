"""Helpers shared by the benchmark modules: paths, interleaved best-of-N timing, formatting."""
from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
RAW_DIR = REPO_ROOT / "geodata" / "raw"


def interleaved_best_of(contestants: dict[str, Callable[[], Callable[[], object]]], rounds: int) -> dict[str, list[float]]:
    """Time every contestant ``rounds`` times, interleaved, so all see the same machine state.

    Each contestant is a *setup* callable (not timed) returning the callable to time.
    The order rotates every round so no contestant always runs first or last.
    Returns all times per contestant; take ``min`` for the best of N.
    """
    names = list(contestants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn = contestants[name]()
            gc.collect()
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return times


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 100 else f"{value:.0f} s"


def result(*, ratio: float, target_max: float, ratio_of: str, figures: dict, data: str, **extra) -> dict:
    """The dict every benchmark returns: a ratio (lower is better), its target and ``ok``."""
    return {"ratio": round(ratio, 3), "ratio_of": ratio_of, "target": f"<= {target_max:g}",
            "ok": bool(ratio <= target_max), "figures": figures, "data": data, **extra}
