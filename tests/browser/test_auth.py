"""Sign-in, sign-out, sessions and CSRF in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import label_page, sign_in


def test_wrong_password_shows_a_clear_message_then_sign_in_works(new_page, server, worker):
    project = server.project("text_classification", [{"data": {"text": "hello"}}], labels=["a", "b"])
    page = new_page()
    response = page.goto("/")
    assert re.search(r"/login\?next=/$", page.url)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("#username", worker["username"])
    page.fill("#password", "not the password")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as posted:
        page.click("#sign-in")
    assert posted.value.status == 401
    expect(page.locator("#login-error")).to_have_text(re.compile("Wrong username or password"))
    expect(page.locator("#username")).to_have_value(worker["username"])  # kept, only the password is retyped

    page.fill("#password", worker["password"])
    page.click("#sign-in")
    expect(page).to_have_url(server.base_url + "/")
    row = page.locator(f'tr[data-project-id="{project["id"]}"]')
    expect(row.locator(".project-name")).to_have_text(project["name"])
    expect(row.locator('[data-stat="left"]')).to_have_text("1")
    expect(row.locator('[data-stat="today"]')).to_have_text("0")

    cookie = next(c for c in page.context.cookies() if c["name"] == "labeling_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"


def test_signed_out_visit_to_a_label_page_comes_back_after_sign_in(new_page, server, worker):
    project = server.project("text_classification", [{"data": {"text": "hello"}}], labels=["a", "b"])
    page = new_page()
    page.goto(f"/projects/{project['id']}/label")
    assert "/login?next=" in page.url
    page.fill("#username", worker["username"])
    page.fill("#password", worker["password"])
    page.click("#sign-in")
    expect(page).to_have_url(f"{server.base_url}/projects/{project['id']}/label")
    expect(page.locator("#subject-text")).to_have_text("hello")


def test_sign_out_ends_the_session(new_page, server, worker):
    page = new_page()
    sign_in(page, worker)
    page.click("#sign-out")
    expect(page.locator("#login-notice")).to_have_text("You have signed out.")
    page.goto("/")
    assert "/login" in page.url
    status = page.evaluate("fetch('/api/users/me', {credentials: 'same-origin'}).then(r => r.status)")
    assert status == 401


def test_requests_without_the_csrf_token_are_refused(new_page, server, worker):
    project = server.project("text_classification", [{"data": {"text": "hello"}}], labels=["a", "b"])
    page = new_page()
    sign_in(page, worker)
    # A form post to /logout without the token: 403, and the session survives.
    status = page.evaluate("""fetch('/logout', {method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'csrf_token=forged'}).then(r => r.status)""")
    assert status == 403
    # The JSON API with the session cookie but no X-CSRF-Token header: 403 too.
    result = page.evaluate(f"""fetch('/api/projects/{project["id"]}/next', {{method: 'POST', credentials: 'same-origin'}})
        .then(async r => [r.status, (await r.json()).error.field])""")
    assert result == [403, "csrf_token"]
    # With the page's token the same call works, so it was the token that was missing.
    page.goto(f"/projects/{project['id']}/label")
    expect(page.locator("#subject-text")).to_have_text("hello")
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Your projects")
    # A stale sign-in form (its CSRF token no longer matches the session) is refused in words.
    other = new_page()
    other.goto("/login")
    other.context.clear_cookies()
    other.fill("#username", worker["username"])
    other.fill("#password", worker["password"])
    other.click("#sign-in")
    expect(other.locator("#login-error")).to_have_text(re.compile("expired"))


def test_signed_out_in_another_tab_mid_task_keeps_the_work_through_signing_in_again(new_page, server, worker):
    """A worker signed out in another tab, then submitted: the page hid the task behind "Your session has ended ...
    nothing unsaved could be kept", so a long response written meanwhile looked lost. The work stays on screen, and
    signing in again brings the task back with it, saved by the next submit."""
    project = server.project("demonstration", [{"data": {"prompt": "Write a lot."}, "external_id": "long"},
                                               {"data": {"prompt": "Another."}, "external_id": "other"}])
    page = label_page(new_page, worker, project)
    expect(page.locator("#prompt-text")).to_have_text("Write a lot.")
    page.keyboard.type("An answer that took ten minutes to write.")
    other = page.context.new_page()
    other.goto("/")
    other.click("#sign-out")
    expect(other.locator("#login-notice")).to_have_text("You have signed out.")
    other.close()

    page.keyboard.press("Control+Enter")
    banner = page.locator("#banner")
    expect(banner).to_contain_text("You are signed out")
    expect(banner).to_contain_text("Your work on this task is kept")
    expect(page.locator("#response")).to_be_visible()
    expect(page.locator("#response")).to_have_value("An answer that took ten minutes to write.")
    expect(page.locator("#lease")).to_be_hidden()
    page.keyboard.press("Control+Enter")  # from the text box: the banner's action, Sign in
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#username", worker["username"])
    page.fill("#password", worker["password"])
    page.click("#sign-in")
    expect(page.locator("#prompt-text")).to_have_text("Write a lot.")
    expect(page.locator("#response")).to_have_value("An answer that took ten minutes to write.")
    expect(page.locator("#message")).to_have_text("Your work on this task is back, as you left it.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#prompt-text")).to_have_text("Another.")
    assert server.answers(project["id"]) == {"long": {"text": "An answer that took ten minutes to write."}}
