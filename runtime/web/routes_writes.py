"""Writing app data over the JSON API, always as the signed-in caller.

    POST   /api/v1/apps/{app}/objects/{object}/records         create one (201)
    POST   /api/v1/apps/{app}/objects/{object}/records/bulk    {"records": [...]} ≤ 1,000
    PATCH  /api/v1/apps/{app}/objects/{object}/records/bulk    {"records": [{id, version, …}]}
    PATCH  /api/v1/apps/{app}/objects/{object}/records/{id}    fields + "version"
    DELETE /api/v1/apps/{app}/objects/{object}/records/{id}    ?version= (optional)
    POST   /api/v1/apps/{app}/objects/{object}/records/{id}/actions/{action}
                                                                a workflow action: comment,
                                                                version, declared inputs
    POST   /api/v1/apps/{app}/objects/{object}/records/bulk/actions/{action}
                                                                {"ids": [...], "comment"}:
                                                                the action on each, ≤ 1,000
    POST   /api/v1/apps/{app}/objects/{object}/records/{id}/scheduled-changes
                                                                effective_at, changes (201)
    GET    /api/v1/apps/{app}/objects/{object}/records/{id}/scheduled-changes

Each request is one write transaction through ``runtime.services.records``; the answer
is the record as the caller reads it afterwards (hidden fields absent). The database
work runs in the thread pool, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.errors import NotFound, TenonError
from runtime.security.actor import Actor
from runtime.services.batches import MAX_BULK, write_rows
from runtime.services.current import Current
from runtime.services.reading import Reader
from runtime.services.records import Records, Written
from runtime.services.scheduled import Scheduled
from runtime.services.transitions import Transitions
from runtime.services.write_checks import record_id
from runtime.storage.engine import read_connection, write_transaction
from runtime.web import auth, body
from runtime.web.routes_records import qualified_object, record_id_of

BULK_BYTES = 8 << 20


def records(request: Request) -> tuple[Reader, Records]:
    """The reader and writer of the installed apps (kept for the request as ``view``)."""
    current: Current = request.app.state.current
    request.state.view = view = current.view()
    return view.reader, view.records


def _answer(conn: Any, read: Reader, actor: Actor, qualified: str, done: Written) -> dict[str, Any]:
    try:
        return read.get_record(conn, actor, qualified, done.id)
    except NotFound:  # written, but outside what the caller may read
        return {"id": done.id, "version": done.version}


Work = Callable[[Any, Records, Reader, Actor, str, Any], Any]


def _run(
    request: Request, work: Work, raw: bytes | None = None, allowed: Collection[str] | None = None
) -> Any:
    """In one trip to the thread pool: who is asking, the body parsed (after that, so a
    stranger's body is never parsed), then ``work`` in one write transaction."""
    auth.resolve_here(request)
    actor = auth.require_actor(request)
    data = body.parse_object(raw, allowed) if raw is not None else None
    read, write = records(request)
    qualified = qualified_object(request, read)
    with write_transaction(request.app.state.engine) as conn:
        return work(conn, write, read, actor, qualified, data)


@auth.resolves_itself
async def create(request: Request) -> Response:
    raw = await body.read_bytes(request)

    def work(
        conn: Any, write: Records, read: Reader, actor: Actor, qualified: str, data: Any
    ) -> Any:
        done = write.create(conn, actor, qualified, data)
        return _answer(conn, read, actor, qualified, done)

    return JSONResponse(await run_in_threadpool(_run, request, work, raw), status_code=201)


@auth.resolves_itself
async def update(request: Request) -> Response:
    raw = await body.read_bytes(request)

    def work(
        conn: Any, write: Records, read: Reader, actor: Actor, qualified: str, data: Any
    ) -> Any:
        record_id = record_id_of(request)
        done = write.update(conn, actor, qualified, record_id, data, data.get("version"))
        return _answer(conn, read, actor, qualified, done)

    return JSONResponse(await run_in_threadpool(_run, request, work, raw))


@auth.resolves_itself
async def delete(request: Request) -> Response:
    version = request.query_params.get("version")

    def work(conn: Any, write: Records, read: Reader, actor: Actor, qualified: str, _: Any) -> None:
        write.delete(conn, actor, qualified, record_id_of(request), version)

    await run_in_threadpool(_run, request, work)
    return Response(status_code=204)


@auth.resolves_itself
async def act(request: Request) -> Response:
    """``POST …/records/{id}/actions/{action}`` ``{"comment": …, "version": …, inputs…}``:
    one workflow transition and its effects; the answer is the record afterwards."""
    raw = await body.read_bytes(request)
    action = request.path_params["action"]

    def work(
        conn: Any, write: Records, read: Reader, actor: Actor, qualified: str, data: Any
    ) -> Any:
        record_id = record_id_of(request)
        flows: Transitions = request.state.view.transitions  # read with ``write``
        done = flows.act(conn, actor, qualified, record_id, action, data)
        return _answer(conn, read, actor, qualified, done)

    return JSONResponse(await run_in_threadpool(_run, request, work, raw or b"{}"))


@auth.resolves_itself
async def bulk_act(request: Request) -> Response:
    """``POST …/records/bulk/actions/{action}`` ``{"ids": [...], "comment": …}``: the
    action on every record, all or nothing (see ``Transitions.act_many``)."""
    raw = await body.read_bytes(request)
    action = request.path_params["action"]

    def work(
        conn: Any, write: Records, read: Reader, actor: Actor, qualified: str, data: Any
    ) -> Any:
        flows: Transitions = request.state.view.transitions
        rest = {k: v for k, v in data.items() if k != "ids"}
        done = flows.act_many(conn, actor, qualified, _ids(data.get("ids")), action, rest)
        return {"data": [{"id": d.id, "version": d.version} for d in done]}

    return JSONResponse(await run_in_threadpool(_run, request, work, raw, {"ids", "comment"}))


MAX_ID = 2**63 - 1  # the largest id a BIGINT holds


def _ids(raw: Any) -> list[int]:
    if not isinstance(raw, list) or not raw:
        raise body.invalid("ids", "ids must be a non-empty list of record ids")
    if len(raw) > MAX_BULK:
        raise body.invalid("ids", f"send at most {MAX_BULK} ids per request ({len(raw)} sent)")
    for i, value in enumerate(raw):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
            raise body.invalid(f"ids/{i}", f"ids[{i}] must be a record id (a positive integer)")
    return list(raw)


@auth.resolves_itself
async def schedule_change(request: Request) -> Response:
    """``POST …/records/{id}/scheduled-changes`` ``{"effective_at": …, "changes": {…}}``:
    201 with the pending change (a job: cancel it through the jobs API)."""
    raw = await body.read_bytes(request)

    def work(
        conn: Any, write: Records, read: Reader, actor: Actor, qualified: str, data: Any
    ) -> Any:
        record_id = record_id_of(request)
        scheduled: Scheduled = request.state.view.scheduled
        changes, when = data.get("changes"), data.get("effective_at")
        return scheduled.schedule(conn, actor, qualified, record_id, changes, when)

    job_id = await run_in_threadpool(_run, request, work, raw, {"changes", "effective_at"})
    job = await run_in_threadpool(request.app.state.jobs.get, job_id)
    return JSONResponse(
        _change(job), status_code=201, headers={"location": f"/api/v1/jobs/{job_id}"}
    )


def scheduled_changes(request: Request) -> Response:
    """``GET …/records/{id}/scheduled-changes``: the pending changes of a record the
    caller reads; the values only of the changes they made (an admin's raise for
    someone else's record is not shown to them)."""
    actor = auth.require_actor(request)
    read, _ = records(request)
    qualified = qualified_object(request, read)
    record_id = record_id_of(request)
    with read_connection(request.app.state.engine) as conn:
        read.get_record(conn, actor, qualified, record_id, fields=["id"])  # 404 if unread
    scheduled: Scheduled = request.state.view.scheduled
    found = scheduled.pending(qualified, record_id)
    shown = [_change(j, values=j.created_by_id == actor.user_id) for j in found]
    return JSONResponse({"data": shown})


def _change(job: Any, values: bool = True) -> dict[str, Any]:
    changes = job.payload["changes"]
    return {
        "id": job.id,
        "status": job.status,
        "effective_at": job.run_at.isoformat(),
        "created_by": job.created_by,
        "created_at": job.created_at.isoformat(),
        "fields": sorted(changes),
        **({"changes": changes} if values else {}),
    }


def _rows(data: Mapping[str, Any]) -> list[Any]:
    rows = data.get("records")
    if not isinstance(rows, list):
        raise TenonError(
            'send {"records": [...]}: a list of records', code="INVALID_BODY", status=422
        )
    if len(rows) > MAX_BULK:
        raise TenonError(
            f"send at most {MAX_BULK} records per request ({len(rows)} sent)",
            code="TOO_MANY_RECORDS",
        )
    return rows


@auth.resolves_itself
async def bulk_create(request: Request) -> Response:
    raw = await body.read_bytes(request, max_bytes=BULK_BYTES)

    def work(
        conn: Any, write: Records, read: Reader, actor: Actor, qualified: str, data: Any
    ) -> Any:
        done = write.create_many(conn, actor, qualified, _rows(data))
        return {"data": [{"id": d.id, "version": d.version} for d in done]}

    answer = await run_in_threadpool(_run, request, work, raw, {"records"})
    return JSONResponse(answer, status_code=201)


@auth.resolves_itself
async def bulk_update(request: Request) -> Response:
    raw = await body.read_bytes(request, max_bytes=BULK_BYTES)

    def one(
        conn: Any, write: Records, actor: Actor, qualified: str, row: Mapping[str, Any]
    ) -> Written:
        fields = {k: v for k, v in row.items() if k != "id"}
        return write.update(
            conn, actor, qualified, record_id(row.get("id")), fields, row.get("version")
        )

    def work(
        conn: Any, write: Records, read: Reader, actor: Actor, qualified: str, data: Any
    ) -> Any:
        rows = _rows(data)
        done = write_rows(conn, rows, lambda c, row: one(c, write, actor, qualified, row))
        return {"data": [{"id": d.id, "version": d.version} for d in done]}

    return JSONResponse(await run_in_threadpool(_run, request, work, raw, {"records"}))


BASE = "/api/v1/apps/{app}/objects/{object}"
routes = [
    Route(f"{BASE}/records", create, methods=["POST"]),
    Route(f"{BASE}/records/bulk", bulk_create, methods=["POST"]),
    Route(f"{BASE}/records/bulk", bulk_update, methods=["PATCH"]),
    Route(f"{BASE}/records/bulk/actions/{{action}}", bulk_act, methods=["POST"]),
    Route(f"{BASE}/records/{{id}}", update, methods=["PATCH"]),
    Route(f"{BASE}/records/{{id}}", delete, methods=["DELETE"]),
    Route(f"{BASE}/records/{{id}}/actions/{{action}}", act, methods=["POST"]),
    Route(f"{BASE}/records/{{id}}/scheduled-changes", schedule_change, methods=["POST"]),
    Route(f"{BASE}/records/{{id}}/scheduled-changes", scheduled_changes, methods=["GET"]),
]
