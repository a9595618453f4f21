"""``/api/areas/<slug>`` req/s under ``kiezkarte serve --workers 2`` (gunicorn) vs the same bytes precomputed.

Data: the real store, built from the shipped raw files; the 34 QM areas that have a boundary
(each request asks for the next one: the area's figures, boundary and attribution as GeoJSON).

Server: what ``kiezkarte serve --workers 2`` runs (``app.serve.serve``: gunicorn, 2 gthread
workers with 4 threads, keep-alive, one JSON log line per request), started by
``bench._gunicorn`` with a benchmark-only route mounted on every worker's app:
``/_bench/precomputed/api/areas/<slug>`` returns the response of ``/api/areas/<slug>``
captured once when the worker started, as a bytes constant with the same Content-Type and
ETag, through the same after-request path (Cache-Control, gzip, conditional check) and the
same request log. Both answers are checked to be byte-identical (headers and gzip body).

Load: ``bench._load`` (4 keep-alive connections, alternating phases, order rotating, median
of N phases, at most 200,000 requests per phase, loopback only) with ``Accept-Encoding:
gzip``; latency of every request (send -> whole response read): p50 and p99 of the phases.
The server's CPU per request adds up gunicorn's master and workers (from /proc).

Ratio = median rps(areas) / median rps(precomputed); target >= 0.8 (issue 6).
"""
from __future__ import annotations

import statistics

from . import _load
from ._common import result
from ._gunicorn import GunicornServer
from ._live import shared_store

TARGET = 0.8
CONCURRENCY = 4
ROUNDS, ROUNDS_QUICK = 3, 2
SECONDS, SECONDS_QUICK = 3.0, 1.0
HEADERS = {"Accept": "application/geo+json", "Accept-Encoding": "gzip"}


def area_paths(store_path) -> list[str]:
    from app.store import open_store
    store = open_store(str(store_path))
    slugs = [r["slug"] for r in store.query("SELECT slug FROM qm_areas WHERE geom IS NOT NULL ORDER BY slug")]
    return [f"/api/areas/{slug}" for slug in slugs]


def run(quick: bool = False) -> dict:
    rounds = ROUNDS_QUICK if quick else ROUNDS
    seconds = SECONDS_QUICK if quick else SECONDS
    store = shared_store()
    paths = area_paths(store)
    with GunicornServer(str(store), workers=2, precompute=paths) as server:
        for path in paths:  # the same bytes and headers from both routes (either worker)
            real = _load.fetch(server.port, path, HEADERS)
            pre = _load.fetch(server.port, "/_bench/precomputed" + path, HEADERS)
            strip = lambda h: {k: v for k, v in h.items() if k != "date"}  # noqa: E731
            if real[0] != 200 or real[2] != pre[2] or strip(real[1]) != strip(pre[1]):
                raise AssertionError(f"precomputed {path} differs: {real[0]} {pre[0]} {real[1]} {pre[1]}")
        contestants = {
            "areas": {"requests": [_load.request_bytes(server.port, p, HEADERS) for p in paths]},
            "precomputed": {"requests": [_load.request_bytes(server.port, "/_bench/precomputed" + p, HEADERS)
                                         for p in paths]},
        }
        phases = _load.alternate(server, contestants, rounds=rounds, seconds=seconds, concurrency=CONCURRENCY)
        headers = real[1]
    rps = {name: _load.median_rps(ps) for name, ps in phases.items()}
    cpu = {name: _load.median_of(ps, "server_cpu_ms_per_request") for name, ps in phases.items()}
    p50 = {name: statistics.median(p["p50_ms"] for p in ps) for name, ps in phases.items()}
    p99 = {name: statistics.median(p["p99_ms"] for p in ps) for name, ps in phases.items()}
    ratio = rps["areas"] / rps["precomputed"]
    figures = {
        name: f"{rps[name]:.0f} req/s, p50 {p50[name]:.2f} ms, p99 {p99[name]:.2f} ms "
              f"(server CPU {cpu[name]:.2f} ms/req)" for name in ("areas", "precomputed")
    }
    figures["response"] = (f"{len(paths)} areas, {headers.get('content-encoding', 'identity')}, "
                           f"Cache-Control {headers.get('cache-control', '-')}; responses byte-identical")
    figures["server"] = f"kiezkarte serve --workers 2 (gunicorn gthread, 4 threads each); {CONCURRENCY} connections, " \
                        f"{seconds:g} s phases, median of {rounds}"
    return result(ratio=ratio, target_min=TARGET, ratio_of="areas / precomputed req/s",
                  data=f"real: the {len(paths)} drawn QM areas of the store built from geodata/raw",
                  figures=figures, phases=_load.summary(phases), rps={k: round(v, 1) for k, v in rps.items()},
                  p50_ms=p50, p99_ms=p99, server_cpu_ms_per_request={k: round(v, 3) for k, v in cpu.items()},
                  response_headers=headers, concurrency=CONCURRENCY, seconds_per_phase=seconds, rounds=rounds)
