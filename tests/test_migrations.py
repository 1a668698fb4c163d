"""The migrations build exactly the models' schema, from empty to head and back, on this backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
import pytest
import sqlalchemy as sa
from sqlalchemy import inspect

from labeling import migrate, models
from tests.test_migration_0004 import _move


async def test_migrations_match_the_models(db):
    def diff(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, models.metadata)

    async with db.read() as conn:
        changes = await conn.run_sync(diff)
        assert await migrate.current_revision(conn) == migrate.head_revision()
    # Expression indexes cannot be compared by autogenerate; they are checked by name below.
    changes = [c for c in changes if not (isinstance(c, tuple) and c[0] in ("add_index", "remove_index")
                                          and c[1].name in ("ix_tasks_queue", "ix_task_results_agreement"))]
    assert changes == [], changes


async def test_queue_indexes_exist(db):
    def indexes(sync_conn):
        inspector = inspect(sync_conn)
        return {i["name"] for t in ("tasks", "assignments", "task_results") for i in inspector.get_indexes(t)}

    async with db.read() as conn:
        names = await conn.run_sync(indexes)
    assert {"ix_tasks_queue", "ix_assignments_live", "ix_assignments_worker_live", "ux_assignments_task_worker",
            "ix_task_results_confidence"} <= names


async def test_downgrade_to_empty_and_up_again(db):
    async with db.engine.connect() as conn:
        await conn.run_sync(_move, "base", False)
        await conn.commit()
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await conn.run_sync(_move, "head", True)
        await conn.commit()
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert {t.name for t in models.metadata.sorted_tables} <= set(tables)


async def test_a_table_rebuild_on_sqlite_keeps_the_rows_that_point_at_it(db, client, new_project):
    """Alembic's batch mode rebuilds a SQLite table (copy, drop, rename): with foreign keys on, dropping `projects`
    would cascade-delete its tasks. Migrations run with the keys off and checked afterwards."""
    if not db.is_sqlite:
        pytest.skip("batch rebuilds are SQLite's")
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    await new_project(tasks=[{"data": {"text": "kept"}}])

    def rebuild(sync_conn) -> None:
        with Operations(MigrationContext.configure(sync_conn)).batch_alter_table(
                "projects", recreate="always") as batch:
            batch.alter_column("instructions", existing_type=sa.Text(), nullable=False)

    await migrate.run_sqlite_schema_change(db, rebuild)
    async with db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(models.tasks)) == 1
        assert await conn.scalar(sa.text("PRAGMA foreign_keys")) == 1, "the keys are back on"


async def test_a_database_at_the_newest_revision_is_left_alone(db, monkeypatch):
    # Every command and server start calls upgrade(); at head it must not open a schema change (on SQLite that ends
    # in a foreign-key check of every row: seconds at a million tasks) nor take PostgreSQL's migration lock.
    async with db.read() as conn:
        assert await migrate.current_revision(conn) == migrate.head_revision()
    calls = []

    async def schema_change(database, change):  # noqa: ANN001, ANN202
        calls.append("schema change")

    def alembic_upgrade(config, revision):  # noqa: ANN001, ANN202
        calls.append("alembic")

    monkeypatch.setattr(migrate, "run_sqlite_schema_change", schema_change)
    monkeypatch.setattr(migrate.command, "upgrade", alembic_upgrade)
    await migrate.upgrade(db)
    assert calls == []
    await migrate.upgrade(db, migrate.head_revision())  # an explicit revision still goes through Alembic
    assert calls == (["schema change"] if db.is_sqlite else ["alembic"])


async def test_sqlite_connections_keep_the_page_caches_they_are_given(db):
    # The writer keeps a bigger page cache than the readers; neither grows with the database (soak: RSS).
    if not db.is_sqlite:
        pytest.skip("SQLite's page cache")
    from labeling import sqltx

    async with db.read() as conn:
        assert (await conn.exec_driver_sql("PRAGMA cache_size")).scalar() == -sqltx.READER_CACHE_KIB
    assert await db.transact(lambda tx: tx.conn.execute("PRAGMA cache_size").fetchone()[0]) == -sqltx.WRITER_CACHE_KIB
    assert sqltx.READER_CACHE_KIB < sqltx.WRITER_CACHE_KIB <= 16 * 1024
