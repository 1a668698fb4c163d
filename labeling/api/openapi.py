"""GET /api/openapi.json: an OpenAPI 3.1 document built from the route table (labeling/api/__init__.py OPS) and the
Pydantic models that validate each request (labeling/schemas.py) and describe each response
(labeling/responses.py)."""

from __future__ import annotations

import functools
import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import labeling
from labeling import api, policy, responses, schemas, web
from labeling.models import Role

REF = "#/components/schemas/{model}"
ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": web.ID_LIMIT}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ERROR_WORDS = {
    400: "bad input: the field (or line) at fault is named", 401: "no, bad or revoked credentials",
    403: "the caller's role may never do this, a write from a session lacks its CSRF token, or the worker is blocked",
    404: "no such object, or not the caller's (existence is never revealed)",
    409: "conflicts with the current state (a name taken, a lease expired or used, a project paused or archived)",
    412: "the project changed since the ETag sent in If-Match was read (precondition_failed): read it again",
    413: "the request body is larger than its cap (LABELING_MAX_BODY_BYTES or the field's cap)",
    415: "the request body's Content-Type is not one this operation reads (the message names those it does)",
    500: "an unexpected error; the server log has the details",
}
# A request header an operation reads: its schema and words.
REQUEST_HEADERS = {
    "Idempotency-Key": ({"type": "string", "minLength": 1, "maxLength": 200},
                        ("A retried submit with the same key answers the first submit's 201 again (with the header "
                         "Idempotent-Replayed: true) instead of storing a second answer.")),
    "If-Match": ({"type": "string", "minLength": 1, "pattern": schemas.ENTITY_TAGS},
                 ("The project's ETag as read (GET /api/projects/{id} or its pool): the change is made only if the "
                  "project is still that version, else 412 precondition_failed (read it again); a value that is no "
                  "entity tag is a 400. Without it the change is made whatever changed meanwhile.")),
}


# Pydantic leaves the bounds of an optional number read from text (schemas.QueryInt) under their Python names.
BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _lean(schema: dict) -> dict:
    """A query parameter's schema: no title, and no null branch (an absent parameter is how null is said)."""
    schema = {BOUNDS.get(k, k): v for k, v in schema.items() if k not in ("title", "default")}
    branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        schema.update({BOUNDS.get(k, k): v for k, v in branches[0].items()})
    elif branches:
        schema["anyOf"] = branches
    return schema


def _query(model: type[BaseModel] | None) -> list[dict]:
    if model is None:
        return []
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    return [{"name": name, "in": "query", "required": name in required, "schema": _lean(prop),
             **({"description": prop["description"]} if "description" in prop else {})}
            for name, prop in schema["properties"].items()]


class _Schemas:
    """Every model's JSON schema, made together so each model is one component (requests in validation mode,
    responses in serialization mode)."""

    def __init__(self) -> None:
        self.inputs: list[tuple[Any, str, TypeAdapter]] = []

    def ref(self, kind: str, shape: Any) -> tuple[str, str]:
        key = (kind, repr(shape))
        self.inputs.append((key, "serialization" if kind == "out" else "validation", TypeAdapter(shape)))
        return key  # type: ignore[return-value]

    def build(self) -> tuple[dict, dict]:
        by_key, defs = TypeAdapter.json_schemas(self.inputs, ref_template=REF)
        return {key: schema for (key, _), schema in by_key.items()}, defs.get("$defs", {})


def _error_statuses(op: api.Op) -> list[int]:
    """The error statuses an operation can answer, from what it reads and its policy rule."""
    rule = policy.rule(op.action)
    codes = {500}
    if not rule.public:
        codes.add(401)
    unsafe = op.method in UNSAFE
    if not rule.public or unsafe or op.body is not None or op.query is not None or op.request_headers:
        codes.add(400)  # an operation without query parameters refuses one (api._handler), but the public ones
    allowed = set(rule.roles) | ({Role.admin} if rule.admin else set())
    if not rule.public and (unsafe or allowed != set(Role)):
        codes.add(403)
    if re.search(r"{\w+}", op.path) or rule.relations:
        codes.add(404)
    if unsafe:
        codes.add(409)
    if unsafe or op.body is not None:  # any write may carry a body: counted against its cap, of a type it reads
        codes.update((413, 415))
    return sorted(codes | set(op.errors))


def _content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def document() -> dict:
    """The whole OpenAPI document."""
    shapes = _Schemas()
    error_key = shapes.ref("out", responses.Error)
    pending = []
    for op in api.OPS:
        body_key = None
        if op.body is not None and not isinstance(op.body, dict):
            body_key = shapes.ref("in", op.body)
        out_key = None if op.response is api.FILE else shapes.ref("out", op.response)
        for model in op.refs:
            shapes.ref("in", model)
        pending.append((op, body_key, out_key))
    by_key, defs = shapes.build()

    paths: dict[str, dict] = {}
    for op, body_key, out_key in pending:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, body_key, out_key, by_key)
    return {
        "openapi": "3.1.0",
        "info": {"title": "labeling", "version": labeling.__version__, "description": (
            "Self-hosted data labeling and human feedback: projects, tasks, a work queue, consensus. Every error "
            "has the one Error shape. A method a path does not have is answered 405 with an Allow header listing "
            "those it has. Ids are positive 64-bit integers; an id out of range is a 404. No string, in a body or "
            "a query, may hold a NUL character or a lone surrogate (neither database can store them): a 400.")},
        "paths": paths,
        "components": {
            "schemas": defs,
            "responses": {"MethodNotAllowed": {
                "description": "the path has no such method", "content": _content(by_key[error_key]),
                "headers": {"Allow": {"description": "the methods the path has", "schema": {"type": "string"}}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": (
                "An API token (labeling users add, POST /api/users, POST /api/users/me/token). A browser's session "
                "cookie works too; its writes need the X-CSRF-Token header.")}},
        },
    }


def _operation(op: api.Op, body_key: Any, out_key: Any, by_key: dict) -> dict:
    doc = (op.handler.__doc__ or "").strip().splitlines()
    error = by_key[("out", repr(responses.Error))]
    params = [{"name": name, "in": "path", "required": True, "schema": ID_SCHEMA}
              for name in re.findall(r"{(\w+)}", op.path)]
    params += _query(op.query)
    params += [{"name": name, "in": "header", "required": False, "schema": REQUEST_HEADERS[name][0],
                "description": REQUEST_HEADERS[name][1]} for name in op.request_headers]
    if op.response is api.FILE:
        ok: dict[str, Any] = {
            "description": "the export, streamed (a zip when it is several files)",
            "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in api.export.MEDIA_TYPES},
            "headers": {"Content-Disposition": {"required": True, "description": "attachment; filename=\"...\"",
                                                "schema": {"type": "string", "pattern": "^attachment; filename="}},
                        api.export.NEXT_SINCE: {
                            "required": False, "description": "the snapshot this export read, as the next incremental "
                            "pull's since (every format but dump)",
                            "schema": {"type": "string", "pattern": api.export.options.CURSOR.pattern}}}}
    else:
        ok = {"description": (schemas_doc(op.response) or "OK"), "content": _content(by_key[out_key])}
    if op.response_headers:
        ok["headers"] = {name: {"schema": {"type": "string"}, "description": words}
                         for name, words in op.response_headers.items()}
    answers: dict[str, Any] = {str(op.status): ok}
    for code in op.no_content:
        answers[str(code)] = {"description": "no content"}
    for code in _error_statuses(op):
        answers[str(code)] = {"description": ERROR_WORDS.get(code, "error"), "content": _content(error)}
        if code == 401:
            answers["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        if code == 429:
            answers["429"]["headers"] = {"Retry-After": {"required": True, "description": "seconds to wait",
                                                           "schema": {"type": "integer", "minimum": 0}}}
    operation: dict[str, Any] = {
        "operationId": op.handler.__name__, "summary": doc[0] if doc else op.path, "tags": list(op.tags),
        "parameters": params, "responses": answers,
        "security": [] if policy.rule(op.action).public else [{"bearer": []}],
        "description": who_may(op.action), "x-action": op.action,
    }
    if isinstance(op.body, dict):
        operation["requestBody"] = {"required": op.body_required, "content": op.body}
    elif body_key is not None:
        operation["requestBody"] = {"required": op.body_required, "content": _content(by_key[body_key])}
    return operation


def schemas_doc(shape: Any) -> str:
    """The first line of a response model's docstring."""
    words = (getattr(shape, "__doc__", None) or "").strip().splitlines() if isinstance(shape, type) else []
    return words[0] if words else ""


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


@functools.cache
def _rendered() -> bytes:
    """The document as JSON, made once per process (it only changes with the code)."""
    return JSONResponse(document()).body


async def openapi(request: Request, caller: web.Caller) -> Response:
    """GET /api/openapi.json"""
    return Response(_rendered(), media_type="application/json")
