"""A throw-away PostgreSQL + PostGIS for the benchmarks, once per run (``tests/postgres.py``'s cluster).

``shared_postgis()`` starts the cluster on first use (``initdb`` into a temporary folder, a
free loopback port, fsync off) and stops and deletes it when the run ends; it returns None
when Debian's ``postgresql``/``postgis`` are not installed (the benchmark then says SKIPPED).
``shared_postgis_store()`` copies the run's built GeoPackage store (``_live.shared_store``)
into it with the store's own loader (``app.store.postgis.load_geopackage``: the same tables,
indexes and types a ``kiezkarte build --store postgresql://…`` writes) and returns its URL.
"""
from __future__ import annotations

import atexit
import time

_STATE: dict = {}
MISSING = ("PostgreSQL with PostGIS is not installed (Debian: apt-get install postgresql postgis; "
           "./run.sh bench installs them)")


def shared_postgis():
    """The running cluster (``tests.postgres.Cluster``), or None when PostgreSQL/PostGIS are missing."""
    if "cluster" not in _STATE:
        from tests.postgres import Cluster, binaries
        if binaries() is None:
            return None
        started = time.perf_counter()
        cluster = Cluster().start()
        _STATE.update(cluster=cluster, start_seconds=time.perf_counter() - started)

        def stop():
            from app.store.postgis import close_pools
            close_pools()
            cluster.stop()
        atexit.register(stop)
    return _STATE["cluster"]


def shared_postgis_store() -> str | None:
    """URL of a PostGIS store with the same tables as the run's built GeoPackage store."""
    cluster = shared_postgis()
    if cluster is None:
        return None
    if "store" not in _STATE:
        from app.store import open_planner
        from app.store.postgis import load_geopackage

        from ._live import shared_store
        url = f"{cluster.url}?schema=kiezkarte"
        started = time.perf_counter()
        load_geopackage(shared_store(), url)
        open_planner(url)  # the planner schema, seeded, before any server worker asks for it
        _STATE.update(store=url, load_seconds=time.perf_counter() - started)
    return _STATE["store"]


def info() -> dict:
    return {k: round(v, 2) for k, v in _STATE.items() if k.endswith("_seconds")}
