"""What the walk3 walk-through found in the console: an error on a fieldset marked and focused its first radio
button instead of the number that was wrong."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.browser.support import sign_in


def _requester_project(server, **settings) -> tuple[dict, dict]:  # noqa: ANN001, ANN003
    """A requester with a password and a text classification project of theirs."""
    requester = server.user("requester")
    with server.client(requester["token"]) as c:
        r = c.post("/api/projects", json={"name": f"walk3 {uuid.uuid4().hex[:8]}", "task_type": "text_classification",
                                          "labels": ["pos", "neg"], **settings})
        assert r.status_code == 201, r.text
    return requester, r.json()


def test_a_redundancy_error_marks_and_focuses_the_number_not_the_fixed_or_adaptive_radio(new_page, server):  # noqa: ANN001
    # The API names the whole field ("redundancy"); its fieldset starts with the Fixed/Adaptive radios, and the
    # first of them took aria-invalid, the error's description and the focus: a screen reader said "Fixed, radio
    # button, not checked, invalid" for "max must be at least min", and Space there switched to fixed redundancy.
    requester, project = _requester_project(server)
    page = new_page()
    sign_in(page, requester, f"/console/projects/{project['id']}/settings")
    page.check('input[name="redundancy_kind"][value="adaptive"]')
    page.fill("#f-rmin", "4")
    page.fill("#f-rmax", "2")
    page.click("#save")
    error = page.locator('[data-field="redundancy"] > .field-error')
    expect(error).to_have_text("max must be at least min")
    expect(page.locator("#f-rmin")).to_be_focused()
    expect(page.locator("#f-rmin")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-rmin")).to_have_attribute("aria-describedby", error.get_attribute("id"))
    expect(page.locator('input[name="redundancy_kind"][aria-invalid]')).to_have_count(0)
    expect(page.locator('input[name="redundancy_kind"][value="adaptive"]')).to_be_checked()

    # a fixed redundancy of 0 on a new project: the Answers box is the one marked and focused
    page.goto("/console/projects/new")
    page.fill("#f-name", f"walk3 {uuid.uuid4().hex[:8]}")
    page.click("#add-label")
    page.keyboard.type("pos")
    page.fill("#f-redundancy", "0")
    page.click("#save")
    expect(page.locator('[data-field="redundancy"] > .field-error')).to_have_text("must be at least 1")
    expect(page.locator("#f-redundancy")).to_be_focused()
    expect(page.locator("#f-redundancy")).to_have_attribute("aria-invalid", "true")
    expect(page.locator('input[name="redundancy_kind"][aria-invalid]')).to_have_count(0)

