"""`labeling backup` while workers submit, and `labeling restore`: the restored database holds every answer
acknowledged before the backup began and passes the invariants; bad restores are refused in one line."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from labeling import backup, cli
from tests.conftest import PG_URL, one_line
from tests.live import LiveServer, Workload, make_projects, run_workers, settled, violations

pytestmark = pytest.mark.skipif(bool(PG_URL) and shutil.which("pg_dump") is None, reason="pg_dump is not installed")


def _wait_for(condition, seconds: float) -> bool:
    """Whether `condition()` came true within `seconds` (polled every 10 ms)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.slow
async def test_a_backup_taken_while_workers_submit_restores_everything_acknowledged_before_it(settings, db, tmp_path):
    server = LiveServer(settings.resolved_database_url, settings.data_dir).start()
    try:
        requester = server.user("backup-requester", "requester")
        tokens = [server.user(f"backup-w{i}", "worker") for i in range(8)]
        projects = make_projects(server, requester, 40)
        load = Workload()
        stop, threads = run_workers(server, tokens, projects, load)
        assert _wait_for(lambda: len(load.acknowledged) >= 30 or load.errors, 60), "no answers in a minute"
        acknowledged_before = dict(load.acknowledged)
        target = tmp_path / "backups" / "labeling.backup"
        said = await backup.backup(settings, target)
        n_before = len(load.acknowledged)
        # the server keeps working after it (unless the workers answered everything while the backup ran: the
        # projects hold about 200 answers, and a wait for 20 more then never ended)
        _wait_for(lambda: len(load.acknowledged) >= n_before + 20 or load.errors, 10)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not load.errors, load.errors[:5]
    finally:
        server.stop()
    assert backup.kind(target) == ("pg_dump" if PG_URL else "sqlite") and "backed up" in said
    async with db.read() as conn:
        total = (await conn.execute(text("SELECT count(*) FROM annotations"))).scalar()

    print(await backup.restore(settings, target, force=True))
    async with db.read() as conn:
        restored = (await conn.execute(text("SELECT count(*) FROM annotations"))).scalar()
    assert len(acknowledged_before) <= restored < total, (len(acknowledged_before), restored, total)
    server.start()  # the restored database serves; its start-up sweep settles what the snapshot caught mid-submit
    try:
        found = await settled(db)
        assert [v for v in found if not v.startswith("acknowledged")] == [], found
        assert await violations(db, acknowledged=acknowledged_before) == []
    finally:
        server.stop()


async def test_restore_refuses_what_it_cannot_restore(settings, db, tmp_path, new_project):
    other = tmp_path / "notes.txt"
    other.write_text("not a backup")
    with pytest.raises(backup.InvalidInput) as exc:
        await backup.restore(settings, other)
    assert "not a backup" in exc.value.message and backup.kind(other) is None
    foreign = tmp_path / "foreign.backup"
    foreign.write_bytes(backup.SQLITE_MAGIC if PG_URL else backup.PG_DUMP_MAGIC + b"\x01\x0e")
    with pytest.raises(backup.InvalidInput) as exc:
        await backup.restore(settings, foreign)
    assert "logical dump" in exc.value.message
    await new_project()
    mine = tmp_path / "mine.backup"
    if not PG_URL:
        await backup.backup(settings, mine)
        with pytest.raises(backup.Conflict) as conflict:
            await backup.restore(settings, mine)
        assert "--force" in conflict.value.message
        cut = tmp_path / "cut.backup"  # a copy cut short: it was "DatabaseError: database disk image is malformed"
        cut.write_bytes(mine.read_bytes()[:mine.stat().st_size // 3])
        with pytest.raises(backup.InvalidInput, match="cut.backup is damaged"):
            await backup.restore(settings, cut, force=True)
        async with db.read() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM projects")) == 1  # nothing replaced


def test_the_cli_says_exactly_what_to_run_without_pg_dump(settings, tmp_path, monkeypatch, capsys):
    import asyncio
    import dataclasses

    pg = dataclasses.replace(settings, database_url="postgresql://ann:secret@db.example:5433/labels")
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    with pytest.raises(backup.ToolMissing) as exc:
        asyncio.run(backup.backup(pg, tmp_path / "x.dump"))
    assert exc.value.message.endswith(
        f"pg_dump --format=custom --no-owner --file {tmp_path / 'x.dump'} --dbname "
        "'postgresql://ann:***@db.example:5433/labels'")
    assert "PGPASSWORD" in exc.value.message
    monkeypatch.setenv("LABELING_DATABASE_URL", pg.database_url)
    monkeypatch.setenv("LABELING_DATA_DIR", str(tmp_path))
    code = cli.main(["backup", str(tmp_path / "x.dump")])
    err = capsys.readouterr().err
    assert code == 2 and one_line(err) and "pg_dump --format=custom" in err


def test_backup_kinds(tmp_path: Path):
    (tmp_path / "a").write_bytes(backup.SQLITE_MAGIC + b"rest")
    (tmp_path / "b").write_bytes(b"PGDMP\x01\x0e\x00")
    (tmp_path / "c").write_bytes(b'{"kind": "dump"}\n')
    assert [backup.kind(tmp_path / n) for n in "abc"] == ["sqlite", "pg_dump", None]
    assert backup.kind(tmp_path / "missing") is None


async def test_a_backup_that_fails_leaves_the_older_backup_and_no_partial_file(settings, db, tmp_path, monkeypatch):
    (tmp_path / "backups").mkdir()
    target = tmp_path / "backups" / "labeling.backup"
    target.write_bytes(b"an older backup")
    if PG_URL:
        async def failing(command, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            Path(command[command.index("--file") + 1]).write_bytes(b"PGDMP cut short")
            raise backup.LabelingError("pg_dump failed (1): connection lost", field="pg_dump")

        monkeypatch.setattr(backup, "_run", failing)
    else:
        real = backup.sqlite3.connect

        def failing(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            if str(path).endswith(".partial"):
                Path(path).write_bytes(b"SQLite format 3\x00 cut short")
                raise backup.sqlite3.OperationalError("disk I/O error")
            return real(path, *args, **kwargs)

        monkeypatch.setattr(backup.sqlite3, "connect", failing)
    with pytest.raises(Exception):
        await backup.backup(settings, target)
    assert target.read_bytes() == b"an older backup" and [p.name for p in target.parent.iterdir()] == [target.name]


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's own files; pg_dump writes a file, never the database")
async def test_a_backup_onto_the_database_itself_or_its_wal_is_refused_and_changes_nothing(settings, db, tmp_path):
    """`labeling backup labeling-data/labeling.db` moved the backup over the live database file: a running server
    went on writing to the old, unlinked file, and what it wrote was gone at its restart."""
    database = Path(settings.resolved_database_url.split("///", 1)[1])
    async with db.read() as conn:
        await conn.execute(text("SELECT 1"))
    inode = database.stat().st_ino
    link = tmp_path / "another-name.db"
    link.hardlink_to(database)
    for target in (database, tmp_path / ".." / tmp_path.name / database.relative_to(tmp_path)
                   if database.is_relative_to(tmp_path) else database,
                   database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm"), link):
        with pytest.raises(backup.InvalidInput, match="is the database's own file"):
            await backup.backup(settings, target)
    assert database.stat().st_ino == inode and not list(database.parent.glob("*.partial"))
    assert "SQLite online backup" in await backup.backup(settings, tmp_path / "fine.db")


async def test_a_backup_onto_a_device_or_a_pipe_is_refused_and_leaves_it(settings, db, tmp_path):
    """`labeling backup /dev/null` renamed the backup over the device: as root, /dev/null became a regular file."""
    import os
    import stat

    pipe, stdout = tmp_path / "pipe", tmp_path / "stdout"
    os.mkfifo(pipe)
    stdout.symlink_to("/proc/self/fd/1")
    for target in (pipe, stdout):
        with pytest.raises(backup.InvalidInput, match="is a device, a pipe or a socket, not a file"):
            await backup.backup(settings, target)
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode) and os.readlink(stdout) == "/proc/self/fd/1"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name in ("pipe", "stdout") or "partial" in p.name) == [
        "pipe", "stdout"]


async def test_a_backup_where_no_file_can_be_written_says_so_in_one_line(settings, db, tmp_path):
    """It was an errno, or SQLite's 'OperationalError: unable to open database file', and exit status 1."""
    (tmp_path / "a-file").write_text("not a folder")
    for target in (tmp_path / "a-file" / "x.backup", tmp_path / "a-file" / "deeper" / "x.backup"):
        with pytest.raises(backup.InvalidInput, match="cannot write into .*a-file"):
            await backup.backup(settings, target)
    assert (tmp_path / "a-file").read_text() == "not a folder"


async def test_a_backup_never_replaces_a_file_that_is_not_a_backup_nor_writes_one_named_dash(settings, db, tmp_path,
                                                                                            monkeypatch):
    """`labeling backup notes.txt` replaced the text file with the backup, silently; `labeling backup -` wrote a file
    named "-" and said "backed up ... to -". An older backup is still replaced (a scheduled backup's one name)."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    with pytest.raises(backup.InvalidInput, match="notes.txt exists and is not a backup"):
        await backup.backup(settings, notes)
    assert notes.read_text() == "my notes\n"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(backup.InvalidInput, match="not to standard output"):
        await backup.backup(settings, Path("-"))
    assert not (tmp_path / "-").exists()
    if backup._dialect(settings) == "postgresql" and shutil.which("pg_dump") is None:
        return
    older = tmp_path / "older.backup"
    await backup.backup(settings, older)
    await backup.backup(settings, older)
    assert backup.kind(older) is not None



async def test_a_pulls_cursor_from_before_a_restore_is_refused_and_the_clock_never_goes_back(settings, db, tmp_path,
                                                                                           client, requester,
                                                                                           new_project):
    # A pipeline pulls by cursor; the database is restored from an older backup. The cursor was taken of rows the
    # restore put back as they were (tasks added since are gone, and the pipeline is never told), and on SQLite the
    # change clock went back with the backup, so the changes after the restore took numbers the cursor had seen: a
    # pull with it was a 200 missing them. It is refused (since) and a pull without it goes on by its own cursor.
    from labeling import models
    from labeling.export import exporter, options
    from tests.conftest import bearer

    project = await new_project(task_type="text_classification", labels=["pos", "neg"], tasks=[{"data": {"text": "a"}}])
    pid = project["id"]

    async def add(n: int) -> None:
        r = await client.post(f"/api/projects/{pid}/tasks", json=[{"data": {"text": f"t{i}"}} for i in range(n)],
                              headers=bearer(requester))
        assert r.status_code == 201, r.text

    async def pull(since: str | None) -> tuple[int, str]:
        async with db.read() as conn:
            row = (await conn.execute(models.projects.select().where(models.projects.c.id == pid))).first()
        params = {"format": "jsonl", "include_open": "true", **({"since": since} if since else {})}
        job = exporter.Export(db, row, options.parse(params), media_dir=settings.media_dir, secret="s")
        body = b"".join([chunk async for chunk in job.chunks()])
        return len(body.splitlines()), str(job.cursor)

    target = tmp_path / "older.backup"
    await backup.backup(settings, target)
    await add(3)
    n, cursor = await pull(None)
    assert n == 4
    await backup.restore(settings, target, force=True)
    for _ in range(3):  # as many changes as before the restore, and more: numbered after every cursor given before
        await add(1)
    with pytest.raises(backup.InvalidInput) as refused:
        await pull(cursor)
    assert refused.value.field == "since" and "before the database was restored" in refused.value.message
    n, fresh = await pull(None)
    assert n == 4
    await add(1)
    assert (await pull(fresh))[0] == 1


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's copy; pg_dump's failure is its own one line already")
def test_a_backup_onto_a_full_disk_is_one_line_naming_it_exit_status_2(settings, db, tmp_path, monkeypatch,
                                                                       capsys):
    """A full disk under `labeling backup` was "OperationalError: database or disk is full", exit status 1, as if the
    database had failed: it is the backup's file, exit status 2 as every file the command cannot write; the older
    backup stays, and no partial file is left."""
    import asyncio

    async def touch() -> None:
        async with db.read() as conn:
            await conn.execute(text("SELECT 1"))

    asyncio.run(touch())
    real = backup.sqlite3.connect

    class Full:
        def __init__(self, conn):  # noqa: ANN001
            self.conn = conn

        def backup(self, target):  # noqa: ANN001, ANN202
            target.execute("CREATE TABLE half (x)")
            exc = backup.sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorcode = backup.sqlite3.SQLITE_FULL
            raise exc

        def __getattr__(self, name):  # noqa: ANN001, ANN204
            return getattr(self.conn, name)

    monkeypatch.setattr(backup.sqlite3, "connect", lambda path, *args, **kwargs: (
        Full(real(path, *args, **kwargs)) if str(path).endswith("labeling.db") else real(path, *args, **kwargs)))
    target = tmp_path / "backups" / "labeling.backup"
    target.parent.mkdir()
    target.write_bytes(backup.SQLITE_MAGIC + b"an older backup")
    monkeypatch.setenv("LABELING_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("LABELING_DATA_DIR", str(settings.data_dir))
    code = cli.main(["backup", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and one_line(err) and err.endswith(f"labeling: error: cannot write {target}: the disk is full\n")
    assert target.read_bytes() == backup.SQLITE_MAGIC + b"an older backup"
    assert [p.name for p in target.parent.iterdir()] == [target.name]


CTRL_C_RESTORE_DRIVER = """
import asyncio, os, signal, sys, threading
from labeling import backup, cli

signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal's command takes it (tests/test_cli.py)
backup.RESTORE_PAGES = 1  # SQLite: a look at the stop between every two pages
real_copying, real_restore = getattr(backup, "_copying", None), backup._sqlite_restore
real_spawn = asyncio.create_subprocess_exec


def copying(stop):
    if not getattr(copying, "sent", False):  # Ctrl+C once the copy is under way; on once the stop is asked for
        copying.sent = True
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # to the main thread: it wakes for it
        stop.wait(60)
    real_copying(stop)


def sqlite_restore(*args):  # without a look at the stop between pages: Ctrl+C as the copy begins
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    return real_restore(*args)


async def spawn(*args, **kwargs):  # PostgreSQL: Ctrl+C once pg_restore has started
    running = await real_spawn(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGINT)
    return running


if real_copying is not None:
    backup._copying = copying
else:
    backup._sqlite_restore = sqlite_restore
asyncio.create_subprocess_exec = spawn
sys.exit(cli.main(sys.argv[1:]))
"""


async def test_ctrl_c_during_a_backup_s_restore_says_nothing_was_restored_and_restores_nothing(settings, db, tmp_path):
    """Ctrl+C in `labeling restore BACKUP` said only "interrupted" while SQLite's copy ran on in its thread to the
    end (the database replaced, not migrated): the copy is now stopped and waited for, which undoes it, and the
    command says so, as a dump's restore does. PostgreSQL's pg_restore (one transaction) is ended too."""
    import os
    import subprocess
    import sys

    from labeling import auth

    async def users() -> list[str]:
        async with db.read() as conn:
            return sorted((await conn.execute(text("SELECT username FROM users"))).scalars())

    await db.transact(lambda tx: auth.create_user(tx, "before", "worker"))
    target = tmp_path / "labeling.backup"
    await backup.backup(settings, target)
    await db.transact(lambda tx: auth.create_user(tx, "after", "worker"))
    driver = tmp_path / "driver.py"
    driver.write_text(CTRL_C_RESTORE_DRIVER)
    env = {**os.environ, "LABELING_DATABASE_URL": settings.resolved_database_url,
           "LABELING_DATA_DIR": str(settings.data_dir)}
    done = subprocess.run([sys.executable, str(driver), "restore", str(target), "--force"], env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.endswith("\nlabeling: interrupted: nothing was restored\n"), done.stderr
    assert await users() == ["after", "before"]


def test_a_database_with_no_labeling_schema_is_not_backed_up(settings, tmp_path):
    """`labeling backup` of a SQLite file of another program (a wrong LABELING_DATABASE_URL), or of an empty
    PostgreSQL database, made a backup that `labeling restore` then refused ("not a labeling database"): said now,
    and no file is written. (Checked by the same migration lookup on both kinds; a SQLite file here.)"""
    import asyncio
    import dataclasses
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text)")
    conn.close()
    foreign = dataclasses.replace(settings, database_url=f"sqlite:///{other}")
    with pytest.raises(backup.InvalidInput, match=f"^{other} holds no labeling database") as exc:
        asyncio.run(backup.backup(foreign, tmp_path / "x.backup"))
    assert exc.value.field == "LABELING_DATABASE_URL"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("x.")) == []


CTRL_C_BACKUP_DRIVER = """
import os, signal, sys, threading
from labeling import backup, cli

signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal's command takes it (tests/test_cli.py)
real = backup._sqlite_backup


def sqlite_backup(source, target, stop=None):  # Ctrl+C once the copy is under way; on once the stop is asked for
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # to the main thread, asleep in the event loop
    if stop is not None:
        stop.wait(10)
        return real(source, target, stop)
    return real(source, target)


backup._sqlite_backup = sqlite_backup
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's copy in a thread; pg_dump is ended as pg_restore is")
async def test_ctrl_c_during_a_backup_says_no_backup_was_written_and_keeps_the_older_one(settings, db, tmp_path):
    """Ctrl+C in `labeling backup` said "interrupted" while SQLite's copy went on in its thread and then took the
    backup's name (the older backup replaced after the command had been interrupted)."""
    import os
    import subprocess
    import sys

    async with db.read() as conn:
        await conn.execute(text("SELECT 1"))
    target = tmp_path / "labeling.backup"
    target.write_bytes(backup.SQLITE_MAGIC + b"an older backup")
    driver = tmp_path / "driver.py"
    driver.write_text(CTRL_C_BACKUP_DRIVER)
    env = {**os.environ, "LABELING_DATABASE_URL": settings.resolved_database_url,
           "LABELING_DATA_DIR": str(settings.data_dir)}
    done = subprocess.run([sys.executable, str(driver), "backup", str(target)], env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
    # What it says is what it left. The interrupt is taken while the copy waits for it, almost always; when the
    # main thread takes it only once the copy has ended (seen under load), the backup is whole under its name.
    if done.stderr.endswith(f"\nlabeling: interrupted: the backup was written to {target}\n"):
        assert backup.kind(target) == "sqlite" and target.read_bytes() != backup.SQLITE_MAGIC + b"an older backup"
    else:
        assert done.stderr.endswith("\nlabeling: interrupted: no backup was written\n"), done.stderr
        assert target.read_bytes() == backup.SQLITE_MAGIC + b"an older backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("labeling.backup")] == ["labeling.backup"]
