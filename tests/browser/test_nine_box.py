"""An HRBP opens the talent review dashboard in Chromium and drills into the 9-box: a
cell (an SVG link) opens the list of the people in that box, filtered by the box's
potential and performance; a bar of the 9-box by department opens that department's
people, and the department's page lists its employees."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.hr import REVIEWED_AT, nine_box
from tests.browser.live import LiveServer
from tests.browser.support import Shot, sign_in

# name: (proposed rating, the manager's answer to each potential question)
TEAM = {"Ann Star": ("A", 3), "Ben Star": ("S", 3), "Cat Core": ("B", 2)}


def test_a_box_of_the_nine_box_opens_the_list_of_its_people(
    page: Page, live_server: LiveServer, shot: Shot
) -> None:
    org = nine_box(live_server, "NBX", TEAM)
    live_server.at(REVIEWED_AT)
    sign_in(page, org.hrbp)
    page.get_by_role("main").get_by_role("link", name="Talent review").click()
    nav = page.get_by_role("navigation", name="Talent review")
    nav.get_by_role("link", name="Talent review", exact=True).click()  # the dashboard
    expect(page).to_have_url(re.compile(r"/apps/talent_review/dashboards/talent_overview$"))
    widget = page.locator("section").filter(
        has=page.get_by_role("heading", name="9-box: potential × performance")
    )
    # potential 3 × performance band 3 (A and S): the two stars; 2 × 2: the core player
    stars = widget.get_by_role("link", name="3 × 3: 2")
    expect(stars).to_be_visible()
    expect(widget.get_by_role("link", name="2 × 2: 1")).to_be_visible()
    expect(widget.get_by_role("link")).to_have_count(2)  # empty boxes link nowhere
    shot("dashboard")

    stars.click()
    expect(page).to_have_url(re.compile(r"/apps/talent_review/talent_assessment\?filter="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Talent assessments")
    expect(page.get_by_text("2 records")).to_be_visible()
    rows = page.get_by_role("main").get_by_role("row")
    expect(rows.filter(has_text="Ann Star")).to_have_count(1)
    expect(rows.filter(has_text="Ben Star")).to_have_count(1)
    expect(rows.filter(has_text="Cat Core")).to_have_count(0)
    # the first save of the manager's answers made each assessment a draft
    expect(rows.filter(has_text="Ann Star")).to_contain_text("Draft")
    shot("drilled")

    page.go_back()
    by_department = page.locator("section").filter(
        has=page.get_by_role("heading", name="9-box by department")
    )
    by_department.get_by_role("link", name="NBX Team · 5: 1").click()
    expect(page.get_by_role("alert")).to_have_count(0)  # the link's filter is a good one
    expect(page.get_by_text("1 record", exact=True)).to_be_visible()
    rows = page.get_by_role("main").get_by_role("row")
    expect(rows.filter(has_text="Cat Core")).to_have_count(1)
    expect(rows.filter(has_text="Ann Star")).to_have_count(0)

    rows.filter(has_text="Cat Core").get_by_role("link", name="NBX Team").click()
    employees = page.locator("section").filter(has=page.get_by_role("heading", name="Employees"))
    expect(employees.get_by_role("heading")).to_have_text("Employees (4)")
    for name in ("Ann Star", "Ben Star", "Cat Core"):
        expect(employees.get_by_role("link", name=name)).to_be_visible()
    shot("department")
