"""The ``tenon`` command: serve, validate, install, export, apps, user, jobs, demo."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.engine import Engine

from runtime.clock import Clock
from runtime.config import Settings
from runtime.errors import Issue, TenonError
from runtime.metadata.package import Package, read_package
from runtime.metadata.validate import definition_issues
from runtime.resources import catalog_dir
from runtime.security.audit import Origin
from runtime.security.users import UserService
from runtime.services import mail
from runtime.services.apps import AppService
from runtime.services.current import Current
from runtime.services.job_kinds import job_runner
from runtime.services.jobs import JobRunner
from runtime.storage.engine import make_engine
from runtime.storage.jobs import JobRow, JobStore
from runtime.storage.migrate import upgrade_system_tables
from runtime.storage.shared_clock import SharedClock

_ENGINES: list[Engine] = []  # disposed when the command ends


def _engine(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url)
    _ENGINES.append(engine)
    upgrade_system_tables(engine)
    return engine


def _resolve_source(source: str) -> Path:
    if source.startswith("catalog:"):
        name = source.split(":", 1)[1]
        path = catalog_dir() / name
        if not name or not path.is_dir():
            available = sorted(p.name for p in catalog_dir().iterdir() if p.is_dir())
            raise TenonError(
                f"The catalog has no app {name!r} (available: {', '.join(available) or 'none'})",
                code="NOT_FOUND",
                status=404,
            )
        return path
    return Path(source)


def _print_issues(issues: Sequence[Issue], out: TextIO) -> None:
    for issue in issues:
        print(f"  {issue.location()}: {issue.message}", file=out)


def _report(error: TenonError, out: TextIO) -> int:
    print(f"error: {error.message}", file=out)
    _print_issues(error.details, out)
    return 1


def _sibling_resolver(path: Path, service: AppService | None) -> Any:
    """Required apps for ``tenon validate``: installed ones, then folders beside the
    package, then the catalog."""
    installed = service.definitions() if service is not None else {}
    cache: dict[str, dict[str, Any] | None] = {}

    def resolve(name: str) -> dict[str, Any] | None:
        if name in installed:
            return installed[name]
        if name not in cache:
            cache[name] = None
            for base in (path.resolve().parent, catalog_dir()):
                candidate = base / name
                if candidate.is_dir() and (candidate / "app.json").is_file():
                    with contextlib.suppress(TenonError):
                        cache[name] = read_package(candidate).definition
                    break
        return cache[name]

    return resolve


def cmd_validate(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    path = _resolve_source(args.path)
    package = read_package(path)
    service = AppService(_engine(settings)) if args.installed else None
    issues = [
        package.locate(i)
        for i in definition_issues(package.definition, _sibling_resolver(path, service))
    ]
    name = package.definition.get("name", package.origin)
    if args.json:
        print(
            json.dumps(
                {"valid": not issues, "errors": [i.as_dict() for i in issues]},
                indent=2,
                ensure_ascii=False,
            ),
            file=out,
        )
    elif issues:
        print(f"{name}: {len(issues)} problem(s)", file=out)
        _print_issues(issues, out)
    else:
        print(f"{name} {package.definition.get('version', '')}: valid", file=out)
    return 1 if issues else 0


def cmd_install(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    package: Package = read_package(_resolve_source(args.source))
    service = AppService(_engine(settings))
    result = service.install(
        package, actor=args.actor, dry_run=args.dry_run, allow_data_loss=args.allow_data_loss
    )
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str), file=out)
        return 0
    if result.plan is not None:
        for line in result.plan.lines():
            print(line, file=out)
    name, version = package.definition.get("name"), package.definition.get("version")
    messages = {
        "dry_run": "dry run: nothing was changed",
        "unchanged": f"{name} {version} is already installed; nothing to do",
        "installed": f"installed {name} {version}",
        "upgraded": f"upgraded {name} to {version}",
    }
    print(messages[result.status], file=out)
    for archive in result.archives:
        what = archive["object"] + (f".{archive['field']}" if archive["field"] else "")
        print(
            f"kept a copy of {what} ({archive['row_count']} rows) in table {archive['table_name']}",
            file=out,
        )
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    data = AppService(_engine(settings)).export(args.app)
    Path(args.output).write_bytes(data)
    print(f"exported {args.app} to {args.output}", file=out)
    return 0


def cmd_apps(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    apps = AppService(_engine(settings)).installed()
    if args.json:
        rows = [
            {
                "name": a.name,
                "version": a.version,
                "package_hash": a.package_hash,
                "installed_by": a.installed_by,
                "installed_at": a.installed_at.isoformat(),
            }
            for a in apps
        ]
        print(json.dumps(rows, indent=2), file=out)
    elif not apps:
        print("no apps installed", file=out)
    for a in [] if args.json else apps:
        print(
            f"{a.name:<24} {a.version:<12} {a.installed_at:%Y-%m-%d %H:%M}  {a.installed_by}",
            file=out,
        )
    return 0


def _users(settings: Settings) -> UserService:
    engine = _engine(settings)
    return UserService(engine, definitions=AppService(engine).definitions)


def cmd_user_create(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    password = _stdin_password(args, out) if args.password_stdin else None
    user = _users(settings).create(
        args.name, password, args.display_name, args.role or [], Origin.cli(), email=args.email
    )
    roles = f" with roles {', '.join(user.roles)}" if user.roles else ""
    login = "" if user.has_password else " (no password: cannot sign in until one is set)"
    print(f"created user {user.username}{roles}{login}", file=out)
    return 0


def cmd_user_grant(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    added = _users(settings).grant_role(args.name, args.role, Origin.cli())
    verb = "granted" if added else "already has"
    print(f"{args.name}: {verb} {args.role}", file=out)
    return 0


def cmd_user_revoke(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    _users(settings).revoke_role(args.name, args.role, Origin.cli())
    print(f"{args.name}: revoked {args.role}", file=out)
    return 0


def cmd_user_list(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    users = _users(settings).list()
    if args.json:
        print(json.dumps([u.as_dict() for u in users], indent=2, ensure_ascii=False), file=out)
    elif not users:
        print("no users", file=out)
    for u in [] if args.json else users:
        state = "active" if u.is_active else "inactive"
        print(f"{u.username:<24} {state:<9} {', '.join(u.roles) or '-'}", file=out)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from runtime.demo.run import generate, print_report

    password = _stdin_password(args, out) if args.password_stdin else None
    demo = generate(_engine(settings), password, installed_by=f"cli:{getpass.getuser()}")
    print_report(demo, out, verbose=args.verbose, custom_password=password is not None)
    return 0


def _stdin_password(args: argparse.Namespace, out: TextIO) -> str:
    """One line from stdin (a pipe or a prompt-less redirect); never from argv."""
    if args.stdin.isatty():
        password = getpass.getpass("Password: ", stream=out)
    else:
        password = args.stdin.readline().rstrip("\r\n")
    if not password:
        raise TenonError("No password on standard input", code="VALIDATION_FAILED")
    return password


def _runner(settings: Settings) -> JobRunner:
    engine = _engine(settings)
    clock = SharedClock(engine) if settings.test_clock else Clock()
    apps = AppService(engine, clock)
    users = UserService(engine, clock, definitions=apps.definitions)
    jobs = JobStore(engine)
    send = mail.handler(engine, settings)
    return job_runner(Current(apps, clock, jobs), jobs, users, settings.test_clock, mail=send)


def _print_jobs(jobs: Sequence[JobRow], as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps([j.as_dict() for j in jobs], indent=2), file=out)
        return
    for job in jobs:
        progress = f"{job.progress_done}/{job.progress_total or '?'}"
        print(f"{job.id}\t{job.kind}\t{job.status}\t{progress}\t{job.created_by}", file=out)


def cmd_jobs_run_due(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    ran = _runner(settings).run_due()
    _print_jobs(ran, args.json, out)
    return 1 if any(j.status == "failed" for j in ran) else 0


def cmd_jobs_list(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    store = JobStore(_engine(settings))
    found = store.list(statuses=[args.status] if args.status else (), limit=max(1, args.limit))
    _print_jobs(found, args.json, out)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    import uvicorn

    workers = int(args.workers)
    if workers < 1:
        print("--workers must be 1 or more", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    upgrade_system_tables(engine)  # once, before the workers start
    shown = engine.url.render_as_string(hide_password=True)
    engine.dispose()
    print(
        f"Tenon on http://{args.host}:{args.port} (database: {shown}, workers: {workers})", file=out
    )
    if workers == 1:
        from runtime.web.app import create_app

        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
        return 0
    # every worker reads the same settings from the environment; nothing else is shared
    # but the database (installed apps are re-read when their versions change)
    uvicorn.run(
        "runtime.web.app:from_environment",
        factory=True,
        workers=workers,
        host=args.host,
        port=args.port,
        log_level="info",
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenon", description="Tenon low-code runtime")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the web app and API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers", type=int, default=1, help="worker processes (PostgreSQL, or SQLite in WAL)"
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("validate", help="check a package; exit 1 listing every problem")
    p.add_argument("path", help="a package folder, .zip or .json, or catalog:NAME")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--installed",
        action="store_true",
        help="also resolve required apps from the database's installed apps",
    )
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("install", help="install or upgrade an app")
    p.add_argument("source", help="a package folder, .zip or .json, or catalog:NAME")
    p.add_argument("--dry-run", action="store_true", help="print the change plan only")
    p.add_argument(
        "--allow-data-loss",
        action="store_true",
        help="allow dropping fields or objects that hold data (a copy is kept)",
    )
    p.add_argument(
        "--as",
        dest="actor",
        default=f"cli:{getpass.getuser()}",
        help="who is recorded as installer",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("export", help="write an installed app as a package")
    p.add_argument("app")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("apps", help="list installed apps")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_apps)

    _user_parsers(sub.add_parser("user", help="manage users and their roles"))

    p = sub.add_parser("demo", help="install the HR catalog and make the Acme Tech demo data")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the demo users' password from standard input (default: demo)",
    )
    p.add_argument("--verbose", action="store_true", help="print how long each part took")
    p.set_defaults(func=cmd_demo)

    jobs = sub.add_parser("jobs", help="background jobs").add_subparsers(
        dest="jobs_command", required=True
    )
    p = jobs.add_parser("run-due", help="run every job that is due now, then exit")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_jobs_run_due)
    p = jobs.add_parser("list", help="the newest jobs")
    p.add_argument("--status", choices=["queued", "running", "done", "failed", "cancelled"])
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_jobs_list)
    return parser


def _user_parsers(parent: argparse.ArgumentParser) -> None:
    sub = parent.add_subparsers(dest="user_command", required=True)
    p = sub.add_parser("create", help="create a user")
    p.add_argument("name")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (without it the user cannot sign in)",
    )
    p.add_argument(
        "--role", action="append", help="system_admin or an app role (app.role); repeatable"
    )
    p.add_argument("--display-name")
    p.add_argument("--email", help="where e-mail notifications go")
    p.set_defaults(func=cmd_user_create)

    p = sub.add_parser("grant", help="grant a role")
    p.add_argument("name")
    p.add_argument("role")
    p.set_defaults(func=cmd_user_grant)

    p = sub.add_parser("revoke", help="revoke a role")
    p.add_argument("name")
    p.add_argument("role")
    p.set_defaults(func=cmd_user_revoke)

    p = sub.add_parser("list", help="list users and their roles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_user_list)


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    settings: Settings | None = None,
    stdin: TextIO | None = None,
) -> int:
    stream = out or sys.stdout
    args = build_parser().parse_args(argv)
    args.stdin = stdin or sys.stdin
    try:
        code: int = args.func(args, settings or Settings.from_env(), stream)
    except TenonError as error:
        return _report(error, stream)
    finally:
        while _ENGINES:
            _ENGINES.pop().dispose()
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
