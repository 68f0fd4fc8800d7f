"""``Actor``: the signed-in user a request (or a job) acts as.

Every read and write of app data is made on behalf of an actor; the permission layer
(``runtime.security.policy``) turns the actor's roles into SQL row scopes and column
lists. The built-in role ``system_admin`` manages apps and users and sees no HR data
unless an app grants it; ``authenticated`` is implied for every signed-in user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SYSTEM_ADMIN = "system_admin"
AUTHENTICATED = "authenticated"


@dataclass(frozen=True)
class Actor:
    """``roles`` holds qualified app roles (``core_hr.hr_admin``) and ``system_admin``.
    ``read_only`` is set for API tokens with the read scope: such an actor may read what
    its roles allow and write nothing."""

    user_id: int
    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    read_only: bool = False
    via: str = "session"  # "session" | "token" | "cli" | "job" | "system"
    on_behalf_of: str | None = None  # what the system acts for ("timer auto_confirm")

    @classmethod
    def system(cls, on_behalf_of: str) -> Actor:
        """Tenon itself, doing what an app declared (a timer, an automation): it acts
        without permission rules and is audited as ``system`` on behalf of its cause."""
        return cls(0, "system", frozenset(), via="system", on_behalf_of=on_behalf_of)

    @property
    def is_system(self) -> bool:
        return self.via == "system"

    @property
    def stored_id(self) -> int | None:
        """The user id to record as creator or editor (None for the system)."""
        return None if self.is_system else self.user_id

    @property
    def is_system_admin(self) -> bool:
        return SYSTEM_ADMIN in self.roles

    def has_role(self, role: str) -> bool:
        """True for ``authenticated`` and for every granted role."""
        return role == AUTHENTICATED or role in self.roles
