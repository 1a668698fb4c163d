"""What the walk5 walk-through found: at 200% zoom the instructions, open, filled the window and hid the task."""

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
