"""Files in and out of records: storing an upload, and handing a file back only to whom
may read the record and the attachment field that holds it.

An upload is stored at once, attached to nothing: a record's ``attachment`` field takes
its id on a later write (``runtime.services.inputs`` looks the id up and keeps the name,
size and type the store knows). Uploads never attached stay in the store; pruning them
is left to an administrator's job (they are the files no record's field names).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from runtime.clock import Clock
from runtime.errors import NotFound, TenonError
from runtime.security.actor import Actor
from runtime.services.reading import Reader
from runtime.storage import files
from runtime.storage.files import FileInfo


def too_large(limit_mb: int) -> TenonError:
    return TenonError(
        f"the file is larger than {limit_mb} MB, the most Tenon stores",
        code="TOO_LARGE",
        status=413,
    )


def store(
    conn: Connection,
    actor: Actor,
    clock: Clock,
    name: str,
    content_type: str | None,
    data: bytes,
    limit_mb: int,
) -> FileInfo:
    """Store an upload of ``actor`` in the caller's transaction (413 past ``limit_mb``)."""
    if len(data) > limit_mb << 20:
        raise too_large(limit_mb)
    return files.put(conn, name, content_type, data, clock.now(), (actor.stored_id, actor.username))


def download(
    reader: Reader,
    conn: Connection,
    actor: Actor,
    qualified: str,
    record_id: int,
    field: str,
    file_id: str,
) -> tuple[FileInfo, bytes]:
    """The file ``file_id`` of the record's attachment ``field``, if ``actor`` reads the
    record and that field (their rules' row scope and the field's sensitivity, as every
    read) and the field holds the file. Anything else is 404, whatever the reason."""
    gone = NotFound("file not found")
    fdef = reader.object(qualified).by_name.get(field)
    if fdef is None or fdef.type != "attachment":
        raise gone
    try:
        record = reader.get_record(conn, actor, qualified, record_id, [field])
    except TenonError as error:
        if error.status in (403, 404):
            raise gone from None
        raise
    held = record.get(field)
    if not isinstance(held, list) or not any(
        isinstance(i, dict) and i.get("id") == file_id for i in held
    ):
        raise gone
    found = files.content(conn, file_id)
    if found is None:
        raise gone
    return found
