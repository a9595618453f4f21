"""A live Kiezkarte server for the request and browser benchmarks, in its own process.

``LiveServer`` starts ``python -m bench._live`` (the app from ``create_app`` served by
werkzeug's multi-threaded server, ``make_server(..., threaded=True)``) on 127.0.0.1 and a free
port. Running it in its own process keeps the load generator and Playwright out of the
server's GIL. Two benchmark-only routes are mounted on the same app (so every response
goes through the same after-request hook: ETag, Cache-Control, gzip, 304):

- ``/_bench/static/<name>``: a file from the directory given with ``--pages`` (the bare
  Leaflet pages of ``time_to_map``), served as ``text/html``;
- ``/_bench/precomputed``: the bytes and headers of one URL (``--precompute URL``)
  captured once at start-up through the app itself, then returned as a constant;
- ``/_bench/timings`` (with ``--timings``): for every request since the last call, the path and the time the
  app took (a WSGI wrapper around the app: from the call until its response iterable is
  back, i.e. routing, view, rendering, after-request hooks, gzip), then cleared. The
  ``/_bench/`` requests themselves are not recorded.

The store is built once per benchmark run from the shipped raw files into a temporary
directory (``shared_store``), so a benchmark never reads a stale store or one another
engineer is rebuilding.
"""
from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ._common import RAW_DIR, REPO_ROOT

_STORE: dict = {}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def shared_store() -> Path:
    """A store built from ``geodata/raw`` into a temporary directory, once per process."""
    if "path" not in _STORE:
        from app.build import build

        tmp = Path(tempfile.mkdtemp(prefix="kiezkarte-bench-store-"))
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        path = tmp / "kiezkarte.gpkg"
        started = time.perf_counter()
        build(RAW_DIR, path)
        _STORE.update(path=path, build_seconds=time.perf_counter() - started)
    return _STORE["path"]


class LiveServer:
    """``with LiveServer(...) as server:`` -> ``server.base``, ``server.cpu_seconds()``."""

    def __init__(self, store: Path, *, pages_dir: Path | None = None, precompute: str | None = None,
                 timings: bool = False):
        self.store, self.pages_dir, self.precompute, self.record_timings = store, pages_dir, precompute, timings
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}

    def __enter__(self) -> "LiveServer":
        cmd = [sys.executable, "-m", "bench._live", "--store", str(self.store)]
        if self.pages_dir:
            cmd += ["--pages", str(self.pages_dir)]
        if self.precompute:
            cmd += ["--precompute", self.precompute]
        if self.record_timings:
            cmd += ["--timings"]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
        self._stderr = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: nobody reads it while serving
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        line = self.proc.stdout.readline()  # the child prints one JSON line once it listens
        if not line:
            self.proc.wait(timeout=10)
            raise RuntimeError(f"bench._live server did not start:\n{self.stderr()[-3000:]}")
        self.info = json.loads(line)
        self.port = self.info["port"]
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # this one process, by its id
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc:
            self.proc.stdout.close()
        self._stderr.close()

    def stderr(self) -> str:
        """What the server wrote to stderr so far (tracebacks of failed requests)."""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def timings(self) -> list[dict]:
        """The app's time per request since the last call (and clears them), from ``/_bench/timings``."""
        import urllib.request

        with urllib.request.urlopen(self.base + "/_bench/timings", timeout=30) as r:
            return json.loads(r.read())

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (all its threads)."""
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


# ---------------------------------------------------------------- inside the server process

def _child_main(store: str, pages: str | None, precompute: str | None, record_timings: bool) -> None:
    import logging

    from flask import Blueprint, Response, abort
    from werkzeug.serving import make_server

    from app import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on stderr per request
    app = create_app({"STORE": store})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.server_port
    bp = Blueprint("bench", __name__, url_prefix="/_bench")
    info: dict = {"port": port, "pid": os.getpid()}

    if pages:
        pages_dir = Path(pages).resolve()

        @bp.get("/static/<name>")
        def bench_static(name):
            path = (pages_dir / name).resolve()
            if path.parent != pages_dir or not path.is_file():
                abort(404)
            # Its own policy (the app gives HTML without one a policy that forbids inline
            # scripts): same origin only, plus the page's one inline script.
            return Response(path.read_bytes(), mimetype="text/html", headers={
                "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                           "style-src 'self' 'unsafe-inline'; img-src 'self' data:"})

    captured: dict = {}
    if precompute:
        @bp.get("/precomputed")
        def bench_precomputed():
            response = Response(captured["body"], content_type=captured["content_type"], headers=captured["extra"])
            response.vary.add("Accept")
            response.set_etag(captured["etag"])
            return response

    timings: list = []
    timings_lock = threading.Lock()

    @bp.get("/timings")
    def bench_timings():
        with timings_lock:
            out = list(timings)
            timings.clear()
        return Response(json.dumps(out), mimetype="application/json", headers={"Cache-Control": "no-store"})

    app.register_blueprint(bp)  # before the first request (Flask refuses later)
    inner = app.wsgi_app

    def timed_wsgi_app(environ, start_response):
        started = time.perf_counter()
        body = inner(environ, start_response)
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_bench/"):
            query = environ.get("QUERY_STRING", "")
            with timings_lock:
                timings.append({"path": path + (f"?{query}" if query else ""),
                                "ms": round((time.perf_counter() - started) * 1000, 3)})
                del timings[:-10_000]  # bounded
        return body

    if record_timings:  # opt-in: the request-rate benchmarks measure the app without it
        app.wsgi_app = timed_wsgi_app
    if precompute:
        started = time.perf_counter()
        # The first response through the app itself, with the live server's own root URL
        # (links in the body are absolute) and no compression: the bytes the view produced.
        first = app.test_client().get(precompute, base_url=f"http://127.0.0.1:{port}",
                                      headers={"Accept-Encoding": "identity", "Accept": "application/geo+json"})
        info["precompute_first_ms"] = round((time.perf_counter() - started) * 1000, 1)
        if first.status_code != 200:
            raise SystemExit(f"precompute {precompute}: HTTP {first.status_code}")
        captured.update(body=first.get_data(), content_type=first.headers["Content-Type"], etag=first.get_etag()[0],
                        extra={k: v for k, v in first.headers.items() if k.lower() == "content-crs"})
        info.update(precompute_bytes=len(captured["body"]), precompute_etag=captured["etag"])
    print(json.dumps(info), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Kiezkarte served for the benchmarks (benchmark-only routes)")
    parser.add_argument("--store", required=True)
    parser.add_argument("--pages")
    parser.add_argument("--precompute")
    parser.add_argument("--timings", action="store_true")
    a = parser.parse_args()
    _child_main(a.store, a.pages, a.precompute, a.timings)
