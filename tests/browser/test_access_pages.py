"""Access in the browser: the pool decides what a worker's pages show, a paused project says so in words, and
too many wrong passwords get a clear message in the sign-in form."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import label_page, sign_in


def test_a_worker_sees_only_the_projects_of_their_pool_and_a_paused_one_says_so(new_page, server, worker):
    listed = server.project("text_classification", [{"data": {"text": "mine"}}], labels=["a", "b"])
    closed = server.project("text_classification", [{"data": {"text": "not mine"}}], labels=["a", "b"])
    with server.client(closed["requester"]["token"]) as c:
        other = server.user("worker")
        assert c.put(f"/api/projects/{closed['id']}/pool",
                     json={"all_workers": False, "workers": [other["id"]]}).status_code == 200
    page = new_page()
    sign_in(page, worker)
    expect(page.locator(f'tr[data-project-id="{listed["id"]}"]')).to_be_visible()
    expect(page.locator(f'tr[data-project-id="{closed["id"]}"]')).to_have_count(0)
    response = page.goto(f"/projects/{closed['id']}/label")
    assert response.status == 404 and page.locator("h1").text_content() == "Not found"

    with server.client(listed["requester"]["token"]) as c:
        assert c.patch(f"/api/projects/{listed['id']}", json={"status": "paused"}).status_code == 200
    page = label_page(new_page, worker, listed)
    expect(page.locator("body")).to_have_attribute("data-state", "stopped")  # the requester's choice, not an error
    expect(page.locator("#state-stopped-title")).to_have_text("This project is paused")


def test_too_many_wrong_passwords_get_a_clear_message(new_page, server):
    victim = server.user("worker")
    page = new_page()
    page.goto("/login")
    statuses = []
    # Five failures are free, then each one starts a longer back-off (1 s, 2 s, 4 s...): keep guessing until an
    # attempt lands inside one, however slowly this machine fills the form.
    for _ in range(12):
        page.fill("#username", victim["username"])
        page.fill("#password", "not the password")
        with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as posted:
            page.click("#sign-in")
        statuses.append(posted.value.status)
        if posted.value.status == 429:
            break
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429, statuses
    assert int(posted.value.headers["retry-after"]) >= 1
    expect(page.locator("#login-error")).to_have_text(
        re.compile(r"Too many failed sign-ins .* Wait (a second|\d+ seconds), then try again"))
    expect(page.locator("#username")).to_have_value(victim["username"])
