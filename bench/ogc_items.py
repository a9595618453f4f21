"""OGC API items: ``/ogc/collections/planungsraeume/items?limit=1000`` req/s vs the same bytes precomputed.

Requests per second on the same live server, the real route against a benchmark-only route
returning the same response precomputed.

Data: the real store, built from the shipped raw files (all 542 Planungsräume fit in one
page of 1,000).

Server: ``bench._live`` (werkzeug, multi-threaded, its own process, 127.0.0.1) started with
``--precompute``: at start-up it fetches the items URL once through the app itself
(no compression, the live server's root URL, so links are the same) and mounts the
benchmark-only route ``/_bench/precomputed`` returning that body as a bytes constant with
the same Content-Type, Content-Crs, Vary and strong ETag. Both routes then take the same
after-request path (Cache-Control, gzip through the app's per-ETag gzip cache, conditional
check). The two responses are checked to be byte-identical (headers and gzip body).

Load: ``bench._load`` as in ``lookup_rps`` (concurrent connections, alternating phases,
median), with ``Accept: application/geo+json`` and ``Accept-Encoding: gzip`` as GDAL/QGIS
send. Ratio = rps(items) / rps(precomputed); target >= 0.5 (issue 4).

Also reported: the first (cold) response time of the items URL in the server process
(``app.ogc`` renders the page then keeps it in an in-memory LRU cache, so the steady
state measures that cache), the body size (raw and gzip), and where a cold render spends
its time (cProfile of ``app.ogc.items_geojson`` with its page cache cleared each time).
"""
from __future__ import annotations

import cProfile
import statistics
import time

from . import _load
from ._common import result
from ._live import LiveServer, shared_store

TARGET = 0.5
URL = "/ogc/collections/planungsraeume/items?limit=1000"
CONCURRENCY = 4
ROUNDS, ROUNDS_QUICK = 3, 2
SECONDS, SECONDS_QUICK = 3.0, 1.0
HEADERS = {"Accept": "application/geo+json", "Accept-Encoding": "gzip"}
COLD_RENDERS, COLD_RENDERS_QUICK = 5, 2


def run(quick: bool = False) -> dict:
    rounds = ROUNDS_QUICK if quick else ROUNDS
    seconds = SECONDS_QUICK if quick else SECONDS
    store = shared_store()
    with LiveServer(store, precompute=URL) as server:
        real = _load.fetch(server.port, URL, HEADERS)
        pre = _load.fetch(server.port, "/_bench/precomputed", HEADERS)
        drop = ("date",)
        same_headers = {k: v for k, v in real[1].items() if k not in drop} == {k: v for k, v in pre[1].items() if k not in drop}
        if real[0] != 200 or pre[0] != 200 or real[2] != pre[2] or not same_headers:
            raise AssertionError(f"precomputed response differs: {real[0]} {pre[0]} {real[1]} {pre[1]} "
                                 f"bodies equal: {real[2] == pre[2]}")
        contestants = {
            "items": {"requests": [_load.request_bytes(server.port, URL, HEADERS)]},
            "precomputed": {"requests": [_load.request_bytes(server.port, "/_bench/precomputed", HEADERS)]},
        }
        phases = _load.alternate(server, contestants, rounds=rounds, seconds=seconds, concurrency=CONCURRENCY)
        info = server.info

    cold = _cold_renders(store, COLD_RENDERS_QUICK if quick else COLD_RENDERS)
    rps = {name: _load.median_rps(ps) for name, ps in phases.items()}
    cpu = {name: _load.median_of(ps, "server_cpu_ms_per_request") for name, ps in phases.items()}
    ratio = rps["items"] / rps["precomputed"]
    gz = len(real[2])
    figures = {
        "items": f"{rps['items']:.0f} req/s (server CPU {cpu['items']:.2f} ms/req)",
        "precomputed": f"{rps['precomputed']:.0f} req/s (server CPU {cpu['precomputed']:.2f} ms/req)",
        "body": f"{info['precompute_bytes'] / 1e6:.2f} MB GeoJSON, {gz / 1e6:.2f} MB gzip, "
                f"{real[1].get('content-encoding', 'identity')}, ETag {real[1].get('etag', 'NONE')[:14]}…",
        "cold first response": f"{info['precompute_first_ms']:.0f} ms in the server (then served from app.ogc's page cache)",
        "cold render (in-process)": f"{cold['median_ms']:.0f} ms median of {cold['renders']} (cache cleared each time)",
        "cold render top own time (ms)": _load.top_text(cold["top"], 3, digits=0),
        "load": f"{CONCURRENCY} connections, {seconds:g} s phases, median of {rounds}; responses byte-identical",
    }
    return result(ratio=ratio, target_min=TARGET, ratio_of="items / precomputed req/s",
                  data="real: the 542 Planungsräume of the store built from geodata/raw",
                  figures=figures, phases=_load.summary(phases), rps={k: round(v, 1) for k, v in rps.items()},
                  server_cpu_ms_per_request={k: round(v, 3) for k, v in cpu.items()},
                  response_headers=real[1], body_bytes=info["precompute_bytes"], gzip_bytes=gz,
                  cold_first_response_ms=info["precompute_first_ms"], cold_render=cold,
                  concurrency=CONCURRENCY, seconds_per_phase=seconds, rounds=rounds)


def _cold_renders(store_path, n: int) -> dict:
    """``app.ogc.items_geojson`` with its page cache emptied before each call: the uncached cost."""
    from app import ogc
    from app.store import open_store

    store = open_store(str(store_path))
    args = {"limit": ["1000"]}
    base = "http://127.0.0.1/ogc"
    ogc.items_geojson(store, "planungsraeume", args, base)  # imports, store connections, schema
    times = []
    for _ in range(n):
        ogc._PAGES._stores.clear()
        started = time.perf_counter()
        ogc.items_geojson(store, "planungsraeume", args, base)
        times.append((time.perf_counter() - started) * 1000)
    prof = cProfile.Profile()
    ogc._PAGES._stores.clear()
    prof.enable()
    ogc.items_geojson(store, "planungsraeume", args, base)
    prof.disable()
    ogc._PAGES._stores.clear()
    return {"renders": n, "median_ms": statistics.median(times), "ms": [round(t, 1) for t in times],
            "top": _load.top_functions(prof, 1, 12), "app": _load.top_cumulative(prof, 1, 12)}
