"""Password hashing (Argon2id at OWASP's parameters) and the password policy.

OWASP's Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1. A stored hash made
with other parameters still verifies and is upgraded at the next successful sign-in
(:func:`needs_rehash`). Unknown and inactive users are checked against :data:`dummy_hash`
so a wrong username costs the same time as a wrong password.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from runtime.errors import Issue, ValidationFailed

TIME_COST = 2
MEMORY_COST_KIB = 19456
PARALLELISM = 1
MIN_LENGTH = 10
MAX_LENGTH = 1024

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM)


def check_policy(password: object, username: str | None = None) -> str:
    """The password, if it may be used; else :class:`ValidationFailed` at ``/password``."""
    problem = None
    if not isinstance(password, str):
        problem = "must be a string"
    elif len(password) < MIN_LENGTH:
        problem = f"must be at least {MIN_LENGTH} characters long"
    elif len(password) > MAX_LENGTH:
        problem = f"must be at most {MAX_LENGTH} characters long"
    elif username and password.strip().lower() == username.lower():
        problem = "must not be the username"
    if problem is not None:
        issue = Issue("/password", f"The password {problem}", "INVALID_PASSWORD")
        raise ValidationFailed(f"The password {problem}", [issue])
    assert isinstance(password, str)
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@functools.cache
def dummy_hash() -> str:
    """A hash of a random value, verified for unknown users to equalise timing."""
    import secrets

    return _hasher.hash(secrets.token_urlsafe(16))
