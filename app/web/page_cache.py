"""Reader pages rendered once per URL and data version, served from memory after that.

A page seen by a reader who is not signed in depends only on its URL (host, path, and the
query: language, filter, map state), the tile settings, the built store and the planners'
data. The key holds all of these: ``store.version()`` changes when a rebuild replaces the
store, ``store.planner_version()`` with every write of a planner (each one appends to the
audit log in the same transaction, in every process and server), so an edited project shows
on the next request. Signed-in planners always get a fresh page (edit links, no caching).

Rendering the overview takes 10-20 ms of the server's time before the browser sees a byte
of it, and the map cannot start earlier (see ``bench time_to_map``).
"""
from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict

from flask import Response, current_app, request

from . import get_store
from .auth import current_user

ENTRIES = 256  # pages kept per process, least recently used out first (URLs with filters are many)
_LOCK = threading.Lock()


def remembered(name: str, key):
    """The value kept under ``key`` in the bounded cache ``app.extensions[name]``, or None."""
    cache = current_app.extensions.setdefault(name, OrderedDict())
    with _LOCK:
        value = cache.get(key)
        if value is not None:
            cache.move_to_end(key)
    return value


def remember(name: str, key, value, entries: int):
    """Keep ``value`` under ``key`` (at most ``entries``, the least recently used go first); returns it."""
    cache = current_app.extensions.setdefault(name, OrderedDict())
    with _LOCK:
        cache[key] = value
        while len(cache) > entries:
            cache.popitem(last=False)
    return value


def for_readers(view):
    """Serve the view's HTML from memory to readers who are not signed in (see the module)."""

    @functools.wraps(view)
    def cached(**kwargs):
        if current_user():
            return view(**kwargs)
        store = get_store()
        config = current_app.config
        key = (request.url, store.version(), store.planner_version(),
               config.get("TILE_URL"), config.get("TILE_ATTRIBUTION"))
        entry = remembered("kiezkarte_reader_pages", key)
        if entry is None:
            response = view(**kwargs)
            if response.status_code != 200 or "Set-Cookie" in response.headers:
                return response  # an error, or something meant for this one reader only
            entry = remember("kiezkarte_reader_pages", key, _entry(response), ENTRIES)
        body, headers, etag = entry
        response = Response(body, headers=headers)
        response.set_etag(etag)
        return response

    return cached


def _entry(response: Response) -> tuple[bytes, list, str]:
    """What a cached page keeps: its body, its headers (but the length), a strong ETag of the body."""
    body = response.get_data()
    headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
    return body, headers, hashlib.sha256(body).hexdigest()[:32]
