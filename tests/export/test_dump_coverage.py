"""A dump is lossless: every table and column of the schema (the models' metadata and the migrated database) is
in it, or listed in labeling/export/dump.py as left out with a reason; with every table holding rows and every
column a value, a dump restored into the other database dumps back equal."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import inspect, text, update

from labeling import models
from labeling.export import dump
from tests.conftest import PG_URL, raw_writes
from tests.export.test_dump import _busy_project, _dump, _other_database

NOW = 1_790_000_000.5


def _schema_tables(sync_conn) -> dict[str, set[str]]:  # noqa: ANN001
    inspector = inspect(sync_conn)
    return {name: {c["name"] for c in inspector.get_columns(name)} for name in inspector.get_table_names()
            if name != "alembic_version"}


async def _fill_the_rest(db, project: dict) -> None:  # noqa: ANN001
    """Rows in the tables the API test data leaves empty, and a value in every column it leaves null."""
    pid = project["id"]
    async with db.read() as conn:
        owner = (await conn.execute(text("SELECT owner_id FROM projects WHERE id = :p"), {"p": pid})).scalar()
        worker, assignment, task = (await conn.execute(text(
            "SELECT worker_id, id, task_id FROM assignments WHERE project_id = :p ORDER BY id"), {"p": pid})).first()
        skipped = (await conn.execute(text("SELECT id FROM assignments WHERE project_id = :p AND status = 2"),
                                      {"p": pid})).scalar()
    path = "shots/a.png"
    async with raw_writes(db) as conn:
        await conn.execute(models.teams.insert().values(id=7, name="night shift", owner_id=owner, created_at=NOW))
        await conn.execute(models.team_members.insert().values(team_id=7, worker_id=worker))
        await conn.execute(models.pool_workers.insert().values(project_id=pid, worker_id=worker))
        await conn.execute(models.pool_teams.insert().values(project_id=pid, team_id=7))
        await conn.execute(models.media.insert().values(path=path, width=640, height=480, recorded_at=NOW))
        await conn.execute(models.project_media.insert().values(
            path_hash=hashlib.sha256(path.encode()).hexdigest(), project_id=pid, path=path))
        await conn.execute(models.task_reports.insert().values(
            project_id=pid, task_id=task, worker_id=worker, assignment_id=assignment, text="the image is blank",
            created_at=NOW))
        await conn.execute(models.audit_log.insert().values(
            at=NOW, actor_id=owner, actor="requester", action="project.update", object_type="project", object_id=pid,
            project_id=pid, owner_id=owner, details={"changed": ["labels"]}))
        await conn.execute(update(models.projects).where(models.projects.c.id == pid).values(
            label_styles={"x": {"hotkey": "x"}}, edit_window="minutes", edit_minutes=15, status=1, pool_all=False,
            target_confidence=0.9, options={"license": "cc-by-4.0"}, labels=["good"], gold_first_n=2,
            gold_fraction=0.1, gold_threshold=0.6, answer_correlation=0.25))
        await conn.execute(update(models.assignments).where(models.assignments.c.id == skipped).values(
            skip_reason="other", skip_note="unreadable"))
        await conn.execute(update(models.assignments).where(models.assignments.c.id == assignment).values(
            is_gold=True))
        await conn.execute(update(models.annotations).where(models.annotations.c.assignment_id == assignment).values(
            meta={"order": ["b", "a"], "seconds": 12.5}, edited_at=NOW, gold_score=0.5, idempotency_key="k1",
            duration_ms=4200, excluded=True, is_gold=True))
        await conn.execute(update(models.project_workers).where(models.project_workers.c.project_id == pid).values(
            skill=0.8, agreement=0.7, blocked=True, gold_score_sum=1.5, n_gold=2))
        await conn.execute(update(models.project_counters).where(models.project_counters.c.project_id == pid).values(
            n_gold_tasks=1))
        await conn.execute(update(models.tasks).where(models.tasks.c.id == task).values(
            predictions={"ranking": [["a"], ["b", "c"]]}, gold={"ranking": [["a"], ["b"], ["c"]]}, is_gold=True, priority=5,
            source_key="source-ref"))


async def test_every_table_and_column_is_dumped_or_excluded_with_a_reason(client, requester, new_project, make_user,
                                                                           db, tmp_path: Path):
    project = await _busy_project(client, requester, new_project, make_user)
    await new_project(tasks=[{"data": {"text": "another project, open to every worker"}}])
    await _fill_the_rest(db, project)
    async with db.read() as conn:
        migrated = await conn.run_sync(_schema_tables)
    schema = {t.name: {c.name for c in t.c} for t in models.metadata.sorted_tables}
    assert set(migrated) == set(schema), "the migrated database and labeling/models.py disagree"
    for name in schema:
        schema[name] |= migrated[name]

    first = await _dump(db)
    seen: dict[str, dict[str, bool]] = {}  # table -> column -> some row has a value
    for line in first.decode().splitlines()[1:-1]:  # between the header and the end line
        record = json.loads(line)
        columns = seen.setdefault(record["table"], {})
        for key, value in record["row"].items():
            columns[key] = columns.get(key, False) or value not in (None, False, 0, "", {}, [])
    missing = []
    for table, columns in sorted(schema.items()):
        if table in dump.EXCLUDED_TABLES:
            assert dump.EXCLUDED_TABLES[table].strip(), table
            continue
        if table not in seen:
            missing.append(f"table {table} (no rows in the dump)")
            continue
        excluded = dump.EXCLUDED_COLUMNS.get(table, {})
        for column in sorted(columns):
            if column in excluded:
                assert excluded[column].strip() and column not in seen[table], (table, column)
            elif column not in seen[table]:
                missing.append(f"column {table}.{column}")
            elif not seen[table][column]:
                missing.append(f"column {table}.{column} (no row of the test data has a value in it)")
    assert not missing, "not in the dump, nor excluded with a reason in labeling/export/dump.py: " + ", ".join(missing)

    # Restored into the other database, the dump dumps back equal, column by column.
    path = tmp_path / "whole.jsonl"
    path.write_bytes(first)
    other = await _other_database(tmp_path)
    try:
        await dump.restore(other, path)
        second = await _dump(other)
        project_dump = await _dump(other, project["id"])
    finally:
        await other.dispose()
    assert second.decode().splitlines() == first.decode().splitlines()
    assert project_dump == await _dump(db, project["id"])
    tables = {json.loads(line)["table"] for line in project_dump.decode().splitlines()[1:-1]}
    assert tables == set(dump.ORDER)

    # ... and the project's dump back into this database, emptied first (PostgreSQL and SQLite alike).
    async with raw_writes(db) as conn:
        if PG_URL:
            names = ", ".join(t.name for t in reversed(models.metadata.sorted_tables))
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(models.metadata.sorted_tables):
                await conn.execute(table.delete())
    (tmp_path / "project.jsonl").write_bytes(project_dump)
    await dump.restore(db, tmp_path / "project.jsonl")
    assert await _dump(db, project["id"]) == project_dump
