"""The end-user pages, called in-process as each user: what they show, what they refuse,
and that they show and refuse exactly what the JSON API does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest

from tests.approvals_support import BASE, Org
from tests.pages_support import PAGE, Browser, cells, texts, ui_org


@pytest.fixture
def o(db_url: str) -> Iterator[Org]:
    with ui_org(db_url) as found:
        yield found


@pytest.fixture
def b(o: Org) -> Browser:
    return Browser(o)


def count(o: Org) -> int:
    found = o.call("emp", "GET", f"{BASE}/expense/records", params={"count": "true"})
    return int(found.json()["total"]) if found.status_code == 200 else -1


def error_of(html: str, field: str) -> str:
    found = re.search(rf'id="err-{field}"[^>]*>([^<]*)<', html)
    assert found, f"no error slot for {field}"
    return unescape(found.group(1)).strip()


def test_the_launcher_is_for_signed_in_users_and_lists_the_apps(o: Org, b: Browser) -> None:
    anonymous = o.client.get("/", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/"
    page = b.get("emp", "/")
    assert page.status_code == 200 and 'href="/apps/exp"' in page.text
    twin = b.get("emp", "/", headers={"accept": "application/json"}).json()
    assert [(a["name"], a["openable"]) for a in twin["apps"]] == [("exp", True)]
    # someone the app shares no object with sees only its dashboard open to everyone
    assert b.get("nobody", "/apps/exp?format=json").json()["objects"] == []
    nav = b.get("emp", "/apps/exp?format=json").json()
    assert {x["name"] for x in nav["objects"]} == {"department", "employee", "expense"}
    assert [d["name"] for d in nav["dashboards"]] == ["spend"]


def test_lists_show_each_user_exactly_what_the_api_gives_them(o: Org, b: Browser) -> None:
    for title in ("Taxi", "Hotel", "Train"):
        o.expense(title=title)
    o.expense(owner="out", employee="hugo", title="Lunch")
    first = b.get("emp", PAGE)
    assert first.status_code == 200
    assert cells(first.text) == ["Train", "Hotel"]  # the view: newest first, 2 a page
    assert "3 records" in first.text
    more = re.search(r'href="(\?[^"]*cursor=[^"]+)"', first.text)
    assert more is not None
    second = b.get("emp", PAGE + unescape(more.group(1)))
    assert cells(second.text) == ["Taxi"]
    # the JSON twin is the API's own answer for the same user and query
    twin = b.get("emp", PAGE, headers={"accept": "application/json"}).json()
    api = o.call("emp", "GET", f"{BASE}/expense/records", params={"sort": "-id", "limit": 2})
    assert [r["id"] for r in twin["data"]] == [r["id"] for r in api.json()["data"]]
    assert twin["columns"] == ["title", "employee", "amount", "state"]
    # row scopes: out sees their own expense only; mgr sees their report's three
    assert cells(b.get("out", PAGE).text) == ["Lunch"]
    assert "3 records" in b.get("mgr", PAGE).text
    # search (title, or the employee's name) and a user's filter narrow the same rows
    assert cells(b.get("emp", PAGE + "?q=hot").text) == ["Hotel"]
    assert cells(b.get("out", PAGE + "?q=hugo").text) == ["Lunch"]
    filtered = b.get("emp", PAGE, params={"filter": 'title = "Taxi"'})
    assert cells(filtered.text) == ["Taxi"]


def test_a_bad_filter_is_explained_on_the_page_not_a_500(o: Org, b: Browser) -> None:
    page = b.get("emp", PAGE, params={"filter": "amount >"})
    assert page.status_code == 400 and 'class="error" role="alert"' in page.text
    assert "position" in page.text


def test_an_htmx_search_gets_only_the_rows_block(o: Org, b: Browser) -> None:
    o.expense(title="Taxi")
    part = b.get("emp", PAGE + "?q=tax", htmx=True, headers={"HX-Target": "rows"})
    assert part.status_code == 200 and part.text.lstrip().startswith('<div id="rows">')
    assert "<html" not in part.text and cells(part.text) == ["Taxi"]
    assert "HX-Request" in part.headers["vary"]


def test_a_refused_form_shows_errors_inline_and_writes_nothing(o: Org, b: Browser) -> None:
    before = count(o)
    form = {"title": "", "employee": str(o.ids["emp"]), "amount": "12.5", "kind": "small"}
    refused = b.post("emp", PAGE + "/new", form)
    assert refused.status_code == 422
    assert "required" in error_of(refused.text, "title")
    assert 'aria-invalid="true"' in refused.text  # the script focuses the first one
    assert 'value="12.5"' in refused.text  # what the user typed is kept
    assert count(o) == before
    saved = b.post("emp", PAGE + "/new", {**form, "title": "Taxi", "owner": "emp"})
    assert saved.status_code == 303
    record_id = int(saved.headers["location"].split("/")[-1].split("?")[0])
    stored = o.call("emp", "GET", f"{BASE}/expense/records/{record_id}").json()
    assert (stored["title"], stored["amount"], stored["kind"]) == ("Taxi", "12.50", "small")
    assert count(o) == before + 1


def test_form_conditions_are_live_and_enforced_again_on_save(o: Org, b: Browser) -> None:
    blank = b.get("emp", PAGE + "/new")
    assert re.search(r'data-field="reason"[^>]*hidden', blank.text)
    base = {"title": "Flight", "employee": str(o.ids["emp"]), "kind": "small"}
    live = b.post("emp", PAGE + "/validate", {**base, "amount": "5000"}, htmx=True)
    state = re.search(r'<template id="form-state"[^>]*>', live.text)
    assert state is not None
    assert 'data-hidden=""' in state.group(0) and 'data-required="reason"' in state.group(0)
    missing = b.post("emp", PAGE + "/new", {**base, "amount": "5000"})
    assert missing.status_code == 422 and error_of(missing.text, "reason")
    # the API refuses the same (a field the create did not send is blank to the rule)
    api = o.call("emp", "POST", f"{BASE}/expense/records", json={**base, "amount": "5000"})
    assert api.status_code == 422
    assert [(d["path"], d["code"]) for d in api.json()["error"]["details"]] == [
        ("/reason", "REQUIRED")
    ]
    # a hidden field's value is not taken, whatever the browser sent
    small = b.post("emp", PAGE + "/new", {**base, "amount": "50", "reason": "sneaked in"})
    assert small.status_code == 303
    record_id = int(small.headers["location"].split("/")[-1].split("?")[0])
    assert o.call("emp", "GET", f"{BASE}/expense/records/{record_id}").json()["reason"] is None


def test_validation_as_you_type_speaks_of_touched_fields_and_keeps_nothing(
    o: Org, b: Browser
) -> None:
    before = count(o)
    form = {"title": "", "employee": str(o.ids["emp"]), "amount": "abc"}
    early = b.post("emp", PAGE + "/validate", {**form, "_touched": "amount"}, htmx=True)
    assert early.status_code == 200
    assert error_of(early.text, "title") == "" and error_of(early.text, "amount")
    later = b.post("emp", PAGE + "/validate", {**form, "_touched": ["amount", "title"]}, htmx=True)
    assert "required" in error_of(later.text, "title")
    ok = b.post("emp", PAGE + "/validate", {**form, "title": "Taxi", "amount": "3"}, htmx=True)
    assert error_of(ok.text, "title") == "" and error_of(ok.text, "amount") == ""
    assert count(o) == before


def test_a_stale_edit_gets_the_conflict_message_and_keeps_the_other_change(
    o: Org, b: Browser
) -> None:
    made = o.expense(title="Taxi")
    edit = b.get("emp", f"{PAGE}/{made['id']}/edit")
    version = re.search(r'name="_version" value="(\d+)"', edit.text)
    assert version is not None
    theirs = o.call(
        "emp",
        "PATCH",
        f"{BASE}/expense/records/{made['id']}",
        json={"title": "Taxi to airport", "version": made["version"]},
    )
    assert theirs.status_code == 200
    form = {"title": "Cab", "employee": str(o.ids["emp"]), "amount": "100", "kind": "small"}
    mine = b.post("emp", f"{PAGE}/{made['id']}/edit", {**form, "_version": version.group(1)})
    assert mine.status_code == 409 and "Someone else changed this record" in mine.text
    assert o.get(made)["title"] == "Taxi to airport"


def test_the_record_page_takes_workflow_actions_and_the_inbox_decides(o: Org, b: Browser) -> None:
    made = o.expense(title="Taxi")
    page = b.get("emp", f"{PAGE}/{made['id']}")
    assert page.status_code == 200
    assert b.get("emp", f"{PAGE}/{made['id']}?format=json").json()["actions"] == ["submit"]
    sent = b.post("emp", f"{PAGE}/{made['id']}/actions/submit", {"comment": "for the trip"})
    assert sent.status_code == 303 and o.get(made)["state"] == "pending"
    assert b.get("emp", f"{PAGE}/{made['id']}?format=json").json()["actions"] == []
    inbox = b.get("mgr", "/inbox")
    assert inbox.status_code == 200 and "Taxi" in inbox.text
    task = b.get("mgr", "/inbox?format=json").json()["data"][0]
    assert task["record_id"] == made["id"] and "approve" in task["actions"]
    done = b.post("mgr", f"{PAGE}/{made['id']}/actions/approve", {"comment": "ok"}, htmx=True)
    assert done.status_code == 200 and 'role="status"' in done.text
    assert o.get(made)["state"] == "approved"
    history = b.get("emp", f"{PAGE}/{made['id']}?format=json").json()["history"]
    assert [h["operation"] for h in history] == ["action:approve", "action:submit", "create"]
    # a decision that is no longer the user's is explained in the task's line
    again = b.post("mgr", f"{PAGE}/{made['id']}/actions/approve", {}, htmx=True)
    assert again.status_code == 200 and 'class="error" role="alert"' in again.text


def test_bulk_approval_from_the_inbox(o: Org, b: Browser) -> None:
    made = [o.expense(title=t) for t in ("Taxi", "Hotel")]
    for record in made:
        assert o.act("emp", record, "submit").status_code == 200
    ids = [t["id"] for t in b.get("mgr", "/inbox?format=json").json()["data"]]
    assert len(ids) == 2
    decided = b.post("mgr", "/inbox/bulk", {"action": "approve", "task": [str(i) for i in ids]})
    assert decided.status_code == 303 and decided.headers["location"] == "/inbox?decided=2"
    assert [o.get(r)["state"] for r in made] == ["approved", "approved"]
    nothing = b.post("mgr", "/inbox/bulk", {"action": "approve"})
    assert nothing.status_code == 400


def test_records_outside_the_scope_are_404_on_every_page(o: Org, b: Browser) -> None:
    made = o.expense(title="Taxi")
    for path in (f"{PAGE}/{made['id']}", f"{PAGE}/{made['id']}/edit"):
        assert b.get("out", path).status_code == 404, path
        assert b.get("out", path + "?format=json").json()["error"]["code"] == "NOT_FOUND"
    acted = b.post("out", f"{PAGE}/{made['id']}/actions/submit", {})
    assert acted.status_code == 404 and o.get(made)["state"] == "draft"
    checked = b.post("out", PAGE + "/validate", {"_id": str(made["id"]), "title": "x"}, htmx=True)
    assert "Taxi" not in checked.text
    assert b.get("nobody", PAGE).status_code == 403


def test_user_text_is_escaped_and_rich_text_loses_what_acts(o: Org, b: Browser) -> None:
    note = '<p hx-get="/logout" hx-trigger="load" onclick="x()">Hi <img src=x onerror=y()></p>'
    made = o.expense(title="<script>alert(1)</script>", note=note)
    page = b.get("emp", f"{PAGE}/{made['id']}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<p>Hi </p>" in page
    for bad in ("hx-get", "hx-trigger", "onclick", "onerror", "<img"):
        assert bad not in page.split("<main", 1)[1], bad
    listed = b.get("emp", PAGE).text
    assert "<script>alert(1)</script>" not in listed


def test_the_chinese_interface(o: Org, b: Browser) -> None:
    o.expense(title="Taxi")
    page = b.get("emp", PAGE, headers={"cookie": "tenon_lang=zh"})
    assert '<html lang="zh">' in page.text
    assert "<h1>报销单</h1>" in page.text and "新建" in page.text and "1 条记录" in page.text
    browser_says = b.get("emp", PAGE, headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert "<h1>报销单</h1>" in browser_says.text
    form = b.get("emp", PAGE + "/new", headers={"cookie": "tenon_lang=zh"}).text
    assert "标题" in form and "说明" in form and "保存" in form


def test_the_language_switch_remembers_the_choice(o: Org, b: Browser) -> None:
    switched = b.post("emp", "/language", {"lang": "zh", "next": PAGE})
    assert switched.status_code == 303 and switched.headers["location"] == PAGE
    assert "tenon_lang=zh" in switched.headers["set-cookie"]
    away = b.post("emp", "/language", {"lang": "zh", "next": "https://evil.example/"})
    assert away.headers["location"] == "/"


def test_the_dashboard_page_draws_each_widget_with_links_to_its_rows(o: Org, b: Browser) -> None:
    o.expense(title="Taxi")
    page = b.get("emp", "/apps/exp/dashboards/spend")
    assert page.status_code == 200 and "<svg" in page.text
    link = re.search(r'href="(/apps/exp/expense\?filter=[^"]+)"', page.text)
    assert link is not None
    followed = b.get("emp", unescape(link.group(1)))
    assert cells(followed.text) == ["Taxi"]
    assert b.get("emp", "/apps/exp/dashboards/spend?format=json").json()["name"] == "spend"


def test_pages_render_the_field_texts_users_expect(o: Org, b: Browser) -> None:
    made = o.expense(title="Taxi", amount="1234567.5", reason="A year of taxis")
    page = b.get("emp", f"{PAGE}/{made['id']}").text
    assert "1,234,567.5" in page and "Small" in page and "Emp" in page
    assert texts(page, "state") == ["Draft", "Draft"]


def test_every_interface_string_has_a_chinese_translation() -> None:
    from pathlib import Path

    from runtime.web import i18n

    web = Path(i18n.__file__).parent
    sources = [*web.glob("templates/*.html"), *web.glob("pages/*.py")]
    quoted = r"(?:\b_|gettext)\(\s*(?:\"([^\"]+)\"|'([^']+)')"
    found = set()
    for path in sources:
        for match in re.finditer(quoted, path.read_text("utf-8")):
            found.add(match.group(1) or match.group(2))
    assert len(found) > 40
    missing = sorted(m for m in found if m not in i18n.catalog("zh"))
    assert missing == []


def test_a_new_form_starts_from_the_defaults_and_shows_locked_values_as_text(
    o: Org, b: Browser
) -> None:
    blank = b.get("emp", PAGE + "/new?format=json").json()["fields"]
    assert {f["name"]: f["value"] for f in blank}["kind"] == "small"  # the declared default
    made = o.expense(title="Taxi", kind="big")
    assert o.act("emp", made, "submit").status_code == 200
    assert o.act("mgr", made, "approve").status_code == 200
    assert o.act("vp", made, "approve").status_code == 200  # kind "big": the skip level
    assert o.get(made)["state"] == "approved"
    # approved is terminal: every field is shown, as the record page shows it
    form = b.get("emp", f"{PAGE}/{made['id']}/edit").text
    assert re.search(r'<output id="f-kind">Big</output>', form)
    assert 'name="kind"' not in form
