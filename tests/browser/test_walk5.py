"""What the walk5 walk-through found: at 200% zoom the instructions, open, filled the window and hid the task; a
problem report or a skip's note that could not be sent (no connection) was gone when the worker tried again; a
tab told its task was answered in another tab kept a count without that answer; an earlier answer that can no longer
change took label keys and clicks as if it could."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import DESKTOP, ZOOMED, label_page

INSTRUCTIONS = ("Read the whole review first.\n\n- **positive**: the writer would buy again.\n"
                "- **negative**: the writer would not.\n- Sarcasm counts as what it means.\n"
                "- Ignore the shipping, judge the product.")


def test_at_200_percent_zoom_the_instructions_start_folded_and_the_task_is_in_view(new_page, server, worker):
    """A 1280x800 laptop at 200% zoom is a 640x400 window: open instructions took it all, the text to label below
    the fold; a short window now starts them folded, as a phone does (I opens them, and the choice is kept)."""
    project = server.project("text_classification", [{"data": {"text": "Great blender, quiet."}},
                                                     {"data": {"text": "Broke in a week."}}],
                             labels=["positive", "negative"], instructions=INSTRUCTIONS)
    page = label_page(new_page, worker, project, viewport=ZOOMED)
    expect(page.locator("#instructions")).not_to_have_attribute("open", "")
    expect(page.locator("#subject-text")).to_be_in_viewport(ratio=1)
    page.keyboard.press("i")
    expect(page.locator("#instructions")).to_have_attribute("open", "")

    wide = label_page(new_page, worker, project, viewport=DESKTOP)  # a tall window: open, as before
    expect(wide.locator("#instructions")).to_have_attribute("open", "")


def test_a_report_or_a_skip_note_not_sent_is_kept_for_the_next_try(new_page, server, worker):
    """With the connection down the report dialog closed, said "not sent", and opened again empty: the worker's words
    were lost, as the skip dialog's note was (its "Press S to try again" opened it with no note)."""
    project = server.project("text_classification", [{"data": {"text": f"item {i}"}, "external_id": f"t{i}",
                                                       "priority": 9 - i} for i in range(3)], labels=["a", "b"])
    down = {"now": True}

    def maybe_down(route):
        if down["now"]:
            route.abort()
        else:
            route.continue_()

    page = label_page(new_page, worker, project, routes={"**/report": maybe_down, "**/skip": maybe_down})
    message, text = page.locator("#message"), page.locator("#subject-text")
    expect(text).to_have_text("item 0")
    page.locator("#report-btn").click()
    page.locator("#report-text").fill("The text is cut off.")
    page.locator("#report-send").click()
    expect(message).to_contain_text("The report was not sent")
    expect(message).to_contain_text("Your words are kept")
    page.locator("#report-btn").click()
    expect(page.locator("#report-text")).to_have_value("The text is cut off.")
    down["now"] = False
    page.locator("#report-send").click()
    expect(message).to_contain_text("the requester will see your report")
    page.locator("#report-btn").click()                          # sent: a new report starts empty
    expect(page.locator("#report-text")).to_have_value("")
    page.keyboard.press("Escape")

    down["now"] = True
    page.locator("#work").focus()
    page.keyboard.press("s")
    page.keyboard.press("4")                                   # other, with words
    page.keyboard.type("Written in Klingon")
    page.keyboard.press("Enter")
    expect(message).to_contain_text("Press S to try again")
    page.keyboard.press("s")
    expect(page.locator("#skip-note")).to_have_value("Written in Klingon")
    down["now"] = False
    page.keyboard.press("Enter")
    expect(text).to_have_text("item 1")
    page.keyboard.press("s")                                   # another task: no note of the last one
    expect(page.locator("#skip-note")).to_have_value("")

    rows = server.query("SELECT t.external_id, a.skip_reason, a.skip_note FROM assignments a JOIN tasks t ON "
                        "t.id = a.task_id WHERE a.project_id = :p AND a.status = 2", p=project["id"])
    assert [(r["external_id"], r["skip_reason"], r["skip_note"]) for r in rows] == [("t0", "other", "Written in Klingon")]
    reports = server.query("SELECT text FROM task_reports WHERE project_id = :p", p=project["id"])
    assert [r["text"] for r in reports] == ["The text is cut off."]


def test_a_task_answered_in_another_tab_counts_in_this_one(new_page, server, worker):
    """Two tabs of one worker hold the same lease; the second to submit is told the task was answered elsewhere, and
    its count said 0 beside the answer saved in the first."""
    project = server.project("text_classification", [{"data": {"text": "one"}}, {"data": {"text": "two"}}],
                             labels=["a", "b"])
    first = label_page(new_page, worker, project)
    second = label_page(new_page, worker, project)
    expect(second.locator("#subject-text")).to_have_text(first.locator("#subject-text").inner_text())
    first.keyboard.press("1")
    first.keyboard.press("Enter")
    expect(first.locator("#done-count")).to_have_text("1")
    second.keyboard.press("2")
    second.keyboard.press("Enter")
    expect(second.locator("#banner-text")).to_contain_text("This task can no longer be saved here")
    expect(second.locator("#done-count")).to_have_text("1")
    expect(second.locator("#today-count")).to_have_text("1")


def test_an_earlier_answer_that_can_no_longer_change_is_not_shown_changed(new_page, server, worker):
    """A final answer looked back at took a label key or a click as if it counted (only Submit, greyed out, said
    otherwise): it is put back as stored, and the worker told why."""
    project = server.project("text_classification", [{"data": {"text": f"item {i}"}, "priority": 9 - i}
                                                     for i in range(2)], labels=["a", "b"])  # final at once
    page = label_page(new_page, worker, project)
    pressed = page.locator('#labels .label-btn[aria-pressed="true"] .name')
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#subject-text")).to_have_text("item 1")
    page.keyboard.press("z")
    expect(page.locator("#editbar-text")).to_contain_text("no longer lets it change")
    page.keyboard.press("2")
    expect(page.locator("#message")).to_have_text("This answer can no longer change: what you pick here is not saved.")
    expect(pressed).to_have_text(["a"])
    page.locator('#labels .label-btn[data-index="1"]').click()
    expect(pressed).to_have_text(["a"])
    page.keyboard.press("x")
    expect(page.locator("#subject-text")).to_have_text("item 1")
