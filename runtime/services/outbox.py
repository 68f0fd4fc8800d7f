"""Messages that leave Tenon — webhook calls and e-mail — queued as jobs in the
transaction of what caused them (no commit, no message; a commit, a message even if the
server dies right after) and delivered afterwards, retried with backoff."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from runtime.storage.jobs import JobStore

WEBHOOK, EMAIL = "webhook", "email"
ATTEMPTS = 6  # 30 s, 1, 2, 4, 8 min between them


def webhook(
    conn: Connection, jobs: JobStore | None, endpoint: str, event: Mapping[str, Any], now: datetime
) -> None:
    if jobs is not None:
        payload = {"endpoint": endpoint, "event": dict(event)}
        jobs.enqueue(conn, WEBHOOK, now=now, payload=payload, max_attempts=ATTEMPTS)


def notified(
    conn: Connection,
    jobs: JobStore | None,
    user_ids: Sequence[int],
    text: str,
    spec: Mapping[str, Any],
    now: datetime,
    cause: str,
) -> None:
    """What a ``notify`` sends besides the in-app notification: e-mail to the people
    (``"email": true``), a message to a chat webhook (``"webhook": "<endpoint>"``)."""
    if jobs is None:
        return
    if spec.get("email") and user_ids:
        payload = {"users": list(user_ids), "subject": text[:150], "text": text, "cause": cause}
        jobs.enqueue(conn, EMAIL, now=now, payload=payload, max_attempts=ATTEMPTS)
    if spec.get("webhook"):
        webhook(conn, jobs, str(spec["webhook"]), {"event": cause, "text": text}, now)
