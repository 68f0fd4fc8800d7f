"""UserService: usernames, Argon2id passwords, uniform authentication, role grants, and
the security events every change writes."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine

from runtime.clock import Clock
from runtime.errors import Conflict, NotFound, ValidationFailed
from runtime.security import passwords
from runtime.security.audit import Origin, SecurityAudit
from runtime.security.sessions import SessionService
from runtime.security.tokens import TokenService
from runtime.security.users import UserService
from tests.auth_support import PASSWORD

DEFINITIONS: dict[str, dict[str, Any]] = {
    "people": {"name": "people", "roles": [{"name": "hr_admin"}, {"name": "manager"}]}
}


@pytest.fixture
def users(engine: Engine, clock: Clock) -> UserService:
    return UserService(engine, clock, definitions=lambda: DEFINITIONS)


def test_hashes_are_argon2id_at_owasp_parameters(users: UserService, engine: Engine) -> None:
    users.create("ann", PASSWORD)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM tenon_users")).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    ("password", "fragment"),
    [("short", "at least 10"), ("x" * 1025, "at most 1024"), ("ann.lee1234", "username")],
)
def test_password_policy_names_the_password(
    users: UserService, password: str, fragment: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        users.create("ann.lee1234", password)
    assert refused.value.status == 422
    assert [d.path for d in refused.value.details] == ["/password"]
    assert fragment in refused.value.message


def test_usernames_are_normalized_validated_and_unique(users: UserService) -> None:
    user = users.create(" Ann.Lee@example.com ", None, display_name="Ann Lee")
    assert (user.username, user.display_name, user.has_password) == (
        "ann.lee@example.com",
        "Ann Lee",
        False,
    )
    for bad in ("", "ann lee", "ann/lee", "K\u212a", "a" * 151):
        with pytest.raises(ValidationFailed) as refused:
            users.create(bad)
        assert refused.value.details[0].path == "/username"
    with pytest.raises(Conflict) as taken:
        users.create("ANN.LEE@example.com")
    assert (taken.value.status, taken.value.code) == (409, "USERNAME_TAKEN")


def test_every_failed_authentication_does_the_same_work(
    users: UserService, monkeypatch: pytest.MonkeyPatch
) -> None:
    users.create("ann", PASSWORD)
    users.create("bob", PASSWORD)
    users.set_active("bob", False)
    users.create("cat", None)
    verified: list[str] = []
    real_verify = passwords.verify
    monkeypatch.setattr(passwords, "verify", lambda h, p: verified.append(h) or real_verify(h, p))
    cases = {
        ("ann", PASSWORD): "ok",
        ("ann", "wrong password!"): "wrong_password",
        ("nobody", PASSWORD): "unknown_user",
        ("bob", PASSWORD): "inactive",
        ("cat", PASSWORD): "no_password",
        ("ann", "x" * 5000): "wrong_password",
        ("not a name!", PASSWORD): "unknown_user",
    }
    for (name, password), reason in cases.items():
        verified.clear()
        user, why = users.check_credentials(name, password)
        assert why == reason
        assert (user is not None) == (reason == "ok")
        assert len(verified) == 1  # one Argon2 verification whatever the reason
    assert users.authenticate("ANN", PASSWORD) is not None


def test_login_upgrades_a_hash_made_with_other_parameters(
    users: UserService, engine: Engine
) -> None:
    users.create("ann", None)
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE tenon_users SET password_hash = :h"), {"h": old})
    assert users.authenticate("ann", PASSWORD) is not None
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM tenon_users")).scalar_one()
    assert stored != old and "m=19456,t=2,p=1" in stored
    assert users.authenticate("ann", PASSWORD) is not None


def test_roles_must_exist_and_grants_are_recorded(users: UserService, engine: Engine) -> None:
    by = Origin(actor_name="root", ip="10.0.0.1")
    users.create("ann", None, roles=["system_admin", "people.hr_admin"], by=by)
    assert users.roles_of("ann") == {"system_admin", "people.hr_admin"}
    assert users.grant_role("ann", "people.manager", by) is True
    assert users.grant_role("ann", "people.manager", by) is False
    assert users.users_with_role("people.manager") == ["ann"]
    for role, fragment in [
        ("people.hr_admn", "did you mean 'people.hr_admin'?"),
        ("payroll.clerk", "no app 'payroll' is installed"),
        ("system_admn", "did you mean 'system_admin'?"),
        ("authenticated", "implied"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            users.grant_role("ann", role)
        assert refused.value.status == 422 and fragment in refused.value.message
        assert role in refused.value.message
        assert refused.value.details[0].path == "/role"
    with pytest.raises(NotFound):
        users.revoke_role("ann", "people.nope")
    users.revoke_role("ann", "people.manager", by)
    events = SecurityAudit(engine, users.clock).events(subject="ann")
    assert [(e["event"], e["detail"].get("role")) for e in events] == [
        ("role_revoked", "people.manager"),
        ("role_granted", "people.manager"),
        ("role_granted", "people.hr_admin"),
        ("role_granted", "system_admin"),
        ("user_created", None),
    ]
    assert {(e["actor"], e["ip"]) for e in events} == {("root", "10.0.0.1")}
    actor = users.actor_for(users.get("ann"))
    assert actor.is_system_admin and actor.has_role("people.hr_admin")


def test_the_last_system_admin_stays(users: UserService) -> None:
    users.create("root", None, roles=["system_admin"])
    with pytest.raises(Conflict) as refused:
        users.set_active("root", False)
    assert refused.value.code == "LAST_SYSTEM_ADMIN"
    with pytest.raises(Conflict):
        users.revoke_role("root", "system_admin")
    users.create("deputy", None, roles=["system_admin"])
    users.revoke_role("root", "system_admin")
    assert users.get("root").roles == ()


def test_deactivation_and_password_change_end_sessions_and_tokens(
    users: UserService, engine: Engine, clock: Clock
) -> None:
    ann = users.create("ann", PASSWORD)
    sessions = SessionService(engine, clock)
    tokens = TokenService(engine, clock)
    first, _ = sessions.create(ann.id)
    secret, _ = tokens.create(ann.id, "ann", name="ci", scope="read", origin=Origin())
    users.set_password("ann", "a brand new secret")
    assert sessions.resolve(first) is None
    assert tokens.resolve(secret) is not None  # tokens outlive a password change
    assert users.authenticate("ann", PASSWORD) is None
    second, _ = sessions.create(ann.id)
    updated = users.update("ann", is_active=False, display_name="Ann")
    assert (updated.is_active, updated.display_name) == (False, "Ann")
    assert sessions.resolve(second) is None and tokens.resolve(secret) is None
    users.set_active("ann", True)
    assert tokens.resolve(secret) is None  # reactivation restores nothing
    events = SecurityAudit(engine, clock).events(subject="ann")
    kinds = [e["event"] for e in events]
    assert kinds.count("password_changed") == 1 and kinds.count("user_updated") == 2
    deactivated = next(e for e in events if e["detail"].get("is_active") is False)
    assert deactivated["detail"]["sessions_revoked"] == 1
    assert deactivated["detail"]["tokens_revoked"] == 1
    assert all("secret" not in str(e["detail"]) for e in events)
