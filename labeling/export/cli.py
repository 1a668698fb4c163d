"""`labeling export` and `labeling restore`: the same bytes as GET /api/projects/{id}/export, to a file, a
folder, a zip or standard output, with progress on standard error."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, AsyncIterator, Iterator

from labeling.errors import InvalidInput
from labeling.export import dump, formats, options as options_mod
from labeling.export.archive import FolderSink, check_target, replace
from labeling.export.rows import Report

# The options as flags (their values are checked by options.parse, shared with the HTTP query).
FLAGS: tuple[tuple[str, str], ...] = (
    ("split", "NAME=SHARE,... one file per split, e.g. train=0.8,validation=0.1,test=0.1"),
    ("seed", "N: seed of the split's hash (default 0)"),
    ("min-confidence", "X: only tasks whose consensus confidence is at least X"),
    ("since", "CURSOR|TIME: only tasks whose rows changed since the pull that printed CURSOR (its 'next --since'), "
              "or after TIME (ISO 8601 or Unix seconds); deletions: tasks deleted, or left out, since"),
    ("label-attribute", "NAME: manifest label attribute (default: the project name as a slug)"),
    ("pairs", "all|adjacent|best-worst: which preference pairs (default all)"),
    ("min-margin", "X: drop preference pairs whose margin is below X"),
    ("margin", "probability|rating: a pair's margin (default probability)"),
    ("kto-source", "auto|ratings|ranks: what makes a KTO label (default auto)"),
    ("good-rating", "R: KTO label true at a mean rating of at least R (default 5)"),
    ("bad-rating", "R: KTO label false at a mean rating of at most R (default 3)"),
    ("good-rank", "N: KTO label true in the N best tiers (default 1)"),
    ("bad-rank", "N: KTO label false in the N worst tiers (default 1)"),
)
SWITCHES: tuple[tuple[str, str], ...] = (
    ("include-open", "also tasks without their consensus yet (default: completed tasks only)"),
    ("include-gold", "also gold tasks, with their gold answers"),
    ("card", "a folder (or zip) with a README.md dataset card"),
    ("copy-images", "COCO: copy the images into the output"),
    ("conversational", "preference, kto, sft: prompts and answers as message lists"),
    ("csv-escape-formulas", "csv: a text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) "
                            "begins with ' (OWASP)"),
)


def register(subparsers: Any) -> None:
    """Add `export` to the `labeling` command (`labeling restore` takes its dumps: restore_dump)."""
    from labeling.cli import path_argument

    export = subparsers.add_parser(
        "export", help="export a project (a dataset, pairs, every answer, a dump, or its deleted tasks)",
        description="Export a project. Several files (splits, a card, yolo, coco --copy-images) make a folder "
                    "for -o DIR, or one zip for -o FILE.zip and -o - (the bytes the HTTP export sends).")
    export.add_argument("project", metavar="PROJECT", nargs="?", help="project id or name")
    export.add_argument("--format", required=True, metavar="F", help="jsonl, csv, manifest, coco, yolo, spans, "
                        "conll, preference, kto, ranking, sft, annotations, dump, or deletions (the tasks deleted, for "
                        "incremental pulls with --since)")
    export.add_argument("-o", "--output", metavar="PATH", type=path_argument, help="file, folder, FILE.zip or - "
                        "(standard output); "
                        "default: the export's file name in the current folder")
    export.add_argument("--all", action="store_true", help="with --format dump: the whole instance")
    export.add_argument("--force", action="store_true", help="replace an existing output")
    export.add_argument("--quiet", action="store_true", help="no progress on standard error")
    for flag, words in FLAGS:
        export.add_argument(f"--{flag}", dest=flag.replace("-", "_"), metavar=flag.split("-")[-1].upper(),
                            help=words)
    for flag, words in SWITCHES:
        export.add_argument(f"--{flag}", dest=flag.replace("-", "_"), action="store_const", const="true",
                            help=words)
    export.set_defaults(func=cmd_export)


def params(args: argparse.Namespace) -> dict[str, str]:
    """The options given on the command line, by their query names."""
    out = {"format": args.format}
    for name in options_mod.NAMES:
        value = getattr(args, name, None)
        if value is not None:
            out[name] = value
    return out


class Progress:
    """Rows, rows per second and the time left, on one line of standard error (only on a terminal)."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total, self.stream = total, stream
        self.started = self.shown = time.monotonic()

    def __call__(self, rows: int) -> None:
        now = time.monotonic()
        if now - self.shown < 0.2:
            return
        self.shown = now
        rate = rows / max(now - self.started, 1e-9)
        left = f", {max(self.total - rows, 0) / rate:.0f} s left" if rate and self.total else ""
        self.stream.write(f"\r{rows:,} of {self.total:,} rows, {rate:,.0f} rows/s{left}   ")
        self.stream.flush()

    def done(self, rows: int) -> None:
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r{rows:,} rows in {elapsed:.1f} s ({rows / max(elapsed, 1e-9):,.0f} rows/s)          \n")


def _target(args: argparse.Namespace, opts: options_mod.Options) -> options_mod.Options:
    """`-o DIR/` (or an existing folder) for a one-file format asks for a folder with a dataset card."""
    out = args.output
    if out and out != "-" and opts.format not in ("dump", "deletions") and (out.endswith(os.sep) or Path(out).is_dir()):
        return options_mod.parse({**params(args), "card": "true"}, flags=True)
    return opts


async def _write(chunks: AsyncIterator[bytes], handle: IO[bytes] | _Written) -> None:
    """Write every chunk; a write that fails (a reader that left: `-o - | head`, a full disk) closes the export's
    generator here, in order. Left to asyncio.run's shutdown, the generator and the database read it holds open
    were closed at the same moment, and the clash was printed as a traceback after the command had ended."""
    async with contextlib.aclosing(chunks) as chunks:
        async for chunk in chunks:
            handle.write(chunk)


def cmd_export(args: argparse.Namespace) -> int:
    """Run the export; a bad request fails with one line before anything is written."""
    from labeling import app, audit, cli, projects
    from labeling.export import exporter

    if args.all and (args.project or args.format != "dump"):
        raise InvalidInput("--all exports the whole instance as a dump: give --format dump and no PROJECT",
                           field="all")
    if not args.all and not args.project:
        raise InvalidInput("name a PROJECT (id or name), or --all with --format dump", field="project")
    opts = _target(args, options_mod.parse(params(args), flags=True))
    settings = cli._settings()
    show = not args.quiet and sys.stderr.isatty()

    async def run() -> tuple[int, list[str]]:
        async with cli._database(settings) as db:
            if args.all:
                job: Any = _Instance(db)
            else:
                async with db.read() as conn:
                    project = await projects.find(conn, args.project)
                job = exporter.Export(db, project, opts, media_dir=settings.media_dir, secret=app.secret_key(settings))
            progress = Progress(await job.count(), sys.stderr) if show else None
            job.on_rows = progress
            await _deliver(job, args)
            if not args.all:
                await db.transact(lambda tx: audit.record(tx, audit.CLI, "project.export", project=project,
                                                          details={"format": opts.format, "via": "cli"}))
            if progress is not None:
                progress.done(job.rows_read)
            lines = job.report.lines()
            if not args.all and job.written and not sum(job.written.values()) and opts.format == "deletions":
                lines.append("no records: no task was deleted" + (" or left out after --since"
                                                                  if opts.since is not None else ""))
            elif not args.all and job.written and not sum(job.written.values()):
                lines.append("no records: the export is empty (a dataset library cannot load an empty file); only "
                             "tasks with their consensus are exported unless --include-open is given")
            if not args.all and job.cursor is not None:
                lines.append(f"next --since {job.cursor} (this export's snapshot: a pull with it gets every task "
                             "changed since, and none it already has)")
            return job.rows_read, lines

    # This process runs one export and nothing else: the cycle collector stays off for it, not only while a page
    # is written (exporter.paused_gc), since the rows the driver makes between pages set it off too. What an
    # export makes is freed by reference counts; the few cycles (asyncio's) are collected at the end.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with stopped_as_interrupted(), options_mod.as_flags("since"):  # a cursor refused once the export reads it
            _, report = asyncio.run(run())
    finally:
        if was_enabled:
            gc.enable()
    for line in report:
        print(f"labeling: note: {line}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def stopped_as_interrupted() -> Iterator[None]:
    """SIGTERM (a service manager's stop, `kill`, `timeout`) ends the export as Ctrl+C does: the hidden partial copy
    is removed on the way out, where the signal's default ended the process at once and left it behind."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set a handler
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


async def _deliver(job: Any, args: argparse.Namespace) -> None:
    """Write the export where -o says: standard output, a zip or file, or a folder; whole, or not at all."""
    if args.output == "-":
        await _write(job.chunks(), sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    name = args.output or (job.file_name[:-4] if job.folder else job.file_name)
    target = Path(name.rstrip(os.sep) or name)
    if target.name in ("", ".", ".."):  # `-o .`: the folder by its own name (its parent holds the partial copy)
        target = target.resolve()
    if not job.folder and args.output and (args.output.endswith(os.sep) or target.is_dir()):
        # A one-file export with no folder form (a dump) goes into the folder -o names, as `cp` puts a file: never
        # in the folder's place (an empty folder was replaced by the file).
        target = target / job.file_name
    as_folder = job.folder and formats.name_suffix(target.name) != ".zip"
    if not job.folder and formats.name_suffix(target.name) == ".zip":  # it would be a plain file named .zip
        kind = Path(job.file_name).suffix
        card = "" if job.fmt.writer is None else ", or add --card for a zip of it with a dataset card"
        raise InvalidInput(f"{target} would not be a zip: this export is one {kind} file; name it {kind}{card}",
                           field="output")
    named_folder = bool(args.output) and (args.output.endswith(os.sep) or Path(args.output).is_dir())
    if args.output and not (as_folder and named_folder):  # a folder -o names as one (DIR/, or one there) is no file
        formats.check_output_name(job.fmt, target.name, job.folder)
    check_target(target, args.force, folder=as_folder)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        try:  # the hidden partial copy is ours: a folder that refuses it is named as the user gave it
            handle = None if as_folder else partial.open("wb")
            if as_folder:
                partial.mkdir()
        except OSError as exc:
            raise InvalidInput(f"cannot write into {target.parent}: {exc.strerror}", field="output") from None
        if handle is None:
            sink = FolderSink(partial, shown=target)
            async with contextlib.aclosing(job.chunks(sink)) as chunks:
                async for _ in chunks:
                    pass
        else:
            with handle:
                await _write(job.chunks(), _Written(handle, target))
                try:
                    handle.flush()  # on disk before it takes the name (labeling/files.py): else a power cut soon
                    os.fsync(handle.fileno())  # after could leave the name on an empty or cut file
                except OSError as exc:
                    raise InvalidInput(f"cannot write {target}: {exc.strerror or exc}", field="output") from None
        try:
            replace(partial, target)
        except OSError as exc:
            raise InvalidInput(f"cannot put {target} in place: {exc.strerror or exc}", field="output") from None
    finally:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        elif partial.exists():
            partial.unlink()


class _Written:
    """The -o file's handle, whose write errors (a full disk) name the file, exit status 2 as every file argument the
    command cannot use (it was "[Errno 28] No space left on device: '.NAME.partial-123'", exit status 1)."""

    def __init__(self, handle: IO[bytes], target: Path) -> None:
        self.handle, self.target = handle, target

    def write(self, chunk: bytes) -> None:
        try:
            self.handle.write(chunk)
        except OSError as exc:
            raise InvalidInput(f"cannot write {self.target}: {exc.strerror or exc}", field="output") from None


class _Instance:
    """The whole instance as one dump (CLI only: it is every project and every account)."""

    folder = False
    file_name = "labeling-dump.jsonl"
    fmt = formats.FORMATS["dump"]

    def __init__(self, db: Any) -> None:
        self.db = db
        self.rows_read = 0
        self.on_rows: Any = None
        self.report = Report()

    async def count(self) -> int:
        from sqlalchemy import func, select

        from labeling import models

        async with self.db.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(models.tasks)) or 0)

    def _progress(self, n: int) -> None:
        self.rows_read += n
        if self.on_rows is not None:
            self.on_rows(self.rows_read)

    async def chunks(self, sink: Any = None) -> AsyncIterator[bytes]:
        async with self.db.read(snapshot=True) as conn:
            async for chunk in dump.instance_chunks(conn, self._progress):
                yield chunk


def restore_dump(path: Path) -> str:
    """Restore a dump into this database, all or nothing; what was restored, in words."""
    from labeling import cli

    dump.read_header(path)

    async def run() -> dict[str, int]:
        async with cli._database(cli._settings()) as db:
            return await dump.restore(db, path)

    counts = asyncio.run(run())
    return "restored " + ", ".join(f"{n:,} {table}" for table, n in counts.items())
