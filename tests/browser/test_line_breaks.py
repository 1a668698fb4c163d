"""Line breaks other than a line feed (a lone CR of old Mac files, a form feed between PDF pages, Unicode's line and
paragraph separators, NEL): Python counts each as a line break, and a task's text shows each as one, on the labeling
page and in the console; a span after them keeps Python's offsets. Chromium draws a lone CR as nothing: the last
word of one line and the first of the next read as one word."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.support import label_page, sign_in
from tests.browser.test_entities import select_with_mouse

BREAKS = ["\r", "\f", "\u2028", "\u2029", "\x85", "\r\n", "\n"]
TEXT = "".join(f"line{i}{brk}" for i, brk in enumerate(BREAKS)) + "Paris is the end"
LINES = len(BREAKS) + 1

# The lines an element's text is drawn on: the tops of its glyph boxes, a label tag's or a mark's padding (a few pixels
# off its line) not counted as a line of its own.
LINE_COUNT = """el => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const tops = Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => r.top).sort((a, b) => a - b);
  return tops.filter((top, i) => i === 0 || top - tops[i - 1] > 8).length;
}"""


@pytest.mark.parametrize("task_type, data, labels, selectors", [
    ("text_classification", {"text": TEXT}, ["a"], ["#subject-text"]),
    ("demonstration", {"prompt": TEXT, "system": TEXT}, [], ["#prompt-text", "#context dd"]),
    ("preference_ranking", {"prompt": TEXT, "responses": [{"id": "a", "text": TEXT}, {"id": "b", "text": "b"}]},
     [], ["#prompt-text", '[data-card="a"] .response-text']),
])
def test_every_line_break_python_counts_breaks_the_line(new_page, server, worker, task_type, data, labels, selectors):
    project = server.project(task_type, [{"data": data}], labels=labels)
    page = label_page(new_page, worker, project)
    for selector in selectors:
        expect(page.locator(selector).first).to_be_visible()
        assert page.locator(selector).first.evaluate(LINE_COUNT) == LINES, selector


def test_a_span_after_such_breaks_has_python_offsets_and_shows_on_its_words(new_page, server, worker):
    project = server.project("named_entities", [{"data": {"text": TEXT}, "external_id": "t"}], labels=["LOC"],
                             redundancy=1)
    page = label_page(new_page, worker, project)
    root = page.locator("#entity-text")
    assert root.evaluate(LINE_COUNT) == LINES
    select_with_mouse(page, TEXT, "Paris")
    expect(root.locator(".seg.pending")).to_have_text("Paris")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#state-empty")).to_be_visible()
    start = TEXT.index("Paris")
    assert server.answers(project["id"])["t"] == {"spans": [{"start": start, "end": start + 5, "label": "LOC"}]}

    task_id = server.query("SELECT id FROM tasks WHERE project_id = :p", p=project["id"])[0]["id"]
    console = new_page()
    sign_in(console, server.user("admin"), f"/console/projects/{project['id']}/tasks/{task_id}")
    view = console.locator(".span-view").first
    expect(view.locator("mark.view-span")).to_have_text(["Paris"])
    assert view.evaluate(LINE_COUNT) == LINES
