"""An HRBP decides probation approvals from the inbox on a phone: Approve (htmx) turns the
task's line into "Approve ✓" in place and the case is then confirmed; ticking two tasks
and "Approve selected" decides both at once."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.hr import REVIEW_AT, Company, company
from tests.browser.live import LiveServer
from tests.browser.support import Shot, sign_in

HIRES = ("Amy Adams", "Bo Bell", "Cy Chen")


@pytest.fixture(scope="module")
def org(live_server: LiveServer) -> Iterator[Company]:
    """Three hires whose manager recommended confirming them: three approvals wait for
    the HRBP (each test decides its own)."""
    found = company(live_server, "INB")
    for name in HIRES:
        found.hire(name)
    live_server.at(REVIEW_AT)
    for name in HIRES:
        found.recommend(name)
    live_server.at(None)
    yield found


def task(phone: Page, name: str) -> Locator:
    """The inbox line of ``name``'s approval."""
    title = phone.get_by_role("link", name=f"{name} — probation confirm")
    return phone.get_by_role("listitem").filter(has=title)


def test_approving_one_task_on_a_phone(
    phone: Page, live_server: LiveServer, org: Company, shot: Shot
) -> None:
    live_server.at(REVIEW_AT)
    sign_in(phone, org.hrbp, next_path="/inbox")
    amy, bo = task(phone, "Amy Adams"), task(phone, "Bo Bell")
    expect(amy).to_contain_text("Probation · Probation case · hrbp")
    expect(amy.get_by_role("button", name="Approve")).to_be_visible()
    shot("inbox")
    phone.evaluate("window.sameDocument = true")  # gone if the page reloads

    amy.get_by_label("Comment").fill("Welcome aboard")
    amy.get_by_role("button", name="Approve").tap()
    expect(amy.get_by_role("status")).to_have_text("Approve ✓")
    expect(amy.get_by_role("button")).to_have_count(0)  # the decision replaced the form
    expect(amy.get_by_label("Comment")).to_have_count(0)
    expect(bo.get_by_role("button", name="Approve")).to_be_visible()  # the others stay
    assert phone.evaluate("window.sameDocument === true"), "approving reloaded the inbox"
    shot("approved")

    amy.get_by_role("link", name="Amy Adams — probation confirm").tap()
    workflow = phone.get_by_role("region", name="Workflow")
    expect(workflow).to_contain_text("Status: Confirmed")
    expect(workflow).to_contain_text(f"{org.hrbp}: approved")
    expect(workflow).to_contain_text("Welcome aboard")
    expect(workflow.get_by_role("button")).to_have_count(0)
    shot("record")

    phone.goto("/inbox")
    expect(task(phone, "Amy Adams")).to_have_count(0)  # done: off the to-do list


def test_approving_two_ticked_tasks_at_once_on_a_phone(
    phone: Page, live_server: LiveServer, org: Company, shot: Shot
) -> None:
    live_server.at(REVIEW_AT)
    sign_in(phone, org.hrbp, next_path="/inbox")
    for name in ("Bo Bell", "Cy Chen"):
        phone.get_by_role("checkbox", name=f"Select {name} — probation confirm").check()
    phone.get_by_label("Comment for all").fill("Both confirmed")
    shot("ticked")
    phone.get_by_role("button", name="Approve selected").tap()
    expect(phone.get_by_role("status")).to_have_text("2 decisions recorded.")
    expect(phone).to_have_url(re.compile(r"/inbox\?decided=2$"))
    for name in ("Bo Bell", "Cy Chen"):
        expect(task(phone, name)).to_have_count(0)
    shot("decided")

    phone.get_by_role("link", name="Done").tap()
    for name in ("Bo Bell", "Cy Chen"):
        expect(task(phone, name)).to_contain_text("approved")
    for name in ("Bo Bell", "Cy Chen"):
        case = org.case(name)
        phone.goto(f"/apps/probation/probation_case/{case['id']}")
        expect(phone.get_by_role("region", name="Workflow")).to_contain_text("Status: Confirmed")
        expect(
            phone.locator("section").filter(has=phone.get_by_role("heading", name="History"))
        ).to_contain_text("Both confirmed")
