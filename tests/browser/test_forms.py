"""An HR admin fills core_hr's job level form in Chromium: validation as you type shows
each field's error under it without reloading the page; a refused save keeps what was
typed and puts the cursor in the first invalid field; a good save lands on the record with
"Saved." and without the unsaved-changes question, which leaving an edited form does ask."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from tests.browser.live import LiveServer
from tests.browser.support import Shot, sign_in


def required(name: str) -> re.Pattern[str]:
    """The message that field ``name`` is required: it names the field by its name today
    ("target_bonus_months"), and would pass naming it by its label ("Target bonus")."""
    words = r"[\W_]+".join(name.split("_"))
    return re.compile(rf"^{words}\b.* is required$", re.IGNORECASE)


TOO_SMALL = re.compile(r"^rank\b.*\bminimum 1$", re.IGNORECASE)


@pytest.fixture
def dialogs(page: Page) -> Iterator[list[Dialog]]:
    """The dialogs the page opens (each dismissed: a leave-page question keeps the person
    on the page)."""
    seen: list[Dialog] = []

    def dismiss(dialog: Dialog) -> None:
        seen.append(dialog)
        dialog.dismiss()

    page.on("dialog", dismiss)
    yield seen


def under(error: Locator, control: Locator) -> bool:
    """Whether ``error`` is drawn below ``control`` and overlaps it sideways."""
    box, field = error.bounding_box(), control.bounding_box()
    assert box is not None and field is not None
    return box["y"] >= field["y"] + field["height"] and box["x"] < field["x"] + field["width"]


def test_a_new_job_level_is_checked_as_you_type_and_saved(
    page: Page, live_server: LiveServer, shot: Shot, dialogs: list[Dialog]
) -> None:
    admin = live_server.add_user("core_hr.hr_admin")
    code = f"F-{admin}"
    sign_in(page, admin)
    page.goto("/apps/core_hr/job_level")
    page.get_by_role("link", name="New").click()
    expect(page.get_by_role("heading", name="New · Job level")).to_be_visible()
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    code_box = page.get_by_label("Code")
    rank = page.get_by_label("Rank")
    code_box.fill(code)
    rank.fill("0")  # the rank's minimum is 1
    code_box.fill("")  # a required field typed in, then emptied again
    page.get_by_label("Title").focus()  # away: the browser's change event
    code_error = page.locator("#err-code")
    rank_error = page.locator("#err-rank")
    expect(code_error).to_have_text(required("code"))
    expect(rank_error).to_have_text(TOO_SMALL)
    expect(code_box).to_have_accessible_description(required("code"))
    expect(rank).to_have_attribute("aria-invalid", "true")
    assert under(rank_error, rank) and under(code_error, code_box)
    # a field nobody touched yet is not scolded
    expect(page.locator("#err-target_bonus_months")).to_have_text("")
    assert page.evaluate("window.sameDocument === true"), "validation reloaded the page"
    expect(page).to_have_url(re.compile(r"/apps/core_hr/job_level/new$"))
    shot("typing")

    # fixing a field clears its error as you go
    rank.fill("3")
    page.get_by_label("Title").focus()
    expect(rank_error).to_have_text("")
    expect(rank).not_to_have_attribute("aria-invalid", "true")

    page.get_by_role("button", name="Save").click()  # still no code, track or bonus
    expect(code_box).to_be_focused()  # the first invalid field
    expect(code_error).to_have_text(required("code"))
    expect(page.locator("#err-track")).to_have_text(required("track"))
    expect(page.locator("#err-target_bonus_months")).to_have_text(required("target_bonus_months"))
    expect(rank).to_have_value("3")  # what was typed is kept
    expect(page.get_by_role("heading", name="New · Job level")).to_be_visible()
    shot("refused")

    code_box.fill(code)
    page.get_by_label("Track").select_option(label="Management")
    page.get_by_label("Target bonus (months)").fill("1.5")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page).to_have_url(re.compile(r"/apps/core_hr/job_level/\d+\?saved=1$"))
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_have_text(code)
    expect(main).to_contain_text("Management")
    expect(main).to_contain_text("1.5")
    assert dialogs == [], "saving asked whether to leave the page"
    shot("saved")


def test_leaving_an_edited_form_asks_first_and_saving_does_not(
    page: Page, live_server: LiveServer, shot: Shot, dialogs: list[Dialog]
) -> None:
    admin = live_server.add_user("core_hr.hr_admin")
    made = live_server.call(
        admin,
        "POST",
        "/api/v1/apps/core_hr/objects/job_level/records",
        json={"code": f"G-{admin}", "track": "ic", "rank": 2, "target_bonus_months": "1"},
    )
    assert made.status_code == 201, made.text
    sign_in(page, admin, next_path=f"/apps/core_hr/job_level/{made.json()['id']}")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Title").fill("Senior engineer")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_label("Title")).to_have_value("Senior engineer")  # stayed on the form
    assert [d.type for d in dialogs] == ["beforeunload"]
    expect(page).to_have_url(re.compile(r"/edit$"))

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_role("main")).to_contain_text("Senior engineer")
    assert len(dialogs) == 1, "saving asked whether to leave the page"
    shot("saved")
