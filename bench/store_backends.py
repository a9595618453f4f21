"""GeoPackage vs PostGIS store: the same requests, req/s and p50/p99 under ``kiezkarte serve --workers 2``.

Data: the real store, built from the shipped raw files; the PostGIS store is the same
tables copied into a throw-away PostgreSQL cluster (``bench._postgis``: initdb in a
temporary folder, loopback, fsync off; ``app.store.postgis.load_geopackage``, which is what
``kiezkarte build --store postgresql://…`` runs after writing its GeoPackage).

Requests (one mixed list, cycled): ``/api/areas/<slug>`` (the 34 drawn areas),
``/api/planungsraeume/<id>`` (30 Planungsräume), ``/api/lookup?lat=…&lon=…`` (30 points: the
representative points of those Planungsräume), ``/ogc/collections/planungsraeume/items``
with a ``bbox`` around each of 10 areas and ``limit=20``. Before the load every request is
sent to both servers: same status, and the same JSON for the /api answers.

Servers: two ``kiezkarte serve --workers 2`` (gunicorn, ``bench._gunicorn``), one per store,
running side by side; load phases alternate between them (order rotating), ``bench._load``
with 4 keep-alive connections, median of N phases, p50/p99 latency.

Ratio = rps(PostGIS) / rps(GeoPackage); no target (issue 6 asks for the comparison): "report".
Without PostgreSQL/PostGIS installed the benchmark is SKIPPED.
"""
from __future__ import annotations

import json
import statistics

from . import _load, _postgis
from ._common import result
from .areas_gunicorn import area_paths
from ._gunicorn import GunicornServer
from ._live import shared_store

CONCURRENCY = 4
ROUNDS, ROUNDS_QUICK = 3, 2
SECONDS, SECONDS_QUICK = 3.0, 1.0
HEADERS = {"Accept": "application/json", "Accept-Encoding": "gzip"}


def request_paths(store_path) -> list[str]:
    from app import crs
    from app.store import open_store
    store = open_store(str(store_path))
    plr = store.read_layer("planungsraeume").sort_values("plr_id").iloc[::18].head(30)
    points = crs.to_web(plr.set_geometry(plr.geometry.representative_point()))
    areas = store.read_layer("qm_areas")
    areas = crs.to_web(areas[areas.geometry.notna()].sort_values("slug").head(10))
    paths = area_paths(store_path)
    paths += [f"/api/planungsraeume/{p}" for p in plr["plr_id"]]
    paths += [f"/api/lookup?lat={g.y:.6f}&lon={g.x:.6f}" for g in points.geometry]
    paths += ["/ogc/collections/planungsraeume/items?limit=20&bbox=" + ",".join(f"{v:.5f}" for v in g.bounds)
              for g in areas.geometry]
    return paths


def run(quick: bool = False) -> dict:
    pg_url = _postgis.shared_postgis_store()
    if pg_url is None:
        return {"skipped": _postgis.MISSING}
    rounds = ROUNDS_QUICK if quick else ROUNDS
    seconds = SECONDS_QUICK if quick else SECONDS
    store = shared_store()
    from app.store import open_planner
    open_planner(str(store))
    paths = request_paths(store)
    with GunicornServer(str(store), workers=2) as gpkg, GunicornServer(pg_url, workers=2) as pg:
        same = 0
        for path in paths:
            a = _load.fetch(gpkg.port, path, {"Accept": "application/json"})
            b = _load.fetch(pg.port, path, {"Accept": "application/json"})
            if a[0] != 200 or b[0] != 200:
                raise AssertionError(f"{path}: HTTP {a[0]} (GeoPackage) / {b[0]} (PostGIS)")
            if path.startswith("/api/") and json.loads(a[2]) != json.loads(b[2]):
                raise AssertionError(f"{path}: the stores answer differently")
            same += 1
        servers = {"geopackage": gpkg, "postgis": pg}
        requests = {name: [_load.request_bytes(s.port, p, HEADERS) for p in paths] for name, s in servers.items()}
        for name, s in servers.items():  # warm-up
            _load.hammer(s.port, requests[name], seconds=0.5, concurrency=CONCURRENCY)
        phases: dict[str, list[dict]] = {name: [] for name in servers}
        names = list(servers)
        for r in range(rounds):
            for name in names[r % 2:] + names[:r % 2]:
                s = servers[name]
                cpu0 = s.cpu_seconds()
                res = _load.hammer(s.port, requests[name], seconds=seconds, concurrency=CONCURRENCY)
                res["server_cpu_ms_per_request"] = 1000 * (s.cpu_seconds() - cpu0) / max(res["requests"], 1)
                res["client_cpu_ms_per_request"] = 1000 * res["client_cpu_seconds"] / max(res["requests"], 1)
                if res["errors"] or res["unexpected"]:
                    raise RuntimeError(f"{name}: {res['statuses']} {res['errors']}\n{s.stderr()[-2000:]}")
                phases[name].append(res)
    rps = {n: _load.median_rps(ps) for n, ps in phases.items()}
    p50 = {n: statistics.median(p["p50_ms"] for p in ps) for n, ps in phases.items()}
    p99 = {n: statistics.median(p["p99_ms"] for p in ps) for n, ps in phases.items()}
    cpu = {n: _load.median_of(ps, "server_cpu_ms_per_request") for n, ps in phases.items()}
    figures = {n: f"{rps[n]:.0f} req/s, p50 {p50[n]:.2f} ms, p99 {p99[n]:.2f} ms (server CPU {cpu[n]:.2f} ms/req)"
               for n in ("geopackage", "postgis")}
    figures["requests"] = (f"{len(paths)} mixed: areas, Planungsräume, point look-ups, OGC items by bbox; "
                           f"all {same} answered alike by both stores")
    figures["server"] = (f"2 x kiezkarte serve --workers 2; {CONCURRENCY} connections, {seconds:g} s phases, median of "
                         f"{rounds}; server CPU = gunicorn's processes (PostgreSQL's own not included)")
    return result(ratio=rps["postgis"] / rps["geopackage"], report_only=True, ratio_of="PostGIS / GeoPackage req/s",
                  data="real: the store built from geodata/raw, and the same tables in a throw-away PostGIS",
                  figures=figures, phases=_load.summary(phases), rps={k: round(v, 1) for k, v in rps.items()},
                  p50_ms=p50, p99_ms=p99, server_cpu_ms_per_request={k: round(v, 3) for k, v in cpu.items()},
                  paths=paths, postgis=_postgis.info(), concurrency=CONCURRENCY, seconds_per_phase=seconds,
                  rounds=rounds)
