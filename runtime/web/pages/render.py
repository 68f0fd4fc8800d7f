"""How a page answers: the same context object as HTML, as a JSON twin, or as one named
block of its template for htmx.

* ``Accept: application/json`` (or ``?format=json``) gets the page's data as JSON: the
  ``twin`` a page builds from its context, never the rendered HTML.
* An htmx request naming a block (``HX-Target`` equal to a block name of the template)
  gets only that block, rendered with the same context (django-htmx-patterns' inline
  partials, done with Jinja's own block functions).
* Every answer varies on ``Accept`` and ``HX-Request``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.templating import Jinja2Templates

from runtime.web.errors import wants_json

VARY = "Accept, HX-Request"


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def templates(request: Request) -> Jinja2Templates:
    found: Jinja2Templates = request.app.state.templates
    return found


def render_block(request: Request, name: str, block: str, context: Mapping[str, Any]) -> str:
    """One block of template ``name`` rendered alone (its macros and imports included)."""
    template = templates(request).get_template(name)
    full = {"request": request, **context}
    ctx = template.new_context(full)
    return "".join(template.blocks[block](ctx))


def page(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    twin: Any = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The page ``name`` (a template) for ``context``; its JSON twin is ``twin`` (default:
    the context's ``data``)."""
    extra = {"Vary": VARY, **(headers or {})}
    if wants_json(request):
        body = twin if twin is not None else context.get("data")
        return JSONResponse(body, status_code=status, headers=extra)
    target = request.headers.get("hx-target") if is_htmx(request) else None
    if target:
        template = templates(request).get_template(name)
        if target in template.blocks:
            html = render_block(request, name, target, context)
            return HTMLResponse(html, status_code=status, headers=extra)
    return templates(request).TemplateResponse(
        request, name, dict(context), status_code=status, headers=extra
    )


def fragment(
    request: Request, name: str, context: Mapping[str, Any], *, status: int = 200
) -> Response:
    """A partial template (``_name.html``) alone, for an htmx swap."""
    html = templates(request).get_template(name).render({"request": request, **context})
    return HTMLResponse(html, status_code=status, headers={"Vary": VARY})
