"""Tenon's own tables (prefix ``tenon_``), migrated by Alembic under migrations/."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from runtime.storage.types import ID_TYPE

NAMING = {
    "ix": "ix_%(table_name)s__%(column_0_N_name)s",
    "uq": "uq_%(table_name)s__%(column_0_N_name)s",
    "ck": "ck_%(table_name)s__%(constraint_name)s",
    "fk": "fk_%(table_name)s__%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class User(Base):
    """A person who signs in (or a service account). Issue-level features add sessions,
    tokens and role grants; app records point here through ``user`` fields."""

    __tablename__ = "tenon_users"

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(150), unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254))  # where e-mail goes
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)


class App(Base):
    """One row per installed app; ``current_version_id`` is the version users run."""

    __tablename__ = "tenon_apps"

    name: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    current_version_id: Mapped[int | None] = mapped_column(ID_TYPE)
    installed_at: Mapped[datetime] = mapped_column(sa.DateTime)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)


class AppVersion(Base):
    """Every version ever installed, with its definition, package hash, installer and plan."""

    __tablename__ = "tenon_app_versions"
    __table_args__ = (sa.UniqueConstraint("app", "version"),)

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    app: Mapped[str] = mapped_column(sa.String(24), sa.ForeignKey("tenon_apps.name"), index=True)
    version: Mapped[str] = mapped_column(sa.String(64))
    package_hash: Mapped[str] = mapped_column(sa.String(80))
    definition: Mapped[str] = mapped_column(sa.Text)
    plan: Mapped[str] = mapped_column(sa.Text)
    previous_version: Mapped[str | None] = mapped_column(sa.String(64))
    installed_by: Mapped[str] = mapped_column(sa.String(150))
    installed_at: Mapped[datetime] = mapped_column(sa.DateTime)


class Archive(Base):
    """A restorable copy of data that an upgrade dropped with ``--allow-data-loss``."""

    __tablename__ = "tenon_archives"

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    app: Mapped[str] = mapped_column(sa.String(24), index=True)
    object: Mapped[str] = mapped_column(sa.String(30))
    field: Mapped[str | None] = mapped_column(sa.String(40))
    table_name: Mapped[str] = mapped_column(sa.String(63), unique=True)
    row_count: Mapped[int] = mapped_column(sa.Integer)
    from_version: Mapped[str] = mapped_column(sa.String(64))
    to_version: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)


class RoleGrant(Base):
    """A role held by a user: ``system_admin`` or a qualified app role (``core_hr.hr_admin``)."""

    __tablename__ = "tenon_role_grants"

    user_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("tenon_users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(60), primary_key=True, index=True)
    granted_by: Mapped[str | None] = mapped_column(sa.String(150))
    granted_at: Mapped[datetime] = mapped_column(sa.DateTime)


class AuthSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's opaque id is stored."""

    __tablename__ = "tenon_sessions"

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    id_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("tenon_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))


class ApiToken(Base):
    """A bearer token. Only the SHA-256 of the secret and a short display prefix are stored."""

    __tablename__ = "tenon_api_tokens"

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("tenon_users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scope: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class LoginAttempt(Base):
    """A failed (or in-flight) sign-in, counted per username and per client address."""

    __tablename__ = "tenon_login_attempts"
    __table_args__ = (sa.Index(None, "username", "at"), sa.Index(None, "ip", "at"))

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    username: Mapped[str] = mapped_column(sa.String(150))
    ip: Mapped[str] = mapped_column(sa.String(64))


class SecurityEvent(Base):
    """Append-only log of sign-ins, sessions, tokens, users and role grants."""

    __tablename__ = "tenon_security_events"

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    event: Mapped[str] = mapped_column(sa.String(40), index=True)
    actor_id: Mapped[int | None] = mapped_column(ID_TYPE)
    actor_name: Mapped[str | None] = mapped_column(sa.String(150))
    subject: Mapped[str | None] = mapped_column(sa.String(150), index=True)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[str] = mapped_column(sa.Text)


class Job(Base):
    """Work done outside a request: a long import now, timers and automations later.

    ``run_at`` is domain time (the clock, which tests may freeze); ``lease_until`` is
    wall time, how long the worker that claimed it may hold it before another may.
    ``key`` names a job that must exist at most once while queued (a record's timer)."""

    __tablename__ = "tenon_jobs"
    __table_args__ = (
        sa.Index(None, "status", "run_at"),
        sa.Index(None, "key"),
        sa.Index(
            "uq_tenon_jobs__queued_key",
            "key",
            unique=True,
            sqlite_where=sa.text("status = 'queued'"),
            postgresql_where=sa.text("status = 'queued'"),
        ),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(60))
    key: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16))  # queued running done failed cancelled
    run_at: Mapped[datetime] = mapped_column(sa.DateTime)
    payload: Mapped[str] = mapped_column(sa.Text)  # JSON
    input: Mapped[bytes | None] = mapped_column(sa.LargeBinary)  # an uploaded file
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(sa.Integer, default=3)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64))
    lease_until: Mapped[datetime | None] = mapped_column(sa.DateTime)
    progress_done: Mapped[int] = mapped_column(sa.Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(sa.Integer)
    progress_step: Mapped[str | None] = mapped_column(sa.String(60))
    result: Mapped[str | None] = mapped_column(sa.Text)  # JSON
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(ID_TYPE, index=True)
    created_by: Mapped[str] = mapped_column(sa.String(150))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class Setting(Base):
    """A small piece of server state shared by every worker (the test clock)."""

    __tablename__ = "tenon_settings"

    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class Notification(Base):
    """An in-app message for one user: what happened, on which record, read or not."""

    __tablename__ = "tenon_notifications"
    __table_args__ = (sa.Index(None, "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("tenon_users.id"))
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    message: Mapped[str] = mapped_column(sa.Text)
    app: Mapped[str | None] = mapped_column(sa.String(24))
    object: Mapped[str | None] = mapped_column(sa.String(30))
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    cause: Mapped[str | None] = mapped_column(sa.String(200))  # "action:approve by vic"
    read_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class Approval(Base):
    """One run of a state's approval on a record: its route (the steps it takes, as
    they were declared when it started), the step it is at, and how it ended."""

    __tablename__ = "tenon_approvals"
    __table_args__ = (sa.Index(None, "app", "object", "record_id", "status"),)

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    app: Mapped[str] = mapped_column(sa.String(24))
    object: Mapped[str] = mapped_column(sa.String(30))
    record_id: Mapped[int] = mapped_column(sa.BigInteger)
    state: Mapped[str] = mapped_column(sa.String(60))
    status: Mapped[str] = mapped_column(sa.String(16))  # running approved rejected …
    app_version: Mapped[str] = mapped_column(sa.String(40))
    route: Mapped[str] = mapped_column(sa.Text)  # JSON: the steps, as declared at start
    settings: Mapped[str] = mapped_column(sa.Text)  # JSON: self-approval, dedupe, …
    step: Mapped[int] = mapped_column(sa.Integer, default=0)
    summary: Mapped[str | None] = mapped_column(sa.String(500))
    submitter_id: Mapped[int | None] = mapped_column(ID_TYPE)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class Task(Base):
    """Something one person has to do on a record: decide an approval step, or a to-do
    of a state. Open tasks are ``pending`` (theirs to act on) or ``waiting`` (their turn
    comes after another's)."""

    __tablename__ = "tenon_tasks"
    __table_args__ = (
        sa.Index(None, "assignee_id", "status", "id"),
        sa.Index(None, "approval_id", "step"),
        sa.Index(None, "app", "object", "record_id", "status"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(12))  # approval todo cc
    approval_id: Mapped[int | None] = mapped_column(ID_TYPE)
    app: Mapped[str] = mapped_column(sa.String(24))
    object: Mapped[str] = mapped_column(sa.String(30))
    record_id: Mapped[int] = mapped_column(sa.BigInteger)
    state: Mapped[str] = mapped_column(sa.String(60))
    step: Mapped[int | None] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.String(60))  # the step or to-do
    grp: Mapped[int] = mapped_column(sa.Integer, default=0)
    seq: Mapped[int] = mapped_column(sa.Integer, default=0)
    assignee_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("tenon_users.id"))
    status: Mapped[str] = mapped_column(sa.String(16))
    origin: Mapped[str] = mapped_column(sa.String(16))  # route transfer before after …
    origin_task_id: Mapped[int | None] = mapped_column(ID_TYPE)
    title: Mapped[str | None] = mapped_column(sa.String(500))
    due_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    due_is_date: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    deadline: Mapped[str | None] = mapped_column(sa.Text)  # JSON, as declared at start
    escalated: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    decided_by: Mapped[str | None] = mapped_column(sa.String(150))
    comment: Mapped[str | None] = mapped_column(sa.Text)


class StoredFile(Base):
    """An uploaded (or generated) file: its bytes, and what Tenon tells about it. The id
    is random and unguessable; a record's ``attachment`` field holds ids of these."""

    __tablename__ = "tenon_files"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ID_TYPE)
    created_by: Mapped[str] = mapped_column(sa.String(150))


metadata = Base.metadata
