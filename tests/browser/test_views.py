"""The views an app declares besides grids, in Chromium. An HRBP drags a probation case
across the pipeline board to the lane of the next state, and a stale card's move is
refused with the reason; the end dates calendar shows a month of cases by their last day
(on a phone only the days with cases); the talent review's 9-box matrix drills into the
list of the people in a box."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.hr import PRB, REVIEW_AT, REVIEWED_AT, Company, company, nine_box
from tests.browser.live import LiveServer
from tests.browser.support import Shot, sign_in

CASES = "/apps/probation/probation_case"
HIRES = ("Amy Adams", "Bo Bell", "Cy Chen")  # hired on 10 March 2025: all end on 9 June


@pytest.fixture(scope="module")
def org(live_server: LiveServer) -> Iterator[Company]:
    """Three hires on probation, their cases active; the HRBP sees them (and no others)."""
    found = company(live_server, "VWS")
    for name in HIRES:
        found.hire(name)
    live_server.at(None)
    yield found


def lane(page: Page, state: str) -> Locator:
    return page.locator(f'section.lane[data-lane="{state}"]')


def card(where: Page | Locator, name: str) -> Locator:
    return where.locator("li.card").filter(has_text=name)


def count(lane_: Locator) -> int:
    return int(lane_.locator("h2 .count").inner_text())


def test_dragging_a_card_to_the_lane_of_its_next_state(
    page: Page, live_server: LiveServer, org: Company, shot: Shot
) -> None:
    live_server.at(REVIEW_AT)
    amy = org.case("Amy Adams")
    sign_in(page, org.hrbp, next_path=CASES)
    page.get_by_role("navigation", name="Views").get_by_role("link", name="Pipeline").click()
    expect(page).to_have_url(re.compile(r"\?view=pipeline$"))
    active, review = lane(page, "active"), lane(page, "review_open")
    amy_card = card(active, "Amy Adams")
    expect(amy_card).to_have_attribute("draggable", "true")
    expect(amy_card.get_by_role("link", name=amy["code"])).to_be_visible()
    was_active, was_review = count(active), count(review)
    expect(active.get_by_role("heading")).to_have_text(f"Active {was_active}")
    shot("board")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    amy_card.drag_to(review)  # the HRBP may open the review: the lane takes the card
    expect(review.get_by_role("heading")).to_have_text(f"Review open {was_review + 1}")
    expect(active.get_by_role("heading")).to_have_text(f"Active {was_active - 1}")
    expect(card(review, "Amy Adams")).to_be_visible()
    expect(card(active, "Amy Adams")).to_have_count(0)
    assert page.evaluate("window.sameDocument === true"), "the move reloaded the board"
    assert org.api("GET", f"{PRB}/{amy['id']}")["state"] == "review_open"
    shot("dragged")
    page.reload()  # the server agrees
    expect(card(lane(page, "review_open"), "Amy Adams")).to_be_visible()


def test_a_move_of_a_stale_card_is_refused_with_the_reason(
    page: Page, live_server: LiveServer, org: Company, shot: Shot
) -> None:
    live_server.at(REVIEW_AT)
    bo, cy = org.case("Bo Bell"), org.case("Cy Chen")
    sign_in(page, org.hrbp, next_path=f"{CASES}?view=pipeline")
    active, review, withdrawn = (lane(page, s) for s in ("active", "review_open", "withdrawn"))
    bo_card = card(active, "Bo Bell")
    expect(bo_card).to_be_visible()
    was_review = count(review)
    page.evaluate("window.sameDocument = true")
    refused = "no action you may take moves this record from Withdrawn to Review open"

    org.act(org.admin, bo, "withdraw")  # meanwhile an HR admin withdraws Bo's case
    bo_card.get_by_label(f"Move {bo['code']} to").select_option(label="Review open")
    bo_card.get_by_role("button", name="Move").click()
    expect(page.get_by_role("alert")).to_contain_text(refused)
    expect(card(withdrawn, "Bo Bell")).to_be_visible()  # where it really is now
    expect(card(review, "Bo Bell")).to_have_count(0)
    expect(review.get_by_role("heading")).to_have_text(f"Review open {was_review}")
    assert org.api("GET", f"{PRB}/{bo['id']}")["state"] == "withdrawn"
    shot("refused")

    org.act(org.admin, cy, "withdraw")  # Cy's card, still in Active here, is stale too
    card(active, "Cy Chen").drag_to(review)
    expect(card(withdrawn, "Cy Chen")).to_be_visible()  # the dropped card goes back
    expect(card(review, "Cy Chen")).to_have_count(0)
    expect(page.get_by_role("alert")).to_contain_text(refused)
    expect(review.get_by_role("heading")).to_have_text(f"Review open {was_review}")
    assert page.evaluate("window.sameDocument === true"), "the refusals reloaded the board"
    shot("refused-drag")


def test_the_end_dates_calendar_month_by_month(
    page: Page, live_server: LiveServer, org: Company, shot: Shot
) -> None:
    live_server.at(REVIEW_AT)  # 1 June 2025: the calendar opens on June
    cases = [org.case(name) for name in HIRES]
    amy = cases[0]
    sign_in(page, org.hrbp, next_path=CASES)
    page.get_by_role("navigation", name="Views").get_by_role("link", name="End dates").click()
    month = page.locator(".bar.month").get_by_role("heading")
    expect(month).to_have_text("June 2025")
    expect(page.locator('td[data-date="2025-06-01"]')).to_have_class(re.compile(r"\btoday\b"))
    ninth = page.locator('td[data-date="2025-06-09"]')
    for case in cases:
        expect(ninth.get_by_role("link", name=case["code"])).to_be_visible()
    shot("june")

    page.get_by_role("link", name="Previous month").click()
    expect(month).to_have_text("May 2025")
    expect(page).to_have_url(re.compile(r"view=ending&month=2025-05$"))
    expect(page.locator("table.calendar").get_by_role("link")).to_have_count(0)
    page.get_by_role("link", name="Next month").click()
    page.get_by_role("link", name="Next month").click()
    expect(month).to_have_text("July 2025")
    expect(page.locator("table.calendar").get_by_role("link")).to_have_count(0)
    page.go_back()
    expect(month).to_have_text("June 2025")

    ninth.get_by_role("link", name=amy["code"]).click()
    expect(page).to_have_url(re.compile(rf"{CASES}/{amy['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(amy["code"])


def test_a_phone_calendar_lists_only_the_days_with_cases(
    phone: Page, live_server: LiveServer, org: Company, shot: Shot
) -> None:
    live_server.at(REVIEW_AT)
    amy = org.case("Amy Adams")
    sign_in(phone, org.hrbp, next_path=f"{CASES}?view=ending&month=2025-06")
    shown = phone.locator("table.calendar td").filter(visible=True)
    expect(shown).to_have_count(1)  # June's other days have no case: hidden
    ninth = phone.locator('td[data-date="2025-06-09"]')
    expect(ninth).to_be_visible()
    expect(phone.locator('td[data-date="2025-06-10"]')).to_be_hidden()
    shot("phone")
    ninth.get_by_role("link", name=amy["code"]).tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text(amy["code"])


def test_the_nine_box_matrix_drills_into_the_people_of_a_box(
    page: Page, live_server: LiveServer, shot: Shot
) -> None:
    # name: (proposed rating, the manager's answer to each potential question)
    team: dict[str, tuple[str, int]] = {
        "Ann Star": ("A", 3),
        "Ben Star": ("S", 3),
        "Cat Core": ("B", 2),
    }
    org = nine_box(live_server, "VNB", team)
    live_server.at(REVIEWED_AT)
    sign_in(page, org.hrbp, next_path="/apps/talent_review/talent_assessment")
    page.get_by_role("navigation", name="Views").get_by_role("link", name="9-box").click()
    expect(page).to_have_url(re.compile(r"\?view=nine_box$"))
    figure = page.locator("figure.matrix-view")
    expect(figure.locator("figcaption")).to_have_text("Potential × Performance")
    for axis in ("High potential", "Low potential", "Low performance", "High performance"):
        expect(figure.get_by_text(axis, exact=True)).to_be_visible()
    stars = figure.get_by_role("link", name="High potential × High performance: 2")
    expect(stars).to_be_visible()
    expect(
        figure.get_by_role("link", name="Medium potential × Medium performance: 1")
    ).to_be_visible()
    expect(figure.get_by_role("link")).to_have_count(2)  # empty boxes link nowhere
    expect(figure.locator("text.cell-value")).to_have_text(
        ["0", "0", "2", "0", "1", "0", "0", "0", "0"]
    )
    shot("matrix")

    stars.click()
    expect(page).to_have_url(re.compile(r"\?view=assessments&filter="))
    expect(
        page.get_by_role("navigation", name="Views").get_by_role("link", name="Assessments")
    ).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("2 records")).to_be_visible()
    rows = page.get_by_role("main").get_by_role("row")
    expect(rows.filter(has_text="Ann Star")).to_have_count(1)
    expect(rows.filter(has_text="Ben Star")).to_have_count(1)
    expect(rows.filter(has_text="Cat Core")).to_have_count(0)
    shot("drilled")
