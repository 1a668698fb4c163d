"""Tx: the small synchronous interface the hot path's domain functions run on, on both backends.

A `Query` is SQL with :named parameters plus which result columns and parameters are JSON. On SQLite a
`SqliteTx` runs it on a plain sqlite3 connection in the database's single writer thread (one thread hop
per transaction, not per statement); on PostgreSQL a `SaTx` runs it on SQLAlchemy's connection inside
`AsyncConnection.run_sync`, so the same function serves both.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from labeling.models import JSONType


@dataclass(frozen=True)
class Query:
    """A statement and its JSON columns (decoded on the way out) and JSON parameters (encoded on the way in)."""

    name: str
    sql: str
    json_columns: frozenset[str] = frozenset()
    json_params: frozenset[str] = frozenset()
    clause: Any = field(default=None, compare=False)

    @classmethod
    def make(cls, name: str, sql: str, json_columns: Iterable[str] = (), json_params: Iterable[str] = ()) -> "Query":
        """Build a Query and its SQLAlchemy clause (typed, so PostgreSQL's JSONB binds and decodes)."""
        clause = text(sql)
        json_params = frozenset(json_params)
        if json_params:
            clause = clause.bindparams(*[bindparam(p, type_=JSONType) for p in sorted(json_params)])
        json_columns = frozenset(json_columns)
        if json_columns:
            clause = clause.columns(**{c: JSONType for c in sorted(json_columns)})
        return cls(name, sql, json_columns, json_params, clause)


class Row:
    """A result row with attribute access (what SQLAlchemy rows offer, for sqlite3 rows too)."""

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

    def _params(self, query: Query, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        if not params or not query.json_params:
            return params or {}
        return {k: (json.dumps(v, ensure_ascii=False, separators=(",", ":")) if k in query.json_params and v is not None
                    else v) for k, v in params.items()}

    def rows(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run the statement and return its rows (JSON columns decoded)."""
        cursor = self.conn.execute(query.sql, self._params(query, params))
        if cursor.description is None:
            return []
        names = [d[0] for d in cursor.description]
        out = []
        for values in cursor.fetchall():
            data = dict(zip(names, values))
            for column in query.json_columns:
                raw = data.get(column)
                if isinstance(raw, str):
                    data[column] = json.loads(raw)
            out.append(Row(data))
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


class SaTx(_Common):
    """A transaction on a SQLAlchemy (sync-facade) connection: PostgreSQL, inside run_sync."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def rows(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Run the statement and return its rows."""
        result = self.conn.execute(query.clause, dict(params or {}))
        return list(result.all()) if result.returns_rows else []

    def run(self, query: Query, params: Mapping[str, Any] | None = None) -> int:
        """Run the statement; the number of rows it changed."""
        result = self.conn.execute(query.clause, dict(params or {}))
        if result.returns_rows:
            result.all()
        return result.rowcount

    def run_many(self, query: Query, params: list[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set (executemany)."""
        if params:
            self.conn.execute(query.clause, [dict(p) for p in params])


def open_sqlite(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    """A writer connection with the same pragmas as the async engine's; transactions are ours (autocommit mode)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000)
    for pragma in (f"busy_timeout = {busy_timeout_ms}", "journal_mode = WAL", "synchronous = NORMAL",
                   "foreign_keys = ON", "cache_size = -65536", "temp_store = MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    return conn
