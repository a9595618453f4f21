"""Whole-number query parameters (``limit``, ``offset``): a clear 400 instead of a crash."""
from __future__ import annotations

import re

from .errors import BadRequest
from .reasons import Reason


def whole_number(text: str | None, name: str, default: int, *, minimum: int) -> int:
    """``text`` as an int >= ``minimum``; ``default`` when the parameter is missing."""
    if text is None:
        return default
    if not re.fullmatch(r"\s*\+?\d{1,9}\s*", text):
        raise BadRequest(Reason("%(name)s must be a whole number >= %(minimum)s, not '%(value)s'", name=name,
                                minimum=minimum, value=text[:40]))
    value = int(text)
    if value < minimum:
        raise BadRequest(Reason("%(name)s must be >= %(minimum)s", name=name, minimum=minimum))
    return value
