"""Lists in name order come back in the same order on SQLite and on PostgreSQL, whatever the PostgreSQL database's
locale: names sort by code point (SQLite's BINARY, PostgreSQL's "C" collation on the name columns), so 'Amy' and
'Eva' come before 'amy', and 'u-v' before 'u.v' before 'u_1'. An en_US PostgreSQL database sorted them as a
dictionary does ('amy', 'Amy', 'eva', ...: case and punctuation ignored first), so a team's page listed its members
in another order, and its first members (the console's preview) were other people, than on SQLite.

Migration 0008 gives a database in use the collation, keeping every name."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from labeling import teams
from tests.conftest import bearer
from tests.test_migration_0004 import _move, seed_at, to_head

# Code point order: capitals before small letters, '-' < '.' < '0' < '_'; a locale's order differs on each.
NAMES = ["zed", "Zed", "amy", "Amy", "eva", "Eva", "u.v", "u-v", "u_1", "u1", "U1", "b0b", "B-0"]
NAME_COLUMNS = {("users", "username"), ("projects", "name"), ("teams", "name")}


@pytest.fixture
async def team(client, admin, requester) -> int:
    """A team of the requester's with a worker of each name."""
    for name in NAMES:
        r = await client.post("/api/users", json={"username": name, "role": "worker"}, headers=bearer(admin))
        assert r.status_code == 201, r.text
    r = await client.post("/api/teams", json={"name": "everyone", "members": NAMES}, headers=bearer(requester))
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_a_teams_members_are_listed_in_code_point_order(client, db, requester, team):
    page = await client.get(f"/console/teams/{team}", headers=bearer(requester))
    assert page.status_code == 200, page.text
    assert re.findall(r'data-member="([^"]+)"', page.text) == sorted(NAMES)
    async with db.read() as conn:
        walked, cursor = [], None
        while True:  # the keyset cursor continues after a name: the database compares names in the same order
            got = await teams.members_by_name(conn, team, cursor, 4)
            walked += [m["username"] for m in got["data"]]
            if not (cursor := got["next"]):
                break
        preview = await teams.member_lists(conn, [team], 5)
    assert walked == sorted(NAMES)
    assert [m["username"] for m in preview[team]] == sorted(NAMES)[:5]


async def test_the_name_columns_compare_bytes(db):
    """On PostgreSQL the name columns have the "C" collation, whatever the database's own; on SQLite the default
    (BINARY) compares bytes, which a query shows."""
    async with db.read() as conn:
        if db.engine.dialect.name == "postgresql":
            rows = await conn.execute(text(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND (table_name, column_name) IN "
                "(('users', 'username'), ('projects', 'name'), ('teams', 'name'))"))
            assert {(t, c): coll for t, c, coll in rows} == {key: "C" for key in NAME_COLUMNS}
        else:
            ordered = await conn.execute(text("SELECT x FROM (SELECT 'amy' AS x UNION ALL SELECT 'Amy') ORDER BY x"))
            assert [r[0] for r in ordered] == ["Amy", "amy"]


async def test_upgrade_from_0007_keeps_every_name_and_orders_by_code_point(db):
    extra = ["INSERT INTO users (id, username, role, token_hash, is_active, created_at) VALUES "
             f"({10 + i}, '{name}', 'worker', 'hw{i}', true, 1)" for i, name in enumerate(NAMES)]
    async with db.engine.connect() as conn:
        await seed_at(conn, "0007", *extra)
        before = sorted(tuple(r) for r in await conn.execute(text("SELECT id, username FROM users")))
        projects_before = [tuple(r) for r in await conn.execute(text("SELECT id, name FROM projects"))]
        await to_head(conn)
        after = sorted(tuple(r) for r in await conn.execute(text("SELECT id, username FROM users")))
        projects_after = [tuple(r) for r in await conn.execute(text("SELECT id, name FROM projects"))]
        ordered = [r[0] for r in await conn.execute(text(
            "SELECT username FROM users WHERE role = 'worker' AND id >= 10 ORDER BY username"))]
        await conn.run_sync(_move, "0007", False)  # and down again: every name stays
        await conn.commit()
        down = sorted(tuple(r) for r in await conn.execute(text("SELECT id, username FROM users")))
        await to_head(conn)
    assert after == before == down and projects_after == projects_before
    assert ordered == sorted(NAMES)
