"""E-mail notifications through a real SMTP server on this machine (aiosmtpd): queued
with the notification, sent by the job runner to the recipients who have an address,
retried while the server is away, skipped without a configured server."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from runtime.metadata.package import read_package_bytes
from tests.auth_support import add_user, make_client
from tests.test_automations import WATCH, World
from tests.test_effects import CORE


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _app() -> dict[str, Any]:
    watch = copy.deepcopy(WATCH)
    watch["automations"][0]["actions"][1]["notify"]["email"] = True
    return watch


@contextmanager
def _world(db_url: str, **smtp: Any) -> Iterator[World]:
    with make_client(db_url, test_clock=True, run_jobs=False, **smtp) as app:
        state = app.app.state  # type: ignore[attr-defined]
        for definition in (CORE, _app()):
            name = f"{definition['name']}.json"
            state.apps.install(read_package_bytes(json.dumps(definition).encode(), name), actor="t")
        add_user(app, "hr", roles=["core.hr"], password=None)
        add_user(app, "root", roles=["system_admin"], password=None)
        state.users.create("clerk", None, roles=["watch.clerk"], email="clerk@example.com")
        state.users.create("clerk2", None, roles=["watch.clerk"])  # no address
        found = World(app, [])
        found.at("2025-06-10T08:00:00")
        yield found


def _leaving(w: World) -> None:
    eve = w.employee(name="Eve", status="active")
    done = w.patch("hr", f"core/objects/employee/records/{eve['id']}", status="leaving")
    assert done.status_code == 200, done.text


def test_a_notification_is_emailed_to_those_with_an_address(db_url: str) -> None:
    with (
        smtp_server() as (inbox, port),
        _world(
            db_url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            smtp_from="hr@acme.test",
        ) as w,
    ):
        _leaving(w)
        assert inbox.messages == []  # sent after the commit, by the job runner
        (job,) = [j for j in w.run_due() if j["kind"] == "email"]
        assert job["status"] == "done" and job["result"] == {"sent": ["clerk@example.com"]}
        (message,) = inbox.messages
        assert (message["To"], message["From"], message["Subject"]) == (
            "clerk@example.com",
            "hr@acme.test",
            "Eve is leaving",
        )
        assert "Eve is leaving" in message.get_payload()


def test_an_unreachable_server_is_retried(db_url: str) -> None:
    port = _free_port()  # nobody listens there yet
    with _world(db_url, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False) as w:
        _leaving(w)
        (job,) = [j for j in w.run_due() if j["kind"] == "email"]
        assert job["status"] == "queued" and job["attempts"] == 1
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            w.at("2025-06-10T08:00:31")
            assert [j["status"] for j in w.run_due() if j["kind"] == "email"] == ["done"]
            assert len(inbox.messages) == 1
        finally:
            controller.stop()


def test_without_a_server_nothing_is_sent(db_url: str) -> None:
    with _world(db_url) as w:
        _leaving(w)
        (job,) = [j for j in w.run_due() if j["kind"] == "email"]
        assert job["status"] == "done" and "no SMTP server" in job["result"]["skipped"]


def test_users_have_an_email_address(db_url: str) -> None:
    with _world(db_url) as w:
        body = {"email": "not an address"}
        bad = w.call("root", "PATCH", "/api/v1/users/hr", json=body)
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "/email"
        good = w.call("root", "PATCH", "/api/v1/users/hr", json={"email": "hr@acme.test"})
        assert good.status_code == 200 and good.json()["email"] == "hr@acme.test"


@pytest.fixture(autouse=True)
def _quiet_mail_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR", logger="mail.log")
