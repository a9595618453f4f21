"""Sign-in, sessions and CSRF for planners. Readers never get a session or a cookie.

- Passwords: scrypt hashes (``app.accounts``); failed attempts are recorded per client
  and per user name, and after three the next attempt must wait (doubling, at most 5 min):
  429 with Retry-After.
- Session cookie: Secure, HttpOnly, SameSite=Lax, 8 hours; set by the sign-in form (its CSRF
  token lives there), never by reading pages. Signed in, it counts only while its session is
  recorded in the planner store: signing out deletes the record, so a copy of the cookie taken
  before is refused afterwards, by every worker and server.
- CSRF: every state-changing request (POST, PUT, PATCH, DELETE) outside /ogc must carry
  the session's token, as the form field ``csrf_token`` or the header ``X-CSRF-Token``.
"""
from __future__ import annotations

import functools
import hmac
import secrets
import time
from datetime import timedelta

from flask import Flask, g, redirect, request, session

from .. import accounts
from ..errors import Forbidden, SignInRequired, TooManyAttempts
from ..reasons import Reason
from . import get_planner, get_store

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def init_app(app: Flask) -> None:
    app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_NAME="kiezkarte_session",
                      PERMANENT_SESSION_LIFETIME=timedelta(seconds=accounts.SESSION_S))
    app.before_request(_check_csrf)
    app.jinja_env.globals.update(csrf_token=csrf_token, current_user=current_user)


def current_user() -> str | None:
    """The signed-in planner, while the session is recorded in the planner store (looked up once
    per request, and only when asked: public data and static files never touch the session)."""
    if not request:
        return None
    if "planner_user" not in g:
        g.planner_user = _session_user()
    return g.planner_user


def _session_user() -> str | None:
    user = session.get("user")
    if user is not None and accounts.session_user(get_store(), session.get("sid")) != user:
        session.clear()  # an ended session (signed out, or too old): a reader's request, and the cookie goes
        return None
    return user


def csrf_token() -> str:
    """The session's CSRF token (creating the session only for a signed-in user or the sign-in form)."""
    token = session.get("csrf")
    if token is None:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _check_csrf():
    if request.method not in UNSAFE_METHODS or request.path.startswith("/ogc"):
        return None
    if request.endpoint == "planning.sign_out" and not current_user():
        return None  # signing out of an ended session: nothing to protect
    expected = session.get("csrf")
    given = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    if not expected or not given or not hmac.compare_digest(str(expected), str(given)):
        raise Forbidden(Reason("missing or wrong CSRF token: reload the page and try again"))
    return None


def login_required(view):
    """Planners only: pages redirect to the sign-in form, API calls get 401."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user():
            if request.method == "GET" and not request.path.startswith("/api"):
                from .. import i18n
                return redirect(i18n.url("planning.sign_in_page", next=request.full_path.rstrip("?")), code=303)
            raise SignInRequired("sign in as a planner first")
        return view(*args, **kwargs)
    return wrapped


def sign_in(username: str, password: str) -> None:
    """Check the password, slowing repeated failures; on success start a fresh session."""
    clients = (f"ip:{request.remote_addr}", f"user:{(username or '').lower()}")
    store = get_store()
    wait = max(accounts.wait_seconds(store, c) for c in clients)
    if wait:
        raise TooManyAttempts(wait)
    if not accounts.check_password(store, username, password):
        now = time.time()
        for client in clients:
            get_planner().record_failure(client, now)
        raise SignInRequired("wrong user name or password")
    session.clear()  # no session fixation: a new session (and CSRF token) for the signed-in user
    session.permanent = True
    session["user"] = username
    session["sid"] = accounts.start_session(get_planner(), username)
    session["csrf"] = secrets.token_urlsafe(32)
    g.pop("planner_user", None)


def sign_out() -> None:
    """End the session in the planner store (every copy of the cookie), then in this browser."""
    accounts.end_session(get_planner(), session.get("sid"))
    session.clear()
    g.pop("planner_user", None)
