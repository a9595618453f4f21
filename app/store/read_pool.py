"""Read-only SQLite connections pooled across threads (GeoPackage store, big-layer files).

Not one connection per thread: a server that starts a thread per request (werkzeug's)
would open a connection, attach files and parse the schema anew for every request (about
7 ms for the store). A connection serves one call at a time, which reads its rows to the
end before giving it back; a forked child (a gunicorn worker) starts with an empty pool.
"""
from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
from typing import Callable


class ReadPool:
    def __init__(self, open_connection: Callable[[], sqlite3.Connection]):
        self._open = open_connection
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._pid = os.getpid()

    @contextlib.contextmanager
    def connection(self):
        if self._pid != os.getpid():
            self._idle, self._pid = queue.SimpleQueue(), os.getpid()
        try:
            con = self._idle.get_nowait()
        except queue.Empty:
            con = self._open()
        try:
            yield con
        finally:
            self._idle.put(con)
