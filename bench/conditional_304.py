"""Conditional requests: ``/api/planungsraeume`` and an area's embed answered 304 (If-None-Match) next to their 200.

Data: the real store, built from the shipped raw files.

Server and load as in ``lookup_rps`` (``bench._live``: werkzeug multi-threaded in its own
process; ``bench._load``: concurrent connections on 127.0.0.1, alternating phases, median).
Both contestants send ``Accept-Encoding: gzip``; the conditional one also sends
``If-None-Match`` with the ETag of a first full response (the gzip variant's ETag, as a
browser revalidating its cached copy would). Checked first: the conditional request gets
304 with an empty body, the ETag and the Cache-Control.

The same for the HTML of the area's embed ``/embed/gebiete/beusselstrasse`` (an embed is
rendered once per process and URL, so its 200 is a cached page compressed once).

Issue 5 asks to report the rate of 304s next to full responses and sets no target, so
this benchmark reports (ratio = rps(304) / rps(full 200) of the layer) and never says
MISSED. Where the 304's time goes: cProfile through Flask's test client.
"""
from __future__ import annotations

from . import _load
from ._common import result
from ._live import LiveServer, shared_store

URL = "/api/planungsraeume"
EMBED = "/embed/gebiete/beusselstrasse"
EMBED_HEADERS = {"Accept": "text/html", "Accept-Encoding": "gzip"}
CONCURRENCY = 4
ROUNDS, ROUNDS_QUICK = 3, 2
SECONDS, SECONDS_QUICK = 3.0, 1.0
HEADERS = {"Accept": "application/geo+json", "Accept-Encoding": "gzip"}


def run(quick: bool = False) -> dict:
    rounds = ROUNDS_QUICK if quick else ROUNDS
    seconds = SECONDS_QUICK if quick else SECONDS
    store = shared_store()
    with LiveServer(store) as server:
        status, full_headers, full_body = _load.fetch(server.port, URL, HEADERS)
        etag = full_headers.get("etag")
        if status != 200 or not etag:
            raise AssertionError(f"{URL}: HTTP {status}, ETag {etag!r}")
        conditional = {**HEADERS, "If-None-Match": etag}
        status304, headers304, body304 = _load.fetch(server.port, URL, conditional)
        if status304 != 304 or body304:
            raise AssertionError(f"If-None-Match {etag}: HTTP {status304}, {len(body304)} body bytes")
        e_status, e_headers, e_body = _load.fetch(server.port, EMBED, EMBED_HEADERS)
        e_conditional = {**EMBED_HEADERS, "If-None-Match": e_headers.get("etag", "")}
        e_status304, _, e_body304 = _load.fetch(server.port, EMBED, e_conditional)
        if e_status != 200 or e_status304 != 304 or e_body304:
            raise AssertionError(f"{EMBED}: HTTP {e_status}, then {e_status304} with {len(e_body304)} body bytes")
        contestants = {
            "full 200": {"requests": [_load.request_bytes(server.port, URL, HEADERS)]},
            "304": {"requests": [_load.request_bytes(server.port, URL, conditional)], "expect_status": 304},
            "embed 200": {"requests": [_load.request_bytes(server.port, EMBED, EMBED_HEADERS)]},
            "embed 304": {"requests": [_load.request_bytes(server.port, EMBED, e_conditional)], "expect_status": 304},
        }
        phases = _load.alternate(server, contestants, rounds=rounds, seconds=seconds, concurrency=CONCURRENCY)
    from app import create_app

    app = create_app({"STORE": str(store)})
    n = 300 if quick else 1000
    prof304 = _load.profile_requests(app, [URL], conditional, n=n)
    prof200 = _load.profile_requests(app, [URL], HEADERS, n=n)

    rps = {name: _load.median_rps(ps) for name, ps in phases.items()}
    cpu = {name: _load.median_of(ps, "server_cpu_ms_per_request") for name, ps in phases.items()}
    ratio = rps["304"] / rps["full 200"]
    figures = {
        "304 Not Modified": f"{rps['304']:.0f} req/s (server CPU {cpu['304']:.2f} ms/req), empty body",
        "full 200": f"{rps['full 200']:.0f} req/s (server CPU {cpu['full 200']:.2f} ms/req), "
                    f"{len(full_body) / 1000:.1f} KB gzip",
        "headers": f"ETag {etag}; Cache-Control '{full_headers.get('cache-control')}'; "
                   f"304 repeats ETag: {'yes' if headers304.get('etag') == etag else 'NO'}",
        "embed 304 / 200": f"{rps['embed 304']:.0f} / {rps['embed 200']:.0f} req/s "
                           f"(server CPU {cpu['embed 304']:.2f} / {cpu['embed 200']:.2f} ms/req) for {EMBED}, "
                           f"{len(e_body) / 1000:.1f} KB gzip, Cache-Control '{e_headers.get('cache-control')}'",
        "app time (test client)": f"304 {prof304['ms_per_request']:.2f} ms, 200 {prof200['ms_per_request']:.2f} ms per request",
        "304 top own time (ms/req)": _load.top_text(prof304["top"], 3, digits=3),
        "load": f"{CONCURRENCY} connections, {seconds:g} s phases, median of {rounds}",
        "target": "issue 5 sets none: reported only",
    }
    return result(ratio=ratio, report_only=True, ratio_of="304 / full 200 req/s",
                  data="real: /api/planungsraeume of the store built from geodata/raw",
                  figures=figures, phases=_load.summary(phases), rps={k: round(v, 1) for k, v in rps.items()},
                  server_cpu_ms_per_request={k: round(v, 3) for k, v in cpu.items()},
                  full_headers=full_headers, headers_304=headers304, profile_304=prof304, profile_200=prof200,
                  concurrency=CONCURRENCY, seconds_per_phase=seconds, rounds=rounds)
