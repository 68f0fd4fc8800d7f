"""A Tenon server for the browser tests: uvicorn in a background thread of the test process,
on its own SQLite file and a free port of 127.0.0.1, with the test clock, no job runner,
and the catalog apps installed. Under pytest-xdist each worker runs one of its own."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from runtime.config import Settings
from runtime.metadata.package import read_package
from runtime.resources import catalog_dir
from runtime.security.audit import Origin
from runtime.web.app import create_app
from tests.auth_support import PASSWORD

# in dependency order: the others build on core_hr
CATALOG_APPS = ("core_hr", "probation", "talent_review", "year_end_bonus", "pip")
START_SECONDS = 30


class LiveServer:
    """The running server: its base ``url``, the Starlette ``app`` (its services are in
    ``app.state``), and helpers to make users, call the API and move the test clock."""

    def __init__(self, url: str, app: Starlette) -> None:
        self.url = url
        self.app = app
        self._numbers = itertools.count(1)
        self._tokens: dict[str, str] = {}
        self._http = httpx.Client(base_url=url, timeout=30)
        self.clock_moved = False

    def add_user(
        self,
        *roles: str,
        password: str | None = PASSWORD,
        username: str | None = None,
        display_name: str | None = None,
    ) -> str:
        """A new active user with ``roles`` (e.g. ``"core_hr.hr_admin"``); their username.
        Without ``username`` one is made up, unique on this server (tests share it)."""
        name = username or f"user{next(self._numbers)}"
        self.app.state.users.create(name, password, display_name=display_name, roles=roles)
        return name

    def call(self, username: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An API request as ``username``, with a bearer token made once for them."""
        if username not in self._tokens:
            state = self.app.state
            found = state.users.get(username)
            secret, _ = state.tokens.create(
                found.id, username, name="browser tests", scope="read_write", origin=Origin()
            )
            self._tokens[username] = str(secret)
        headers = {"Authorization": f"Bearer {self._tokens[username]}"}
        return self._http.request(method, path, headers=headers, **kwargs)

    def at(self, when: datetime | None) -> None:
        """Freeze the test clock at ``when`` (None: real time again). The ``page`` and
        ``phone`` fixtures put it back to real time after the test."""
        self.app.state.clock.set(when)
        self._tokens.clear()  # tokens expire when months pass
        self.clock_moved = when is not None

    def close(self) -> None:
        self._http.close()


def _listening_socket() -> socket.socket:
    """A socket bound to a free port, handed to uvicorn as is: no other process can take
    the port between choosing it and listening on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _install_catalog(app: Starlette) -> None:
    for name in CATALOG_APPS:
        app.state.apps.install(read_package(catalog_dir() / name), actor="browser-tests")


@contextmanager
def live_server(folder: Path) -> Iterator[LiveServer]:
    """Serve a new app on ``folder/tenon.db`` until the block ends."""
    settings = Settings(
        database_url=f"sqlite:///{folder / 'tenon.db'}",
        test_clock=True,
        run_jobs=False,
        secure_cookies=False,  # plain http: the session cookie must not be Secure
        # every browser signs in from 127.0.0.1: the tests of one worker share this limit
        login_max_failures_per_ip=10_000,
    )
    app = create_app(settings)
    config = uvicorn.Config(
        app, lifespan="on", ws="none", http="h11", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    sock = _listening_socket()
    port = sock.getsockname()[1]
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="tenon-live-server", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        _install_catalog(app)
        live = LiveServer(f"http://127.0.0.1:{port}", app)
        try:
            yield live
        finally:
            live.close()
    finally:
        server.should_exit = True
        thread.join(timeout=START_SECONDS)
        sock.close()
