"""schemathesis against the real server (SQLite, or PostgreSQL when LABELING_TEST_DATABASE_URL is set), every
operation of the OpenAPI document, every check on: no server error, status codes, content types, response
schemas and headers, valid data accepted, invalid data refused, authentication enforced, 405 with Allow.

Generated path ids are random 64-bit numbers (404s); in positive cases they are swapped for ids of a world made
before the run (a project with tasks, leases, answers, a team, spare users), so the success responses are checked
too. "Valid data is accepted" is checked here rather than by schemathesis' own check, to allow the one answer the
document cannot rule out: a 400 where validity depends on stored state (a task's data on its project's task type,
a cursor on the pages the server issued); every other status it allows is the same."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from labeling.api import openapi
from tests.conftest import PG_URL, fresh_database
from tests.live import LiveServer

EXAMPLES = int(os.environ.get("LABELING_SCHEMATHESIS_EXAMPLES", "15"))  # per operation and phase
# The coverage phase (every boundary and every way to break each field: ~60 requests an operation, unbounded by
# EXAMPLES) takes minutes here: LABELING_SCHEMATHESIS_PHASES=examples,coverage,fuzzing runs it.
PHASES = os.environ.get("LABELING_SCHEMATHESIS_PHASES", "examples,fuzzing").split(",")
schema = schemathesis.openapi.from_dict(openapi.document())
schema.config.phases.update(phases=PHASES)
# Each request carries the token of the user whose role the operation is for (World.token_for): schemathesis does
# not generate the Authorization header itself, and its ignored_auth check sends requests without it.
schema.config.generation.update(with_security_parameters=False)
schemathesis.serializer.alias("application/x-ndjson", "text/plain")  # an import's JSON Lines: text as it is

# Operations whose valid input depends on stored state the document cannot express: 400 is a right answer to a
# well-formed request there (their 400 still has to fit the Error schema, like every other response).
STATE_DEPENDENT = {
    "POST /api/projects": "options and labels are checked against the task type",
    "PATCH /api/projects/{project_id}": "labels in use may not be removed; options depend on the task type",
    "DELETE /api/projects/{project_id}": "confirm must be the project's name",
    "POST /api/projects/{project_id}/tasks": "task data is checked against the project's task type",
    "GET /api/projects/{project_id}/export": "the formats and options a project takes depend on its task type",
    "POST /api/projects/{project_id}/consensus": "the methods a project takes depend on its task type",
    "POST /api/projects/{project_id}/next": "prefer_task needs the resume value of the worker's own lease on it",
    "POST /api/assignments/{assignment_id}/submit": "the answer is checked against the task's type and data",
    "PUT /api/annotations/{annotation_id}": "the answer is checked against the task's type and data",
    "POST /api/assignments/{assignment_id}/skip": "a skip for 'other' needs a note",
    "PUT /api/projects/{project_id}/pool": "the workers and teams named must exist",
    "POST /api/teams": "the workers named must exist",
    "POST /api/teams/{team_id}/members": "the workers named must exist",
    "DELETE /api/projects/{project_id}/tasks": "the tasks named must exist",
    "POST /api/media": "the files must be images",
    "POST /api/projects/{project_id}/tasks/{task_id}/override": "the answer is checked against the task's type and data",
    "GET /api/projects/{project_id}/leaderboard": "only a preference-ranking project has a leaderboard",
    "GET /api/leaderboard": "the projects must be the caller's preference-ranking projects (ids below 2^63)",
}
ACCEPTED = (401, 403, 404, 409, 412)  # schemathesis' default for valid data, besides 2xx (and 3xx, 429, 5xx: none here),
# and 412: an If-Match that is not the project's version (a generated one never is)
WORKER_PATHS = ("/next", "/submit", "/skip", "/report", "/release", "/renew", "/my-answers", "/api/annotations/",
                "/progress")


@dataclass
class World:
    """The running server, its users' tokens and the ids of what was made before the run."""

    url: str
    tokens: dict[str, str]
    ids: dict[str, int]
    calls: dict[str, int] = field(default_factory=dict)

    def token_for(self, path: str) -> str:
        if path == "/api/users/me/token":
            return self.tokens["spare"]
        if path.startswith("/api/users"):
            return self.tokens["admin"]
        if any(part in path for part in WORKER_PATHS):
            return self.tokens["worker"]
        return self.tokens["requester"]


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def world(_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    server = LiveServer(fresh_database(_template, tmp), tmp / "data").start()
    try:
        tokens = {"admin": server.admin_token, "requester": server.user("st-req", "requester"),
                  "worker": server.user("st-worker", "worker"), "spare": server.user("st-spare", "worker")}
        ids: dict[str, int] = {}
        with server.client(tokens["admin"]) as admin:
            ids["user_id"] = _ok(admin.post("/api/users", json={"username": "st-other", "role": "worker"}))["id"]
        with server.client(tokens["worker"]) as worker, server.client(tokens["requester"]) as req:
            ids["worker_id"] = _ok(worker.get("/api/users/me"))["id"]
            pid = _ok(req.post("/api/projects", json={"name": "st", "task_type": "text_classification",
                                                      "labels": ["a", "b"], "redundancy": 2}))["id"]
            ids["project_id"] = pid
            _ok(req.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": f"t{i}"}} for i in range(40)]))
            lease = _ok(worker.post(f"/api/projects/{pid}/next"))
            done = _ok(worker.post(f"/api/assignments/{lease['assignment_id']}/submit",
                                   json={"answer": {"label": "a"}}))
            ids["annotation_id"], ids["task_id"] = done["annotation_id"], done["task_id"]
            ids["assignment_id"] = _ok(worker.post(f"/api/projects/{pid}/next"))["assignment_id"]
            ids["team_id"] = _ok(req.post("/api/teams", json={"name": "st-team", "members": ["st-worker"]}))["id"]
        yield World(server.base_url, tokens, ids)
    finally:
        server.stop()
        log = server.log.read_text(errors="replace") if server.log.exists() else ""
        if "Traceback" in log:  # a 500 fails its test; its traceback is only in the server's log
            print(f"\nthe server's log:\n{log[-6000:]}")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return chr(0) in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return isinstance(value, (list, tuple)) and any(_has_nul(v) for v in value)


def _has_whole_float(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(_has_whole_float(v) for v in value.values())
    return isinstance(value, (list, tuple)) and any(_has_whole_float(v) for v in value)


def state_dependent(case: Any, response: Any) -> bool:
    """Whether a 400 to a schema-valid request is about what the document cannot say: stored state, a NUL
    character, which no string may hold (neither database stores it; the document's description says so, and
    schemathesis' own check makes the same exception for bodies), or a whole number written as a float (`1.0`):
    JSON Schema's integer admits it, the API's strict reader does not (README, "`1.5` not a whole number")."""
    if f"{case.method.upper()} {case.operation.path}" in STATE_DEPENDENT:
        return True
    error = response.json()["error"]
    if "NUL character" in error["message"] and _has_nul((case.body, case.query, case.headers)):
        return True
    if error["message"].endswith("must be a whole number") and _has_whole_float(case.body):
        return True
    return error["field"] == "cursor" and "cursor" in (case.query or {})


@pytest.fixture(scope="module", autouse=True)
def _report(world: World) -> Iterator[None]:
    yield
    print(f"\nschemathesis: {sum(world.calls.values())} requests by phase {world.calls}, {EXAMPLES} examples an "
          f"operation, phases {PHASES}, on {'PostgreSQL' if PG_URL else 'SQLite'}")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_holds_to_the_document(case: Any, world: World) -> None:
    path = case.operation.path
    meta = case.meta
    positive = meta is not None and meta.generation.mode.is_positive
    if positive and case.path_parameters:
        case.path_parameters = {name: world.ids.get(name, value) for name, value in case.path_parameters.items()}
    response = case.call_and_validate(base_url=world.url, headers={"Authorization": f"Bearer {world.token_for(path)}"},
                                      excluded_checks=[positive_data_acceptance])
    phase = meta.phase.name.value if meta is not None else "explicit"
    world.calls[phase] = world.calls.get(phase, 0) + 1
    if positive and response.status_code >= 300 and response.status_code not in ACCEPTED:
        assert response.status_code == 400 and state_dependent(case, response), (
            f"valid data refused: {case.method} {path} answered {response.status_code}: {response.text}")
    if path == "/api/users/me/token" and response.status_code == 201:
        world.tokens["spare"] = response.json()["token"]  # the old token no longer works
