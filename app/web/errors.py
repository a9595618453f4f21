"""Errors rendered once: JSON for /api, /ogc, /tiles and /healthz, an HTML page for everything else.

An error's message may be a ``reasons.Reason``: JSON keeps its English text (scripts match
on it), the HTML page shows it in the page's language.
"""
from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from .. import i18n
from ..errors import KiezkarteError

JSON_PREFIXES = ("/api", "/healthz", "/ogc", "/tiles")
_html_renderer = None


def set_html_renderer(render) -> None:
    """Pages register how an error looks as HTML: render(status, message) -> response."""
    global _html_renderer
    _html_renderer = render


def init_app(app: Flask) -> None:
    @app.errorhandler(KiezkarteError)
    def _kiezkarte_error(exc: KiezkarteError):
        return render(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return render(exc.code or 500, exc.description or exc.name)


def render(status: int, message: str):
    """The error as JSON (APIs) or as the HTML error page."""
    if request.path.startswith(JSON_PREFIXES) or _html_renderer is None:
        return jsonify({"error": str(message)}), status
    return _html_renderer(status, i18n.reason(message))
