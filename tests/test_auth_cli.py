"""``tenon user create | grant | revoke | list``: passwords come from stdin, never argv."""

from __future__ import annotations

import io
import json
from pathlib import Path

from runtime.cli import main
from runtime.config import Settings
from runtime.security.users import UserService
from runtime.storage.engine import make_engine
from tests.auth_support import PASSWORD


def run(db: str, *argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out, settings=Settings(database_url=db), stdin=io.StringIO(stdin))
    return code, out.getvalue()


def test_create_users_grant_and_revoke_roles(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    argv = ["user", "create", "root", "--password-stdin", "--role", "system_admin"]
    code, output = run(db, *argv, "--display-name", "The Admin", stdin=PASSWORD + "\n")
    assert (code, output) == (0, "created user root with roles system_admin\n")
    assert UserService(make_engine(db)).authenticate("root", PASSWORD) is not None
    code, output = run(db, "user", "create", "svc")
    assert (code, output) == (
        0,
        "created user svc (no password: cannot sign in until one is set)\n",
    )
    assert run(db, "user", "grant", "svc", "system_admin") == (0, "svc: granted system_admin\n")
    assert run(db, "user", "grant", "svc", "system_admin") == (
        0,
        "svc: already has system_admin\n",
    )
    assert run(db, "user", "revoke", "svc", "system_admin") == (0, "svc: revoked system_admin\n")
    code, output = run(db, "user", "list")
    assert output.splitlines() == [
        "root                     active    system_admin",
        "svc                      active    -",
    ]
    code, output = run(db, "user", "list", "--json")
    assert [u["display_name"] for u in json.loads(output)] == ["The Admin", None]
    assert "argon2" not in output


def test_user_errors_exit_1_with_a_message(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    code, output = run(db, "user", "create", "ann", "--password-stdin", stdin="short\n")
    assert code == 1
    assert output.splitlines() == [
        "error: The password must be at least 10 characters long",
        "  /password: The password must be at least 10 characters long",
    ]
    assert run(db, "user", "create", "ann", "--password-stdin", stdin="")[1] == (
        "error: No password on standard input\n"
    )
    assert run(db, "user", "create", "ann")[0] == 0
    assert run(db, "user", "create", "ANN") == (1, "error: The username 'ann' is taken\n")
    code, output = run(db, "user", "grant", "ann", "system_admn")
    assert code == 1 and "did you mean 'system_admin'?" in output
    code, output = run(db, "user", "grant", "nobody", "system_admin")
    assert (code, output) == (1, "error: No user named 'nobody'\n")
    assert run(db, "user", "revoke", "ann", "system_admin")[0] == 1
