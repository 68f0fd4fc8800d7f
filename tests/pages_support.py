"""The expense app of the approval tests with a form, a view and a dashboard, for the
web UI's page tests (HTML pages called in-process, as each user)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.approvals_support import APP, Org, org

PAGE = "/apps/exp/expense"


def ui_app() -> dict[str, Any]:
    app = copy.deepcopy(APP)
    expense = app["objects"][2]
    expense["label_field"] = "title"
    expense["title"] = {"en": "Expense", "zh": "报销"}
    expense["title_plural"] = {"en": "Expenses", "zh": "报销单"}
    expense["fields"] += [
        {"name": "reason", "type": "long_text", "label": {"en": "Reason", "zh": "原因"}},
        {"name": "note", "type": "rich_text"},
    ]
    expense["fields"][0]["label"] = {"en": "Title", "zh": "标题"}
    owner = next(f for f in expense["fields"] if f["name"] == "owner")
    owner["default"] = {"formula": "@me"}  # whoever creates it from the form
    kind = next(f for f in expense["fields"] if f["name"] == "kind")
    kind["default"] = "small"
    app["title"] = {"en": "Expenses", "zh": "报销"}
    # staff read their own expenses and their reports' (a row scope the pages must keep)
    for rule in app["permissions"]:
        if rule["role"] == "staff" and rule["object"] == "expense" and "read" in rule["actions"]:
            rule["actions"] = ["create", "import"]
    app["permissions"].append(
        {
            "role": "staff",
            "object": "expense",
            "actions": ["read"],
            "scope": "OR(owner = @me, employee.manager.user = @me)",
        }
    )
    app["forms"] = [
        {
            "name": "expense_form",
            "object": "expense",
            "default": True,
            "sections": [
                {"name": "main", "columns": 2, "fields": ["title", "employee", "amount", "kind"]},
                {
                    "name": "why",
                    "title": {"en": "Justification", "zh": "说明"},
                    "fields": [
                        {
                            "field": "reason",
                            "visible_when": "amount > 1000",
                            "required_when": "amount > 1000",
                        },
                        "note",
                    ],
                },
            ],
        }
    ]
    app["views"] = [
        {
            "name": "all_expenses",
            "object": "expense",
            "type": "grid",
            "default": True,
            "columns": ["title", "employee", "amount", "state"],
            "sort": ["-id"],
            "search": ["title", "employee"],
            "page_size": 2,
        }
    ]
    app["dashboards"] = [
        {
            "name": "spend",
            "title": {"en": "Spend", "zh": "支出"},
            "widgets": [
                {
                    "name": "by_state",
                    "type": "bar",
                    "object": "expense",
                    "group_by": ["state"],
                    "measure": "COUNT()",
                }
            ],
        }
    ]
    return app


@contextmanager
def ui_org(db_url: str) -> Iterator[Org]:
    with org(db_url, app=ui_app()) as found:
        yield found


class Browser:
    """Pages as a user's browser asks for them (signed in with their token, so no CSRF
    token is needed; ``htmx=True`` adds htmx's request header)."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def get(self, user: str, path: str, htmx: bool = False, **kw: Any) -> Any:
        return self.send(user, "GET", path, htmx, **kw)

    def post(self, user: str, path: str, data: Any = None, htmx: bool = False, **kw: Any) -> Any:
        return self.send(user, "POST", path, htmx, data=data, follow_redirects=False, **kw)

    def send(self, user: str, method: str, path: str, htmx: bool, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if htmx:
            headers["HX-Request"] = "true"
        if user not in self.org.tokens:
            self.org.call(user, "GET", "/api/v1/me")
        headers["Authorization"] = f"Bearer {self.org.tokens[user]}"
        return self.org.client.request(method, path, headers=headers, **kw)


def texts(html: str, css_class: str) -> list[str]:
    """The text of every element with ``class="css_class"`` (no nesting)."""
    pattern = rf'class="{css_class}"[^>]*>([^<]*)<'
    return [m.strip() for m in re.findall(pattern, html)]


def cells(html: str) -> list[str]:
    """The first cell's link text of each row of the page's grid."""
    body = html.split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
    tick = r'(?:<td class="tick">.*?</td>)?'
    return re.findall(rf'<tr>{tick}<td data-label="[^"]*"><a href="[^"]+">([^<]*)</a>', body)
