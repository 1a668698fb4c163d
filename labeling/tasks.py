"""Tasks: parse and validate an import, store it all or nothing (one transaction, the file read once), list
and read."""

from __future__ import annotations

import gzip
import io
import itertools
import queue as queues
import os
import re
import select as readiness
import sys
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import audit, files, jsonio, media, membership, models, paging, queue, schemas, sqltx, tasktypes
from labeling.auth import Principal
from labeling.errors import Conflict, InvalidInput, NotFound, TooLarge
from labeling.settings import Settings
from labeling.sqltx import Tx

MAX_TASKS_PER_IMPORT = 100_000  # per API request; files (labeling import) have no limit
TASK_KEYS = {"data", "gold", "predictions", "priority", "external_id"}
PRIORITY_LIMIT = 2**31 - 1
GZIP_MAGIC = b"\x1f\x8b"
TABLE_SUFFIXES = (".csv", ".tsv")  # task files `labeling import` does not read (the console maps their columns)
DEFAULT_MAX_TASK_BYTES = Settings().max_task_bytes


@dataclass(frozen=True)
class ParsedTask(queue.NewTask):
    """One validated task ready to enqueue; `where` says where it came from for error messages."""

    where: str = ""


def _lines(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """JSON Lines: one task a line, blank lines skipped, a bad line named by its number (and field)."""
    for number, line in enumerate(lines, start=1):
        if not line or line.isspace():  # as `not line.strip()`, without copying the line
            continue
        try:
            yield f"line {number}", jsonio.loads(line)
        except jsonio.JsonError as exc:
            raise _located(exc, f"line {number}") from None


def _decoded(handle: Iterable[bytes]) -> Iterator[str]:
    for number, raw in enumerate(handle, start=1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"line {number}: not UTF-8 text", field="body", line=number) from None


def is_lines(content_type: str) -> bool:
    """Whether a media type says JSON Lines (application/x-ndjson, application/jsonl, ...)."""
    content_type = content_type.lower()
    return "ndjson" in content_type or "jsonl" in content_type or "json-lines" in content_type


def read_items(body: bytes | str, content_type: str = "", limit: int | None = None, before: int = 0
               ) -> list[tuple[str, Any]]:
    """Split a request body or file into (where, item): a JSON array, or JSON Lines. `limit` (an API request's
    MAX_TASKS_PER_IMPORT): JSON Lines of more tasks, with the `before` tasks of the request's earlier files, are
    refused by counting their lines, before any is parsed."""
    if isinstance(body, bytes) and body.startswith(GZIP_MAGIC):
        raise InvalidInput("the tasks are gzip-compressed; send them uncompressed", field="body")
    try:
        text = body.decode("utf-8-sig") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise InvalidInput("the tasks must be UTF-8 text", field="body") from None
    stripped = text.lstrip()
    if not stripped:
        raise InvalidInput("no tasks given: the body is empty", field="body")
    if not is_lines(content_type) and stripped.startswith("["):
        try:
            items = jsonio.loads(body)
        except jsonio.JsonError as exc:
            if exc.path and isinstance(exc.path[0], int):  # inside one task: name it as a task's error
                rest = exc.path[1:]
                inner = jsonio.JsonError(exc.problem, rest) if rest else InvalidInput(exc.problem, field="task")
                raise _located(inner, f"tasks[{exc.path[0]}]") from None
            if exc.lineno is not None:
                raise InvalidInput(f"not a valid JSON array ({exc.problem})", field="body", line=exc.lineno) from None
            raise
        return [(f"tasks[{i}]", item) for i, item in enumerate(items)]
    if limit is not None and text.count("\n") >= limit - before:
        # 200 MB of 150,000 lines took 28 s and 1.6 GB of the server's memory to parse before the 100,001st task was
        # refused; counting the lines that hold more than white space takes a fraction of a second.
        count = sum(1 for _ in TASK_LINE.finditer(text))
        if before + count > limit:
            earlier = f" after {before:,} in the upload's files before them" if before else ""
            raise TooLarge(f"at most {limit:,} tasks per request, and these JSON Lines have {count:,}{earlier}; "
                           "split the import", field="body")
    return list(_lines(_text_lines(text)))


# A line (after a "\n", or the first) holding more than white space: `^` of a MULTILINE pattern follows "\n" only.
TASK_LINE = re.compile(r"^[^\S\n]*\S", re.MULTILINE)


def _text_lines(text: str) -> Iterator[str]:
    """The lines of a text, each with its "\n", cut at "\n" only (str.splitlines would also cut at U+2028 and other
    separators a JSON string may hold), without a copy of the whole text (io.StringIO held 4 bytes a character)."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end == -1:
            yield text[start:]
            return
        yield text[start:end + 1]
        start = end + 1


def _one(where: str, item: Any, spec: tasktypes.TaskTypeSpec, ctx: tasktypes.Context, max_bytes: int) -> ParsedTask:
    if not isinstance(item, dict):
        raise InvalidInput("must be a JSON object", field="task")
    if jsonio.size(item) > max_bytes:
        raise InvalidInput(f"the task is larger than {max_bytes:,} bytes as JSON (LABELING_MAX_TASK_BYTES)",
                           field="data")
    if "data" in item:
        for key in () if item.keys() <= TASK_KEYS else sorted(item.keys() - TASK_KEYS):
            raise InvalidInput(f"{key} is not a known task field (expected {', '.join(sorted(TASK_KEYS))})", field=key)
        raw_data = item["data"]
    else:  # a manifest line ({"source-ref": ...}, {"source": ...}) or bare data
        raw_data, item = item, {}
    field = spec.manifest_field
    source_key = tasktypes.manifest_key(raw_data, field) if field is not None else None
    try:
        data = spec.validate_data(raw_data, ctx)
    except InvalidInput as exc:
        raise _bare_hint(exc, raw_data) if not item else exc from None
    if "" in data:  # a table's column without a header: pandas and datasets read its CSV column as `Unnamed: N`
        raise InvalidInput('data has a field with an empty name (""): name it', field="data")
    gold = _answer_field(spec, item, "gold", data, ctx)
    predictions = _answer_field(spec, item, "predictions", data, ctx)
    priority = item.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > PRIORITY_LIMIT:
        raise InvalidInput(f"priority must be a whole number from {-PRIORITY_LIMIT:,} to {PRIORITY_LIMIT:,}, got "
                           f"{jsonio.dumps(priority):.40}", field="priority")
    external_id = item.get("external_id")
    if external_id is not None and (not isinstance(external_id, str) or not 1 <= len(external_id) <= 500):
        raise InvalidInput("external_id must be a string of 1-500 characters", field="external_id")
    return ParsedTask(data, gold, predictions, priority, external_id, source_key=source_key, where=where)


MANIFEST_KEYS = ("source", "source-ref")


def _bare_hint(exc: InvalidInput, raw: dict) -> InvalidInput:
    """A task object without "data" is read as its data (bare data, a manifest line). When the data field the error
    names is not in it either, the object was most likely meant otherwise ({"tasks": [...]}, {"input": ...}):
    say how it was read and what a task looks like, not only that data.text is required."""
    named = (exc.field or "").removeprefix("data.").split(".")[0].split("[")[0]
    if not exc.field or not exc.field.startswith("data.") or named in raw or any(key in raw for key in MANIFEST_KEYS):
        return exc
    keys = ", ".join(repr(key) for key in sorted(raw)[:5]) or "none"
    return InvalidInput(f"{exc.message}: this object has no \"data\" field, so it is read as the task's data "
                        f"(its keys: {keys}); a task is {{\"data\": {{...}}, \"external_id\"?: ...}}, and an import "
                        "is a JSON array of tasks or JSON Lines, one task a line", field=exc.field, **exc.extra)


def iter_validated(items: Iterable[tuple[str, Any]], task_type: str, labels: Iterable[str],
                   media_dir: Path | None = None, limit: int | None = None, *, sizes: media.Sizes | None = None,
                   max_task_bytes: int = DEFAULT_MAX_TASK_BYTES,
                   may_name: media.Nameable | None = None,
                   brought: frozenset[str] = frozenset(), options: dict | None = None) -> Iterator[ParsedTask]:
    """Validate items one by one (at most `limit`); the first bad one raises InvalidInput naming its place and field.

    Image sizes come from `sizes` (read from the media folder when first needed: its `new` ones are then
    for media.record). `may_name`: the media-folder files the importer may name (None: any; see `named_media`).
    `brought`: the media paths of the images the import brings along, there when it commits whatever happens to
    the files meanwhile (a removal of unused uploads), so not looked for in the media folder. `options`: the
    project's, which gold answers and predictions are checked against as a worker's answer is (named entities:
    span_unit, span_overlap).
    """
    spec = tasktypes.get(task_type)
    ctx = tasktypes.Context(labels=tuple(labels), options=options, media_dir=media_dir, image_size=sizes,
                            may_name=may_name, brought=brought)
    seen_ids: dict[str, str] = {}
    count = 0
    for where, item in items:
        if limit is not None and count >= limit:
            raise TooLarge(f"at most {limit:,} tasks per request; split the import", field="body")
        try:
            task = _one(where, item, spec, ctx, max_task_bytes)
        except InvalidInput as exc:
            raise _located(exc, where) from None
        if task.external_id is not None:
            if task.external_id in seen_ids:
                raise _located(InvalidInput(f"external_id {task.external_id!r} repeats {seen_ids[task.external_id]}",
                                            field="external_id"), where)
            seen_ids[task.external_id] = where
        count += 1
        yield task
    if not count:
        raise InvalidInput("no tasks given", field="body")


def validate(items: Iterable[tuple[str, Any]], task_type: str, labels: Iterable[str],
             media_dir: Path | None = None, *, sizes: media.Sizes | None = None,
             max_task_bytes: int = DEFAULT_MAX_TASK_BYTES, may_name: media.Nameable | None = None,
             brought: frozenset[str] = frozenset(), options: dict | None = None) -> list[ParsedTask]:
    """Validate a request's tasks (at most MAX_TASKS_PER_IMPORT); all of them, or an error naming the first bad one."""
    return list(iter_validated(items, task_type, labels, media_dir, limit=MAX_TASKS_PER_IMPORT, sizes=sizes,
                               max_task_bytes=max_task_bytes, may_name=may_name, brought=brought, options=options))


def named_media(items: Iterable[tuple[str, Any]], task_type: str) -> set[str]:
    """The media paths the items' data name, read as `_one` and the task type read them (`data.image`, or a manifest
    line's source-ref), before validation: what `media.nameable` looks up. A path missed here is not nameable, so
    reads as a missing file: never more access, only a refusal."""
    spec = tasktypes.get(task_type)
    if spec.media != "image":
        return set()
    found: set[str] = set()
    for _, item in items:
        raw = item["data"] if isinstance(item, dict) and "data" in item else item
        data = tasktypes.from_manifest(raw, "image")
        if isinstance(data, dict):
            found.update(spec.local_media(data))
    return found


STDIN = "-"  # the FILE of `labeling import` that reads standard input, as `aggregate -` and `export -o -`


def file_items(path: Path) -> Iterator[tuple[str, Any]]:
    """The items of a task file, streamed: JSON Lines (one task a line), or a JSON array (a .json file, or any
    file whose text starts with "["); gzip-compressed or not, whatever its name says."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(TABLE_SUFFIXES):
        raise InvalidInput(f"{path.name}: labeling import reads JSON Lines or a JSON array, not {name[-3:].upper()}; "
                           "import a table on the console's Import page, which maps its columns", field="FILE")
    with path.open("rb") as raw:
        packed = raw.read(2) == GZIP_MAGIC
    with (gzip.open(path, "rb") if packed else path.open("rb")) as handle:
        if name.endswith(".json") or _starts_an_array(_unpacked(handle, packed)):
            handle.seek(0)
            yield from read_items(b"".join(_unpacked(handle, packed)), "")
            return
        handle.seek(0)
        yield from _lines(_decoded(_unpacked(handle, packed)))


def stdin_items(stop: Callable[[], bool] | None = None) -> Iterator[tuple[str, Any]]:
    """The items of standard input (`labeling import P -`), as stream_items reads them; its reading ends
    (sqltx.Abandoned) once `stop()` says the import was given up (Ctrl+C) while it waited for more."""
    yield from stream_items(_stdin(stop))


def stream_items(raw: IO[bytes], shown: str = "standard input") -> Iterator[tuple[str, Any]]:
    """The items of a task stream that cannot be read twice (standard input), streamed, told apart by their content
    as a file's are (it has no name to go by): gzip by its first bytes, a JSON array by its first character that is
    not blank ("["), JSON Lines by "{". Anything else (a CSV table, a manifest's name) is said in one line."""
    head = raw.read(len(GZIP_MAGIC))
    packed = head == GZIP_MAGIC
    stream: IO[bytes] = io.BufferedReader(_Prefixed(head, raw))
    if packed:
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
    lines = _unpacked(stream, packed)
    before: list[bytes] = []  # the blank lines before the first that is not, and that one
    for line in lines:
        before.append(line)
        text = line.removeprefix(b"\xef\xbb\xbf").strip()
        if text:
            break
    else:
        text = b""
    whole = itertools.chain(before, lines)
    if text.startswith(b"["):
        yield from read_items(b"".join(whole), "")
    elif text.startswith(b"{") or not text:  # none at all: "no tasks given", as an empty file
        yield from _lines(_decoded(whole))
    else:
        number = len(before)
        shown_start = text[:20].decode("utf-8", "replace")
        raise InvalidInput(f"{shown}: line {number} starts with {shown_start!r}, neither a JSON Lines task ({{...}}) "
                           "nor a JSON array ([...]), what labeling import reads; import a CSV or TSV table on the "
                           "console's Import page, which maps its columns", field="FILE", line=number)


def _stdin(stop: Callable[[], bool] | None) -> IO[bytes]:
    """Standard input as bytes. A real one (a pipe, a terminal, a file) is read from its descriptor as it becomes
    readable, `stop()` asked meanwhile: a read blocked on a pipe or a terminal held the SQLite writer, and with it the
    interrupted command, until the other end closed (Ctrl+C at `labeling import P -` typed at a terminal hung), and
    PostgreSQL's reading thread, holding the stream's lock, aborted the interpreter as it shut down."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an object of no descriptor (a test's)
        return sys.stdin.buffer
    return _Descriptor(fd, stop or (lambda: False))


class _Descriptor(io.RawIOBase):
    """A file descriptor read when it has bytes, polling `stop()` while it has none."""

    def __init__(self, fd: int, stop: Callable[[], bool]) -> None:
        super().__init__()
        self.fd, self.stop = fd, stop

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not readiness.select([self.fd], [], [], 0.1)[0]:
            if self.stop():
                raise sqltx.Abandoned("the import was given up while it waited for standard input")
        data = os.read(self.fd, len(buffer))
        buffer[:len(data)] = data
        return len(data)


class _Prefixed(io.RawIOBase):
    """A stream's first bytes, read already (to tell gzip by them), then the rest of the stream."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        read = getattr(self.rest, "read1", self.rest.read)
        data = read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _unpacked(handle: Any, packed: bool) -> Iterator[bytes]:
    """The lines of a file; a damaged or cut-off gzip file is an InvalidInput naming the line it breaks off at."""
    number = 0
    try:
        for number, line in enumerate(handle, start=1):  # noqa: B007 - the count is for the message
            yield line
    except (OSError, EOFError, zlib.error) as exc:
        if not packed:
            raise
        raise InvalidInput(f"line {number + 1}: the gzip file is damaged or cut short ({exc})", field="FILE",
                           line=number + 1) from None


def _starts_an_array(lines: Iterator[bytes]) -> bool:
    """Whether the first character that is not blank (nor a BOM) is "[": a JSON array, perhaps over many lines."""
    for line in lines:
        text = line.removeprefix(b"\xef\xbb\xbf").strip()
        if text:
            return text.startswith(b"[")
    return False


async def import_file(db: Any, project: Any, path: Path | str, settings: Settings,
                      actor: Principal | str = audit.CLI) -> int:
    """Import a task file of any size in one transaction, reading it once: a bad line anywhere stores nothing. The
    lines are checked against the project as held by that transaction (`membership.shared`), not as read before."""
    sizes = media.Sizes(settings.media_dir)

    def run(tx: Tx) -> int:
        row = membership.shared(tx, project.id, "tasks.import")
        items = stdin_items(getattr(tx, "abandoned", None)) if str(path) == STDIN else file_items(Path(path))
        parsed = iter_validated(items, row.task_type, row.labels, settings.media_dir, sizes=sizes,
                                max_task_bytes=settings.max_task_bytes, options=row.options)
        if tx.dialect == "postgresql":  # the file read and checked while the server writes the tasks before
            parsed = read_ahead(parsed, tx.wait)
        via = STDIN if str(path) == STDIN else Path(path).name
        return _import_held(tx, actor, row, parsed, via, sizes, settings.media_dir)

    return await db.transact(run)


READ_AHEAD_CHUNK = 1_000  # validated tasks handed over at a time
READ_AHEAD_CHUNKS = 2  # chunks a reading thread may hold ahead of the writer (memory stays bounded)
_END = object()


def read_ahead(items: Iterator[Any], wait: Callable[[Callable[[], Any]], Any], chunk: int | None = None,
               ahead: int = READ_AHEAD_CHUNKS) -> Iterator[Any]:
    """`items` in their order, made by a thread of their own up to `ahead` chunks before they are asked for; whatever
    making them raises is raised here, after the items made before it. For PostgreSQL: the server inserts a batch
    (another process, another core) while this process reads and checks the next, where the import took turns with
    it. Not for SQLite: its writer thread lets go of the interpreter for every row it writes, and a busy reading
    thread then kept it waiting each time. `wait(get)` runs the blocking `get` so that the caller can still be
    interrupted meanwhile (`AsyncpgTx.wait`: Ctrl+C). Leaving early (an error, Ctrl+C) stops the thread."""
    size = chunk or READ_AHEAD_CHUNK
    handed: queues.Queue = queues.Queue(maxsize=ahead)
    stop = threading.Event()

    def make() -> None:
        batch: list[Any] = []
        try:
            for item in items:
                batch.append(item)
                if len(batch) >= size:
                    if not _hand(handed, stop, batch):
                        return
                    batch = []
            batch.append(_END)
            _hand(handed, stop, batch)
        except BaseException as exc:  # noqa: BLE001 - handed over, raised by the reader after what came before it
            _hand(handed, stop, [*batch, exc])
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def get() -> list[Any] | None:
        while not stop.is_set():
            try:
                return handed.get(timeout=0.1)
            except queues.Empty:
                continue
        return None

    threading.Thread(target=make, name="labeling-import-reader", daemon=True).start()
    try:
        while True:
            try:
                got = handed.get_nowait()
            except queues.Empty:
                got = wait(get)
            for item in got or ():
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
    finally:
        stop.set()


def _hand(handed: queues.Queue, stop: threading.Event, what: list[Any]) -> bool:
    """Put `what` on the queue unless the reader has stopped; whether it was put."""
    while not stop.is_set():
        try:
            handed.put(what, timeout=0.1)
            return True
        except queues.Full:
            continue
    return False


def import_(tx: Tx, actor: Principal | str, project: Any, parsed: Iterable[ParsedTask], via: str = "api",
            sizes: media.Sizes | None = None, uploads_in: Path | None = None,
            brought: frozenset[str] = frozenset()) -> int:
    """store(), audited: the import and its entry commit together. `project` is the row the tasks were checked
    against (read before this transaction); the project is held as it is now (`membership.shared`) until the import
    commits, and that row decides: an archived project takes none, and tasks checked against a label the project
    has lost meanwhile are refused (a 409: send them again), so a status or label change racing the import either
    waits for it and sees its tasks, or comes first and is seen. `uploads_in`, `brought`: as for store()."""
    row = membership.shared(tx, project.id, "tasks.import")
    lost = [name for name in project.labels if name not in row.labels]
    if lost:
        raise Conflict(f"labels: {', '.join(repr(name) for name in lost)} left the project while the import was "
                       "being checked; send it again", field="labels")
    if brought and isinstance(actor, Principal):
        media.record_uploader(tx, actor.id, brought)  # the images it uploaded are the importer's to name again
    return _import_held(tx, actor, row, parsed, via, sizes, uploads_in, brought)


def _import_held(tx: Tx, actor: Principal | str, row: Any, parsed: Iterable[ParsedTask], via: str,
                 sizes: media.Sizes | None, uploads_in: Path | None, brought: frozenset[str] = frozenset()) -> int:
    created = store(tx, row, parsed, sizes, uploads_in, brought)
    audit.record(tx, actor, "tasks.import", project=row, details={"created": created, "via": via})
    return created


def _answer_field(spec: tasktypes.TaskTypeSpec, item: dict, key: str, data: dict, ctx: tasktypes.Context) -> Any:
    """item[key] (gold or predictions) checked as an answer to the task; an error names `key`, not `answer`."""
    if item.get(key) is None:
        return None
    try:
        return spec.validate_answer(item[key], data, ctx)
    except InvalidInput as exc:
        named = exc.field or "answer"
        if named != "answer" and not named.startswith(("answer.", "answer[")):
            raise
        field = key + named[len("answer"):]
        message = exc.message.replace(named, field, 1) if exc.field else exc.message
        raise InvalidInput(message, field=field, **exc.extra) from None


def _located(exc: InvalidInput, where: str) -> InvalidInput:
    """The error prefixed with where it happened: "line N", "tasks[i]", "file NAME" (an uploaded image), or
    "NAME: line N" / "NAME: tasks[i]" (a line of one of the task files of an upload)."""
    extra = dict(exc.extra)
    place = where
    name, sep, last = where.rpartition(": ")
    if sep and last.startswith(("line ", "tasks[")):
        extra["file"], place = name, last
    if place.startswith("line "):
        extra["line"] = int(place.split()[1])
    elif place.startswith("tasks["):
        extra["index"] = int(place[place.index("[") + 1:-1])
    elif place.startswith("file "):
        extra["file"] = place[len("file "):]
    return InvalidInput(f"{where}: {exc.message}", field=exc.field, **extra)


def file_part_items(filename: str, content: bytes, limit: int | None = None, before: int = 0
                    ) -> list[tuple[str, Any]]:
    """The items of one task file of a multipart upload, each placed in that file ("NAME: line N"): with two
    files in one upload, "line 2" alone does not say which. `limit` and `before` (the tasks of the upload's files
    before it) as read_items's: JSON Lines past an API request's limit are refused by their line count, as a
    body's are, before any line is parsed."""
    kind = "" if filename.lower().endswith(".json") else "ndjson"
    try:
        items = read_items(content, kind, limit, before)
    except (InvalidInput, TooLarge) as exc:
        raise type(exc)(f"{filename}: {exc.message}", field=exc.field, **{**exc.extra, "file": filename}) from None
    return [(f"{filename}: {where}", item) for where, item in items]


ID_CHECK_CHUNK = 1000  # external ids checked against the project per query


def _check_external_ids(tx: Tx, project_id: int, chunk: list[ParsedTask], held: bool) -> bool:
    """Refuse a task whose external id is already in the project, naming where the first one came from. The ids are
    checked while held against other imports into the project (tasks.hold_external_ids, from the first chunk that
    has one on; `held`: already), which could otherwise both find an id free and both insert it: the second then
    failed on the unique index (a 500) instead of being told. Returns whether they are held."""
    places = {task.external_id: task.where for task in chunk if task.external_id is not None}
    if places:
        if not held:
            tx.one("tasks.hold_external_ids", {"project": project_id})
            held = True
        taken = tx.scalar("tasks.external_ids_taken", {"project": project_id, "ids": list(places)})
        if taken is not None:
            raise _located(InvalidInput(f"external_id {taken!r} is already in the project", field="external_id"),
                           places[taken])
    return held


def _check_uploads_kept(tx: Tx, media_dir: Path, shown: list[tuple[str, str]], held: bool,
                        brought: frozenset[str]) -> bool:
    """The uploads (files under uploads/) that tasks name, each with where it came from, are still in the media
    folder: checked while they are held against removal (a deleted project's unused uploads go once it commits),
    so a file that went after the tasks were validated is refused as a missing file is. Those the import `brought`
    along are held too but not checked: they are put back after it commits (labeling/api/media.py `placing`), which
    only holding them orders after a removal that found them unused (else the removal could unlink one after that).
    Returns whether the uploads are held (from the first task that names one on)."""
    uploads = [(where, ref) for where, ref in shown if media.is_upload(ref)]
    if not uploads:
        return held
    if not held:
        media.hold_uploads(tx)
    for where, ref in uploads:
        if ref in brought:
            continue
        if files.inside(media_dir, ref) is None:
            raise _located(InvalidInput(f"data.image: no file {ref!r} in the media folder", field="data.image"),
                           where)
    return True


def store(tx: Tx, project: Any, parsed: Iterable[ParsedTask], sizes: media.Sizes | None = None,
          uploads_in: Path | None = None, brought: frozenset[str] = frozenset()) -> int:
    """Enqueue validated tasks in the caller's transaction, their external ids checked against the project and the
    media-folder files they show recorded for the project, ID_CHECK_CHUNK at a time as they stream by, and record
    the image sizes read meanwhile; returns how many. `uploads_in`: the media folder, where the uploaded files the
    tasks name must still be (but those the import `brought`, the images of a multipart import)."""
    spec = tasktypes.get(project.task_type)
    held = ids_held = False

    def passed(chunk: list[ParsedTask]) -> list[ParsedTask]:
        nonlocal held, ids_held
        ids_held = _check_external_ids(tx, project.id, chunk, ids_held)
        shown = [(task.where, ref) for task in chunk for ref in spec.local_media(task.data)]
        if uploads_in is not None:
            held = _check_uploads_kept(tx, uploads_in, shown, held, brought)
        media.record_refs(tx, project.id, (ref for _, ref in shown))
        return chunk

    def checked() -> Iterator[ParsedTask]:
        chunk: list[ParsedTask] = []
        for task in parsed:
            chunk.append(task)
            if len(chunk) == ID_CHECK_CHUNK:
                yield from passed(chunk)
                chunk = []
        yield from passed(chunk)

    created = queue.enqueue(tx, project, checked())
    if sizes is not None:
        media.record(tx, sizes.new)
    return created


def public(row: Any) -> dict:
    """The API shape of a task."""
    return {
        "id": row.id, "external_id": row.external_id, "data": row.data, "gold": row.gold,
        "predictions": row.predictions, "priority": row.priority, "state": models.TaskState(row.state).name,
        "n_annotations": row.n_done, "needed": row.needed, "created_at": schemas.iso(row.created_at),
    }


async def list_(conn: AsyncConnection, project_id: int, cursor: str | None, limit: int,
                state: str | None = None, gold: bool | None = None) -> dict:
    """A page of a project's tasks in import order, optionally only open/complete or gold/regular ones."""
    t = models.tasks
    query = select(t).where(t.c.project_id == project_id).order_by(t.c.id).limit(limit + 1)
    after = paging.decode(cursor, f"projects/{project_id}/tasks")
    if after is not None:
        query = query.where(t.c.id > after)
    if state is not None:
        try:
            query = query.where(t.c.state == models.TaskState[state].value)
        except KeyError:
            raise InvalidInput("state must be open or complete", field="state") from None
    if gold is not None:
        query = query.where(t.c.is_gold.is_(gold))
    rows = (await conn.execute(query)).all()
    return paging.page([public(r) for r in rows], limit, f"projects/{project_id}/tasks")


async def get(conn: AsyncConnection, task_id: int) -> Any:
    """The task row, or NotFound."""
    row = (await conn.execute(select(models.tasks).where(models.tasks.c.id == task_id))).first()
    if row is None:
        raise NotFound(f"no task {task_id}", field="task_id")
    return row


def ids_for(tx: Tx, project_id: int, task_ids: list[int], external_ids: list[str]) -> list[int]:
    """Task ids named directly or by external id (those of other projects, or of no task, drop out later)."""
    found = set(task_ids)
    for start in range(0, len(external_ids), ID_CHECK_CHUNK):
        chunk = external_ids[start:start + ID_CHECK_CHUNK]
        found.update(row.id for row in tx.rows("tasks.ids_by_external", {"project": project_id, "ids": chunk}))
    return sorted(found)
