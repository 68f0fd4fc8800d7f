"""Outbound webhooks: named endpoints an administrator configures, and their delivery.

Apps name an endpoint (``{"webhook": {"endpoint": "chat", …}}``), never a URL or a secret:
a package moves between environments and each environment points its endpoints where it
wants (``PUT /api/v1/admin/webhooks/{name}``). The secret is write-only.

Delivery (job kind ``webhook``) POSTs the event as JSON with:

- ``X-Tenon-Delivery``: the job id — the same on every retry, so receivers can drop
  duplicates;
- ``X-Tenon-Timestamp``: seconds since the epoch;
- ``X-Tenon-Signature``: ``sha256=`` HMAC-SHA256 of ``"<timestamp>.<body>"`` with the
  endpoint's secret.

A 2xx answer ends the job. A network error, a timeout, 408, 429 or a 5xx is retried with
backoff (30 s, 1, 2, 4, 8 minutes); any other answer fails the job at once (the receiver
refused it; retrying would not help). The HTTP client is injected (tests use httpx's
MockTransport); requests time out after 10 seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.errors import Issue, NotFound, ValidationFailed
from runtime.services.jobs import JobContext, JobFailed, JobRetry
from runtime.storage.engine import read_connection, write_transaction
from runtime.storage.system import Setting

KIND = "webhook"
PREFIX = "webhook:"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TIMEOUT = 10.0
TABLE: sa.Table = Setting.__table__  # type: ignore[assignment]


def _invalid(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [Issue(path, message, "INVALID_VALUE")])


class Endpoints:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, name: str, url: Any, secret: Any) -> dict[str, Any]:
        if not NAME.match(name):
            raise _invalid("/name", "an endpoint name is 1 to 40 lowercase letters, digits, _")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise _invalid("/url", "url must be an http or https address")
        if not isinstance(secret, str) or not 16 <= len(secret) <= 200:
            raise _invalid("/secret", "secret must be a text of 16 to 200 characters")
        value = json.dumps({"url": url, "secret": secret})
        with write_transaction(self.engine) as conn:
            conn.execute(TABLE.delete().where(TABLE.c.name == PREFIX + name))
            conn.execute(TABLE.insert().values(name=PREFIX + name, value=value))
        return {"name": name, "url": url, "secret": "set"}

    def get(self, name: str) -> dict[str, str] | None:
        with read_connection(self.engine) as conn:
            raw = conn.execute(
                sa.select(TABLE.c.value).where(TABLE.c.name == PREFIX + name)
            ).scalar()
        return json.loads(raw) if raw else None

    def listed(self) -> list[dict[str, Any]]:
        """Every endpoint, without its secret."""
        with read_connection(self.engine) as conn:
            rows = conn.execute(
                sa.select(TABLE).where(TABLE.c.name.startswith(PREFIX)).order_by(TABLE.c.name)
            ).all()
        return [
            {"name": r.name[len(PREFIX) :], "url": json.loads(r.value)["url"], "secret": "set"}
            for r in rows
        ]

    def delete(self, name: str) -> None:
        with write_transaction(self.engine) as conn:
            gone = conn.execute(TABLE.delete().where(TABLE.c.name == PREFIX + name))
        if not gone.rowcount:
            raise NotFound(f"there is no webhook endpoint {name!r}")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def handler(
    endpoints: Endpoints, client: Callable[[], httpx.Client]
) -> Callable[[JobContext], dict[str, Any]]:
    def deliver(context: JobContext) -> dict[str, Any]:
        payload = context.job.payload
        name = str(payload["endpoint"])
        found = endpoints.get(name)
        if found is None:
            raise JobFailed(f"there is no webhook endpoint {name!r}: configure it and retry")
        body = json.dumps(payload["event"], sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Tenon",
            "X-Tenon-Delivery": str(context.job.id),
            "X-Tenon-Timestamp": stamp,
            "X-Tenon-Signature": signature(found["secret"], stamp, body),
        }
        try:
            answer = client().post(found["url"], content=body, headers=headers, timeout=TIMEOUT)
        except httpx.HTTPError as error:
            raise JobRetry(f"{name}: {type(error).__name__}") from None
        if answer.status_code in (408, 429) or answer.status_code >= 500:
            raise JobRetry(f"{name} answered {answer.status_code}")
        if not 200 <= answer.status_code < 300:
            raise JobFailed(f"{name} refused the call: {answer.status_code}")
        return {"endpoint": name, "status": answer.status_code}

    return deliver
