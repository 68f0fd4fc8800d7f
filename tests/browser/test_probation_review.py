"""A manager reviews a new hire's probation in Chromium: on the case's page they open the
review from the workflow panel with a comment, are told what is missing when they submit
too early, score the hire through the Edit form, and submit the recommendation; the case
then waits for the HRBP, whose inbox lists the approval and whose case page offers the
decision."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.hr import REVIEW_AT, SET_UP_AT, Company, company
from tests.browser.live import LiveServer
from tests.browser.support import Shot, sign_in

SCORES = {"Job knowledge": "4", "Quality": "3", "Productivity": "4", "Teamwork": "3", "Values": "4"}


@pytest.fixture(scope="module")
def org(live_server: LiveServer) -> Iterator[Company]:
    """A company whose manager's team the tests hire into."""
    yield company(live_server, "PRV")


def hired(live_server: LiveServer, org: Company, name: str) -> dict[str, Any]:
    """``name``'s probation case, hired on 10 March 2025; the clock is then on 1 June,
    past the self-assessment's due date."""
    live_server.at(SET_UP_AT)
    case = org.hire(name)
    live_server.at(REVIEW_AT)
    return case


def shown(page: Page, label: str) -> Locator:
    """The value the record page shows for the field labelled ``label``."""
    pair = page.locator("dl.fields > div").filter(has=page.get_by_text(label, exact=True))
    return pair.get_by_role("definition")


def test_a_manager_scores_and_recommends_and_the_hrbp_is_asked_to_approve(
    page: Page, live_server: LiveServer, org: Company, shot: Shot
) -> None:
    case = hired(live_server, org, "Amy Adams")
    path = f"/apps/probation/probation_case/{case['id']}"
    sign_in(page, org.manager, next_path=path)

    workflow = page.get_by_role("region", name="Workflow")
    expect(page.get_by_role("heading", level=1)).to_have_text(case["code"])
    expect(workflow).to_contain_text("Status: Active")
    workflow.get_by_label("Comment").fill("Starting Amy's review")
    workflow.get_by_role("button", name="Open review").click()
    expect(workflow).to_contain_text("Status: Review open")
    expect(page).to_have_url(re.compile(rf"{path}$"))
    history = page.locator("section").filter(has=page.get_by_role("heading", name="History"))
    expect(history).to_contain_text("Starting Amy's review")
    expect(workflow.get_by_role("button", name="Open review")).to_have_count(0)

    # too early: nothing scored yet
    workflow.get_by_role("button", name="Submit recommendation").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(re.compile(r"submit.recommendation was not done", re.I))
    expect(alert).to_contain_text(re.compile(r"job.knowledge is required", re.I))
    expect(workflow).to_contain_text("Status: Review open")
    shot("missing-scores")

    page.get_by_role("link", name="Edit").click()
    for label, value in SCORES.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Recommendation", exact=True).select_option(label="Confirm")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(shown(page, "Total score")).to_have_text(re.compile(r"^3\.60?$"))
    expect(shown(page, "Suggested outcome")).to_have_text("Confirm")
    expect(shown(page, "Recommendation")).to_have_text("Confirm")
    expect(shown(page, "Quality")).to_have_text("3")

    workflow.get_by_label("Comment").fill("Strong first three months")
    workflow.get_by_role("button", name="Submit recommendation").click()
    expect(workflow).to_contain_text("Status: Pending approval")
    expect(workflow).to_contain_text(f"Waiting for: {org.hrbp}")
    expect(workflow.get_by_role("button")).to_have_count(0)  # nothing left for the manager
    expect(page.locator(".bar .state")).to_have_text("Pending approval")  # by the title
    shot("submitted")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, org.hrbp, next_path="/inbox")
    task = page.get_by_role("listitem").filter(
        has=page.get_by_role("link", name="Amy Adams — probation confirm")
    )
    expect(task).to_contain_text("Probation · Probation case · hrbp")
    expect(task).to_contain_text(f"from {org.manager}")
    expect(task).to_contain_text("Due 2025-06-06")
    expect(task.get_by_role("button", name="Approve")).to_be_visible()
    shot("hrbp-inbox")
    task.get_by_role("link", name="Amy Adams — probation confirm").click()
    expect(page).to_have_url(re.compile(rf"{path}$"))
    expect(workflow.get_by_role("button", name="Approve")).to_be_visible()
    expect(workflow.get_by_role("button", name="Reject")).to_be_visible()
    expect(history).to_contain_text("Strong first three months")


def test_a_field_the_manager_may_not_change_is_refused_on_the_form(
    page: Page, live_server: LiveServer, org: Company, shot: Shot
) -> None:
    case = hired(live_server, org, "Dee Dunn")
    path = f"/apps/probation/probation_case/{case['id']}"
    sign_in(page, org.manager, next_path=path)
    page.get_by_role("link", name="Edit").click()
    hire_date = page.get_by_label("Hire date")
    hire_date.fill("2025-03-20")  # the manager may change the scores, not the hire date
    page.get_by_label("Quality", exact=True).fill("3")  # away from the hire date
    refused = re.compile(r"may not change .*hire.date", re.IGNORECASE)
    expect(hire_date).to_have_accessible_description(refused)  # as they type
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Probation case #{case['id']}")
    expect(hire_date).to_have_accessible_description(refused)
    expect(hire_date).to_be_focused()
    expect(page.get_by_label("Quality", exact=True)).to_have_value("3")  # nothing typed is lost
    shot("refused")

    hire_date.fill(str(case["hire_date"]))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(shown(page, "Quality")).to_have_text("3")
    expect(shown(page, "Hire date")).to_have_text(str(case["hire_date"]))
