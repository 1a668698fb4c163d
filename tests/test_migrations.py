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


async def test_a_database_at_a_revision_this_version_does_not_know_is_refused_in_words(db):
    """A database a newer labeling upgraded: every command said Alembic's "CommandError: Can't locate revision
    identified by '0099'" (exit status 1); now one line saying what it means, and the database is left as it is."""
    from labeling.errors import LabelingError

    async with db.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    try:
        with pytest.raises(LabelingError, match=r"revision '0099', which this labeling .* does not know .* newer"):
            await migrate.upgrade(db)
        async with db.read() as conn:
            assert await migrate.current_revision(conn) == "0099"
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(sa.text("UPDATE alembic_version SET version_num = :head"),
                               {"head": migrate.head_revision()})


async def test_a_database_of_another_program_is_not_migrated_into(db):
    """LABELING_DATABASE_URL pointing at another program's database: `labeling migrate` (and serve) wrote every
    labeling table in among its tables. Now refused, naming a table, with nothing written."""
    from labeling.errors import LabelingError

    async with db.engine.connect() as conn:
        await conn.run_sync(_move, "base", False)
        await conn.commit()
        await conn.execute(sa.text("DROP TABLE alembic_version"))
        await conn.execute(sa.text("CREATE TABLE their_orders (id INTEGER PRIMARY KEY)"))
        await conn.commit()
    try:
        with pytest.raises(LabelingError, match=r"tables that are not labeling's \(their_orders\)"):
            await migrate.upgrade(db)
        async with db.read() as conn:
            assert set(await conn.run_sync(lambda c: inspect(c).get_table_names())) == {"their_orders"}
    finally:
        async with db.engine.connect() as conn:
            await conn.execute(sa.text("DROP TABLE their_orders"))
            await conn.commit()
        await migrate.upgrade(db)
