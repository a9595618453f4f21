"""Headless Chromium for the browser benchmarks (Debian's chromium driven by Playwright).

``visit`` opens one URL in a fresh browser context (cold cache, no cookies), waits until
the page marks ``<html data-map-ready="1">`` and returns what happened: the time from
navigation start to that mark (recorded in the page by a MutationObserver installed
before any page script runs), navigation timings, and every request with its sizes
as Chromium counts them (encoded body and response headers).
"""
from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("KIEZKARTE_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 800}
READY_SELECTOR = "html[data-map-ready='1']"
TIMEOUT_MS = 30_000

# Runs before every page script: notes performance.now() (ms since navigation start) when
# data-map-ready becomes '1', and the next animation frame after it (the first paint that
# can show the drawn map; marked as data-bench-frame so Python can wait for it by selector).
_INIT_SCRIPT = """
(() => {
  const mark = () => {
    const root = document.documentElement;
    if (root && root.dataset.mapReady === '1' && window.__benchReadyAt === undefined) {
      window.__benchReadyAt = performance.now();
      requestAnimationFrame(() => { window.__benchFrameAt = performance.now(); root.dataset.benchFrame = '1'; });
    }
  };
  // The document node exists before <html> is parsed; watch its subtree for the attribute.
  new MutationObserver(mark).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-map-ready']});
})();
"""


def unavailable() -> str | None:
    """Why the browser benchmarks cannot run here, or None."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (./run.sh bench installs Debian's chromium; or set KIEZKARTE_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]', as ./run.sh bench does)"
    return None


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def visit(browser, url: str, *, viewport=DESKTOP, settle: bool = False, probe: str | None = None) -> dict:
    """Load ``url`` cold, wait for the map; ``settle`` also waits for network idle (page weight).

    ``probe`` is a JavaScript expression evaluated once the map is ready (e.g. to read the view).
    """
    context = browser.new_context(viewport=viewport)
    try:
        context.add_init_script(_INIT_SCRIPT)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        requests, finished, failed, console_errors = [], [], [], []
        page.on("request", lambda r: requests.append(r))
        page.on("requestfinished", lambda r: finished.append(r))
        page.on("requestfailed", lambda r: failed.append((r.url, r.failure)))
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.locator(READY_SELECTOR).wait_for(state="attached", timeout=TIMEOUT_MS)
        wall_ms = (time.perf_counter() - started) * 1000
        if settle:
            page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        else:
            # an attribute, not wait_for_function: the page's CSP forbids eval'd predicates
            page.locator("html[data-bench-frame='1']").wait_for(state="attached", timeout=TIMEOUT_MS)
        timing = page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const res = performance.getEntriesByType('resource');
            return {ready_ms: window.__benchReadyAt, frame_ms: window.__benchFrameAt,
                    response_end_ms: nav.responseEnd, dom_content_loaded_ms: nav.domContentLoadedEventEnd,
                    load_ms: nav.loadEventEnd,
                    resources: res.map(r => ({url: r.name, type: r.initiatorType, start_ms: r.startTime,
                                              end_ms: r.responseEnd}))};
        }""")
        probed = page.evaluate(probe) if probe else None
        rows = []
        for r in finished:
            sizes = r.sizes()
            response = r.response()
            rows.append({"url": r.url, "resource_type": r.resource_type, "status": response.status if response else None,
                         "body_bytes": sizes["responseBodySize"], "header_bytes": sizes["responseHeadersSize"],
                         "request_bytes": sizes["requestHeadersSize"] + sizes["requestBodySize"],
                         "content_encoding": (response.headers.get("content-encoding") if response else None)})
        return {"url": url, "wall_ms": wall_ms, **timing, "probe": probed, "requests": rows,
                "requested_urls": [r.url for r in requests], "failed": failed, "console_errors": console_errors}
    finally:
        context.close()


def non_local(urls: list[str]) -> list[str]:
    """URLs that do not go to 127.0.0.1 (data: URLs are not requests)."""
    return [u for u in urls if not u.startswith("data:") and urlsplit(u).hostname != "127.0.0.1"]


def profile_visit(browser, url: str, *, viewport=DESKTOP, top: int = 12) -> dict:
    """One cold visit under V8's sampling CPU profiler (Chrome DevTools Protocol), until the map is
    drawn: self time per function and per script, in ms. Informative only (profiling slows the page)."""
    context = browser.new_context(viewport=viewport)
    try:
        context.add_init_script(_INIT_SCRIPT)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})  # microseconds
        cdp.send("Profiler.start")
        page.goto(url, wait_until="commit")
        page.locator(READY_SELECTOR).wait_for(state="attached", timeout=TIMEOUT_MS)
        ready_ms = page.evaluate("window.__benchReadyAt")
        profile = cdp.send("Profiler.stop")["profile"]
        cdp.detach()
    finally:
        context.close()
    nodes = {n["id"]: n for n in profile["nodes"]}
    self_us: dict[int, float] = {}
    for node_id, delta in zip(profile.get("samples", []), profile.get("timeDeltas", [])):
        self_us[node_id] = self_us.get(node_id, 0.0) + delta
    by_function: dict[str, float] = {}
    by_script: dict[str, float] = {}
    for node_id, us in self_us.items():
        frame = nodes[node_id]["callFrame"]
        name = frame.get("functionName") or "(anonymous)"
        script = _script_name(frame.get("url", ""), name)
        where = f"{script}:{frame.get('lineNumber', -1) + 1}" if script.startswith(("/", "http")) or "." in script else script
        key = f"{name} {where}" if not name.startswith("(") else name
        by_function[key] = by_function.get(key, 0.0) + us
        by_script[script] = by_script.get(script, 0.0) + us
    total = sum(self_us.values())

    def table(d):
        rows = sorted(d.items(), key=lambda kv: kv[1], reverse=True)[:top]
        return [{"name": k, "self_ms": round(v / 1000, 1)} for k, v in rows]

    return {"url": url, "ready_ms": ready_ms, "profiled_ms": round(total / 1000, 1),
            "by_script": table(by_script), "by_function": table(by_function)}


def _script_name(url: str, function: str) -> str:
    """The script's file name; V8's pseudo-frames keep their names: (idle) is waiting (network,
    timers), (program) native browser work (parsing, style, layout, paint), (garbage collector)."""
    if not url:
        return function if function in ("(idle)", "(program)", "(garbage collector)") else "(native)"
    parts = urlsplit(url)
    return parts.path.rsplit("/", 1)[-1] or parts.path


# Counts Leaflet's drawing work: wraps a few prototype methods the moment the page sets
# window.L (before any map exists). Polyline._update projects, clips and simplifies one
# path; Renderer._update re-fits the SVG and makes every path update again.
_LEAFLET_COUNTER = """
(() => {
  let realL;
  const n = window.__benchLeaflet = {paths_added: 0, path_updates: 0, renderer_updates: 0, moveend: 0, get_size: 0};
  Object.defineProperty(window, 'L', {configurable: true, get() { return realL; }, set(v) {
    realL = v;
    const wrap = (proto, name, key) => {
      const f = proto[name];
      proto[name] = function () { n[key]++; return f.apply(this, arguments); };
    };
    wrap(v.Path.prototype, 'onAdd', 'paths_added');
    wrap(v.Polyline.prototype, '_update', 'path_updates');
    wrap(v.Renderer.prototype, '_update', 'renderer_updates');
    wrap(v.Map.prototype, 'getSize', 'get_size');
    const init = v.Map.prototype.initialize;
    v.Map.prototype.initialize = function () {
      const r = init.apply(this, arguments);
      this.on('moveend', () => { n.moveend++; });
      return r;
    };
  }});
})();
"""


def count_leaflet_calls(browser, url: str, *, viewport=DESKTOP) -> dict:
    """One cold visit with Leaflet's drawing calls counted until the map is drawn (informative)."""
    context = browser.new_context(viewport=viewport)
    try:
        context.add_init_script(_LEAFLET_COUNTER)
        context.add_init_script(_INIT_SCRIPT)
        page = context.new_page()
        page.goto(url, wait_until="commit")
        page.locator(READY_SELECTOR).wait_for(state="attached", timeout=TIMEOUT_MS)
        return page.evaluate("({...window.__benchLeaflet})")
    finally:
        context.close()
