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


def result(*, ratio: float, ratio_of: str, figures: dict, data: str, target_max: float | None = None,
           target_min: float | None = None, report_only: bool = False, **extra) -> dict:
    """The dict every benchmark returns: a ratio, its target and ``ok``.

    ``target_max`` for ratios where lower is better (times, bytes), ``target_min`` where
    higher is better (requests per second relative to a baseline): exactly one of them,
    or ``report_only`` where the issue asks for figures but sets no target (shown as
    "report", never MISSED).
    """
    if report_only:
        if target_max is not None or target_min is not None:
            raise ValueError("a report-only result has no target")
        return {"ratio": round(ratio, 3), "ratio_of": ratio_of, "target": "none", "ok": True,
                "report_only": True, "figures": figures, "data": data, **extra}
    if (target_max is None) == (target_min is None):
        raise ValueError("give exactly one of target_max and target_min")
    if target_max is not None:
        target, ok = f"<= {target_max:g}", ratio <= target_max
    else:
        target, ok = f">= {target_min:g}", ratio >= target_min
    return {"ratio": round(ratio, 3), "ratio_of": ratio_of, "target": target,
            "ok": bool(ok), "figures": figures, "data": data, **extra}
