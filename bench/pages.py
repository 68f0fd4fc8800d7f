"""The HTML pages against the JSON API for the same data, in the same run.

    python bench/run.py pages [--rows 2000]

One Tenon app (in-process, Starlette's test client, a SQLite file) holds an object of
8 fields plus a reference, with N rows (default 2,000) made through the bulk API. A
signed-in user (bearer token) asks, in alternating turns so a noisy moment weighs on
both alike:

* the list page ``/apps/pagesbench/item`` (the default grid: 50 rows, the count, the
  referenced records' names) and the JSON list it shows (``…/records`` with the same
  fields, sort, limit, count and expand);
* the record form page ``/apps/pagesbench/item/{id}/edit`` and the JSON record
  (``…/records/{id}`` with the reference expanded).

Printed: each median in milliseconds, and as the last line one JSON object with
``list_page_ratio`` and ``form_page_ratio`` = the HTML page's median ÷ the JSON call's
(target ≤ 2 each).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from runtime.config import Settings
from runtime.metadata.package import read_package_bytes
from runtime.web.app import create_app

APP: dict[str, Any] = {
    "name": "pagesbench",
    "version": "1.0.0",
    "title": {"en": "Pages bench", "zh": "页面基准"},
    "roles": [{"name": "writer"}],
    "objects": [
        {
            "name": "team",
            "fields": [{"name": "name", "type": "text", "required": True}],
        },
        {
            "name": "item",
            "label_field": "name",
            "fields": [
                {"name": "name", "type": "text", "required": True},
                {"name": "code", "type": "text", "unique": True},
                {"name": "team", "type": "reference", "to": "team"},
                {"name": "amount", "type": "integer", "index": True},
                {"name": "rate", "type": "decimal", "precision": 10, "scale": 2},
                {"name": "start_date", "type": "date"},
                {"name": "status", "type": "select", "options": ["active", "leave", "left"]},
                {"name": "remote", "type": "boolean"},
                {"name": "note", "type": "long_text"},
            ],
        },
    ],
    "permissions": [
        {"role": "writer", "object": "team", "actions": ["read", "create"]},
        {"role": "writer", "object": "item", "actions": ["read", "create", "update"]},
    ],
}
BASE = "/api/v1/apps/pagesbench/objects"
TURNS = 15  # turns per side
PER_TURN = 4  # requests in a turn


def _setup(client: TestClient, rows: int) -> tuple[dict[str, str], int]:
    state = client.app.state  # type: ignore[attr-defined]
    state.apps.install(read_package_bytes(json.dumps(APP).encode(), "bench.json"), actor="bench")
    state.users.create("bench", "bench-password-1", roles=["pagesbench.writer"])
    token = client.post(
        "/api/v1/auth/token", json={"username": "bench", "password": "bench-password-1"}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    teams = [
        client.post(f"{BASE}/team/records", json={"name": f"Team {i}"}, headers=headers).json()
        for i in range(20)
    ]
    for start in range(0, rows, 1000):
        batch = [
            {
                "name": f"Item {i}",
                "code": f"C{i:06d}",
                "team": teams[i % len(teams)]["id"],
                "amount": (i * 7919) % 100_000,
                "rate": f"{i % 100}.25",
                "start_date": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "status": ("active", "leave", "left")[i % 3],
                "remote": i % 2 == 0,
                "note": "",
            }
            for i in range(start, min(rows, start + 1000))
        ]
        made = client.post(f"{BASE}/item/records/bulk", json={"records": batch}, headers=headers)
        assert made.status_code in (200, 201), made.text
    first = client.get(f"{BASE}/item/records?limit=1&sort=-id", headers=headers).json()
    return headers, int(first["data"][0]["id"])


def _median_ms(ask: Callable[[], Any], out: list[float]) -> None:
    for _ in range(PER_TURN):
        start = time.perf_counter()
        answer = ask()
        out.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text[:300]


def _race(page: Callable[[], Any], api: Callable[[], Any]) -> tuple[float, float]:
    html: list[float] = []
    data: list[float] = []
    page(), api()  # warm both
    for turn in range(TURNS):
        first, second = (
            ((page, html), (api, data)) if turn % 2 == 0 else ((api, data), (page, html))
        )
        _median_ms(*first)
        _median_ms(*second)
    return statistics.median(html), statistics.median(data)


def run(rows: int, database_url: str | None) -> dict[str, Any]:
    rows = min(rows, 2000) if rows == 100_000 else rows  # run.py's default is for the API
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'pages.db'}"
        app = create_app(Settings(database_url=url, run_jobs=False))
        with TestClient(app) as client:
            headers, last = _setup(client, rows)
            fields = "name,code,team,amount,rate,start_date,status"
            listed = f"{BASE}/item/records?sort=-id&limit=50&count=true&expand=team&fields={fields}"
            list_page, list_api = _race(
                lambda: client.get("/apps/pagesbench/item", headers=headers),
                lambda: client.get(listed, headers=headers),
            )
            record = f"{BASE}/item/records/{last}?expand=team"
            form_page, form_api = _race(
                lambda: client.get(f"/apps/pagesbench/item/{last}/edit", headers=headers),
                lambda: client.get(record, headers=headers),
            )
    return {
        "rows": rows,
        "list_page_ms": round(list_page, 2),
        "list_api_ms": round(list_api, 2),
        "form_page_ms": round(form_page, 2),
        "form_api_ms": round(form_api, 2),
        "list_page_ratio": round(list_page / list_api, 2),
        "form_page_ratio": round(form_page / form_api, 2),
    }
