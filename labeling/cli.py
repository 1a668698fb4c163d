"""The `labeling` command: serve, migrate, import, export, backup, restore, consensus, leaderboard, users, aggregate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
from pathlib import Path
from typing import AsyncIterator, Iterator, NoReturn, Sequence

from sqlalchemy.engine import make_url

from labeling import __version__, accounts, audit, auth, files, migrate, resources, settings as settings_mod
from labeling.db import Database
from labeling.errors import Conflict, InvalidInput, LabelingError
from labeling.settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Database]:
    """The database at the newest schema, for one command; closed when the command ends."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # was "[Errno 2] No such file or directory: '/proc/x'", exit status 1
        raise InvalidInput(f"cannot make the data directory {settings.data_dir}: {exc.strerror}",
                           field="LABELING_DATA_DIR") from None
    db = Database(settings.resolved_database_url, pool_size=2)
    try:
        await migrate.upgrade(db)
        yield db
    finally:
        await db.dispose()


async def _startup(settings: Settings, demo: bool, api_url: str = "") -> list[str]:
    """Migrate, make sure an admin exists, load the demo; returns lines to print."""
    lines: list[str] = []
    admin_token: str | None = None
    async with _database(settings) as db:
        if settings.admin_token:
            admin = await db.transact(lambda tx: auth.ensure_admin_token(tx, settings.admin_token))
            if not admin["is_active"]:
                lines.append(f"Warning: {admin['username']}, the admin of LABELING_ADMIN_TOKEN, is deactivated; "
                             "another admin can reactivate it (POST /api/users/ID/reactivate)")
        else:
            async with db.read() as conn:
                has_admin = await auth.any_admin(conn)
            if not has_admin:
                try:
                    _, admin_token = await db.transact(
                        lambda tx: accounts.create(tx, audit.CLI, auth.ADMIN_NAME, "admin", None))
                    lines.append(f"Created the admin account. Its API token (shown once): {admin_token}")
                except Conflict:
                    async with db.read() as conn:
                        if not await auth.any_admin(conn):  # a user named admin who is no admin: say so
                            raise
                    # else another process starting at the same moment made the admin (and printed its token)
        if demo:
            from labeling import demo as demo_mod

            info = await demo_mod.load(settings, db, resources.sample_tasks_dir())
            loaded = ", ".join(info["projects"]) or "already loaded"
            written = demo_mod.write_credentials(settings, info, admin_token, api_url)
            lines += [f"Demo projects: {loaded}"]
            if info["seeded_answers"]:
                lines.append(f"Seeded {info['seeded_answers']} answers from {', '.join(demo_mod.SEEDERS)}")
            lines += [f"Requester login: {info['requester']} / {info['requester_password']}",
                      f"Requester token: {info['requester_token']}",
                      f"Worker login:    {info['worker']} / {info['worker_password']}",
                      f"Worker token:    {info['worker_token']}",
                      f"The same as shell variables (API, TOKEN, WORKER{', ADMIN' if admin_token else ''}): "
                      f". {written}"]
    return lines


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from labeling import serving

    # for every server process, which reads it as it starts
    os.environ[serving.ENV] = str(args.header_timeout or serving.header_timeout())
    settings = _settings()
    for line in asyncio.run(_startup(settings, args.demo, f"http://{args.host}:{args.port}/api")):
        print(line, flush=True)
    print(f"Serving on http://{args.host}:{args.port}/ (data in {settings.data_dir.resolve()}, database "
          f"{_where(settings)})", flush=True)
    uvicorn.run("labeling.app:app_from_env", factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level=args.log_level, access_log=args.access_log, proxy_headers=False, http=serving.PROTOCOL)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    async def run() -> str:
        async with _database(_settings()) as db, db.read() as conn:
            return str(await migrate.current_revision(conn))

    print(f"database at revision {asyncio.run(run())} (head {migrate.head_revision()})")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from labeling import projects, tasks

    path: Path | str = tasks.STDIN if args.file == tasks.STDIN else Path(args.file)
    if path != tasks.STDIN:
        check_input(args.file, "FILE", dash="labeling import PROJECT -")
    settings = _settings()

    async def run() -> int:
        async with _database(settings) as db:
            async with db.read() as conn:
                project = await projects.find(conn, args.project)
            return await tasks.import_file(db, project, path, settings)

    created = asyncio.run(run())
    print(f"imported {created} tasks into project {args.project}")
    return 0


def cmd_consensus(args: argparse.Namespace) -> int:
    from labeling import projects
    from labeling.consensus import runner

    async def run() -> dict:
        async with _database(_settings()) as db:
            async with db.read() as conn:
                project = await projects.find(conn, args.project)
            return await runner.recompute_project(db, project, method=args.method)

    with _as_flags("method"):  # was "unknown method 'glad'", "method must be auto", the API's words
        summary = asyncio.run(run())
    print(json.dumps(summary))
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    """Print a leaderboard of the models behind one or more preference projects; -o writes its files too."""
    from labeling import projects
    from labeling.consensus import evaluation, leaderboard

    with _as_flags("by", "bootstrap", "seed"):
        fields = evaluation.fields_of(args.by)
    if args.output:
        leaderboard.check_output(args.output, args.force)

    async def run() -> dict:
        async with _database(_settings()) as db:
            async with db.read() as conn:
                found = [await projects.find(conn, ref) for ref in args.projects]
            return await evaluation.board(db, found, by=fields, n_bootstrap=args.bootstrap, seed=args.seed)

    with _as_flags("by", "bootstrap", "seed"):
        result = asyncio.run(run())
    print(leaderboard.markdown(result), end="")
    if args.output:
        for path in leaderboard.write_outputs(result, args.output, args.force):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _as_flags(*names: str) -> contextlib.AbstractContextManager[None]:
    """An API-shared option's error said with its flag (export.options.as_flags)."""
    from labeling.export.options import as_flags

    return as_flags(*names)


def cmd_users_add(args: argparse.Namespace) -> int:
    if args.password == "-":
        try:
            args.password = sys.stdin.readline().rstrip("\n")
        except UnicodeDecodeError:
            raise LabelingError("--password -: standard input must be UTF-8 text", field="password") from None
    auth.check_username(args.name)
    with _as_flags("password"):  # was "password must be 8 to 1,000 characters", the API's field
        hashed = auth.password_hash(args.password)

    async def run() -> tuple[dict, str]:
        async with _database(_settings()) as db:
            return await db.transact(lambda tx: accounts.create(tx, audit.CLI, args.name, args.role, hashed))

    user, token = asyncio.run(run())
    print(f"created {user['role']} {user['username']} (id {user['id']}); API token (shown once): {token}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from labeling import backup

    args.backing_up = backup.BackingUp(args.path)  # whether it took its name: what an interrupted one left
    print(asyncio.run(backup.backup(_settings(), Path(args.path), progress=args.backing_up)))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """A backup (labeling backup) replaces the database; a dump (labeling export --format dump) is loaded into it."""
    from labeling import backup
    from labeling.export import cli as export_cli
    from labeling.export import dump

    path = Path(args.path)
    if args.path == "-":  # was "no file -": as backup's, the file is read more than once (and SQLite needs a file)
        raise InvalidInput("restore reads a file (a backup or a dump), not standard input: give its path",
                           field="PATH")
    check_input(args.path, "PATH")
    if backup.kind(path) is not None:
        args.restoring = backup.Restoring()  # how far it got: what an interrupted one left (_interrupted says so)
        print(asyncio.run(backup.restore(_settings(), path, force=args.force, progress=args.restoring)))
    elif dump.is_dump(path):
        args.restoring = "dump"  # one transaction: an interrupted one restored nothing (_interrupted says so)
        print(export_cli.restore_dump(path))
    else:
        raise LabelingError(f"{args.path} is neither a backup (labeling backup) nor a dump "
                            "(labeling export --format dump)", field="PATH")
    return 0


def _whole(low: int, high: int, what: str):
    """An argparse type: a whole number from low to high, or the usage line naming the range."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be from {low} to {high}, got {value}")
        return value
    return parse


def path_argument(text: str) -> str:
    """An argparse type for a file or folder argument: an empty one (`-o ""`, an unset shell variable) is a usage
    error, where it was taken as not given (the export wrote its default file name, the aggregate standard output,
    the leaderboard no files)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path; give a file or folder name")
    return text


def check_input(path: str, field: str, dash: str = "") -> None:
    """A file argument the command reads, refused in one line naming it (exit status 2, as every usage error) when
    it is none there, a folder, a device, or unreadable: an unreadable import file was "[Errno 13] Permission denied"
    once the database was open, exit status 1, where a missing one was exit status 2."""
    why = files.unreadable(path, dash)  # `dash`: the command reading standard input for -, told to a pipe
    if why:
        raise InvalidInput(why, field=field)


class _Parser(argparse.ArgumentParser):
    """A usage error is one line on standard error (the usage text is what --help is for), exit status 2. Every
    subcommand's parser is one of these too (add_subparsers makes its parsers of the parent's class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    """The whole command line."""
    root = _Parser(prog="labeling", description="Self-hosted data labeling and human feedback.",
                   epilog="Settings: " + "; ".join(d.env for d in settings_mod.DECLARED))
    root.add_argument("--version", action="version", version=f"labeling {__version__}")
    root.add_argument("--new-database", action="store_true",
                      help="let a command that reads the database (all but serve, migrate, backup, restore and "
                           "aggregate) make a new, empty one")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="apply migrations and serve the app")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_whole(1, 65535, "the port"), default=8000,
                       help="the port to listen on (default 8000)")
    serve.add_argument("--workers", type=_whole(1, 1024, "the number of server processes"), default=1, metavar="N",
                       help="server processes (default 1)")
    serve.add_argument("--demo", action="store_true",
                       help="load sample_tasks/ into demo projects, seed a few answers, print demo logins")
    serve.add_argument("--database", metavar="URL", help="the database (default LABELING_DATABASE_URL, else SQLite "
                                                        "in the data directory)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                       help="the server log's level (default info)")
    serve.add_argument("--no-access-log", dest="access_log", action="store_false",
                       help="no line per request in the log")
    serve.add_argument("--header-timeout", type=_whole(1, 3600, "the header timeout"), metavar="SECONDS",
                       help="seconds a connection may take to send a request's head, from its opening or the request's "
                            "first byte, before a 408 (default LABELING_HEADER_TIMEOUT, else 20)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="bring the database to the newest schema").set_defaults(func=cmd_migrate)

    imp = sub.add_parser("import", help="import tasks from a JSON Lines or JSON array file")
    imp.add_argument("project", metavar="PROJECT", help="project id or name")
    imp.add_argument("file", metavar="FILE", type=path_argument,
                     help="the tasks: JSON Lines or a JSON array, gzip-compressed or not ('-' reads standard input)")
    imp.set_defaults(func=cmd_import)

    back = sub.add_parser("backup", help="back the database up to a file while the server runs")
    back.add_argument("path", metavar="PATH", type=path_argument)
    back.set_defaults(func=cmd_backup)

    rest = sub.add_parser("restore", help="replace the database with a backup (labeling backup), or load a dump "
                                          "(labeling export --format dump) into it, all or nothing")
    rest.add_argument("path", metavar="PATH", type=path_argument)
    rest.add_argument("--force", action="store_true", help="a backup: replace a database that already holds projects")
    rest.set_defaults(func=cmd_restore)

    cons = sub.add_parser("consensus", help="re-estimate worker skills and recompute a project's consensus")
    cons.add_argument("project", metavar="PROJECT", help="project id or name")
    cons.add_argument("--method", default="auto", help="auto, majority, dawid-skene or one-coin (classification)")
    cons.set_defaults(func=cmd_consensus)

    board = sub.add_parser("leaderboard", help="rank the models behind preference projects (Bradley-Terry, bootstrap "
                                                "intervals over prompts); prints a Markdown table")
    board.add_argument("projects", metavar="PROJECT", nargs="+", help="project ids or names (several are combined)")
    board.add_argument("-o", "--output", metavar="DIR", type=path_argument,
                       help="also write leaderboard.json, leaderboard.md, ratings.png and win_rates.png here")
    board.add_argument("--force", action="store_true", help="replace an earlier report's files in the -o folder")
    board.add_argument("--by", action="append", metavar="FIELD",
                       help="a task data field to break the leaderboard down by, e.g. category (repeatable)")
    board.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    board.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the bootstrap (default 0)")
    board.set_defaults(func=cmd_leaderboard)

    users = sub.add_parser("users", help="manage accounts").add_subparsers(dest="users_command", required=True,
                                                                           metavar="ACTION")
    add = users.add_parser("add", help="create a user and print its API token")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=["worker", "requester", "admin"])
    add.add_argument("--password", help="password for the web UI ('-' reads it from standard input)")
    add.set_defaults(func=cmd_users_add)

    from labeling.export import cli as export_cli

    export_cli.register(sub)

    try:
        from labeling.consensus import cli as aggregate_cli
    except ImportError:  # pragma: no cover - the engine ships with the package
        aggregate_cli = None
    if aggregate_cli is not None:
        aggregate_cli.register(sub)
    for name, command in sub.choices.items():
        if name not in CREATES_DATABASE | NO_DATABASE:
            _allow_new_database(command)
    return root


def _allow_new_database(command: argparse.ArgumentParser) -> None:
    """`--new-database` after the command too (`labeling users add bob --role worker --new-database`)."""
    nested = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
    if nested:
        for child in nested[0].choices.values():
            _allow_new_database(child)
        return
    command.add_argument("--new-database", action="store_true", default=argparse.SUPPRESS,
                         help="make a new, empty database if there is none (the data directory is printed)")


def _debug() -> bool:
    """LABELING_DEBUG is set (an unreadable environment counts as not set)."""
    try:
        return Settings.from_env().debug
    except LabelingError:
        return False


# Commands that may make a new database, or (backup) never make one (the others refuse an empty one, unless
# told --new-database), and commands that use no database at all.
CREATES_DATABASE = {"serve", "migrate", "restore", "backup"}
NO_DATABASE = {"aggregate"}
# Commands that never write to the database (nor does `export --all`; `migrate` only when behind): they may read a
# read-only SQLite file. The others are refused one before they start.
READS_ONLY = {"backup", "leaderboard", "migrate"}


def _locate_data(args: argparse.Namespace) -> None:
    """Resolve the data directory to an absolute path (also for server processes started later), say where it
    is, and refuse to make a new, empty database by accident (a command run from another folder)."""
    if args.command in NO_DATABASE:
        return
    if getattr(args, "database", None):
        os.environ["LABELING_DATABASE_URL"] = args.database
    settings = Settings.from_env()
    data_dir = settings.data_dir.resolve()
    os.environ["LABELING_DATA_DIR"] = str(data_dir)
    url = os.environ.get("LABELING_DATABASE_URL", "")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):  # a relative SQLite file, made absolute
        os.environ["LABELING_DATABASE_URL"] = "sqlite:///" + str(Path(url.removeprefix("sqlite:///")).resolve())
    settings = Settings.from_env()
    if args.command != "serve":  # serve says it in its own words
        print(f"labeling: data directory {data_dir} (database {_where(settings)})", file=sys.stderr)
    _check_sqlite_file(settings, writes=args.command not in READS_ONLY and not getattr(args, "all", False))
    if args.command in CREATES_DATABASE or args.new_database:
        return
    if asyncio.run(_is_empty(settings)):
        raise LabelingError(f"no labeling database at {_where(settings)}: run `labeling serve` or `labeling migrate` "
                            "there first, set LABELING_DATA_DIR or LABELING_DATABASE_URL, or pass --new-database")


def _check_sqlite_file(settings: Settings, writes: bool) -> None:
    """A SQLite database file the command cannot open, or (`writes`) cannot write, said by its path before anything
    is done. It was SQLite's "unable to open database file" (a folder, or no such folder), and for a read-only file
    "OperationalError: attempt to write a readonly database" once the command's work was done: an export had written
    its whole output and then failed, exit status 1, recording it in the audit log."""
    from labeling.db import async_url

    async_url(settings.resolved_database_url)  # a URL that is none (a port that is no number) said naming the setting
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    if path.parent.resolve() == settings.data_dir.resolve() and not path.parent.exists():
        return  # the data directory, made by the command (a first start)
    if path.is_dir():
        raise LabelingError(f"{path} is a folder, not a SQLite database file", field="LABELING_DATABASE_URL")
    if path.parent.exists() and not path.parent.is_dir():  # was "no folder /etc/hostname" for a file there
        raise LabelingError(f"{path.parent} is a file, not a folder for the SQLite database {path.name}",
                            field="LABELING_DATABASE_URL")
    if not path.parent.is_dir():
        raise LabelingError(f"no folder {path.parent} for the SQLite database {path.name}",
                            field="LABELING_DATABASE_URL")
    if not _sqlite_or_empty(path):  # was "the database says: file is not a database", exit status 1
        raise LabelingError(f"{path} is not a SQLite database file", field="LABELING_DATABASE_URL")
    if not writes:
        return
    if path.exists() and not os.access(path, os.W_OK):
        raise LabelingError(f"the SQLite database {path} is read-only; this command writes to it",
                            field="LABELING_DATABASE_URL")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise LabelingError(f"cannot write into {path.parent}, where SQLite keeps the database {path.name} and its "
                            "journal", field="LABELING_DATABASE_URL")


def _sqlite_or_empty(path: Path) -> bool:
    """Whether `path` is none there, empty (a new database), unreadable (said by SQLite), or begins as SQLite's files
    do."""
    from labeling.backup import SQLITE_MAGIC

    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError:
        return True
    return not head or head == SQLITE_MAGIC


def _where(settings: Settings) -> str:
    url = settings.resolved_database_url
    return url.split("///", 1)[1] if url.startswith("sqlite:///") else url.rsplit("@", 1)[-1]


async def _is_empty(settings: Settings) -> bool:
    """No database yet: no SQLite file, or a database no migration has run on."""
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        path = Path(url.split("///", 1)[1])
        if not path.is_file() or path.stat().st_size == 0:
            return True
    db = Database(url, pool_size=1)
    try:
        async with db.read() as conn:
            return await migrate.current_revision(conn) is None
    finally:
        await db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: a domain error is one line on stderr and exit status 2, never a traceback."""
    args = parser().parse_args(argv)
    try:
        _locate_data(args)
        return int(args.func(args) or 0)
    except LabelingError as exc:
        print(f"labeling: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"labeling: {_interrupted(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of standard output left (`| head`): as other tools, stop without a word
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail again
        return 141
    except (OSError, ConnectionError) as exc:
        print(f"labeling: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # database unreachable and the like: one line, not a traceback
        if _debug():
            raise
        print(f"labeling: error: {_said(exc)}", file=sys.stderr)
        return 1


def _interrupted(args: argparse.Namespace) -> str:
    """What Ctrl+C (or SIGTERM, for an export) left, in one line; it ended the command at exit status 130 without a
    word. Said only where it is known: an import and a dump's restore are one transaction each, and a file -o names
    is written whole or not at all (standard output may hold part of the output), and a backup's restore is stopped
    and waited for (it said only "interrupted", its copy going on in its thread)."""
    output = getattr(args, "output", None)
    if args.command == "import":
        return "interrupted: nothing was imported"
    restoring = getattr(args, "restoring", None)
    if args.command == "restore" and restoring == "dump":
        return "interrupted: nothing was restored"
    if args.command == "restore" and restoring is not None:  # a backup: the copy stopped, or ended, before we did
        return f"interrupted: {restoring.left()}"
    if args.command == "backup" and getattr(args, "backing_up", None) is not None:
        return f"interrupted: {args.backing_up.left()}"
    if args.command == "export" and output != "-" or args.command == "aggregate" and output and output != "-":
        return "interrupted: nothing was written"
    return "interrupted"


def _said(exc: Exception) -> str:
    """An unexpected error in one line: a database's own words without SQLAlchemy's wrapping (the driver's class
    names and a link to its documentation), anything else with its type."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError) and exc.orig is not None:
        words = str(exc.orig).splitlines()[0] if str(exc.orig) else type(exc.orig).__name__
        return "the database says: " + re.sub(r"^<class '[\w.]+'>: ", "", words)
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


if __name__ == "__main__":
    sys.exit(main())
