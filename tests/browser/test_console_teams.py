"""The console's teams pages, as a requester in Chromium at desktop and phone widths: make a team (errors beside the
fields: no name, an unknown worker, a name already used), add and remove members, list it in a project's pool in
Settings (its members may work there, a removed one may not), delete it after a confirmation (a dismissed one
deletes nothing) and see the pool no longer list it. LABELING_SCREENSHOTS=DIR saves screenshots."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.support import DESKTOP, PHONE, assert_fits_the_width, sign_in


def shoot(page: Any, name: str) -> None:
    folder = os.environ.get("LABELING_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _members(server: Any, team: str) -> list[str]:
    rows = server.query("SELECT u.username FROM team_members m JOIN teams t ON t.id = m.team_id "
                        "JOIN users u ON u.id = m.worker_id WHERE t.name = :t ORDER BY u.username", t=team)
    return [r["username"] for r in rows]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_requester_makes_a_team_uses_it_in_a_pool_and_deletes_it(new_page, server, size):
    viewport = DESKTOP if size == "desktop" else PHONE
    requester = server.user("requester")
    first, second = server.user("worker"), server.user("worker")
    with server.client(requester["token"]) as c:
        r = c.post("/api/projects", json={"name": f"reviews {uuid.uuid4().hex[:6]}", "task_type": "text_classification",
                                          "labels": ["pos", "neg"]})
        assert r.status_code == 201, r.text
        project = r.json()
        assert c.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"text": "fine"}}]).status_code == 201
    page = new_page(viewport)
    dialogs: list[str] = []
    sign_in(page, requester, "/console/projects")
    page.click('.console-nav a[href="/console/teams"]')
    expect(page).to_have_url(re.compile(r"/console/teams$"))
    expect(page.locator("#no-teams")).to_be_visible()
    assert_fits_the_width(page)
    shoot(page, f"teams-empty-{size}")
    if size == "desktop":  # side by side, the inputs line up even where the members' hint wraps (it pushed it down)
        page.set_viewport_size({"width": 800, "height": 800})
        assert len({round(page.locator(s).bounding_box()["y"]) for s in ("#team-name", "#team-members")}) == 1
        page.set_viewport_size(viewport)

    # No name, then an unknown worker: each error beside its field, nothing stored.
    team = f"crew-{uuid.uuid4().hex[:6]}"
    page.click("#create-team")
    expect(page.locator('#new-team [data-field="name"] .field-error')).to_be_visible()
    page.fill("#team-name", team)
    page.fill("#team-members", f"{first['username']}, nobody-{team}")
    page.click("#create-team")
    error = page.locator('#new-team [data-field="members"] .field-error')
    expect(error).to_have_text(f"no worker 'nobody-{team}'")
    expect(page.locator('#new-team [data-field="name"] .field-error')).to_have_count(0)
    assert not server.query("SELECT id FROM teams WHERE name = :t", t=team)
    shoot(page, f"teams-error-{size}")
    page.fill("#team-members", first["username"])
    page.click("#create-team")
    expect(page.locator("#teams-status")).to_have_text(f"Created the team {team} with 1 member.")
    row = page.locator(f'#teams tr[data-team-name="{team}"]')
    expect(row.locator('[data-stat="members"]')).to_have_text("1")
    expect(row.locator('[data-stat="member-names"]')).to_contain_text(first["username"])
    shoot(page, f"teams-list-{size}")

    # The same name again is refused beside the name.
    page.fill("#team-name", team)
    page.click("#create-team")
    expect(page.locator('#new-team [data-field="name"] .field-error')).to_contain_text("already have a team named")
    assert len(server.query("SELECT id FROM teams WHERE name = :t", t=team)) == 1
    assert_fits_the_width(page)

    # The team's page: add the second worker, a requester is refused by name, remove the first.
    row.locator("a.team-name").click()
    expect(page.locator("#team-heading")).to_have_text(team)
    page.fill("#add-workers", second["username"])
    page.click("#add")
    expect(page.locator("#teams-status")).to_have_text(f"Added {second['username']} to {team}.")
    page.fill("#add-workers", second["username"])  # already in: said so, not "Added" again
    page.click("#add")
    expect(page.locator("#teams-status")).to_have_text(f"{second['username']} is already in {team}.")
    expect(page.locator('#team-facts [data-stat="members"]')).to_have_text("2 members")
    page.fill("#add-workers", requester["username"])
    page.click("#add")
    expect(page.locator('#add-members [data-field="workers"] .field-error')).to_have_text(
        f"{requester['username']} is a requester, not a worker")
    page.fill("#add-workers", "")
    page.locator(f'#members li[data-member="{first["username"]}"] button.remove-member').click()
    expect(page.locator("#teams-status")).to_have_text(f"Removed {first['username']} from {team}.")
    expect(page.locator(f'#members li[data-member="{first["username"]}"]')).to_have_count(0)
    expect(page.locator(f'#members li[data-member="{second["username"]}"]')).to_be_visible()
    assert _members(server, team) == [second["username"]]
    expect(page.locator("#no-pools")).to_be_visible()
    team_url = page.url

    # Settings: only this team may work on the project.
    page.goto(f"/console/projects/{project['id']}/settings")
    page.check('input[name="all_workers"][value="false"]')
    box = page.locator("#pool-listed label", has_text=team).locator('input[name="teams"]')
    box.check()
    page.click("#save")
    expect(page.locator("#form-status")).to_have_text("Saved.")
    with server.client(requester["token"]) as c:
        pool = c.get(f"/api/projects/{project['id']}/pool").json()
    assert pool["all_workers"] is False and [t["name"] for t in pool["teams"]] == [team]
    with server.client(second["token"]) as c:
        assert c.post(f"/api/projects/{project['id']}/next").status_code == 200
    with server.client(first["token"]) as c:
        assert c.post(f"/api/projects/{project['id']}/next").status_code == 404
    shoot(page, f"teams-settings-{size}")

    page.goto(team_url)
    expect(page.locator("#pools")).to_contain_text(project["name"])
    assert_fits_the_width(page)
    shoot(page, f"team-{size}")

    # Delete: a dismissed confirmation deletes nothing; an accepted one does, and the pool no longer lists it.
    page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.click("#delete-team")
    expect(page.locator("#delete-team")).to_be_enabled()
    assert dialogs and "1 project lists it" in dialogs[0]
    assert len(server.query("SELECT id FROM teams WHERE name = :t", t=team)) == 1
    page.once("dialog", lambda d: d.accept())
    page.click("#delete-team")
    expect(page).to_have_url(re.compile(r"/console/teams$"))
    expect(page.locator("#teams-status")).to_have_text(f"Deleted the team {team}.")
    expect(page.locator(f'#teams tr[data-team-name="{team}"]')).to_have_count(0)
    assert not server.query("SELECT id FROM teams WHERE name = :t", t=team)
    with server.client(requester["token"]) as c:
        assert c.get(f"/api/projects/{project['id']}/pool").json()["teams"] == []
    with server.client(second["token"]) as c:
        assert c.post(f"/api/projects/{project['id']}/next").status_code == 404
    shoot(page, f"teams-deleted-{size}")


def test_another_requesters_team_page_is_not_found_and_workers_are_refused(new_page, server):
    owner, other, worker = server.user("requester"), server.user("requester"), server.user("worker")
    with server.client(owner["token"]) as c:
        team = c.post("/api/teams", json={"name": f"secret-{uuid.uuid4().hex[:6]}"}).json()
    page = new_page()
    sign_in(page, other, "/console/teams")
    expect(page.locator(f'#teams tr[data-team-id="{team["id"]}"]')).to_have_count(0)
    response = page.goto(f"/console/teams/{team['id']}")
    assert response.status == 404 and team["name"] not in page.content()
    worker_page = new_page()
    sign_in(worker_page, worker, "/")
    assert worker_page.goto("/console/teams").status == 403
