"""The build: ``app.build.build(raw_dir, store)`` against only reading the raw files it reads.

Data: the real shipped files in ``geodata/raw/`` (nothing synthetic).

Which files, read how: a first, untimed build runs with ``geopandas.read_file`` and
``pandas.read_csv`` wrapped, recording every call the build makes (all of its reads
go through ``app.sources.read_vector`` and ``app.sources.read_csv``). The *read*
contestant replays exactly those library calls, same files, same arguments
(``read_file(..., engine="pyogrio")``; ``read_csv(..., dtype=str, keep_default_na=False, ...)``),
and nothing else: no CRS check, reprojection, repair, joins or writing.

Each timed run is a fresh Python process (imports done before the clock starts), build
and read interleaved, best of N. Peak memory is the process's peak RSS, ``VmHWM`` from
``/proc/self/status`` (Linux), so it includes the interpreter and the imported libraries;
the peak right after the imports is reported next to it. Not ``getrusage().ru_maxrss``:
on Linux that carries the parent's peak over fork+exec, so it would report the runner's
memory (e.g. the 1M points of ``aggregation``), not the build's. Where ``/proc`` is
missing, ``ru_maxrss`` is the fallback and the JSON says so.

The build forks child processes (the web geometries, the address tables, the web GeoJSON;
``app.forked``): their CPU time and peak RSS (``getrusage(RUSAGE_CHILDREN)``; after a fork
without exec ``ru_maxrss`` is the child's own peak, pages shared with the build included)
are reported beside the build's. The children read no files: every read the build makes is
in the replay.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._common import RAW_DIR, REPO_ROOT, result, seconds

TARGET = 3.0
ROUNDS, ROUNDS_QUICK = 3, 1


def run(quick: bool = False) -> dict:
    rounds = ROUNDS_QUICK if quick else ROUNDS
    with tempfile.TemporaryDirectory(prefix="kiezkarte-bench-") as tmp:
        store = Path(tmp) / "kiezkarte.gpkg"
        calls = Path(tmp) / "reads.json"
        record = _child("record", store, calls)  # warm-up build that also lists the reads
        runs: dict[str, list[dict]] = {"read": [], "build": []}
        for r in range(rounds):
            for mode in (("read", "build") if r % 2 == 0 else ("build", "read")):
                runs[mode].append(_child(mode, store, calls))
        store_mb = store.stat().st_size / 1e6
    reads = json.loads(record["reads"])
    best = {mode: min(x["seconds"] for x in rs) for mode, rs in runs.items()}
    peak_mb = {mode: max(x["peak_rss_kb"] for x in rs) / 1024 for mode, rs in runs.items()}
    base_mb = max(x["imports_peak_rss_kb"] for x in runs["build"]) / 1024
    fastest = min(runs["build"], key=lambda x: x["seconds"])
    children_mb = max(x["children_peak_rss_kb"] for x in runs["build"]) / 1024
    rss_method = runs["build"][0]["rss_method"]
    files = sorted({c["path"] for c in reads})
    ratio = best["build"] / best["read"]
    return result(
        ratio=ratio, target_max=TARGET, ratio_of="build / read",
        data=f"real: the {len(files)} raw files under geodata/raw/ the build reads",
        figures={
            "build": seconds(best["build"]),
            "read only": f"{seconds(best['read'])} ({len(reads)} read_file/read_csv calls, {len(files)} files)",
            "store size": f"{store_mb:.1f} MB",
            "build CPU": f"{fastest['cpu_seconds']:.2f} s + {fastest['children_cpu_seconds']:.2f} s in its forked "
                         f"children (fastest run)",
            "peak RSS build": f"{peak_mb['build']:.0f} MiB ({rss_method}; {base_mb:.0f} MiB after imports; "
                              f"forked children up to {children_mb:.0f} MiB, ru_maxrss)",
            "peak RSS read only": f"{peak_mb['read']:.0f} MiB ({rss_method})",
            "best of": str(rounds),
        },
        seconds={mode: [round(x["seconds"], 3) for x in rs] for mode, rs in runs.items()},
        best_seconds={mode: round(v, 3) for mode, v in best.items()},
        store_mb=round(store_mb, 2),
        peak_rss_mib={mode: round(v, 1) for mode, v in peak_mb.items()},
        children_peak_rss_mib=round(children_mb, 1),
        cpu_seconds={mode: [round(x["cpu_seconds"], 3) for x in rs] for mode, rs in runs.items()},
        children_cpu_seconds=[round(x["children_cpu_seconds"], 3) for x in runs["build"]],
        imports_rss_mib=round(base_mb, 1),
        rss_method=f"{rss_method} of a fresh process per run (includes interpreter and imports)",
        read_method="replay of the geopandas.read_file / pandas.read_csv calls recorded during a build",
        files_read=[str(Path(f).relative_to(RAW_DIR)) if Path(f).is_relative_to(RAW_DIR) else f for f in files],
    )


def _child(mode: str, store: Path, calls: Path) -> dict:
    """Run one measurement in a fresh interpreter; it prints one JSON line last."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "bench.build", "--child", mode, str(store), str(calls)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.build child '{mode}' failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- inside the child process

def _encode(value):
    if isinstance(value, type):  # dtype=str
        return {"__type__": value.__name__}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _decode(value):
    if isinstance(value, dict) and set(value) == {"__type__"}:
        return {"str": str, "object": object, "int": int, "float": float}[value["__type__"]]
    return value


def _record_reads(fn):
    """Run ``fn`` with geopandas.read_file and pandas.read_csv wrapped; return the calls made."""
    import geopandas
    import pandas

    reads = []
    originals = {"read_file": geopandas.read_file, "read_csv": pandas.read_csv}

    def wrap(module, name):
        original = originals[name]

        def recorder(path, *args, **kwargs):
            reads.append({"call": name, "path": os.fspath(path), "args": [_encode(a) for a in args],
                          "kwargs": {k: _encode(v) for k, v in kwargs.items()}})
            return original(path, *args, **kwargs)
        setattr(module, name, recorder)

    wrap(geopandas, "read_file")
    wrap(pandas, "read_csv")
    try:
        fn()
    finally:
        geopandas.read_file = originals["read_file"]
        pandas.read_csv = originals["read_csv"]
    return reads


def _replay_reads(reads) -> None:
    import warnings

    import geopandas
    import pandas

    for c in reads:
        args = [_decode(a) for a in c["args"]]
        kwargs = {k: _decode(v) for k, v in c["kwargs"].items()}
        if c["call"] == "read_file":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # as app.sources.read_vector does
                geopandas.read_file(c["path"], *args, **kwargs)
        else:
            pandas.read_csv(c["path"], *args, **kwargs)


def _peak_rss_kb() -> tuple[int, str]:
    """Peak RSS of this process in KiB, and how it was measured."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]), "VmHWM"
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"


def _child_main(mode: str, store: str, calls: str) -> None:
    import geopandas  # noqa: F401  (imports happen before the clock starts)
    import pandas  # noqa: F401
    import pyogrio  # noqa: F401
    import shapely  # noqa: F401

    from app.build import build

    imports_kb, method = _peak_rss_kb()
    out = {"mode": mode, "rss_method": method}
    import resource
    cpu_started = time.process_time()
    started = time.perf_counter()
    if mode == "record":
        reads = _record_reads(lambda: build(RAW_DIR, store))
        Path(calls).write_text(json.dumps(reads), encoding="utf-8")
        out["reads"] = json.dumps(reads)
    elif mode == "build":
        build(RAW_DIR, store)
    elif mode == "read":
        _replay_reads(json.loads(Path(calls).read_text(encoding="utf-8")))
    else:
        raise SystemExit(f"unknown mode {mode}")
    out["seconds"] = time.perf_counter() - started
    out["cpu_seconds"] = time.process_time() - cpu_started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the build's forked children, once they ended
    out["children_cpu_seconds"] = children.ru_utime + children.ru_stime
    out["children_peak_rss_kb"] = children.ru_maxrss
    out["peak_rss_kb"] = _peak_rss_kb()[0]
    out["imports_peak_rss_kb"] = imports_kb
    print(json.dumps(out))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="child process of the build benchmark")
    parser.add_argument("--child", required=True, choices=["record", "build", "read"])
    parser.add_argument("store")
    parser.add_argument("calls")
    a = parser.parse_args()
    _child_main(a.child, a.store, a.calls)
