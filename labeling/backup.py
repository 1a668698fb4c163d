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
import threading
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from labeling import files, migrate, models
from labeling.db import Database
from labeling.errors import Conflict, InvalidInput, LabelingError
from labeling.settings import Settings
from labeling.sqltx import Tx

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


class BackingUp:
    """Whether a backup took its name, for what Ctrl+C says it left."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.written = False

    def left(self) -> str:
        """What an interrupted backup left, in words."""
        return f"the backup was written to {self.path}" if self.written else "no backup was written"


async def backup(settings: Settings, path: Path, progress: BackingUp | None = None) -> str:
    """Back the database up to `path` while the server may be running; returns what was done, in words.
    Interrupted (cancelled: Ctrl+C), the copy is waited for and dropped, or pg_dump ended: no file is left."""
    progress = progress if progress is not None else BackingUp(path)
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
    if _dialect(settings) == "sqlite" and not _sqlite_path(settings).is_file():
        raise InvalidInput(f"no SQLite database at {_sqlite_path(settings)}", field="LABELING_DATABASE_URL")
    no_pg_dump = _dialect(settings) != "sqlite" and shutil.which("pg_dump") is None  # _run says what to run instead
    if not no_pg_dump and not await _is_labeling(settings):  # a restore refuses such a backup: said now
        where = _sqlite_path(settings) if _dialect(settings) == "sqlite" else libpq_url(settings, hide_password=True)
        raise InvalidInput(f"{where} holds no labeling database (no labeling schema): nothing to back up; check "
                           "LABELING_DATABASE_URL and LABELING_DATA_DIR", field="LABELING_DATABASE_URL")
    if _dialect(settings) == "sqlite":
        stop = threading.Event()
        copying = asyncio.ensure_future(asyncio.to_thread(_sqlite_backup, _sqlite_path(settings), path, stop))
        try:
            await asyncio.shield(copying)
        except asyncio.CancelledError:  # the copy went on in its thread and took the name after the command ended
            stop.set()
            with contextlib.suppress(BaseException):
                await copying
            progress.written = copying.done() and not copying.cancelled() and copying.exception() is None
            raise
        progress.written = True
        return f"backed up {_sqlite_path(settings)} to {path} (SQLite online backup)"
    # Into a partial file moved in place when pg_dump succeeds: a failed dump never cuts short an older backup.
    partial = path.with_name(path.name + ".partial")
    command = ["pg_dump", "--format=custom", "--no-owner", "--file", str(partial), "--dbname", libpq_url(settings)]
    try:
        await _run(command, settings, "pg_dump", shown_as={str(partial): str(path)})
        os.replace(partial, path)
        progress.written = True
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


def _sqlite_backup(source: Path, target: Path, stop: threading.Event | None = None) -> None:
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
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_FULL:
                raise
            # was "OperationalError: database or disk is full", exit status 1, as if the database had failed
            raise InvalidInput(f"cannot write {target}: the disk is full", field="PATH") from None
        finally:
            src.close()
        if stop is not None and stop.is_set():  # given up (Ctrl+C) while it copied: dropped, the older one kept
            raise _GivenUp("the backup was given up")
        try:
            os.replace(partial, target)
        except OSError as exc:
            raise InvalidInput(f"cannot write {target}: {exc.strerror or exc}", field="PATH") from None
    finally:
        partial.unlink(missing_ok=True)  # a failed backup leaves no partial file


class Restoring:
    """How far a restore got, for what Ctrl+C says it left: nothing, the backup's contents (not yet migrated), or
    all of it."""

    def __init__(self) -> None:
        self.restored = False
        self.migrated = False

    def left(self) -> str:
        """What an interrupted restore left, in words."""
        if not self.restored:
            return "nothing was restored"
        if not self.migrated:
            return ("the backup was restored but not yet migrated to the newest schema: `labeling migrate` (or any "
                    "command) does it")
        return "the backup was restored"


RESTORE_PAGES = 1024  # SQLite pages copied between two looks at whether the restore was given up (Ctrl+C)


async def restore(settings: Settings, path: Path, *, force: bool = False, progress: Restoring | None = None) -> str:
    """Replace the database's contents with a backup's, then migrate it to the newest schema.

    Refuses a file that is not a backup, a backup of the other database kind, and (unless `force`) a database
    that already holds projects. Returns what was done, in words. Interrupted (cancelled: Ctrl+C), it stops the
    copy, which then leaves the database as it was, or lets it end if it already has; `progress` says which.
    """
    progress = progress if progress is not None else Restoring()
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
        before = await asyncio.to_thread(_sqlite_clock, _sqlite_path(settings))
        stop = threading.Event()
        copying = asyncio.ensure_future(asyncio.to_thread(_sqlite_restore, path, _sqlite_path(settings), stop))
        try:
            await asyncio.shield(copying)
        except asyncio.CancelledError:
            # The thread went on copying after the command had been interrupted (and asyncio.run waited for it at
            # its end): it is told to stop, and waited for, so that what it left is known.
            stop.set()
            with contextlib.suppress(BaseException):
                await copying
            progress.restored = copying.done() and not copying.cancelled() and copying.exception() is None
            raise
    else:
        before = 0
        # One transaction: pg_restore stopped (Ctrl+C reaches it too; or terminated here) rolls all of it back.
        await _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--dbname",
                    libpq_url(settings), str(path)], settings, "pg_restore")
    progress.restored = True
    db = Database(settings.resolved_database_url, pool_size=1)
    try:
        await migrate.upgrade(db)
        await db.transact(lambda tx: after_restore(tx, before))
    finally:
        await db.dispose()
    progress.migrated = True
    return f"restored {path} into the {'SQLite' if found == 'sqlite' else 'PostgreSQL'} database"


def after_restore(tx: Tx, before: int = 0) -> None:
    """The restored rows (a backup's, or a dump's) are not those incremental pulls saw (an older backup's, or another
    database's; a dump keeps no change numbers): the pulls' cursors from before are refused from now on
    (exporter.check_since), and the change clock (SQLite) goes on after the larger of the restored one and the
    replaced database's (`before`), never back."""
    tx.run("restore.clock_forward", {"before": before})
    tx.run("restore.cursor_floor")


def _sqlite_clock(database: Path) -> int:
    """The change clock of the SQLite database a restore replaces (0 without one): pulls have cursors up to it."""
    if not database.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT max(n) FROM change_clock").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:  # not a labeling database, or one from before migration 0013
        return 0
    return int(row[0] or 0)


class _GivenUp(Exception):
    """The restore was given up (Ctrl+C) while SQLite copied the backup: the copy stops, its transaction undone."""


def _copying(stop: threading.Event) -> None:
    """Between two steps of a restore's copy: stop it (the destination is left as it was) once it is given up."""
    if stop.is_set():
        raise _GivenUp("the restore was given up")


def _sqlite_restore(source: Path, target: Path, stop: threading.Event | None = None) -> None:
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
            # Page by page under the target's write lock, held from the first step to the last: readers see all of
            # it or none, and a copy stopped between two steps (Ctrl+C) is undone, the database left as it was.
            src.backup(dst, pages=RESTORE_PAGES, progress=lambda *_: _copying(stop) if stop is not None else None)
            dst.execute("PRAGMA journal_mode = WAL")
        finally:
            dst.close()
    finally:
        src.close()


async def _is_labeling(settings: Settings) -> bool:
    """Whether the database has a labeling schema (a migration has run on it)."""
    db = Database(settings.resolved_database_url, pool_size=1)
    try:
        async with db.read() as conn:
            return await migrate.current_revision(conn) is not None
    finally:
        await db.dispose()


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
    running = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = await running.communicate()
    except asyncio.CancelledError:  # Ctrl+C (which reaches the program too) or SIGTERM: it ends before we do
        if running.returncode is None:
            running.terminate()
        with contextlib.suppress(BaseException):
            await running.wait()
        raise
    if running.returncode != 0:
        detail = (err or out).decode(errors="replace").strip().splitlines()
        raise LabelingError(f"{program} failed ({running.returncode}): {detail[-1] if detail else 'no output'}",
                            field=program)
