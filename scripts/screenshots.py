"""Screenshots of every page at 360 and 1280 px, in French, Dutch and English, for people to look at.

    .venv/bin/python scripts/screenshots.py OUTPUT_DIR [--locales fr nl en]

Not a test (CI does not run it): the browser tests check the layout; this
shows it. It seeds a throw-away SQLite database with one of everything a
page can show (tests/browser/sweep_data.py), serves the app on 127.0.0.1,
and opens every GET page as the visitor who may see it, as the page sweep
does (tests/browser/test_every_page.py). Files: OUTPUT_DIR/<locale>/<page>-<width>.png,
plus the phone menu opened. Needs Debian's Chromium and Playwright for Python.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WIDTHS = {"1280": {"width": 1280, "height": 900}, "360": {"width": 360, "height": 740}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--locales", nargs="+", default=["fr", "nl", "en"])
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright
    from sqlalchemy import update
    from werkzeug.serving import make_server

    from consent_center import create_app
    from consent_center.extensions import db
    from consent_center.models import Account
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.browser.sweep_data import pages, seed
    from tests.browser.test_every_page import Sweep
    from tests.dbs import SqliteDatabases

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="consent-screens-"))
    app = create_app({"TESTING": True, "DATABASE_URL": SqliteDatabases(workdir).create()})
    app.instance_path = str(workdir / "instance")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    count = 0
    with app.app_context(), sync_playwright() as playwright:
        values = seed(db.session)
        todo = pages(app, values)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for locale in args.locales:
            db.session.execute(update(Account).values(locale=locale))
            db.session.commit()
            folder = args.output / locale
            folder.mkdir(parents=True, exist_ok=True)

            def shoot(page, key: str, phone: bool) -> list[str]:
                nonlocal count
                name = re.sub(r"[^\w.-]+", "_", key)
                for width, size in WIDTHS.items():
                    page.set_viewport_size(size)
                    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
                    count += 1
                menu = page.locator("details.menu")
                if key in ("space.preferences", "admin.index") and menu.count():
                    page.set_viewport_size(WIDTHS["360"])
                    menu.locator("summary").click()
                    page.screenshot(path=str(folder / f"{name}-menu-open-360.png"))
                    menu.locator("summary").click()
                    count += 1
                page.set_viewport_size(WIDTHS["1280"])
                return []

            Sweep(browser, base, locale, shoot).run(todo)
        browser.close()
    server.shutdown()
    print(f"{count} screenshots in {args.output} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
