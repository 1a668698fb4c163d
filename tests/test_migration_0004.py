"""Migration 0004 (worker UI) upgrades a database in use: rows stored by the previous release keep everything."""

from __future__ import annotations

from sqlalchemy import text

from labeling import migrate
from tests.conftest import bearer


def _move(sync_conn, revision: str, up: bool) -> None:  # noqa: ANN001
    """Alembic up or down to `revision`; on SQLite with foreign keys off, as labeling.migrate runs migrations (a
    table rebuilt with them on takes every row pointing at it along when the old table is dropped)."""
    from alembic import command

    sqlite = sync_conn.dialect.name == "sqlite"
    if sqlite:
        _foreign_keys(sync_conn, "OFF")
    try:
        config = migrate.alembic_config()
        config.attributes["connection"] = sync_conn
        (command.upgrade if up else command.downgrade)(config, revision)
    finally:
        if sqlite:
            _foreign_keys(sync_conn, "ON")


def _foreign_keys(sync_conn, state: str) -> None:  # noqa: ANN001
    sync_conn.commit()  # the pragma does nothing inside a transaction
    cursor = sync_conn.connection.dbapi_connection.cursor()
    cursor.execute(f"PRAGMA foreign_keys = {state}")
    cursor.close()


async def to_head(conn) -> None:  # noqa: ANN001
    """Upgrade to head; on PostgreSQL the id sequences then continue after the ids the rows chose."""
    await conn.run_sync(_move, "head", True)
    await conn.commit()
    if conn.dialect.name == "postgresql":
        for table in ("users", "projects", "tasks", "assignments", "annotations"):
            await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 100)"))
        await conn.commit()


ROWS = [
    "INSERT INTO users (id, username, role, token_hash, is_active, created_at) VALUES (1, 'req', 'requester', 'h1', true, 1)",
    "INSERT INTO users (id, username, role, token_hash, is_active, created_at) VALUES (2, 'ann', 'worker', 'h2', true, 1)",
    "INSERT INTO projects (id, name, owner_id, task_type, labels, instructions, redundancy_min, redundancy_max, "
    "lease_seconds, gold_first_n, gold_fraction, gold_min, gold_threshold, options, created_at, updated_at) "
    "VALUES (1, 'old', 1, 'text_classification', '[\"pos\", \"neg\"]', 'Be kind', 2, 2, 600, 0, 0, 5, 0, "
    "'{\"team\": \"x\"}', 1, 1)",
    "INSERT INTO project_counters (project_id, shard, n_tasks, n_gold_tasks, n_complete, n_annotations, n_skips) "
    "VALUES (1, 0, 2, 0, 0, 1, 1)",
    "INSERT INTO tasks (id, project_id, data, is_gold, priority, state, needed, n_done, n_leased, created_at) "
    "VALUES (1, 1, '{\"text\": \"hello\"}', false, 0, 0, 2, 1, 0, 1)",
    "INSERT INTO tasks (id, project_id, data, is_gold, priority, state, needed, n_done, n_leased, created_at) "
    "VALUES (2, 1, '{\"text\": \"bye\"}', false, 0, 0, 2, 0, 0, 1)",
    "INSERT INTO assignments (id, project_id, task_id, worker_id, status, is_gold, created_at, expires_at, "
    "finished_at) VALUES (1, 1, 1, 2, 1, false, 1, 601, 5)",
    "INSERT INTO assignments (id, project_id, task_id, worker_id, status, is_gold, created_at, expires_at, "
    "finished_at) VALUES (2, 1, 2, 2, 2, false, 6, 606, 7)",
    "INSERT INTO annotations (id, project_id, task_id, worker_id, assignment_id, answer, is_gold, excluded, "
    "duration_ms, created_at) VALUES (1, 1, 1, 2, 1, '{\"label\": \"pos\"}', false, false, 1234, 5)",
    "INSERT INTO project_workers (project_id, worker_id, n_claims, n_annotations, n_skips, n_gold, gold_score_sum, "
    "blocked, updated_at) VALUES (1, 2, 2, 1, 1, 0, 0, false, 7)",
]


# The tables ROWS fills (children first), emptied before a test seeds an older schema with them.
SEEDED = ("task_results", "annotations", "assignments", "tasks", "project_workers", "project_counters", "projects",
          "users")


LATER_STAMPS = ("changed_at", "change_id")  # a task's change stamps (0013), set by its triggers on any write


async def rows_of(conn, table: str, order: str = "1, 2") -> list[tuple]:  # noqa: ANN001
    """A table's rows as tuples, without the columns of later revisions that their triggers set (compared apart)."""
    result = await conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
    return [tuple(v for k, v in r._mapping.items() if k not in LATER_STAMPS) for r in result]


async def seed_at(conn, revision: str, *extra: str) -> None:  # noqa: ANN001
    """Move the database down to `revision` and leave it holding ROWS (and `extra` statements): what a database of
    that release holds (the downgrade drops what came after it)."""
    await conn.run_sync(_move, revision, False)
    await conn.commit()
    for table in SEEDED:
        await conn.execute(text(f"DELETE FROM {table}"))
    for statement in [*ROWS, *extra]:
        await conn.execute(text(statement))
    await conn.commit()


async def test_upgrade_from_0001_keeps_every_row(db, client, make_user):
    async with db.engine.connect() as conn:
        await conn.run_sync(_move, "0001", False)
        await conn.commit()
        for statement in ROWS:
            await conn.execute(text(statement))
        await conn.commit()
        await to_head(conn)
        project = (await conn.execute(text("SELECT * FROM projects"))).one()
        annotation = (await conn.execute(text("SELECT * FROM annotations"))).one()
        skipped = (await conn.execute(text("SELECT * FROM assignments WHERE id = 2"))).one()
    assert project.name == "old" and project.instructions == "Be kind" and project.redundancy_min == 2
    assert project.edit_window == "until_final" and project.edit_minutes is None
    assert project.label_styles in ({}, "{}")
    assert annotation.duration_ms == 1234 and annotation.meta is None and annotation.edited_at is None
    assert skipped.status == 2 and skipped.skip_reason is None and skipped.finished_at == 7

    # The old project works as before through the API: labels, options, progress.
    _, admin = await make_user("admin", "boss")
    r = await client.get("/api/projects/1", headers=bearer(admin))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["labels"] == ["pos", "neg"] and body["options"] == {"team": "x"}
    assert body["edit_window"] == "until_final" and [s["name"] for s in body["label_styles"]] == ["pos", "neg"]
    assert body["progress"]["tasks"] == 2 and body["progress"]["annotations"] == 1
    task = (await client.get("/api/projects/1/tasks/2", headers=bearer(admin))).json()
    assert task["skips"] == [{"assignment_id": 2, "worker_id": 2, "username": "ann", "reason": None, "note": None,
                              "skipped_at": task["skips"][0]["skipped_at"]}]
