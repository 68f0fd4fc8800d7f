"""The views an app declares besides a plain grid, as each user sees them: a grid grouped
by a field, boards (by a select field and by workflow state) whose moves are ordinary
writes under the same rules, a month calendar, and a matrix whose cells count exactly the
rows the user may read and link to them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest

from runtime.metadata.package import read_package
from runtime.metadata.validate import definition_issues
from runtime.resources import catalog_dir
from tests.approvals_support import BASE, Org, org
from tests.auth_support import Caller, add_user, make_client
from tests.pages_support import PAGE, Browser, cells, ui_app


def views_app() -> dict[str, Any]:
    app = ui_app()
    expense = app["objects"][2]
    expense["fields"].append({"name": "spent_on", "type": "date"})
    app["views"] += [
        {"name": "by_kind", "object": "expense", "type": "grid", "columns": ["title", "amount"],
         "group_by": "kind", "sort": ["title"]},
        {"name": "flow", "object": "expense", "type": "board", "field": "state",
         "columns": ["employee", "amount"], "title": {"en": "Flow", "zh": "流程"}},
        {"name": "kinds", "object": "expense", "type": "board", "field": "kind"},
        {"name": "month", "object": "expense", "type": "calendar", "field": "spent_on"},
        {"name": "grid", "object": "expense", "type": "matrix", "rows": "kind", "cols": "state"},
    ]  # fmt: skip
    return app


@pytest.fixture
def o(db_url: str) -> Iterator[Org]:
    with org(db_url, app=views_app()) as found:
        yield found


@pytest.fixture
def b(o: Org) -> Browser:
    return Browser(o)


def lanes(b: Browser, user: str, view: str, **params: str) -> dict[str, Any]:
    twin = b.get(user, PAGE, params={"view": view, "format": "json", **params}).json()
    return {lane["value"]: [r["title"] for r in lane["data"]] for lane in twin["lanes"]}


def move(b: Browser, user: str, record: dict[str, Any], view: str, to: str, **form: Any) -> Any:
    data = {"to": to, "_version": str(record["version"]), **form}
    return b.post(user, f"{PAGE}/{record['id']}/move?view={view}", data)


def alert(html: str) -> str:
    found = re.search(r'class="error" role="alert">([^<]*)<', html)
    return unescape(found.group(1)) if found else ""


def test_a_grid_grouped_by_a_field_heads_each_group(o: Org, b: Browser) -> None:
    o.expense(title="Taxi", kind="small")
    o.expense(title="Hotel", kind="big")
    o.expense(title="Bus", kind="small")
    page = b.get("emp", PAGE + "?view=by_kind")
    groups = re.findall(r'<th scope="rowgroup"[^>]*>([^<]*)<', page.text)
    assert groups == ["Big", "Small"]  # sorted by the field, each group once
    body = page.text.split("<tbody>")[1]
    # every record sits under its own group's heading
    for title, kind in (("Taxi", "Small"), ("Hotel", "Big"), ("Bus", "Small")):
        before = body.split(f">{title}</a>")[0]
        assert before.rfind(f">{kind}</th>") > before.rfind(
            ">Big</th>" if kind == "Small" else ">Small</th>"
        )


def test_a_board_by_state_shows_each_users_rows_in_their_lanes(o: Org, b: Browser) -> None:
    taxi = o.expense(title="Taxi")
    hotel = o.expense(title="Hotel")
    assert o.act("emp", hotel, "submit").status_code == 200
    o.expense(owner="out", employee="hugo", title="Lunch")
    seen = lanes(b, "emp", "flow")
    assert list(seen) == ["draft", "pending", "approved", "rejected"]
    assert seen["draft"] == ["Taxi"] and seen["pending"] == ["Hotel"]
    assert lanes(b, "out", "flow")["draft"] == ["Lunch"]  # the row scope holds on boards
    page = b.get("emp", PAGE + "?view=flow")
    assert page.status_code == 200 and 'data-lane="pending"' in page.text
    # the owner may submit a draft: that card offers the pending lane
    card = page.text.split(f'data-card="{taxi["id"]}"')[1].split("</li>")[0]
    assert '<option value="pending">' in card and '<option value="approved">' not in card
    assert lanes(b, "emp", "flow", q="hot") == {
        "draft": [],
        "pending": ["Hotel"],
        "approved": [],
        "rejected": [],
    }


def test_moving_a_card_takes_the_workflow_action_under_its_rules(o: Org, b: Browser) -> None:
    taxi = o.expense(title="Taxi")
    moved = move(b, "emp", taxi, "flow", "pending")
    assert moved.status_code == 303 and moved.headers["location"].startswith(PAGE + "?view=flow")
    assert o.get(taxi)["state"] == "pending"
    assert "action:submit" in [h["operation"] for h in o.history(taxi)]
    # the approval decides approved/rejected: a drag does not skip it
    refused = move(b, "emp", o.get(taxi), "flow", "approved")
    assert refused.status_code == 409
    assert "no action you may take moves this record from Pending to Approved" in alert(
        refused.text
    )
    assert o.get(taxi)["state"] == "pending"
    # someone outside the record's write scope is refused the same way as by the API
    other = o.expense(title="Bus")
    assert move(b, "out", other, "flow", "pending").status_code == 404
    assert o.get(other)["state"] == "draft"


def test_moving_a_card_between_select_lanes_is_an_update(o: Org, b: Browser) -> None:
    taxi = o.expense(title="Taxi", kind="small")
    moved = move(b, "emp", taxi, "kinds", "big", HX_ignored="1")
    assert moved.status_code == 303 and o.get(taxi)["kind"] == "big"
    assert lanes(b, "emp", "kinds")["big"] == ["Taxi"]
    # a stale card (someone changed the record since) is refused and nothing changes
    stale = move(b, "emp", taxi, "kinds", "small")
    assert stale.status_code == 409 and o.get(taxi)["kind"] == "big"
    # from htmx, the answer is the board's own block with the move done
    fresh = o.get(taxi)
    part = move_htmx(b, fresh, "small")
    assert part.status_code == 200 and part.text.lstrip().startswith('<div id="rows">')
    assert o.get(taxi)["kind"] == "small"
    # a refusal from htmx is the board again (htmx swaps only 2xx), saying why
    stale_part = move_htmx(b, fresh, "big")
    assert stale_part.status_code == 200 and alert(stale_part.text)
    assert o.get(taxi)["kind"] == "small"
    # a lane the board does not have is a clear 400
    assert move(b, "emp", o.get(taxi), "kinds", "huge").status_code == 400


def move_htmx(b: Browser, record: dict[str, Any], to: str) -> Any:
    path = f"{PAGE}/{record['id']}/move?view=kinds"
    data = {"to": to, "_version": str(record["version"])}
    return b.post("emp", path, data, htmx=True, headers={"HX-Target": "rows"})


def test_the_calendar_puts_records_on_their_day(o: Org, b: Browser) -> None:
    o.expense(title="Taxi", spent_on="2025-03-10")
    o.expense(title="Hotel", spent_on="2025-03-31")
    o.expense(title="Flight", spent_on="2025-04-02")
    o.expense(title="Undated")
    march = b.get("emp", PAGE, params={"view": "month", "month": "2025-03", "format": "json"})
    days = march.json()["days"]
    titles = {r["id"]: r["title"] for r in march.json()["data"]}
    on = {day: [titles[int(h.rsplit("/", 1)[1])] for h in hrefs] for day, hrefs in days.items()}
    # March 2025 begins on a Saturday: its grid runs from Monday 24 February to 6 April
    assert on == {"2025-03-10": ["Taxi"], "2025-03-31": ["Hotel"], "2025-04-02": ["Flight"]}
    page = b.get("emp", PAGE, params={"view": "month", "month": "2025-03"})
    assert "March 2025" in page.text and 'data-date="2025-02-24"' in page.text
    assert 'href="?view=month&amp;month=2025-04"' in page.text
    zh = b.get(
        "emp",
        PAGE,
        params={"view": "month", "month": "2025-03"},
        headers={"cookie": "tenon_lang=zh"},
    )
    assert "2025年3月" in zh.text or "三月" in zh.text
    # a month the user cannot have meant falls back to the current one
    assert b.get("emp", PAGE, params={"view": "month", "month": "2025-13"}).status_code == 200


def test_the_matrix_counts_the_users_rows_and_links_to_them(o: Org, b: Browser) -> None:
    for title, kind in (("Taxi", "small"), ("Bus", "small"), ("Hotel", "big")):
        o.expense(title=title, kind=kind)
    submitted = o.expense(title="Train", kind="big")
    assert o.act("emp", submitted, "submit").status_code == 200
    o.expense(owner="out", employee="hugo", title="Lunch", kind="small")
    twin = b.get("emp", PAGE, params={"view": "grid", "format": "json"}).json()
    counts = {(c["row"], c["column"]): c["value"] for c in twin["data"]["cells"]}
    assert counts == {("small", "draft"): 2, ("big", "draft"): 1, ("big", "pending"): 1}
    assert [r["key"] for r in twin["data"]["rows"]] == ["small", "big"]
    page = b.get("emp", PAGE + "?view=grid")
    links = [unescape(h) for h in re.findall(r'href="(/apps/exp/expense\?[^"]+)"', page.text)]
    drill = next(link for link in links if "small" in link and "draft" in link)
    listed = b.get("emp", drill)
    assert sorted(cells(listed.text)) == ["Bus", "Taxi"]
    outsider = b.get("out", PAGE, params={"view": "grid", "format": "json"}).json()
    assert [c["value"] for c in outsider["data"]["cells"]] == [1]
    bad = b.get("emp", PAGE, params={"view": "grid", "filter": "amount >"})
    assert bad.status_code == 400 and "position" in bad.text


def test_a_board_by_a_field_without_lanes_is_refused_by_the_checker() -> None:
    app = views_app()
    assert definition_issues(app) == []
    app["views"].append({"name": "bad", "object": "expense", "type": "board", "field": "amount"})
    found = [(i.path, i.message) for i in definition_issues(app)]
    assert found == [
        (
            f"/views/{len(app['views']) - 1}/field",
            "a board's lanes are a select field's options or the workflow's states; "
            "'amount' is decimal",
        )
    ]


def test_every_view_the_catalog_declares_renders(db_url: str) -> None:
    names = ("core_hr", "talent_review", "year_end_bonus", "pip", "probation")
    with make_client(db_url, test_clock=True) as client:
        state = client.app.state  # type: ignore[attr-defined]
        for name in names:
            state.apps.install(read_package(catalog_dir() / name), actor="t")
        add_user(client, "admin", roles=["core_hr.hr_admin"], password=None)
        world = Caller(client)
        world.call("admin", "GET", "/api/v1/me")
        seen = []
        for name in names:
            for view in state.apps.get(name).raw.get("views") or []:
                path = f"/apps/{name}/{view['object']}?view={view['name']}"
                page = client.get(
                    path, headers={"Authorization": f"Bearer {world.tokens['admin']}"}
                )
                assert page.status_code == 200, (path, page.text[:500])
                assert 'role="alert"' not in page.text, path
                seen.append(view["type"])
        assert {"grid", "board", "calendar", "matrix"} <= set(seen)
        # the PIP form: tabs, and the objectives as rows to fill in
        form = client.get(
            "/apps/pip/pip_plan/new",
            headers={"Authorization": f"Bearer {world.tokens['admin']}"},
        )
        assert form.status_code == 200
        assert re.findall(r'role="tab" data-tab="([^"]*)"', form.text) == [
            "Plan",
            "Acknowledgement",
            "Decision",
        ]
        assert 'data-children="objectives"' in form.text
        for column in ("title", "success_criteria", "weight_pct"):
            assert f'name="c-objectives-__n__-{column}"' in form.text


def test_ticked_records_take_one_action_together_or_not_at_all(o: Org, b: Browser) -> None:
    taxi, hotel, bus = (o.expense(title=t) for t in ("Taxi", "Hotel", "Bus"))
    assert o.act("emp", bus, "submit").status_code == 200
    page = b.get("emp", PAGE)
    assert 'name="action"' in page.text and '<option value="submit">' in page.text
    assert f'name="id" value="{hotel["id"]}" form="bulk"' in page.text  # 2 a page
    # one record the action cannot leave from: nothing changes, the list says why
    ticked = {"action": "submit", "id": [str(taxi["id"]), str(bus["id"])], "comment": "trip"}
    refused = b.post("emp", PAGE + "/bulk", ticked)
    assert refused.status_code in (409, 422) and alert(refused.text)
    assert [o.get(r)["state"] for r in (taxi, hotel, bus)] == ["draft", "draft", "pending"]
    done = b.post(
        "emp", PAGE + "/bulk?view=all_expenses", {**ticked, "id": [taxi["id"], hotel["id"]]}
    )
    assert done.status_code == 303
    assert done.headers["location"] == PAGE + "?view=all_expenses&done=2"
    assert [o.get(r)["state"] for r in (taxi, hotel)] == ["pending", "pending"]
    assert "Done for 2 records." in b.get("emp", done.headers["location"]).text
    # nothing ticked, or an action the list does not offer, is a plain 400
    assert b.post("emp", PAGE + "/bulk", {"action": "submit"}).status_code == 400
    assert b.post("emp", PAGE + "/bulk", {"action": "approve", "id": "1"}).status_code == 400
    # someone who may not submit another's expense is refused, and nothing changes
    other = o.expense(title="Lunch")
    refused = b.post("mgr", PAGE + "/bulk", {"action": "submit", "id": [other["id"]]})
    assert refused.status_code in (403, 404) and o.get(other)["state"] == "draft"


def test_form_sections_on_tabs(db_url: str) -> None:
    app = views_app()
    sections = app["forms"][0]["sections"]
    sections[1]["tab"] = {"en": "Justification", "zh": "说明"}
    with org(db_url, app=app) as o:
        page = Browser(o).get("emp", PAGE + "/new").text
        strip = page.split('role="tablist"')[1].split("</div>")[0]
        assert re.findall(r'data-tab="([^"]*)">([^<]*)<', strip) == [
            ("", "General"),
            ("Justification", "Justification"),
        ]
        panels = re.findall(r'data-tab-panel="([^"]*)"', page)
        assert panels == ["", "Justification"]


def lines_app() -> dict[str, Any]:
    app = views_app()
    app["objects"].append(
        {
            "name": "line",
            "title": {"en": "Line", "zh": "明细"},
            "title_plural": {"en": "Lines", "zh": "明细"},
            "fields": [
                {"name": "what", "type": "text", "required": True},
                {"name": "cost", "type": "decimal", "required": True, "min": 0},
                {
                    "name": "expense",
                    "type": "reference",
                    "to": "expense",
                    "required": True,
                    "related_name": "lines",
                },
            ],
        }
    )
    app["permissions"].append(
        {
            "role": "staff",
            "object": "line",
            "actions": ["read", "create", "update", "delete"],
            "scope": "expense.owner = @me",
        }
    )
    app["forms"][0]["sections"].append({"name": "lines", "fields": [], "children": "lines"})
    return app


def test_child_rows_are_edited_inline_and_saved_with_the_parent(db_url: str) -> None:
    with org(db_url, app=lines_app()) as o:
        b = Browser(o)
        made = o.expense(title="Trip")
        path = f"{BASE}/line/records"
        first = o.call(
            "emp", "POST", path, json={"what": "Taxi", "cost": "12", "expense": made["id"]}
        )
        second = o.call(
            "emp", "POST", path, json={"what": "Bus", "cost": "3", "expense": made["id"]}
        )
        assert first.status_code == second.status_code == 201
        form = b.get("emp", f"{PAGE}/{made['id']}/edit").text
        assert "<legend>Lines</legend>" in form and 'value="Taxi"' in form
        assert 'name="c-lines-__n__-what"' in form  # the blank row "Add a row" copies
        taxi, bus = first.json(), second.json()
        base = {
            "title": "Trip",
            "employee": str(o.ids["emp"]),
            "amount": "100",
            "kind": "small",
            "_version": str(made["version"]),
            "c-lines-0-_id": str(taxi["id"]),
            "c-lines-0-_version": str(taxi["version"]),
            "c-lines-0-what": "Taxi",
            "c-lines-0-cost": "15",
            "c-lines-1-_id": str(bus["id"]),
            "c-lines-1-_version": str(bus["version"]),
            "c-lines-1-what": "Bus",
            "c-lines-1-cost": "3",
            "c-lines-1-_delete": "1",
        }
        # a bad new row: refused under its own cell, and nothing at all is written
        bad = {**base, "title": "Trip to Lyon", "c-lines-2-what": "Hotel", "c-lines-2-cost": "-5"}
        refused = b.post("emp", f"{PAGE}/{made['id']}/edit", bad)
        assert refused.status_code == 422
        assert re.search(r'id="err-c-lines-2-cost"[^>]*>[^<]*minimum 0', refused.text)
        assert 'value="Hotel"' in refused.text  # what was typed is kept
        assert o.get(made)["title"] == "Trip"
        lines = o.call("emp", "GET", path, params={"sort": "id"}).json()["data"]
        assert [(r["what"], r["cost"]) for r in lines] == [("Taxi", "12.0000"), ("Bus", "3.0000")]
        # as you type, the same problem comes back for that cell only
        typed = b.post("emp", f"{PAGE}/validate", {**bad, "_id": str(made["id"])}, htmx=True)
        assert re.search(
            r'id="err-c-lines-2-cost" hx-swap-oob="true" role="alert">[^<]*minimum', typed.text
        )
        # the good save: one changed, one removed, one added, with the parent
        good = {**bad, "c-lines-2-cost": "80", "c-lines-3-what": "", "c-lines-3-cost": ""}
        saved = b.post("emp", f"{PAGE}/{made['id']}/edit", good)
        assert saved.status_code == 303, saved.text
        assert o.get(made)["title"] == "Trip to Lyon"
        lines = o.call("emp", "GET", path, params={"sort": "id"}).json()["data"]
        now = [(r["what"], r["cost"]) for r in lines]
        assert now == [("Taxi", "15.0000"), ("Hotel", "80.0000")]
        # a row of another record cannot be slipped in
        other = o.expense(title="Other")
        sneaky = {**good, "_version": str(o.get(made)["version"]), "c-lines-0-_id": "999"}
        assert b.post("emp", f"{PAGE}/{other['id']}/edit", sneaky).status_code in (409, 422)
