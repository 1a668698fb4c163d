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
