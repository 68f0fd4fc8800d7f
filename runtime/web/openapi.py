"""The OpenAPI 3.1 document of the JSON API, generated from the installed definitions.

One path set per installed object (its list, create, get, change, delete, bulk writes,
history, aggregate and CSV export) and two schemas per object: the record as it is read
(every field, nullable, computed fields read-only; a field the caller may not read is
absent) and the record as it is written (types, enums, lengths and bounds, required
fields on create). The object's workflow actions are listed under ``x-tenon-actions``.
Served at ``GET /api/v1/openapi.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.metadata.model import AppDef, FieldDef, ObjectDef

_SCALAR: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "reference": {"type": "integer", "minimum": 1},
    "user": {"type": "string", "description": "a username"},
}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["path", "code", "message"],
                        "properties": {
                            "path": {"type": "string"},
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
_SYSTEM = {
    "id": {"type": "integer", "readOnly": True},
    "version": {"type": "integer", "readOnly": True},
    "created_at": {"type": "string", "format": "date-time", "readOnly": True},
    "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
    "created_by": {"type": ["string", "null"], "readOnly": True},
    "updated_by": {"type": ["string", "null"], "readOnly": True},
}


def _label(value: Any) -> str | None:
    if isinstance(value, Mapping):
        text = value.get("en") or next(iter(value.values()), None)
        return str(text) if text else None
    return str(value) if value else None


def value_schema(fdef: FieldDef, writing: bool) -> dict[str, Any]:
    """The JSON Schema of one field's value (without null)."""
    kind = fdef.returns or "json"
    spec = fdef.spec
    schema: dict[str, Any]
    if kind in ("decimal", "currency", "percent"):
        text: dict[str, Any] = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
        schema = {"anyOf": [text, {"type": "number"}]} if writing else text
    elif kind in ("select", "multi_select"):
        options = fdef.options if not fdef.computed else []
        one: dict[str, Any] = {"type": "string", **({"enum": options} if options else {})}
        schema = {"type": "array", "items": one} if kind == "multi_select" else one
    elif kind in ("json", "attachment"):
        schema = {}
    else:
        schema = {**_SCALAR.get(str(fdef.storage or kind), {"type": "string"})}
    if not fdef.computed:
        if "max_length" in spec:
            schema["maxLength"] = int(spec["max_length"])
        if kind == "integer":
            for key, bound in (("min", "minimum"), ("max", "maximum")):
                if isinstance(spec.get(key), int):
                    schema[bound] = spec[key]
    label = _label(spec.get("label"))
    if label:
        schema["title"] = label
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if not schema:
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def record_schema(obj: ObjectDef) -> dict[str, Any]:
    properties: dict[str, Any] = dict(_SYSTEM)
    for fdef in obj.fields:
        schema = _nullable(value_schema(fdef, writing=False))
        if fdef.computed:
            schema = {**schema, "readOnly": True}
        properties[fdef.name] = schema
    if obj.workflow is not None:
        states = list(obj.workflow.states)
        properties["state"] = {"type": "string", "enum": states, "readOnly": True}
    return {"type": "object", "required": ["id", "version"], "properties": properties}


_USERNAME = {"type": "string", "description": "a username"}
APPROVAL_INPUTS: dict[str, dict[str, Any]] = {  # what the approval actions take
    "return": {"to_step": {"type": "string", "description": "an earlier step to ask again"}},
    "transfer": {"to": _USERNAME},
    "add_signer": {"user": _USERNAME, "position": {"enum": ["before", "after"]}},
    "cc": {"users": {"type": "array", "items": _USERNAME, "minItems": 1, "maxItems": 20}},
}


TASKS = {
    "get": {
        "tags": ["tasks"],
        "summary": "The caller's tasks: approvals to decide, to-dos, copies",
        "parameters": [
            {
                "name": "status",
                "in": "query",
                "schema": {"enum": ["pending", "waiting", "closed", "all"]},
            },
            {"name": "kind", "in": "query", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        ],
        "responses": {"200": {"description": "OK", "content": {"application/json": {}}}},
    }
}


MINE = {
    "get": {
        "tags": ["tasks"],
        "summary": "The approvals the caller submitted, newest first",
        "parameters": [
            {"name": "status", "in": "query", "schema": {"enum": ["running", "all"]}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        ],
        "responses": {"200": {"description": "OK", "content": {"application/json": {}}}},
    }
}


def _action_paths(app: AppDef, obj: ObjectDef) -> dict[str, Any]:
    """One path per workflow action, its body the comment, version and declared inputs."""
    if obj.workflow is None:
        return {}
    base = f"/api/v1/apps/{app.name}/objects/{obj.name}/records/{{id}}/actions"
    out: dict[str, Any] = {}
    for action in obj.workflow.actions:
        properties: dict[str, Any] = {
            "comment": {"type": "string", "maxLength": 4000},
            "version": {"type": "integer", "description": "the version you read"},
        }
        for transition in obj.workflow.transitions:
            if transition.action == action:
                for spec in transition.spec.get("inputs") or []:
                    fdef = FieldDef(str(spec["name"]), str(spec["type"]), spec)
                    properties[fdef.name] = _nullable(value_schema(fdef, writing=True))
        properties |= APPROVAL_INPUTS.get(action, {})
        request = {"type": "object", "properties": properties}
        out[f"{base}/{action}"] = {
            "parameters": [_ID],
            "post": {
                "tags": [obj.qualified],
                "summary": f"{action}: a workflow action on a {obj.name}",
                "requestBody": {"content": {"application/json": {"schema": request}}},
                "responses": {
                    "200": _json(_ref(obj.qualified)),
                    **_errors(400, 401, 403, 404, 409, 422),
                },
            },
        }
        bulk = {
            "type": "object",
            "required": ["ids"],
            "properties": {
                "ids": {"type": "array", "minItems": 1, "maxItems": 1000, "items": _ID["schema"]},
                "comment": {"type": "string", "maxLength": 4000},
            },
        }
        out[f"/api/v1/apps/{app.name}/objects/{obj.name}/records/bulk/actions/{action}"] = {
            "post": {
                "tags": [obj.qualified],
                "summary": f"{action} on up to 1,000 {obj.name} records, all or nothing",
                "requestBody": {"content": {"application/json": {"schema": bulk}}},
                "responses": {
                    "200": _json({"type": "object"}),
                    **_errors(400, 401, 403, 404, 409, 422),
                },
            },
        }
    if any(s.approval is not None or s.todos for s in obj.workflow.states.values()):
        out[base.rsplit("/", 1)[0] + "/approvals"] = {
            "parameters": [_ID],
            "get": {
                "tags": [obj.qualified],
                "summary": f"The approvals and to-dos of a {obj.name}, with every decision",
                "responses": {"200": _json({"type": "object"}), **_errors(401, 403, 404)},
            },
        }
    return out


def input_schema(obj: ObjectDef, creating: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required = []
    for fdef in obj.fields:
        if fdef.computed or fdef.type == "auto_number" or fdef.spec.get("system"):
            continue
        value = value_schema(fdef, writing=True)
        properties[fdef.name] = value if (creating and fdef.required) else _nullable(value)
        if creating and fdef.required:
            required.append(fdef.name)
    if not creating:
        properties["version"] = {"type": "integer", "description": "the version you read"}
        required.append("version")
    return {"type": "object", "properties": properties, "required": required}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"description": description or "OK", "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "bad request",
        401: "not signed in",
        403: "not allowed",
        404: "not found (or not visible to the caller)",
        409: "conflict (a stale version, records still referring)",
        422: "the record was not saved: every problem, with its field path",
    }
    return {str(s): _json(_ref("Error"), reasons[s]) for s in statuses}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def _paths(app: AppDef, obj: ObjectDef) -> dict[str, Any]:
    key = obj.qualified
    base = f"/api/v1/apps/{app.name}/objects/{obj.name}"
    tag = [key]
    page = {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": _ref(key)},
            "next_cursor": {"type": ["string", "null"]},
            "total": {"type": "integer"},
            "total_capped": {"type": "boolean"},
        },
    }
    bulk_result = {
        "type": "object",
        "properties": {
            "data": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "version": {"type": "integer"}},
                },
            }
        },
    }
    list_params = [
        _query("filter", "a condition in the formula language", {"type": "string"}),
        _query("sort", "fields, comma-separated, '-' for descending", {"type": "string"}),
        _query("limit", "rows per page (1–500)", {"type": "integer", "minimum": 1, "maximum": 500}),
        _query("cursor", "next_cursor of the previous page", {"type": "string"}),
        _query("fields", "fields to return, comma-separated", {"type": "string"}),
        _query("expand", "reference fields to nest, comma-separated", {"type": "string"}),
        _query("count", "also count the matching rows (exact up to 10,000)", {"type": "boolean"}),
    ]
    bulk_update_item = {
        "allOf": [
            _ref(f"{key}.update"),
            {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
        ]
    }

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def bulk(item: dict[str, Any]) -> dict[str, Any]:
        return body(
            {
                "type": "object",
                "required": ["records"],
                "properties": {"records": {"type": "array", "maxItems": 1000, "items": item}},
            }
        )

    return {
        f"{base}/records": {
            "get": {
                "tags": tag,
                "summary": f"List {obj.name} records",
                "parameters": list_params,
                "responses": {"200": _json(page), **_errors(400, 401, 403, 404)},
            },
            "post": {
                "tags": tag,
                "summary": f"Create a {obj.name}",
                "requestBody": body(_ref(f"{key}.create")),
                "responses": {"201": _json(_ref(key)), **_errors(400, 401, 403, 404, 409, 422)},
            },
        },
        f"{base}/records/bulk": {
            "post": {
                "tags": tag,
                "summary": f"Create up to 1,000 {obj.name} records, all or nothing",
                "requestBody": bulk(_ref(f"{key}.create")),
                "responses": {"201": _json(bulk_result), **_errors(400, 401, 403, 404, 422)},
            },
            "patch": {
                "tags": tag,
                "summary": f"Change up to 1,000 {obj.name} records, all or nothing",
                "requestBody": bulk(bulk_update_item),
                "responses": {"200": _json(bulk_result), **_errors(400, 401, 403, 404, 422)},
            },
        },
        f"{base}/records/{{id}}": {
            "parameters": [_ID],
            "get": {
                "tags": tag,
                "summary": f"One {obj.name}",
                "parameters": [list_params[4], list_params[5]],
                "responses": {"200": _json(_ref(key)), **_errors(401, 403, 404)},
            },
            "patch": {
                "tags": tag,
                "summary": f"Change a {obj.name} (send the version you read)",
                "requestBody": body(_ref(f"{key}.update")),
                "responses": {"200": _json(_ref(key)), **_errors(400, 401, 403, 404, 409, 422)},
            },
            "delete": {
                "tags": tag,
                "summary": f"Delete a {obj.name}",
                "parameters": [_query("version", "the version you read", {"type": "integer"})],
                "responses": {
                    "204": {"description": "deleted"},
                    **_errors(400, 401, 403, 404, 409),
                },
            },
        },
        f"{base}/records/{{id}}/history": {
            "parameters": [_ID],
            "get": {
                "tags": tag,
                "summary": f"The audit history of a {obj.name}",
                "responses": {"200": _json({"type": "object"}), **_errors(401, 403, 404)},
            },
        },
        f"{base}/aggregate": {
            "get": {
                "tags": tag,
                "summary": f"Counts and sums over the {obj.name} records the caller reads",
                "parameters": [
                    _query("group_by", "fields, comma-separated", {"type": "string"}),
                    _query("measure", "count, or sum|avg|min|max:field", {"type": "string"}),
                    list_params[0],
                ],
                "responses": {"200": _json({"type": "object"}), **_errors(400, 401, 403, 404)},
            },
        },
        f"{base}/export.csv": {
            "get": {
                "tags": tag,
                "summary": f"The {obj.name} records the caller may export, as CSV",
                "parameters": [list_params[0], list_params[1], list_params[4]],
                "responses": {
                    "200": {
                        "description": "CSV",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    },
                    **_errors(400, 401, 403, 404),
                },
            },
        },
    }


def _dashboard_paths(app: AppDef) -> dict[str, Any]:
    """The dashboards of an app that declares some (docs/dashboards.md)."""
    names = [str(b.get("name")) for b in app.raw.get("dashboards") or []]
    if not names:
        return {}
    base = f"/api/v1/apps/{app.name}/dashboards"
    ok = {"200": {"description": "OK", "content": {"application/json": {}}}}
    lang = {"name": "lang", "in": "query", "schema": {"type": "string", "maxLength": 8}}
    condition = {"name": "filter", "in": "query", "schema": {"type": "string"}}
    name = {"name": "name", "in": "path", "required": True, "schema": {"enum": names}}
    return {
        base: {
            "get": {
                "tags": ["dashboards"],
                "summary": f"The dashboards of {app.name} the caller may see",
                "parameters": [lang],
                "responses": ok,
            }
        },
        f"{base}/{{name}}": {
            "get": {
                "tags": ["dashboards"],
                "summary": "A dashboard, every widget with its data (or its error)",
                "parameters": [name, condition, lang],
                "responses": {**ok, "404": {"description": "no such dashboard for you"}},
            }
        },
    }


def document(apps: Mapping[str, AppDef], version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _ERROR}
    paths: dict[str, Any] = {}
    for app in sorted(apps.values(), key=lambda a: a.name):
        workflows = app.raw.get("workflows") or []
        for obj in app.objects:
            declared = sorted(
                {
                    str(t.get("action"))
                    for w in workflows
                    if w.get("object") == obj.name
                    for t in w.get("transitions") or []
                }
            )
            schemas[obj.qualified] = {**record_schema(obj), "x-tenon-actions": declared}
            schemas[f"{obj.qualified}.create"] = input_schema(obj, creating=True)
            schemas[f"{obj.qualified}.update"] = input_schema(obj, creating=False)
            paths.update(_paths(app, obj))
            paths.update(_action_paths(app, obj))
        paths.update(_dashboard_paths(app))
    paths["/api/v1/tasks"] = TASKS
    paths["/api/v1/approvals"] = MINE
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tenon", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
