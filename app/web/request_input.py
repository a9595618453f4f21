"""Request input both stores can hold: no NUL characters.

PostgreSQL text cannot contain NUL (U+0000) and SQLite would store it, so the same request
would fail on one backend and succeed on the other. No real name, address or filter has
one; a request carrying one in its path, query, form fields or JSON body is refused with
400 before any view runs, on both backends alike. (Uploaded files are checked by the
importer, row by row.)
"""
from __future__ import annotations

from flask import Flask, request

from ..errors import BadRequest

NUL = "\x00"


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_characters)


def refuse_nul_characters() -> None:
    if NUL in request.path:
        raise BadRequest("the URL contains a NUL character")
    for where, values in (("query", request.args), ("form", request.form if _has_form() else {})):
        for key, value in values.items(multi=True) if values else ():
            if NUL in key or NUL in value:
                raise BadRequest(f"the {where} parameter {_name(key)} contains a NUL character")
    if request.is_json and _contains_nul(request.get_json(silent=True)):
        raise BadRequest("the JSON body contains a NUL character")


def _has_form() -> bool:
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def _name(key: str) -> str:
    return repr(key.replace(NUL, "\\0"))


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False
