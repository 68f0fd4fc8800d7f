"""Reading app data over the JSON API, always as the signed-in caller.

    GET /api/v1/apps/{app}/objects/{object}/records            list: filter, sort, limit,
                                                                cursor, fields
    GET /api/v1/apps/{app}/objects/{object}/records/{id}       one record (fields)
    GET /api/v1/apps/{app}/objects/{object}/records/{id}/history
    GET /api/v1/apps/{app}/objects/{object}/records/{id}/preview?formula=
    GET /api/v1/apps/{app}/objects/{object}/aggregate          group_by=a,b;
                                                                measure=count|sum:field…
    GET /api/v1/apps/{app}/objects/{object}/export.csv         filter, sort, fields
    GET /api/v1/admin/explain?user=&app=&object=&id=&action=   (system administrators)

Every handler goes through ``runtime.services.reading``: the caller's rules decide the
rows (a record outside them is 404) and the fields (hidden ones are absent).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.errors import NotFound, TenonError
from runtime.services.analysis import Analysis
from runtime.services.current import Current
from runtime.services.export import ExportTable, export_csv, export_table
from runtime.services.permits import Permits
from runtime.services.reading import DEFAULT_LIMIT, MAX_LIMIT, Reader
from runtime.storage.engine import read_connection
from runtime.web import auth, body, openapi


def reader(request: Request) -> Reader:
    """The reader of the installed apps, rebuilt when another worker installed one."""
    current: Current = request.app.state.current
    return current.reader()


def qualified_object(request: Request, read: Reader) -> str:
    qualified = f"{request.path_params['app']}.{request.path_params['object']}"
    read.object(qualified)
    return qualified


def record_id_of(request: Request) -> int:
    raw = request.path_params["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound("record not found")
    return int(raw)


def field_list(request: Request, name: str = "fields") -> list[str] | None:
    raw = request.query_params.get(name)
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def list_records(request: Request) -> Response:
    actor = auth.require_actor(request)
    read = reader(request)
    qualified = qualified_object(request, read)
    params = request.query_params
    limit = body.query_int(request, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    with read_connection(request.app.state.engine) as conn:
        page = read.list_records(
            conn,
            actor,
            qualified,
            filter=params.get("filter") or None,
            sort=params.get("sort") or None,
            limit=limit,
            cursor=params.get("cursor") or None,
            fields=field_list(request),
            expand=field_list(request, "expand") or (),
            count=params.get("count", "").lower() in ("true", "1"),
        )
    return JSONResponse(page.as_dict())


def get_record(request: Request) -> Response:
    actor = auth.require_actor(request)
    read = reader(request)
    qualified = qualified_object(request, read)
    with read_connection(request.app.state.engine) as conn:
        record = read.get_record(
            conn,
            actor,
            qualified,
            record_id_of(request),
            field_list(request),
            field_list(request, "expand") or (),
        )
    return JSONResponse(record)


def history(request: Request) -> Response:
    actor = auth.require_actor(request)
    read = reader(request)
    qualified = qualified_object(request, read)
    with read_connection(request.app.state.engine) as conn:
        entries = Analysis(read).history(conn, actor, qualified, record_id_of(request))
    return JSONResponse({"data": entries})


def preview(request: Request) -> Response:
    actor = auth.require_actor(request)
    read = reader(request)
    qualified = qualified_object(request, read)
    formula = request.query_params.get("formula")
    if not formula:
        raise TenonError("give the formula to evaluate in ?formula=", code="BAD_REQUEST")
    with read_connection(request.app.state.engine) as conn:
        value = Analysis(read).preview(conn, actor, qualified, record_id_of(request), formula)
    return JSONResponse({"value": value})


def _measures(request: Request) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for raw in request.query_params.getlist("measure") or ["count"]:
        func, _, field = raw.partition(":")
        out.append((func.strip().lower(), field.strip() or None))
    return out


def aggregate(request: Request) -> Response:
    actor = auth.require_actor(request)
    read = reader(request)
    qualified = qualified_object(request, read)
    group_by = [g.strip() for g in request.query_params.get("group_by", "").split(",") if g.strip()]
    with read_connection(request.app.state.engine) as conn:
        rows = Analysis(read).aggregate(
            conn,
            actor,
            qualified,
            group_by=group_by,
            measures=_measures(request),
            filter=request.query_params.get("filter") or None,
        )
    return JSONResponse({"data": rows})


def exported(request: Request) -> tuple[str, ExportTable]:
    """The object and the rows the caller may export, for ``?filter=&sort=&fields=``."""
    actor = auth.require_actor(request)
    read = reader(request)
    qualified = qualified_object(request, read)
    params = request.query_params
    with read_connection(request.app.state.engine) as conn:
        table = export_table(
            read,
            conn,
            actor,
            qualified,
            filter=params.get("filter") or None,
            sort=params.get("sort") or None,
            fields=field_list(request),
        )
    return qualified, table


def export(request: Request) -> Response:
    qualified, table = exported(request)
    text = export_csv(table)
    name = qualified.replace(".", "-") + ".csv"
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def explain(request: Request) -> Response:
    """Why can user X (not) do this to record Y: every rule of the object, with what
    matched. For system administrators, who manage roles but do not read HR data: the
    answer names rules and fields, never values."""
    auth.require_system_admin(request)
    params = request.query_params
    missing = [k for k in ("user", "app", "object", "id") if not params.get(k)]
    if missing:
        raise TenonError(f"missing query parameters: {', '.join(missing)}", code="BAD_REQUEST")
    users = request.app.state.users
    user = users.get(params["user"])
    target = users.actor_for(user)
    read = reader(request)
    qualified = f"{params['app']}.{params['object']}"
    read.object(qualified)
    raw_id = params["id"]
    if not raw_id.isdigit():
        raise TenonError("id must be a record id", code="BAD_REQUEST")
    with read_connection(request.app.state.engine) as conn:
        report = Permits(read).explain(
            conn, target, qualified, int(raw_id), params.get("action") or "read"
        )
    return JSONResponse(report)


def openapi_json(request: Request) -> Response:
    """The OpenAPI 3.1 document of the installed apps (for signed-in callers: it names
    every object and field, though never a value)."""
    auth.require_actor(request)
    read = reader(request)
    return JSONResponse(openapi.document(read.apps, "1"))


BASE = "/api/v1/apps/{app}/objects/{object}"
routes = [
    Route(f"{BASE}/records", list_records, methods=["GET"]),
    Route(f"{BASE}/records/{{id}}", get_record, methods=["GET"]),
    Route(f"{BASE}/records/{{id}}/history", history, methods=["GET"]),
    Route(f"{BASE}/records/{{id}}/preview", preview, methods=["GET"]),
    Route(f"{BASE}/aggregate", aggregate, methods=["GET"]),
    Route(f"{BASE}/export.csv", export, methods=["GET"]),
    Route("/api/v1/admin/explain", explain, methods=["GET"]),
    Route("/api/v1/openapi.json", openapi_json, methods=["GET"]),
]
