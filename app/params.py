"""Whole-number query parameters (``limit``, ``offset``): a clear 400 instead of a crash."""
from __future__ import annotations

import re

from .errors import BadRequest


def whole_number(text: str | None, name: str, default: int, *, minimum: int) -> int:
    """``text`` as an int >= ``minimum``; ``default`` when the parameter is missing."""
    if text is None:
        return default
    if not re.fullmatch(r"\s*\+?\d{1,9}\s*", text):
        raise BadRequest(f"{name} must be a whole number >= {minimum}, not '{text[:40]}'")
    value = int(text)
    if value < minimum:
        raise BadRequest(f"{name} must be >= {minimum}")
    return value
