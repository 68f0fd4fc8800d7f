"""Signing in through the login form in Chromium, on a desktop window and a phone: the home
page lists the installed catalog apps; a wrong password keeps the person on the form with
the error shown."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.live import LiveServer
from tests.browser.support import Shot, sign_in

TITLES = ("Core HR", "Probation", "Talent review", "Year-end bonus", "Performance improvement plan")


@pytest.mark.parametrize("screen", ["page", "phone"])
def test_signing_in_shows_the_installed_apps(
    screen: str, request: pytest.FixtureRequest, live_server: LiveServer, shot: Shot
) -> None:
    window: Page = request.getfixturevalue(screen)
    username = live_server.add_user("core_hr.hr_admin")
    sign_in(window, username)
    expect(window.get_by_role("banner")).to_contain_text(username)
    main = window.get_by_role("main")
    for title in TITLES:
        expect(main).to_contain_text(title)
    shot("home")


def test_a_wrong_password_shows_the_error_and_stays_on_the_form(
    page: Page, live_server: LiveServer, shot: Shot
) -> None:
    username = live_server.add_user()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Username or password is incorrect.")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_label("Username")).to_have_value(username)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    shot("error")
