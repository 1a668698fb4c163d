"""Sign-in: throttled per username and per client address with a growing back-off, passwords checked off the event
loop, an unknown username costing what a known one costs, and sign-out ending the session on the server."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import threading

import httpx
import pytest

from labeling import auth
from labeling.app import create_app
from labeling.throttle import PER_USERNAME, Limit, Throttle
from tests.conftest import bearer, sign_in_form


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


_sign_in = sign_in_form


@pytest.fixture
def clock(app) -> Clock:
    fake = Clock()
    app.state.labeling.throttle.clock = fake
    return fake


@pytest.fixture
def quick_wrong_guesses(monkeypatch) -> None:
    """Wrong passwords fail without the 50-100 ms scrypt (these tests are about counting, not hashing)."""
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda password, encoded: password == "the right password"
                        and real(password, encoded))


def test_the_throttle_backs_off_more_each_time_and_forgets_a_quiet_key():
    clock = Clock()
    throttle = Throttle(per_username=Limit(3, 600, 1, 8), per_address=Limit(100, 60, 1, 8, rate=True), clock=clock)
    for _ in range(2):
        throttle.failed("Ann", "10.0.0.1")
    assert throttle.retry_after("ann", "10.0.0.2") == 0
    waits = []
    for _ in range(5):
        throttle.failed("ann", "10.0.0.1")
        waits.append(throttle.retry_after("ann", "10.0.0.9"))  # per username, from anywhere
        clock.now += waits[-1]
    assert waits == [1, 2, 4, 8, 8]  # doubling, capped: never locked out for longer than the cap
    clock.now += 601
    throttle.failed("ann", "10.0.0.1")
    assert throttle.retry_after("ann", "10.0.0.1") == 0  # quiet for a window: a fresh start
    throttle.failed("ann", "10.0.0.1")
    throttle.failed("ann", "10.0.0.1")
    throttle.succeeded("ANN")
    assert throttle.retry_after("ann", "10.0.0.1") == 0



def test_checks_under_way_count_against_the_allowance_until_they_end():
    throttle = Throttle(clock=Clock())
    for _ in range(PER_USERNAME.allowance):
        assert throttle.retry_after("ann", "10.0.0.1") == 0
        throttle.started("ann", "10.0.0.1")
    assert throttle.retry_after("ANN", "10.0.0.2") == 1  # the username's five checks are under way
    assert throttle.retry_after("bob", "10.0.0.1") == 0  # the address allows fifty
    for _ in range(PER_USERNAME.allowance):
        throttle.finished("ann", "10.0.0.1")
        throttle.succeeded("ann")
    assert throttle.retry_after("ann", "10.0.0.1") == 0

async def test_the_51st_wrong_password_in_a_minute_is_refused_and_the_right_one_works_after_the_back_off(
        client, make_user, clock, quick_wrong_guesses):
    await make_user("worker", "real", password="the right password")
    for i in range(50):  # 50 guesses from one address, each at another account: all checked
        r = await _sign_in(client, f"guess{i}", "wrong password")
        assert r.status_code == 401, (i, r.status_code)
        clock.now += 0.5
    refused = await _sign_in(client, "real", "the right password")
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 60 and f"Wait {wait} seconds" in refused.text and "Too many failed sign-ins" in refused.text
    clock.now += wait
    assert (await _sign_in(client, "real", "the right password")).status_code == 303


async def test_one_username_is_slowed_down_then_lets_the_real_user_in(client, make_user, clock, quick_wrong_guesses):
    await make_user("worker", "target", password="the right password")
    for _ in range(5):
        assert (await _sign_in(client, "target", "guess")).status_code == 401
    first = await _sign_in(client, "target", "the right password")
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    clock.now += 1
    assert (await _sign_in(client, "target", "guess")).status_code == 401
    second = await _sign_in(client, "TARGET", "the right password")
    assert second.status_code == 429 and second.headers["Retry-After"] == "2"  # growing
    clock.now += 2
    assert (await _sign_in(client, "target", "the right password")).status_code == 303


async def test_an_unknown_username_costs_one_password_check_like_a_known_one(client, admin, make_user, monkeypatch):
    user, _ = await make_user("worker", "known", password="the right password")
    await make_user("worker", "nopassword")
    gone, _ = await make_user("worker", "gone", password="the right password")
    await client.post(f"/api/users/{gone['id']}/deactivate", headers=bearer(admin))
    checks: list[tuple[str, bool]] = []
    real = auth.verify_password

    def counting(password: str, encoded: str | None) -> bool:
        checks.append((encoded, threading.current_thread() is threading.main_thread()))
        return real(password, encoded)

    monkeypatch.setattr(auth, "verify_password", counting)
    monkeypatch.setattr(auth, "hash_password", lambda *_: pytest.fail("no hash is made at sign-in"))
    for name in ("known", "nobody", "nopassword", "gone"):
        assert (await _sign_in(client, name, "wrong password")).status_code == 401
    assert len(checks) == 4
    assert [encoded == auth.DUMMY_HASH for encoded, _ in checks] == [False, True, True, True]
    assert not any(on_loop for _, on_loop in checks), "password checks run off the event loop"


async def test_sign_out_ends_the_session_on_the_server(client, make_user):
    await make_user("worker", "leaver", password="the right password")
    assert (await _sign_in(client, "leaver", "the right password")).status_code == 303
    cookie = client.cookies.get("labeling_session")
    page = await client.get("/")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login?signed_out=1"
    client.cookies.clear()
    client.cookies.set("labeling_session", cookie)  # the cookie kept from before: its session is gone
    assert (await client.get("/api/users/me")).status_code == 401
    assert (await client.get("/")).status_code == 303


@pytest.mark.parametrize("secure", [False, True])
async def test_the_session_cookie_is_http_only_same_site_strict_and_secure_when_told(settings, db, make_user, secure):
    """Script never reads the session, another site never sends it, and behind HTTPS it never goes over plain http
    (LABELING_SECURE_COOKIES=1)."""
    app = create_app(dataclasses.replace(settings, secure_cookies=secure), db)
    await make_user("worker", "cookie", password="the right password")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t") as client:
        r = await _sign_in(client, "cookie", "the right password")
    assert r.status_code == 303
    (cookie,) = [value for name, value in r.headers.multi_items() if name == "set-cookie"]
    attributes = {part.strip().partition("=")[0].lower(): part.strip().partition("=")[2]
                  for part in cookie.split(";")[1:]}
    assert cookie.startswith("labeling_session=") and attributes["path"] == "/"
    assert "httponly" in attributes and attributes["samesite"] == "strict"
    assert ("secure" in attributes) is secure


MALFORMED_FORMS = {
    "bad boundary": ("multipart/form-data; boundary=xyz", b"garbage"),
    "no boundary": ("multipart/form-data", b"garbage"),
    "cut-off part": ("multipart/form-data; boundary=xyz", b'--xyz\r\nContent-Disposition: form-data; name="userna'),
    "a file": ("multipart/form-data; boundary=xyz",
               b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nhi\r\n--xyz--\r\n'),
    "too many fields": ("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(20)).encode()),
}


@pytest.mark.parametrize("kind", MALFORMED_FORMS)
async def test_a_malformed_sign_in_form_is_the_sign_in_page_with_an_error(client, kind):
    content_type, body = MALFORMED_FORMS[kind]
    await client.get("/login")  # a session with its CSRF token, as a browser has
    r = await client.post("/login", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html"), (kind, r.status_code, r.text)
    assert 'id="login-error"' in r.text and "could not be read" in r.text and 'name="password"' in r.text


async def test_an_oversized_sign_in_form_is_the_sign_in_page_with_a_413(client):
    r = await client.post("/login", content=b"username=" + b"a" * 70_000,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and 'id="login-error"' in r.text, r.text[:300]


@pytest.mark.parametrize("kind", ["bad boundary", "no boundary", "too many fields"])
async def test_a_malformed_sign_out_form_is_an_error_page(client, make_user, kind):
    content_type, body = MALFORMED_FORMS[kind]
    await make_user("worker", "leaver", password="the right password")
    assert (await _sign_in(client, "leaver", "the right password")).status_code == 303
    r = await client.post("/logout", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html"), (kind, r.status_code, r.text)
    assert "could not be read" in r.text
    assert (await client.get("/")).status_code == 200  # still signed in


async def test_a_crowd_of_guesses_sent_at_once_gets_no_more_checks_than_guesses_sent_in_turn(client, make_user,
                                                                                             monkeypatch):
    await make_user("worker", "crowded", password="the right password")
    release, checked = asyncio.Event(), []

    async def held_login(read, gate, username, password):  # every check waits until all guesses have arrived
        checked.append(username)
        await release.wait()

    monkeypatch.setattr(auth, "login", held_login)
    page = await client.get("/login")  # one session and CSRF token for the whole crowd
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    guesses = [asyncio.create_task(client.post("/login", data={
        "csrf_token": csrf, "username": "crowded", "password": f"guess {i}"})) for i in range(12)]

    async def all_arrived() -> None:
        while len(checked) + sum(task.done() for task in guesses) < len(guesses):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(all_arrived(), 60)
    release.set()
    statuses = sorted(r.status_code for r in await asyncio.gather(*guesses))
    assert len(checked) == PER_USERNAME.allowance, statuses  # five checks, as five guesses in turn
    assert statuses == [401] * 5 + [429] * 7
