"""Planner accounts: scrypt-hashed passwords, and sign-in attempts slowed down per client."""
from __future__ import annotations

import functools
import re
import time

from werkzeug.security import check_password_hash, generate_password_hash

from .errors import BadRequest

MIN_PASSWORD = 12
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
# After this many failures within the window, a client must wait before trying again.
FREE_FAILURES = 3
WINDOW_S = 15 * 60
MAX_WAIT_S = 300


def add_user(planner, username: str, password: str) -> None:
    if not USERNAME.match(username or ""):
        raise BadRequest("user names are 2-40 characters: lower-case letters, digits, '.', '_', '-'")
    if len(password or "") < MIN_PASSWORD:
        raise BadRequest(f"passwords need at least {MIN_PASSWORD} characters")
    planner.add_user(username, generate_password_hash(password, method="scrypt"))


def check_password(store, username: str, password: str) -> bool:
    rows = store.query("SELECT password_hash FROM users WHERE username = ?", (username,))
    if not rows:
        check_password_hash(_dummy_hash(), password or "")  # same work for unknown users: no timing oracle
        return False
    return check_password_hash(rows[0]["password_hash"], password or "")


def wait_seconds(store, client: str, now: float | None = None) -> int:
    """How long ``client`` must wait before its next attempt: 0, then doubling per failure."""
    now = time.time() if now is None else now
    rows = store.query("SELECT count(*) AS n, max(at) AS last FROM sign_in_failures WHERE client = ? AND at > ?",
                       (client, now - WINDOW_S))
    failures, last = rows[0]["n"], rows[0]["last"]
    if failures < FREE_FAILURES or last is None:
        return 0
    wait = min(MAX_WAIT_S, 2 ** (failures - FREE_FAILURES + 1))
    return max(0, int(last + wait - now + 0.999))


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("not a real password", method="scrypt")
