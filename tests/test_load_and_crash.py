"""Under load and under a kill -9: no server error, flat memory, no half-imported state,
and a store that is still consistent and simply takes the same command again.

Traffic goes to 127.0.0.1 only, bounded in clients and seconds.
"""
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter

import pandas as pd
import psycopg
import pytest

from app.store import open_planner, open_store
from tests.conftest import RAW_DIR

pytestmark = pytest.mark.slow

CLIENTS = int(os.environ.get("KIEZKARTE_LOAD_CLIENTS", "16"))
SECONDS = float(os.environ.get("KIEZKARTE_LOAD_SECONDS", "8"))
URLS = ["/", "/gebiete/beusselstrasse", "/kiez/01200517", "/api/areas", "/api/planungsraeume",
        "/api/lookup?address=Ackerstra%C3%9Fe%201", "/api/projects?fund=baufonds", "/api/suggest?q=Beuss",
        "/ogc/collections/planungsraeume/items?limit=50", "/healthz"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


@pytest.fixture()
def server(store_url, planner_url, tmp_path):
    planner = open_planner(store_url, planner_url)
    port = free_port()
    env = {**os.environ, "KIEZKARTE_STORE": store_url, "KIEZKARTE_PLANNER_STORE": planner.path}
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = tmp_path / "server.log"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    yield proc, port, planner
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def hammer(port: int, seconds: float, statuses: Counter, lock: threading.Lock, stop: threading.Event,
           at_least: int = 0):
    """Request URLS in turn for ``seconds``, and at least ``at_least`` times however slow the machine is."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    i = 0
    end = time.time() + seconds
    while (time.time() < end or i < at_least) and not stop.is_set():
        url = URLS[i % len(URLS)]
        i += 1
        try:
            conn.request("GET", url, headers={"Accept-Encoding": "gzip"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            status = "connection error"
        with lock:
            statuses[status] += 1
    conn.close()


def test_load_gives_no_server_error_and_flat_memory(server):
    proc, port, _ = server
    statuses, lock, stop = Counter(), threading.Lock(), threading.Event()
    # warm-up: every client asks for every URL at least once (the first answers fill the caches), then load
    warm = [threading.Thread(target=hammer, args=(port, SECONDS / 4, statuses, lock, stop, len(URLS)))
            for _ in range(CLIENTS)]
    for t in warm:
        t.start()
    for t in warm:
        t.join()
    before = rss_kib(proc.pid)
    threads = [threading.Thread(target=hammer, args=(port, SECONDS, statuses, lock, stop)) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = rss_kib(proc.pid)
    served = sum(n for s, n in statuses.items() if isinstance(s, int))
    errors = {s: n for s, n in statuses.items() if s != 200}  # every URL here exists: anything else is a failure
    print(f"load: {CLIENTS} clients, {served} responses in {SECONDS * 1.25:.0f} s, statuses {dict(statuses)}, "
          f"RSS {before} -> {after} KiB")
    assert errors == {} and served > 100, proc.log_path.read_text()[-3000:]
    assert after < before * 1.25 + 20_000  # flat: a warmed-up server does not keep growing


def import_csv(tmp_path, rows: int):
    table = pd.read_csv(RAW_DIR / "adressen_plr" / "adressen.csv.gz", dtype=str, keep_default_na=False, nrows=200_000)
    table = table[table["hnr_zusatz"] == ""].sample(rows, random_state=1)
    frame = pd.DataFrame({"id": [f"load-{i}" for i in range(rows)], "title": [f"Lasttest {i}" for i in range(rows)],
                          "fund": "Projektfonds", "address": [f"{s} {h}, {p}" for s, h, p in
                                                               zip(table["str_name"], table["hnr"], table["plz"])]})
    path = tmp_path / "load.csv"
    frame.to_csv(path, index=False)
    return path


def test_readers_never_see_a_half_imported_state(server, tmp_path, store_url):
    proc, port, planner = server
    path = import_csv(tmp_path, 2000)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/stats")
    before = json.loads(conn.getresponse().read())["projects"]["total"]["projects"]
    seen, stop = set(), threading.Event()

    def read():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not stop.is_set():
            c.request("GET", "/api/stats")
            seen.add(json.loads(c.getresponse().read())["projects"]["total"]["projects"])
        c.close()

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    env = {**os.environ, "KIEZKARTE_STORE": store_url, "KIEZKARTE_PLANNER_STORE": planner.path}
    done = subprocess.run([sys.executable, "-m", "app.cli", "import-projects", str(path)], env=env,
                          capture_output=True, text=True, timeout=300)
    time.sleep(0.3)
    stop.set()
    for t in readers:
        t.join()
    assert done.returncode == 0, done.stderr[-2000:]
    assert seen <= {before, before + 2000} and before + 2000 in seen


def integrity(store) -> str:
    """A GeoPackage (a path or a planner store): SQLite's integrity check. PostGIS: no write transaction
    is left open in the database (the server rolls back the killed import's once its connection drops)."""
    if getattr(store, "backend", "") == "postgis":
        with psycopg.connect(store.location.conninfo, autocommit=True) as conn:
            for _ in range(100):
                writing = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                                       "AND pid <> pg_backend_pid()").fetchone()[0]
                if not writing:
                    return "ok"
                time.sleep(0.1)
        return f"{writing} write transactions still open"
    con = sqlite3.connect(getattr(store, "path", store))
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def test_a_killed_import_leaves_a_consistent_store_and_can_be_rerun(store_url, planner_url, tmp_path):
    planner = open_planner(store_url, planner_url)
    path = import_csv(tmp_path, 3000)
    env = {**os.environ, "KIEZKARTE_STORE": store_url, "KIEZKARTE_PLANNER_STORE": planner.path}
    count = lambda: open_store(store_url, planner.path).scalar("SELECT count(*) FROM projects")  # noqa: E731
    before = count()
    for delay in (0.5, 1.5, 3.0):
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "import-projects", str(path)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert integrity(planner) == "ok"
        assert count() in (before, before + 3000)
        if count() == before + 3000:
            break
    again = subprocess.run([sys.executable, "-m", "app.cli", "import-projects", str(path)], env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert count() == before + 3000 and integrity(planner) == "ok"


@pytest.mark.geopackage_only("the build writes a temporary .gpkg and renames it into place; PostGIS swaps schemas "
                              "in one transaction (a failing PostGIS build: tests/test_postgis.py)")
def test_a_killed_build_leaves_the_old_store_and_can_be_rerun(built, tmp_path):
    target = tmp_path / "store.gpkg"
    target.write_bytes(built[0].read_bytes())
    original = target.read_bytes()
    env = {**os.environ, "KIEZKARTE_STORE": str(target), "KIEZKARTE_PLANNER_STORE": str(tmp_path / "p.gpkg")}
    for delay in (0.8, 1.6):
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "build"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert target.read_bytes() == original and integrity(target) == "ok"
    rerun = subprocess.run([sys.executable, "-m", "app.cli", "build"], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert list(tmp_path.glob(".store-*.tmp.gpkg*")) == []  # the killed builds' temporary files are gone
    assert integrity(target) == "ok"
    assert sqlite3.connect(target).execute("SELECT count(*) FROM planungsraeume").fetchone()[0] == 542


@pytest.mark.geopackage_only("the temporary .gpkg beside a GeoPackage store; PostGIS loads a layer in one transaction")
def test_a_killed_layer_load_leaves_no_temporary_file_after_the_next_load(built, tmp_path):
    store = tmp_path / "store.gpkg"
    store.write_bytes(built[0].read_bytes())
    points = tmp_path / "trees.gpkg"
    env = {**os.environ, "KIEZKARTE_STORE": str(store), "KIEZKARTE_PLANNER_STORE": str(tmp_path / "p.gpkg")}
    made = subprocess.run([sys.executable, "-m", "app.cli", "synthetic-trees", "--count", "150000", "-o", str(points)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    load = [sys.executable, "-m", "app.cli", "load-layer", "synthetic_trees", str(points)]
    layers = tmp_path / "store-layers"
    proc = subprocess.Popen(load, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(layers.glob(".*.tmp.gpkg")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        pytest.skip("the load finished before it could be killed")
    assert not (layers / "synthetic_trees.gpkg").exists()  # nothing half-written took the layer's name
    assert list(layers.glob(".*.tmp.gpkg*")), "the kill came before the temporary file was written"
    rerun = subprocess.run(load, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert list(layers.glob(".*.tmp.gpkg*")) == []  # the killed load's temporary file is gone
    con = sqlite3.connect(layers / "synthetic_trees.gpkg")
    assert con.execute("SELECT count(*) FROM points").fetchone()[0] == 150_000
    assert integrity(layers / "synthetic_trees.gpkg") == "ok"
