"""Creating and editing a record through its form.

    GET  /apps/{app}/{object}/new              the empty form (defaults shown on save)
    POST /apps/{app}/{object}/new              create; errors shown inline (422)
    GET  /apps/{app}/{object}/{id}/edit        the form with the record's values
    POST /apps/{app}/{object}/{id}/edit        update (carries the version read: a stale
                                               one is a 409 with the conflict message)
    POST /apps/{app}/{object}/validate         as you type: the same write, rolled back;
                                               answers each field's error and the
                                               form's conditions (htmx out-of-band swaps)

Every write goes through the record service as the signed-in user: rules, required
fields, form conditions and permissions are the server's, whatever the browser did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from runtime.errors import Conflict, Forbidden, TenonError, ValidationFailed
from runtime.metadata.model import AppDef, ObjectDef
from runtime.security.actor import Actor
from runtime.services.current import Current
from runtime.services.reading import Reader
from runtime.storage.engine import read_connection, write_transaction
from runtime.web import auth, i18n
from runtime.web.pages import children, formdata, shell
from runtime.web.pages.children import relation_of
from runtime.web.pages.fields import (
    Input,
    display,
    field_label,
    object_label,
    options,
    step_of,
    widget_of,
)
from runtime.web.pages.layout import Section, form_of
from runtime.web.pages.lists import reference_label
from runtime.web.pages.render import fragment, page

# what the form shows under its fields (a field the user may not change: Forbidden)
REFUSALS = (ValidationFailed, Conflict, Forbidden)
STALE = (
    "Someone else changed this record after you opened it. Reload it to see their "
    "changes, then make yours again."
)


class _RolledBack(Exception):
    """Ends a validation run's transaction without keeping its write."""


def _target(request: Request) -> tuple[Actor, Reader, AppDef, ObjectDef]:
    actor = auth.require_actor(request)
    read = shell.reader(request)
    app = shell.app_of(read, request.path_params["app"])
    return actor, read, app, shell.object_of(read, app, request.path_params["object"])


def field_errors(error: TenonError) -> dict[str, str]:
    """The first message per field of a refused write (``""``: the whole record)."""
    out: dict[str, str] = {}
    for issue in error.details:
        name = issue.path.rstrip("/").rsplit("/", 1)[-1] if issue.path else ""
        out.setdefault(name, issue.message)
    if not out:
        out[""] = error.message
    return out


def inputs(
    read: Reader,
    obj: ObjectDef,
    sections: list[Section],
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    state: formdata.States,
    locked: set[str],
    readable: set[str] | None,
) -> list[dict[str, Any]]:
    """The form's sections with an :class:`Input` per field the user may read."""
    out = []
    for section in sections:
        drawn = []
        for item in section.fields:
            fdef = obj.by_name.get(item.name)
            if fdef is None or (readable is not None and item.name not in readable):
                continue
            widget = widget_of(fdef)
            value = values.get(item.name)
            text = ""
            if fdef.type == "reference":
                text = reference_label(read, obj, item.name, value) if value is not None else ""
                value = value.get("id") if isinstance(value, dict) else value
            readonly = widget == "computed" or item.name in locked or item.name in state.readonly
            if readonly and not text:  # shown, not edited: as the record page shows it
                text = display(obj, item.name, value)
            drawn.append(
                Input(
                    name=item.name,
                    label=i18n.label(item.label, field_label(obj, item.name)),
                    widget=widget,
                    value=value,
                    text=text,
                    required=fdef.required or item.name in state.required,
                    readonly=readonly,
                    help=i18n.label(item.help or fdef.spec.get("help")),
                    error=errors.get(item.name, ""),
                    span=item.span,
                    visible=item.name not in state.hidden,
                    choices=options(fdef),
                    target=f"{obj.app}/{obj.name}",
                    step=step_of(fdef),
                )
            )
        if drawn or section.children:
            out.append(
                {
                    "title": i18n.label(section.title),
                    "tab": i18n.label(section.tab),
                    "columns": section.columns,
                    "inputs": drawn,
                    "children": section.children,
                }
            )
    return out


def _form_names(sections: list[Section]) -> list[str]:
    return [f.name for s in sections for f in s.fields]


def _context(
    request: Request,
    conn: Connection,
    read: Reader,
    actor: Actor,
    app: AppDef,
    obj: ObjectDef,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    record: Mapping[str, Any] | None,
    form: FormData | None = None,
) -> dict[str, Any]:
    sections = form_of(app, obj)
    base = dict(record or {})
    row = formdata.typed_row(obj, values, _stored(conn, read, obj, record))
    state = formdata.states(conn, read, actor, obj, sections, row)
    flow = obj.workflow
    locked = set(flow.locked(base.get("state"), obj.by_name)) if flow and record else set()
    readable = set(read.access(read.guard(conn, actor), obj.qualified, "read").fields)
    nav = shell.app_nav(conn, read, actor, app)
    record_id = record.get("id") if record else None
    drawn = inputs(read, obj, sections, {**base, **values}, errors, state, locked, readable)
    for s in drawn:
        rel = relation_of(read, obj, s["children"]) if s["children"] else None
        s["rows"] = (
            children.section(conn, read, actor, rel, record_id, form, errors) if rel else None
        )
    return {
        **shell.chrome(request, nav),
        "object": {"name": obj.name, "title": object_label(obj)},
        "record": record,
        "sections": drawn,
        "errors": errors,
        "form_error": errors.get(""),
        "action": f"/apps/{app.name}/{obj.name}/{record_id}/edit"
        if record_id
        else f"/apps/{app.name}/{obj.name}/new",
        "validate": f"/apps/{app.name}/{obj.name}/validate",
        "cancel": f"/apps/{app.name}/{obj.name}/{record_id}"
        if record_id
        else f"/apps/{app.name}/{obj.name}",
        "state": state,
    }


def _stored(
    conn: Connection, read: Reader, obj: ObjectDef, record: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The record's stored row (Python types) the form's conditions read, or nothing."""
    if not record:
        return {}
    table = read.table(obj.qualified)
    found = conn.execute(table.select().where(table.c.id == record["id"])).mappings().first()
    return dict(found) if found is not None else {}


def new_form(request: Request) -> Response:
    actor, read, app, obj = _target(request)
    with read_connection(request.app.state.engine) as conn:
        if not shell.allowed(conn, read, actor, obj.qualified, "create"):
            raise TenonError(
                i18n.gettext("You may not create these records."), code="FORBIDDEN", status=403
            )
        context = _context(request, conn, read, actor, app, obj, defaults(obj), {}, None)
    return page(request, "form.html", context, {"fields": _twin(context)})


def defaults(obj: ObjectDef) -> dict[str, Any]:
    """The plain default values a new form starts with (a formula or lookup default is
    worked out on save, from what was typed)."""
    return {
        f.name: f.spec["default"]
        for f in obj.fields
        if f.name in obj.settable
        and "default" in f.spec
        and not isinstance(f.spec["default"], dict)
    }


def _twin(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": i.name,
            "label": i.label,
            "widget": i.widget,
            "required": i.required,
            "readonly": i.readonly,
            "visible": i.visible,
            "value": i.value,
        }
        for s in context["sections"]
        for i in s["inputs"]
    ]


def _write(request: Request, form: FormData, record_id: int | None, keep: bool) -> Any:
    """Create or update from ``form`` in one transaction; rolled back unless ``keep``."""
    auth.resolve_here(request)
    actor, read, app, obj = _target(request)
    current: Current = request.app.state.current
    write = current.view().records
    sections = form_of(app, obj)
    with write_transaction(request.app.state.engine) as conn:
        values = formdata.posted(obj, _form_names(sections), form)
        if record_id is None:
            row = formdata.typed_row(obj, values, {})
            hidden = formdata.states(conn, read, actor, obj, sections, row).hidden
            data = {k: v for k, v in values.items() if k not in hidden}
            done = write.create(conn, actor, obj.qualified, data)
        else:
            current_record = read.get_record(conn, actor, obj.qualified, record_id)
            row = formdata.typed_row(obj, values, _stored(conn, read, obj, current_record))
            state = formdata.states(conn, read, actor, obj, sections, row)
            data = {
                k: v
                for k, v in values.items()
                if k not in state.hidden
                and k not in state.readonly
                and not formdata.same(current_record.get(k), v)
            }
            done = write.update(conn, actor, obj.qualified, record_id, data, form.get("_version"))
        for section in sections:
            rel = relation_of(read, obj, section.children) if section.children else None
            if rel is not None:
                children.save(conn, write, read, actor, rel, done.id, form)
        if not keep:
            raise _RolledBack
        return done


async def save(request: Request) -> Response:
    raw_id = request.path_params.get("id")
    record_id = int(raw_id) if raw_id is not None else None
    async with request.form() as form:
        try:
            done = await run_in_threadpool(_write, request, form, record_id, True)
        except REFUSALS as error:
            return await run_in_threadpool(_refused, request, form, record_id, error)
    app, name = request.path_params["app"], request.path_params["object"]
    return RedirectResponse(f"/apps/{app}/{name}/{done.id}?saved=1", status_code=303)


def _refused(
    request: Request, form: FormData, record_id: int | None, error: TenonError
) -> Response:
    """The form again with what the user typed and the server's errors."""
    actor, read, app, obj = _target(request)
    values = formdata.posted(obj, _form_names(form_of(app, obj)), form)
    errors = field_errors(error)
    if isinstance(error, Conflict):
        errors = {"": i18n.gettext(STALE)}
    with read_connection(request.app.state.engine) as conn:
        record = read.get_record(conn, actor, obj.qualified, record_id) if record_id else None
        if record is not None and isinstance(error, Conflict):
            record = {**record, "version": form.get("_version")}
        context = _context(request, conn, read, actor, app, obj, values, errors, record, form)
    return page(
        request, "form.html", context, {"error": error.body()["error"]}, status=error.status
    )


def edit_form(request: Request) -> Response:
    actor, read, app, obj = _target(request)
    record_id = int(request.path_params["id"])
    with read_connection(request.app.state.engine) as conn:
        record = read.get_record(conn, actor, obj.qualified, record_id, expand=_references(obj))
        context = _context(request, conn, read, actor, app, obj, {}, {}, record)
    return page(
        request, "form.html", context, {"fields": _twin(context), "version": record["version"]}
    )


def _references(obj: ObjectDef) -> list[str]:
    return [f.name for f in obj.fields if f.type == "reference"]


async def validate(request: Request) -> Response:
    """Errors and conditions for the form as typed so far (nothing is kept)."""
    async with request.form() as form:
        raw_id = str(form.get("_id") or "")
        record_id = int(raw_id) if raw_id.isdigit() and len(raw_id) < 19 else None
        errors: dict[str, str] = {}
        try:
            await run_in_threadpool(_write, request, form, record_id, False)
        except _RolledBack:
            pass
        except REFUSALS as error:
            errors = field_errors(error)
        return await run_in_threadpool(_checked, request, form, record_id, errors)


def _checked(
    request: Request, form: FormData, record_id: int | None, errors: dict[str, str]
) -> Response:
    actor, read, app, obj = _target(request)
    sections = form_of(app, obj)
    names = _form_names(sections)
    values = formdata.posted(obj, names, form)
    with read_connection(request.app.state.engine) as conn:
        record = read.get_record(conn, actor, obj.qualified, record_id) if record_id else None
        row = formdata.typed_row(obj, values, _stored(conn, read, obj, record))
        state = formdata.states(conn, read, actor, obj, sections, row)
    touched = {str(n) for n in form.getlist("_touched")}
    shown = {n: m for n, m in errors.items() if n == "" or n in touched or not touched}
    context = {"names": [*names, *children.error_names(form)], "errors": shown, "state": state}
    return fragment(request, "_validated.html", context)


routes = [
    Route("/apps/{app}/{object}/new", new_form, methods=["GET"]),
    Route("/apps/{app}/{object}/new", save, methods=["POST"]),
    Route("/apps/{app}/{object}/validate", validate, methods=["POST"]),
    Route("/apps/{app}/{object}/{id:int}/edit", edit_form, methods=["GET"]),
    Route("/apps/{app}/{object}/{id:int}/edit", save, methods=["POST"]),
]
