"""Every kind of job Tenon runs, registered on one runner (the server's and the CLI's)."""

from __future__ import annotations

from runtime.security.users import UserService
from runtime.services import deadlines, import_jobs, scheduled, timers
from runtime.services.current import Current
from runtime.services.jobs import JobRunner
from runtime.storage.jobs import JobStore


def job_runner(current: Current, jobs: JobStore, users: UserService, test_clock: bool) -> JobRunner:
    runner = JobRunner(jobs, current.clock, users, test_clock=test_clock)
    import_jobs.register(runner, current)
    runner.register(timers.KIND, timers.handler(current.view))
    runner.register(scheduled.KIND, scheduled.handler(current.view))
    runner.register(deadlines.KIND, deadlines.handler(current.view))
    return runner
