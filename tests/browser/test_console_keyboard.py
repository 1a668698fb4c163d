"""The console with the keyboard alone: the first Tab offers to skip the top bar and the project's tabs (13 stops
on a project page before its first field, on every page)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import PHONE, sign_in
from tests.browser.test_console_flow import _own_project


def test_the_first_tab_skips_to_the_page_s_content(server, new_page):  # noqa: ANN001
    requester = server.user("requester")
    project_id = _own_project(server, requester, "text_classification", ["pos", "neg"])
    page = new_page(PHONE)
    sign_in(page, requester, f"/console/projects/{project_id}/settings")
    page.wait_for_load_state("load")
    skip = page.locator("a.skip-link")
    expect(skip).not_to_be_in_viewport()  # out of the way until the keyboard reaches it
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    expect(skip).to_have_text("Skip to content")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("#f-name")).to_be_focused()  # the form's first field, past the nav and the tabs
