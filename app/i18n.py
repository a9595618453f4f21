"""Languages: German by default, English on request, chosen by the ``lang`` query parameter.

No cookies and no Accept-Language guessing: the language is part of the URL, so every
page (and later every embed) is cacheable and sets nothing in the browser. Links keep
the parameter through ``url()``; numbers are formatted for the page's locale.

Message catalogues live in ``app/translations/<lang>/LC_MESSAGES/messages.po``. They
are compiled to ``.mo`` when the app starts (when missing or older than the ``.po``),
so no manual step is needed; the ``.mo`` files are not committed.
"""
from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, request, url_for
from flask_babel import Babel, format_date, format_decimal, format_percent, get_locale, gettext, lazy_gettext
from markupsafe import Markup

from .reasons import Reason

LOCALES = ("de", "en")
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
NO_VALUE = "–"


def compile_catalogs(source: Path = TRANSLATIONS_DIR, target: Path | None = None) -> Path:
    """Compile every ``.po`` under ``source`` whose ``.mo`` is missing or older; return the folder used.

    ``target`` defaults to ``source``; when that is not writable (an installed, read-only
    package) the catalogues are compiled into a folder under the system's temp dir instead.
    """
    target = target or source
    try:
        _compile_into(source, target)
        return target
    except OSError:
        if target != source:
            raise
        fallback = Path(tempfile.gettempdir()) / f"kiezkarte-translations-{os.getuid() if hasattr(os, 'getuid') else 0}"
        _compile_into(source, fallback)
        return fallback


def _compile_into(source: Path, target: Path) -> None:
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        rel = po.relative_to(source).with_suffix(".mo")
        mo = target / rel
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=rel.parts[0])
        mo.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{mo.name}.", dir=mo.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.replace(tmp, mo)  # atomic: concurrent starts never read half a file
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def init_app(app: Flask) -> None:
    directory = compile_catalogs()
    default = app.config.get("DEFAULT_LOCALE") or LOCALES[0]
    if default not in LOCALES:
        raise ValueError(f"DEFAULT_LOCALE must be one of {', '.join(LOCALES)}, not {default!r}")
    app.config["BABEL_DEFAULT_LOCALE"] = default
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(url=url, lang_url=lang_url, current_lang=current_lang, LOCALES=LOCALES)
    app.jinja_env.filters.update(num=number, pct=percent, longdate=long_date)


def select_locale() -> str:
    lang = request.args.get("lang", "")
    return lang if lang in LOCALES else current_app.config["BABEL_DEFAULT_LOCALE"]


def current_lang() -> str:
    locale = get_locale()
    return locale.language if locale is not None else current_app.config["BABEL_DEFAULT_LOCALE"]


def lang_args(lang: str | None = None) -> dict:
    """The query arguments that keep a language in a link: none for the default language."""
    lang = lang or current_lang()
    return {} if lang == current_app.config["BABEL_DEFAULT_LOCALE"] else {"lang": lang}


def url(endpoint: str, **values) -> str:
    """``url_for`` that keeps the page's language."""
    return url_for(endpoint, **values, **lang_args())


def lang_url(lang: str) -> str:
    """This page in another language (other query arguments kept)."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    args.update(lang_args(lang))
    if request.endpoint and request.url_rule is not None and "GET" in request.url_rule.methods:
        return url_for(request.endpoint, **(request.view_args or {}), **args)
    from urllib.parse import urlencode
    return request.path + ("?" + urlencode(args) if args else "")


def long_date(value) -> str:
    """2022-06-30 -> '30. Juni 2022' (de) or 'June 30, 2022' (en)."""
    return format_date(value, format="long")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value, digits: int = 0) -> str:
    """1234.5 -> '1.234,5' (de) or '1,234.5' (en); None -> '–'."""
    if _missing(value):
        return NO_VALUE
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern)


def percent(value, digits: int = 0) -> Markup | str:
    """0.204 -> '20 %' (de) or '20%' (en), with the locale's own spacing."""
    if _missing(value):
        return NO_VALUE
    if not digits:
        return format_percent(value)
    pattern = get_locale().percent_formats[None].pattern.replace("#,##0", "#,##0." + "0" * digits, 1)
    return format_percent(value, format=pattern)


# ------------------------------------------------ labels of the data's closed vocabularies
# The store keeps codes (English or German as researched); pages and maps show these.

STATUS_GROUP = {"active": lazy_gettext("active"), "ended": lazy_gettext("ended")}

BOUNDARY_BASIS = {
    "official": lazy_gettext("Official boundary (imported from the Geoportal Berlin)."),
    "source": lazy_gettext("Approximate boundary: the Planungsräume that a source names for this area. "
                           "It can be larger than the area itself."),
    "name-match": lazy_gettext("Approximate boundary: the Planungsraum with the same name. It shows the heart "
                               "of the area, not its exact boundary."),
    "none": lazy_gettext("No boundary known: the area is listed, but not drawn on the map, and no figures "
                         "are computed for it."),
}
BOUNDARY_BASIS_SHORT = {
    "official": lazy_gettext("official"),
    "source": lazy_gettext("approximate (from a source)"),
    "name-match": lazy_gettext("approximate (same-name Planungsraum)"),
    "none": lazy_gettext("not known – not drawn"),
}

LOCATION_PRECISION = {
    "exact": lazy_gettext("exact location"),
    "facility": lazy_gettext("placed at the facility it names (matched by name)"),
    "planungsraum": lazy_gettext("placed at the centre of the Planungsraum of its address"),
    "area": lazy_gettext("no own location known: placed at the area's centre"),
    "none": lazy_gettext("no location known: not on the map"),
}

LOCATION_PRECISION_SHORT = {
    "exact": lazy_gettext("exact location"),
    "facility": lazy_gettext("at a named facility"),
    "planungsraum": lazy_gettext("at the Planungsraum of its address"),
    "area": lazy_gettext("at its area's centre"),
    "none": lazy_gettext("not on the map"),
}

IMPORT_ACTION = {"create": lazy_gettext("new"), "update": lazy_gettext("changed"),
                 "unchanged": lazy_gettext("unchanged"), "valid": lazy_gettext("no error"), "error": lazy_gettext("error")}

PROJECT_STATUS = {"completed": lazy_gettext("completed"), "ongoing": lazy_gettext("ongoing"),
                  "planned": lazy_gettext("planned"), "unknown": lazy_gettext("status unknown")}

FUND = {"Baufonds": lazy_gettext("Construction fund (Baufonds)"),
        "Projektfonds": lazy_gettext("Project fund (Projektfonds)"),
        "Aktionsfonds": lazy_gettext("Action fund (Aktionsfonds)"),
        "Netzwerkfonds": lazy_gettext("Network fund (Netzwerkfonds)"),
        "Quartiersfonds (historical)": lazy_gettext("Neighbourhood fund (Quartiersfonds, historical)"),
        "other": lazy_gettext("other fund"),
        "not stated": lazy_gettext("fund not stated")}

# The five Handlungsfelder of the programme, stored under their German names.
HANDLUNGSFELD = {"Integration und Nachbarschaft": lazy_gettext("Integration and neighbourhood"),
                 "Bildung": lazy_gettext("Education"),
                 "Öffentlicher Raum": lazy_gettext("Public space"),
                 "Gesundheit und Bewegung": lazy_gettext("Health and exercise"),
                 "Beteiligung, Kooperation und Vernetzung": lazy_gettext("Participation, cooperation and networking")}

PLACE_KIND = {"green_space": lazy_gettext("Green spaces"), "kita": lazy_gettext("Day-care centres (Kitas)"),
              "school": lazy_gettext("Schools"), "youth_centre": lazy_gettext("Youth centres"),
              "drinking_fountain": lazy_gettext("Drinking fountains"), "cool_room": lazy_gettext("Cool rooms"),
              "water_playground": lazy_gettext("Water playgrounds"), "care_home": lazy_gettext("Care homes"),
              "pharmacy": lazy_gettext("Pharmacies")}


def handlungsfelder(text) -> str:
    """'Bildung;Öffentlicher Raum' (as stored) -> 'Education, Public space' in the page's language."""
    return ", ".join(label(HANDLUNGSFELD, h) for h in str(text or "").split(";") if h)


def area_name_note(name: str, short: str) -> str | None:
    """What the researched name adds in parentheses, as a sentence: the area's other or former name.

    'Beusselstraße (Moabit West until 2020)' -> "Called Moabit West until 2020.";
    'Reuterplatz (Reuterkiez)' -> "Also known as Reuterkiez.".
    """
    extra = (name or "")[len(short or ""):].strip()
    match = re.fullmatch(r"\((.+)\)", extra)
    if not match:
        return None
    inner = match.group(1).strip()
    former = re.fullmatch(r"(.+?)\s+until\s+(\d{4})", inner)
    if former:
        return gettext("Called %(name)s until %(year)s.", name=former.group(1), year=former.group(2))
    return gettext("Also known as %(name)s.", name=inner)


def reason(text) -> str:
    """An import row's reason (``reasons.Reason``) in the page's language; other text as it is."""
    if isinstance(text, Reason):
        return gettext(text.template, **text.params)
    return str(text)


def label(vocabulary: dict, code, default=None) -> str:
    """The translated label of a code, or the code itself (data is never hidden)."""
    value = vocabulary.get(code)
    return str(value) if value is not None else (default if default is not None else ("" if code is None else str(code)))

AREA_STATUS = {
    "active (new 2021)": lazy_gettext("active (new in 2021)"),
    "active (continues beyond 2027 per source)": lazy_gettext("active, continues beyond 2027 according to a source"),
    "active – likely continuing beyond 2027 (inferred, not confirmed)": lazy_gettext(
        "active, likely continues beyond 2027 (inferred, not confirmed)"),
    "active – likely ending 2027 (inferred, not confirmed)": lazy_gettext(
        "active, likely ends in 2027 (inferred, not confirmed)"),
    "ending 2027": lazy_gettext("active, ends in 2027"),
    "merged into Rixdorf (2021)": lazy_gettext("merged into the area Rixdorf in 2021"),
    "verstetigt": lazy_gettext("ended (verstetigt: the work continues without the programme)"),
    "verstetigt (by end 2009 at latest)": lazy_gettext("ended (verstetigt by the end of 2009 at the latest)"),
}
