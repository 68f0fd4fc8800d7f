"""The end-user web UI: server-rendered pages (Jinja2 + htmx), each with a JSON twin.

The pages read and write only through the record service, as the signed-in user, so
they show and refuse exactly what the JSON API does."""

from __future__ import annotations

from starlette.routing import BaseRoute

from runtime.web.pages import boards, bulk, forms, home, imports, inbox, misc, record, views

# order matters: fixed segments (new, pick, dashboards) before the record id and list
routes: list[BaseRoute] = [
    *home.routes,
    *inbox.routes,
    *misc.routes,
    *boards.routes,
    *imports.routes,
    *forms.routes,
    *bulk.routes,
    *record.routes,
    *views.routes,
]
