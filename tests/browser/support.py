"""What browser tests do often: sign in through the form, and where screenshots go."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from playwright.sync_api import Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.auth_support import PASSWORD

SCREENSHOTS = Path("test-artifacts") / "screenshots"

# shot(name, of=None): see the shot fixture in tests/browser/conftest.py
Shot = Callable[..., Path]


def sign_in(page: Page, username: str, password: str = PASSWORD, next_path: str = "/") -> None:
    """Sign in through the login form, as a person would, and wait until the browser is on
    ``next_path`` (the home page unless told otherwise). A refused sign-in fails at once
    with the error the form shows."""
    query = "" if next_path == "/" else "?" + urlencode({"next": next_path})
    page.goto(f"/login{query}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_response(_login_post) as posted:
        page.get_by_role("button", name="Sign in").click()
    if posted.value.status != 303:
        try:
            said = page.get_by_role("alert").inner_text(timeout=5_000)
        except PlaywrightTimeoutError:
            said = f"HTTP {posted.value.status}, no error shown"
        raise AssertionError(f"signing in as {username!r} was refused: {said}")
    page.wait_for_url(lambda url: urlsplit(url).path == urlsplit(next_path).path)


def _login_post(response: Response) -> bool:
    return response.request.method == "POST" and urlsplit(response.url).path == "/login"


def screenshot_path(root: Path, test_name: str, name: str) -> Path:
    """``test-artifacts/screenshots/<test name>-<name>.png`` under ``root``: a parameter
    ``[x]`` becomes ``-x``, and other characters than letters, digits, ``-``, ``_`` and ``.``
    become ``_``."""
    plain = re.sub(r"\[(.*)\]$", r"-\1", test_name)  # test_x[phone] -> test_x-phone
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{plain}-{name}")
    path = root / SCREENSHOTS / f"{safe}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
