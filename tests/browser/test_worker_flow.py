"""Around every task: earlier answers and changing them, skip reasons, problem reports, leases on leaving and
reloading, progress, label hotkeys, time on task, phone screens, the submit key, unknown pages."""

from __future__ import annotations

import itertools
import json
import re

from playwright.sync_api import expect

from tests.browser.support import PHONE, contrast, focus_rings_stand_out, label_page, png, sign_in, tab_to


def _meta(value):
    return json.loads(value) if isinstance(value, str) else value


def _texts(n: int, prefix: str = "item") -> list[dict]:
    return [{"data": {"text": f"{prefix} {i}"}, "external_id": f"t{i}", "priority": 100 - i} for i in range(n)]


def test_earlier_answers_change_by_key_and_by_mouse_and_the_consensus_follows(new_page, server, worker):
    project = server.project("text_classification", _texts(3), labels=["a", "b"], edit_window=10)
    page = label_page(new_page, worker, project)
    text = page.locator("#subject-text")
    page.keyboard.press("1")
    page.keyboard.press("Enter")                               # item 0: a (a slip)
    expect(text).to_have_text("item 1")
    page.keyboard.press("2")
    page.keyboard.press("Enter")                               # item 1: b
    expect(text).to_have_text("item 2")
    page.keyboard.press("2")                                   # work on item 2 so far: b, not submitted

    page.keyboard.press("z")                                   # back to item 1
    expect(page.locator("#editbar")).to_be_visible()
    expect(text).to_have_text("item 1")
    expect(page.locator('#labels .label-btn[aria-pressed="true"] .name')).to_have_text("b")
    expect(page.locator("#submit-btn")).to_contain_text("Save change")
    page.keyboard.press("z")                                   # and to item 0
    expect(text).to_have_text("item 0")
    expect(page.locator("#editbar-text")).to_contain_text("(2 of 2)")
    page.keyboard.press("2")
    page.keyboard.press("Enter")                               # saved: back to the current task, its work kept
    expect(text).to_have_text("item 2")
    expect(page.locator("#message")).to_have_text("Your answer was changed.")
    expect(page.locator("#editbar")).to_be_hidden()
    expect(page.locator('#labels .label-btn[aria-pressed="true"] .name')).to_have_text("b")

    page.locator("#previous-btn").click()                      # by mouse: item 1, then back without a change
    expect(text).to_have_text("item 1")
    page.locator("#edit-newer").click()
    expect(text).to_have_text("item 2")
    page.locator('#labels .label-btn[data-index="0"]').click()
    page.locator("#submit-btn").click()
    expect(page.locator("#state-empty")).to_be_visible()

    assert server.answers(project["id"]) == {"t0": {"label": "b"}, "t1": {"label": "b"}, "t2": {"label": "a"}}
    results = {r["task_id"]: r["answer"] for r in server.query(
        "SELECT task_id, answer FROM task_results WHERE project_id = :p", p=project["id"])}
    first = server.query("SELECT id FROM tasks WHERE project_id = :p AND external_id = 't0'", p=project["id"])[0]["id"]
    assert _meta(results[first]) == {"label": "b"}, "the changed answer replaced the old one in consensus"
    edited = server.query("SELECT edited_at FROM annotations WHERE project_id = :p AND edited_at IS NOT NULL",
                          p=project["id"])
    assert len(edited) == 1


def test_a_change_to_an_earlier_answer_is_not_dropped_without_a_word(new_page, server, worker):
    """Z, X or Back after changing an earlier answer dropped the change in silence: the first says so (Enter saves
    it), the second leaves the answer as it was."""
    project = server.project("text_classification", _texts(2), labels=["a", "b"], edit_window=10)
    page = label_page(new_page, worker, project)
    text, message = page.locator("#subject-text"), page.locator("#message")
    page.keyboard.press("1")
    page.keyboard.press("Enter")                               # item 0: a
    expect(text).to_have_text("item 1")
    page.keyboard.press("z")
    expect(text).to_have_text("item 0")
    page.keyboard.press("2")                                   # changed to b, not saved
    page.keyboard.press("x")
    expect(message).to_contain_text("You changed this answer but did not save it")
    expect(text).to_have_text("item 0")
    expect(page.locator('#labels .label-btn[aria-pressed="true"] .name')).to_have_text("b")
    page.keyboard.press("x")                                   # again: left as it was
    expect(text).to_have_text("item 1")
    expect(page.locator("#editbar")).to_be_hidden()
    assert server.answers(project["id"]) == {"t0": {"label": "a"}}

    page.keyboard.press("z")
    expect(text).to_have_text("item 0")
    page.keyboard.press("2")
    page.locator("#edit-back").click()                         # by mouse: said too
    expect(message).to_contain_text("You changed this answer but did not save it")
    expect(text).to_have_text("item 0")
    page.keyboard.press("Enter")
    expect(message).to_have_text("Your answer was changed.")
    expect(text).to_have_text("item 1")
    page.keyboard.press("z")                                   # saved, unchanged since: X goes straight back
    expect(page.locator('#labels .label-btn[aria-pressed="true"] .name')).to_have_text("b")
    page.keyboard.press("x")
    expect(text).to_have_text("item 1")
    assert server.answers(project["id"]) == {"t0": {"label": "b"}}


def test_a_final_answer_is_shown_but_cannot_change(new_page, server, worker):
    project = server.project("text_classification", _texts(2), labels=["a", "b"])  # until the task is final
    page = label_page(new_page, worker, project)
    page.keyboard.press("1")
    page.keyboard.press("Enter")                               # redundancy 1: final at once
    expect(page.locator("#subject-text")).to_have_text("item 1")
    page.keyboard.press("z")
    expect(page.locator("#editbar-text")).to_contain_text("no longer lets it change")
    expect(page.locator("#submit-btn")).to_be_disabled()
    page.keyboard.press("x")                                   # the newest: back to the task
    expect(page.locator("#subject-text")).to_have_text("item 1")
    expect(page.locator("#submit-btn")).to_be_enabled()


def test_skip_asks_why_by_keys_and_by_mouse_and_the_requester_sees_it(new_page, server, worker):
    project = server.project("text_classification", _texts(3), labels=["a", "b"])
    page = label_page(new_page, worker, project)
    dialog = page.locator("#skip-dialog")
    page.keyboard.press("s")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")                              # changed my mind: nothing skipped
    expect(dialog).to_be_hidden()
    expect(page.locator("#subject-text")).to_have_text("item 0")
    page.keyboard.press("s")
    page.keyboard.press("2")                                   # offensive
    page.keyboard.press("Enter")
    expect(page.locator("#subject-text")).to_have_text("item 1")

    page.locator("#skip-btn").click()
    page.get_by_label("Other:").check()
    page.locator("#skip-confirm").click()                      # "other" needs words
    expect(page.locator("#skip-error")).to_be_visible()
    page.locator("#skip-note").fill("Written in Klingon")
    page.locator("#skip-confirm").click()
    expect(page.locator("#subject-text")).to_have_text("item 2")

    page.locator("#report-btn").click()                        # a report is not an answer
    page.locator("#report-text").fill("The text is cut off after two words.")
    page.locator("#report-send").click()
    expect(page.locator("#message")).to_contain_text("the requester will see your report")
    expect(page.locator("#subject-text")).to_have_text("item 2")
    page.keyboard.press("1")                                   # the keys are the task's again
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()

    rows = server.query("SELECT t.external_id, a.status, a.skip_reason, a.skip_note FROM assignments a "
                        "JOIN tasks t ON t.id = a.task_id WHERE a.project_id = :p ORDER BY t.external_id",
                        p=project["id"])
    assert [(r["external_id"], r["status"], r["skip_reason"], r["skip_note"]) for r in rows] == [
        ("t0", 2, "offensive", None), ("t1", 2, "other", "Written in Klingon"), ("t2", 1, None, None)]
    with server.client(project["requester"]["token"]) as c:
        task_id = server.query("SELECT id FROM tasks WHERE project_id = :p AND external_id = 't2'",
                               p=project["id"])[0]["id"]
        task = c.get(f"/api/projects/{project['id']}/tasks/{task_id}").json()
    assert [r["text"] for r in task["reports"]] == ["The text is cut off after two words."]
    assert task["n_annotations"] == 1 and task["annotations"][0]["answer"] == {"label": "a"}


def test_a_dialog_error_is_said_and_tied_to_its_box_and_the_page_has_headings_in_order(new_page, server, worker):
    """By keyboard alone. "Other" without words, a report without words: the error appeared, but nothing said it
    (no alert) or tied it to its box (no aria-invalid, no aria-describedby); opened again, the skip dialog still
    showed the old error. And the labeling page had no h1: its headings began at h2."""
    project = server.project("text_classification", _texts(1), labels=["a", "b"])
    page = label_page(new_page, worker, project)
    headings = page.eval_on_selector_all("h1, h2, h3, h4", "els => els.filter(e => !e.closest('dialog'))"
                                         ".filter(e => e.getClientRects().length).map(e => e.tagName)")
    assert headings[0] == "H1" and headings.count("H1") == 1, headings
    assert all(int(b[1]) <= int(a[1]) + 1 for a, b in itertools.pairwise(headings)), headings
    expect(page.get_by_role("heading", level=1)).to_have_text(project["name"])

    for opens, box, error in (("s", "#skip-note", "#skip-error"), ("Tab to Report", "#report-text", "#report-error")):
        if opens == "s":
            page.keyboard.press("s")
            page.keyboard.press("4")  # Other, the focus in its box
            page.keyboard.press("Enter")  # no words
        else:
            page.locator("#report-btn").focus()
            page.keyboard.press("Enter")  # the report dialog, its box focused
            page.keyboard.press("Tab")  # Cancel
            page.keyboard.press("Tab")  # Send
            page.keyboard.press("Enter")  # no words
        expect(page.locator(error)).to_be_visible()
        expect(page.locator(error)).to_have_attribute("role", "alert")
        expect(page.locator(box)).to_be_focused()
        expect(page.locator(box)).to_have_attribute("aria-invalid", "true")
        expect(page.locator(box)).to_have_attribute("aria-describedby", error[1:])
        page.keyboard.press("Escape")
    page.keyboard.press("s")
    expect(page.locator("#skip-error")).to_be_hidden()  # a new start, without the old error
    expect(page.locator("#skip-note")).not_to_have_attribute("aria-invalid", "true")
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)


def test_the_focus_ring_stands_out_from_what_is_around_it(new_page, server, worker):
    """A keyboard's focus showed as a pale ring, 2.2:1 on the white page, and 1.5:1 in the dark top bar (the help
    button, Sign out): under the 3:1 a focus indicator needs (WCAG 1.4.11)."""
    project = server.project("text_classification", _texts(1), labels=["a", "b"])
    page = label_page(new_page, worker, project)
    focus_rings_stand_out(page, ("#help-open", "#sign-out", "#labels .label-btn >> nth=0", "#skip-btn", "#submit-btn"))
    page.goto("/")
    start = page.locator(f'tr[data-project-id="{project["id"]}"] a.btn')
    start.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert contrast(start, ring=True) >= 3


def test_enter_on_a_button_of_the_action_bar_presses_it_and_a_closed_dialog_gives_the_keys_back(new_page, server,
                                                                                               worker):
    """A worker who moved the focus to Skip (or Report, or Previous) with Tab and pressed Enter submitted the task
    instead, under the focus ring of Skip. And a dialog opened with the mouse gave the focus back to its button on
    closing, where Enter would open it again."""
    project = server.project("text_classification", _texts(3), labels=["a", "b"])
    page = label_page(new_page, worker, project)

    page.keyboard.press("1")
    for button, dialog in (("#skip-btn", "#skip-dialog"), ("#report-btn", "#report-dialog")):
        tab_to(page, button)
        page.keyboard.press("Enter")
        expect(page.locator(dialog)).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator(dialog)).to_be_hidden()
        expect(page.locator("#work")).to_be_focused()  # the keys are the task's again
    expect(page.locator("#subject-text")).to_have_text("item 0")
    page.locator("#skip-btn").click()
    page.locator("#skip-cancel").click()
    expect(page.locator("#work")).to_be_focused()
    page.keyboard.press("Enter")  # submits "a", as the worker chose before all this
    expect(page.locator("#subject-text")).to_have_text("item 1")
    tab_to(page, "#previous-btn")
    page.keyboard.press("Enter")
    expect(page.locator("#editbar")).to_be_visible()  # the earlier answer, to change it
    page.keyboard.press("x")
    expect(page.locator("#subject-text")).to_have_text("item 1")
    # A dialog's close event comes after it is gone: a focus moved on meanwhile (to Report) stays where it went.
    page.keyboard.press("s")
    page.evaluate("() => { document.getElementById('skip-dialog').close(); "
                  "document.getElementById('report-btn').focus(); }")
    page.keyboard.press("Enter")
    expect(page.locator("#report-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    assert server.answers(project["id"]) == {"t0": {"label": "a"}}


def test_enter_on_the_instructions_reached_with_tab_folds_them_and_submits_nothing(new_page, server, worker):
    """Tab reaches the instructions' summary; Enter there, to fold or unfold them, submitted the task instead (its
    answer chosen or not). Clicked with the mouse, the summary gives the keys back to the task: Enter submits."""
    project = server.project("text_classification", _texts(2), labels=["a", "b"])
    page = label_page(new_page, worker, project)
    instructions, summary = page.locator("#instructions"), page.locator("#instructions summary")
    expect(instructions).to_have_attribute("open", "")
    page.keyboard.press("2")
    summary.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # from the keyboard: its focus ring shows
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")
    expect(instructions).not_to_have_attribute("open", "")
    page.keyboard.press("Enter")
    expect(instructions).to_have_attribute("open", "")
    expect(page.locator("#subject-text")).to_have_text("item 0")
    expect(page.locator("#message")).not_to_have_text("Saving…")
    assert server.answers(project["id"]) == {}
    summary.click()  # with the mouse: folds them, and the keys are the task's again
    expect(instructions).not_to_have_attribute("open", "")
    expect(page.locator("#work")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#subject-text")).to_have_text("item 1")
    assert server.answers(project["id"]) == {"t0": {"label": "b"}}


def test_leaving_the_page_releases_the_lease_and_a_reload_gets_the_task_back(new_page, server, worker):
    project = server.project("text_classification", _texts(2), labels=["a", "b"])
    page = label_page(new_page, worker, project)
    expect(page.locator("#subject-text")).to_have_text("item 0")

    def live() -> list[dict]:
        return server.query("SELECT t.external_id, t.n_leased FROM assignments a JOIN tasks t ON t.id = a.task_id "
                            "WHERE a.project_id = :p AND a.status = 0", p=project["id"])

    assert live() == [{"external_id": "t0", "n_leased": 1}]
    # Meanwhile an urgent task arrives: the queue alone would hand it out first after a reload.
    with server.client(project["requester"]["token"]) as c:
        r = c.post(f"/api/projects/{project['id']}/tasks", json=[{"data": {"text": "urgent"}, "priority": 1000,
                                                                   "external_id": "urgent"}])
        assert r.status_code == 201
    page.keyboard.press("2")
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-state", "working")
    expect(page.locator("#subject-text")).to_have_text("item 0")   # the same task back, with its work
    expect(page.locator('#labels .label-btn[aria-pressed="true"] .name')).to_have_text("b")
    assert live() == [{"external_id": "t0", "n_leased": 1}]
    page.keyboard.press("1")
    page.keyboard.press("Enter")                                   # and its new lease takes the answer
    expect(page.locator("#subject-text")).to_have_text("urgent")

    page.goto("/")                                                 # leaving: the lease goes back at once
    expect(page.locator("#projects")).to_be_visible()
    for _ in range(50):
        if not live():
            break
        page.wait_for_timeout(100)
    assert live() == []
    n_leased = server.query("SELECT n_leased FROM tasks WHERE project_id = :p AND external_id = 'urgent'",
                            p=project["id"])
    assert n_leased == [{"n_leased": 0}]
    assert server.answers(project["id"]) == {"t0": {"label": "a"}}


def test_a_reload_mid_task_keeps_the_work_done_on_it(new_page, server, worker):
    """A reload gave the same task back without what the worker had done on it: a written response, the labels
    ticked, a span marked, all gone. The page keeps it with the lease it remembers and shows it again."""
    text = "Maria Gonzalez joined Northwind."
    cases = [
        (server.project("demonstration", [{"data": {"prompt": "Say hi."}, "external_id": "d"}]),
         lambda page: page.keyboard.type("Hello there,\nfriend"), {"text": "Hello there,\nfriend"}),
        (server.project("text_multilabel", [{"data": {"text": "x"}, "external_id": "m"}], labels=["a", "b", "c"]),
         lambda page: [page.keyboard.press("1"), page.keyboard.press("3")], {"labels": ["a", "c"]}),
        (server.project("named_entities", [{"data": {"text": text}, "external_id": "n"}], labels=["PER", "ORG"]),
         lambda page: [page.keyboard.press("ArrowRight"), page.keyboard.press("Shift+ArrowRight"),
                       page.keyboard.press("1")], {"spans": [{"start": 0, "end": 14, "label": "PER"}]}),
    ]
    page = new_page()
    sign_in(page, worker)
    for project, work, answer in cases:
        page.goto(f"/projects/{project['id']}/label")
        expect(page.locator("body")).to_have_attribute("data-state", "working")
        work(page)
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-state", "working")
        expect(page.locator("#message")).to_have_text("Your work on this task is back, as you left it.")
        expect(page.locator("#prefill-note")).to_be_hidden()  # the worker's own work, not a model's predictions
        page.keyboard.press("Control+Enter")
        expect(page.locator("#state-empty")).to_be_visible()
        assert list(server.answers(project["id"]).values()) == [answer], project["task_type"]

    # Nothing done: nothing said after a reload.
    project = server.project("text_classification", _texts(1), labels=["a", "b"])
    page.goto(f"/projects/{project['id']}/label")
    expect(page.locator("#subject-text")).to_have_text("item 0")
    page.reload()
    expect(page.locator("#subject-text")).to_have_text("item 0")
    expect(page.locator("#message")).to_have_text("")
    expect(page.locator('#labels .label-btn[aria-pressed="true"]')).to_have_count(0)


def test_progress_hotkeys_and_time_on_task_without_hidden_time(new_page, server, worker):
    project = server.project("text_classification", _texts(4), redundancy=1,
                             labels=[{"name": "spam", "hotkey": "m", "color": "#aa0000"}, "ham"])
    page = label_page(new_page, worker, project)
    expect(page.locator("#project-progress")).to_have_text("0%")
    expect(page.locator("#done-count")).to_have_text("0")
    expect(page.locator("#labels .label-btn").first.locator(".hotkey")).to_have_text("M")
    # The page is hidden for a while (another tab): that time is not time on task.
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(1200)
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.keyboard.press("m")                                   # the label's own hotkey
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    expect(page.locator("#today-count")).to_have_text("1")
    expect(page.locator("#project-progress")).to_have_text("25%")
    row = server.query("SELECT answer, meta, duration_ms FROM annotations WHERE project_id = :p", p=project["id"])[0]
    meta = _meta(row["meta"])
    assert _meta(row["answer"]) == {"label": "spam"}
    assert meta["hidden_ms"] >= 1100 and meta["time_on_task_ms"] + meta["hidden_ms"] <= row["duration_ms"] + 5
    assert meta["time_on_task_ms"] < row["duration_ms"] - 1000


def test_on_a_phone_the_controls_that_answer_are_in_view(new_page, server, worker):
    requester = server.user("requester", password=None)
    image = server.upload_image(requester["token"], png(640, 360, [("rect", (40, 40, 200, 200), "#2ca02c")]))
    long_text = "A long review that goes on and on about the product, the shipping and the weather. " * 12
    labels = ["one", "two", "three", "four", "five"]
    responses = [{"id": f"r{i}", "text": "A long response. " * 30} for i in range(3)]
    cases = [
        (server.project("image_classification", [{"data": {"image": image}}], labels=labels), "#labels .label-btn"),
        (server.project("text_multilabel", [{"data": {"text": long_text}}], labels=labels), "#labels .label-btn"),
        (server.project("bounding_box", [{"data": {"image": image}}], labels=labels), "#labels .label-btn"),
        (server.project("named_entities", [{"data": {"text": long_text}}], labels=labels), "#labels .label-btn"),
        (server.project("preference_ranking", [{"data": {"prompt": long_text, "responses": responses}}]),
         "#pool-items .chip"),
        (server.project("demonstration", [{"data": {"prompt": long_text}}]), "#response"),
    ]
    page = new_page(PHONE)
    sign_in(page, worker)
    for project, control in cases:
        page.goto(f"/projects/{project['id']}/label")
        expect(page.locator("body")).to_have_attribute("data-state", "working")
        for locator in (page.locator(control).first, page.locator(control).last, page.locator("#submit-btn")):
            expect(locator).to_be_in_viewport(ratio=1)


def test_the_submit_button_shows_the_key_that_submits(new_page, server, worker):
    project = server.project("demonstration", [{"data": {"prompt": "Say hi."}, "external_id": "d"}])
    page = label_page(new_page, worker, project)
    expect(page.locator("#submit-btn kbd")).to_have_text("Ctrl+Enter")
    page.keyboard.type("Hi!")
    page.keyboard.press("Enter")                               # a new line in the text box
    page.keyboard.press("Control+Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"]) == {"d": {"text": "Hi!\n"}}
    other = server.project("text_classification", [{"data": {"text": "x"}}], labels=["a"])
    page.goto(f"/projects/{other['id']}/label")
    expect(page.locator("#submit-btn kbd")).to_have_text("Enter")


def test_an_unknown_page_is_a_page_in_words(new_page, server, worker):
    page = new_page()
    sign_in(page, worker)
    response = page.goto("/projects/1/labl")
    assert response.status == 404 and "text/html" in response.headers["content-type"]
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator(".error")).to_have_text(re.compile(r"There is no page at /projects/1/labl"))
    expect(page.locator("a.btn")).to_have_text("Back to your projects")


def _watch(page) -> tuple[list[str], list[str]]:  # noqa: ANN001
    """(release requests sent, 4xx/5xx answers and console errors seen) from now on."""
    releases, bad = [], []
    page.on("request", lambda r: releases.append(r.url) if r.url.endswith("/release") else None)
    page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: bad.append(m.text) if m.type == "error" else None)
    return releases, bad


def test_leaving_never_releases_a_lease_already_submitted_or_released(new_page, server, worker):
    """The release sent on leaving answered 409 (a lease submitted while its answer was on the way) or 404 (a reload
    released again what the leaving page had released) in the browser's console: it goes once, for a live lease."""
    project = server.project("text_classification", _texts(3), labels=["a", "b"])
    page = label_page(new_page, worker, project)
    text = page.locator("#subject-text")
    expect(text).to_have_text("item 0")
    releases, bad = _watch(page)

    page.reload()                                                  # released on leaving, not again on coming back
    expect(page.locator("body")).to_have_attribute("data-state", "working")
    expect(text).to_have_text("item 0")
    page.wait_for_timeout(500)
    # (the leaving page's own request is not always reported: what matters is that no release was refused)
    assert len(releases) <= 1 and bad == [], (releases, bad)
    live = server.query("SELECT count(*) AS n FROM assignments WHERE project_id = :p AND status = 0",
                        p=project["id"])
    assert live == [{"n": 1}]
    seen = len(releases)

    # The page is left while its answer is on the way: nothing is handed back (the answer was stored).
    page.keyboard.press("1")
    page.evaluate("""() => {
        document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
        window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}));
    }""")
    expect(text).to_have_text("item 1")
    page.wait_for_timeout(300)
    assert len(releases) == seen and bad == [], (releases, bad)
    assert server.answers(project["id"]) == {"t0": {"label": "a"}}

    # Left twice (back from the page cache, then away again): the live lease goes back once.
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))")
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))")
    page.wait_for_timeout(300)
    assert len(releases) == seen + 1 and bad == [], (releases, bad)
    page.goto("/")
    expect(page.locator("#projects")).to_be_visible()
    page.wait_for_timeout(300)
    assert len(releases) == seen + 1 and bad == [], (releases, bad)
