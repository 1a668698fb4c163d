"""Account lifecycle over the API (admins list, create, reset, rotate, deactivate, reactivate) and the admin token
of LABELING_ADMIN_TOKEN."""

from __future__ import annotations

import os

import pytest

from labeling import auth, cli
from labeling.settings import Settings
from tests.conftest import bearer, sign_in_form, text_tasks


async def test_admins_list_users_a_page_at_a_time(client, admin, make_user):
    for i in range(5):
        await make_user("worker", f"listed{i}")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "role": "worker", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/users", params=params, headers=bearer(admin))).json()
        seen += page["data"]
        cursor = page["next"]
        if cursor is None:
            break
    assert [u["username"] for u in seen] == [f"listed{i}" for i in range(5)]
    assert set(seen[0]) == {"id", "username", "role", "is_active", "created_at"}  # never a hash
    one = await client.get(f"/api/users/{seen[0]['id']}", headers=bearer(admin))
    assert one.json() == seen[0]
    assert (await client.get("/api/users/999999", headers=bearer(admin))).status_code == 404
    r = await client.get("/api/users", params={"role": "boss"}, headers=bearer(admin))
    assert r.status_code == 400 and r.json()["error"]["field"] == "role"


async def test_an_admin_rotates_anyones_token(client, admin, make_user):
    user, token = await make_user("requester")
    r = await client.post(f"/api/users/{user['id']}/token", headers=bearer(admin))
    assert r.status_code == 201
    assert (await client.get("/api/users/me", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/users/me", headers=bearer(r.json()["token"]))).json()["id"] == user["id"]


_sign_in = sign_in_form


async def test_a_password_reset_ends_sessions_and_the_new_password_works(client, admin, make_user):
    user, _ = await make_user("worker", "forgetful", password="old password 1")
    assert (await _sign_in(client, "forgetful", "old password 1")).status_code == 303
    assert (await client.get("/api/users/me")).status_code == 200
    r = await client.post(f"/api/users/{user['id']}/password", json={"password": "new password 2"},
                          headers=bearer(admin))
    assert r.status_code == 200
    assert (await client.get("/api/users/me")).status_code == 401  # the session ended with the old password
    client.cookies.clear()
    assert (await _sign_in(client, "forgetful", "old password 1")).status_code == 401
    assert (await _sign_in(client, "forgetful", "new password 2")).status_code == 303
    r = await client.post(f"/api/users/{user['id']}/password", json={"password": "short"}, headers=bearer(admin))
    assert r.status_code == 400 and r.json()["error"]["field"] == "password"


async def test_deactivation_stops_tokens_and_sessions_at_once_and_releases_leases(client, admin, make_user,
                                                                                  new_project):
    user, token = await make_user("worker", "leaving", password="a fine password")
    _, other = await make_user("worker")
    project = await new_project(tasks=text_tasks(1), redundancy=1)
    lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(token))).json()
    assert (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(other))).status_code == 204
    assert (await _sign_in(client, "leaving", "a fine password")).status_code == 303
    assert (await client.get("/api/users/me")).status_code == 200  # remembered by this process now

    r = await client.post(f"/api/users/{user['id']}/deactivate", headers=bearer(admin))
    assert r.status_code == 200 and r.json()["is_active"] is False and r.json()["leases_released"] == 1
    assert (await client.get("/api/users/me", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/users/me")).status_code == 401
    client.cookies.clear()
    assert (await _sign_in(client, "leaving", "a fine password")).status_code == 401
    freed = await client.post(f"/api/projects/{project['id']}/next", headers=bearer(other))
    assert freed.status_code == 200 and freed.json()["task"]["id"] == lease["task"]["id"]
    inactive = (await client.get("/api/users", params={"active": "false"}, headers=bearer(admin))).json()["data"]
    assert [u["username"] for u in inactive] == ["leaving"]

    r = await client.post(f"/api/users/{user['id']}/reactivate", headers=bearer(admin))
    assert r.status_code == 200 and r.json()["is_active"] is True
    assert (await client.get("/api/users/me", headers=bearer(token))).status_code == 200


async def test_an_admin_cannot_deactivate_themselves_so_one_always_remains(client, admin, make_user):
    me = (await client.get("/api/users/me", headers=bearer(admin))).json()
    r = await client.post(f"/api/users/{me['id']}/deactivate", headers=bearer(admin))
    assert r.status_code == 409 and "yourself" in r.json()["error"]["message"]
    second, second_token = await make_user("admin", "second-admin")
    assert (await client.post(f"/api/users/{second['id']}/deactivate", headers=bearer(admin))).status_code == 200
    assert (await client.get("/api/users/me", headers=bearer(second_token))).status_code == 401
    assert (await client.get("/api/users/me", headers=bearer(admin))).status_code == 200


async def test_the_admin_token_setting_replaces_the_same_admins_token(settings, monkeypatch):
    monkeypatch.setenv("LABELING_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LABELING_DATABASE_URL", settings.resolved_database_url)
    first, second = "first-admin-token-" + "a" * 24, "second-admin-token-" + "b" * 24
    from labeling.db import Database

    async def whoami(token: str):
        db = Database(settings.resolved_database_url, pool_size=1)
        try:
            async with db.read() as conn:
                return await auth.principal_for_token(conn, token)
        finally:
            await db.dispose()

    await cli._startup(Settings.from_env({**os.environ, "LABELING_ADMIN_TOKEN": first}), False)
    before = await whoami(first)
    assert before is not None and before.username == "admin"
    await cli._startup(Settings.from_env({**os.environ, "LABELING_ADMIN_TOKEN": second}), False)
    after = await whoami(second)
    assert after is not None and after.id == before.id  # the same admin, not a second one
    assert await whoami(first) is None


@pytest.mark.parametrize("token", ["x", "a" * 23])
def test_a_short_admin_token_is_refused_at_start_up_in_one_line(token, monkeypatch, capsys, settings):
    monkeypatch.setenv("LABELING_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LABELING_ADMIN_TOKEN", token)
    assert cli.main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "LABELING_ADMIN_TOKEN must be at least 24 characters" in err


@pytest.mark.parametrize("username", ["carl smith", "-carl", "carl!", "é" * 3])
async def test_a_bad_username_is_refused_in_plain_words(client, admin, username):
    """The pattern a username is checked against, said in words (not pydantic's quoted regex), field named."""
    r = await client.post("/api/users", json={"username": username, "role": "worker", "password": "a-long-password"},
                          headers=bearer(admin))
    assert r.status_code == 400 and r.json()["error"]["field"] == "username", r.text
    message = r.json()["error"]["message"]
    assert "letters, digits" in message and "pattern" not in message and "^" not in message, message
