"""The migrations build exactly the models' schema, from empty to head and back, on this backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from labeling import migrate, models


async def test_migrations_match_the_models(db):
    def diff(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, models.metadata)

    async with db.read() as conn:
        changes = await conn.run_sync(diff)
        assert await migrate.current_revision(conn) == migrate.head_revision()
    # Expression indexes cannot be compared by autogenerate; they are checked by name below.
    changes = [c for c in changes if not (isinstance(c, tuple) and c[0] in ("add_index", "remove_index")
                                          and c[1].name == "ix_tasks_queue")]
    assert changes == [], changes


async def test_queue_indexes_exist(db):
    def indexes(sync_conn):
        inspector = inspect(sync_conn)
        return {i["name"] for t in ("tasks", "assignments") for i in inspector.get_indexes(t)}

    async with db.read() as conn:
        names = await conn.run_sync(indexes)
    assert {"ix_tasks_queue", "ix_assignments_live", "ix_assignments_worker_live", "ux_assignments_task_worker"} <= names


async def test_downgrade_to_empty_and_up_again(db):
    from alembic import command

    def run(sync_conn, revision, up):
        config = migrate.alembic_config()
        config.attributes["connection"] = sync_conn
        (command.upgrade if up else command.downgrade)(config, revision)

    async with db.engine.connect() as conn:
        await conn.run_sync(run, "base", False)
        await conn.commit()
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await conn.run_sync(run, "head", True)
        await conn.commit()
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert {t.name for t in models.metadata.sorted_tables} <= set(tables)
