"""Tx: the small synchronous interface the hot path's domain functions run on, on both backends.

A `Query` is SQL with :named parameters plus which result columns and parameters are JSON. On SQLite a
`SqliteTx` runs it on a plain sqlite3 connection in the database's single writer thread (one thread hop
per transaction, not per statement); on PostgreSQL an `AsyncpgTx` runs it as an asyncpg prepared statement
inside `AsyncConnection.run_sync`, so the same synchronous domain function serves both.
"""

from __future__ import annotations

import collections
import functools
import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol

from sqlalchemy.util import await_only

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")



@dataclass(frozen=True)
class Query:
    """A statement and its JSON columns (decoded on the way out) and JSON parameters (encoded on the way in)."""

    name: str
    sql: str
    json_columns: frozenset[str] = frozenset()
    json_params: frozenset[str] = frozenset()
    numbered: str = ""  # the SQL with $1, $2... for asyncpg
    order: tuple[str, ...] = ()  # parameter names in $n order
    writes: bool = False  # the statement changes rows (or locks them)
    returns_rows: bool = False  # it has a RETURNING clause or is a query

    @classmethod
    def make(cls, name: str, sql: str, json_columns: Iterable[str] = (), json_params: Iterable[str] = ()) -> "Query":
        """Build a Query, numbering its :named parameters for asyncpg."""
        order: list[str] = []

        def number(match: re.Match) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        numbered = _NAMED.sub(number, sql)
        writes = re.search(r"\b(INSERT|UPDATE|DELETE)\b", sql, re.IGNORECASE) is not None
        returns_rows = re.search(r"\bRETURNING\b", sql, re.IGNORECASE) is not None or not writes
        return cls(name, sql, frozenset(json_columns), frozenset(json_params), numbered, tuple(order), writes,
                   returns_rows)


@functools.lru_cache(maxsize=512)
def _row_class(name: str, columns: tuple[str, ...]) -> type:
    """A named-tuple class per statement shape: attribute access, built in C."""
    return collections.namedtuple("Row_" + re.sub(r"\W", "_", name), columns, rename=True)


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
    """One open transaction."""

    dialect: str

    def rows(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Any]: ...
    def run(self, query: Query, params: Mapping[str, Any] | None = None) -> int: ...
    def run_many(self, query: Query, params: list[Mapping[str, Any]]) -> None: ...

    def one(self, query: Query, params: Mapping[str, Any] | None = None) -> Any: ...
    def scalar(self, query: Query, params: Mapping[str, Any] | None = None) -> Any: ...
    committed_writes: bool  # a write already committed on its own (PostgreSQL per statement)

    def begin(self) -> None: ...
    def rollback(self) -> None: ...


class _Common:
    def one(self, query: Query, params: Mapping[str, Any] | None = None) -> Any:
        """The first row or None."""
        rows = self.rows(query, params)  # type: ignore[attr-defined]
        return rows[0] if rows else None

    def scalar(self, query: Query, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        rows = self.rows(query, params)  # type: ignore[attr-defined]
        if not rows:
            return None
        row = rows[0]
        return next(iter(row._data.values())) if isinstance(row, Row) else row[0]


class SqliteTx(_Common):
    """A transaction on a plain sqlite3 connection (the writer thread's)."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    committed_writes = False  # every job of the single writer is one transaction (a savepoint)

    def begin(self) -> None:
        """Nothing to do: every job of the single writer is already one transaction (a savepoint)."""

    def rollback(self) -> None:
        """Not offered: a job stands or falls as a whole (raise instead)."""
        raise RuntimeError("a SQLite job is rolled back by raising")

    def _params(self, query: Query, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        if not params or not query.json_params:
            return params or {}
        return {k: (json.dumps(v, ensure_ascii=False, separators=(",", ":")) if k in query.json_params and v is not None
                    else v) for k, v in params.items()}

    def rows(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Run the statement and return its rows as named tuples (JSON columns decoded)."""
        cursor = self.conn.execute(query.sql, self._params(query, params))
        if cursor.description is None:
            return []
        fetched = cursor.fetchall()
        if not fetched:
            return []
        make = _row_class(query.name, tuple(d[0] for d in cursor.description))._make
        if not query.json_columns:
            return [make(values) for values in fetched]
        positions = [i for i, d in enumerate(cursor.description) if d[0] in query.json_columns]
        out = []
        for values in fetched:
            values = list(values)
            for i in positions:
                if isinstance(values[i], str):
                    values[i] = json.loads(values[i])
            out.append(make(values))
        return out

    def run(self, query: Query, params: Mapping[str, Any] | None = None) -> int:
        """Run the statement; the number of rows it changed."""
        cursor = self.conn.execute(query.sql, self._params(query, params))
        if cursor.description is not None:
            cursor.fetchall()
        return cursor.rowcount

    def run_many(self, query: Query, params: list[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set."""
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
        self.raw = raw
        self.autocommit = autocommit
        self.begun = False
        self.committed_writes = False  # a write already committed on its own (autocommit): no retrying from the top

    def begin(self) -> None:
        """Start the transaction now (from here on, every statement stands or falls together)."""
        if not self.begun:
            await_only(self.raw.execute("BEGIN"))
            self.begun = True

    def rollback(self) -> None:
        """Roll back what `begin()` started; statements that committed on their own stay."""
        if self.begun:
            await_only(self.raw.execute("ROLLBACK"))
            self.begun = False

    def _before(self) -> None:
        if not self.begun and not self.autocommit:
            self.begin()

    def _after(self, query: Query) -> None:
        if query.writes and not self.begun:
            self.committed_writes = True

    def _args(self, query: Query, params: Mapping[str, Any] | None) -> list[Any]:
        params = params or {}
        return [json.dumps(params[n], ensure_ascii=False, separators=(",", ":"))
                if n in query.json_params and params[n] is not None else params[n] for n in query.order]

    def rows(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Run the statement and return its rows (asyncpg Records: attribute access through Row)."""
        self._before()
        records = await_only(self.raw.fetch(query.numbered, *self._args(query, params)))
        self._after(query)
        return [Row(dict(record)) for record in records]

    def run(self, query: Query, params: Mapping[str, Any] | None = None) -> int:
        """Run the statement; the number of rows it changed."""
        self._before()
        if query.returns_rows:
            changed = len(await_only(self.raw.fetch(query.numbered, *self._args(query, params))))
        else:
            status = await_only(self.raw.execute(query.numbered, *self._args(query, params)))
            tail = status.rsplit(" ", 1)[-1]
            changed = int(tail) if tail.isdigit() else 0
        self._after(query)
        return changed

    def run_many(self, query: Query, params: list[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set."""
        if params:
            self._before()
            await_only(self.raw.executemany(query.numbered, [self._args(query, p) for p in params]))
            self._after(query)


def open_sqlite(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    """A writer connection with the same pragmas as the async engine's; transactions are ours (autocommit mode)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000)
    for pragma in (f"busy_timeout = {busy_timeout_ms}", "journal_mode = WAL", "synchronous = NORMAL",
                   "foreign_keys = ON", "cache_size = -65536", "temp_store = MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    return conn
