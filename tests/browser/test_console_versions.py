"""Two people editing one project's settings: the Settings page sends the version it was loaded with (If-Match), so
a change made elsewhere meanwhile is never silently undone by a save from an older page. A setting changed in both
places stops the save with a message naming it (what it now is, what was typed here), nothing typed lost; a
setting changed only elsewhere is brought into the form and kept."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import DESKTOP, sign_in
from tests.browser.test_console_flow import _own_project


def test_a_setting_changed_in_two_places_is_not_overwritten_unseen(server, new_page):  # noqa: ANN001
    requester = server.user("requester")
    project_id = _own_project(server, requester, "text_classification", ["pos", "neg"])
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/settings")
    expect(page.locator('nav.tabs a[aria-current="page"]')).to_have_text("Settings")
    page.wait_for_load_state("load")
    # Another requester (here: a script with the same account) raises the redundancy and adds a label meanwhile.
    with server.client(requester["token"]) as c:
        r = c.patch(f"/api/projects/{project_id}", json={"redundancy": 5, "labels": ["pos", "neg", "mixed"],
                                                          "instructions": "Theirs."})
        assert r.status_code == 200, r.text
    page.fill("#f-redundancy", "3")
    page.fill("#f-lease", "120")
    page.click("#save")
    status = page.locator("#form-status")
    expect(status).to_contain_text("Not saved: this project was changed since you opened this page.")
    expect(status).to_contain_text("Answers per task is now 5 (yours: 3)")
    expect(status).to_contain_text("Labels (now pos, neg, mixed)")  # changed only there: shown here now
    expect(page.locator("#reload-settings")).to_be_visible()
    expect(page.locator("#f-redundancy")).to_have_value("3")  # what was typed stays
    expect(page.locator("#f-lease")).to_have_value("120")
    expect(page.locator("#f-instructions")).to_have_value("Theirs.")
    expect(page.locator(".label-row .label-name")).to_have_count(3)
    with server.client(requester["token"]) as c:
        stored = c.get(f"/api/projects/{project_id}").json()
    assert (stored["redundancy"], stored["lease_seconds"]) == (5, 600)  # nothing of this save went in

    # Saving again, having read the message, puts this page's values over the project as it now is.
    page.click("#save")
    expect(status).to_have_text("Saved.")
    with server.client(requester["token"]) as c:
        stored = c.get(f"/api/projects/{project_id}").json()
    assert (stored["redundancy"], stored["lease_seconds"], stored["labels"], stored["instructions"]) == (
        3, 120, ["pos", "neg", "mixed"], "Theirs.")


def test_a_pool_changed_elsewhere_is_not_put_back(server, new_page):  # noqa: ANN001
    """The pool is a whole value too: a page that lists workers, opened before another requester let every worker
    in, said nothing and listed its workers again."""
    requester = server.user("requester")
    worker, other = server.user("worker"), server.user("worker")
    project_id = _own_project(server, requester, "text_classification", ["pos", "neg"])
    with server.client(requester["token"]) as c:
        assert c.put(f"/api/projects/{project_id}/pool",
                     json={"all_workers": False, "workers": [worker["username"]], "teams": []}).status_code == 200
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/settings")
    page.wait_for_load_state("load")
    with server.client(requester["token"]) as c:
        assert c.put(f"/api/projects/{project_id}/pool", json={"all_workers": True}).status_code == 200
    page.fill("#f-workers", f"{worker['username']}, {other['username']}")
    page.click("#save")
    expect(page.locator("#form-status")).to_contain_text(
        f"Who may work on it is now every worker (yours: {worker['username']}, {other['username']})")
    expect(page.locator("#f-workers")).to_have_value(f"{worker['username']}, {other['username']}")
    with server.client(requester["token"]) as c:
        assert c.get(f"/api/projects/{project_id}/pool").json()["all_workers"] is True


def test_labels_added_in_two_places_are_both_kept(server, new_page):  # noqa: ANN001
    """Two requesters each adding a label from pages opened together: the labels list is one value, so the later
    save put its own list in place and the other's label was gone (removed, as nothing used it yet)."""
    requester = server.user("requester")
    project_id = _own_project(server, requester, "text_classification", ["pos", "neg"])
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/settings")
    page.wait_for_load_state("load")
    with server.client(requester["token"]) as c:
        r = c.patch(f"/api/projects/{project_id}", json={"labels": ["pos", "neg", {"name": "mixed", "hotkey": "m"}]})
        assert r.status_code == 200, r.text
    page.click("#add-label")
    page.locator(".label-row .label-name").nth(2).fill("spam")
    page.click("#save")
    expect(page.locator("#form-status")).to_have_text(
        "Saved. Changed elsewhere since you opened this page, and kept: Labels (now pos, neg, mixed; saved with the "
        "changes made here: pos, neg, mixed, spam).")
    assert page.locator(".label-row .label-name").evaluate_all("els => els.map(e => e.value)") == [
        "pos", "neg", "mixed", "spam"]
    expect(page.locator(".label-row").nth(2).locator(".label-hotkey")).to_have_value("m")
    with server.client(requester["token"]) as c:
        assert c.get(f"/api/projects/{project_id}").json()["labels"] == [
            "pos", "neg", {"name": "mixed", "hotkey": "m"}, "spam"]
