"""The console end to end in Chromium against a real server (SQLite, or PostgreSQL with LABELING_TEST_DATABASE_URL):
a requester signs in, creates a project (a field error shown first), imports a file with a bad line (the line
named, nothing stored) then good files (JSON Lines dropped, CSV mapped), workers label through the API, the
projects page shows the progress, and the export downloads with the consensus in it."""

from __future__ import annotations

import json
import re
import shlex
import uuid
from urllib.parse import quote

from playwright.sync_api import expect

from tests.browser.support import DESKTOP, PHONE, drop_file, focus_rings_stand_out, png, sign_in


_drop = drop_file  # the other console tests import it from here


def _count_tasks(server, project_id: int) -> int:  # noqa: ANN001
    return server.query("SELECT count(*) AS n FROM tasks WHERE project_id = :p", p=project_id)[0]["n"]


def _own_project(server, requester: dict, task_type: str, labels: list[str]) -> int:  # noqa: ANN001
    """A project of this requester (who has a password, unlike server.project's); returns its id."""
    with server.client(requester["token"]) as c:
        r = c.post("/api/projects", json={"name": f"{task_type} {uuid.uuid4().hex[:6]}", "task_type": task_type,
                                          "labels": labels})
        assert r.status_code == 201, r.text
        return r.json()["id"]


def _label(server, worker: dict, project_id: int, labels: list[str]) -> dict[int, str]:  # noqa: ANN001
    """Answer one task per label through the API; returns the label given by task id."""
    given = {}
    with server.client(worker["token"]) as c:
        for label in labels:
            lease = c.post(f"/api/projects/{project_id}/next")
            assert lease.status_code == 200, lease.text
            r = c.post(f"/api/assignments/{lease.json()['assignment_id']}/submit", json={"answer": {"label": label}})
            assert r.status_code == 201, r.text
            given[lease.json()["task"]["id"]] = label
    return given


def test_requester_creates_imports_watches_and_exports(server, new_page, tmp_path):  # noqa: ANN001
    requester = server.user("requester")
    page = new_page(DESKTOP)
    sign_in(page, requester, "/")
    expect(page).to_have_url(re.compile(r"/console/projects$"))
    expect(page.locator("#no-projects")).to_be_visible()

    # Create: a lease of 0 seconds is the API's 400 naming lease_seconds, shown beside that input.
    page.click("#new-project")
    name = f"sentiment {uuid.uuid4().hex[:6]}"
    page.fill("#f-name", name)
    page.select_option("#f-task-type", "text_classification")
    for i, label in enumerate(["positive", "negative"]):
        page.click("#add-label")
        page.locator(".label-row .label-name").nth(i).fill(label)
    page.locator(".label-row .label-hotkey").nth(0).fill("p")
    page.fill("#f-instructions", "Read the **whole** text.")
    expect(page.locator("#instructions-preview strong")).to_have_text("whole")  # rendered by the worker renderer
    page.fill("#f-lease", "0")
    page.click("#save")
    error = page.locator('[data-field="lease_seconds"] .field-error')
    expect(error).to_have_text("must be at least 1")  # plain words, the field named by where it is shown
    expect(page.locator("#f-lease")).to_be_focused()
    assert server.query("SELECT count(*) AS n FROM projects WHERE name = :n", n=name)[0]["n"] == 0
    page.fill("#f-lease", "300")
    page.click("#save")
    expect(page).to_have_url(re.compile(r"/console/projects/\d+/import$"))
    project_id = int(re.search(r"/projects/(\d+)/", page.url).group(1))
    stored = server.query("SELECT lease_seconds, label_styles FROM projects WHERE id = :p", p=project_id)[0]
    assert stored["lease_seconds"] == 300
    styles = stored["label_styles"] if isinstance(stored["label_styles"], dict) else json.loads(stored["label_styles"])
    assert styles == {"positive": {"hotkey": "p"}}

    # Import: a JSON Lines file whose second line is not a task is refused whole, its line named.
    bad = '{"data": {"text": "good"}}\n{"data": {"txet": "typo"}}\n{"data": {"text": "also good"}}\n'
    _drop(page, "bad.jsonl", bad, "application/x-ndjson")
    expect(page.locator(".import-error")).to_contain_text("bad.jsonl, line 2")
    expect(page.locator(".import-error")).to_contain_text("nothing was stored")
    assert _count_tasks(server, project_id) == 0
    good = "".join(json.dumps({"data": {"text": f"text {i}"}, "external_id": f"j{i}"}) + "\n" for i in range(2))
    _drop(page, "good.jsonl", good, "application/x-ndjson")
    expect(page.locator(".import-ok")).to_have_text("Imported 2 tasks from good.jsonl.")

    # CSV: its columns mapped to the data field; a bad row is named by its line in the CSV file.
    csv_path = tmp_path / "more.csv"
    csv_path.write_text('id,body,priority\nc1,"a text, with a comma",1\nc2,"two\nlines",x\n')
    page.set_input_files("#file-input", str(csv_path))
    expect(page.locator("#csv-mapping")).to_be_visible()
    rows = page.locator("#csv-columns tbody tr")
    expect(rows.nth(0).locator(".column-role")).to_have_value("external_id")
    expect(rows.nth(1).locator(".column-field")).to_have_value("text")  # the field text_classification needs
    page.click("#csv-import")
    expect(page.locator(".import-error")).to_contain_text("more.csv, line 3")  # "x" is no priority
    assert _count_tasks(server, project_id) == 2
    rows.nth(2).locator(".column-role").select_option("skip")
    page.click("#csv-import")
    expect(page.locator(".import-ok")).to_have_text("Imported 2 tasks from more.csv.")
    texts = {r["external_id"]: r["data"] for r in server.query(
        "SELECT external_id, data FROM tasks WHERE project_id = :p", p=project_id)}
    data = texts["c2"] if isinstance(texts["c2"], dict) else json.loads(texts["c2"])
    assert data == {"text": "two\nlines"} and len(texts) == 4

    # Workers label through the API; the projects page shows the progress from the stored counters.
    worker = server.user("worker")
    given = _label(server, worker, project_id, ["positive", "negative", "positive"])
    page.click('.console-nav a:has-text("Projects")')
    row = page.locator(f'tr[data-project-id="{project_id}"]')
    expect(row.locator("progress")).to_have_attribute("value", "3")
    expect(row.locator("progress")).to_have_attribute("max", "4")
    expect(row.locator('[data-stat="annotations"]')).to_have_text("3")
    expect(row.locator('[data-stat="done"]')).to_contain_text("3 / 4 tasks")

    # Export: the format's options, the CLI and curl lines follow the choices; the download is the consensus.
    row.locator("a.project-name").click()
    page.click('nav.tabs a[data-tab="export"]')
    page.check('input[name="format"][value="jsonl"]')
    page.fill("#o-min_confidence", "0.5")
    expect(page.locator("#cli-command")).to_have_text(f"labeling export {project_id} --format jsonl --min-confidence 0.5")
    expect(page.locator("#curl-command")).to_contain_text(f"/api/projects/{project_id}/export?format=jsonl&min_confidence=0.5")
    expect(page.locator('[data-option="label_attribute"]')).to_be_hidden()  # a manifest option
    page.fill("#o-min_confidence", "2")
    page.click("#download")
    expect(page.locator('[data-field="min_confidence"] .field-error')).to_contain_text("min_confidence")
    page.fill("#o-min_confidence", "")
    with page.expect_download() as info:
        page.click("#download")
    path = info.value.path()
    lines = [json.loads(line) for line in open(path, encoding="utf-8").read().splitlines()]
    assert len(lines) == 3
    assert {line["id"]: line["label"] for line in lines} == given  # one answer a task: the consensus is it
    assert {line["text"] for line in lines} <= {"text 0", "text 1", "a text, with a comma", "two\nlines"}


def test_images_are_uploaded_with_progress_and_become_tasks(server, new_page):  # noqa: ANN001
    requester = server.user("requester")
    project_id = _own_project(server, requester, "image_classification", ["cat", "dog"])
    other = server.user("requester")
    page = new_page(PHONE)
    sign_in(page, other, f"/console/projects/{project_id}/import")
    expect(page.locator("h1")).to_have_text("Not found")  # another requester's project: a 404 page
    page = new_page(PHONE)
    sign_in(page, requester, f"/console/projects/{project_id}/import")
    files = [{"name": f"img{i}.png", "mimeType": "image/png",
              "buffer": png(40 + i, 30, [("rect", (2, 2, 20, 20), "red")])} for i in range(5)]
    page.set_input_files("#file-input", files)
    expect(page.locator(".import-ok")).to_have_text("Imported 5 tasks from 5 images.")
    assert _count_tasks(server, project_id) == 5
    expect(page.locator("#upload-progress")).to_be_hidden()


def test_settings_open_for_a_while_save_only_what_was_changed_there(server, new_page):  # noqa: ANN001
    """A Settings page opened before a script (or another tab) paused the project and raised its redundancy: saving
    new instructions from that page leaves the pause and the redundancy as they now are. Before, the page sent every
    setting as it had shown them, which put the old redundancy back and un-paused the project (and would have
    un-archived an archived one)."""
    requester = server.user("requester")
    project_id = _own_project(server, requester, "text_classification", ["pos", "neg"])
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/settings")
    expect(page.locator('nav.tabs a[aria-current="page"]')).to_have_text("Settings")
    page.wait_for_load_state("load")
    with server.client(requester["token"]) as c:
        r = c.patch(f"/api/projects/{project_id}", json={"redundancy": 5, "status": "paused"})
        assert r.status_code == 200, r.text
    page.fill("#f-instructions", "Read the whole review first.")
    page.click("#save")
    # The save met the project's newer version (412 to its If-Match), read it again, and, nothing being changed in
    # both places, saved the instructions over it, saying what had changed meanwhile; the form now shows it.
    expect(page.locator("#form-status")).to_have_text(
        "Saved. Changed elsewhere since you opened this page, and kept: Answers per task (now 5); "
        "Status (now paused).")
    expect(page.locator("#f-redundancy")).to_have_value("5")
    expect(page.locator("#f-status")).to_have_value("paused")
    with server.client(requester["token"]) as c:
        stored = c.get(f"/api/projects/{project_id}").json()
    assert (stored["instructions"], stored["redundancy"], stored["status"]) == (
        "Read the whole review first.", 5, "paused")


def test_settings_edit_labels_and_pool_with_errors_beside_fields(server, new_page):  # noqa: ANN001
    requester = server.user("requester")
    worker, other = server.user("worker"), server.user("worker")
    project_id = _own_project(server, requester, "text_multilabel", ["sports", "politics"])
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/settings")
    expect(page.locator('nav.tabs a[aria-current="page"]')).to_have_text("Settings")
    # The gold settings' inputs line up in a narrower window, where a longer label wraps (it pushed its input down).
    page.set_viewport_size({"width": 900, "height": 800})
    assert len({round(page.locator(s).bounding_box()["y"]) for s in ("#f-gold-min", "#f-gold-threshold")}) == 1
    page.set_viewport_size(DESKTOP)

    # A JSON array whose second task lacks its text: the file's line and the task are named, nothing is stored.
    page.click('nav.tabs a[data-tab="import"]')
    text = '[\n  {"data": {"text": "one"}},\n\n  {"data": {"txt": "two"}}\n]\n'
    _drop(page, "tasks.json", text, "application/json")
    expect(page.locator(".import-error")).to_contain_text("tasks.json, line 4, task 2")
    assert _count_tasks(server, project_id) == 0
    page.click('nav.tabs a[data-tab="settings"]')

    # A new label with a hotkey the page already uses: the error is beside that label's hotkey.
    page.click("#add-label")
    page.locator(".label-row .label-name").nth(2).fill("weather")
    page.locator(".label-row .label-hotkey").nth(2).fill("s")
    page.check('input[name="all_workers"][value="false"]')
    page.fill("#f-workers", "nobody-by-this-name")
    page.click("#save")
    hotkey = page.locator(".label-row").nth(2).locator(".label-hotkey")
    expect(hotkey).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".label-row").nth(2).locator(".field-error")).to_contain_text("is a key of the labeling page")
    page.locator(".label-row .label-hotkey").nth(2).fill("w")
    page.click("#save")
    # in plain words beside the field: the name says which item, not the API's "workers[0]: "
    expect(page.locator('[data-field="workers"] .field-error')).to_have_text("no worker 'nobody-by-this-name'")
    # the labels went in before the pool was refused: the form says so (it said nothing, as if nothing was saved)
    expect(page.locator("#form-status")).to_have_text(
        "The other settings were saved; who may work on it was not: fix what is marked and save again.")
    page.fill("#f-workers", f"{worker['username']} {other['username']}")  # spaces separate names, as on Teams
    page.click("#save")
    expect(page.locator("#form-status")).to_have_text("Saved.")
    with server.client(requester["token"]) as c:
        project = c.get(f"/api/projects/{project_id}").json()
        pool = c.get(f"/api/projects/{project_id}/pool").json()
    assert project["labels"] == ["sports", "politics", {"name": "weather", "hotkey": "w"}]
    assert pool["all_workers"] is False
    assert sorted(w["username"] for w in pool["workers"]) == sorted([worker["username"], other["username"]])


def test_copy_says_what_it_did_even_without_the_clipboard_api(server, new_page):  # noqa: ANN001
    """Served over plain http from another machine, a page has no navigator.clipboard: Copy did nothing at all.
    It now copies the selected command (or leaves it selected, and says so), and says Copy again afterwards."""
    requester = server.user("requester")
    project_id = _own_project(server, requester, "text_classification", ["a", "b"])
    page = new_page(DESKTOP)
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined})")
    sign_in(page, requester, f"/console/projects/{project_id}/export")
    button = page.locator("button.copy").first
    button.click()
    expect(button).to_have_text(re.compile(r"^(Copied|Selected: press Ctrl\+C)$"))
    assert page.evaluate("String(getSelection())") == page.locator("#cli-command").text_content()
    expect(button).to_have_text("Copy", timeout=5000)


def test_the_export_choices_stay_through_a_reload(server, new_page):  # noqa: ANN001
    """A reload set the export page back to jsonl with no options: the choices live in the page's address."""
    requester = server.user("requester")
    project_id = _own_project(server, requester, "text_classification", ["a", "b"])
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/export")
    page.check('input[name="format"][value="csv"]')
    page.fill('[data-option="split"] input', "train=0.9,test=0.1")
    page.check('[data-option="include_open"] input')
    command = f"labeling export {project_id} --format csv --split train=0.9,test=0.1 --include-open"
    expect(page.locator("#cli-command")).to_have_text(command)
    page.reload()
    expect(page.locator('input[name="format"][value="csv"]')).to_be_checked()
    expect(page.locator('[data-option="split"] input')).to_have_value("train=0.9,test=0.1")
    expect(page.locator("#cli-command")).to_have_text(command)
    assert page.locator("#download").get_attribute("href").endswith("format=csv&split=train=0.9,test=0.1&include_open=true")


def test_the_curl_line_holds_the_download_url_as_one_word_whatever_the_address_holds(server, new_page):  # noqa: ANN001
    """An option taken from the page's address (a link someone sent) with a ' in it broke out of the curl line's
    quotes: pasted into a shell, the rest of the URL was read as shell syntax."""
    requester = server.user("requester")
    project_id = _own_project(server, requester, "text_classification", ["a", "b"])
    since = "x'&touch pwned&'"
    page = new_page(DESKTOP)
    sign_in(page, requester, f"/console/projects/{project_id}/export")
    page.goto(f"/console/projects/{project_id}/export?format=jsonl&since={quote(since, safe='')}")
    expect(page.locator('[data-option="since"] input')).to_have_value(since)
    curl = shlex.split(page.locator("#curl-command").text_content())
    assert curl == ["curl", "-fOJ", "-H", "Authorization: Bearer $TOKEN",
                    server.base_url + page.locator("#download").get_attribute("href")]
    assert shlex.split(page.locator("#cli-command").text_content())[-2:] == ["--since", since]


def test_leaving_the_project_form_with_changes_not_saved_asks_first(server, new_page):  # noqa: ANN001
    """A reload or a click on a tab took a new project's written instructions away without a word."""
    requester = server.user("requester")
    page = new_page(DESKTOP)
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))  # dismissed: stay
    sign_in(page, requester, "/console/projects/new")
    page.click('.console-nav a[href="/console/teams"]')  # nothing typed yet: no question
    expect(page).to_have_url(re.compile(r"/console/teams$"))
    assert asked == []
    page.goto("/console/projects/new")
    page.fill("#f-instructions", "Read each review to the end before you choose.")
    page.click('.console-nav a[href="/console/teams"]')
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    expect(page).to_have_url(re.compile(r"/console/projects/new$"))
    expect(page.locator("#f-instructions")).to_have_value("Read each review to the end before you choose.")
    page.fill("#f-name", f"asked {uuid.uuid4().hex[:6]}")  # saved: it goes on to Import without a question
    page.click("#add-label")
    page.locator(".label-row .label-name").first.fill("a")
    page.click("#save")
    expect(page).to_have_url(re.compile(r"/console/projects/\d+/import$"))
    assert asked == ["beforeunload"]


def test_a_field_error_is_tied_to_its_input_and_the_keyboard_goes_to_the_fix(server, new_page):  # noqa: ANN001
    """A field's error was said once (role=alert) but not tied to its input, so a screen reader coming back to the
    input did not say it; an error of a field with no input yet (a project without labels) left the keyboard in
    the Name box, far from "+ Add label"."""
    requester = server.user("requester")
    page = new_page(DESKTOP)
    sign_in(page, requester, "/console/projects/new")
    page.keyboard.press("/")  # the first field, Name
    page.keyboard.type(f"keys {uuid.uuid4().hex[:6]}")
    page.keyboard.press("Control+Enter")
    error = page.locator('[data-field="labels"] .field-error')
    expect(error).to_contain_text("at least one label")
    add = page.locator("#add-label")
    expect(add).to_be_focused()
    expect(add).to_have_attribute("aria-describedby", error.get_attribute("id"))
    page.keyboard.press("Enter")  # a label row, its name box focused
    page.keyboard.type("yes")
    page.fill("#f-lease", "0")
    page.keyboard.press("Control+Enter")
    lease = page.locator("#f-lease")
    error = page.locator('[data-field="lease_seconds"] .field-error')
    expect(error).to_have_text("must be at least 1")
    expect(lease).to_be_focused()
    expect(lease).to_have_attribute("aria-invalid", "true")
    expect(lease).to_have_attribute("aria-describedby", error.get_attribute("id"))
    expect(add).not_to_have_attribute("aria-describedby", re.compile("."))  # the old error went with its tie
    page.fill("#f-lease", "30")
    page.keyboard.press("Control+Enter")
    expect(page).to_have_url(re.compile(r"/console/projects/\d+/import$"))


def test_the_consoles_focus_ring_stands_out_in_the_top_bar_and_on_the_page(server, new_page):  # noqa: ANN001
    """The console's focus ring was 2.5:1 on the page, and the top bar's Sign out button (not a link) had the
    page's dark blue ring on the dark bar: under the 3:1 a focus indicator needs (WCAG 1.4.11)."""
    requester = server.user("requester")
    page = new_page(DESKTOP)
    sign_in(page, requester, "/console/projects/new")
    focus_rings_stand_out(page, ('.console-nav a[href="/console/projects"]', "#sign-out", "#f-name", "#add-label",
                                 "#save"))
