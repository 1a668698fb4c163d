"""Right-to-left task text: each text takes the direction of its own first letters (Hebrew and Arabic read from
the right, their full stop at the left end), whatever the page's own direction."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.support import label_page

HEBREW = "דוד גר בירושלים."
ARABIC = "زار محمد القاهرة."


def direction(page, selector: str) -> list[str]:
    return page.locator(selector).evaluate_all("nodes => nodes.map(n => getComputedStyle(n).direction)")


@pytest.mark.parametrize("task_type, data, labels, selectors", [
    ("text_classification", {"text": HEBREW}, ["a"], ["#subject-text"]),
    ("named_entities", {"text": ARABIC}, ["PER"], ["#entity-text"]),
    ("demonstration", {"prompt": HEBREW, "system": ARABIC}, [], ["#prompt-text", "#context dd"]),
    ("preference_ranking", {"prompt": ARABIC, "responses": [{"id": "a", "text": HEBREW}, {"id": "b", "text": ARABIC}]},
     [], ["#prompt-text", ".response-text"]),
])
def test_right_to_left_text_reads_from_the_right(new_page, server, worker, task_type, data, labels, selectors):
    project = server.project(task_type, [{"data": data}], labels=labels)
    page = label_page(new_page, worker, project)
    for selector in selectors:
        expect(page.locator(selector).first).to_be_visible()
        assert set(direction(page, selector)) == {"rtl"}, selector
    assert direction(page, "#project-name") == ["ltr"]  # the page around the task keeps its own direction
    for box in ("#response", "#rationale"):  # what the worker writes takes the direction of its first letters
        if page.locator(box).count():
            page.locator(box).fill(HEBREW)
            assert direction(page, box) == ["rtl"], box


@pytest.mark.parametrize("task_type, data, answer, labels", [
    ("text_classification", {"text": ARABIC}, {"label": "a"}, ["a"]),
    ("named_entities", {"text": ARABIC}, {"spans": [{"start": 0, "end": 3, "label": "PER"}]}, ["PER"]),
    ("demonstration", {"prompt": HEBREW}, {"text": ARABIC}, []),
])
def test_the_console_shows_right_to_left_text_as_the_worker_saw_it(new_page, server, task_type, data, answer, labels):
    """The console's results and task pages laid every text out left to right: an Arabic sentence with English in it
    came in another order of runs than the labeling page showed the worker, its entities elsewhere."""
    from tests.browser.support import sign_in

    requester = server.user("requester")
    with server.client(requester["token"]) as c:
        r = c.post("/api/projects", json={"name": f"rtl {task_type} {requester['id']}", "task_type": task_type,
                                          "labels": labels, "redundancy": 1})
        assert r.status_code == 201, r.text
        project = r.json()
        assert c.post(f"/api/projects/{project['id']}/tasks", json=[{"data": data}]).status_code == 201
    worker = server.user("worker", password=None)
    with server.client(worker["token"]) as c:
        lease = c.post(f"/api/projects/{project['id']}/next").json()
        assert c.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": answer}).status_code == 201
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/results?sort=id")
    views = page.locator("#results-table .text-view, #results-table .span-view")
    expect(views.first).to_be_visible()
    assert set(direction(page, "#results-table .text-view, #results-table .span-view")) == {"rtl"}
    page.goto(f"/console/projects/{project['id']}/tasks/{lease['task']['id']}")
    expect(page.locator("#data-view .text-view, #data-view .span-view").first).to_be_visible()
    assert set(direction(page, "#data-view .text-view, #data-view .span-view, #answers .text-view, "
                               "#answers .span-view")) == {"rtl"}
    assert direction(page, "h1")[:1] == ["ltr"]  # the page around the texts keeps its own direction


def test_the_arrow_keys_move_over_right_to_left_words_the_way_they_point(new_page, server, worker):
    """In a Hebrew or Arabic text the next word is to the left, but the right arrow went to it (and the left arrow
    back towards the start, to the right): the selection moved against the key pressed."""
    project = server.project("named_entities", [{"data": {"text": HEBREW}, "external_id": "he"},
                                                {"data": {"text": "David lives in Jerusalem."}, "external_id": "en"}],
                             labels=["PER", "LOC"], redundancy=1)
    page = label_page(new_page, worker, project)
    pending = page.locator("#entity-text .seg.pending")
    page.keyboard.press("ArrowLeft")  # from the right edge, where the text starts: its first word
    expect(pending).to_have_text("דוד")
    page.keyboard.press("1")
    page.keyboard.press("ArrowLeft")  # on to the left
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowRight")  # and back: the word between
    expect(pending).to_have_text("גר")
    page.keyboard.press("Shift+ArrowLeft")  # stretched to the left
    expect(pending).to_have_text("גר בירושלים")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.locator("#entity-text")).to_contain_text("Jerusalem")
    page.keyboard.press("ArrowRight")  # a left-to-right text keeps its arrows
    page.keyboard.press("ArrowRight")
    expect(pending).to_have_text("lives")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    assert server.answers(project["id"]) == {
        "he": {"spans": [{"start": 0, "end": 3, "label": "PER"}, {"start": 4, "end": 15, "label": "LOC"}]},
        "en": {"spans": []},
    }
