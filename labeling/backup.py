"""Backups of the database while the server runs, and restoring them (`labeling backup PATH`, `labeling restore PATH`).

SQLite: SQLite's online backup API copies the database as one consistent snapshot (a read transaction, which in
WAL mode never holds up the server's writers) into a file beside PATH, renamed into place when complete.
PostgreSQL: `pg_dump --format=custom` (a consistent snapshot too), when pg_dump is on PATH; otherwise the error
says exactly what to run. A backup holds the database only: copy the media folder ($LABELING_DATA_DIR/media)
along with it.

Restoring replaces the database's contents with the backup's (stop the server first), then migrates it to the
newest schema. `kind` tells a backup file from anything else (a logical dump has its own restore).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from labeling import files, migrate, models
from labeling.db import Database
from labeling.errors import Conflict, InvalidInput, LabelingError
from labeling.export import dump
from labeling.settings import Settings

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class ToolMissing(LabelingError):
    """A PostgreSQL client program is not on PATH; the message says what to run instead."""

    code = "tool_missing"


def kind(path: Path) -> str | None:
    """"sqlite" or "pg_dump" when the file is a backup this module makes (by its first bytes), else None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError:
        return None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "pg_dump"
    return None


def _dialect(settings: Settings) -> str:
    return make_url(settings.resolved_database_url).get_backend_name()


def _sqlite_path(settings: Settings) -> Path:
    return Path(make_url(settings.resolved_database_url).database or "")


def libpq_url(settings: Settings, hide_password: bool = False) -> str:
    """The database URL as PostgreSQL's own programs take it (no SQLAlchemy driver name)."""
    url = make_url(settings.resolved_database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=hide_password)


async def backup(settings: Settings, path: Path) -> str:
    """Back the database up to `path` while the server may be running; returns what was done, in words."""
    if str(path) == "-":  # was a file named "-" in the current folder
        raise InvalidInput("a backup is written to a file, not to standard output: give a file name", field="PATH")
    path = Path(path)
    if path.exists() and path.is_dir():
        raise InvalidInput(f"{path} is a folder; give a file name", field="PATH")
    if _dialect(settings) == "sqlite":
        _not_the_database(_sqlite_path(settings), path)
    if path.is_file() and path.stat().st_size and kind(path) is None:
        # An older backup is replaced (a scheduled backup writes one name again); any other file was replaced too.
        raise InvalidInput(f"{path} exists and is not a backup (labeling backup): it is not replaced; give another "
                           "file name", field="PATH")
    if files.not_a_file(path):
        raise InvalidInput(f"{path} is a device, a pipe or a socket, not a file; give a file name", field="PATH")
    try:  # said as the export says it (it was SQLite's "unable to open database file", or an errno, exit status 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.with_name(path.name + ".partial")  # where the copy is written first, beside PATH
        probe.open("wb").close()
        probe.unlink()
    except OSError as exc:
        raise InvalidInput(f"cannot write into {path.parent}: {exc.strerror}", field="PATH") from None
    if _dialect(settings) == "sqlite":
        await asyncio.to_thread(_sqlite_backup, _sqlite_path(settings), path)
        return f"backed up {_sqlite_path(settings)} to {path} (SQLite online backup)"
    # Into a partial file moved in place when pg_dump succeeds: a failed dump never cuts short an older backup.
    partial = path.with_name(path.name + ".partial")
    command = ["pg_dump", "--format=custom", "--no-owner", "--file", str(partial), "--dbname", libpq_url(settings)]
    try:
        await _run(command, settings, "pg_dump", shown_as={str(partial): str(path)})
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return f"backed up the PostgreSQL database to {path} (pg_dump, custom format)"


def _not_the_database(database: Path, target: Path) -> None:
    """Refuse a backup onto the database itself or a file SQLite keeps beside it: the finished backup is moved
    over the target, so the running server would go on writing to a file no longer there (lost at its restart)."""
    for own in (database, *(database.with_name(database.name + end) for end in files.SQLITE_COMPANIONS)):
        same = own.resolve() == target.resolve()
        with contextlib.suppress(OSError):
            same = same or own.samefile(target)  # a hard link or another path to it
        if same:
            raise InvalidInput(f"{target} is the database's own file ({own.name}); back it up to another file",
                               field="PATH")


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.is_file():
        raise InvalidInput(f"no SQLite database at {source}", field="LABELING_DATABASE_URL")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(source, timeout=30)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # all pages in one step: one read transaction, one consistent snapshot
                dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)  # a failed backup leaves no partial file


async def restore(settings: Settings, path: Path, *, force: bool = False) -> str:
    """Replace the database's contents with a backup's, then migrate it to the newest schema.

    Refuses a file that is not a backup, a backup of the other database kind, and (unless `force`) a database
    that already holds projects. Returns what was done, in words.
    """
    path = Path(path)
    found = kind(path)
    if found is None:
        raise InvalidInput(f"{path} is not a backup made by `labeling backup` (a SQLite file or a pg_dump "
                           "custom-format archive)", field="PATH")
    dialect = _dialect(settings)
    if (found == "sqlite") != (dialect == "sqlite"):
        raise InvalidInput(f"{path} is a {'SQLite' if found == 'sqlite' else 'PostgreSQL'} backup but the database "
                           f"is {'SQLite' if dialect == 'sqlite' else 'PostgreSQL'}; move data between the two with "
                           "a logical dump", field="PATH")
    if not force and await _has_projects(settings):
        raise Conflict("the database already holds projects; stop the server and pass --force to replace them "
                       "with the backup", field="PATH")
    if found == "sqlite":
        await asyncio.to_thread(_sqlite_restore, path, _sqlite_path(settings))
    else:
        await _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--dbname",
                    libpq_url(settings), str(path)], settings, "pg_restore")
    db = Database(settings.resolved_database_url, pool_size=1)
    try:
        await migrate.upgrade(db)
        await db.transact(dump.mark_restored)
    finally:
        await db.dispose()
    return f"restored {path} into the {'SQLite' if found == 'sqlite' else 'PostgreSQL'} database"


def _sqlite_restore(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        try:
            checked = src.execute("PRAGMA quick_check").fetchone()[0]
            labeling = src.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone()
        except sqlite3.DatabaseError as exc:  # a file cut short: its pages cannot even be checked
            raise InvalidInput(f"{source} is damaged ({exc}); nothing was restored", field="PATH") from None
        if checked != "ok":
            raise InvalidInput(f"{source} is damaged (SQLite's quick_check failed)", field="PATH")
        if labeling is None:
            raise InvalidInput(f"{source} is a SQLite file but not a labeling database", field="PATH")
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)  # page by page under the target's write lock: readers see all of it or none
            dst.execute("PRAGMA journal_mode = WAL")
        finally:
            dst.close()
    finally:
        src.close()


async def _has_projects(settings: Settings) -> bool:
    db = Database(settings.resolved_database_url, pool_size=1)
    try:
        async with db.read() as conn:
            return bool(await conn.scalar(select(func.count()).select_from(models.projects)))
    except Exception:  # no schema yet (a new, empty database): nothing to lose
        return False
    finally:
        await db.dispose()


async def _run(command: list[str], settings: Settings, program: str, shown_as: dict[str, str] | None = None) -> None:
    """Run a PostgreSQL client program; when it is not on PATH, say exactly what to run instead (`shown_as`: the
    arguments to show in their place)."""
    password = make_url(settings.resolved_database_url).password
    shown = [libpq_url(settings, hide_password=True) if part == libpq_url(settings) else (shown_as or {}).get(part, part)
             for part in command]
    if shutil.which(program) is None:
        hint = " (with PGPASSWORD set to the database's password)" if password else ""
        raise ToolMissing(f"{program} is not on PATH; install PostgreSQL's client programs, or run{hint}: "
                          f"{shlex.join(shown)}", field=program)
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise LabelingError(f"{program} failed ({done.returncode}): {detail[-1] if detail else 'no output'}",
                            field=program)
