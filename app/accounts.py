"""Planner accounts: scrypt-hashed passwords, sign-in attempts slowed down per client, and
sessions recorded in the planner store so that signing out ends them in every worker."""
from __future__ import annotations

import functools
import hashlib
import re
import secrets
import time

from werkzeug.security import check_password_hash, generate_password_hash

from .errors import BadRequest

MIN_PASSWORD = 12
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
# After this many failures within the window, a client must wait before trying again.
FREE_FAILURES = 3
WINDOW_S = 15 * 60
MAX_WAIT_S = 300
SESSION_S = 8 * 3600  # a session ends this long after signing in (the cookie's lifetime too)


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


def start_session(planner, username: str) -> str:
    """Record a new session of ``username``; returns its token (kept in the signed cookie only)."""
    token = secrets.token_urlsafe(32)
    now = time.time()
    planner.start_session(_token_hash(token), username, now, expired_before=now - SESSION_S)
    return token


def session_user(store, token: str | None) -> str | None:
    """Whose session ``token`` is, while it has not ended (signed out or older than ``SESSION_S``)."""
    if not token:
        return None
    rows = store.query("SELECT username FROM sign_in_sessions WHERE token_hash = ? AND started_at > ?",
                       (_token_hash(token), time.time() - SESSION_S))
    return rows[0]["username"] if rows else None


def end_session(planner, token: str | None) -> None:
    if token:
        planner.end_session(_token_hash(token))


def _token_hash(token: str) -> str:
    """Only a hash is stored: a copy of the planner store cannot be turned into sessions."""
    return hashlib.sha256(token.encode()).hexdigest()


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("not a real password", method="scrypt")
