"""The project filter of a page: read from the URL, written back into links and forms.

The filter state lives in the query string, in the form ``ProjectFilter.args()`` writes
(``?fund=baufonds,projektfonds&year_from=2015``), next to ``lang`` and the map state
(``indicator``, ``layers``, ``map``, ``sel``: ``map_state``). A
plain GET form (no JavaScript) sends repeated keys and empty fields
(``?fund=baufonds&fund=projektfonds&year_to=``); pages answer those with a redirect to the
canonical URL, so what the address bar shows can be shared and reloaded.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from flask import abort, redirect, request, url_for

from .. import i18n, maps
from ..project_filter import FUND_KEYS, HANDLUNGSFELD_KEYS, STATUSES, ProjectFilter
from ..projects import PRECISIONS

PARAMS = ProjectFilter.PARAMS


def merged_args(args) -> dict[str, str]:
    """Filter arguments with repeated keys joined by commas and empty values dropped."""
    out = {}
    for key in PARAMS:
        values = [v.strip() for v in args.getlist(key) if v and v.strip()]
        if values:
            out[key] = ",".join(values)
    return out


def request_filter(*, with_area: bool = True) -> ProjectFilter:
    """The filter of the current request (BadRequest for unknown values)."""
    args = merged_args(request.args)
    if not with_area:
        args.pop("area", None)
    return ProjectFilter.from_args(args)


def page_filter(*, with_area: bool = True) -> ProjectFilter:
    """The filter of a page request; a filter not written canonically redirects (303) to its canonical URL."""
    flt = request_filter(with_area=with_area)
    redirect_to = canonical_redirect(flt)
    if redirect_to is not None:
        abort(redirect_to)
    return flt


def canonical_redirect(flt: ProjectFilter):
    """A redirect to the canonical URL when the filter arguments are not written canonically, else None.

    Other arguments (``lang``, ``indicator``, ``sort`` …) are kept as they are.
    """
    given = sorted((k, v) for k, v in request.args.items(multi=True) if k in PARAMS)
    canonical = flt.args()
    if given == sorted(canonical.items()):
        return None
    others = {}
    for key, value in request.args.items(multi=True):
        if key not in PARAMS:
            others.setdefault(key, value)
    return redirect(url_for(request.endpoint, **(request.view_args or {}), **canonical, **others), code=303)


def map_state() -> maps.MapState:
    """The map state of the current request (indicator, layers, view, selection; see app/maps.py)."""
    return maps.MapState.from_args(request.args)


def keep_args(*names: str) -> dict[str, str]:
    """Non-filter arguments of this request that links and forms carry along (e.g. lang, indicator)."""
    return {n: request.args[n] for n in names if request.args.get(n)}


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class FilterForm:
    """What the filter form macro shows: every choice with its state, and what it must carry along."""

    flt: ProjectFilter
    action: str
    funds: tuple[Option, ...]
    fields: tuple[Option, ...]
    statuses: tuple[Option, ...]
    precisions: tuple[Option, ...]
    areas: tuple[Option, ...]  # empty: the page is about one area
    hidden: tuple[tuple[str, str], ...]  # lang and the map state (indicator, layers, map, sel)
    has_map: bool
    reset_url: str

    @property
    def bbox_value(self) -> str:
        return self.flt.args().get("bbox", "")

    @property
    def active(self) -> int:
        """How many filters are set (the page's fixed area not counted)."""
        return len(self.flt.args()) - (1 if self.flt.area and not self.areas else 0)

    @property
    def climate(self) -> str:
        return "" if self.flt.climate is None else ("true" if self.flt.climate else "false")


def filter_form(flt: ProjectFilter, *, areas: list[dict] | None = None, has_map: bool = False,
                keep: tuple[str, ...] = maps.MapState.PARAMS) -> FilterForm:
    """The form for ``flt`` on the current page; ``areas`` offers the area choice (None: fixed area)."""
    hidden = dict(keep_args(*keep))
    hidden.update(i18n.lang_args())
    view_args = request.view_args or {}
    return FilterForm(
        flt=flt,
        action=url_for(request.endpoint, **view_args),
        funds=tuple(Option(key, i18n.label(i18n.FUND, fund), key in flt.fund) for key, fund in FUND_KEYS.items()),
        fields=tuple(Option(key, i18n.label(i18n.HANDLUNGSFELD, name), key in flt.handlungsfeld)
                     for key, name in HANDLUNGSFELD_KEYS.items()),
        statuses=tuple(Option(s, i18n.label(i18n.PROJECT_STATUS, s), s in flt.status) for s in STATUSES),
        precisions=tuple(Option(p, i18n.label(i18n.LOCATION_PRECISION_SHORT, p), p in flt.precision)
                         for p in PRECISIONS),
        areas=tuple(Option(a["slug"], a["short_name"], a["slug"] == flt.area)
                    for a in sorted(areas or (), key=lambda a: a["short_name"])),
        hidden=tuple(hidden.items()),
        has_map=has_map,
        reset_url=url_for(request.endpoint, **view_args, **hidden),
    )


def without_area(flt: ProjectFilter) -> ProjectFilter:
    return replace(flt, area=None)
