"""Browser tests: headless Chromium driven by Playwright against pytest-django's live server.

The browser is the system's Chromium (``/usr/bin/chromium``, or ``GUANXI_CHROMIUM``), never
one downloaded by ``playwright install``: the tests must run on a machine without internet
access. When it is missing the tests fail and say what to install; they are never skipped
silently (``.ci/run`` installs it).

Every page a test opens is watched: a JavaScript console error, an uncaught exception, a
request that fails or a response with an error status fails the test at teardown, and a
screenshot of each page the test captures is kept in ``$GUANXI_SCREENSHOTS`` (default: the
test's temporary folder, printed in the test output).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .chromium import ChromiumMissing, launch_chromium

try:
    from playwright.sync_api import expect
except ImportError as missing:  # a clear message instead of a bare collection error
    raise ImportError(
        "The browser tests need Playwright for Python: pip install -e '.[dev]'"
    ) from missing

#: Assertions wait for the page (never sleep); two busy cores can make a page take seconds.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (and per xdist worker).

    Playwright's sync API keeps an asyncio loop running in this thread for as long as it is
    started, so Django sees "a running loop" and refuses ORM calls from the test code (and
    the database flush after each test). The test thread runs no async code of its own, so
    the check is switched off, only while the browser lives: module scope keeps the rest of
    the suite in the same worker under the normal check.
    """
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            try:
                chromium = launch_chromium(playwright)
            except ChromiumMissing as missing:
                pytest.fail(str(missing), pytrace=False)
            yield chromium
            chromium.close()
    finally:
        if before is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@dataclass
class PageProblems:
    """What went wrong on the pages a test visited: console errors, uncaught exceptions,
    failed requests and responses with an error status."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    #: Error statuses a test provokes on purpose (e.g. a 403 it asserts) are listed here.
    expected_statuses: set[int] = field(default_factory=set)

    def all(self) -> list[str]:
        return self.console_errors + self.page_errors + self.failed_requests


def watch(page: Any, problems: PageProblems) -> None:
    """Record every console error, page error, failed request and error response of
    ``page`` in ``problems``."""

    def on_console(message: Any) -> None:
        if message.type == "error":
            problems.console_errors.append(f"console error on {page.url}: {message.text}")

    def on_response(response: Any) -> None:
        if response.status >= 400 and response.status not in problems.expected_statuses:
            problems.failed_requests.append(
                f"{response.status} {response.request.method} {response.url}"
            )

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(f"{page.url}: {error}"))

    def on_request_failed(request: Any) -> None:
        # htmx aborts a request a newer one supersedes (typing on while a filter loads, or
        # leaving the page): that is by design, not a failure of the page.
        superseded = request.resource_type in ("xhr", "fetch") and "ERR_ABORTED" in str(
            request.failure
        )
        if not superseded:
            problems.failed_requests.append(
                f"failed {request.method} {request.url}: {request.failure}"
            )

    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)


class Screenshots:
    """Saves full-page screenshots of a test's pages under one folder, numbered in order."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder = folder
        self.prefix = prefix
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Any, name: str) -> Path:
        """Screenshot ``page`` as ``<test>-<n>-<name>.png``; returns the file."""
        self.count += 1
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
        path = self.folder / f"{self.prefix}-{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def screenshots(request: pytest.FixtureRequest, tmp_path: Path) -> Screenshots:
    """Where this test's screenshots go: ``$GUANXI_SCREENSHOTS`` or its temporary folder."""
    folder = Path(os.environ.get("GUANXI_SCREENSHOTS") or tmp_path / "screenshots")
    prefix = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)
    shots = Screenshots(folder, prefix)
    print(f"screenshots: {folder}")
    return shots


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def context(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) at desktop width, English first."""
    ctx = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-US"
    )
    # Explicit waits are on selectors; this only bounds how long a broken page can hang.
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any, problems: PageProblems) -> Iterator[Any]:
    """A watched page: the test fails if any page it visited logged a JavaScript error,
    threw, or had a request fail."""
    tab = context.new_page()
    watch(tab, problems)
    yield tab
    found = problems.all()
    assert not found, "Problems on the pages visited:\n" + "\n".join(found)


def log_in_as(context: Any, live_server: Any, user: Any) -> None:
    """Give the browser profile a logged-in session of ``user`` (the login form itself is
    tested once, in test_login)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def load_demo_company(settings: Any, home: Path, *, insights: bool) -> dict[str, str]:
    """Load the tiny demo company (60 customers, ~600 order lines) and its demo users into
    the test database; returns their logins ``{username: password}``."""
    import io

    from django.core.management import call_command

    from guanxi.demo.users import read_passwords

    settings.GUANXI_HOME = home
    args = ["--size", "tiny", "--no-migrate"] + ([] if insights else ["--no-insights"])
    call_command("demo", *args, stdout=io.StringIO(), stderr=io.StringIO())
    return read_passwords(home / "demo_logins.txt")


@pytest.fixture
def demo_company(settings: Any, tmp_path: Path, live_server: Any) -> dict[str, str]:
    """The tiny demo company, scored by an insight refresh (for the 360 page and the
    dashboards); returns the demo logins."""
    return load_demo_company(settings, tmp_path, insights=True)


@pytest.fixture
def unscored_company(settings: Any, tmp_path: Path, live_server: Any) -> dict[str, str]:
    """The tiny demo company without the insight refresh (2-3 s faster) for the pages that
    do not show insights; returns the demo logins."""
    return load_demo_company(settings, tmp_path, insights=False)
