"""Console details found walking through it: a new project is said to be made, an archived project's refusals are
shown where its other errors are, an unused label can be removed, the projects list's last activity keeps to one
line, and a name's length is counted in characters as the API counts it. Chromium against a real server."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import expect

from tests.browser.support import DESKTOP, sign_in
from tests.browser.test_console_flow import _drop, _label, _own_project

UNARCHIVE = "set its status back to active or paused first"


def test_a_new_project_lands_on_its_import_page_saying_it_was_made(new_page, server):  # noqa: ANN001
    requester = server.user("requester")
    page = new_page(DESKTOP)
    sign_in(page, requester, "/console/projects/new")
    page.fill("#f-name", f"made {uuid.uuid4().hex[:6]}")
    page.select_option("#f-task-type", "text_classification")
    page.click("#add-label")
    page.locator(".label-row .label-name").nth(0).fill("yes")
    page.click("#save")
    expect(page).to_have_url(re.compile(r"/console/projects/\d+/import$"))
    expect(page.locator(".import-ok")).to_have_text("Project created. Add its tasks here.")
    page.reload()  # said once
    expect(page.locator(".import-ok")).to_have_count(0)


def test_an_archived_project_refuses_changes_in_the_console_until_it_is_unarchived(new_page, server):  # noqa: ANN001
    requester = server.user("requester")
    project_id = _own_project(server, requester, "text_classification", ["a", "b", "c"])
    with server.client(requester["token"]) as c:
        assert c.patch(f"/api/projects/{project_id}", json={"status": "archived"}).status_code == 200
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/import")
    expect(page.locator("#archived-notice")).to_contain_text("archived")
    _drop(page, "late.jsonl", '{"data": {"text": "late"}}\n', "application/x-ndjson")
    expect(page.locator(".import-error")).to_contain_text(UNARCHIVE)
    expect(page.locator(".import-error")).to_contain_text("nothing was stored")
    assert server.query("SELECT count(*) AS n FROM tasks WHERE project_id = :p", p=project_id)[0]["n"] == 0

    # Settings: a change is refused beside the status; saving what is there (and the status alone) is not.
    page.goto(f"/console/projects/{project_id}/settings")
    page.click("#save")
    expect(page.locator("#form-status")).to_have_text("Saved.")
    page.fill("#f-instructions", "New words.")
    page.click("#save")
    expect(page.locator('[data-field="status"] .field-error')).to_contain_text(UNARCHIVE)
    # Un-archived with the change, and an unused label removed in the same save.
    page.select_option("#f-status", "paused")
    page.locator('.label-row[data-field="labels[2]"] .label-remove').click()
    page.click("#save")
    expect(page.locator("#form-status")).to_have_text("Saved.")
    stored = server.query("SELECT status, instructions, labels FROM projects WHERE id = :p", p=project_id)[0]
    assert stored["status"] == 1 and stored["instructions"] == "New words."
    assert "c" not in str(stored["labels"]) and "b" in str(stored["labels"])


def test_a_label_in_use_is_kept_and_the_form_says_why(new_page, server):  # noqa: ANN001
    requester = server.user("requester")
    project_id = _own_project(server, requester, "text_classification", ["a", "b"])
    with server.client(requester["token"]) as c:
        assert c.post(f"/api/projects/{project_id}/tasks", json=[{"data": {"text": "x"}}]).status_code == 201
    _label(server, server.user("worker"), project_id, ["a"])
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/settings")
    page.locator('.label-row[data-field="labels[0]"] .label-remove').click()
    page.click("#save")
    expect(page.locator('[data-field="labels"] .field-error').first).to_contain_text("'a' is used")
    assert "a" in str(server.query("SELECT labels FROM projects WHERE id = :p", p=project_id)[0]["labels"])


def test_last_activity_keeps_to_one_line_at_1366_pixels(new_page, server):  # noqa: ANN001
    requester = server.user("requester")
    project_ids = []
    for _ in range(2):
        project_id = _own_project(server, requester, "text_classification", ["a"])
        with server.client(requester["token"]) as c:
            c.patch(f"/api/projects/{project_id}", json={"name": f"a long project name {uuid.uuid4().hex} " * 2})
            assert c.post(f"/api/projects/{project_id}/tasks", json=[{"data": {"text": "x"}}]).status_code == 201
        _label(server, server.user("worker"), project_id, ["a"])
        project_ids.append(project_id)
    page = new_page({"width": 1366, "height": 768})
    page.clock.install(time=time.time() + 11 * 60)  # the answers came 11 minutes ago
    sign_in(page, requester, "/console/projects")
    for project_id in project_ids:
        cell = page.locator(f'tr[data-project-id="{project_id}"] td[data-stat="activity"]')
        expect(cell).to_have_text("11 minutes ago")
        lines = cell.locator("time").evaluate("el => el.getClientRects().length")
        heading = page.locator("th", has_text="Last activity").evaluate("el => el.getClientRects().length")
        assert lines == 1 and heading == 1, (lines, heading)
        one_line = cell.locator("time").evaluate(
            "el => el.getBoundingClientRect().height < 1.6 * parseFloat(getComputedStyle(el).lineHeight || 20)")
        assert one_line


def test_a_name_is_counted_in_characters_as_the_api_counts_them(new_page, server):  # noqa: ANN001
    """maxlength=200 counted an emoji as two: a 200-character name the API takes was cut short in the browser."""
    requester = server.user("requester")
    project_id = _own_project(server, requester, "text_classification", ["a"])
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/settings")
    # 200 characters, 201 UTF-16 units; unique (project names are), so a database kept from a run before takes it too
    name = uuid.uuid4().hex[:8] + "n" * 190 + "🙂" + "e"
    page.fill("#f-name", "")
    page.locator("#f-name").press_sequentially(name[:190])
    page.locator("#f-name").press_sequentially(name[190:] + "xyz")  # past the limit: what fits is kept
    assert page.locator("#f-name").input_value() == name
    page.click("#save")
    expect(page.locator("#form-status")).to_have_text("Saved.")
    assert server.query("SELECT name FROM projects WHERE id = :p", p=project_id)[0]["name"] == name
    # A paste past the limit keeps its first characters, as maxlength did.
    page.fill("#f-name", "")
    page.locator("#f-name").focus()
    page.evaluate("""() => {
        const el = document.getElementById('f-name');
        el.value = '🙂'.repeat(250);
        el.dispatchEvent(new InputEvent('input', {bubbles: true, inputType: 'insertFromPaste'}));
    }""")
    assert page.locator("#f-name").input_value() == "🙂" * 200
    for selector in ("#f-name",):
        assert page.locator(selector).get_attribute("maxlength") is None
