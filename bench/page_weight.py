"""Page weight: everything a first visit transfers until the map is drawn (gzip, cold cache).

Data: the real store, built from the shipped raw files (nothing synthetic).

Measured in headless Chromium (Debian's chromium via Playwright) against a live server on
127.0.0.1 (``bench._live``: the app under werkzeug's threaded server, in its own process):
a fresh browser context per visit (cold cache), navigation until ``<html
data-map-ready="1">``, then until the network is idle. Every request the page made is
summed (any that started after the map was ready are named in the table) as Chromium counts it: encoded (gzip) response body + response headers; request
headers are listed apart. Kinds follow Chromium's resource type: HTML (document), data
(fetch/xhr), JS (script), CSS (stylesheet), other (favicon, images, fonts).

Cross-check: the same URLs fetched through Flask's test client with ``Accept-Encoding:
gzip``; the sum of their bodies must equal Chromium's body sum (asserted, to the byte).

Budgets: overview ``/`` <= 300 KB, area page ``/gebiete/beusselstrasse`` <= 200 KB (issue 3), the
area's embed ``/embed/gebiete/beusselstrasse`` <= 120 KB (issue 5), KB = 1,000 bytes, headers
included. Ratio = the largest weight / budget over the three pages. Requests to ``/api/`` count as
data whatever Chromium calls them (the pages preload their data with ``<link rel="preload" as="fetch">``).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from . import _browser
from ._common import result
from ._live import LiveServer, shared_store

PAGES = {"/": 300_000, "/gebiete/beusselstrasse": 200_000, "/embed/gebiete/beusselstrasse": 120_000}
SHORT = {"/": "overview", "/gebiete/beusselstrasse": "area", "/embed/gebiete/beusselstrasse": "area embed"}
KINDS = {"document": "HTML", "fetch": "data", "xhr": "data", "script": "JS", "stylesheet": "CSS"}
KIND_ORDER = ("HTML", "data", "JS", "CSS", "other")


def run(quick: bool = False) -> dict:
    reason = _browser.unavailable()
    if reason:
        return {"skipped": reason}
    store = shared_store()
    pages = {}
    with LiveServer(store) as server, _browser.chromium() as browser:
        base = server.base  # pages name their own host (oEmbed, embed code): the cross-check asks the same one
        for path in PAGES:
            pages[path] = _browser.visit(browser, server.base + path, settle=True)
    from app import create_app

    client = create_app({"STORE": str(store)}).test_client()
    figures, details, ratios = {}, {}, []
    for path, budget in PAGES.items():
        visit = pages[path]
        outside = _browser.non_local(visit["requested_urls"])
        if outside:
            raise AssertionError(f"{path} requested outside 127.0.0.1: {outside}")
        if visit["failed"] or visit["console_errors"]:
            raise AssertionError(f"{path}: failed requests {visit['failed']}, console errors {visit['console_errors']}")
        by_kind = {k: {"body": 0, "headers": 0, "requests": 0} for k in KIND_ORDER}
        ready_ms = visit["ready_ms"]
        starts = {r["url"]: r["start_ms"] for r in visit["resources"]}
        after_ready = [r["url"] for r in visit["requests"] if starts.get(r["url"], 0) > ready_ms]
        not_gzip = []
        for r in visit["requests"]:
            kind = "data" if urlsplit(r["url"]).path.startswith("/api/") else KINDS.get(r["resource_type"], "other")
            by_kind[kind]["body"] += r["body_bytes"]
            by_kind[kind]["headers"] += r["header_bytes"]
            by_kind[kind]["requests"] += 1
            if r["content_encoding"] != "gzip" and r["body_bytes"] >= 500:
                not_gzip.append(_path(r["url"]))
        body = sum(v["body"] for v in by_kind.values())
        headers = sum(v["headers"] for v in by_kind.values())
        total = body + headers
        # Cross-check through the test client: same URLs, gzip accepted, bodies summed.
        tc_body = 0
        for r in visit["requests"]:
            resp = client.get(_path(r["url"]), base_url=base, headers={"Accept-Encoding": "gzip"})
            tc_body += len(resp.get_data())
        if tc_body != body:
            raise AssertionError(f"{path}: Chromium counted {body} body bytes, the test client {tc_body}")
        ratios.append(total / budget)
        short = SHORT[path]
        label = f"{short} {path}"
        figures[label] = (f"{total / 1000:.1f} KB of {budget / 1000:.0f} KB budget, {len(visit['requests'])} requests "
                          f"(bodies {body / 1000:.1f} KB + headers {headers / 1000:.1f} KB)")
        figures[f"  {short} by kind (KB)"] = ", ".join(
            f"{k} {(v['body'] + v['headers']) / 1000:.1f}" for k, v in by_kind.items() if v["requests"])
        if after_ready:
            figures[f"  {short} requested after map ready"] = ", ".join(_path(u) for u in after_ready)
        largest = max(visit["requests"], key=lambda r: r["body_bytes"] + r["header_bytes"])
        figures[f"  {short} largest"] = f"{_path(largest['url'])} {(largest['body_bytes'] + largest['header_bytes']) / 1000:.1f} KB"
        details[path] = {
            "budget_bytes": budget, "transfer_bytes": total, "body_bytes": body, "response_header_bytes": headers,
            "request_header_bytes": sum(r["request_bytes"] for r in visit["requests"]),
            "test_client_body_bytes": tc_body, "by_kind": by_kind, "requests": visit["requests"],
            "requested_after_map_ready": after_ready, "larger_than_500_bytes_not_gzip": not_gzip,
            "ready_ms": round(ready_ms, 1), "outside_127_0_0_1": outside,
        }
    figures["cross-check"] = "test-client gzip bodies = Chromium body bytes (every page, to the byte)"
    figures["requests outside 127.0.0.1"] = "0"
    uncompressed = sorted({u for d in details.values() for u in d["larger_than_500_bytes_not_gzip"]})
    figures["gzip"] = "every response >= 500 B gzip" if not uncompressed else f"not gzip: {', '.join(uncompressed)}"
    return result(ratio=max(ratios), target_max=1.0, ratio_of="weight / budget, worse page",
                  data="real: the store built from geodata/raw (cold cache, 1280x800)",
                  figures=figures, pages=details, kb="1 KB = 1,000 bytes; transfer = encoded body + response headers")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
