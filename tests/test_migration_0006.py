"""Migration 0006 (tasks.source_key) upgrades a database in use: every task keeps its data and exports as before
(its manifest key unknown: the type's usual one), new manifest imports remember theirs, and the downgrade keeps
every row."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.conftest import bearer
from tests.test_migration_0004 import _move, seed_at, to_head
from tests.test_migration_0005 import RESULT


async def _rows(conn) -> list:  # noqa: ANN001
    return [tuple(row) for row in await conn.execute(text("SELECT id, project_id, data, state, n_done FROM tasks "
                                                          "ORDER BY id"))]


async def test_upgrade_from_0005_keeps_every_task_and_new_imports_keep_their_manifest_key(db, client, make_user):
    async with db.engine.connect() as conn:
        await seed_at(conn, "0005", RESULT)
        before = await _rows(conn)
        await to_head(conn)
        after = await _rows(conn)
        keys = [row[0] for row in await conn.execute(text("SELECT source_key FROM tasks ORDER BY id"))]
    assert after == before and keys == [None, None]

    _, admin = await make_user("admin", "boss")
    r = await client.post("/api/projects/1/tasks", headers=bearer(admin),
                          content=b'{"source-ref": "s3://bucket/review.txt", "lang": "en"}\n')
    assert r.status_code == 201, r.text
    r = await client.get("/api/projects/1/export", params={"format": "manifest", "include_open": "true",
                                                            "label_attribute": "a"}, headers=bearer(admin))
    lines = [{k: v for k, v in json.loads(x).items() if not k.startswith("a")} for x in r.text.splitlines()]
    assert lines == [{"source": "hello"}, {"source": "bye"}, {"source-ref": "s3://bucket/review.txt", "lang": "en"}]

    async with db.engine.connect() as conn:
        await conn.run_sync(_move, "0005", False)
        await conn.commit()
        down = await _rows(conn)
        await to_head(conn)
    assert len(down) == 3 and down[:2] == before
