"""SQLAlchemy Core selects run on the database driver's own connection: the statement is compiled once, each run
sends it with its parameters and gets the driver's rows back (sqlite3 tuples, asyncpg records) without
SQLAlchemy's result rows and type processing, which cost an export more than the database did. The statements
run in the caller's transaction (the export's snapshot)."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncConnection


class Statement:
    """One compiled select and the order of its parameters (a parameter the caller does not give keeps the
    value the statement was built with, through SQLAlchemy's bind processors, e.g. a JSON path)."""

    def __init__(self, conn: AsyncConnection, query: Any) -> None:
        compiled = query.compile(dialect=conn.dialect)
        self.sql = str(compiled)
        self.names: Sequence[str] = tuple(compiled.positiontup or ())
        processors = compiled._bind_processors  # noqa: SLF001 (SQLAlchemy's own per-parameter conversion)
        self.processors = dict(processors)
        defaults = compiled.construct_params(_check=False)  # the parameters given at each run are None here
        self.fixed = {name: self._process(name, value) for name, value in defaults.items()}

    def _process(self, name: str, value: Any) -> Any:
        processor = self.processors.get(name)
        return value if processor is None or value is None else processor(value)

    def values(self, params: dict[str, Any]) -> list[Any]:
        """The statement's positional parameters for one run."""
        fixed, process = self.fixed, self._process
        return [process(name, params[name]) if name in params else fixed[name] for name in self.names]


class Reader:
    """Runs Statements on the driver connection under an AsyncConnection (opened on first use, after a
    statement through SQLAlchemy so that the transaction, PostgreSQL's REPEATABLE READ snapshot, has begun)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self._driver: Any = None

    def prepare(self, query: Any) -> Statement:
        """Compile a select once, for many runs."""
        return Statement(self.conn, query)

    async def all(self, statement: Statement, params: dict[str, Any] | None = None) -> list[Any]:
        """Every row of one run, as the driver gives them (indexable like tuples)."""
        if self._driver is None:
            await self.conn.execute(select(literal(1)))
            self._driver = (await self.conn.get_raw_connection()).driver_connection
        values = statement.values(params or {})
        if self.sqlite:
            return list(await self._driver.execute_fetchall(statement.sql, values))
        return await self._driver.fetch(statement.sql, *values)


# Pages of rows whose length varies (an export's tasks, a dump's rows): the first holds FIRST_PAGE rows, each next
# one the last one's count scaled to PAGE_CHARS characters of their text, growing at most GROWTH-fold a page. Tasks
# of a million characters do not make pages of gigabytes (600 such tasks were one page: 2.9 GB peak, now 0.3 GB),
# and short rows still come a full page at a time after the first pages.
PAGE_CHARS = 16 << 20
FIRST_PAGE = 16
GROWTH = 8


def scaled_limit(limit: int, chars: int, most: int) -> int:
    """The next page's number of rows: this page's `limit` scaled to PAGE_CHARS characters of its text (`chars`), at
    least 1, at most `most` and GROWTH times this page's."""
    return max(1, min(most, limit * GROWTH, limit * PAGE_CHARS // max(chars, 1)))
