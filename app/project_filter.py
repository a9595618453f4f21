"""Project filters: parsed once from a query string, turned into SQL, written back into URLs.

The same filter serves the map pages (its state lives in the URL), the API, the
exports and the statistics. Keys are short and URL-friendly; unknown values are a 400.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from . import crs
from .errors import BadRequest
from .projects import FUNDS, HANDLUNGSFELDER, PRECISIONS
from .reasons import Reason

FUND_KEYS = {"projektfonds": "Projektfonds", "baufonds": "Baufonds", "aktionsfonds": "Aktionsfonds",
             "netzwerkfonds": "Netzwerkfonds", "quartiersfonds": "Quartiersfonds (historical)", "other": "other",
             "not-stated": "not stated"}
HANDLUNGSFELD_KEYS = dict(zip(("integration", "bildung", "oeffentlicher-raum", "gesundheit", "beteiligung"),
                              HANDLUNGSFELDER))
STATUSES = ("completed", "ongoing", "planned", "unknown")
YEAR_RANGE = (1990, 2100)
MAX_Q = 100
assert set(FUND_KEYS.values()) == set(FUNDS)


@dataclass(frozen=True)
class ProjectFilter:
    fund: tuple[str, ...] = ()
    handlungsfeld: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    precision: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    climate: bool | None = None
    area: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    q: str | None = None

    PARAMS = ("fund", "handlungsfeld", "status", "precision", "year_from", "year_to", "climate", "area", "bbox", "q")

    @classmethod
    def from_args(cls, args) -> "ProjectFilter":
        """From a request's query arguments (a mapping of strings); bad values -> BadRequest."""
        def many(name, allowed):
            values = [v for v in (args.get(name) or "").split(",") if v]
            bad = [v for v in values if v not in allowed]
            if bad:
                raise BadRequest(Reason("%(name)s: unknown value(s) %(bad)s; use %(allowed)s", name=name,
                                        bad=", ".join(bad), allowed=", ".join(allowed)))
            return tuple(values)

        year_from, year_to = _year(args.get("year_from"), "year_from"), _year(args.get("year_to"), "year_to")
        if year_from is not None and year_to is not None and year_from > year_to:  # would match nothing, silently
            raise BadRequest(Reason("year_from %(year_from)s is after year_to %(year_to)s: the years are swapped",
                                    year_from=year_from, year_to=year_to))
        return cls(
            fund=many("fund", FUND_KEYS), handlungsfeld=many("handlungsfeld", HANDLUNGSFELD_KEYS),
            status=many("status", STATUSES), precision=many("precision", PRECISIONS),
            year_from=year_from, year_to=year_to,
            climate=_bool(args.get("climate")), area=(args.get("area") or None),
            bbox=parse_bbox(args.get("bbox")), q=_text(args.get("q")),
        )

    def sql(self) -> tuple[str, list]:
        """A WHERE clause (without WHERE) and its parameters over the projects table."""
        where, params = [], []
        if self.fund:
            where.append(f"fund IN ({', '.join('?' * len(self.fund))})")
            params += [FUND_KEYS[f] for f in self.fund]
        if self.handlungsfeld:
            where.append("(" + " OR ".join("(';' || handlungsfelder || ';') LIKE ?" for _ in self.handlungsfeld) + ")")
            params += [f"%;{HANDLUNGSFELD_KEYS[h]};%" for h in self.handlungsfeld]
        if self.status:
            where.append(f"status IN ({', '.join('?' * len(self.status))})")
            params += list(self.status)
        if self.precision:
            where.append(f"location_precision IN ({', '.join('?' * len(self.precision))})")
            params += list(self.precision)
        if self.year_from is not None:  # the project's years overlap the range; unknown years do not
            where.append("coalesce(end_year, start_year) >= ?")
            params.append(self.year_from)
        if self.year_to is not None:
            where.append("coalesce(start_year, end_year) <= ?")
            params.append(self.year_to)
        if self.climate is not None:
            where.append("climate = ?")
            params.append(int(self.climate))
        if self.area:
            where.append("area_slug = ?")
            params.append(self.area)
        if self.q:
            where.append("(lower(title) LIKE ? OR lower(place) LIKE ?)")
            params += [f"%{self.q.lower()}%"] * 2
        return " AND ".join(where), params

    def store_box(self):
        """The bbox as a polygon in EPSG:25833 (None: no bbox; empty polygon: misses Berlin)."""
        if self.bbox is None:
            return None
        return crs.lonlat_box_in_store_crs(self.bbox) or crs.EMPTY_BOX

    def args(self) -> dict[str, str]:
        """The filter as query arguments, for links and permalinks."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, ()):
                continue
            if isinstance(value, tuple):
                value = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            out[f.name] = str(value)
        return out

    def is_empty(self) -> bool:
        return not self.args()


def _year(text, name):
    if not text:
        return None
    try:
        year = int(text)
    except ValueError:
        raise BadRequest(Reason("%(name)s must be a year, got %(text)r", name=name, text=text)) from None
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise BadRequest(Reason("%(name)s must lie between %(first)s and %(last)s", name=name, first=YEAR_RANGE[0],
                                last=YEAR_RANGE[1]))
    return year


def _bool(text):
    if text in (None, ""):
        return None
    value = text.strip().lower()
    if value in ("1", "true", "yes", "ja"):
        return True
    if value in ("0", "false", "no", "nein"):
        return False
    raise BadRequest(Reason("climate must be true or false, got %(text)r", text=text))


def _text(text):
    if not text:
        return None
    if len(text) > MAX_Q:
        raise BadRequest(Reason("q too long (at most %(n)s characters)", n=MAX_Q))
    return text.strip() or None


def parse_bbox(text):
    """'west,south,east,north' in lon/lat, checked; None when not given."""
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise BadRequest(Reason("bbox must be four numbers: west,south,east,north (lon/lat)")) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise BadRequest(Reason("bbox must be west,south,east,north (lon/lat) with west < east and south < north"))
    return west, south, east, north
