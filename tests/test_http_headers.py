"""HTTP manners: a 405 lists every method its path has (Allow); every response carries nosniff."""

from __future__ import annotations

import httpx
import pytest

from labeling import api, projects
from tests.conftest import bearer

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _paths() -> dict[str, set[str]]:
    """Every route path and the methods it has (API and pages)."""
    out: dict[str, set[str]] = {}
    for op in api.OPS:
        out.setdefault(op.path, set()).add(op.method)
    out.update({"/login": {"GET", "POST"}, "/logout": {"POST"}, "/": {"GET"}, "/projects/{project_id}/label": {"GET"},
                "/api/openapi.json": {"GET"}, "/api/health": {"GET"}, "/media/{path}": {"GET"}})
    return out


async def test_every_405_lists_every_method_of_its_path(client, requester):
    for path, methods in _paths().items():
        url = path.replace("{project_id}", "1").replace("{assignment_id}", "1").replace("{path}", "x.png")
        allowed = methods | ({"HEAD"} if "GET" in methods else set())
        for method in METHODS:
            if method in methods:
                continue
            r = await client.request(method, url, headers=bearer(requester))
            assert r.status_code == 405, (method, url, r.status_code)
            assert set(r.headers["allow"].replace(" ", "").split(",")) == allowed, (method, url, r.headers["allow"])
            assert r.json()["error"]["code"] == "method_not_allowed"
    r = await client.post("/static/app.css")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"


async def test_the_methods_of_one_path_still_reach_their_handlers(client, requester, new_project):
    project = await new_project()
    url = f"/api/projects/{project['id']}"
    assert (await client.get(url, headers=bearer(requester))).status_code == 200
    assert (await client.head(url, headers=bearer(requester))).status_code == 200
    r = await client.patch(url, json={"instructions": "new"}, headers=bearer(requester))
    assert r.status_code == 200 and r.json()["instructions"] == "new"
    assert (await client.get("/login")).status_code == 200


async def test_every_kind_of_response_says_nosniff(client, requester, make_user, settings):
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    (settings.media_dir / "note.png").write_bytes(b"not really")
    _, worker = await make_user("worker")
    responses = [
        await client.get("/api/projects", headers=bearer(requester)),  # API
        await client.get("/api/projects/99", headers=bearer(requester)),  # a domain error
        await client.get("/api/nowhere"),  # a routing error
        await client.delete("/api/projects"),  # 405
        await client.post("/api/projects", content=b"{", headers=bearer(requester)),  # 400
        await client.get("/static/app.css"),  # static
        await client.get("/media/note.png", headers=bearer(worker)),  # media
        await client.get("/login"),  # a page
        await client.get("/api/openapi.json"),
    ]
    for r in responses:
        assert r.headers.get("x-content-type-options") == "nosniff", (r.request.url, r.status_code)


async def test_an_unexpected_error_is_a_500_that_says_nosniff(app, requester, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(projects, "list_", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.get("/api/projects", headers=bearer(requester))
    assert r.status_code == 500 and r.headers.get("x-content-type-options") == "nosniff"
    assert r.json()["error"]["code"] == "internal"


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unknown_paths_stay_404(client, method):
    r = await client.request(method, "/api/projects/1/nothing")
    assert r.status_code == 404


async def test_an_allow_header_is_the_same_in_every_server_process(client, requester):
    """Starlette joins a route's set of methods, whose order follows each process's string hash seed (one server
    process said 'HEAD, GET, DELETE, PATCH', the next 'DELETE, HEAD, PATCH, GET'): every order gives one header."""
    import itertools

    from labeling.web import allow_header

    assert {allow_header(order) for order in itertools.permutations(("HEAD", "GET", "DELETE", "PATCH"))} == {
        "GET, HEAD, PATCH, DELETE"}
    for method, url, allow in (("post", "/api/projects/1", "GET, HEAD, PATCH, DELETE"),
                               ("put", "/api/projects", "GET, HEAD, POST"),
                               ("put", "/api/projects/1/tasks", "GET, HEAD, POST, DELETE")):
        r = await getattr(client, method)(url, headers=bearer(requester))
        assert r.status_code == 405 and r.headers["allow"] == allow, (url, r.headers)


async def test_a_create_answers_201_with_the_new_object_s_location(client, admin, requester, make_user):
    """A script reads the new object at Location (it was only in the body); the OpenAPI document says so."""
    await make_user("worker", "crew0")
    made = [
        (await client.post("/api/projects", json={"name": "p", "task_type": "text_classification", "labels": ["a"]},
                           headers=bearer(requester)), requester),
        (await client.post("/api/users", json={"username": "newbie", "role": "worker"}, headers=bearer(admin)), admin),
        (await client.post("/api/teams", json={"name": "crew", "members": ["crew0"]}, headers=bearer(requester)),
         requester),
    ]
    doc = (await client.get("/api/openapi.json")).json()
    for r, token in made:
        assert r.status_code == 201, r.text
        kind = r.request.url.path.rsplit("/", 1)[1]
        assert r.headers["location"] == f"/api/{kind}/{r.json()['id']}", r.headers
        again = await client.get(r.headers["location"], headers=bearer(token))
        assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
        assert "Location" in doc["paths"][f"/api/{kind}"]["post"]["responses"]["201"]["headers"]
