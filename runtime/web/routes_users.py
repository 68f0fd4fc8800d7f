"""The user admin API (``system_admin`` only): users, role grants, sessions.

User JSON is :meth:`UserInfo.as_dict` — never a password hash.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.security.users import UNSET, UserService
from runtime.web import auth, body

CREATE_KEYS = ("username", "password", "display_name", "email", "roles")
UPDATE_KEYS = ("display_name", "email", "is_active", "password")


def _users(request: Request) -> UserService:
    service: UserService = request.app.state.users
    return service


def list_users(request: Request) -> Response:
    auth.require_system_admin(request)
    return JSONResponse({"data": [u.as_dict() for u in _users(request).list()]})


async def create_user(request: Request) -> Response:
    auth.require_system_admin(request)
    data = await body.read_object(request, allowed=CREATE_KEYS)
    username = body.required_text(data, "username", max_length=150)
    password = body.text(data, "password", max_length=10_000)
    display_name = body.text(data, "display_name")
    roles = body.string_list(data, "roles")
    email = body.text(data, "email", max_length=254)
    user = await run_in_threadpool(
        lambda: _users(request).create(
            username, password, display_name, roles, auth.origin(request), email=email
        )
    )
    return JSONResponse(user.as_dict(), status_code=201)


def get_user(request: Request) -> Response:
    auth.require_system_admin(request)
    return JSONResponse(_users(request).get(request.path_params["username"]).as_dict())


async def update_user(request: Request) -> Response:
    auth.require_system_admin(request)
    data = await body.read_object(request, allowed=UPDATE_KEYS)
    display_name = body.text(data, "display_name") if "display_name" in data else UNSET
    email = body.text(data, "email", max_length=254) if "email" in data else UNSET
    is_active = body.boolean(data, "is_active")
    password = body.text(data, "password", max_length=10_000)
    user = await run_in_threadpool(
        lambda: _users(request).update(
            request.path_params["username"],
            display_name=display_name,
            email=email,
            is_active=is_active,
            password=password,
            by=auth.origin(request),
        )
    )
    return JSONResponse(user.as_dict())


async def grant_role(request: Request) -> Response:
    auth.require_system_admin(request)
    data = await body.read_object(request, allowed=("role",))
    role = body.required_text(data, "role", max_length=60)
    users = _users(request)
    username = request.path_params["username"]

    def work() -> tuple[bool, dict[str, Any]]:
        added = users.grant_role(username, role, auth.origin(request))
        return added, users.get(username).as_dict()

    added, shown = await run_in_threadpool(work)
    return JSONResponse(shown, status_code=201 if added else 200)


def revoke_role(request: Request) -> Response:
    auth.require_system_admin(request)
    users = _users(request)
    username = request.path_params["username"]
    users.revoke_role(username, request.path_params["role"], auth.origin(request))
    return JSONResponse(users.get(username).as_dict())


def revoke_sessions(request: Request) -> Response:
    auth.require_system_admin(request)
    count = _users(request).revoke_sessions(request.path_params["username"], auth.origin(request))
    return JSONResponse({"revoked": count})


routes = [
    Route("/api/v1/users", list_users, methods=["GET"]),
    Route("/api/v1/users", create_user, methods=["POST"]),
    Route("/api/v1/users/{username}", get_user, methods=["GET"]),
    Route("/api/v1/users/{username}", update_user, methods=["PATCH"]),
    Route("/api/v1/users/{username}/roles", grant_role, methods=["POST"]),
    Route("/api/v1/users/{username}/roles/{role}", revoke_role, methods=["DELETE"]),
    Route("/api/v1/users/{username}/sessions/revoke", revoke_sessions, methods=["POST"]),
]
