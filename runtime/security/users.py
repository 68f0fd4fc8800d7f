"""Users, their passwords and their role grants.

Every change is one transaction together with its security event. Deactivating a user
ends their sessions and revokes their tokens; a password change ends their sessions.
A role is ``system_admin`` or a qualified role an installed app declares
(``core_hr.hr_admin``); the app definitions come from a callable passed in, so this module
needs nothing of the web layer or the app service.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.clock import Clock
from runtime.errors import Conflict, NotFound
from runtime.security import audit, passwords, sessions, tokens
from runtime.security.actor import AUTHENTICATED, SYSTEM_ADMIN, Actor
from runtime.security.user_fields import (
    _display_name,
    _email,
    _invalid,
    normalize_username,
)
from runtime.storage.engine import write_transaction
from runtime.storage.system import RoleGrant, User
from runtime.suggest import suggest

USERS: sa.Table = User.__table__  # type: ignore[assignment]
GRANTS: sa.Table = RoleGrant.__table__  # type: ignore[assignment]
_WITH_ROLES = (
    sa.select(USERS, GRANTS.c.role.label("granted_role"))
    .outerjoin(GRANTS, GRANTS.c.user_id == USERS.c.id)
    .order_by(USERS.c.username, GRANTS.c.role)
)
_BY_ID = _WITH_ROLES.where(USERS.c.id == sa.bindparam("user_id"))  # built once (sign-ins)
_BY_TOKEN = (  # a token, its user and the user's roles, built once
    sa.select(
        *[c.label(f"token_{c.name}") for c in tokens.TABLE.c],
        USERS,
        GRANTS.c.role.label("granted_role"),
    )
    .select_from(
        tokens.TABLE.join(USERS, USERS.c.id == tokens.TABLE.c.user_id).outerjoin(
            GRANTS, GRANTS.c.user_id == USERS.c.id
        )
    )
    .where(tokens.TABLE.c.token_hash == sa.bindparam("token_hash"), USERS.c.is_active.is_(True))
    .order_by(GRANTS.c.role)
)


def _with_roles(rows: Iterable[Any]) -> list[UserInfo]:
    """Users from rows of user columns and a ``granted_role`` (one row per role)."""
    users: dict[int, Any] = {}
    grants: dict[int, list[str]] = {}
    for row in rows:
        users.setdefault(row["id"], row)
        if row["granted_role"] is not None:
            grants.setdefault(row["id"], []).append(row["granted_role"])
    return [
        UserInfo(
            u["id"],
            u["username"],
            u["display_name"],
            u["email"],
            bool(u["is_active"]),
            u["password_hash"] is not None,
            u["created_at"],
            tuple(grants.get(u["id"], ())),
        )
        for u in users.values()
    ]


Definitions = Callable[[], Mapping[str, Mapping[str, Any]]]
UNSET: Any = object()


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str | None
    email: str | None
    is_active: bool
    has_password: bool
    created_at: datetime
    roles: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The public shape: never a hash."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "email": self.email,
            "is_active": self.is_active,
            "has_password": self.has_password,
            "roles": list(self.roles),
            "created_at": self.created_at.isoformat(),
        }


class UserService:
    def __init__(
        self, engine: Engine, clock: Clock | None = None, definitions: Definitions | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock or Clock()
        self.definitions = definitions or dict

    # -- reading -------------------------------------------------------------------------

    def _load(
        self,
        conn: Connection,
        where: sa.ColumnElement[bool] | None,
        params: Mapping[str, Any] | None = None,
    ) -> builtins.list[UserInfo]:
        """Users matching ``where`` (None: by the ``user_id`` in ``params``) with their
        roles, in one query."""
        query = _WITH_ROLES.where(where) if where is not None else _BY_ID
        return _with_roles(conn.execute(query, params).mappings())

    def by_token(
        self, conn: Connection, secret: str, service: tokens.TokenService
    ) -> tuple[tokens.TokenInfo, UserInfo] | None:
        """The live token ``secret`` names and its active user with their roles, in one
        statement (every API request asks)."""
        if not tokens.well_formed(secret):
            return None
        params = {"token_hash": sessions.secret_hash(secret)}
        rows = list(conn.execute(_BY_TOKEN, params).mappings())
        token = service.accept(rows[0], prefix="token_") if rows else None
        if token is None:
            return None
        return token, _with_roles(rows)[0]

    def list(self) -> list[UserInfo]:
        with self.engine.connect() as conn:
            return self._load(conn, sa.true())

    def find(self, username: str) -> UserInfo | None:
        name = normalize_username(username)
        if name is None:
            return None
        with self.engine.connect() as conn:
            found = self._load(conn, USERS.c.username == name)
        return found[0] if found else None

    def get(self, username: str) -> UserInfo:
        user = self.find(username)
        if user is None:
            raise NotFound(f"No user named {username!r}", code="USER_NOT_FOUND")
        return user

    def get_by_id(self, user_id: int, conn: Connection | None = None) -> UserInfo | None:
        params = {"user_id": user_id}
        if conn is not None:
            found = self._load(conn, None, params)
        else:
            with self.engine.connect() as own:
                found = self._load(own, None, params)
        return found[0] if found else None

    def roles_of(self, username: str) -> frozenset[str]:
        return frozenset(self.get(username).roles)

    def users_with_role(self, role: str) -> builtins.list[str]:
        """Usernames of active users granted ``role``, sorted."""
        query = (
            sa.select(USERS.c.username)
            .join(GRANTS, GRANTS.c.user_id == USERS.c.id)
            .where(GRANTS.c.role == role, USERS.c.is_active.is_(True))
            .order_by(USERS.c.username)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def actor_for(self, user: UserInfo, via: str = "session", read_only: bool = False) -> Actor:
        return Actor(user.id, user.username, frozenset(user.roles), read_only=read_only, via=via)

    # -- signing in ----------------------------------------------------------------------

    def check_credentials(self, username: object, password: object) -> tuple[UserInfo | None, str]:
        """``(user, "ok")`` or ``(None, reason)``; the same work is done whatever the reason,
        so the time taken does not tell an unknown user from a wrong password."""
        name = normalize_username(username)
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(USERS).where(USERS.c.username == name)).mappings().first()
                if name
                else None
            )
        stored: str | None = row["password_hash"] if row is not None and row["is_active"] else None
        usable = isinstance(password, str) and len(password) <= passwords.MAX_LENGTH
        candidate = password if isinstance(password, str) and usable else ""
        matched = passwords.verify(stored or passwords.dummy_hash(), candidate)
        if row is None:
            return None, "unknown_user"
        if not row["is_active"]:
            return None, "inactive"
        if stored is None:
            return None, "no_password"
        if not (matched and usable):
            return None, "wrong_password"
        if passwords.needs_rehash(stored):
            with write_transaction(self.engine) as conn:
                conn.execute(
                    sa.update(USERS)
                    .where(USERS.c.id == row["id"], USERS.c.password_hash == stored)
                    .values(password_hash=passwords.hash_password(candidate))
                )
        return self.get_by_id(row["id"]), "ok"

    def authenticate(self, username: object, password: object) -> UserInfo | None:
        return self.check_credentials(username, password)[0]

    # -- changing ------------------------------------------------------------------------

    def create(
        self,
        username: str,
        password: str | None = None,
        display_name: str | None = None,
        roles: Iterable[str] = (),
        by: audit.Origin | None = None,
        email: str | None = None,
    ) -> UserInfo:
        name = normalize_username(username)
        if name is None:
            raise _invalid(
                "/username",
                "A username is 1 to 150 characters: lowercase letters, digits and . _ - @",
                "INVALID_USERNAME",
            )
        hashed = None
        if password is not None:
            hashed = passwords.hash_password(passwords.check_policy(password, name))
        display = _display_name(display_name)
        address = _email(email)
        wanted = list(dict.fromkeys(roles))
        for role in wanted:
            self.check_role(role)
        origin = by or audit.Origin()
        now = self.clock.now()
        with write_transaction(self.engine) as conn:
            if conn.execute(sa.select(USERS.c.id).where(USERS.c.username == name)).first():
                raise Conflict(f"The username {name!r} is taken", code="USERNAME_TAKEN")
            key = conn.execute(
                sa.insert(USERS).values(
                    username=name,
                    display_name=display,
                    email=address,
                    password_hash=hashed,
                    is_active=True,
                    created_at=now,
                )
            ).inserted_primary_key
            assert key is not None
            user_id = int(key[0])
            audit.record(conn, now, "user_created", origin, name, has_password=hashed is not None)
            for role in wanted:
                self._grant(conn, user_id, name, role, origin, now)
        return self.get(name)

    def create_many(
        self,
        conn: Connection,
        users: Iterable[Mapping[str, Any]],
        password_hash: str | None,
        by: audit.Origin,
    ) -> dict[str, int]:
        """Insert many users in the caller's transaction, all with one password hash made
        once (a generated dataset: 2,000 Argon2 hashes would take minutes), each with its
        ``roles`` granted; one security event for the lot. Each entry has ``username`` and
        may have ``display_name``, ``email``, ``is_active`` and ``roles``. The ids by
        username; a taken or malformed username refuses them all."""
        now = self.clock.now()
        rows, grants = [], []
        for entry in users:
            name = normalize_username(entry["username"])
            if name is None:
                raise _invalid(
                    "/username", f"Invalid username {entry['username']!r}", "INVALID_USERNAME"
                )
            rows.append(
                {
                    "username": name,
                    "display_name": _display_name(entry.get("display_name")),
                    "email": _email(entry.get("email")),
                    "password_hash": password_hash,
                    "is_active": bool(entry.get("is_active", True)),
                    "created_at": now,
                }
            )
            grants += [(name, self.check_role(role)) for role in entry.get("roles") or ()]
        names = [r["username"] for r in rows]
        taken = conn.execute(sa.select(USERS.c.username).where(USERS.c.username.in_(names))).first()
        if taken is not None or len(set(names)) != len(names):
            raise Conflict(
                f"The username {taken[0] if taken else 'given twice'!r} is taken",
                code="USERNAME_TAKEN",
            )
        conn.execute(sa.insert(USERS), rows)
        query = sa.select(USERS.c.username, USERS.c.id).where(USERS.c.username.in_(names))
        ids = {str(n): int(i) for n, i in conn.execute(query)}
        if grants:
            conn.execute(
                sa.insert(GRANTS),
                [
                    {"user_id": ids[n], "role": r, "granted_by": by.actor_name, "granted_at": now}
                    for n, r in grants
                ],
            )
        audit.record(
            conn,
            now,
            "user_created",
            by,
            f"{len(rows)} users",
            count=len(rows),
            has_password=password_hash is not None,
            roles=sorted({f"{n}: {r}" for n, r in grants}),
        )
        return ids

    def update(
        self,
        username: str,
        *,
        display_name: Any = UNSET,
        is_active: bool | None = None,
        password: str | None = None,
        by: audit.Origin | None = None,
        email: Any = UNSET,
    ) -> UserInfo:
        """Change any of display name, e-mail, active flag and password in one
        transaction."""
        user = self.get(username)
        origin = by or audit.Origin()
        changes: dict[str, Any] = {}
        if display_name is not UNSET:
            changes["display_name"] = _display_name(display_name)
        if email is not UNSET:
            changes["email"] = _email(email)
        if is_active is not None:
            changes["is_active"] = bool(is_active)
        hashed = None
        if password is not None:
            hashed = passwords.hash_password(passwords.check_policy(password, user.username))
        now = self.clock.now()
        with write_transaction(self.engine) as conn:
            if changes.get("is_active") is False and user.is_active:
                self._keep_an_admin(conn, user)
            values = dict(changes) | ({"password_hash": hashed} if hashed else {})
            if values:
                conn.execute(sa.update(USERS).where(USERS.c.id == user.id).values(**values))
            ended: dict[str, int] = {}
            if hashed or changes.get("is_active") is False:
                ended["sessions_revoked"] = sessions.revoke_all(conn, user.id, now)
            if changes.get("is_active") is False:
                ended["tokens_revoked"] = tokens.revoke_all(conn, user.id, now)
            if changes:
                audit.record(conn, now, "user_updated", origin, user.username, **changes, **ended)
            if hashed:
                audit.record(conn, now, "password_changed", origin, user.username)
        return self.get(user.username)

    def set_password(self, username: str, password: str, by: audit.Origin | None = None) -> None:
        self.update(username, password=password, by=by)

    def set_active(self, username: str, active: bool, by: audit.Origin | None = None) -> UserInfo:
        return self.update(username, is_active=active, by=by)

    def revoke_sessions(self, username: str, by: audit.Origin | None = None) -> int:
        """End every session of a user (an admin's "sign out everywhere")."""
        user = self.get(username)
        now = self.clock.now()
        with write_transaction(self.engine) as conn:
            count = sessions.revoke_all(conn, user.id, now)
            audit.record(
                conn, now, "session_revoked", by or audit.Origin(), user.username, count=count
            )
        return count

    # -- roles ---------------------------------------------------------------------------

    def available_roles(self) -> builtins.list[str]:
        """``system_admin`` and every role the installed apps declare, qualified."""
        found = [SYSTEM_ADMIN]
        for app, definition in sorted(self.definitions().items()):
            for role in definition.get("roles") or []:
                name = role.get("name") if isinstance(role, Mapping) else role
                if isinstance(name, str):
                    found.append(f"{app}.{name}")
        return found

    def check_role(self, role: object) -> str:
        """The role, if it can be granted; else 422 naming it (with a "did you mean")."""
        available = self.available_roles()
        if isinstance(role, str) and role in available:
            return role
        if role == AUTHENTICATED:
            message = "'authenticated' is implied for every signed-in user and is not granted"
        elif (
            isinstance(role, str)
            and "." in role
            and role.split(".", 1)[0] not in (self.definitions())
        ):
            app = role.split(".", 1)[0]
            message = f"Unknown role {role!r}: no app {app!r} is installed"
            message += suggest(role, available)
        else:
            message = f"Unknown role {role!r}{suggest(str(role), available)}"
        raise _invalid("/role", message, "UNKNOWN_ROLE")

    def grant_role(self, username: str, role: str, by: audit.Origin | None = None) -> bool:
        """Grant a role; False when the user already had it."""
        user = self.get(username)
        self.check_role(role)
        with write_transaction(self.engine) as conn:
            return self._grant(conn, user.id, user.username, role, by or audit.Origin(), None)

    def _grant(
        self,
        conn: Connection,
        user_id: int,
        username: str,
        role: str,
        origin: audit.Origin,
        now: datetime | None,
    ) -> bool:
        exists = conn.execute(
            sa.select(GRANTS.c.role).where(GRANTS.c.user_id == user_id, GRANTS.c.role == role)
        ).first()
        if exists:
            return False
        at = now or self.clock.now()
        conn.execute(
            sa.insert(GRANTS).values(
                user_id=user_id, role=role, granted_by=origin.actor_name, granted_at=at
            )
        )
        audit.record(conn, at, "role_granted", origin, username, role=role)
        return True

    def revoke_role(self, username: str, role: str, by: audit.Origin | None = None) -> None:
        user = self.get(username)
        if role not in user.roles:
            message = f"{user.username} does not have the role {role!r}"
            raise NotFound(message + suggest(role, user.roles), code="ROLE_NOT_GRANTED")
        now = self.clock.now()
        with write_transaction(self.engine) as conn:
            if role == SYSTEM_ADMIN and user.is_active:
                self._keep_an_admin(conn, user)
            conn.execute(
                sa.delete(GRANTS).where(GRANTS.c.user_id == user.id, GRANTS.c.role == role)
            )
            audit.record(conn, now, "role_revoked", by or audit.Origin(), user.username, role=role)

    def _keep_an_admin(self, conn: Connection, user: UserInfo) -> None:
        """Refuse to remove the last active system administrator (nobody could fix it but
        the command line)."""
        if SYSTEM_ADMIN not in user.roles:
            return
        others = conn.execute(
            sa.select(sa.func.count())
            .select_from(GRANTS.join(USERS, USERS.c.id == GRANTS.c.user_id))
            .where(
                GRANTS.c.role == SYSTEM_ADMIN,
                USERS.c.is_active.is_(True),
                USERS.c.id != user.id,
            )
        ).scalar_one()
        if not others:
            raise Conflict(
                f"{user.username} is the last active system_admin; grant the role to "
                "someone else first",
                code="LAST_SYSTEM_ADMIN",
            )
