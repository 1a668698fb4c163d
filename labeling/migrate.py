"""Apply Alembic migrations programmatically (no alembic.ini needed at run time)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any, Callable

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import __version__, db, resources
from labeling.errors import LabelingError


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(resources.migrations_dir()))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


async def upgrade(database: db.Database, revision: str = "head") -> None:
    """Bring the database to `revision` (head by default). A database already at the newest revision is left as
    it is, without a schema-change transaction: on SQLite that transaction ends with a foreign-key check of every
    row (seconds at a million tasks), which every command and server start would otherwise pay."""
    async with database.read() as conn:
        current = await current_revision(conn)
        if revision == "head" and current == head_revision():
            return
        if current is None:
            foreign = set(await conn.run_sync(lambda c: inspect(c).get_table_names())) - {"alembic_version"}
    if current is not None and current not in known_revisions():
        # Alembic's own words were "CommandError: Can't locate revision identified by '0012'", for every command.
        raise LabelingError(f"the database is at schema revision {current!r}, which this labeling {__version__} does "
                            f"not know (its newest is {head_revision()}): a newer labeling has upgraded it; run that "
                            "version, or restore a backup made before the upgrade", field="LABELING_DATABASE_URL")
    if current is None and foreign:
        # Migrating it wrote the labeling tables in among another program's (a database URL pointing at the
        # wrong database); an empty database, or one of ours, is what a migration is for.
        shown = ", ".join(sorted(foreign)[:5]) + (", ..." if len(foreign) > 5 else "")
        raise LabelingError(f"the database holds tables that are not labeling's ({shown}) and no labeling schema: "
                            "point LABELING_DATABASE_URL at a new, empty database or a labeling one",
                            field="LABELING_DATABASE_URL")
    config = alembic_config()

    def _upgrade(sync_conn: object) -> None:
        config.attributes["connection"] = sync_conn
        command.upgrade(config, revision)

    if database.is_sqlite:
        async with _one_sqlite_migrator(database):
            await run_sqlite_schema_change(database, _upgrade)
    else:
        async with database.engine.connect() as conn:
            # One migrator at a time when several server processes start together.
            await conn.exec_driver_sql("SELECT pg_advisory_lock(74657301)")
            try:
                await conn.run_sync(_upgrade)
                await conn.commit()
            finally:
                await conn.exec_driver_sql("SELECT pg_advisory_unlock(74657301)")
                await conn.commit()


@contextlib.asynccontextmanager
async def _one_sqlite_migrator(database: db.Database) -> AsyncIterator[None]:
    """One process at a time migrates a SQLite file: an exclusive lock on FILE.migrate-lock, held until its
    migrations are committed, so a second `labeling` command or server started at once finds the schema done.
    (BEGIN IMMEDIATE alone let a second process read the revision between two steps of the first: "expected to
    match one row when updating '0007' to '0008'; 0 found".) PostgreSQL migrators take an advisory lock instead."""
    path = make_url(database.url).database
    try:
        import fcntl
    except ImportError:  # no flock (Windows): BEGIN IMMEDIATE alone
        fcntl = None  # type: ignore[assignment]
    if fcntl is None or not path or path == ":memory:":
        yield
        return
    # Its owner's alone, as the database file (an empty file, but one more name others need not see written).
    with open(os.open(f"{path}.migrate-lock", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as lock:
        await asyncio.to_thread(fcntl.flock, lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


async def run_sqlite_schema_change(database: db.Database, change: Callable[[Any], None]) -> None:
    """Run a schema change on SQLite with foreign keys off, as SQLite asks: Alembic's batch mode rebuilds a
    table (copy, drop, rename), and with foreign keys on, dropping `projects` would cascade-delete every task.
    The keys are checked once the change is committed; a violation fails the migration."""
    async with database.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: sent before any BEGIN
        # BEGIN IMMEDIATE: a second process migrating the same file at once waits (busy timeout) and then finds the
        # schema at the newest revision. A deferred BEGIN read first, and two such transactions each waiting to
        # write is a deadlock SQLite answers at once with "database is locked": one of the processes failed to start.
        await conn.execution_options(sqlite_begin="IMMEDIATE")
        try:
            await conn.run_sync(change)
            await conn.commit()
            cursor = await raw.execute("PRAGMA foreign_key_check")
            broken = await cursor.fetchall()
            if broken:
                raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")
        finally:
            await raw.execute("PRAGMA foreign_keys = ON")


async def current_revision(conn: AsyncConnection) -> str | None:
    """The revision the database is at, or None for an empty database."""
    return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head_revision() -> str:
    """The newest revision shipped with this version."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    """Every revision shipped with this version."""
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
