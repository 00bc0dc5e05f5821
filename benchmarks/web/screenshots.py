"""Screenshots of the customer 360 page and the dashboards, in English and 简体中文.

Usage (from the repository root; needs the dev extra and Debian's ``chromium``)::

    .venv/bin/python benchmarks/web/screenshots.py            # writes docs/screenshots/
    .venv/bin/python benchmarks/web/screenshots.py --out /tmp/shots --size tiny

It loads the demo company (``guanxi demo --size small``, scored by an insight refresh) into
a new SQLite database in a temporary ``GUANXI_HOME``, serves it with waitress on a free
local port, logs in as the demo administrator through the login form and saves, at desktop
width (1280 px), the 360 page of the customer with the highest predicted CLV and every
dashboard in both languages, plus the customer list at phone width (390 px). A page that
logs a JavaScript error or has a failed request stops the script. Nothing outside the
temporary folder and ``--out`` is touched.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

LANGUAGES = ("en", "zh-hans")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load_demo(size: str) -> tuple[dict[str, str], dict[str, str]]:
    """Migrate, load the demo company, score it; returns the logins and the pages to shoot
    ``{file stem: path}``."""
    from django.core.management import call_command
    from django.db.models import F
    from django.urls import reverse

    from guanxi.customers.models import Customer
    from guanxi.demo.users import logins_path, read_passwords

    print(f"Loading the {size} demo company (with an insight refresh) ...", flush=True)
    call_command("demo", "--size", size, stdout=io.StringIO(), stderr=io.StringIO())
    best = (
        Customer.objects.filter(insight__clv__isnull=False)
        .order_by(F("insight__clv").desc(nulls_last=True), "pk")
        .first()
    )
    if best is None:
        sys.exit("The demo load scored no customer; cannot pick a 360 page.")
    pages = {"customer-360": reverse("customer_detail", args=[best.pk])}
    pages.update(dashboard_pages())
    return read_passwords(logins_path()), pages


def dashboard_pages() -> dict[str, str]:
    """Every dashboard's address (``/insights/dashboards/<name>/``)."""
    from django.urls import reverse

    from guanxi.insights.views import DASHBOARDS

    return {f"dashboard-{name}": reverse("insight_dashboard", args=[name]) for name in DASHBOARDS}


def serve(port: int) -> Any:
    """Serve the application with waitress in a background thread; returns the server."""
    from django.core.wsgi import get_wsgi_application
    from waitress.server import create_server  # type: ignore[import-untyped]

    server = create_server(get_wsgi_application(), host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    return server


class PageWatch:
    """Fails the run when a page logs a JavaScript error or a request fails."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self.on_console)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: {error}"))
        page.on("requestfailed", self.on_request_failed)
        page.on("response", self.on_response)

    def on_console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"{self.page.url}: {message.text}")

    def on_request_failed(self, request: Any) -> None:
        self.problems.append(f"failed {request.url}: {request.failure}")

    def on_response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status} {response.url}")

    def check(self) -> None:
        if self.problems:
            sys.exit("Problems on the pages:\n" + "\n".join(self.problems))


def settle(page: Any) -> None:
    """Wait until the page has loaded and every chart has drawn (no fixed sleeps)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-chart-source]')].every(
               el => el.querySelector('canvas, svg'))"""
    )


def shoot(base_url: str, logins: dict[str, str], pages: dict[str, str], out: Path) -> list[Path]:
    """Log in through the form and save every page in both languages, and the phone list."""
    from playwright.sync_api import sync_playwright

    from guanxi.tests.browser.chromium import launch_chromium

    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for language in LANGUAGES:
            context = browser.new_context(
                base_url=base_url,
                viewport={"width": 1280, "height": 900},
                # The browser's own widgets (date inputs) follow its locale, not the page's.
                locale="zh-CN" if language == "zh-hans" else "en-US",
            )
            context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])
            page = context.new_page()
            watch = PageWatch(page)
            log_in(page, "admin", logins["admin"])
            for stem, path in pages.items():
                page.goto(path)
                settle(page)
                target = out / f"{stem}.{language}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
            watch.check()
            context.close()
        phone = browser.new_context(
            base_url=base_url, viewport={"width": 390, "height": 844}, is_mobile=True
        )
        page = phone.new_page()
        watch = PageWatch(page)
        log_in(page, "admin", logins["admin"])
        page.goto("/customers/")
        settle(page)
        target = out / "customers-phone.en.png"
        page.screenshot(path=str(target), full_page=True)
        written.append(target)
        watch.check()
        browser.close()
    return written


def log_in(page: Any, username: str, password: str) -> None:
    """Through the login form, as a person would."""
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form[action$='/accounts/login/'] [type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--size", default="small", help="demo size (tiny, small, medium)")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="guanxi-screenshots-")
    os.environ["GUANXI_HOME"] = home
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "guanxi.settings"
    import django

    django.setup()
    logins, pages = load_demo(args.size)
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = serve(port)
    try:
        written = shoot(f"http://127.0.0.1:{port}", logins, pages, args.out)
    finally:
        server.close()
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    print(f"(demo database left in {home})")


if __name__ == "__main__":
    main()
