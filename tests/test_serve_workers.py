"""``tenon serve --workers 2``, really started: requests spread over two processes that
share nothing but the database still see one another's writes and installs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.apps import PEOPLE_V1
from tests.serving import serving


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "TENON_DATABASE_URL": db_url}
    env.pop("TENON_TEST_CLOCK", None)
    # an admin to install apps and write records, created before the workers start
    create = [sys.executable, "-m", "runtime.cli", "user", "create", "root", "--password-stdin"]
    subprocess.run(
        [*create, "--role", "system_admin"],
        input="correct horse battery staple\n",
        text=True,
        env=env,
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    with serving(db_url, tmp_path, workers=2) as (base, _):
        yield base


def test_two_workers_share_installs_and_writes(server: str) -> None:
    token = httpx.post(
        f"{server}/api/v1/auth/token",
        json={"username": "root", "password": "correct horse battery staple"},
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    # the workers start before the app exists: each must notice the install
    for _ in range(6):
        before = httpx.get(
            f"{server}/api/v1/apps/people/objects/department/records", headers=headers
        )
        assert before.status_code == 404
    package = json.dumps(PEOPLE_V1).encode()
    installed = httpx.post(
        f"{server}/api/v1/apps",
        content=package,
        headers={**headers, "content-type": "application/json"},
        timeout=60,
    )
    assert installed.status_code in (200, 201), installed.text
    # every later request, whichever worker answers, knows the new object
    for _ in range(20):
        answer = httpx.get(
            f"{server}/api/v1/apps/people/objects/department/records", headers=headers
        )
        assert answer.status_code in (200, 403), answer.text  # not "no such object"
    assert len(_children(server)) == 2  # two worker processes served them


def _children(server: str) -> list[int]:
    """The worker processes of the server listening on ``server``'s port."""
    port = int(server.rsplit(":", 1)[1])
    parents = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _cmdline(p).endswith(f"--port {port} --workers 2")
    ]
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _ppid(p) in parents and "spawn_main" in _cmdline(p)
    ]


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _ppid(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1
