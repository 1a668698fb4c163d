"""The access matrix: every route of the app (the OpenAPI document's and every HTML page) for every kind of caller.

Callers: no credentials, a wrong token, an admin, the project's owner, another requester, a worker in the
project's pool, a worker outside it, and a deactivated user (a pool worker whose account was then switched off).
Expected: 401 for no or bad credentials, 404 for an object that is not the caller's (never revealing it exists),
403 for a role that may never do the action, and for everyone allowed an answer that is none of those.

A route without an entry in MATRIX fails `test_every_route_has_a_matrix_entry`: a new route must say here who
may call it (and declare its policy action next to it).
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image
from starlette.routing import Mount, Route

from labeling import accounts, annotations, api, auth, media, membership, projects, queue, schemas, tasks, teams, web
from labeling.auth import Principal
from labeling.models import Role
from tests.conftest import bearer

CALLERS = ("none", "wrong", "admin", "owner", "other", "worker_in", "worker_out", "deactivated")
OK = "ok"  # anything but 401, 403, 404 and a server error
LOGIN = "login"  # an HTML page sends a visitor without credentials to sign in
SAME = "same"  # a public route: the same answer whoever calls, never 401

_BAD = {"none": 401, "wrong": 401, "deactivated": 401}
PUBLIC = {c: SAME for c in CALLERS}
SIGNED_IN = {**_BAD, **{c: OK for c in ("admin", "owner", "other", "worker_in", "worker_out")}}
REQUESTERS = {**SIGNED_IN, "worker_in": 403, "worker_out": 403}
ADMINS = {**_BAD, "admin": OK, "owner": 403, "other": 403, "worker_in": 403, "worker_out": 403}
OWNER = {**_BAD, "admin": OK, "owner": OK, "other": 404, "worker_in": 403, "worker_out": 403}
READ = {**_BAD, "admin": OK, "owner": OK, "other": 404, "worker_in": OK, "worker_out": 404}
WORK = READ  # claim: the owner labeling their own project, a pool worker, an admin
HOLDER = {**_BAD, "admin": 404, "owner": 404, "other": 404, "worker_in": OK, "worker_out": 404}
TEAM_OWNER = OWNER
PAGE_HOME = {**SIGNED_IN, "none": LOGIN}
PAGE_LABEL = {**READ, "none": LOGIN}
CONSOLE_LIST = {**REQUESTERS, "none": LOGIN}
CONSOLE_PROJECT = {**OWNER, "none": LOGIN}
CONSOLE_ADMIN = {**ADMINS, "none": LOGIN}
CONSOLE_TEAM = {**TEAM_OWNER, "none": LOGIN}

MATRIX: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/projects/{project_id}/next"): WORK,
    ("POST", "/api/assignments/{assignment_id}/submit"): HOLDER,
    ("POST", "/api/assignments/{assignment_id}/skip"): HOLDER,
    ("POST", "/api/assignments/{assignment_id}/release"): HOLDER,
    ("POST", "/api/assignments/{assignment_id}/renew"): HOLDER,
    ("POST", "/api/users"): ADMINS,
    ("GET", "/api/users"): ADMINS,
    ("GET", "/api/users/me"): SIGNED_IN,
    ("POST", "/api/users/me/token"): SIGNED_IN,
    ("GET", "/api/users/{user_id}"): ADMINS,
    ("POST", "/api/users/{user_id}/token"): ADMINS,
    ("POST", "/api/users/{user_id}/password"): ADMINS,
    ("POST", "/api/users/{user_id}/deactivate"): ADMINS,
    ("POST", "/api/users/{user_id}/reactivate"): ADMINS,
    ("POST", "/api/projects"): REQUESTERS,
    ("GET", "/api/projects"): SIGNED_IN,
    ("GET", "/api/projects/{project_id}"): READ,
    ("PATCH", "/api/projects/{project_id}"): OWNER,
    ("DELETE", "/api/projects/{project_id}"): OWNER,
    ("GET", "/api/projects/{project_id}/pool"): OWNER,
    ("PUT", "/api/projects/{project_id}/pool"): OWNER,
    ("POST", "/api/projects/{project_id}/tasks"): OWNER,
    ("GET", "/api/projects/{project_id}/tasks"): OWNER,
    ("DELETE", "/api/projects/{project_id}/tasks"): OWNER,
    ("GET", "/api/projects/{project_id}/results"): OWNER,
    ("GET", "/api/projects/{project_id}/quality"): OWNER,
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/accept"): OWNER,
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/override"): OWNER,
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/more-answers"): OWNER,
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/answers/{annotation_id}/exclude"): OWNER,
    ("POST", "/api/projects/{project_id}/consensus"): OWNER,
    ("POST", "/api/projects/{project_id}/workers/{worker_id}/block"): OWNER,
    ("POST", "/api/projects/{project_id}/workers/{worker_id}/unblock"): OWNER,
    ("DELETE", "/api/projects/{project_id}/workers/{worker_id}/answers"): OWNER,
    ("POST", "/api/teams"): REQUESTERS,
    ("GET", "/api/teams"): REQUESTERS,
    ("GET", "/api/teams/{team_id}"): TEAM_OWNER,
    ("DELETE", "/api/teams/{team_id}"): TEAM_OWNER,
    ("GET", "/api/teams/{team_id}/members"): TEAM_OWNER,
    ("POST", "/api/teams/{team_id}/members"): TEAM_OWNER,
    ("DELETE", "/api/teams/{team_id}/members/{worker_id}"): TEAM_OWNER,
    ("GET", "/api/audit"): REQUESTERS,
    ("GET", "/api/projects/{project_id}/export"): OWNER,
    ("GET", "/api/projects/{project_id}/leaderboard"): OWNER,
    ("GET", "/api/leaderboard"): OWNER,
    ("GET", "/api/projects/{project_id}/tasks/{task_id}"): OWNER,
    ("GET", "/api/projects/{project_id}/my-answers"): WORK,
    ("GET", "/api/projects/{project_id}/progress"): WORK,
    ("POST", "/api/assignments/{assignment_id}/report"): HOLDER,
    ("PUT", "/api/annotations/{annotation_id}"): HOLDER,
    ("POST", "/api/media"): REQUESTERS,
    ("GET", "/api/openapi.json"): PUBLIC,
    ("GET", "/api/health"): PUBLIC,
    ("GET", "/media/{path:path}"): READ,
    ("GET", "/signed-media/{expires}/{signature}/{path:path}"): PUBLIC,
    ("GET", "/"): PAGE_HOME,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/projects/{project_id}/label"): PAGE_LABEL,
    # ---- console pages (labeling/console/): one block per module, so parallel branches merge cleanly ----
    # projects.py, overview.py, new_project.py, import_.py, export.py, settings.py
    ("GET", "/console"): CONSOLE_LIST,
    ("GET", "/console/projects"): CONSOLE_LIST,
    ("GET", "/console/projects/{project_id}"): CONSOLE_PROJECT,
    ("GET", "/console/projects/new"): CONSOLE_LIST,
    ("POST", "/console/preview"): CONSOLE_LIST,
    ("GET", "/console/projects/{project_id}/settings"): CONSOLE_PROJECT,
    ("GET", "/console/projects/{project_id}/import"): CONSOLE_PROJECT,
    ("GET", "/console/projects/{project_id}/export"): CONSOLE_PROJECT,
    # -- results and task pages (review)
    ("GET", "/console/projects/{project_id}/results"): CONSOLE_PROJECT,
    ("GET", "/console/projects/{project_id}/tasks/{task_id}"): CONSOLE_PROJECT,

    # -- quality and people (firsthour)
    ("GET", "/console/projects/{project_id}/quality"): CONSOLE_PROJECT,
    ("GET", "/console/people"): CONSOLE_ADMIN,

    # -- leaderboard
    ("GET", "/console/projects/{project_id}/leaderboard"): CONSOLE_PROJECT,

    # -- account (console12)
    ("GET", "/console/account"): CONSOLE_LIST,

    # -- teams (teams7)
    ("GET", "/console/teams"): CONSOLE_LIST,
    ("GET", "/console/teams/{team_id}"): CONSOLE_TEAM,

    # ---- end of the console pages ----
}


def app_routes(app) -> list[tuple[str, str, Any]]:  # noqa: ANN001
    """(method, path, endpoint) of every route of the app but the static files."""
    out = []
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route), route
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, route.path, route.endpoint))
    return out


def test_every_route_has_a_matrix_entry_and_declares_its_action(app):
    from labeling import policy

    routes = app_routes(app)
    missing = sorted({(m, p) for m, p, _ in routes} - MATRIX.keys())
    assert not missing, f"routes without an entry in tests/test_policy_matrix.py MATRIX: {missing}"
    assert not sorted(MATRIX.keys() - {(m, p) for m, p, _ in routes}), "MATRIX names routes that do not exist"
    for method, path, endpoint in routes:
        action = web.action_of(endpoint, method)
        assert action in policy.RULES, f"{method} {path} declares no policy action"


async def test_every_openapi_operation_is_a_route(client, app):
    doc = (await client.get("/api/openapi.json")).json()
    routes = {(m, p) for m, p, _ in app_routes(app)}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert (method.upper(), path) in routes
            assert operation["x-action"] and "Action" in operation["description"]
    assert {(op.method, op.path) for op in api.OPS} <= routes


async def test_the_openapi_document_describes_every_api_route(client, app):
    """Every route under /api is in the document, /api/health and /api/openapi.json too, not only the OPS table."""
    doc = (await client.get("/api/openapi.json")).json()
    documented = {(method.upper(), path) for path, operations in doc["paths"].items() for method in operations}
    api_routes = {(m, p) for m, p, _ in app_routes(app) if p.startswith("/api/")}
    assert sorted(api_routes - documented) == []


@dataclass
class World:
    """One set of callers and objects: a listed pool, a team, a lease held by the pool worker, an image."""

    tokens: dict[str, str | None]
    ids: dict[str, Any]


_worlds = itertools.count()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, "PNG")
    return buffer.getvalue()


async def build_world(db, settings, app) -> World:  # noqa: ANN001
    """Every caller and object of the matrix, made through the domain functions (fast, no HTTP)."""
    n = next(_worlds)
    image = media.check_image("m.png", _png(), settings.media_max_bytes, settings.media_max_pixels)
    media.place(settings.media_dir, image.path, image.content)

    def make(tx):  # noqa: ANN001
        tokens, ids, people = {}, {}, {}
        for name, role in (("admin", "admin"), ("owner", "requester"), ("other", "requester"),
                           ("worker_in", "worker"), ("worker_out", "worker"), ("deactivated", "worker"),
                           ("target", "worker")):
            user, token = auth.create_user(tx, f"m{n}-{name}", role)
            tokens[name], people[name] = token, Principal(user["id"], user["username"], Role(role))
        owner = people["owner"]
        body = schemas.ProjectCreate(name=f"matrix {n}", task_type="image_classification", labels=["a", "b"])
        project_id = projects.create(tx, owner, body)
        mem = app.state.labeling.memory
        tasks.store(tx, queue.load_project(tx, mem, project_id), [
            tasks.ParsedTask({"image": image.path}, None, None, 0, f"t{i}") for i in range(3)])
        membership.set_pool(tx, owner, project_id, False,
                            [people["worker_in"].id, people["deactivated"].id], [])
        team_id = teams.create(tx, owner, f"team {n}", [people["worker_in"].id])
        answered = queue.claim_next(tx, mem, project_id, people["worker_in"], 16)
        done = annotations.submit(tx, mem, answered.assignment_id, people["worker_in"], {"label": "a"})
        lease = queue.claim_next(tx, mem, project_id, people["worker_in"], 16)
        accounts.deactivate(tx, people["admin"], people["deactivated"].id)
        ids.update(project_id=project_id, project_name=body.name, assignment_id=lease.assignment_id,
                   annotation_id=done.annotation_id, answered_task_id=done.task_id,
                   task_id=lease.task_id, team_id=team_id, user_id=people["target"].id,
                   worker_id=people["worker_in"].id, path=image.path)
        return World({**tokens, "none": None, "wrong": "lbl_" + "x" * 43}, ids)

    world = await db.transact(make)
    key = app.state.labeling.media_key
    url = media.signed_url(key, world.ids["path"])
    _, _, expires, signature, _ = url.split("/", 4)  # /signed-media/EXPIRES/SIGNATURE/PATH
    world.ids.update(expires=expires, signature=signature)
    return world


def request_for(method: str, path: str, world: World) -> dict:
    """The URL and a valid body for a route, so an allowed caller gets past validation."""
    ids = world.ids
    url = path.replace("{path:path}", ids["path"])
    if "{annotation_id}" in url and "{task_id}" in url:  # an answer of its task
        url = url.replace("{task_id}", str(ids["answered_task_id"]))
    for name in ("project_id", "assignment_id", "annotation_id", "task_id", "team_id", "user_id", "worker_id",
                 "expires", "signature"):
        url = url.replace("{" + name + "}", str(ids[name]))
    kwargs: dict[str, Any] = {}
    unique = f"x{next(_worlds)}"
    bodies = {
        ("POST", "/api/users"): {"username": unique, "role": "worker"},
        ("POST", "/api/users/{user_id}/password"): {"password": "a-long-password"},
        ("POST", "/api/projects"): {"name": unique, "task_type": "text_classification", "labels": ["a"]},
        ("PATCH", "/api/projects/{project_id}"): {"instructions": "read this"},
        ("PUT", "/api/projects/{project_id}/pool"): {"all_workers": False, "workers": [ids["worker_id"]]},
        ("POST", "/api/projects/{project_id}/tasks"): [{"data": {"image": ids["path"]}}],
        ("DELETE", "/api/projects/{project_id}/tasks"): {"task_ids": [ids["task_id"]], "confirm": True},
        ("POST", "/api/assignments/{assignment_id}/submit"): {"answer": {"label": "a"}},
        ("POST", "/api/assignments/{assignment_id}/report"): {"text": "the image does not load"},
        ("PUT", "/api/annotations/{annotation_id}"): {"answer": {"label": "b"}},
        ("POST", "/api/projects/{project_id}/tasks/{task_id}/override"): {"answer": {"label": "b"}},
        ("POST", "/api/teams"): {"name": unique},
        ("POST", "/api/teams/{team_id}/members"): {"workers": [ids["worker_id"]]},
        ("POST", "/console/preview"): {"instructions": "**read** this"},
    }
    if (method, path) in bodies:
        kwargs["json"] = bodies[(method, path)]
    params = {("DELETE", "/api/projects/{project_id}"): {"confirm": ids["project_name"]},
              ("GET", "/api/projects/{project_id}/export"): {"format": "jsonl"},
              ("GET", "/api/leaderboard"): {"projects": str(ids["project_id"])},
              ("DELETE", "/api/projects/{project_id}/workers/{worker_id}/answers"): {"confirm": "true"}}
    if (method, path) in params:
        kwargs["params"] = params[(method, path)]
    if (method, path) == ("POST", "/api/media"):
        kwargs["files"] = {"file": ("m.png", _png(), "image/png")}
    if (method, path) == ("POST", "/login"):
        kwargs["data"] = {"username": "nobody", "password": "wrong password"}
    return {"method": method, "url": url, **kwargs}


async def call(client, method: str, path: str, world: World, who: str) -> Any:  # noqa: ANN001
    token = world.tokens[who]
    headers = bearer(token) if token else {}
    request = request_for(method, path, world)
    return await client.request(request.pop("method"), request.pop("url"), headers=headers, **request)


def judge(expected: Any, response: Any, method: str, path: str, who: str) -> None:
    where = f"{method} {path} as {who}: {response.status_code} {response.text[:200]}"
    assert response.status_code < 500, where
    if expected == OK:
        assert response.status_code not in (401, 403, 404), where
    elif expected == LOGIN:
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), where
    elif expected != SAME:
        assert response.status_code == expected, where


@pytest.mark.parametrize("method,path", sorted(MATRIX))
async def test_access_matrix(method, path, client, db, settings, app):
    expected = MATRIX[(method, path)]
    world = await build_world(db, settings, app)
    allowed = [who for who in CALLERS if expected[who] in (OK, SAME)]
    answers = {}
    # Refusals first, on one world: they change nothing (checked below by the allowed calls still working).
    for who in CALLERS:
        if who not in allowed:
            response = await call(client, method, path, world, who)
            judge(expected[who], response, method, path, who)
    for who in allowed:
        if method != "GET":  # a write may use the world up (a deletion): each allowed caller gets a fresh one
            world = await build_world(db, settings, app)
        response = await call(client, method, path, world, who)
        judge(expected[who], response, method, path, who)
        answers[who] = response.status_code
    if set(expected.values()) == {SAME}:
        assert len(set(answers.values())) == 1 and 401 not in answers.values(), (method, path, answers)


async def test_a_404_for_someone_elses_object_reads_like_a_missing_one(client, db, settings, app):
    world = await build_world(db, settings, app)
    missing = await client.get("/api/projects/999999999", headers=bearer(world.tokens["other"]))
    theirs = await client.get(f"/api/projects/{world.ids['project_id']}", headers=bearer(world.tokens["other"]))
    assert missing.status_code == theirs.status_code == 404
    assert theirs.json()["error"]["message"] == f"no project {world.ids['project_id']}"
    assert missing.json()["error"]["message"] == "no project 999999999"
    project, assignment = world.ids["project_id"], world.ids["assignment_id"]
    outside = await client.post(f"/api/projects/{project}/next", headers=bearer(world.tokens["worker_out"]))
    assert outside.json()["error"] == theirs.json()["error"]
    lease = await client.post(f"/api/assignments/{assignment}/skip", headers=bearer(world.tokens["other"]))
    gone = await client.post("/api/assignments/999999999/skip", headers=bearer(world.tokens["other"]))
    assert lease.status_code == gone.status_code == 404
    assert lease.json()["error"]["field"] == gone.json()["error"]["field"] == "assignment_id"
