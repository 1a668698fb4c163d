"""Engines and transactions: the only place engines are made.

Every write goes through `Database.transact(fn)`: a synchronous domain function over a `sqltx.Tx`, run as one
transaction (one per request or command, opened at the edge). On SQLite it runs in the one writer thread of
labeling/sqlite_writer.py (`BEGIN IMMEDIATE` and a busy timeout across processes, so no request ever sees
"database is locked"); on PostgreSQL on a pooled asyncpg connection, retried on deadlock or serialization
failure, or (the queue's hot path) as statements that each commit on their own (`per_statement=True`).
The function is synchronous, so it cannot open another transaction inside itself. Reads may also use
`Database.read()` (SQLAlchemy Core on a snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any, AsyncIterator, Callable, Mapping, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from labeling import sqltx
from labeling.errors import InvalidInput
from labeling.sqlite_writer import SqliteWriter

T = TypeVar("T")

_RETRYABLE_PG_CODES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def async_url(url: str) -> str:
    """Turn a plain sqlite:// or postgresql:// URL into one naming an async driver."""
    try:
        parsed = make_url(url)
    except ValueError as exc:  # a port that is no number: said without the URL, which may hold a password
        why = "its port must be a whole number" if "int()" in str(exc) else str(exc).splitlines()[0]
        raise InvalidInput(f"LABELING_DATABASE_URL is not a database URL ({why}): use sqlite:///path or "
                           "postgresql://user@host:5432/db", field="LABELING_DATABASE_URL") from None
    except Exception:
        raise InvalidInput(f"not a database URL: {url!r}", field="LABELING_DATABASE_URL") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database:  # `sqlite://` (SQLAlchemy's in-memory database, gone with each connection)
            raise InvalidInput(f"{url!r} names no database file: use sqlite:///path/to/labeling.db",
                               field="LABELING_DATABASE_URL")
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg", query=_asyncpg_query(parsed.query))
    else:
        raise InvalidInput(
            f"unsupported database {backend!r}: use sqlite:///path or postgresql://user@host/db",
            field="LABELING_DATABASE_URL",
        )
    return parsed.render_as_string(hide_password=False)


# libpq's names for SSL modes, which asyncpg's `ssl` takes too; the URL parameters asyncpg takes as they are.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_ASYNCPG_PARAMS = ("ssl", "host", "port", "passfile", "target_session_attrs")


def _asyncpg_query(query: Mapping[str, Any]) -> dict[str, Any]:
    """A PostgreSQL URL's parameters as asyncpg takes them: libpq's `sslmode` (the usual `?sslmode=require`) is
    asyncpg's `ssl`; anything else asyncpg would refuse only at the first connection, a TypeError, is named now."""
    out: dict[str, Any] = {}
    for name, value in query.items():
        key = "ssl" if name == "sslmode" else name
        if key not in _ASYNCPG_PARAMS:
            raise InvalidInput(f"the database URL's parameter {name[:100]!r} is not supported; use "
                               f"{', '.join(('sslmode', *_ASYNCPG_PARAMS))}", field="LABELING_DATABASE_URL")
        if key in out or (isinstance(value, tuple) and key not in ("host", "port")):  # host, port: several hosts
            raise InvalidInput(f"the database URL gives {key} more than once", field="LABELING_DATABASE_URL")
        if key == "ssl" and value not in SSL_MODES:
            raise InvalidInput(f"{name}={value[:100]!r} is not an SSL mode; use one of {', '.join(SSL_MODES)}",
                               field="LABELING_DATABASE_URL")
        out[key] = value
    return out


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    """Pragmas on connect; our own BEGIN so transactions really are transactions."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (pysqlite's is broken)
        cursor = dbapi_connection.cursor()
        sqltx.sqlite_pragmas(cursor)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _create_private(path: str | None) -> None:
    """Create a new SQLite database file readable by its owner alone (SQLite gives its -wal and -shm files the
    database file's mode): it holds password hashes, token hashes and every answer, and was made 0644 by the umask,
    readable by every other account of the machine, beside a 0600 secret key and 0600 uploads. An existing file keeps
    the mode its owner gave it."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:  # it exists, or its folder does not: SQLite says what is wrong when it opens it
        pass


class Database:
    """One engine plus the transaction helpers every request and command uses."""

    def __init__(self, url: str, *, pool_size: int = 8, echo: bool = False) -> None:
        self.url = async_url(url)
        parts = make_url(self.url)
        self.dialect = parts.get_backend_name()
        if self.dialect == "sqlite":
            if not parts.query:  # a URI's mode (read-only, say) is SQLite's to apply
                _create_private(parts.database)
            self.engine = create_async_engine(
                self.url, echo=echo, pool_size=pool_size, max_overflow=0,
                connect_args={"timeout": sqltx.SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            )
            _install_sqlite_hooks(self.engine)
        else:
            # A fixed pool: "overflow" connections, opened past the pool size and closed again when returned,
            # cost PostgreSQL a new backend process each (measured: 27 a second at 64 busy workers, and most
            # of a core); waiting a moment for a pooled connection costs nothing.
            self.engine = create_async_engine(
                self.url, echo=echo, pool_size=pool_size, max_overflow=0, pool_pre_ping=False,
            )
        self._writer = SqliteWriter(parts.database or ":memory:") if self.dialect == "sqlite" else None

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite backend."""
        return self.dialect == "sqlite"

    @contextlib.asynccontextmanager
    async def read(self, *, snapshot: bool = False) -> AsyncIterator[AsyncConnection]:
        """A read transaction. `snapshot=True`: every statement sees the same moment (SQLite's read transactions
        do anyway; PostgreSQL's need REPEATABLE READ), for reads of many statements such as an export."""
        async with self.engine.connect() as conn:
            if snapshot and not self.is_sqlite:
                await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            async with conn.begin():
                yield conn

    async def transact(self, fn: Callable[[sqltx.Tx], T], retries: int = 5, *, per_statement: bool = False) -> T:
        """Run a synchronous domain function in one write transaction and return its result.

        SQLite: in the single writer thread (labeling/sqlite_writer.py: group commit, a savepoint per call);
        the function may open nested savepoints with `tx.isolated()`.
        PostgreSQL: on a pooled connection through run_sync, retried on deadlock or serialization failure.
        `per_statement=True` (PostgreSQL only; SQLite's job stays one transaction): every statement commits on
        its own until the function calls `tx.begin()` (see sqltx.AsyncpgTx), which saves the BEGIN and COMMIT
        round trips of the queue's hot path; a retry never repeats a write that already committed.
        """
        if self._writer is not None:
            return await self._writer.submit_async(fn)
        for attempt in range(retries + 1):
            tx = None
            try:
                async with self.engine.connect() as conn:
                    # SQLAlchemy only lends the pooled connection (it never begins a transaction on it);
                    # the Tx sends BEGIN when it needs one and this commits what it began.
                    raw = (await conn.get_raw_connection()).driver_connection
                    tx = sqltx.AsyncpgTx(raw, autocommit=per_statement)
                    try:
                        result = await conn.run_sync(lambda _: fn(tx))
                        if tx.begun:
                            await raw.execute("COMMIT")
                            tx.begun = False
                    except BaseException as exc:
                        await _abandon(conn, raw, tx, exc)
                        raise
                    return result
            except Exception as exc:
                if attempt == retries or not _retryable(exc) or (tx is not None and tx.committed_writes):
                    raise
                await asyncio.sleep(0.002 * (2**attempt))
        raise AssertionError("unreachable")

    async def dispose(self) -> None:
        """Close every pooled connection and the writer thread."""
        if self._writer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._writer.close)
        await self.engine.dispose()


async def _abandon(conn: AsyncConnection, raw: Any, tx: sqltx.AsyncpgTx, exc: BaseException) -> None:
    """Roll back what the Tx began. A connection cut off mid-exchange (cancelled) or that cannot even roll back
    is dropped rather than pooled: the next request must never find it inside a transaction."""
    if isinstance(exc, asyncio.CancelledError):
        await conn.invalidate()
        return
    if not tx.begun and not raw.is_in_transaction():
        return
    try:
        await raw.execute("ROLLBACK")
    except BaseException:
        await conn.invalidate()


def _retryable(exc: BaseException) -> bool:
    """A PostgreSQL deadlock or serialization failure, raised by asyncpg directly or wrapped by SQLAlchemy."""
    for candidate in (exc, getattr(exc, "orig", None), getattr(getattr(exc, "orig", None), "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code is not None:
            return code in _RETRYABLE_PG_CODES
    return False
