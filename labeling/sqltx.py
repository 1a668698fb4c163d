"""Tx: the one transaction API every write goes through, on both backends, and the named SQL it runs.

Statements live as literal, named SQL in labeling/sql/ (queries.sql for both databases, sqlite.sql and
postgresql.sql for each one's own) and are run by name: `tx.run("queue.close_lease_skipped", {...})`.
On SQLite a `SqliteTx` runs them on a plain sqlite3 connection in the database's single writer thread (one
thread hop per transaction, not per statement); on PostgreSQL an `AsyncpgTx` runs them as asyncpg prepared
statements inside `AsyncConnection.run_sync`, so the same synchronous domain function serves both.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import decimal
import functools
import json
import math
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

from sqlalchemy.util import await_only

from labeling import jsonio
from labeling.models import AssignmentStatus, ProjectStatus, TaskState

SQL_DIR = Path(__file__).resolve().parent / "sql"
DIALECTS = ("sqlite", "postgresql")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
# The members a status or state number may name in the SQL files: `0 /*leased*/`.
_MEMBERS = {m.name: int(m.value) for enum in (AssignmentStatus, TaskState, ProjectStatus) for m in enum}
_ANNOTATED = re.compile(r"\b(\d+) /\*(\w+)\*/")
_BARE_STATUS = re.compile(r"\b(?:status|state)\s*(?:=|<>|!=|<=|>=|<|>)\s*\d+\b(?! /\*)", re.IGNORECASE)
_STATUS_LIST = re.compile(r"\b(?:status|state)\s+IN\s*\(([^)]*)\)", re.IGNORECASE)


@dataclass(frozen=True)
class Query:
    """A named statement and its JSON columns (decoded on the way out) and JSON parameters (encoded on the way in)."""

    name: str
    sql: str
    json_columns: frozenset[str] = frozenset()
    json_params: frozenset[str] = frozenset()
    json_arrays: frozenset[str] = frozenset()  # array parameters whose items are encoded as JSON (PostgreSQL's jsonb[])
    numbered: str = ""  # the SQL with $1, $2... for asyncpg
    order: tuple[str, ...] = ()  # parameter names in $n order
    writes: bool = False  # the statement changes rows (or locks them)
    returns_rows: bool = False  # it has a RETURNING clause or is a query
    doc: str = ""

    @classmethod
    def make(cls, name: str, sql: str, json_columns: Iterable[str] = (), json_params: Iterable[str] = (),
             doc: str = "", json_arrays: Iterable[str] = ()) -> "Query":
        """Build a Query, numbering its :named parameters for asyncpg."""
        order: list[str] = []

        def number(match: re.Match) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        numbered = _NAMED.sub(number, sql)
        writes = re.search(r"\b(INSERT|UPDATE|DELETE)\b", sql, re.IGNORECASE) is not None
        returns_rows = re.search(r"\bRETURNING\b", sql, re.IGNORECASE) is not None or not writes
        return cls(name, sql, frozenset(json_columns), frozenset(json_params), frozenset(json_arrays), numbered,
                   tuple(order), writes, returns_rows, doc)


def parse_sql_file(text: str, source: str) -> dict[str, Query]:
    """The named statements of one SQL file (format: the header of labeling/sql/queries.sql)."""
    out: dict[str, Query] = {}
    blocks = re.split(r"^-- name: *(\S+) *\n", text, flags=re.MULTILINE)
    for name, body in zip(blocks[1::2], blocks[2::2]):
        lines = body.splitlines()
        head: list[str] = []
        while lines and lines[0].startswith("--"):
            head.append(lines.pop(0)[2:].strip())
        options = {key: [v.strip() for v in value.split(",") if v.strip()]
                   for line in head if (m := re.match(r"(json|json_params|json_arrays): *(.*)$", line))
                   for key, value in [m.groups()]}
        doc = " ".join(line for line in head if not re.match(r"(json|json_params|json_arrays):", line))
        statement = "\n".join(line for line in lines if not line.lstrip().startswith("--")).strip().rstrip(";")
        if name in out:
            raise ValueError(f"{source}: statement {name} is defined twice")
        if not statement:
            raise ValueError(f"{source}: statement {name} is empty")
        _check_status_values(statement, f"{source}: {name}")
        out[name] = Query.make(name, statement, options.get("json", ()), options.get("json_params", ()), doc,
                               options.get("json_arrays", ()))
    return out


def _check_status_values(statement: str, where: str) -> None:
    """Every status or state number names its enum member, and the member has that value."""
    for number, member in _ANNOTATED.findall(statement):
        if member not in _MEMBERS:
            raise ValueError(f"{where}: /*{member}*/ is not a status or state of labeling.models")
        if _MEMBERS[member] != int(number):
            raise ValueError(f"{where}: {number} /*{member}*/ but {member} is {_MEMBERS[member]}")
    bare = _BARE_STATUS.search(statement)
    if bare is not None:
        raise ValueError(f"{where}: a status or state value without its name: {bare.group(0)!r}")
    for listed in _STATUS_LIST.findall(statement):
        for item in listed.split(","):
            if not _ANNOTATED.fullmatch(item.strip()):
                raise ValueError(f"{where}: a status or state value without its name: {item.strip()!r}")


@functools.cache
def load_queries(dialect: str) -> dict[str, Query]:
    """Every statement a dialect runs: queries.sql plus the dialect's own file; a name is defined once."""
    if dialect not in DIALECTS:
        raise ValueError(f"no SQL for dialect {dialect!r}")
    shared = parse_sql_file((SQL_DIR / "queries.sql").read_text(), "queries.sql")
    own = parse_sql_file((SQL_DIR / f"{dialect}.sql").read_text(), f"{dialect}.sql")
    for name in shared.keys() & own.keys():
        raise ValueError(f"statement {name} is in both queries.sql and {dialect}.sql")
    return {**shared, **own}


@functools.lru_cache(maxsize=512)
def _row_class(name: str, columns: tuple[str, ...]) -> type:
    """A named-tuple class per statement shape: attribute access, built in C."""
    return collections.namedtuple("Row_" + re.sub(r"\W", "_", name), columns, rename=True)


_SHAPES: dict[str, tuple[Any, Any, list[int]]] = {}


def _shape(query: Query, description: Any) -> tuple[Any, list[int]]:
    """(row maker, positions of the JSON columns) of a statement's result, remembered while its description (the
    columns it returns) stays the same: a comparison of tuples instead of a pass over the columns per statement."""
    known = _SHAPES.get(query.name)
    if known is None or known[0] != description:
        columns = tuple(d[0] for d in description)
        known = (description, _row_class(query.name, columns)._make,
                 [i for i, column in enumerate(columns) if column in query.json_columns])
        _SHAPES[query.name] = known
    return known[1], known[2]


class Row:
    """A result row with attribute access (for asyncpg records)."""

    __slots__ = ("_data",)

    def __init__(self, data: dict) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"Row({self._data!r})"


class Tx(Protocol):
    """One open transaction; statements are named (labeling/sql/)."""

    dialect: str
    committed_writes: bool  # a write already committed on its own (PostgreSQL per statement)

    def rows(self, name: str, params: Mapping[str, Any] | None = None) -> list[Any]: ...
    def one(self, name: str, params: Mapping[str, Any] | None = None) -> Any: ...
    def scalar(self, name: str, params: Mapping[str, Any] | None = None) -> Any: ...
    def run(self, name: str, params: Mapping[str, Any] | None = None) -> int: ...
    def run_many(self, name: str, params: list[Mapping[str, Any]]) -> None: ...
    def begin(self) -> None: ...
    def isolated(self) -> contextlib.AbstractContextManager[None]: ...
    def wait(self, blocking: Callable[[], Any]) -> Any: ...


def _json(value: Any) -> str:
    text = _compact(value)
    if "-0.0" in text:
        # jsonb's numeric has no negative zero: PostgreSQL stores -0.0 (a score rounded from a tiny negative) as
        # 0.0, SQLite kept it, and the exports of the two databases differed. 0.0 on both.
        value = _no_negative_zero(value)
        text = _compact(value)
    # PostgreSQL's jsonb keeps numbers as numeric and writes 1e+16 back as 10000000000000000, an integer: floats
    # that JSON writes with a positive exponent are written in plain digits with ".0" instead (both databases).
    return _plain_floats(value) if "e+" in text else text


def _no_negative_zero(value: Any) -> Any:
    """`value` with every -0.0 as 0.0 (the text "-0.0" may also be in a string: only floats change)."""
    if isinstance(value, float):
        return value + 0.0
    if isinstance(value, dict):
        return {key: _no_negative_zero(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_negative_zero(item) for item in value]
    return value


_CONTAINERS = (dict, list)


def _jsonb_order(value: Any) -> Any:
    """`value` with every object's keys in the order PostgreSQL's jsonb keeps them (shorter keys first, then by their
    UTF-8 bytes), for SQLite: storing JSON as written, it read a task's data, an answer or a consensus back, listed
    and exported it with its keys in another order than PostgreSQL. One order on both: jsonb's (it cannot keep the
    order a client sent)."""
    if isinstance(value, dict):
        keys = sorted(value, key=_jsonb_key) if len(value) > 1 else value
        return {key: _jsonb_order(value[key]) if isinstance(value[key], _CONTAINERS) else value[key] for key in keys}
    if isinstance(value, list):
        return [_jsonb_order(item) if isinstance(item, _CONTAINERS) else item for item in value]
    return value


def _jsonb_key(key: Any) -> tuple[int, bytes]:
    text = (key if isinstance(key, str) else _compact(key)).encode("utf-8")  # a key as JSON writes it
    return len(text), text


def _compact(value: Any) -> str:
    return jsonio.compact(value)


def _plain_floats(value: Any) -> str:
    """Compact JSON as _compact writes it, with every float in plain digits (a float stays a float through jsonb)."""
    if isinstance(value, float):
        text = repr(value)
        return format(decimal.Decimal(text), "f") + ".0" if "e+" in text and math.isfinite(value) else _compact(value)
    if isinstance(value, dict):  # each key as _compact writes it ({1: 0} -> "1": the text between { and :0})
        return "{" + ",".join(_compact({k: 0})[1:-2] + _plain_floats(v) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(map(_plain_floats, value)) + "]"
    return _compact(value)


class _Common:
    dialect: str

    def __init__(self) -> None:
        self.queries = load_queries(self.dialect)
        self._depth = 0

    def query(self, name: str) -> Query:
        """The named statement of this dialect."""
        try:
            return self.queries[name]
        except KeyError:
            raise KeyError(f"no statement named {name!r} for {self.dialect}") from None

    def rows(self, name: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        raise NotImplementedError

    def one(self, name: str, params: Mapping[str, Any] | None = None) -> Any:
        """The first row or None."""
        rows = self.rows(name, params)
        return rows[0] if rows else None

    def scalar(self, name: str, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        rows = self.rows(name, params)
        if not rows:
            return None
        row = rows[0]
        return next(iter(row._data.values())) if isinstance(row, Row) else row[0]

    def _savepoint(self, sql: str) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def _nested(self) -> Iterator[None]:
        """A savepoint: the block's writes are undone if it raises, the transaction goes on."""
        self._depth += 1
        name = f"nested_{self._depth}"
        self._savepoint(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._savepoint(f"ROLLBACK TO SAVEPOINT {name}")
            self._savepoint(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            self._savepoint(f"RELEASE SAVEPOINT {name}")
        finally:
            self._depth -= 1


class Abandoned(BaseException):
    """The caller of a SQLite writer job gave up on it (its task was cancelled: Ctrl+C, SIGTERM): the job's work is
    undone at its next statement, as PostgreSQL rolls back a transaction whose connection is dropped. A
    BaseException, so that no domain `except Exception` takes it for an error of its own."""


def _never() -> bool:
    return False


class SqliteTx(_Common):
    """A transaction on a plain sqlite3 connection (the writer thread's, which began it)."""

    dialect = "sqlite"
    committed_writes = False  # every job of the single writer is one transaction (a savepoint)

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self.conn = conn
        self.abandoned: Callable[[], bool] = _never  # the writer sets it per job: has its caller gone?

    def _live(self) -> None:
        if self.abandoned():
            raise Abandoned("the caller of this transaction gave up on it; its work is undone")

    def begin(self) -> None:
        """Nothing to do: every job of the single writer is already one transaction."""

    def isolated(self) -> contextlib.AbstractContextManager[None]:
        """A block whose writes are undone if it raises, while the rest of the transaction stands."""
        return self._nested()

    def _savepoint(self, sql: str) -> None:
        self.conn.execute(sql)

    def wait(self, blocking: Callable[[], Any]) -> Any:
        """Run a blocking call (the writer thread has no event loop to keep going meanwhile); its result."""
        return blocking()

    def _params(self, query: Query, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        if not params or not query.json_params:
            return params or {}
        out = dict(params)  # the JSON parameters encoded, the rest as they are (one copy, not a pass over every key)
        for name in query.json_params:
            value = out.get(name)
            if value is not None:
                out[name] = _json(_jsonb_order(value))
        return out

    def rows(self, name: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Run the statement and return its rows as named tuples (JSON columns decoded)."""
        self._live()
        query = self.query(name)
        cursor = self.conn.execute(query.sql, self._params(query, params))
        if cursor.description is None:
            return []
        fetched = cursor.fetchall()
        if not fetched:
            return []
        make, positions = _shape(query, cursor.description)
        if not positions:
            return [make(values) for values in fetched]
        out = []
        for values in fetched:
            values = list(values)
            for i in positions:
                if isinstance(values[i], str):
                    values[i] = json.loads(values[i])
            out.append(make(values))
        return out

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> int:
        """Run the statement; the number of rows it changed."""
        self._live()
        query = self.query(name)
        cursor = self.conn.execute(query.sql, self._params(query, params))
        if cursor.description is not None:
            cursor.fetchall()
        return cursor.rowcount

    def run_many(self, name: str, params: list[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set."""
        self._live()
        query = self.query(name)
        self.conn.executemany(query.sql, [self._params(query, p) for p in params])


class AsyncpgTx(_Common):
    """PostgreSQL through asyncpg's own prepared statements, inside run_sync (no per-statement SQLAlchemy work).

    Transactional (the default): BEGIN goes out with the first statement and Database.transact commits.
    Per statement (`autocommit=True`, for the queue's hot path): every statement is its own transaction, so
    each write must be complete and consistent on its own (one statement with data-modifying CTEs); a
    function that needs several statements to stand or fall together calls `begin()` first, and from there
    on everything is one transaction that Database.transact commits. await_only bridges from this synchronous
    code to asyncpg.
    """

    dialect = "postgresql"

    def __init__(self, raw: Any, autocommit: bool = False) -> None:
        super().__init__()
        self.raw = raw
        self.autocommit = autocommit
        self.begun = False
        self.committed_writes = False  # a write already committed on its own (autocommit): no retrying from the top

    def begin(self) -> None:
        """Start the transaction now (from here on, every statement stands or falls together)."""
        if not self.begun:
            await_only(self.raw.execute("BEGIN"))
            self.begun = True

    @contextlib.contextmanager
    def isolated(self) -> Iterator[None]:
        """A block whose writes are undone if it raises, while what came before stands.

        Inside a transaction, a savepoint. Per statement with nothing begun, each write of the block already
        stands or falls alone (one statement), and a block that began a transaction is rolled back.
        """
        if self.begun or not self.autocommit:
            self.begin()
            with self._nested():
                yield
            return
        try:
            yield
        except BaseException:
            if self.begun:
                await_only(self.raw.execute("ROLLBACK"))
                self.begun = False
            raise

    def _savepoint(self, sql: str) -> None:
        await_only(self.raw.execute(sql))

    def wait(self, blocking: Callable[[], Any]) -> Any:
        """Run a blocking call in a worker thread while the event loop goes on, so that a cancellation (Ctrl+C, a
        request given up) is taken meanwhile; its result."""
        return await_only(asyncio.get_running_loop().run_in_executor(None, blocking))

    def _before(self) -> None:
        if not self.begun and not self.autocommit:
            self.begin()

    def _after(self, query: Query) -> None:
        if query.writes and not self.begun:
            self.committed_writes = True

    def _args(self, query: Query, params: Mapping[str, Any] | None) -> list[Any]:
        params = params or {}
        args = [_json(params[n]) if n in query.json_params and params[n] is not None else params[n]
                for n in query.order]
        if query.json_arrays:
            for i, n in enumerate(query.order):
                if n in query.json_arrays:
                    args[i] = [None if item is None else _json(item) for item in params[n]]
        return args

    def rows(self, name: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Run the statement and return its rows (asyncpg Records: attribute access through Row)."""
        query = self.query(name)
        self._before()
        records = await_only(self.raw.fetch(query.numbered, *self._args(query, params)))
        self._after(query)
        return [Row(dict(record)) for record in records]

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> int:
        """Run the statement; the number of rows it changed."""
        query = self.query(name)
        self._before()
        if query.returns_rows:
            changed = len(await_only(self.raw.fetch(query.numbered, *self._args(query, params))))
        else:
            status = await_only(self.raw.execute(query.numbered, *self._args(query, params)))
            tail = status.rsplit(" ", 1)[-1]
            changed = int(tail) if tail.isdigit() else 0
        self._after(query)
        return changed

    def run_many(self, name: str, params: list[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set."""
        if params:
            query = self.query(name)
            self._before()
            await_only(self.raw.executemany(query.numbered, [self._args(query, p) for p in params]))
            self._after(query)


# Every SQLite connection of the process, the writer thread's and the async engine's readers, gets these.
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_PRAGMAS = (f"busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}", "journal_mode = WAL", "synchronous = NORMAL",
                  "foreign_keys = ON", "temp_store = MEMORY")
# SQLite's own page cache, per connection, in KiB. Pages it does not hold come from the operating system's file
# cache for a system call each, so a big cache per connection buys little and costs memory that grows with the
# database (benchmarks/README.md, Soak: 64 MiB each took a server from 145 to 193 MB over ten minutes while the
# file grew). The writer runs every claim and submit and keeps 16 MiB, filled within the first minute of work;
# readers (sign-in, membership, pages of the console, exports, which read each page once) keep 2 MiB.
WRITER_CACHE_KIB = 16 * 1024
READER_CACHE_KIB = 2 * 1024


def sqlite_pragmas(cursor: Any, cache_kib: int = READER_CACHE_KIB) -> None:
    """Apply SQLITE_PRAGMAS and a page cache of cache_kib on a fresh DB-API connection (or its cursor)."""
    for pragma in (*SQLITE_PRAGMAS, f"cache_size = -{cache_kib}"):
        if pragma.startswith("journal_mode"):
            _journal_mode(cursor, pragma)
        else:
            cursor.execute(f"PRAGMA {pragma}")


def _journal_mode(cursor: Any, pragma: str) -> None:
    """Set the journal mode, waiting as the busy timeout would: SQLite answers "database is locked" at once, without
    its busy handler, when another process holds the file while it changes a new database's mode (two processes
    starting on one new file: one of them failed)."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute(f"PRAGMA {pragma}")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def open_sqlite(path: str) -> sqlite3.Connection:
    """A writer connection with the same pragmas as the async engine's (and the writer's cache); transactions are
    ours (autocommit mode)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                           timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    sqlite_pragmas(conn, WRITER_CACHE_KIB)
    return conn


async def read(conn: Any, name: str, params: Mapping[str, Any] | None = None) -> list[Any]:
    """Run a named read statement on a read connection (`Database.read()`); its rows."""
    from sqlalchemy import text  # only here: SQL text is run by name, never written at call sites

    query = load_queries(conn.dialect.name)[name]
    if query.writes:
        raise ValueError(f"{name} writes: run it in a transaction (Database.transact)")
    return list((await conn.execute(text(query.sql), dict(params or {}))).all())


def is_unique_violation(exc: BaseException) -> bool:
    """A UNIQUE constraint refused the write (sqlite3 or asyncpg, possibly wrapped by SQLAlchemy)."""
    for candidate in (exc, getattr(exc, "orig", None), exc.__cause__):
        if isinstance(candidate, sqlite3.IntegrityError) and "UNIQUE" in str(candidate):
            return True
        if getattr(candidate, "sqlstate", None) == "23505":
            return True
    return False
