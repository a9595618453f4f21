"""Run the benchmarks: ``python -m bench [names...] [--quick]``.

Every benchmark is a module ``bench/<name>.py`` listed in ``REGISTRY`` with a function
``run(quick: bool) -> dict`` returning at least ``ratio``, ``target``, ``ok`` and
``figures`` (label -> text for the table); see ``bench._common.result``. The runner
prints one table and writes every result to ``bench/results/<UTC timestamp>.json`` and
``bench/results/latest.json``. It is a report, not a test: a missed target prints
MISSED and still exits 0. A benchmark that crashes is reported as ERROR (exit 1); one
that cannot run here (e.g. no Chromium) returns ``{"skipped": reason}`` and shows SKIPPED.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

# The order in which they run. Add a module here to add a benchmark.
REGISTRY = [
    "aggregation",  # point-in-area counts: app.spatial.count_points vs bare shapely 2 (synthetic points)
    "build",        # app.build.build vs only reading the raw files it reads
    "page_weight",  # bytes a first visit transfers (headless Chromium) vs the issue-3/5 budgets (pages, area embed)
    "time_to_map",  # navigation -> map drawn, Kiezkarte page and embed vs a bare Leaflet page (headless Chromium)
    "lookup_rps",   # /api/lookup?address= requests/s vs /healthz on the same live server
    "ogc_items",    # /ogc/.../planungsraeume/items?limit=1000 requests/s vs the same bytes precomputed
    "conditional_304",  # If-None-Match answered 304 vs the full 200 (/api/planungsraeume, an embed), requests/s
    "import_csv",   # import-projects of 10,000 rows (synthetic titles, real addresses) vs pandas.read_csv
    "areas_gunicorn",  # /api/areas/<slug> req/s, p50/p99 under `kiezkarte serve --workers 2` vs the same bytes precomputed
    "store_backends",  # the same mixed requests against a GeoPackage and a PostGIS store (both under gunicorn)
    "big_layer_growth",  # 10k/100k/1M synthetic points: load time and city-/street-level tile time, growth exponent
]

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(REGISTRY)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer rounds, for a smoke run")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name in REGISTRY:
            print(f"{name}: {_summary(name)}")
        return 0
    unknown = [n for n in args.names if n not in REGISTRY]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    names = args.names or REGISTRY

    started = datetime.now(timezone.utc)
    results: dict[str, dict] = {}
    for name in names:
        print(f"bench: {name}{' (quick)' if args.quick else ''} ...", flush=True)
        t0 = time.perf_counter()
        try:
            res = importlib.import_module(f"bench.{name}").run(quick=args.quick)
        except Exception as exc:  # report and go on with the others
            traceback.print_exc()
            res = {"error": f"{type(exc).__name__}: {exc}", "ok": False}
        res["wall_seconds"] = round(time.perf_counter() - t0, 1)
        results[name] = res
        print(f"bench: {name} done in {res['wall_seconds']} s", flush=True)

    report = {
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "bench", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "machine": _machine(),
        "results": results,
    }
    path = _write(report, started)
    print()
    print(_table(results))
    print()
    missed = [n for n, r in results.items() if "error" not in r and "skipped" not in r and not r.get("ok")]
    errors = [n for n, r in results.items() if "error" in r]
    skipped = [n for n, r in results.items() if "skipped" in r]
    if missed:
        print(f"MISSED: {', '.join(missed)} (target not met; this is a report, exit code stays 0)")
    if errors:
        print(f"ERROR: {', '.join(errors)}")
    if skipped:
        print(f"SKIPPED: {', '.join(skipped)} (see the reason in the table)")
    if not missed and not errors:
        print("all targets met" + (" (of those that ran)" if skipped else ""))
    print(f"results: {path} (and {RESULTS_DIR / 'latest.json'})")
    return 1 if errors else 0


def _summary(name: str) -> str:
    doc = importlib.import_module(f"bench.{name}").__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _table(results: dict[str, dict]) -> str:
    """One block per benchmark: name, measured figures (one per line), ratio, target, result."""
    head = ("benchmark", "measured", "ratio", "target", "result")
    rows = []
    for name, r in results.items():
        if "skipped" in r:
            rows.append([name, textwrap.wrap(r["skipped"], 70) or [""], "-", "-", "SKIPPED"])
            continue
        if "error" in r:
            rows.append([name, textwrap.wrap(r["error"], 70) or [""], "-", "-", "ERROR"])
            continue
        label = f"{name} [synthetic]" if "synthetic" in str(r.get("data", "")) else name
        figures = [f"{k}: {v}" for k, v in r.get("figures", {}).items()]
        rows.append([label, figures, f"{r['ratio']:.2f} ({r.get('ratio_of', '')})", r["target"],
                     "report" if r.get("report_only") else ("ok" if r["ok"] else "MISSED")])
    widths = [max([len(head[0])] + [len(r[0]) for r in rows]),
              max([len(head[1])] + [len(line) for r in rows for line in r[1]]),
              max([len(head[2])] + [len(r[2]) for r in rows]),
              max([len(head[3])] + [len(r[3]) for r in rows]),
              max([len(head[4])] + [len(r[4]) for r in rows])]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    for name, figures, ratio, target, ok in rows:
        for i, fig in enumerate(figures or [""]):
            out.append(line([name, fig, ratio, target, ok] if i == 0 else ["", fig, "", "", ""]))
        out.append("")
    return "\n".join(out).rstrip()


def _machine() -> dict:
    versions = {}
    for mod in ("numpy", "shapely", "geopandas", "pandas", "pyogrio"):
        try:
            versions[mod] = importlib.import_module(mod).__version__
        except Exception:  # a missing library is not the runner's business
            versions[mod] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=RESULTS_DIR.parent.parent,
                                capture_output=True, text=True, timeout=10).stdout.strip() or None
    except Exception:
        commit = None
    try:  # others work in the same tree: say which files differed from the commit measured
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=RESULTS_DIR.parent.parent,
                                capture_output=True, text=True, timeout=10).stdout.splitlines()
        modified = sorted(line[3:] for line in status if line[3:] and not line[3:].startswith("bench/"))
    except Exception:
        modified = None
    for mod in ("flask", "werkzeug", "playwright"):
        try:
            from importlib.metadata import version
            versions[mod] = version(mod)
        except Exception:
            versions[mod] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "git_commit": commit, "modified_outside_bench": modified, "versions": versions}


def _write(report: dict, started: datetime) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    path = RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(text, encoding="utf-8")
    (RESULTS_DIR / "latest.json").write_text(text, encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
