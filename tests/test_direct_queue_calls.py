"""The app's one explicit outermost layer (labeling.app.App): which calls skip the middleware stack, and that they
answer exactly as they would through it."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from labeling import middleware
from labeling.app import create_app
from tests.conftest import bearer, text_tasks


@pytest.fixture
def through_stack(monkeypatch):
    """The paths of the requests the middleware stack saw (its outermost layer, SecurityHeaders, records them)."""
    seen: list[tuple[str, str]] = []
    ordinary = middleware.SecurityHeaders.__call__

    async def recording(self, scope, receive, send):
        if scope["type"] == "http":
            seen.append((scope["method"], scope["path"]))
        await ordinary(self, scope, receive, send)

    monkeypatch.setattr(middleware.SecurityHeaders, "__call__", recording)
    return seen


async def _worker_with_lease(client, new_project, make_user):
    project = await new_project(text_tasks(3), redundancy=1)
    _, worker = await make_user("worker")
    r = await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))
    assert r.status_code == 200, r.text
    return project, worker, r.json()["assignment_id"]


async def test_token_queue_calls_skip_the_stack_and_the_rest_do_not(client, new_project, make_user, requester,
                                                                      through_stack):
    project, worker, aid = await _worker_with_lease(client, new_project, make_user)
    r = await client.post(f"/api/assignments/{aid}/submit", json={"answer": {"label": "pos"}}, headers=bearer(worker))
    assert r.status_code == 201, r.text
    assert through_stack == [("POST", "/api/projects"), ("POST", f"/api/projects/{project['id']}/tasks")]
    through_stack.clear()

    # not queue calls, or queue calls a browser makes (a cookie: sessions and CSRF apply), take the ordinary way
    await client.get(f"/api/projects/{project['id']}", headers=bearer(requester))
    await client.post(f"/api/projects/{project['id']}/next", headers={**bearer(worker), "Cookie": "a=b"})
    await client.post(f"/api/projects/{project['id']}/next")  # no token at all
    await client.post(f"/api/assignments/{aid}/skip", headers=bearer(worker))
    assert [path for _, path in through_stack] == [
        f"/api/projects/{project['id']}", f"/api/projects/{project['id']}/next",
        f"/api/projects/{project['id']}/next", f"/api/assignments/{aid}/skip"]


def _same(direct: httpx.Response, ordinary: httpx.Response) -> None:
    assert direct.status_code == ordinary.status_code, (direct.text, ordinary.text)
    assert direct.content == ordinary.content
    volatile = {"date", "content-length"}
    assert ({k: v for k, v in direct.headers.items() if k not in volatile}
            == {k: v for k, v in ordinary.headers.items() if k not in volatile})
    assert direct.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("case", ["bad token", "unknown project", "id beyond 64 bits", "bad json", "not an answer",
                                  "unknown assignment", "nan", "empty queue"])
async def test_a_direct_call_answers_as_the_stack_would(app, client, new_project, make_user, case):
    project, worker, aid = await _worker_with_lease(client, new_project, make_user)
    pid = project["id"]
    h = bearer(worker)
    method_path_body = {
        "bad token": (f"/api/projects/{pid}/next", b"", bearer("lbl_nope")),
        "unknown project": (f"/api/projects/{pid + 1000}/next", b"", h),
        "id beyond 64 bits": ("/api/projects/99999999999999999999999/next", b"", h),
        "bad json": (f"/api/assignments/{aid}/submit", b"{not json", h),
        "not an answer": (f"/api/assignments/{aid}/submit", b'{"answer": {"label": "nope"}}', h),
        "unknown assignment": (f"/api/assignments/{aid + 1000}/submit", b'{"answer": {"label": "pos"}}', h),
        "nan": (f"/api/assignments/{aid}/submit", b'{"answer": {"label": NaN}}', h),
        "empty queue": (f"/api/projects/{pid}/next", b"", bearer((await make_user("worker"))[1])),
    }[case]
    path, body, headers = method_path_body
    if case == "empty queue":  # the other two tasks leased away first
        for _ in range(2):
            _, other = await make_user("worker")
            assert (await client.post(f"/api/projects/{pid}/next", headers=bearer(other))).status_code == 200
    headers = {**headers, "Content-Type": "application/json"}
    direct = await client.post(path, content=body, headers=headers)
    app.direct, kept = {}, app.direct  # the same request the ordinary way
    try:
        ordinary = await client.post(path, content=body, headers=headers)
    finally:
        app.direct = kept
    _same(direct, ordinary)
    assert direct.status_code in (204, 400, 401, 404), direct.text


async def test_a_direct_submit_is_held_to_the_body_cap(settings, db, new_project, make_user, client):
    project, worker, aid = await _worker_with_lease(client, new_project, make_user)
    capped = create_app(dataclasses.replace(settings, max_body_bytes=1024), db)
    big = b'{"answer": {"label": "pos", "x": "' + b"a" * 4096 + b'"}}'

    async def chunked():
        for i in range(0, len(big), 100):
            yield big[i:i + 100]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=capped), base_url="http://testserver") as c:
        for body in (big, chunked()):  # a declared length, and a chunked body counted as it arrives
            r = await c.post(f"/api/assignments/{aid}/submit", content=body,
                             headers={**bearer(worker), "Content-Type": "application/json"})
            assert r.status_code == 413, r.text
            assert r.json()["error"]["field"] == "body"
            assert r.headers["x-content-type-options"] == "nosniff"
    r = await client.post(f"/api/assignments/{aid}/submit", json={"answer": {"label": "pos"}}, headers=bearer(worker))
    assert r.status_code == 201, r.text  # nothing of the refused bodies was stored


async def test_an_unexpected_error_on_the_direct_path_is_a_500_in_words(app, client, new_project, make_user,
                                                                        monkeypatch):
    project, worker, _ = await _worker_with_lease(client, new_project, make_user)
    from labeling.api import work

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(work.queue, "claim_next", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal" and "boom" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
