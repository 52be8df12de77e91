"""Browser tests: the app served on loopback, driven by Playwright in Debian's Chromium.

Skipped, with the reason, where Chromium, Playwright or axe-core (npm) is
missing. Screenshots go to ``$CONSENT_TEST_OUTPUT/screenshots`` (default
``test-output/``): one for each main page, and one on every failure.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CONSENT_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
OUTPUT = Path(os.environ.get("CONSENT_TEST_OUTPUT", ROOT / "test-output")) / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    if not AXE.exists():
        return "axe-core is not installed (npm ci)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def answered_whole(app):
    """The app, each answer read to its end and closed before werkzeug's server writes it.

    werkzeug's development server closes the answer after draining the
    request's socket; when the browser has already reset the connection (a
    favicon asked for by a page it left), the drain raises first and a file
    answer (``send_file``) stays open until the garbage collector finds it,
    which fails whichever test is running then. Production servers close it.
    """
    def serve(environ, start_response):
        answer = app(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            if hasattr(answer, "close"):
                answer.close()
    return serve


@pytest.fixture
def live_server(app):
    """The test's app, served by a real HTTP server on 127.0.0.1."""
    server = make_server("127.0.0.1", 0, answered_whole(app), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join(timeout=10)
    # Requests still being answered (a favicon the closing page asked for) finish
    # before the test's database goes; server_close waits for their threads.
    closing = threading.Thread(target=server.server_close, daemon=True)
    closing.start()
    closing.join(timeout=10)


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def viewport(request):
    return request.param


@pytest.fixture
def new_page(browser, viewport, request):
    """Open pages in a fresh context of this test's viewport; screenshot on failure."""
    contexts = []

    def open_page(*, javascript: bool = True, locale: str = "en"):
        context = browser.new_context(viewport=VIEWPORTS[viewport], java_script_enabled=javascript,
                                      locale=locale, accept_downloads=True,
                                      extra_http_headers={"Accept-Language": locale})
        contexts.append(context)
        return context.new_page()

    yield open_page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for i, context in enumerate(contexts):
        for j, page in enumerate(context.pages):
            if failed:
                shoot(page, f"FAILED-{request.node.name}-{i}-{j}")
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def shoot(page, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / (re.sub(r"[^\w.-]+", "_", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page, impacts=("serious", "critical")) -> list[str]:
    """Run axe-core (WCAG 2.x A/AA rules) in the page; return the serious and critical findings."""
    # A click that submits a form returns once the new URL is committed, maybe before
    # the stylesheet applies; unstyled links are small targets, so wait for "load".
    page.wait_for_load_state("load")
    # evaluate() runs outside the page's CSP, which rightly refuses inline script.
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in impacts]


@pytest.fixture
def screenshot(viewport):
    def take(page, name: str) -> Path:
        return shoot(page, f"{name}-{viewport}")
    return take


def log_in(page, base: str, email: str, password: str) -> None:
    """Log in through the form, as a person would."""
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


@pytest.fixture
def check_page(screenshot, viewport):
    """Screenshot a main page and, when JavaScript runs, assert axe finds nothing serious.

    ``readme`` names the picture kept for the README (desktop and phone, JavaScript on).
    """
    def check(page, name: str, *, javascript: bool = True, readme: str | None = None) -> Path:
        if javascript:
            assert axe_violations(page) == [], page.url
        shot = screenshot(page, f"{name}-{'js' if javascript else 'nojs'}")
        if readme and javascript:
            copy_for_readme(shot, f"{readme}-{viewport}.png")
        return shot
    return check


def copy_for_readme(path: Path, name: str) -> None:
    """With CONSENT_UPDATE_SCREENSHOTS=1, keep a main page's picture for the README."""
    if os.environ.get("CONSENT_UPDATE_SCREENSHOTS") != "1":
        return
    target = ROOT / "docs" / "screenshots" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
