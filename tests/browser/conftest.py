"""Browser tests: Playwright driving Debian's Chromium (``/usr/bin/chromium``; Playwright's
own browser downloads are never used) against a live Tenon server.

Fixtures: ``live_server`` (session; tests/browser/live.py), ``browser`` (session), ``page``
(a desktop window) and ``phone`` (a phone-sized touch screen), each a new browser context
per test whose relative URLs go to the live server, and ``shot(name)`` to save a
screenshot. A failing test's open pages are saved as ``<test name>-failure.png``.

Every test here is marked ``browser``. Without Chromium they are skipped on a developer
machine, and fail under CI (``CI`` set), where skipping would hide them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.browser.live import LiveServer
from tests.browser.live import live_server as serving
from tests.browser.support import Shot, screenshot_path

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).parent
TIMEOUT_MS = 15_000  # two busy cores in CI are slow; a real failure still shows quickly
expect.set_options(timeout=TIMEOUT_MS)  # expect(...) waits as long as actions do
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}

FAILED = pytest.StashKey[bool]()
PAGES = pytest.StashKey[list[Page]]()


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if CHROMIUM.exists():
        return None
    return f"{CHROMIUM} is missing (apt-get install chromium chromium-driver)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = None if os.environ.get("CI") else _missing()  # under CI the browser fixture fails
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(pytest.mark.skip(reason=missing))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    missing = _missing()
    if missing and os.environ.get("CI"):
        pytest.fail(f"{missing}; CI must run the browser tests")
    if missing:
        pytest.skip(missing)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            # as root in a container Chromium's sandbox cannot start; /dev/shm may be small
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(tmp_path_factory.mktemp("live")) as server:
        yield server


def _open(
    request: pytest.FixtureRequest, browser: Browser, server: LiveServer, options: dict[str, Any]
) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(
        base_url=server.url, locale="en-US", timezone_id="UTC", **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    request.node.stash.setdefault(PAGES, []).append(opened)
    try:
        yield opened
    finally:
        try:
            if request.node.stash.get(FAILED, False):
                number = request.node.stash[PAGES].index(opened) + 1
                _save(request, opened, "failure" if number == 1 else f"failure-{number}")
        finally:
            context.close()
            if server.clock_moved:
                server.at(None)


def _save(request: pytest.FixtureRequest, page: Page, name: str) -> Path:
    path = screenshot_path(request.config.rootpath, request.node.name, name)
    page.screenshot(path=path, full_page=True)
    return path


@pytest.fixture
def page(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> Iterator[Page]:
    """A desktop browser window (1280×800, en-US, UTC) of its own, on the live server."""
    yield from _open(request, browser, live_server, DESKTOP)


@pytest.fixture
def phone(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> Iterator[Page]:
    """A phone-sized touch screen (390×844, mobile, en-US, UTC) of its own, on the live
    server."""
    yield from _open(request, browser, live_server, PHONE)


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shot:
    """``shot(name, of=page)`` saves a full-page screenshot as
    ``test-artifacts/screenshots/<test name>-<name>.png`` and returns its path. Without
    ``of``: the page the test opened last (``page`` or ``phone``)."""

    def take(name: str, of: Page | None = None) -> Path:
        target = of or request.node.stash.get(PAGES, [None])[-1]
        if target is None:
            raise RuntimeError("shot() needs a page: use the page or phone fixture first")
        return _save(request, target, name)

    return take
