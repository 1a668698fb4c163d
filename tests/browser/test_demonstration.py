"""Demonstration: the prompt, a text box for the ideal response, Ctrl+Enter to submit."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import label_page


def test_write_a_response_and_correct_a_draft(new_page, server, worker):
    project = server.project("demonstration", [
        {"data": {"prompt": "Greet the user in <b>one</b> line.", "system": "Be brief."}, "external_id": "write",
         "priority": 1},
        {"data": {"prompt": "Say thanks."}, "external_id": "draft", "predictions": {"text": "Thanks"}},
    ])
    page = label_page(new_page, worker, project)
    expect(page.locator("#prompt-text")).to_have_text("Greet the user in <b>one</b> line.")
    expect(page.locator("#context")).to_contain_text("Be brief.")
    box = page.locator("#response")
    expect(box).to_be_focused()  # writing is the task: the text box has the keyboard at once
    page.keyboard.type("Hello there!")
    page.keyboard.press("Enter")  # a new line, not a submit
    page.keyboard.type("Second line, with an s and a ? in it.")
    expect(page.locator("#help")).not_to_be_visible()
    page.keyboard.press("Control+Enter")

    expect(page.locator("#prompt-text")).to_have_text("Say thanks.")
    expect(page.locator("#prefill-note")).to_be_visible()
    expect(box).to_have_value("Thanks")
    page.keyboard.type(" a lot!")
    page.keyboard.press("Escape")  # leave the text box; now keys are shortcuts again
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).not_to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()

    assert server.answers(project["id"]) == {
        "write": {"text": "Hello there!\nSecond line, with an s and a ? in it."},
        "draft": {"text": "Thanks a lot!"},
    }


def test_a_lease_running_out_while_typing_leaves_the_keyboard_in_the_text_box(new_page, server, worker):
    project = server.project("demonstration", [{"data": {"prompt": "Explain leases."}, "external_id": "typing"}],
                             lease_seconds=3)
    page = label_page(new_page, worker, project)
    box = page.locator("#response")
    expect(box).to_be_focused()
    page.keyboard.type("A lease is ")
    expect(page.locator("#banner")).to_contain_text("has run out", timeout=15_000)
    # The banner offers Try again, but the keys being typed still belong to the text: an "s" is not Skip, a
    # "z" not the earlier answers, a new line not the skip dialog's confirmation.
    expect(box).to_be_focused()
    page.keyboard.type("a loan of a task, so zero workers clash.\nIt ends.")
    expect(page.locator("#skip-dialog")).not_to_be_visible()
    expect(box).to_have_value("A lease is a loan of a task, so zero workers clash.\nIt ends.")
    page.keyboard.press("Control+Enter")  # Try again: the lease is renewed
    expect(page.locator("#banner")).to_be_hidden()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"]) == {"typing": {"text": "A lease is a loan of a task, so zero workers clash.\nIt ends."}}
    assert server.assignment_statuses(project["id"]) == {"typing": 1}


def test_holding_ctrl_enter_submits_one_task_not_the_next_ones_drafts(new_page, server, worker):
    """Ctrl+Enter held down: its auto-repeat submitted every following task as it came, each with the model's draft
    it was pre-filled with, unread (plain Enter's repeat was already ignored)."""
    project = server.project("demonstration", [
        {"data": {"prompt": f"Prompt {i}"}, "predictions": {"text": f"draft {i}"}, "external_id": f"t{i}",
         "priority": 10 - i} for i in range(4)])
    page = label_page(new_page, worker, project)
    expect(page.locator("#prompt-text")).to_have_text("Prompt 0")
    page.keyboard.down("Control")
    page.keyboard.down("Enter")
    expect(page.locator("#prompt-text")).to_have_text("Prompt 1")
    for _ in range(10):
        page.keyboard.down("Enter")  # the key still held: repeats
    page.keyboard.up("Enter")
    page.keyboard.up("Control")
    expect(page.locator("#prompt-text")).to_have_text("Prompt 1")
    page.keyboard.press("Control+Enter")  # pressed again: the next one
    expect(page.locator("#prompt-text")).to_have_text("Prompt 2")
    assert server.answers(project["id"]) == {"t0": {"text": "draft 0"}, "t1": {"text": "draft 1"}}
