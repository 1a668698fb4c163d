"""The console's HTML routes (labeling/console/): who may open which page, the projects list's progress from the
stored counters, a 404 page for another requester's project, and "/" sending requesters to the console."""

from __future__ import annotations

import re

from tests.conftest import bearer, text_tasks


def html(response) -> str:  # noqa: ANN001
    assert "text/html" in response.headers["content-type"], response.text[:200]
    return response.text


async def test_projects_page_shows_each_project_with_its_progress(client, requester, new_project, make_user):
    project = await new_project(tasks=text_tasks(4))
    _, worker = await make_user("worker")
    for label in ("pos", "neg"):
        lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
        r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": label}},
                              headers=bearer(worker))
        assert r.status_code == 201, r.text
    page = html(await client.get("/console/projects", headers=bearer(requester)))
    row = re.search(rf'<tr data-project-id="{project["id"]}">(.*?)</tr>', page, re.S).group(1)
    assert project["name"] in row and "status-active" in row
    assert 'value="2"' in row and 'max="4"' in row  # 2 of 4 tasks done (redundancy 1)
    assert re.search(r'data-stat="annotations">\s*2<', row)


async def test_another_requesters_project_is_a_404_page(client, new_project, make_user):
    project = await new_project(name="secret plans")
    _, other = await make_user("requester")
    for path in ("", "/import", "/export", "/settings"):
        r = await client.get(f"/console/projects/{project['id']}{path}", headers=bearer(other))
        missing = await client.get(f"/console/projects/999999{path}", headers=bearer(other))
        if r.status_code == 404 and path and "/console/projects/{project_id}" + path not in _paths(client):
            continue  # a page not built on this branch
        assert r.status_code == missing.status_code == 404, path
        assert f"no project {project['id']}" in html(r) and project["name"] not in r.text


def _paths(client) -> set[str]:  # noqa: ANN001
    return {route.path for route in client._transport.app.routes}


async def test_workers_get_403_and_visitors_go_to_sign_in(client, new_project, make_user):
    project = await new_project()
    _, worker = await make_user("worker")
    r = await client.get(f"/console/projects/{project['id']}", headers=bearer(worker))
    assert r.status_code == 403 and "Not allowed" in html(r)
    r = await client.get("/console/projects")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/console/projects"


async def test_home_sends_requesters_to_the_console_and_keeps_workers_home(client, requester, make_user):
    r = await client.get("/", headers=bearer(requester))
    assert r.status_code == 303 and r.headers["location"] == "/console/projects"
    _, worker = await make_user("worker")
    r = await client.get("/", headers=bearer(worker))
    assert r.status_code == 200 and "Your projects" in r.text and 'id="to-console"' not in r.text


async def test_a_requester_who_labels_switches_to_the_worker_view_and_back(client, make_user):
    await make_user("requester", "switcher", password="a-long-password")
    login = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
    r = await client.post("/login", data={"username": "switcher", "password": "a-long-password",
                                          "csrf_token": token, "next": "/"})
    assert r.status_code == 303
    assert (await client.get("/")).headers["location"] == "/console/projects"
    console = html(await client.get("/console/projects"))
    assert 'href="/?view=worker"' in console
    worker_home = await client.get("/?view=worker")
    assert worker_home.status_code == 200 and 'id="to-console"' in worker_home.text
    assert (await client.get("/")).status_code == 200  # the choice stays for the session
    await client.get("/console/projects")  # until the console is opened again
    assert (await client.get("/")).status_code == 303


async def test_tabs_show_only_pages_that_exist(client, requester, new_project):
    from labeling import console

    project = await new_project()
    page = html(await client.get(f"/console/projects/{project['id']}", headers=bearer(requester)))
    shown = re.findall(r'data-tab="([a-z_]+)"', page)
    assert shown and shown[0] == "overview"
    assert set(shown) == {t.key for t in console.tabs() if t.shows(None) or t.key in shown}
    paths = _paths(client)
    for tab in console.tabs():
        assert "/console/projects/{project_id}" + (f"/{tab.suffix}" if tab.suffix else "") in paths
