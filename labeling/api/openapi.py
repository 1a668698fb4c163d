"""GET /api/openapi.json: an OpenAPI 3.1 document built from the route table."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import labeling
from labeling import api, policy, web

ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "field": {"type": ["string", "null"]}, "line": {"type": "integer"}}}}}
PAGE_SCHEMA = {"type": "object", "required": ["data", "next"], "properties": {
    "data": {"type": "array", "items": {"type": "object"}}, "next": {"type": ["string", "null"]}}}


def _body(op: api.Op, components: dict) -> dict | None:
    if op.body is None:
        return None
    if isinstance(op.body, dict):
        return {"required": op.body_required, "content": op.body}
    schema = op.body.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[op.body.__name__] = schema
    return {"required": op.body_required,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}}}


def document() -> dict:
    """The whole OpenAPI document."""
    paths: dict[str, dict] = {}
    components: dict[str, Any] = {"Error": ERROR_SCHEMA, "Page": PAGE_SCHEMA}
    for op in api.OPS:
        doc = (op.handler.__doc__ or "").strip().splitlines()
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
                  for name in re.findall(r"{(\w+)}", op.path)]
        params += [{"name": name, "in": "query", "required": False,
                    "schema": {"type": "integer" if name in ("limit", "prefer_task", "bootstrap", "seed") else "string"}}
                   for name in op.query]
        ok_schema = {"$ref": "#/components/schemas/Page"} if op.response == "page" else {"type": "object"}
        responses: dict[str, Any] = {str(op.status): {"description": "OK", "content": {"application/json": {"schema": ok_schema}}}}
        if op.response == "file":  # a download: its media type depends on the format asked for
            responses[str(op.status)] = {"description": "the export, streamed (a zip when it is several files)",
                                         "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                             "format": "binary"}}}}
        if op.handler is api.work.next_task:
            responses["204"] = {"description": "nothing left for this worker"}
        for code, words in (("400", "bad input (the field is named)"), ("401", "no or bad token"),
                            ("403", "not allowed"), ("404", "not found"), ("409", "conflicts with the current state")):
            responses[code] = {"description": words, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        if op.action == "project.delete" or op.action.endswith(".answers.delete"):
            params = [dict(p, required=True) if p["name"] == "confirm" else p for p in params]
        operation: dict[str, Any] = {
            "operationId": op.handler.__name__, "summary": doc[0] if doc else op.path, "tags": list(op.tags),
            "parameters": params, "responses": responses, "security": [{"bearer": []}],
            "description": who_may(op.action), "x-action": op.action,
        }
        body = _body(op, components)
        if body:
            operation["requestBody"] = body
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "labeling", "version": labeling.__version__,
                 "description": "Self-hosted data labeling and human feedback: projects, tasks, a work queue, consensus."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


RELATION_WORDS = {policy.OWNER: "its owner", policy.MEMBER: "a worker in its pool", policy.HOLDER: "the lease holder",
                  policy.VIEWER: "someone who may see a project that shows it", policy.SELF: "that user"}


def who_may(action: str) -> str:
    """The policy rule of an action, in words (labeling/policy.py decides; this only describes)."""
    rule = policy.rule(action)
    if rule.public:
        return f"Action `{action}`: public."
    roles = " or ".join(sorted(r.value for r in rule.roles)) or "admin"
    words = f"Action `{action}`: {roles}"
    if rule.relations:
        words += ", as " + " or ".join(RELATION_WORDS[r] for r in sorted(rule.relations))
        words += " (anyone else: 404)"
    if rule.admin and rule.roles:
        words += "; admins may too"
    return words + "."


async def openapi(request: Request, caller: web.Caller) -> Response:
    """GET /api/openapi.json"""
    return JSONResponse(document())
