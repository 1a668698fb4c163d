"""Secrets a client presents (CSRF tokens in a header or a form, signed media URLs) may hold any character: a wrong
one is the same 403 or 404 as any other wrong one, never a 500 (hmac.compare_digest refuses non-ASCII text)."""

from __future__ import annotations

import re

import pytest

from labeling import auth, jsonio, media
from tests.conftest import bearer, sign_in_form, text_tasks

# Header and form values as a client may send them: UTF-8, a lone Latin-1 byte, a digit int() refuses.
ODD = ["é", "\u2603", "²", "\U0001f600"]


def test_same_secret_and_whole_number_take_any_text():
    assert auth.same_secret("abc", "abc") and not auth.same_secret("abc", "é") and not auth.same_secret("é", "abc")
    assert auth.same_secret("é", "é") and not auth.same_secret("abc", "\udc80")
    assert [jsonio.whole_number(text) for text in ("123", "²", "١٢", "", "-1", " 1", b"007", b"\xb2", b"0")] == [
        123, None, None, None, None, None, 7, None, 0]
    assert jsonio.whole_number("0" * 5000 + "2") == 2 and jsonio.whole_number("9" * 5000) == jsonio.INT_LIMIT + 1


async def _signed_in(client, make_user) -> str:
    """Sign a worker in through the form; the page's CSRF token."""
    await make_user("worker", "oddity", password="the right password")
    assert (await sign_in_form(client, "oddity", "the right password")).status_code == 303
    page = await client.get("/")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


@pytest.mark.parametrize("odd", ODD)
async def test_a_csrf_header_with_any_character_is_a_403_naming_it(client, make_user, odd):
    await _signed_in(client, make_user)
    r = await client.post("/api/projects/1/next", headers={"X-CSRF-Token": odd.encode()})
    assert r.status_code == 403 and r.json()["error"]["field"] == "csrf_token", (r.status_code, r.text)


@pytest.mark.parametrize("odd", ODD)
async def test_a_sign_in_or_sign_out_form_whose_csrf_token_has_any_character_is_a_403_page(client, make_user, odd):
    await client.get("/login")  # a session with its CSRF token, as a browser has
    r = await client.post("/login", data={"csrf_token": odd, "username": "x", "password": "y", "next": "/"})
    assert r.status_code == 403 and "had expired" in r.text, (r.status_code, r.text[:300])
    await _signed_in(client, make_user)
    r = await client.post("/logout", data={"csrf_token": odd})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html"), (r.status_code, r.text[:300])
    assert (await client.get("/")).status_code == 200  # still signed in


@pytest.mark.parametrize("expires, signature", [
    ("9999999999", "%C3%A9"), ("9999999999", "%E2%98%83"), ("%C2%B2", "abc"), ("%D9%A1%D9%A2", "abc"),
    ("9" * 5000, "abc"), ("0" * 5000 + "9999999999", "abc")])
async def test_a_signed_media_url_with_any_character_is_a_404(client, settings, expires, signature):
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    (settings.media_dir / "x.png").write_bytes(b"not really")
    r = await client.get(f"{media.SIGNED_PREFIX}/{expires}/{signature}/x.png")
    assert r.status_code == 404 and r.json()["error"]["field"] == "path", (r.status_code, r.text)


@pytest.mark.parametrize("first, second", [("good", "bad"), ("bad", "good"), ("good", "good"), ("basic", "good")])
async def test_two_authorization_headers_are_a_401_naming_it_whichever_is_valid(client, make_user, new_project,
                                                                                 first, second):
    project = (await new_project(tasks=text_tasks(2)))["id"]
    _, worker = await make_user("worker")
    values = {"good": f"Bearer {worker}", "bad": "Bearer lbl_nobody", "basic": "Basic eDp5"}
    headers = [("Authorization", values[first]), ("Authorization", values[second])]
    for method, url in [("GET", "/api/users/me"), ("POST", f"/api/projects/{project}/next"), ("GET", "/")]:
        r = await client.request(method, url, headers=headers)  # the queue's direct way, the stack, a page
        assert r.status_code == 401, (method, url, r.status_code, r.text[:200])
        if url.startswith("/api/"):
            assert r.json()["error"]["field"] == "Authorization" and "one Authorization" in r.json()["error"]["message"]


async def test_a_content_length_of_five_thousand_digits_is_read_as_its_number(client, make_user, new_project):
    project = (await new_project(tasks=text_tasks(2)))["id"]
    _, worker = await make_user("worker")
    zeros = "0" * 5000
    for url, body in [(f"/api/projects/{project}/next", b"{}"), ("/api/projects", b"{}")]:  # direct, and the stack
        r = await client.post(url, content=body, headers={**bearer(worker), "Content-Type": "application/json",
                                                          "Content-Length": zeros + "2"})
        assert r.status_code in (200, 403), (url, r.status_code, r.text[:200])
        r = await client.post(url, content=body, headers={**bearer(worker), "Content-Type": "application/json",
                                                          "Content-Length": zeros + "9" * 30})
        assert r.status_code == 413 and r.json()["error"]["field"] == "body", (url, r.status_code, r.text[:200])


async def _gone_mid_body(app, method: str, path: str, token: str) -> list[dict]:
    """Call the app as uvicorn does for a client that declares a body and goes away before sending it all."""
    sent: list[dict] = []
    parts = iter([{"type": "http.request", "body": b'{"na', "more_body": True}, {"type": "http.disconnect"}])

    async def receive() -> dict:
        return next(parts, {"type": "http.disconnect"})

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "server": ("testserver", 80), "client": ("127.0.0.1", 5000),
             "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode()),
                         (b"content-type", b"application/json"), (b"content-length", b"100")]}
    await app(scope, receive, send)
    return sent


async def test_a_client_gone_mid_body_is_no_server_error_in_the_log(app, make_user, new_project, requester, caplog):
    project = (await new_project(tasks=text_tasks(2)))["id"]
    _, worker = await make_user("worker")
    for method, path, token in [("POST", "/api/projects", requester),  # the stack
                                ("POST", f"/api/projects/{project}/next", worker)]:  # the queue's direct way
        caplog.clear()
        sent = await _gone_mid_body(app, method, path, token)
        assert sent[0]["status"] == 400, (path, sent[0])
        assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")], (path, caplog.text[:500])
