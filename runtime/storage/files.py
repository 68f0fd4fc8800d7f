"""Stored files (``tenon_files``): uploads and generated exports, kept in the database
so they are written and rolled back with the transaction that makes them.

A file's id is random (``secrets.token_urlsafe``, 192 bits) and is all a record's
``attachment`` field keeps of it, with the name, size and type shown to readers
(``FileInfo.as_value``). Who may download a file is decided by the record holding it
(``runtime.web.routes_files``), never by the id alone.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.storage.system import StoredFile

TABLE: sa.Table = StoredFile.__table__  # type: ignore[assignment]
MAX_NAME = 255
DEFAULT_TYPE = "application/octet-stream"
_INFO = (TABLE.c.id, TABLE.c.name, TABLE.c.content_type, TABLE.c.size)


@dataclass(frozen=True)
class FileInfo:
    id: str
    name: str
    content_type: str
    size: int

    def as_value(self) -> dict[str, Any]:
        """The file as an attachment field holds it (and as the upload answers)."""
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
        }


def clean_name(name: str, fallback: str = "file") -> str:
    """A file name safe to store and send back: no folders, no control characters, at
    most 255 characters (the extension kept)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not name:
        return fallback
    if len(name) > MAX_NAME:
        _, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        name = name[: MAX_NAME - len(keep) - 1] + "." + keep if keep else name[:MAX_NAME]
    return name


def clean_type(content_type: str | None) -> str:
    """The media type as sent (parameters such as the charset kept), or the default."""
    text = (content_type or "").strip()
    if not text or len(text) > 255 or not text.isascii() or "/" not in text:
        return DEFAULT_TYPE
    if any(ord(c) < 32 for c in text):
        return DEFAULT_TYPE
    return text


def put(
    conn: Connection,
    name: str,
    content_type: str | None,
    data: bytes,
    now: datetime,
    by: tuple[int | None, str],
    fallback: str = "file",
) -> FileInfo:
    """Store ``data`` in the caller's transaction and return what describes it; ``by``
    is who stores it (user id, or None for the system; name); ``fallback`` names a file
    whose own name is blank once cleaned."""
    file_id = secrets.token_urlsafe(24)
    info = FileInfo(file_id, clean_name(name, fallback), clean_type(content_type), len(data))
    conn.execute(
        sa.insert(TABLE).values(
            id=info.id,
            name=info.name,
            content_type=info.content_type,
            size=info.size,
            sha256=hashlib.sha256(data).hexdigest(),
            data=data,
            created_at=now,
            created_by_id=by[0],
            created_by=by[1],
        )
    )
    return info


def infos(conn: Connection, ids: Iterable[str]) -> dict[str, FileInfo]:
    """What describes each stored file of ``ids`` (ids of no file are left out)."""
    wanted = sorted({i for i in ids if isinstance(i, str) and 0 < len(i) <= 64})
    out: dict[str, FileInfo] = {}
    for start in range(0, len(wanted), 500):
        query = sa.select(*_INFO).where(TABLE.c.id.in_(wanted[start : start + 500]))
        for row in conn.execute(query):
            out[row.id] = FileInfo(row.id, row.name, row.content_type, int(row.size))
    return out


def content(conn: Connection, file_id: str) -> tuple[FileInfo, bytes] | None:
    """The file and its bytes (None: there is no such file)."""
    query = sa.select(*_INFO, TABLE.c.data).where(TABLE.c.id == file_id)
    row = conn.execute(query).first()
    if row is None:
        return None
    return FileInfo(row.id, row.name, row.content_type, int(row.size)), bytes(row.data)
