"""Why an import row is refused or noted: English text everywhere, translated on pages.

A ``Reason`` is the English sentence itself (a ``str``, so the CLI, the JSON API, logs
and tests read it as text) that keeps its message id and values, so a page can show it in
its reader's language (``i18n.reason``). ``pybabel extract -k Reason`` finds the ids.
"""
from __future__ import annotations


class Reason(str):
    template: str
    params: dict

    def __new__(cls, template: str, **params):
        reason = super().__new__(cls, template % params if params else template)
        reason.template, reason.params = template, params
        return reason
