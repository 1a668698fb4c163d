"""The one write path: named SQL in labeling/sql/, one owner of bookkeeping, savepoints that undo only their block."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labeling import models, sqltx
from tests.conftest import backend_name

PACKAGE = Path(__file__).resolve().parent.parent / "labeling"
# What the queue keeps consistent: tables only it writes, and the columns of `tasks` only it writes.
OWNED_TABLES = ("assignments", "project_counters", "project_workers", "task_results", "annotations")
OWNED_TASK_COLUMNS = ("state", "needed", "n_done", "n_leased")
# Modules that may hold SQL or talk to the database driver directly: the Tx itself, the engine, migrations.
DRIVER_MODULES = {"sqltx.py", "db.py", "migrate.py", "sqlite_writer.py"}


def _writes(sql: str) -> tuple[set[str], set[str]]:
    """(tables a statement inserts into, updates or deletes from; columns of `tasks` it sets)."""
    tables = {m.lower() for m in re.findall(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", sql, re.I)}
    task_columns: set[str] = set()
    for match in re.finditer(r"\bUPDATE\s+tasks\b(?:\s+\w+)?\s+SET\s+(.*?)(?:\bFROM\b|\bWHERE\b|\bRETURNING\b|$)",
                             sql, re.I | re.S):
        task_columns |= {c.split(".")[-1].lower() for c in re.findall(r"([\w.]+)\s*=", match.group(1))}
    if re.search(r"\bINSERT\s+INTO\s+tasks\b", sql, re.I):
        task_columns |= set(OWNED_TASK_COLUMNS)
    return tables, task_columns


@pytest.mark.parametrize("dialect", sqltx.DIALECTS)
def test_only_queue_statements_write_bookkeeping(dialect):
    for name, query in sqltx.load_queries(dialect).items():
        tables, task_columns = _writes(query.sql)
        owned = (tables & set(OWNED_TABLES)) | (task_columns & set(OWNED_TASK_COLUMNS))
        if owned:
            assert name.startswith("queue."), f"{dialect} statement {name} writes {sorted(owned)}: only queue.* may"


def _python_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_resources" not in p.parts)


TX_METHODS = {"run", "one", "rows", "scalar", "run_many"}


def _statement_names(path: Path) -> list[str]:
    """The statement names a module runs: the first argument of every tx.run/one/rows/scalar/run_many call (the
    Tx is called `tx` everywhere; for an f-string, its literal start)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TX_METHODS \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "tx" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.append(first.value)
            elif isinstance(first, ast.JoinedStr) and first.values and isinstance(first.values[0], ast.Constant):
                names.append(str(first.values[0].value) + "*")
    return names


def test_only_the_queue_runs_queue_statements():
    runs = {path: _statement_names(path) for path in _python_modules()}
    assert any(runs.values()), "the scan found no statements at all"
    for path, names in runs.items():
        if path == PACKAGE / "queue.py":
            continue
        for name in names:
            assert not name.startswith("queue."), f"{path.relative_to(PACKAGE)} runs {name}: only labeling/queue.py may"


def test_no_module_writes_around_the_tx():
    """SQL lives in labeling/sql/ and writes go through a Tx: no SQLAlchemy insert/update/delete, no SQL text."""
    for path in _python_modules():
        if path.name in DRIVER_MODULES and path.parent == PACKAGE:
            continue
        source = path.read_text()
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sqlalchemy"):
                # models.py declares partial indexes with text(); nothing else needs SQL text
                banned = {a.name for a in node.names} & {"insert", "update", "delete", "text"} - (
                    {"text"} if path.name == "models.py" else set())
                assert not banned, f"{path.relative_to(PACKAGE)} imports {sorted(banned)} from {node.module}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not re.search(r"\b(INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", node.value), \
                    f"{path.relative_to(PACKAGE)} holds SQL: {node.value[:60]!r}"
        assert "exec_driver_sql" not in source or path.name == "meta.py", path  # the health check's SELECT 1


def test_every_statement_run_by_name_exists():
    names = set(sqltx.load_queries("sqlite")) | set(sqltx.load_queries("postgresql"))
    for path in _python_modules():
        for name in _statement_names(path):
            if name.endswith("*"):
                assert any(n.startswith(name[:-1]) for n in names), f"{path.relative_to(PACKAGE)} runs {name}"
            else:
                assert name in names, f"{path.relative_to(PACKAGE)} runs {name}, which is not defined"


def test_statements_common_to_both_dialects_are_defined_for_both():
    sqlite, postgresql = sqltx.load_queries("sqlite"), sqltx.load_queries("postgresql")
    shared = sqltx.parse_sql_file((sqltx.SQL_DIR / "queries.sql").read_text(), "queries.sql")
    assert set(shared) <= set(sqlite) and set(shared) <= set(postgresql)


def test_status_values_must_name_their_enum_member():
    ok = "-- name: x.ok\nUPDATE assignments SET status = 1 /*submitted*/ WHERE status = 0 /*leased*/\n"
    assert "x.ok" in sqltx.parse_sql_file(ok, "test")
    for bad, words in (("UPDATE assignments SET status = 1 WHERE id = :id", "without its name"),
                       ("UPDATE assignments SET status = 1 /*skipped*/", "skipped is 2"),
                       ("SELECT 1 FROM tasks WHERE state IN (0 /*open*/, 1)", "without its name"),
                       ("SELECT 1 FROM tasks WHERE state = 0 /*nonsense*/", "not a status")):
        with pytest.raises(ValueError, match=words):
            sqltx.parse_sql_file(f"-- name: x.bad\n{bad}\n", "test")


def test_a_statement_is_named_once():
    with pytest.raises(ValueError, match="defined twice"):
        sqltx.parse_sql_file("-- name: a.b\nSELECT 1\n-- name: a.b\nSELECT 2\n", "test")


async def _count(db, table) -> int:
    async with db.read() as conn:
        return await conn.scalar(select(func.count()).select_from(table))


@pytest.mark.parametrize("per_statement", [False, True])
async def test_an_isolated_block_undoes_only_its_own_writes(db, make_user, per_statement):
    if per_statement and backend_name() == "sqlite":
        pytest.skip("per statement is PostgreSQL's mode")
    from labeling import auth

    def work(tx) -> None:
        tx.begin()
        auth.create_user(tx, "kept", "worker")
        with pytest.raises(RuntimeError):
            with tx.isolated():
                auth.create_user(tx, "undone", "worker")
                raise RuntimeError("this block fails")
        with tx.isolated():
            auth.create_user(tx, "also-kept", "worker")

    await db.transact(work, per_statement=per_statement)
    async with db.read() as conn:
        names = {r[0] for r in (await conn.execute(select(models.users.c.username))).all()}
    assert names == {"kept", "also-kept"}


async def test_a_failing_transaction_stores_nothing(db):
    from labeling import auth

    def work(tx) -> None:
        auth.create_user(tx, "first", "worker")
        raise RuntimeError("and then it fails")

    with pytest.raises(RuntimeError):
        await db.transact(work)
    assert await _count(db, models.users) == 0


async def test_concurrent_transactions_each_get_their_own_answer(db):
    """Many transactions in flight at once (SQLite: answered a batch at a time): each caller gets its own result or
    its own error, a failing one undoes only itself, and a caller that gave up (cancelled) breaks nothing."""
    import asyncio

    from labeling import auth

    def make(name: str, fail: bool):
        def work(tx) -> str:
            auth.create_user(tx, name, "worker")
            if fail:
                raise ValueError(name)
            return name
        return work

    async def one(i: int) -> str:
        return await db.transact(make(f"u{i}", fail=i % 5 == 0))

    gone = asyncio.ensure_future(db.transact(make("cancelled", fail=False)))
    await asyncio.sleep(0)  # its transaction is queued; its caller gives up before the answer comes
    gone.cancel()
    outcomes = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(40)), return_exceptions=True), 60)
    for i, outcome in enumerate(outcomes):
        if i % 5 == 0:
            assert isinstance(outcome, ValueError) and str(outcome) == f"u{i}"
        else:
            assert outcome == f"u{i}"
    assert await asyncio.wait_for(db.transact(make("after", fail=False)), 60) == "after"
    async with db.read() as conn:
        names = {r[0] for r in (await conn.execute(select(models.users.c.username))).all()}
    assert names - {"cancelled"} == {f"u{i}" for i in range(40) if i % 5} | {"after"}
