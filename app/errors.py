"""Errors that carry their HTTP status, so they are rendered in one place.

The CLI prints ``str(error)``; the web layer turns ``status`` into the response code.
"""
from __future__ import annotations


class KiezkarteError(Exception):
    status = 500

    @property
    def message(self) -> str:
        """The message as raised: a ``reasons.Reason`` stays one, so a page can translate it."""
        return self.args[0] if len(self.args) == 1 and isinstance(self.args[0], str) else str(self)


class BadRequest(KiezkarteError):
    status = 400


class NotFound(KiezkarteError):
    status = 404


class SignInRequired(KiezkarteError):
    status = 401


class Forbidden(KiezkarteError):
    status = 403


class TooManyAttempts(KiezkarteError):
    status = 429

    def __init__(self, wait: int):
        self.wait = wait
        super().__init__(f"too many failed sign-ins: try again in {wait} seconds")


class AreaNotFound(NotFound):
    pass


class PlanungsraumNotFound(NotFound):
    pass


class SourceError(KiezkarteError):
    """Bad input in a raw or imported file: the message names file, row and field."""

    status = 422

    def __init__(self, path, message: str, row: int | None = None, field: str | None = None):
        self.path, self.row, self.field = str(path), row, field
        self.reason = message  # without the file's name: a page shows it in its language (reasons.Reason)
        where = self.path
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class StoreMissing(KiezkarteError):
    status = 503
