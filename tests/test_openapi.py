"""The OpenAPI document: valid for a real validator, every operation typed, and real responses of every operation
conform to it (status, body schema, headers), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate
from PIL import Image
from pydantic import BaseModel

from labeling import api, cli
from labeling.api import openapi
from tests.conftest import bearer


@pytest.fixture(scope="module")
def doc() -> dict:
    """The document, built once."""
    return openapi.document()


def test_the_document_passes_a_validator(doc: dict) -> None:
    validate(doc)  # openapi-spec-validator: raises on any violation of OpenAPI 3.1


def _typed(shape: Any) -> bool:
    """A Pydantic model, or an Annotated or a union of models."""
    if isinstance(shape, type) and issubclass(shape, BaseModel):
        return True
    if getattr(shape, "__metadata__", None) is not None:  # Annotated[X, ...]
        return _typed(shape.__origin__)
    args = getattr(shape, "__args__", ())
    return bool(args) and all(_typed(arg) for arg in args)


def test_every_operation_has_a_typed_response(doc: dict) -> None:
    """An Op without a Pydantic response model (or FILE) fails here: see labeling/api/__init__.py for how to type."""
    untyped = [f"{op.method} {op.path}" for op in api.OPS if op.response is not api.FILE and not _typed(op.response)]
    assert not untyped, f"operations without a typed response (give their Op a response=schemas.Model): {untyped}"
    for op in api.OPS:
        responses = doc["paths"][op.path][op.method.lower()]["responses"]
        ok = responses[str(op.status)]
        assert ok["content"], op.path
        for media in ok["content"].values():
            assert media["schema"] not in ({}, {"type": "object"}), f"{op.method} {op.path}: a bare object"
        assert {"401", "500"} <= set(responses) or op.action in ("openapi.read", "health.read"), op.path
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_commands_it_names_for_a_token_exist(doc: dict, capsys: pytest.CaptureFixture) -> None:
    """The bearer scheme says where tokens come from; a `labeling ...` command it names is a real one."""
    words = doc["components"]["securitySchemes"]["bearer"]["description"]
    commands = re.findall(r"\blabeling ([a-z-]+(?: [a-z-]+)?)", words)
    assert commands
    for command in commands:
        with pytest.raises(SystemExit) as done:
            cli.parser().parse_args([*command.split(), "--help"])
        assert done.value.code == 0, f"`labeling {command}` is not a command"


def test_constraints_are_in_the_document(doc: dict) -> None:
    schemas = doc["components"]["schemas"]
    limit = next(p for p in doc["paths"]["/api/projects"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 1000)
    assert schemas["UserCreate"]["properties"]["username"]["pattern"].startswith("^[A-Za-z0-9]")
    assert set(schemas["Role"]["enum"]) == {"admin", "requester", "worker"}
    assert "text_classification" in schemas["TaskType"]["enum"]
    assert set(schemas["Task"]["properties"]["state"]["enum"]) == {"open", "complete"}
    assert set(schemas["Project"]["properties"]["status"]["enum"]) == {"active", "paused", "archived"}
    redundancy = schemas["ProjectCreate"]["properties"]["redundancy"]["anyOf"][0]
    assert (redundancy["minimum"], redundancy["maximum"]) == (1, 100)
    path_id = doc["paths"]["/api/projects/{project_id}"]["get"]["parameters"][0]["schema"]
    assert path_id == {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}
    submit = doc["paths"]["/api/assignments/{assignment_id}/submit"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in submit["parameters"])
    assert {"400", "401", "403", "404", "409", "413", "500"} <= set(submit["responses"])
    export = doc["paths"]["/api/projects/{project_id}/export"]["get"]["responses"]["200"]
    assert export["headers"]["Content-Disposition"]["required"] is True
    assert "since" in export["headers"]["Labeling-Next-Since"]["description"]  # the incremental pull's cursor


def test_the_export_query_documents_every_export_option(doc: dict) -> None:
    """The OpenAPI's export parameters are the options the API reads (export/options.py): csv_escape_formulas was
    taken by the API and described in README, and missing from the document (a generated client could not send it)."""
    from labeling.export import options

    documented = {p["name"] for p in doc["paths"]["/api/projects/{project_id}/export"]["get"]["parameters"]
                  if p["in"] == "query"}
    assert documented == {"format", *options.NAMES}


# ------------------------------------------------------------------------------------------------------------------
# Real responses against the document.

class Contract:
    """Sends requests and checks each response against the document: the status is documented for the operation,
    the body fits the status's schema, required headers are there. Remembers which operations it saw succeed."""

    def __init__(self, client: httpx.AsyncClient, doc: dict) -> None:
        self.client, self.doc = client, doc
        self.templates = [(re.compile("^" + re.sub(r"{\w+}", r"[^/]+", path) + "$"), path) for path in doc["paths"]]
        self.succeeded: set[tuple[str, str]] = set()

    def operation(self, method: str, url: str) -> tuple[str, dict]:
        path = url.split("?")[0]
        matches = [t for pattern, t in self.templates if pattern.match(path) and method.lower() in self.doc["paths"][t]]
        assert matches, f"{method} {path} is not in the document"
        template = min(matches, key=lambda t: t.count("{"))  # a literal segment wins over a parameter
        return template, self.doc["paths"][template][method.lower()]

    async def __call__(self, method: str, url: str, token: str, **kwargs: Any) -> httpx.Response:
        headers = {**bearer(token), **kwargs.pop("headers", {})}
        response = await self.client.request(method, url, headers=headers, **kwargs)
        template, operation = self.operation(method, url)
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {template}: {status} is not documented: {response.text}"
        documented = operation["responses"][status]
        for name, header in documented.get("headers", {}).items():
            if header.get("required"):
                assert name.lower() in response.headers, f"{method} {template}: no {name} header"
        content = documented.get("content", {})
        if "application/json" in content and response.headers.get("content-type", "").startswith("application/json"):
            schema = {**content["application/json"]["schema"], "components": self.doc["components"]}
            jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(response.json())
        elif content:
            media = response.headers.get("content-type", "").split(";")[0]
            assert media in content, f"{method} {template}: {media} is not documented"
        if response.status_code < 300:
            self.succeeded.add((method, template))
        return response


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(buffer, "PNG")
    return buffer.getvalue()


async def test_real_responses_of_every_operation_conform(client: httpx.AsyncClient, doc: dict, make_user,
                                                         admin: str, requester: str) -> None:
    call = Contract(client, doc)
    worker_row, worker = await make_user("worker", "w1")
    wid = worker_row["id"]
    assert (await call("GET", "/api/users/me", requester)).status_code == 200
    bob = (await call("POST", "/api/users", admin, json={"username": "bob", "role": "worker",
                                                         "password": "password1"})).json()
    await call("GET", "/api/users?role=worker&active=true&limit=2", admin)
    await call("GET", f"/api/users/{bob['id']}", admin)
    await call("POST", f"/api/users/{bob['id']}/token", admin)
    await call("POST", f"/api/users/{bob['id']}/password", admin, json={"password": "password2"})
    await call("POST", f"/api/users/{bob['id']}/deactivate", admin)
    await call("POST", f"/api/users/{bob['id']}/reactivate", admin)
    worker = (await call("POST", "/api/users/me/token", worker)).json()["token"]
    project = (await call("POST", "/api/projects", requester, json={
        "name": "p", "task_type": "text_classification", "labels": ["a", {"name": "b", "color": "#fff", "hotkey": "b"}],
        "redundancy": {"min": 1, "max": 3, "target_confidence": 0.9}})).json()
    pid = project["id"]
    await call("GET", "/api/projects?limit=5&status=active", requester)
    await call("GET", "/api/projects", worker)
    await call("GET", f"/api/projects/{pid}", requester)
    await call("GET", f"/api/projects/{pid}", worker)
    await call("PATCH", f"/api/projects/{pid}", requester, json={"instructions": "read", "options": {"k": 1}})
    read = (await call("GET", f"/api/projects/{pid}", requester)).headers["ETag"]
    patched = await call("PATCH", f"/api/projects/{pid}", requester, json={"instructions": "as read"},
                         headers={"If-Match": read})
    stale = await call("PATCH", f"/api/projects/{pid}", requester, json={"instructions": "x"}, headers={"If-Match": read})
    assert stale.status_code == 412
    await call("PUT", f"/api/projects/{pid}/pool", requester, json={"all_workers": False, "workers": ["w1"]},
               headers={"If-Match": patched.headers["ETag"]})
    assert (await call("PUT", f"/api/projects/{pid}/pool", requester, json={"all_workers": True},
                       headers={"If-Match": read})).status_code == 412
    await call("GET", f"/api/projects/{pid}/pool", requester)
    tasks = [{"data": {"text": f"t{i}"}, "external_id": f"e{i}"} for i in range(4)]
    await call("POST", f"/api/projects/{pid}/tasks", requester, json=[*tasks, {"data": {"text": "g"},
                                                                                 "gold": {"label": "a"}}])
    await call("GET", f"/api/projects/{pid}/tasks?state=open&gold=false", requester)
    lease = (await call("POST", f"/api/projects/{pid}/next", worker)).json()
    aid = lease["assignment_id"]
    await call("POST", f"/api/assignments/{aid}/renew", worker)
    answer = {"answer": {"label": "a"}, "duration_ms": 5, "meta": {"time_on_task_ms": 3}}
    done = (await call("POST", f"/api/assignments/{aid}/submit", worker, json=answer,
                       headers={"Idempotency-Key": "k1"})).json()
    again = await call("POST", f"/api/assignments/{aid}/submit", worker, json=answer, headers={"Idempotency-Key": "k1"})
    assert again.headers["Idempotent-Replayed"] == "true"
    second = (await call("POST", f"/api/projects/{pid}/next", worker)).json()["assignment_id"]
    await call("POST", f"/api/assignments/{second}/report", worker, json={"text": "unclear"})
    await call("POST", f"/api/assignments/{second}/skip", worker, json={"reason": "unclear"})
    third = (await call("POST", f"/api/projects/{pid}/next", worker)).json()
    await call("POST", f"/api/assignments/{third['assignment_id']}/release", worker)
    again = (await call("POST", f"/api/projects/{pid}/next?prefer_task={third['task']['id']}&resume={third['resume']}",
                        worker)).json()["assignment_id"]
    await call("POST", f"/api/assignments/{again}/release", worker)
    await call("GET", f"/api/projects/{pid}/my-answers?limit=10", worker)
    await call("PUT", f"/api/annotations/{done['annotation_id']}", worker, json={"answer": {"label": "b"}})
    await call("GET", f"/api/projects/{pid}/progress", worker)
    await call("GET", f"/api/projects/{pid}/tasks/{done['task_id']}", requester)
    await call("GET", f"/api/projects/{pid}/results", requester)
    await call("GET", f"/api/projects/{pid}/quality", requester)
    task = f"/api/projects/{pid}/tasks/{done['task_id']}"
    await call("POST", f"{task}/accept", requester)
    await call("POST", f"{task}/override", requester, json={"answer": {"label": "a"}})
    await call("POST", f"{task}/answers/{done['annotation_id']}/exclude", requester, json={"excluded": True})
    await call("POST", f"{task}/answers/{done['annotation_id']}/exclude", requester, json={"excluded": False})
    more = (await call("POST", f"{task}/more-answers", requester)).json()
    retried = (await call("POST", f"{task}/more-answers", requester, json={"needed": more["needed"]})).json()
    assert retried["changed"] is False and retried["needed"] == more["needed"]
    ranked = (await call("POST", "/api/projects", requester, json={
        "name": "models", "task_type": "preference_ranking"})).json()["id"]
    responses = [{"id": "a", "text": "x", "model": "m1"}, {"id": "b", "text": "y", "model": "m2"}]
    await call("POST", f"/api/projects/{ranked}/tasks", requester,
               json=[{"data": {"prompt": f"p{i}", "responses": responses, "category": "c"}} for i in range(2)])
    for path in (f"/api/projects/{ranked}/leaderboard", f"/api/leaderboard?projects={ranked}"):
        assert (await call("GET", path, requester)).status_code == 409  # no battles yet
    for _ in range(2):
        lease = (await call("POST", f"/api/projects/{ranked}/next", worker)).json()
        await call("POST", f"/api/assignments/{lease['assignment_id']}/submit", worker,
                   json={"answer": {"ranking": [["a"], ["b"]]}})
    await call("GET", f"/api/projects/{ranked}/leaderboard?by=category&bootstrap=50&seed=1", requester)
    await call("GET", f"/api/leaderboard?projects={ranked},{ranked}&bootstrap=20", requester)
    await call("POST", f"/api/projects/{pid}/consensus", requester, json={"method": "majority"})
    await call("GET", f"/api/projects/{pid}/export?format=jsonl&include_open=true", requester)
    await call("POST", f"/api/projects/{pid}/workers/{wid}/block", requester)
    await call("POST", f"/api/projects/{pid}/workers/{wid}/unblock", requester)
    await call("DELETE", f"/api/projects/{pid}/workers/{wid}/answers?confirm=true", requester)
    team = (await call("POST", "/api/teams", requester, json={"name": "t", "members": ["w1"]})).json()
    await call("GET", "/api/teams", requester)
    await call("GET", f"/api/teams/{team['id']}", requester)
    await call("GET", f"/api/teams/{team['id']}/members", requester)
    await call("POST", f"/api/teams/{team['id']}/members", requester, json={"workers": ["bob"]})
    await call("DELETE", f"/api/teams/{team['id']}/members/{wid}", requester)
    await call("DELETE", f"/api/teams/{team['id']}", requester)
    await call("GET", f"/api/audit?limit=3&project_id={pid}", requester)
    await call("POST", "/api/media", requester, files={"file": ("a.png", _png(), "image/png")})
    await call("DELETE", f"/api/projects/{pid}/tasks", requester, json={"external_ids": ["e3"], "confirm": True})
    await call("DELETE", f"/api/projects/{pid}?confirm=p", requester)
    await call("GET", "/api/health", requester)
    await call("GET", "/api/openapi.json", requester)
    missing = {(op.method, op.path) for op in api.OPS} - call.succeeded
    assert not missing, f"operations this test does not exercise: {sorted(missing)}"
    # Errors have the one shape, with the statuses the document gives.
    for method, url, token, status in [("GET", "/api/projects/99999999999999999999", requester, 404),
                                       ("GET", "/api/users", requester, 403), ("GET", "/api/projects", "nope", 401),
                                       ("GET", "/api/projects?limit=0", requester, 400),
                                       ("POST", "/api/projects", requester, 400),
                                       ("POST", f"/api/projects/{pid}/next", worker, 404)]:
        assert (await call(method, url, token)).status_code == status, url
