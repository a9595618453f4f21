"""``kiezkarte serve --workers N`` (gunicorn) for the request benchmarks, with benchmark-only routes.

``GunicornServer(store, workers=2)`` starts ``python -m bench._gunicorn`` in its own process
group: it runs ``app.serve.serve`` — exactly what ``kiezkarte serve --workers 2`` runs
(gunicorn's gthread workers, 4 threads each, keep-alive, the JSON request log on stderr) —
after wrapping ``app.create_app`` so that every worker's app also has

- ``/_bench/precomputed/<path>``: the response of ``/<path>`` for each path given with
  ``--precompute`` (several), captured once when the worker's app is made, through the app
  itself (no compression), then returned as a bytes constant with the same Content-Type and
  strong ETag, through the same after-request path (gzip cache, conditional check) and the
  same WSGI middleware (the request log).

``cpu_seconds()`` adds up the CPU time of the master and its workers (from /proc), so the
load generator can report the server's CPU per request. The log goes to a temporary file
(``stderr()`` for error messages).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from ._common import REPO_ROOT

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GunicornServer:
    """``with GunicornServer(store, precompute=[...]) as server:`` -> ``server.port``, ``server.base``."""

    def __init__(self, store: str, *, workers: int = 2, threads: int = 4, precompute: list[str] | None = None,
                 planner: str | None = None):
        self.store, self.workers, self.threads = str(store), workers, threads
        self.precompute, self.planner = list(precompute or []), planner
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "GunicornServer":
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "bench._gunicorn", "--store", self.store, "--port", str(self.port),
               "--workers", str(self.workers), "--threads", str(self.threads)]
        for path in self.precompute:
            cmd += ["--precompute", path]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
        if self.planner:
            env["KIEZKARTE_PLANNER_STORE"] = self.planner
        self._log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self._log,
                                     start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn did not start:\n{self.stderr()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5) as r:
                    if r.status == 200 and self._workers_ready():
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer in time:\n{self.stderr()[-3000:]}")
            time.sleep(0.2)
        return self

    def _workers_ready(self) -> bool:
        return len(self._children()) >= self.workers

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the master, by its id; it stops its workers
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group this object started
                self.proc.wait(timeout=10)
        self._log.close()

    def stderr(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def _children(self) -> list[int]:
        pids = []
        try:
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{task}/children", encoding="ascii") as f:
                    pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU time of the master and its workers so far."""
        total = 0.0
        for pid in [self.proc.pid, *self._children()]:
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            except OSError:
                pass
        return total


# ---------------------------------------------------------------- inside the server process

def _child_main(store: str, port: int, workers: int, threads: int, precompute: list[str]) -> None:
    import app as app_package
    from app.config import load_settings
    from app.serve import serve

    original = app_package.create_app

    def create_app_with_bench_routes(config=None):
        from flask import Blueprint, Response, abort

        flask_app = original(config)
        captured: dict = {}
        bp = Blueprint("bench", __name__, url_prefix="/_bench")

        @bp.get("/precomputed/<path:rest>")
        def bench_precomputed(rest):
            hit = captured.get("/" + rest)
            if hit is None:
                abort(404)
            response = Response(hit["body"], content_type=hit["content_type"])
            response.set_etag(hit["etag"])
            return response

        flask_app.register_blueprint(bp)  # before the app's first request
        client = flask_app.test_client()
        for path in precompute:
            first = client.get(path, base_url=f"http://127.0.0.1:{port}", headers={"Accept-Encoding": "identity"})
            if first.status_code != 200:
                raise SystemExit(f"precompute {path}: HTTP {first.status_code}")
            captured[path] = {"body": first.get_data(), "content_type": first.headers["Content-Type"],
                              "etag": first.get_etag()[0]}
        return flask_app

    app_package.create_app = create_app_with_bench_routes  # serve() imports it when each worker starts
    serve("127.0.0.1", port, workers, threads, load_settings({"STORE": store}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="kiezkarte serve --workers N, with benchmark-only routes")
    parser.add_argument("--store", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--precompute", action="append", default=[])
    a = parser.parse_args()
    _child_main(a.store, a.port, a.workers, a.threads, a.precompute)
