"""Every kind of job Tenon runs, registered on one runner (the server's and the CLI's)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from runtime.security.users import UserService
from runtime.services import automations, deadlines, import_jobs, outbox, scheduled, timers
from runtime.services.current import Current, Fingerprint
from runtime.services.jobs import JobRunner
from runtime.services.webhooks import Endpoints
from runtime.services.webhooks import handler as webhook_handler
from runtime.storage.jobs import JobStore


def job_runner(
    current: Current,
    jobs: JobStore,
    users: UserService,
    test_clock: bool,
    http: Callable[[], httpx.Client] | None = None,
    mail: Callable[[Any], Any] | None = None,
) -> JobRunner:
    runner = JobRunner(jobs, current.clock, users, test_clock=test_clock)
    import_jobs.register(runner, current)
    runner.register(timers.KIND, timers.handler(current.view))
    runner.register(scheduled.KIND, scheduled.handler(current.view))
    runner.register(deadlines.KIND, deadlines.handler(current.view))
    runner.register(automations.KIND, automations.handler(current.view))
    runner.register(automations.DATED, automations.dated_handler(current.view))
    client = http or _default_client()
    runner.register(outbox.WEBHOOK, webhook_handler(Endpoints(jobs.engine), client))
    if mail is not None:
        runner.register(outbox.EMAIL, mail)
    runner.prepare.append(_schedules(current))
    return runner


def _default_client() -> Callable[[], httpx.Client]:
    made: list[httpx.Client] = []

    def client() -> httpx.Client:
        if not made:
            made.append(httpx.Client(follow_redirects=False))
        return made[0]

    return client


def _schedules(current: Current) -> Callable[[datetime], None]:
    """Queue the schedule automations' runs whenever the installed apps change."""
    seen: list[Fingerprint] = []

    def step(now: datetime) -> None:
        view = current.view()
        if seen and seen[0] == view.fingerprint:
            return
        view.automations.ensure_schedules(now)
        seen[:] = [view.fingerprint]

    return step
