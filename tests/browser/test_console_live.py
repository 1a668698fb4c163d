"""Watching a project's progress: the overview and the projects list follow the workers' answers while open (they
were read once, at load: nothing moved until a reload). The page's clock is Playwright's, run forward by hand."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import DESKTOP, sign_in
from tests.browser.test_console_flow import _label, _own_project


def test_the_overview_and_the_projects_list_follow_the_answers(server, new_page):  # noqa: ANN001
    requester, worker = server.user("requester"), server.user("worker")
    project_id = _own_project(server, requester, "text_classification", ["pos", "neg"])
    page = new_page(DESKTOP)
    page.clock.install()
    sign_in(page, requester, f"/console/projects/{project_id}")
    expect(page.locator("#no-tasks")).to_be_visible()
    with server.client(requester["token"]) as c:
        assert c.post(f"/api/projects/{project_id}/tasks", json=[{"data": {"text": t}} for t in "abc"]).status_code == 201
    _label(server, worker, project_id, ["pos", "neg"])  # redundancy 1: two tasks done
    page.clock.run_for(16_000)
    stats = page.locator("#overview-stats")
    expect(stats.locator('[data-stat="done"]')).to_have_text("2 / 3")
    expect(stats.locator('[data-stat="annotations"]')).to_have_text("2")
    expect(page.locator("#overview-progress progress")).to_have_attribute("value", "2")
    expect(page.locator("#no-tasks")).to_have_count(0)
    expect(stats.locator('[data-stat="activity"]')).to_have_text("just now")

    page.goto("/console/projects")
    row = page.locator(f'tr[data-project-id="{project_id}"]')
    expect(row.locator('[data-stat="done"]')).to_have_text("2 / 3 tasks")
    page.locator(f'a[href="/console/projects/{project_id}"]').focus()
    _label(server, worker, project_id, ["pos"])
    page.clock.run_for(16_000)
    expect(row.locator('[data-stat="done"]')).to_have_text("3 / 3 tasks")
    expect(row.locator('[data-stat="annotations"]')).to_have_text("3")
    expect(page.locator(f'a[href="/console/projects/{project_id}"]')).to_be_focused()  # the keyboard stays put


def test_a_page_whose_session_ended_stops_following(server, new_page):  # noqa: ANN001
    """Signed out elsewhere, the page was given the sign-in page every 15 seconds for as long as it stayed open; its
    first redirected reply now ends the refreshing."""
    requester = server.user("requester")
    project_id = _own_project(server, requester, "text_classification", ["pos", "neg"])
    page = new_page(DESKTOP)
    page.clock.install()
    sign_in(page, requester, f"/console/projects/{project_id}")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.redirected_from is None
            and r.url.endswith(f"/console/projects/{project_id}") else None)
    page.context.clear_cookies()
    page.clock.run_for(16_000)
    page.wait_for_timeout(500)
    assert len(asked) == 1
    page.clock.run_for(46_000)
    page.wait_for_timeout(500)
    assert len(asked) == 1, asked
