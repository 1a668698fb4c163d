"""The console's people page, as an admin in Chromium: create a user, reset their password and sign in with it,
deactivate them and see the sign-in refused, reactivate, a new token, a team with members; errors beside fields."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.browser.support import PHONE, assert_fits_the_width, sign_in


def _row(page, username: str):
    return page.locator(f'#users tr[data-username="{username}"]')


def _sign_in_as(new_page, username: str, password: str):
    page = new_page()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#sign-in")
    return page


def test_an_admin_manages_people_and_teams(new_page, server, tmp_path):
    admin = server.user("admin")
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, admin, "/console/people")
    expect(page).to_have_url(re.compile(r"/console/people$"))
    name = f"ann-{uuid.uuid4().hex[:8]}"
    # The inputs of a row line up, whatever their labels' length (a wrapped hint pushed its input down).
    for row in (("#new-username", "#new-role", "#new-password"), ("#team-name", "#team-members")):
        assert len({round(page.locator(s).bounding_box()["y"]) for s in row}) == 1, row

    # A password too short: the error beside the field, nobody made.
    page.fill("#new-username", name)
    page.select_option("#new-role", "worker")
    page.fill("#new-password", "short")
    page.click("#new-user button[type=submit]")
    expect(page.locator('#new-user [data-field="password"] .field-error')).to_contain_text("8 characters")
    assert not server.query("SELECT id FROM users WHERE username = :u", u=name)
    page.fill("#new-password", "first-long-password")
    page.click("#new-user button[type=submit]")
    expect(page.locator("#people-status")).to_have_text(f"Created {name} (worker).")
    expect(page.locator("#secret-value")).to_have_text(re.compile(r"^lbl_"))
    token = page.locator("#secret-value").text_content()
    with server.client(token) as c:
        assert c.get("/api/users/me").json()["username"] == name
    expect(_row(page, name).locator('[data-stat="status"]')).to_have_text("active")

    # A new submit clears the old message; a username with a space is refused in plain words, beside its field.
    page.fill("#new-username", "carl smith")
    page.fill("#new-password", "a-long-password")
    page.click("#new-user button[type=submit]")
    error = page.locator('#new-user [data-field="username"] .field-error')
    expect(error).to_contain_text("letters, digits")
    expect(error).not_to_contain_text("pattern")
    expect(page.locator("#people-status")).to_be_hidden()
    page.fill("#new-username", "")
    page.fill("#new-password", "")

    # Reset the password (a short one is refused beside its field), then sign in with the new one.
    row = _row(page, name)
    row.locator("summary").click()
    row.locator("input[name=password]").fill("tiny")
    row.locator("form.reset-password button").click()
    expect(row.locator(".field-error")).to_be_visible()
    row.locator("input[name=password]").fill("second-long-password")
    row.locator("form.reset-password button").click()
    expect(page.locator("#people-status")).to_have_text(re.compile(f"New password set for {name}"))
    worker_page = _sign_in_as(new_page, name, "second-long-password")
    expect(worker_page).not_to_have_url(re.compile(r"/login"))
    refused = _sign_in_as(new_page, name, "first-long-password")
    expect(refused.locator(".error")).to_be_visible()

    # Deactivate: the sign-in is refused; reactivate: it works again.
    _row(page, name).locator('button[data-action="deactivate"]').click()
    expect(_row(page, name).locator('[data-stat="status"]')).to_have_text("deactivated")
    expect(page.locator("#people-status")).to_have_text(f"{name} is deactivated.")
    refused = _sign_in_as(new_page, name, "second-long-password")
    expect(refused).to_have_url(re.compile(r"/login"))
    expect(refused.locator(".error")).to_be_visible()
    with server.client(token) as c:
        assert c.get("/api/users/me").status_code == 401
    _row(page, name).locator('button[data-action="reactivate"]').click()
    expect(_row(page, name).locator('[data-stat="status"]')).to_have_text("active")
    expect(_sign_in_as(new_page, name, "second-long-password")).not_to_have_url(re.compile(r"/login"))

    # A new token: shown once, the old one stops.
    _row(page, name).locator('button[data-action="token"]').click()
    expect(page.locator("#secret-value")).to_have_text(re.compile(r"^lbl_"))
    fresh = page.locator("#secret-value").text_content()
    assert fresh != token
    with server.client(fresh) as c:
        assert c.get("/api/users/me").status_code == 200
    with server.client(token) as c:
        assert c.get("/api/users/me").status_code == 401

    # A team with members: made with one, another added, an unknown name refused beside the field, one removed.
    other = server.user("worker")
    team = f"team-{uuid.uuid4().hex[:8]}"
    page.fill("#team-name", team)
    # beside the field in plain words, not "members[1]: ..."; spaces separate names too, as on the Teams page
    page.fill("#team-members", f"{name} ghost-{team}")
    page.click("#new-team button[type=submit]")
    expect(page.locator('#new-team [data-field="members"] .field-error')).to_have_text(f"no worker 'ghost-{team}'")
    page.fill("#team-members", name)
    page.click("#new-team button[type=submit]")
    card = page.locator(f'.team[data-team-name="{team}"]')
    expect(card.locator(f'li[data-member="{name}"]')).to_be_visible()
    card.locator("input[name=workers]").fill("nobody-" + uuid.uuid4().hex[:6])
    card.locator("form.add-member button").click()
    expect(card.locator(".field-error")).to_be_visible()
    card.locator("input[name=workers]").fill(other["username"])
    card.locator("form.add-member button").click()
    expect(card.locator(f'li[data-member="{other["username"]}"]')).to_be_visible()
    expect(card.locator("header")).to_contain_text("2 members")
    card.locator(f'li[data-member="{name}"] button.remove-member').click()
    expect(card.locator(f'li[data-member="{name}"]')).to_have_count(0)
    expect(card.locator(f'li[data-member="{other["username"]}"]')).to_be_visible()
    members = server.query("SELECT u.username FROM team_members m JOIN teams t ON t.id = m.team_id "
                           "JOIN users u ON u.id = m.worker_id WHERE t.name = :t", t=team)
    assert [m["username"] for m in members] == [other["username"]]

    page.screenshot(path=str(tmp_path / "people-desktop.png"), full_page=True)
    phone = new_page(PHONE)
    sign_in(phone, admin, "/console/people")
    expect(phone.locator("#users")).to_be_visible()
    assert_fits_the_width(phone)
    phone.screenshot(path=str(tmp_path / "people-phone.png"), full_page=True)

    # One's own reset ends this session too, and says so (it said "their sessions ended", as of someone else).
    mine = _row(phone, admin["username"])
    mine.locator("summary").click()
    mine.locator("input[name=password]").fill("a-new-long-password")
    mine.locator("form.reset-password button").click()
    expect(phone.locator("#people-status")).to_have_text(
        "Your new password is set and your sessions ended, this one too: sign in again with it.")


def test_the_people_page_is_for_admins_only(new_page, server):
    requester = server.user("requester")
    page = new_page()
    sign_in(page, requester, "/console/projects")
    response = page.goto("/console/people")
    assert response.status == 403


def test_a_new_token_and_a_reset_answer_in_sight_from_far_down_the_list(new_page, server):
    """On a phone the users list is long: the token (shown once, at the top) and the reset's message come into
    view instead of appearing out of sight."""
    admin = server.user("admin")
    worker = server.user("worker")
    for _ in range(3):
        server.user("worker")  # a list longer than the screen
    page = new_page(PHONE)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, admin, "/console/people")
    row = _row(page, worker["username"])
    row.scroll_into_view_if_needed()
    row.locator("[data-action=token]").click()
    expect(page.locator("#secret")).to_be_in_viewport()
    expect(page.locator("#secret")).to_be_focused()
    # "Shown once: copy it now", and a Copy button to do it with (on a phone, selecting 43 characters is fiddly).
    copy = page.locator("#secret button.copy")
    copy.click()
    expect(copy).to_have_text(re.compile(r"^(Copied|Selected: press Ctrl\+C)$"))
    expect(copy).to_have_text("Copy", timeout=5000)
    page.click("#secret-close")
    row.scroll_into_view_if_needed()
    row.locator("details.reset > summary").click()
    row.locator("input[type=password]").fill("another-long-password")
    row.locator("input[type=password]").press("Enter")
    expect(page.locator("#people-status")).to_contain_text("New password set")
    expect(page.locator("#people-status")).to_be_in_viewport()
