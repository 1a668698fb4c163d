"""Stream a project's export from the database: tasks in keyset pages from one snapshot (db.read(snapshot=True)
and SQLAlchemy Core), each page turned into plain rows and pushed through the format's writers into a sink.
Only a page of rows is in memory at a time, whatever the project's size. The CLI and the HTTP route both
iterate `Export.chunks()`, so they give the same bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import hashlib
import hmac
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

from sqlalchemy import BigInteger, Text, and_, bindparam, case, cast, func, literal, null, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import models, sqltx, tasktypes
from labeling.consensus import answers as consensus_answers
from labeling.db import Database
from labeling.errors import InvalidInput
from labeling.export import card, dump, formats, raw, tabular
from labeling.export.archive import Sink, StreamSink, ZipSink
from labeling.export.images import Images
from labeling.export.options import Cursor, Options
from labeling.export.rows import REQUESTERS, AnswerRow, Report, TaskRow, iso_utc, split_of
from labeling.export.writer import Context, ImageSize, Writer, json_lines, loads

PAGE_SIZE = 2000  # tasks a page holds at most: fewer where tasks are long (raw.scaled_limit)
COMPLETE = models.TaskState.complete.value


def pseudonym(secret: str, worker_id: int) -> str:
    """A worker's stable pseudonym: an HMAC of the id keyed by the instance's secret (never the id or name)."""
    digest = hmac.new(secret.encode(), f"labeling-export-worker:{worker_id}".encode(), hashlib.sha256).hexdigest()
    return "w_" + digest[:16]


@contextlib.contextmanager
def paused_gc() -> Any:
    """The cycle collector held off while a page is turned into output (synchronous code, no await inside).
    A page makes tens of thousands of containers that live until the page is written and are then freed by
    their reference counts; they pushed the collector into full collections of the process's every object
    (SQLAlchemy's, Pydantic's) about once a page: half an export's CPU time. Nothing leaks meanwhile: cycles
    made in the pause are collected afterwards."""
    if not gc.isenabled():  # someone else paused it: theirs to resume
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def as_text(column: Any, name: str) -> Any:
    """A JSON column as its text (decoded by the exporter with orjson, several times faster than SQLAlchemy's)."""
    return cast(column, Text).label(name)


# Families whose export rows need the consensus details (per-box and per-span confidences, label probabilities);
# the others read only the agreement figure out of them, in SQL.
DETAILS_FAMILIES = ("boxes", "spans", "multilabel")


def consensus_columns(spec: tasktypes.TaskTypeSpec) -> list[Any]:
    """A task's consensus as exports read it: its stored result, or the requester's override (labeling/reviews.py:
    their answer with confidence 1 and method "review", per-item details none) which the query joins as
    `reviews`; `reviewed` when the task has a review (an override or an acceptance)."""
    r, v = models.task_results, models.reviews
    overridden = v.c.kind == models.ReviewKind.override.value
    details = (case((overridden, null()), else_=cast(r.c.details, Text)).label("c_details")
               if spec.family in DETAILS_FAMILIES else null().label("c_details"))
    agreement = (r.c.details[spec.agreement_key].as_float() if spec.agreement_key else null()).label("c_agreement")
    return [case((overridden, cast(v.c.answer, Text)), else_=cast(r.c.answer, Text)).label("c_answer"),
            case((overridden, 1.0), else_=r.c.confidence).label("c_confidence"), r.c.n_annotations.label("c_n"),
            case((overridden, "review"), else_=r.c.method).label("c_method"), details, agreement,
            r.c.updated_at.label("c_updated"), v.c.id.is_not(None).label("reviewed")]


def answers_query() -> Any:
    """Every answer of the tasks first..last (the annotations format shows them all; others use the counted).
    By task id range alone, so it walks ix_annotations_task (with the project too, SQLite without statistics
    walks the project's whole (project, worker) index for every page); the caller keeps its page's tasks."""
    a = models.annotations
    return (select(a.c.task_id, a.c.worker_id, as_text(a.c.answer, "answer"), a.c.created_at, a.c.duration_ms,
                   a.c.is_gold, a.c.gold_score, a.c.excluded)
            .where(a.c.task_id >= bindparam("first", type_=BigInteger),
                   a.c.task_id <= bindparam("last", type_=BigInteger))
            .order_by(a.c.task_id, a.c.id))


def changed_since(change_id: Any, changed_at: Any, since: float | Cursor) -> Any:
    """Rows changed after `since`: a change its cursor had not seen (numbered from its xmax on, or one of those
    still running then), or one after its time."""
    if isinstance(since, Cursor):
        # One IN list, not an OR per running id: SQLite parses an OR chain as a tree, of depth 1000 at most.
        running = (change_id.in_([literal(x, BigInteger) for x in since.running]),) if since.running else ()
        return or_(change_id >= literal(since.xmax, BigInteger), *running)
    return changed_at > since


def chosen(options: Options) -> Any:
    """Which of a project's tasks an export has: regular tasks with a consensus (or open ones too), gold tasks if
    asked for (tasks_query's joins: their results and reviews)."""
    t, r = models.tasks, models.task_results
    regular = [t.c.is_gold.is_(False)]
    if not options.include_open:
        regular.append(t.c.state == COMPLETE)
    if options.min_confidence is not None:  # an override is the requester's answer: confidence 1, as exported
        regular.append(or_(r.c.confidence >= options.min_confidence, models.reviews.c.kind == "override"))
    picked = and_(*regular)
    return or_(picked, t.c.is_gold.is_(True)) if options.include_gold else picked


def task_filter(project_id: int, options: Options) -> Any:
    """The tasks an export has (`chosen`), those whose row changed after --since when it is given: a task's
    change stamps move on every write that changes its row (migration 0013)."""
    t = models.tasks
    if options.since is None:
        return and_(t.c.project_id == project_id, chosen(options))
    return and_(t.c.project_id == project_id, chosen(options),
                changed_since(t.c.change_id, t.c.changed_at, options.since))


def left_filter(project_id: int, options: Options) -> Any:
    """The tasks whose row changed after --since and that the export (with these options) no longer has: reopened
    (a result withdrawn), below --min-confidence now... A pull keeps their earlier rows unless it is told."""
    t = models.tasks
    out = case((chosen(options), 0), else_=1) == 1  # a NULL (no result to compare) is out too
    return and_(t.c.project_id == project_id, changed_since(t.c.change_id, t.c.changed_at, options.since), out)


def tasks_query(project_id: int, options: Options, spec: tasktypes.TaskTypeSpec) -> Any:
    """A page of tasks after a keyset (:after), with their consensus."""
    t, r = models.tasks, models.task_results
    after = bindparam("after", type_=BigInteger)
    # The keyset bounds the results too: PostgreSQL merge-joins them, and would otherwise walk every result
    # before the page again for each page.
    joined = (t.outerjoin(r, and_(r.c.task_id == t.c.id, r.c.task_id > after))
              .outerjoin(models.reviews, models.reviews.c.task_id == t.c.id))  # a requester's review (consensus_columns)
    sizes: list[Any] = []
    if spec.media == "image":
        # The size an upload recorded for the image (as a browser shows it: EXIF orientation applied).
        m = models.media
        joined = joined.outerjoin(m, m.c.path == t.c.data["image"].as_string())
        sizes = [m.c.width.label("m_width"), m.c.height.label("m_height")]
    return (select(t.c.id, t.c.external_id, as_text(t.c.data, "data"), as_text(t.c.gold, "gold"), t.c.is_gold,
                   t.c.n_done, *consensus_columns(spec), t.c.source_key, *sizes)
            .select_from(joined)
            .where(task_filter(project_id, options), t.c.id > after)
            .order_by(t.c.id).limit(bindparam("limit", type_=BigInteger)))


def deletions_filter(project_id: int, options: Options) -> Any:
    """The project's recorded task deletions, those after --since when it is given."""
    d = models.task_deletions
    if options.since is None:
        return d.c.project_id == project_id
    return and_(d.c.project_id == project_id, changed_since(d.c.change_id, d.c.deleted_at, options.since))


class Export:
    """One export of one project: validated when made (so a bad request fails before any byte), streamed by
    chunks()."""

    def __init__(self, db: Database, project: Any, options: Options, *, media_dir: Path, secret: str) -> None:
        self.db = db
        self.project = project
        self.options = options
        self.fmt = formats.get(options.format, project.task_type)
        formats.check(self.fmt, options, project.task_type)
        self.secret = secret
        self.images = Images(media_dir)
        self.ctx = Context(project.name, project.task_type, tuple(project.labels or ()), options,
                           instructions=project.instructions or "", license=_license(project),
                           image_size=self.images.size, image_file=self.images.file)
        self.spec = tasktypes.get(project.task_type)
        self.folder = self.fmt.writer is not None and formats.is_folder(self.fmt, options)
        self.file_name = formats.file_name(self.fmt, self.ctx, self.folder)
        self.media_type = "application/zip" if self.folder else self.fmt.media_type
        self.answers = self.fmt.writer is not None and formats.reads_answers(self.fmt, self.ctx, self.folder)
        self.rows_read = 0
        self.report = Report()
        self.written: dict[str, int] = {}
        self.on_rows: Callable[[int], None] | None = None
        self.cursor: Cursor | None = None  # the next pull's since, once chunks() has opened its snapshot
        self._names: dict[int, str] = {}

    async def count(self) -> int:
        """How many task rows the export reads, over all its passes (for progress)."""
        t, r = models.tasks, models.task_results
        async with self.db.read() as conn:
            if self.fmt.name == "deletions":
                deleted = int(await conn.scalar(select(func.count()).select_from(models.task_deletions)
                                                .where(deletions_filter(self.project.id, self.options))) or 0)
                if self.options.since is None:
                    return deleted
                v = models.reviews
                return deleted + int(await conn.scalar(
                    select(func.count()).select_from(t.outerjoin(r, r.c.task_id == t.c.id)
                                                     .outerjoin(v, v.c.task_id == t.c.id))
                    .where(left_filter(self.project.id, self.options))) or 0)
            if self.fmt.writer is None:
                return int(await conn.scalar(select(func.count()).where(t.c.project_id == self.project.id)) or 0)
            v = models.reviews
            tasks = int(await conn.scalar(select(func.count()).select_from(t.outerjoin(r, r.c.task_id == t.c.id)
                                                                           .outerjoin(v, v.c.task_id == t.c.id))
                                          .where(task_filter(self.project.id, self.options))) or 0)
        return tasks * sum(w.passes for w in formats.writers(self.fmt, self.ctx, self.folder, self.file_name))

    async def check_since(self) -> None:
        """Refuse a cursor this database cannot have given (check_since), before anything is said or logged of the
        export: a database's numbers only grow and its floor moves only by a restore, so what passes now passes in
        the export's snapshot, which checks it again."""
        if isinstance(self.options.since, Cursor):
            async with self.db.read() as conn:
                check_since(self.options.since, *await read_cursor(conn))

    async def chunks(self, sink: Sink | None = None) -> AsyncIterator[bytes]:
        """The export's bytes, page by page, read from one snapshot (a folder sink writes files and yields none)."""
        async with self.db.read(snapshot=True) as conn:
            if self.fmt.name == "deletions" or self.fmt.writer is not None:
                # The snapshot's first statement: the next pull's cursor is what this one sees. An empty chunk then, so
                # that the HTTP response's head (sent before its body) can carry it.
                self.cursor, floor = await read_cursor(conn)
                if isinstance(self.options.since, Cursor):
                    check_since(self.options.since, self.cursor, floor)
                yield b""
            if self.fmt.name == "deletions":
                async for chunk in self._deletions(conn):
                    yield chunk
                return
            if self.fmt.writer is None:
                async for chunk in dump.project_chunks(conn, self.project.id, self._progress):
                    yield chunk
                return
            ctx = self.ctx
            if self.fmt.name == "csv":
                ctx = dataclasses.replace(ctx, data_keys=await data_keys(conn, self.project.id, ctx.spec))
            sink = sink or (ZipSink() if self.folder else StreamSink())
            try:
                stats = card.Stats(ctx) if self.folder else None
                outputs = formats.writers(self.fmt, ctx, self.folder, self.file_name)
                for writer in outputs:
                    # Closed here when the export stops early (a reader gone, Ctrl+C), before the snapshot's
                    # connection is: else _pages's read-ahead fetch went on on a connection being closed.
                    async with contextlib.aclosing(self._write(conn, writer, sink, stats)) as parts:
                        async for chunk in parts:
                            yield chunk
                for writer in outputs:
                    self.report.merge(writer.report)
                if stats is not None:
                    sink.open("README.md")
                    sink.write(card.render(ctx, self.fmt.name, self.fmt.loader, self._files(outputs), stats,
                                           self.report, _redundancy(self.project)))
                    sink.close()
            except BaseException:  # stopped (an error, a signal, a client gone): its open file or zip entry is
                with contextlib.suppress(Exception):  # closed now, not by a finaliser that prints a traceback
                    sink.finish()
                raise
            sink.finish()
            yield sink.take()

    async def _write(self, conn: AsyncConnection, writer: Writer, sink: Sink, stats: card.Stats | None
                     ) -> AsyncIterator[bytes]:
        options, split_field = self.options, self.spec.split_field
        writer.start(sink)
        # A one-row-per-task writer with nothing to route or count gets records made straight from the database rows
        # (no task rows in between: they cost jsonl and csv half their time).
        direct = (writer.takes_records and writer.split is None and not self.answers
                  and (stats is None or not writer.observes))
        for number in range(writer.passes):
            writer.begin_pass(number, sink)
            async with contextlib.aclosing(self._pages(conn, direct)) as pages:
                async for page, rows in pages:
                    if direct:
                        with paused_gc():
                            writer.records(self._records(rows, writer.ctx), sink)
                    else:
                        if writer.split is not None:
                            page = [row for row in page
                                    if split_of(row, options.split, options.seed, split_field) == writer.split]
                        if number == 0 and stats is not None and writer.observes:
                            stats.observe(page)
                        for part in ([[row] for row in page] if writer.copies_files else [page]):
                            with paused_gc():
                                writer.page(part, number, sink)
                            if writer.copies_files:
                                chunk = sink.take()
                                if chunk:
                                    yield chunk
                    self._progress(len(rows))
                    chunk = sink.take()
                    if chunk:
                        yield chunk
        writer.finish(sink)
        for split, n in (writer.by_split or {writer.split or "": writer.written}).items():
            self.written[split] = self.written.get(split, 0) + n

    async def _deletions(self, conn: AsyncConnection) -> AsyncIterator[bytes]:
        """The deleted tasks (after --since), in task id order, a page at a time: one JSON line each; then, with
        --since, the tasks changed since that the export's options now leave out (deleted_at null)."""
        d, t, r, v = models.task_deletions, models.tasks, models.task_results, models.reviews
        deleted = (select(d.c.task_id, d.c.external_id, d.c.deleted_at)
                   .where(deletions_filter(self.project.id, self.options), d.c.task_id > bindparam("after"))
                   .order_by(d.c.task_id).limit(PAGE_SIZE))
        queries = [deleted]
        if self.options.since is not None:
            queries.append(select(t.c.id.label("task_id"), t.c.external_id, null().label("deleted_at"))
                           .select_from(t.outerjoin(r, r.c.task_id == t.c.id).outerjoin(v, v.c.task_id == t.c.id))
                           .where(left_filter(self.project.id, self.options), t.c.id > bindparam("after"))
                           .order_by(t.c.id).limit(PAGE_SIZE))
        for query in queries:
            after = 0
            while True:
                rows = (await conn.execute(query, {"after": after})).all()
                data, n = json_lines({"id": r.task_id, "external_id": r.external_id,
                                      "deleted_at": iso_utc(r.deleted_at)} for r in rows)
                self.written[""] = self.written.get("", 0) + n
                self._progress(n)
                if data:
                    yield data
                if len(rows) < PAGE_SIZE:
                    break
                after = rows[-1].task_id

    def _progress(self, n: int) -> None:
        self.rows_read += n
        if self.on_rows is not None:
            self.on_rows(self.rows_read)

    def _files(self, outputs: list[Writer]) -> dict[str, tuple[str, int]]:
        files: dict[str, tuple[str, int]] = {}
        for writer in outputs:
            if writer.by_split:
                files.update({split: (f"images/{split}", n) for split, n in writer.by_split.items()})
            elif writer.observes:
                files[writer.split or "train"] = (writer.name, writer.written)
        return files

    async def _pages(self, conn: AsyncConnection, direct: bool = False
                     ) -> AsyncIterator[tuple[list[TaskRow], list[Any]]]:
        """The export's task rows, a page at a time, in task id order, with the database rows they were made of (only
        those when `direct`). The next page is read while this one is written (the database works in its own thread
        or socket meanwhile)."""
        reader = raw.Reader(conn)
        query = reader.prepare(tasks_query(self.project.id, self.options, self.spec))
        by_task = reader.prepare(answers_query()) if self.answers else None
        limit = raw.FIRST_PAGE
        fetch = asyncio.ensure_future(self._fetch(reader, query, by_task, 0, limit))
        try:
            while True:
                rows, answers = await fetch
                if not rows:
                    return
                more = len(rows) == limit
                if more:
                    limit = next_limit(rows, limit)
                    fetch = asyncio.ensure_future(self._fetch(reader, query, by_task, rows[-1][0], limit))
                page: list[TaskRow] = []
                if not direct:
                    with paused_gc():
                        page = [self._row(row, answers) for row in rows]
                        if self.spec.media == "image":
                            self.images.recorded = {task.data.get("image"): ImageSize(row[15], row[16])
                                                    for row, task in zip(rows, page) if row[15] and row[16]}
                yield page, rows
                if not more:
                    return
        finally:
            if not fetch.done():
                fetch.cancel()
                await asyncio.gather(fetch, return_exceptions=True)

    async def _fetch(self, reader: raw.Reader, query: raw.Statement, answers: raw.Statement | None, after: int,
                     limit: int) -> tuple[list[Any], dict[int, list[AnswerRow]] | None]:
        rows = await reader.all(query, {"after": after, "limit": limit})
        if not rows or answers is None:
            return rows, None
        return rows, await self._answers(reader, answers, rows)

    async def _answers(self, reader: raw.Reader, answers: raw.Statement, rows: list[Any]
                       ) -> dict[int, list[AnswerRow]]:
        # The driver's rows, unpacked as tuples: a SQLAlchemy Row's attribute access costs several times a tuple's.
        by_task: dict[int, list[AnswerRow]] = {row[0]: [] for row in rows}
        result = await reader.all(answers, {"first": rows[0][0], "last": rows[-1][0]})
        with paused_gc():
            return self._answer_rows(by_task, result)

    def _answer_rows(self, by_task: dict[int, list[AnswerRow]], result: list[Any]) -> dict[int, list[AnswerRow]]:
        for task_id, worker_id, answer, created_at, duration_ms, is_gold, gold_score, excluded in result:
            mine = by_task.get(task_id)
            if mine is None:  # a task of another project, or one the export leaves out
                continue
            mine.append(AnswerRow(task_id, self._name(worker_id), loads(answer), created_at, duration_ms,
                                  bool(is_gold), gold_score, bool(excluded)))
        return by_task

    def _name(self, worker_id: int) -> str:
        name = self._names.get(worker_id)
        if name is None:
            name = self._names[worker_id] = pseudonym(self.secret, worker_id)
        return name

    def _row(self, row: Any, answers: dict[int, list[AnswerRow]] | None) -> TaskRow:
        """A database row (tasks_query's columns, unpacked as a tuple) as a plain task row."""
        (task_id, external_id, data, gold, is_gold, n_done, c_answer, c_confidence, c_n, c_method, c_details,
         agreement, updated, reviewed, source_key) = row[:15]
        mine = None if answers is None else answers.get(task_id, [])
        answer, confidence, n, method = _consensus(gold, is_gold, n_done, c_answer, c_confidence, c_n, c_method)
        if agreement is None and mine is not None:
            agreement = _agreement(self.project.task_type, [a.answer for a in mine if not a.excluded])
        return TaskRow(task_id, external_id, loads(data), answer, confidence, n, agreement, bool(reviewed),
                       bool(is_gold), method, _details(answer, method, c_details), updated, mine, source_key)

    def _records(self, rows: list[Any], ctx: Context) -> Iterator[dict]:
        """Database rows straight to tabular.record rows (what _row and tabular.task_record make, without task rows),
        one at a time: each is written and freed before the next is made."""
        record = tabular.record
        for (task_id, external_id, data, gold, is_gold, n_done, c_answer, c_confidence, c_n, c_method, c_details,
             agreement, _updated, reviewed, _source_key, *_sizes) in rows:
            answer, confidence, n, method = _consensus(gold, is_gold, n_done, c_answer, c_confidence, c_n, c_method)
            yield record(ctx, task_id, external_id, loads(data), answer, _details(answer, method, c_details),
                         confidence, n, agreement, reviewed, is_gold)


async def read_cursor(conn: AsyncConnection) -> tuple[Cursor, int]:
    """The snapshot of a read transaction as a pull's cursor (labeling/sql: export.cursor), and the change number of
    the database's last restore from a backup (0 if none): cursors up to it were taken of other rows."""
    (row,) = await sqltx.read(conn, "export.cursor")
    floor = int(row[1] or 0)
    if conn.dialect.name == "sqlite":
        seen = int(row[0] or 0)
        return Cursor(seen + 1, seen + 1), floor
    xmin, xmax, running = row[0].split(":")
    return Cursor(int(xmin), int(xmax), tuple(int(x) for x in running.split(",") if x)), floor


def check_since(since: Cursor, now: Cursor, floor: int) -> None:
    """Refuse a cursor this database cannot have given: one beyond its snapshot now (another database's: its numbers
    say nothing of these rows' changes), or one from before its last restore from a backup (labeling restore: the
    restored rows are not those the pull saw, and changes after the restore may take numbers the cursor has seen).
    Such a pull would quietly miss changes; the pipeline pulls whole instead, and goes on with that pull's cursor."""
    if since.xmax > now.xmax:
        raise InvalidInput("since: this cursor is not of this database (another instance's, or one restored from a "
                           "backup older than the pull that gave it): pull without since, and go on with that "
                           "pull's cursor", field="since")
    if since.xmax <= floor:
        raise InvalidInput("since: this cursor is from before the database was restored (labeling restore) or "
                           "migrated below 0013 and back, so the changes since it are not known: pull without since, "
                           "and go on with that pull's cursor", field="since")


def next_limit(rows: list[Any], limit: int) -> int:
    """The next page's number of tasks: this page's, scaled to raw.PAGE_CHARS of their text (data, gold, consensus
    and its details), between 1 and PAGE_SIZE."""
    chars = sum(len(row[2] or "") + len(row[3] or "") + len(row[6] or "") + len(row[10] or "") for row in rows)
    return raw.scaled_limit(limit, chars, PAGE_SIZE)


def _consensus(gold: Any, is_gold: Any, n_done: int, c_answer: Any, c_confidence: float | None, c_n: int | None,
               c_method: str | None) -> tuple[Any, float | None, int, str]:
    """A task's consensus (answer, confidence, answers, method) from its columns; a gold task's is its gold answer.
    An open task without a consensus yet (--include-open) counts the answers it has so far (it said 0)."""
    if is_gold:
        return loads(gold), 1.0, n_done, "gold"
    return loads(c_answer), c_confidence, n_done if c_n is None else c_n, c_method or ""


ITEMS = ("boxes", "spans")  # the answers made of items, each with its own confidence in the consensus details


def _details(answer: Any, method: str, c_details: Any) -> dict:
    """The consensus details; for the requester's answer, which has none stored, each box or span at confidence 1
    as the task is (every format said otherwise: null in jsonl and COCO's score, 1.0 in the manifest)."""
    if method not in REQUESTERS or not isinstance(answer, dict):
        return loads(c_details) or {}
    return {key: [{"confidence": 1.0} for _ in answer[key]] for key in ITEMS if isinstance(answer.get(key), list)}


def _agreement(task_type: str, answers: list[dict]) -> float | None:
    """Mean pairwise agreement of a task's counted answers (None with fewer than two, or for demonstrations)."""
    if len(answers) < 2 or tasktypes.get(task_type).family == "demonstration":
        return None
    try:
        value = consensus_answers.mean_pairwise(task_type, answers)
    except Exception:  # an answer the similarity cannot read counts as no agreement figure, not a failed export
        return None
    return None if value is None else round(float(value), 6)


def _license(project: Any) -> str | None:
    value = (project.options or {}).get("license")
    return value if isinstance(value, str) and value else None


def _redundancy(project: Any) -> str:
    if project.target_confidence is not None:
        return (f"adaptive, {project.redundancy_min} to {project.redundancy_max} answers per task until the "
                f"confidence reaches {project.target_confidence}")
    return f"{project.redundancy_min} answers per task"


async def data_keys(conn: AsyncConnection, project_id: int, spec: tasktypes.TaskTypeSpec) -> tuple[str, ...]:
    """Every data field of a project's tasks (the CSV header): the task type's main fields first, then the rest."""
    keys = {row[0] for row in await sqltx.read(conn, "export.data_keys", {"project": project_id})}
    first = [k for k in ("image", "text", "prompt", "responses") if k in keys]
    return tuple(first + sorted(keys - set(first)))
