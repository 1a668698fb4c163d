"""What a walk through the console as a new requester found: headings that skipped a level, controls with one
name for different things, forms that stayed editable while saving, CSV rows cut silently, no way to delete a
project from the console, and the keyboard's focus lost after blocking a worker."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.browser.support import (DESKTOP, PASSWORD, PHONE, assert_fits_the_width, drop_file, focus_rings_stand_out,
                                   sign_in)

# Every heading's level, in document order, and the first one that skips a level (h1 then h3).
HEADING_SKIP = """() => {
  let last = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = Number(h.tagName[1]);
    if (level > last + 1) return h.tagName + ' "' + h.textContent.trim() + '" after h' + last;
    last = level;
  }
  return null;
}"""

# Links whose text (as a screen reader's list of links gives it) is the same but go to different places; and
# buttons of the same name in different rows or cards (a screen reader's "Block, button" three times).
SAME_NAMES = """() => {
  const name = el => (el.getAttribute('aria-label') || el.textContent).replace(/\\s+/g, ' ').trim();
  const links = {}, buttons = {}, out = [];
  for (const a of document.querySelectorAll('a[href]')) (links[name(a)] ??= new Set()).add(a.getAttribute('href'));
  for (const b of document.querySelectorAll('button, summary')) (buttons[name(b)] ??= []).push(b);
  for (const [n, hrefs] of Object.entries(links)) if (hrefs.size > 1) out.push('link ' + n);
  for (const [n, list] of Object.entries(buttons)) if (list.length > 1) out.push('button ' + n);
  return out;
}"""


def _requester_project(server, task_type: str = "text_classification", labels: list[str] | None = None,
                       tasks: list[dict] | None = None, **settings) -> tuple[dict, dict]:  # noqa: ANN001, ANN003
    """A requester with a password and a project of theirs (with these tasks)."""
    requester = server.user("requester")
    with server.client(requester["token"]) as c:
        r = c.post("/api/projects", json={"name": f"{task_type} {uuid.uuid4().hex[:8]}", "task_type": task_type,
                                          "labels": ["pos", "neg"] if labels is None else labels, **settings})
        assert r.status_code == 201, r.text
        project = r.json()
        if tasks:
            r = c.post(f"/api/projects/{project['id']}/tasks", json=tasks)
            assert r.status_code == 201, r.text
    return requester, project


def _paste(page, text: str) -> None:  # noqa: ANN001
    """Paste `text` into the focused element, as a clipboard paste does."""
    page.evaluate("""text => {
        const dt = new DataTransfer(); dt.setData('text/plain', text);
        document.activeElement.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true,
                                                                       cancelable: true}));
    }""", text)


def _import_page(new_page, server):  # noqa: ANN001, ANN202
    """A requester's new project's Import page, signed in: (page, project, the result's locator)."""
    requester, project = _requester_project(server)
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/import")
    return page, project, page.locator("#import-result")


def _stored_texts(server, project_id: int) -> list[str]:  # noqa: ANN001
    rows = server.query("SELECT data FROM tasks WHERE project_id = :p ORDER BY id", p=project_id)
    import json
    return [(row["data"] if isinstance(row["data"], dict) else json.loads(row["data"]))["text"] for row in rows]


def test_the_project_form_headings_go_in_order(new_page, server):  # noqa: ANN001
    # "Workers see" (the instructions' preview) was an h3 right under the page's h1, new project or settings.
    requester, project = _requester_project(server, instructions="# Steps\nRead it all.")
    page = new_page()
    sign_in(page, requester, "/console/projects/new")
    expect(page.get_by_role("heading", name="Workers see")).to_be_visible()
    assert page.evaluate(HEADING_SKIP) is None
    # an empty preview said nothing (loading? broken?): it says there are no instructions, also once cleared
    expect(page.locator("#no-instructions")).to_have_text("No instructions: workers see only the task and its labels.")
    page.fill("#f-instructions", "**Read**")
    expect(page.locator("#instructions-preview strong")).to_have_text("Read")
    page.fill("#f-instructions", "")
    expect(page.locator("#no-instructions")).to_be_visible()
    page.goto(f"/console/projects/{project['id']}/settings")
    expect(page.get_by_role("heading", name="Settings", level=2)).to_be_visible()
    expect(page.locator("#instructions-preview h4")).to_have_text("Steps")  # its own heading, under "Workers see" (h3)
    assert page.evaluate(HEADING_SKIP) is None
    assert page.evaluate(SAME_NAMES) == []


def test_the_worker_home_names_each_start_link_by_its_project(new_page, server):  # noqa: ANN001
    # Two projects with work gave two links named "Start" to two places: a list of links said "Start, Start".
    worker = server.user("worker")
    names = []
    for _ in range(2):
        project = server.project("text_classification", [{"data": {"text": "x"}}], ["pos", "neg"])
        names.append(project["name"])
    page = new_page()
    sign_in(page, worker, "/")
    for name in names:
        expect(page.get_by_role("link", name=f"Start {name}", exact=True)).to_be_visible()
    expect(page.locator("a.btn", has_text="Start").first).to_have_text(re.compile(r"^Start"))
    assert not [n for n in page.evaluate(SAME_NAMES) if n.startswith("link Start")]


def test_a_console_form_is_read_only_while_it_saves(new_page, server):  # noqa: ANN001
    # The text boxes stayed editable while a save was on its way: what was typed meanwhile was not sent, and the
    # form then said "Saved." over it.
    requester, project = _requester_project(server)
    held = []
    page = new_page()
    page.route(f"**/api/projects/{project['id']}", lambda route: held.append(route)
               if route.request.method == "PATCH" else route.continue_())
    sign_in(page, requester, f"/console/projects/{project['id']}/settings")
    page.fill("#f-instructions", "New instructions")
    page.click("#save")
    expect(page.locator("#project-form")).to_have_attribute("aria-busy", "true")
    for box in ("#f-name", "#f-instructions", "#f-lease", ".label-hotkey >> nth=0"):
        expect(page.locator(box)).not_to_be_editable()
    for control in ("#f-status", "#add-label", "#save", 'input[name="all_workers"] >> nth=0'):
        expect(page.locator(control)).to_be_disabled()
    assert held, "the PATCH was not held"
    held[0].continue_()
    expect(page.locator("#form-status")).to_have_text("Saved.")
    expect(page.locator("#project-form")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#f-name")).to_be_editable()
    expect(page.locator("#f-status")).to_be_enabled()
    expect(page.locator("#save")).to_be_focused()  # the keyboard goes on from where it was
    expect(page.locator("#f-task-type")).to_be_disabled()  # disabled before the save: still so

    # The teams page's forms (Console.statusLine's send) wait read-only too.
    teams = new_page()
    held_teams = []
    teams.route("**/api/teams", lambda route: held_teams.append(route)
                if route.request.method == "POST" else route.continue_())
    sign_in(teams, requester, "/console/teams")
    teams.fill("#team-name", f"crew {uuid.uuid4().hex[:6]}")
    teams.click("#create-team")
    expect(teams.locator("#team-name")).not_to_be_editable()
    expect(teams.locator("#create-team")).to_be_disabled()
    held_teams[0].continue_()
    # the page reloads with the new team: the line saying so has the focus, not the top of the page
    expect(teams.locator("#teams-status")).to_have_text(re.compile(r"^Created the team crew "))
    expect(teams.locator("#teams-status")).to_be_focused()


def test_a_new_projects_error_takes_the_focus_once_the_form_is_editable_again(new_page, server):  # noqa: ANN001
    # The error's input must take the focus after the form is released: a disabled select cannot be focused.
    requester = server.user("requester")
    page = new_page()
    sign_in(page, requester, "/console/projects/new")
    page.fill("#f-name", f"p {uuid.uuid4().hex[:6]}")
    page.select_option("#f-task-type", "text_classification")
    page.click("#save")  # no labels
    expect(page.locator('[data-field="labels"] .field-error')).to_be_visible()
    expect(page.locator("#add-label")).to_be_focused()
    expect(page.locator("#f-name")).to_be_editable()
    expect(page.locator("#f-task-type")).to_be_enabled()


def test_csv_rows_are_never_cut_or_run_together_and_tsv_is_read(new_page, server):  # noqa: ANN001
    # A row with an unquoted comma stored "Broke" for "Broke, in a week"; a quote left open made the rest of the
    # file one value; a .tsv file was "not a JSON, JSON Lines, CSV file" though the README says it is read.
    page, project, result = _import_page(new_page, server)
    drop_file(page, "r.csv", "id,text\nr1,Great value\nr2,Broke, in a week\n", "text/csv")
    expect(result).to_have_text("r.csv, line 3: 3 values, but the header names 2 columns (a value with a comma in it "
                                "needs quotes around it) — nothing was stored.")
    expect(page.locator("#csv-mapping")).to_be_hidden()
    drop_file(page, "r.csv", 'id,text\nr1,"Arrived late\nr2,fine\n', "text/csv")
    expect(result).to_have_text('r.csv, line 2: a quoted value is not closed (a " is missing) — nothing was stored.')
    drop_file(page, "r.csv", "text,text\na,b\n", "text/csv")
    page.click("#csv-import")
    expect(result).to_have_text("r.csv: columns text and text both become the data field text: rename one — nothing "
                                "was stored.")
    assert _stored_texts(server, project["id"]) == []

    drop_file(page, "r.tsv", 'id\ttext\nt1\tHello, world\nt2\tThe 5" screen\n', "text/tab-separated-values")
    expect(page.locator("#csv-mapping")).to_be_visible()
    page.click("#csv-import")
    expect(result).to_have_text("Imported 2 tasks from r.tsv.")
    assert _stored_texts(server, project["id"]) == ["Hello, world", 'The 5" screen']
    drop_file(page, "notes.txt", "x", "text/plain")
    expect(result).to_have_text("notes.txt: not a JSON, JSON Lines, CSV or TSV file (the kind is told by the name's "
                                "ending: .json, .jsonl, .csv, .tsv).")


def test_csv_as_spreadsheets_and_hands_write_it_is_read_whole_and_errors_name_the_right_line(new_page, server):  # noqa: ANN001
    # A one-column row of "" was dropped as a blank line (now an empty value, which the import refuses naming its
    # line); a lone CR (old Mac line ends) inside a quoted value was no line, so later errors named a line too early;
    # `a, "b,c"` (a space before the quote) read as three values; `"a"b` read as "ab".
    page, project, result = _import_page(new_page, server)
    drop_file(page, "one.csv", 'text\nfirst\n""\nlast\n', "text/csv")
    expect(page.locator("#csv-count")).to_have_text("3 rows")
    page.click("#csv-import")
    expect(result).to_have_text("one.csv, line 3: data.text must not be empty — nothing was stored.")
    drop_file(page, "gaps.csv", "text\nfirst\n\nlast\n\n", "text/csv")  # a spreadsheet's empty cell: a blank line
    expect(page.locator("#csv-count")).to_have_text("3 rows")
    page.click("#csv-import")
    expect(result).to_have_text("gaps.csv, line 3: data.text must not be empty — nothing was stored.")
    drop_file(page, "mac.csv", 'id,text\r"r1","two\rlines"\rr2,"Broke, in\ra week"\rr3,Broke, in a week\r', "text/csv")
    expect(result).to_have_text("mac.csv, line 6: 3 values, but the header names 2 columns (a value with a comma in "
                                "it needs quotes around it) — nothing was stored.")
    drop_file(page, "mac.csv", 'id,text\r"r1","two\r\rlines"\rr2,"open\r', "text/csv")
    expect(result).to_have_text('mac.csv, line 5: a quoted value is not closed (a " is missing) — nothing was stored.')
    drop_file(page, "stray.csv", 'id,text\nr1,"He said "hi" to me"\n', "text/csv")
    expect(result).to_have_text('stray.csv, line 2: a quoted value is followed by “h” (a " inside a quoted value is '
                                'written twice: "") — nothing was stored.')
    assert _stored_texts(server, project["id"]) == []
    expect(page.locator("#csv-mapping")).to_be_hidden()  # gaps.csv's stayed open: Import sent it, not stray.csv

    drop_file(page, "hand.csv", 'id, text\nr1, "Broke, in a week"\nr2, "Said ""fine"""  \r\nr3, plain\n', "text/csv")
    expect(page.locator("#csv-count")).to_have_text("3 rows")
    page.click("#csv-import")
    expect(result).to_have_text("Imported 3 tasks from hand.csv.")
    assert _stored_texts(server, project["id"]) == ["Broke, in a week", 'Said "fine"', " plain"]


def test_a_project_is_deleted_from_its_settings_after_typing_its_name(new_page, server):  # noqa: ANN001
    # The console had no way to delete a project: a requester had to find the API's DELETE ...?confirm=NAME.
    requester, project = _requester_project(server, tasks=[{"data": {"text": "a"}}, {"data": {"text": "b"}}])
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/settings")
    error = page.locator('[data-field="confirm"] .field-error')
    page.click("#delete-project")
    expect(error).to_have_text("type the project's name to delete it")
    expect(page.locator("#f-confirm")).to_be_focused()
    page.fill("#f-confirm", project["name"][:-1])
    page.keyboard.press("Enter")
    expect(error).to_have_text("that is not the project's name: type it exactly as shown")
    assert server.query("SELECT count(*) AS n FROM projects WHERE id = :p", p=project["id"])[0]["n"] == 1
    focus_rings_stand_out(page, ("#f-confirm", "#delete-project"))
    page.fill("#f-confirm", project["name"])
    page.click("#delete-project")
    expect(page).to_have_url(re.compile(r"/console/projects$"))
    expect(page.locator("#page-status")).to_have_text(f"Deleted the project {project['name']}: 2 tasks and 0 answers.")
    expect(page.locator("#page-status")).to_be_focused()
    assert server.query("SELECT count(*) AS n FROM projects WHERE id = :p", p=project["id"])[0]["n"] == 0
    page.reload()
    expect(page.locator("#page-status")).to_be_hidden()  # said once

    phone = new_page(PHONE)
    other_requester, other = _requester_project(server)
    sign_in(phone, other_requester, f"/console/projects/{other['id']}/settings")
    expect(phone.locator("#delete-project")).to_be_visible()
    assert_fits_the_width(phone)


def test_block_buttons_name_their_worker_and_the_focus_comes_back_after_one(new_page, server):  # noqa: ANN001
    # Each row's button was "Block": three in a row for three workers; and after blocking the page reloaded with
    # the keyboard's focus at the top of the page.
    requester, project = _requester_project(server, tasks=[{"data": {"text": f"t{i}"}} for i in range(2)],
                                            redundancy=2)
    workers = [server.user("worker") for _ in range(2)]
    for worker in workers:
        with server.client(worker["token"]) as c:
            for _ in range(2):
                lease = c.post(f"/api/projects/{project['id']}/next").json()
                r = c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}})
                assert r.status_code == 201, r.text
    page = new_page(DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, requester, f"/console/projects/{project['id']}/quality")
    first = workers[0]["username"]
    for worker in workers:
        expect(page.get_by_role("button", name=f"Block {worker['username']}", exact=True)).to_be_visible()
    assert page.evaluate(SAME_NAMES) == []
    page.get_by_role("button", name=f"Block {first}", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#workers-status")).to_have_text(f"{first} is blocked.")
    expect(page.get_by_role("button", name=f"Unblock {first}", exact=True)).to_be_focused()


def test_review_and_account_buttons_name_what_they_act_on(new_page, server):  # noqa: ANN001
    # A task's page had one "Exclude from consensus" per answer; People one "New token", "Deactivate", "Reset
    # password" and "Save" per account, and one "Add" per team.
    requester, project = _requester_project(server, tasks=[{"data": {"text": "t"}}], redundancy=2)
    for _ in range(2):
        worker = server.user("worker")
        with server.client(worker["token"]) as c:
            lease = c.post(f"/api/projects/{project['id']}/next").json()
            c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "neg"}})
    task_id = server.query("SELECT id FROM tasks WHERE project_id = :p", p=project["id"])[0]["id"]
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/tasks/{task_id}")
    expect(page.locator(".exclude-btn")).to_have_count(2)
    assert page.evaluate(SAME_NAMES) == []

    admin = server.user("admin", password=PASSWORD)
    people = new_page()
    sign_in(people, admin, "/console/people")
    expect(people.get_by_role("button", name=f"New token for {admin['username']}", exact=True)).to_be_visible()
    assert not [n for n in people.evaluate(SAME_NAMES)
                if re.match(r"button (New token|Deactivate|Reactivate|Reset password|Save|Add)$", n)]


def test_the_account_page_makes_a_new_api_token_shown_once(new_page, server):  # noqa: ANN001
    # A requester who signs in with a password had no page for an API token: the Export page's curl line named
    # $TOKEN and POST /api/users/me/token, which needs a token (or the browser's console) to call.
    requester = server.user("requester")
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, requester, "/console/projects")
    page.click("#to-account")
    expect(page).to_have_url(re.compile(r"/console/account$"))
    expect(page.locator("#to-account")).to_have_attribute("aria-current", "page")
    expect(page.locator('#who [data-stat="username"]')).to_have_text(requester["username"])
    assert page.evaluate(HEADING_SKIP) is None
    focus_rings_stand_out(page, ("#to-account", "#new-token"))
    page.click("#new-token")
    expect(page.locator("#secret")).to_be_focused()
    token = page.locator("#secret-value").text_content()
    expect(page.locator("#token-status")).to_have_text("New token made: the old one no longer works.")
    with server.client(token) as c:
        assert c.get("/api/users/me").json()["username"] == requester["username"]
    with server.client(requester["token"]) as c:
        assert c.get("/api/users/me").status_code == 401
    page.click("#secret-close")
    expect(page.locator("#secret")).to_be_hidden()
    expect(page.locator("#secret-value")).to_have_text("")
    expect(page.locator("#new-token")).to_be_focused()

    phone = new_page(PHONE)
    sign_in(phone, requester, "/console/account")
    assert_fits_the_width(phone)
    # the Export page's hint leads here
    with server.client(token) as c:
        project = c.post("/api/projects", json={"name": f"p {uuid.uuid4().hex[:8]}", "task_type": "demonstration"}).json()
    worker = server.user("worker")
    page.goto(f"/console/projects/{project['id']}/export")
    expect(page.locator("#account-link")).to_have_attribute("href", "/console/account")
    forbidden = new_page()
    sign_in(forbidden, worker, "/")
    assert forbidden.goto("/console/account").status == 403


def test_the_export_page_says_when_there_is_nothing_to_export_and_when_a_download_starts(new_page, server):  # noqa: ANN001
    # A new project's Download gave an empty file without a word, and a click showed nothing on the page while the
    # export was checked (the browser's download appears elsewhere, if at all).
    requester, project = _requester_project(server)
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/export")
    expect(page.locator("#nothing-to-export")).to_have_text(re.compile(r"^No tasks yet, so an export has no rows"))
    with server.client(requester["token"]) as c:
        assert c.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"text": "a"}}]).status_code == 201
    page.reload()
    expect(page.locator("#nothing-to-export")).to_contain_text("No task is complete yet (0 of 1)")
    worker = server.user("worker")
    with server.client(worker["token"]) as c:
        lease = c.post(f"/api/projects/{project['id']}/next").json()
        c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}})
    page.reload()
    expect(page.locator("#nothing-to-export")).to_have_count(0)
    with page.expect_download() as info:
        page.click("#download")
    expect(page.locator("#export-started")).to_have_text(
        f"Download started: {info.value.suggested_filename} (your browser saves it; see its downloads).")


def test_review_actions_say_what_they_did_after_the_reload_with_the_focus_kept(new_page, server):  # noqa: ANN001
    # Accept, Exclude, Override and Ask for one more answer reload the page: "Saved." went with the old page and
    # the keyboard's focus fell to the top of the new one.
    requester, project = _requester_project(server, tasks=[{"data": {"text": "t"}}], redundancy=2)
    names = []
    for _ in range(2):
        worker = server.user("worker")
        names.append(worker["username"])
        with server.client(worker["token"]) as c:
            lease = c.post(f"/api/projects/{project['id']}/next").json()
            c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "neg"}})
    task_id = server.query("SELECT id FROM tasks WHERE project_id = :p", p=project["id"])[0]["id"]
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/tasks/{task_id}")
    status = page.locator("#action-status")
    page.get_by_role("button", name=f"Exclude from consensus (the answer of {names[0]})").click()
    expect(status).to_have_text(f"Left out of the consensus: the answer of {names[0]}.")
    expect(page.get_by_role("button", name=f"Count again (the answer of {names[0]})")).to_be_focused()
    page.click("#accept-btn")
    expect(status).to_have_text("Accepted: the consensus is the task's label.")
    expect(page.locator("#review-state")).to_be_focused()
    expect(page.locator("#review-state")).to_contain_text("accepted")
    page.reload()
    expect(status).to_be_hidden()  # said once
    # Ask for one more answer sends the count the page shows plus one (`needed`: a request sent again asks once).
    expect(page.locator("#task-counts")).to_have_text("1 of 2 answers")  # one answer left out
    page.click("#more-btn")
    expect(status).to_have_text("Asked for one more answer: the task is open again.")
    expect(page.locator("#task-counts")).to_have_text("1 of 3 answers")
    with server.client(requester["token"]) as c:
        retried = c.post(f"/api/projects/{project['id']}/tasks/{task_id}/more-answers", json={"needed": 3}).json()
    assert retried["needed"] == 3 and retried["changed"] is False


def test_the_project_header_follows_a_saved_status_and_name(new_page, server):  # noqa: ANN001
    # After pausing (or archiving, or renaming) a project in Settings, "Saved." showed under a header that still
    # said "active" and the old name until a reload.
    requester, project = _requester_project(server)
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/settings")
    page.select_option("#f-status", "paused")
    new_name = project["name"] + " v2"
    page.fill("#f-name", new_name)
    page.click("#save")
    expect(page.locator("#form-status")).to_have_text("Saved.")
    expect(page.locator(".project-header .status")).to_have_text("paused")
    expect(page.locator(".project-header .status")).to_have_class("status status-paused")
    expect(page.locator("#project-heading")).to_have_text(new_name)
    expect(page).to_have_title(f"Settings · {new_name} · labeling")


def test_each_new_label_rows_controls_are_named_by_its_label(new_page, server):  # noqa: ANN001
    # New rows' controls were "Colour", "Hotkey" and "Remove this label" in every row.
    requester = server.user("requester")
    page = new_page()
    sign_in(page, requester, "/console/projects/new")
    page.click("#add-label")
    page.keyboard.type("cat")
    page.keyboard.press("Enter")  # the next label's row
    expect(page.get_by_role("button", name="Remove label 2", exact=True)).to_be_visible()
    page.keyboard.type("dog")
    for name in ("cat", "dog"):
        expect(page.get_by_role("button", name=f"Remove {name}", exact=True)).to_be_visible()
        expect(page.get_by_label(f"Hotkey of {name}", exact=True)).to_be_visible()
        expect(page.get_by_label(f"Colour of {name}", exact=True)).to_be_visible()
    assert page.evaluate(SAME_NAMES) == []


def test_after_recomputing_the_focus_is_back_on_the_button(new_page, server):  # noqa: ANN001
    # Recompute consensus reloads the page to show the new results: the keyboard's focus fell to its top.
    requester, project = _requester_project(server, tasks=[{"data": {"text": "t"}}])
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/results")
    page.locator("#recompute-btn").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#recompute-status")).to_have_text(re.compile(r"^Recomputed \d+ tasks?"))
    expect(page.locator("#recompute-status")).not_to_contain_text("Showing the new results")  # the reloaded page
    expect(page.locator("#recompute-btn")).to_be_focused()


def test_pasting_a_list_into_a_label_name_adds_a_label_a_line(new_page, server):  # noqa: ANN001
    # A project may have 1,000 labels, and "+ Add label" and a name one at a time was the only way in.
    requester = server.user("requester")
    page = new_page()
    sign_in(page, requester, "/console/projects/new")
    name = f"birds {uuid.uuid4().hex[:8]}"
    page.fill("#f-name", name)
    page.click("#add-label")
    page.keyboard.type("owl")
    page.keyboard.press("Enter")
    pasted = "\r\n".join(["heron", "owl", "", f"species {'x' * 3}", *[f"finch {i}" for i in range(60)], "heron"])
    _paste(page, pasted)
    expect(page.locator("#form-status")).to_have_text(
        "Added 62 labels from the pasted lines (2 already in the list or given twice, left out).")
    names = page.locator("#label-rows .label-name")
    expect(names).to_have_count(63)
    assert names.evaluate_all("els => els.map(e => e.value)")[:4] == ["owl", "heron", "species xxx", "finch 0"]
    expect(page.locator("#label-rows .label-name").last).to_be_focused()
    page.click("#save")
    page.wait_for_url(re.compile(r"/console/projects/\d+/import$"))  # a new project goes on to its Import page
    with server.client(requester["token"]) as c:
        project = next(p for p in c.get("/api/projects").json()["data"] if p["name"] == name)
    assert project["labels"][:3] == ["owl", "heron", "species xxx"] and len(project["labels"]) == 63


def test_pasting_a_list_into_a_named_label_keeps_its_name(new_page, server):  # noqa: ANN001
    # The first pasted line took the place of the name already in the field: "owl" was gone without a word (on a
    # project's Settings, a label renamed so is a label removed).
    requester = server.user("requester")
    page = new_page()
    sign_in(page, requester, "/console/projects/new")
    page.click("#add-label")
    page.keyboard.type("owl")
    _paste(page, "heron\nowl\nkite")
    expect(page.locator("#form-status")).to_have_text(
        "Added 2 labels from the pasted lines (1 already in the list or given twice, left out).")
    names = page.locator("#label-rows .label-name")
    expect(names).to_have_count(3)
    assert names.evaluate_all("els => els.map(e => e.value)") == ["owl", "heron", "kite"]
