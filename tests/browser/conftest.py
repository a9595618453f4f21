"""End-to-end fixtures: the app on 127.0.0.1 (a free port, a background thread) and headless
Chromium (Debian's /usr/bin/chromium) driven by Playwright, recording every request and
every console message of a page."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.config import REPO_ROOT
from tests.conftest import fresh_planner_url

CHROMIUM = os.environ.get("KIEZKARTE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="session")
def live_app(hostile_store_url):
    return create_app({"STORE": hostile_store_url, "TESTING": True})


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="kiezkarte-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def base_url(live_app):
    yield from _serve(live_app)


PLANNER = ("anna", "correct horse battery staple")


@pytest.fixture()
def planner_base_url(hostile_store_url, tmp_path):
    """A server of its own with a fresh planner store and the account PLANNER (edits stay in this test)."""
    from app.accounts import add_user
    from app.store import open_planner
    planner = open_planner(hostile_store_url, fresh_planner_url(hostile_store_url, tmp_path))
    add_user(planner, *PLANNER)
    app = create_app({"STORE": hostile_store_url, "PLANNER_STORE": planner.path, "TESTING": True})
    yield from _serve(app)


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module (module scope: Playwright's sync API allows one running instance,
    and other modules, e.g. tests/test_tiles.py, start their own once these are done)."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (./run.sh test installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


class Recorder:
    """Every request, failed request, console message and dialog of one page."""

    def __init__(self, page):
        self.requests, self.failed, self.console, self.errors, self.dialogs = [], [], [], [], []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.failed.append((r.url, r.failure)))
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @property
    def console_errors(self):
        return [text for kind, text in self.console if kind == "error"] + self.errors


@pytest.fixture()
def new_page(browser):
    """new_page(viewport=DESKTOP) -> (page, recorder); the context is closed after the test."""
    contexts = []

    def _new(viewport=DESKTOP, **options):
        context = browser.new_context(viewport=viewport, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page, Recorder(page)

    yield _new
    for context in contexts:
        context.close()


def wait_for_map(page):
    """Wait for kiezkarte.js to mark the page (a selector, not a polled script: the CSP forbids eval):
    the map drawn and everything of its first view (project markers, the selected feature's popup)."""
    page.locator("html[data-map-ready='1'][data-map-complete='1']").wait_for(state="attached", timeout=30_000)


def screenshot(page, name: str, full_page: bool = False):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
