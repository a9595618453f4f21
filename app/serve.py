"""Production serving: gunicorn workers around the app, one JSON log line per request.

``kiezkarte serve --workers N`` runs ``serve(...)``: gunicorn's master forks N worker
processes, each of which builds its own app (``create_app``) and opens its own store on
first use; nothing is opened before the fork. Workers keep no state between requests that
another worker would need: sessions are signed cookies under one SECRET_KEY (made once by
the master when none is set), planner data is in the store, and uploads waiting between
check and import go to one folder all workers share (UPLOAD_DIR). Debug is always off.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from datetime import datetime, timezone


class RequestLog:
    """WSGI middleware: after each response, one JSON line on stderr with method, path,
    status, duration in ms and body bytes (written in one ``write``, so lines from several
    workers never interleave)."""

    def __init__(self, app, fd: int = 2):
        self.app = app
        self.fd = fd

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        seen = {"status": None}

        def recording_start_response(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, recording_start_response)
        except BaseException:
            self._log(environ, 500, started, 0)
            raise
        return _LoggedBody(body, self, environ, seen, started)

    def _log(self, environ, status, started, size) -> None:
        line = {"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "level": "info",
                "event": "request", "method": environ.get("REQUEST_METHOD"), "path": environ.get("PATH_INFO", ""),
                "query": environ.get("QUERY_STRING", ""), "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2), "bytes": size,
                "remote": environ.get("REMOTE_ADDR"), "pid": os.getpid()}
        data = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            os.write(self.fd, data)
        except OSError:
            pass


class _LoggedBody:
    """The response iterable, counting bytes; logs when the server closes it."""

    def __init__(self, body, log: RequestLog, environ, seen, started):
        self._body, self._log, self._environ, self._seen, self._started = body, log, environ, seen, started
        self._size = 0

    def __iter__(self):
        for chunk in self._body:
            self._size += len(chunk)
            yield chunk

    def close(self):
        try:
            if hasattr(self._body, "close"):
                self._body.close()
        finally:
            self._log._log(self._environ, self._seen["status"], self._started, self._size)


def serve(host: str, port: int, workers: int, threads: int = 4, settings: dict | None = None) -> None:
    """Run the site under gunicorn with ``workers`` processes (blocks until stopped)."""
    from gunicorn.app.base import BaseApplication

    settings = dict(settings or {})
    overrides = {**settings, "DEBUG": False, "TESTING": False}
    if not settings.get("SECRET_KEY"):  # one key for every worker, or sessions break between them
        overrides["SECRET_KEY"] = secrets.token_hex(32)
    made_upload_dir = None
    if not settings.get("UPLOAD_DIR"):
        overrides["UPLOAD_DIR"] = made_upload_dir = tempfile.mkdtemp(prefix="kiezkarte-uploads-")
    master = os.getpid()

    def make_app():
        from . import create_app
        app = create_app(overrides)
        app.debug = False
        return RequestLog(app)

    options = {
        "bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread", "threads": threads,
        "accesslog": None, "errorlog": "-", "loglevel": "info", "timeout": 60, "graceful_timeout": 20,
        "keepalive": 5, "preload_app": False, "proc_name": "kiezkarte", "capture_output": False,
        "control_socket_disable": True,  # gunicorn >= 24: no shared control socket in $HOME
    }

    class Application(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                if key in self.cfg.settings:  # settings this gunicorn version knows
                    self.cfg.set(key, value)

        def load(self):
            return make_app()

    try:
        Application().run()
    finally:  # workers leave through here too (they are forks of this call): only the master cleans up
        if made_upload_dir and os.getpid() == master:
            shutil.rmtree(made_upload_dir, ignore_errors=True)
