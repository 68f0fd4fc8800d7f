"""Stored files over the API, as the signed-in caller.

    POST /api/v1/files                                          multipart (field ``file``)
                                                                 or the raw body with
                                                                 ``?name=``: 201 and
                                                                 {id, name, size,
                                                                 content_type}
    GET  /api/v1/apps/{app}/objects/{object}/records/{id}/files/{field}/{file_id}
                                                                 the file, if the caller
                                                                 reads the record and
                                                                 the field; else 404

An upload is a mutating request: CSRF rules apply as to any other (a session sends its
token in ``X-CSRF-Token``). A download is always ``Content-Disposition: attachment``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.errors import Issue, TenonError
from runtime.services.attachments import download, store, too_large
from runtime.storage.engine import read_connection, write_transaction
from runtime.storage.files import DEFAULT_TYPE, clean_name
from runtime.web import auth, body
from runtime.web.routes_records import qualified_object, reader, record_id_of

FORM_OVERHEAD = 64 << 10  # the multipart boundaries and headers around the file
_UNSAFE = re.compile(r'["\\;\x00-\x1f\x7f]')


def disposition(name: str) -> str:
    """``attachment`` with the file's name: plain ASCII as ``filename``, and the exact
    name as ``filename*`` (RFC 5987) when it is not ASCII."""
    plain = _UNSAFE.sub("_", name.encode("ascii", "replace").decode().replace("?", "_"))
    if plain == name:
        return f'attachment; filename="{plain}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


async def _sent_file(request: Request, limit_mb: int) -> tuple[str, str | None, bytes]:
    """The name, media type and bytes of the upload (multipart or the raw body)."""
    content_type = request.headers.get("content-type", "")
    multipart = content_type.split(";")[0].strip().lower() == "multipart/form-data"
    limit = (limit_mb << 20) + (FORM_OVERHEAD if multipart else 0)
    raw = await body.read_bytes(request, limit, too_large=too_large(limit_mb).message)
    if not multipart:
        name = request.query_params.get("name", "").strip()
        if not name:
            raise TenonError(
                "give the file's name in ?name= (or send a multipart form with the field 'file')",
                [Issue("/name", "the file's name is required", "REQUIRED")],
                code="FILE_REQUIRED",
            )
        return name, content_type or None, raw
    async with body.replayed(request, raw).form(
        max_files=1, max_fields=5, max_part_size=64 << 10
    ) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise TenonError(
                "send the file as the field 'file' of a multipart/form-data body",
                [Issue("/file", "a file is required", "REQUIRED")],
                code="FILE_REQUIRED",
            )
        data = await upload.read()
        return upload.filename or "", upload.content_type, data


async def upload(request: Request) -> Response:
    actor = auth.require_actor(request)  # before the body is read: strangers send nothing
    state = request.app.state
    limit_mb = state.settings.max_upload_mb
    name, content_type, data = await _sent_file(request, limit_mb)

    def work() -> dict[str, object]:
        with write_transaction(state.engine) as conn:
            info = store(conn, actor, state.clock, name, content_type, data, limit_mb)
        return info.as_value()

    return JSONResponse(await run_in_threadpool(work), status_code=201)


def fetch(request: Request) -> Response:
    actor = auth.require_actor(request)
    read = reader(request)
    qualified = qualified_object(request, read)
    params = request.path_params
    with read_connection(request.app.state.engine) as conn:
        info, data = download(
            read, conn, actor, qualified, record_id_of(request), params["field"], params["file"]
        )
    return Response(
        data,
        media_type=info.content_type or DEFAULT_TYPE,
        headers={
            "content-disposition": disposition(clean_name(info.name)),
            "x-content-type-options": "nosniff",
        },
    )


routes = [
    Route("/api/v1/files", upload, methods=["POST"]),
    Route(
        "/api/v1/apps/{app}/objects/{object}/records/{id}/files/{field}/{file}",
        fetch,
        methods=["GET"],
    ),
]
