"""Lossless dumps of one project or the whole instance, and their restore into another database.

A dump is JSON Lines: a header line, then one line per row, `{"table": NAME, "row": {...}}`, tables in the
order their foreign keys need (users, projects, project counters, tasks, assignments, annotations, workers'
standing, results, requesters' reviews), then an end line with the number of rows of each table (version 2), so
a file cut short anywhere is refused, not restored in part (version 1 dumps, without it, still restore). Users
come without password or token hashes (a dump carries no secrets); progress counters as one total per project.
Keys are sorted and nothing depends on the time of the dump, so dumping a restored database gives the same bytes
(SQLite to PostgreSQL and back). `restore` writes it all in one transaction (all or nothing), bookkeeping rows
through labeling/queue.py.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import orjson
from sqlalchemy import (JSON, BigInteger, Float, Integer, String, Table, Text, TypeDecorator, and_, cast, func, or_,
                        select, tuple_)
from sqlalchemy import true as sqltrue
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import auth, backup, jsonio, migrate, models, queue, schemas, tasktypes
from labeling.db import Database
from labeling.errors import Conflict, InvalidInput
from labeling.export import raw
from labeling.sqltx import Tx, is_unique_violation
from labeling.tasks import PRIORITY_LIMIT

KIND = "labeling-dump"
VERSION = 2
READABLE = (1, 2)  # version 1: no end line
PAGE_SIZE = 5000  # rows a page holds at most: fewer where their JSON is long (raw.scaled_limit)
BATCH = 2000
USER_COLUMNS = ("id", "username", "role", "is_active", "created_at")
# Tables in restore order, with their keyset columns (users, projects and project counters come first, each its
# own way).
BEFORE_PROJECTS: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (models.teams, ("id",)), (models.team_members, ("team_id", "worker_id")))
TABLES: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (models.pool_workers, ("project_id", "worker_id")), (models.pool_teams, ("project_id", "team_id")),
    (models.project_media, ("project_id", "path_hash")), (models.media, ("path",)),
    (models.tasks, ("id",)), (models.assignments, ("id",)), (models.annotations, ("id",)),
    (models.task_reports, ("id",)), (models.project_workers, ("project_id", "worker_id")),
    (models.task_results, ("task_id",)), (models.reviews, ("id",)), (models.audit_log, ("id",)))
ORDER = ("users", *(t.name for t, _ in BEFORE_PROJECTS), "projects", "project_counters", *(t.name for t, _ in TABLES))
# What a dump leaves out, and why (tests/export/test_dump_coverage.py fails on a table or column that is neither
# dumped nor listed here).
EXCLUDED_TABLES = {
    "task_deletions": "which tasks were deleted and when, for this instance's incremental pulls (--format deletions): "
                      "a dump holds what exists, and pulls from a restored instance begin with a whole export",
    "sessions": "signed-in browsers: secrets (token hashes), and a restored instance signs everyone in again",
    "auth_epoch": "this instance's revocation counter for its processes' caches, not data",
    "change_clock": "this instance's change numbers for incremental pulls (SQLite), not data",
    "media_uploaders": "who uploaded which file, so it is theirs to name in new tasks: a dump holds no media files; "
                       "the restored tasks' files are named by their projects (project_media), an upload again by "
                       "uploading it again",
}
EXCLUDED_COLUMNS = {
    "users": {"password_hash": "a secret: an admin sets a restored account's password",
              "token_hash": "a secret: a restored account gets a new random token"},
    "project_counters": {"shard": "counters are dumped as one total per project (restored into the first shard)"},
    "tasks": {"changed_at": "when the task's export row last changed, for this instance's incremental pulls: a "
                            "restored task is new there (its restore's time), and pulls begin with a whole export",
              "change_id": "this instance's change number (a transaction id), meaningless in another database"},
}
# Audit entries a dump leaves out: its own kind (an export is audited when it is asked for, so a dump that held
# them would change with every dump, and an HTTP dump would differ from the same dump on the command line).
EXCLUDED_AUDIT_ACTIONS = ("project.export",)
# Columns added after the first dumps, with the value a dump without them restores (so older dumps still load).
LATER_COLUMNS = {
    "projects": {"label_styles": {}, "edit_window": "until_final", "edit_minutes": None, "status": 0,
                 "pool_all": True, "answer_correlation": None},
    "assignments": {"skip_reason": None, "skip_note": None},
    "annotations": {"meta": None, "edited_at": None},
    "tasks": {"source_key": None},
}
# Restore statements of the tables restored as they are (the queue's bookkeeping through labeling/queue.py).
INSERTS = {"project_pool_workers": "restore.insert_pool_worker", "project_pool_teams": "restore.insert_pool_team",
           "project_media": "restore.insert_project_media", "media": "restore.insert_media",
           "task_reports": "restore.insert_task_report", "reviews": "restore.insert_review"}


def _line(table: str, row: dict) -> bytes:
    return b'{"table":"' + table.encode() + b'","row":' + orjson.dumps(row, option=orjson.OPT_SORT_KEYS) + b"}\n"


def _json_columns(table: Table) -> list[str]:
    return [c.name for c in table.c if isinstance(c.type, JSON)]


# The JSON columns that hold an array; every other one holds an object (a task's data, an answer, details...):
# a dump that put a string there restored, and then every export and recompute of its project failed.
JSON_ARRAYS = {("projects", "labels")}
KIND_WORDS = {dict: "a JSON object", list: "a JSON array", int: "a whole number", float: "a number", str: "a string",
              bool: "true or false"}


def _stored(column: Any) -> Any:
    """The type a column stores: SQLModel's text columns are AutoString, a TypeDecorator whose python_type is
    `object` (any value passed, and SQLite stored the number -1 as a skip reason PostgreSQL refused) and which is no
    String (a length limit went unchecked): its String."""
    return column.type.impl if isinstance(column.type, TypeDecorator) else column.type


def _value_types(table: Table, leave_out: Any = ()) -> dict[str, tuple[type, ...]]:
    """Each dumped column's Python types, None among them where the column is nullable."""
    out: dict[str, tuple[type, ...]] = {}
    for column in table.c:
        if column.name in leave_out:
            continue
        if isinstance(column.type, JSON):
            kinds: tuple[type, ...] = (list,) if (table.name, column.name) in JSON_ARRAYS else (dict,)
        else:
            kind = _stored(column).python_type
            kinds = (int, float) if kind is float else (kind,)
        out[column.name] = kinds + ((type(None),) if column.nullable else ())
    return out


# Columns whose values the API keeps narrower than the column's type: a restore takes what an import would.
NARROWER = {("tasks", "priority"): (-PRIORITY_LIMIT, PRIORITY_LIMIT)}
# Ids: the column holds 64 bits, but a browser reads a number past 2**53 - 1 rounded (the labeling page then submitted
# another assignment's id), and a row restored at 2**63 - 1 left no id for the next one (every insert was a 500).
ID_BOUNDS = (1, 2**53 - 1)


def _value_bounds(table: Table) -> dict[str, tuple[int, int] | int]:
    """Each integer column's range and each string column's length limit, as PostgreSQL enforces them (SQLite
    stores a longer string, and a larger number up to 64 bits, where PostgreSQL refuses the row)."""
    out: dict[str, tuple[int, int] | int] = {}
    for column in table.c:
        if (table.name, column.name) in NARROWER:
            out[column.name] = NARROWER[table.name, column.name]
        elif isinstance(_stored(column), Integer) and (column.name == "id" or column.name.endswith("_id")):
            out[column.name] = ID_BOUNDS
        elif isinstance(_stored(column), Integer):
            bits = 63 if isinstance(_stored(column), BigInteger) else 31
            out[column.name] = (-(2 ** bits), 2 ** bits - 1)
        elif isinstance(_stored(column), String) and _stored(column).length:
            out[column.name] = _stored(column).length
    return out


# What a dumped row of each table may hold: SQLite would store "high" in an integer column, PostgreSQL refuses it.
DUMPED = (models.users, *(t for t, _ in BEFORE_PROJECTS), models.projects, models.project_counters,
          *(t for t, _ in TABLES))
VALUE_TYPES = {t.name: _value_types(t, EXCLUDED_COLUMNS.get(t.name, ())) for t in DUMPED}
VALUE_BOUNDS = {t.name: _value_bounds(t) for t in DUMPED}


# Times (Unix seconds) every page shows as a date: one past year 9999 restored, and each of them was a 500.
MAX_TIME = 32503680000.0  # 3000-01-01
TIME_COLUMNS = {t.name: {c.name for c in t.c if isinstance(_stored(c), Float)
                         and (c.name == "at" or c.name.endswith("_at"))} for t in DUMPED}
# Columns holding one of a few values, each read back as an enum (an account of role 'god' could not sign in: a 500).
ONE_OF: dict[str, dict[str, tuple[Any, ...]]] = {
    "users": {"role": tuple(role.value for role in models.Role)},
    "projects": {"status": tuple(status.value for status in models.ProjectStatus),
                 "edit_window": ("until_final", "off", "minutes")}}


def _check_row(number: int, table: str, row: dict, raw: bytes) -> None:
    """Refuse a row with a column its table lacks, one without a column of its table (but those LATER_COLUMNS
    fill), a value of the wrong type, or a string no database stores."""
    types = VALUE_TYPES[table]
    if len(row) < len(types):  # else each database's own words for the missing value, or none at all
        missing = sorted(types.keys() - row.keys() - LATER_COLUMNS.get(table, {}).keys())
        if missing:
            raise InvalidInput(f"line {number}: the {table} row has no {missing[0]!r}", field="FILE", line=number)
    for name, value in row.items():
        if name not in types:
            raise InvalidInput(f"line {number}: {table} has no column {name!r}", field="FILE", line=number)
        kinds = types[name]
        bound = VALUE_BOUNDS[table].get(name)
        if (isinstance(bound, tuple) and isinstance(value, (int, float)) and not bound[0] <= value <= bound[1]
                and (isinstance(value, int) or value.is_integer())):  # past 64 bits, a whole number reads as a float
            raise InvalidInput(f"line {number}: {table}.{name} must be a whole number from {bound[0]:,} to "
                               f"{bound[1]:,}, got {value!r:.40}", field="FILE", line=number)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            words = "a number" if float in kinds else KIND_WORDS.get(kinds[0], kinds[0].__name__)  # 1 or 0.5
            raise InvalidInput(f"line {number}: {table}.{name} must be {words}"
                               f", got {value!r:.40}", field="FILE", line=number)
        if name in TIME_COLUMNS[table] and value is not None and not 0 <= value <= MAX_TIME:
            raise InvalidInput(f"line {number}: {table}.{name} must be a time from 1970 to 3000 (Unix seconds), got "
                               f"{value!r:.40}", field="FILE", line=number)
        if isinstance(bound, int) and isinstance(value, str) and len(value) > bound:
            raise InvalidInput(f"line {number}: {table}.{name} must be at most {bound:,} characters, got "
                               f"{len(value):,}", field="FILE", line=number)
    for column, allowed in ONE_OF.get(table, {}).items():  # an account or project every page read then failed on
        if column in row and row[column] not in allowed:
            raise InvalidInput(f"line {number}: {table}.{column} must be one of {', '.join(map(repr, allowed))}, got "
                               f"{row[column]!r:.40}", field="FILE", line=number)
    if table == "projects":  # what every reader of the project takes for granted
        if row.get("edit_window") == "minutes" and not isinstance(row.get("edit_minutes"), int):
            raise InvalidInput(f"line {number}: projects.edit_minutes must be a whole number when edit_window is "
                               "'minutes'", field="FILE", line=number)
        for name, style in (row.get("label_styles") or {}).items():
            try:
                schemas.LabelSpec.model_validate({**style, "name": name})
            except (TypeError, ValueError):  # not a mapping, or not a colour and a hotkey
                raise InvalidInput(f"line {number}: projects.label_styles[{name[:100]!r}] must be a label's colour "
                                   "and hotkey", field="FILE", line=number) from None
        if row.get("task_type") not in tasktypes.REGISTRY:
            raise InvalidInput(f"line {number}: projects.task_type {row.get('task_type')!r:.40} is no task type",
                               field="FILE", line=number)
        if not all(isinstance(label, str) for label in row.get("labels", ())):
            raise InvalidInput(f"line {number}: projects.labels must be strings", field="FILE", line=number)
    if b"\\u0000" in raw:  # orjson refuses lone surrogates itself
        try:
            jsonio.check_strings(row)
        except InvalidInput as exc:
            raise InvalidInput(f"line {number}: {table}.{exc}", field="FILE", line=number) from None


def _end(counts: dict[str, int]) -> bytes:
    return orjson.dumps({"end": {"rows": counts}}, option=orjson.OPT_SORT_KEYS) + b"\n"


def _header(scope: str, project_ids: list[int]) -> str:
    return json.dumps({"kind": KIND, "version": VERSION, "scope": scope, "projects": project_ids,
                       "schema": migrate.head_revision()}, sort_keys=True) + "\n"


async def _keyset(conn: AsyncConnection, table: Table, keys: tuple[str, ...], where: Any, columns: Any = None
                  ) -> AsyncIterator[list[dict]]:
    """A table's rows matching `where`, a page at a time in key order."""
    cols = [table.c[k] for k in keys]
    json_cols = set(_json_columns(table))
    # JSON columns travel as text and are decoded with orjson (several times faster than SQLAlchemy's json).
    picked = [cast(c, Text).label(c.name) if c.name in json_cols else c for c in (columns or table.c)]
    query = select(*picked).where(where).order_by(*cols)
    last: tuple | None = None
    limit = raw.FIRST_PAGE
    while True:
        page_query = query.limit(limit)
        if last is not None:
            page_query = page_query.where(tuple_(*cols) > tuple_(*last) if len(cols) > 1 else cols[0] > last[0])
        result = await conn.execute(page_query)
        names = list(result.keys())
        rows = result.all()
        if not rows:
            return
        out = [dict(zip(names, r)) for r in rows]  # a Row's tuple is fast; its mapping view is not
        chars = 0
        for row in out:
            for name in json_cols:
                if row.get(name) is not None:
                    chars += len(row[name])
                    row[name] = orjson.loads(row[name])
        yield out
        last = tuple(out[-1][k] for k in keys)
        if len(rows) < limit:
            return
        limit = raw.scaled_limit(limit, chars, PAGE_SIZE)


def _scopes(ids: list[int] | None) -> dict[str, Any]:
    """Which rows of each table a dump has: everything (ids None: the instance) or what the projects use."""
    p, u, a = models.projects, models.users, models.assignments
    pw, pt, tm, tr = models.project_workers, models.pool_teams, models.team_members, models.task_reports
    not_exports = models.audit_log.c.action.not_in(EXCLUDED_AUDIT_ACTIONS)
    if ids is None:
        return {**{name: sqltrue() for name in ORDER}, "audit_log": not_exports}
    teams = select(pt.c.team_id).where(pt.c.project_id.in_(ids))
    scopes: dict[str, Any] = {t.name: t.c.project_id.in_(ids) for t, _ in TABLES if "project_id" in t.c}
    # annotations: `project_id + 0` keeps SQLite (without statistics) from walking the (project, worker) index
    # and sorting the project's every answer for each page; it walks the primary key instead.
    scopes["annotations"] = (models.annotations.c.project_id + 0).in_(ids)
    scopes["media"] = models.media.c.path.in_(select(models.project_media.c.path)
                                              .where(models.project_media.c.project_id.in_(ids)))
    scopes["teams"] = models.teams.c.id.in_(teams)
    scopes["team_members"] = tm.c.team_id.in_(teams)
    scopes["users"] = or_(u.c.id.in_(select(p.c.owner_id).where(p.c.id.in_(ids))),
                          u.c.id.in_(select(a.c.worker_id).where(a.c.project_id.in_(ids))),
                          u.c.id.in_(select(pw.c.worker_id).where(pw.c.project_id.in_(ids))),
                          u.c.id.in_(select(models.pool_workers.c.worker_id)
                                     .where(models.pool_workers.c.project_id.in_(ids))),
                          u.c.id.in_(select(tm.c.worker_id).where(tm.c.team_id.in_(teams))),
                          u.c.id.in_(select(models.teams.c.owner_id).where(models.teams.c.id.in_(teams))),
                          u.c.id.in_(select(tr.c.worker_id).where(tr.c.project_id.in_(ids))),
                          u.c.id.in_(select(models.reviews.c.reviewer_id)
                                     .where(models.reviews.c.project_id.in_(ids))))
    scopes["projects"] = p.c.id.in_(ids)
    scopes["audit_log"] = and_(scopes["audit_log"], not_exports)
    return scopes


async def _chunks(conn: AsyncConnection, project_ids: list[int] | None, progress: Callable[[int], None]
                  ) -> AsyncIterator[bytes]:
    p, u = models.projects, models.users
    if project_ids is None:
        ids = [r[0] for r in (await conn.execute(select(p.c.id).order_by(p.c.id))).all()]
    else:
        ids = project_ids
    scopes = _scopes(project_ids)
    counts: dict[str, int] = {}

    def lines(table: str, rows: list[dict]) -> bytes:
        counts[str(table)] = counts.get(str(table), 0) + len(rows)
        return b"".join(_line(table, row) for row in rows)

    yield _header("instance" if project_ids is None else "project", ids).encode()
    async for page in _keyset(conn, u, ("id",), scopes["users"], [u.c[c] for c in USER_COLUMNS]):
        yield lines("users", page)
    for table, keys in BEFORE_PROJECTS:
        async for page in _keyset(conn, table, keys, scopes[table.name]):
            yield lines(table.name, page)
    async for page in _keyset(conn, p, ("id",), p.c.id.in_(ids)):
        yield lines("projects", page)
    c = models.project_counters
    totals = (await conn.execute(select(c.c.project_id, *[func.coalesce(func.sum(c.c[n]), 0).label(n)
                                                          for n in queue.COUNTERS])
                                 .where(c.c.project_id.in_(ids)).group_by(c.c.project_id)
                                 .order_by(c.c.project_id))).mappings().all()
    yield lines("project_counters", [{k: int(v) for k, v in row.items()} for row in totals])
    for table, keys in TABLES:
        left_out = EXCLUDED_COLUMNS.get(table.name, {})
        columns = [c for c in table.c if c.name not in left_out] if left_out else None
        async for page in _keyset(conn, table, keys, scopes[table.name], columns):
            if table is models.tasks:
                progress(len(page))
            yield lines(table.name, page)
    yield _end(counts)


def project_chunks(conn: AsyncConnection, project_id: int, progress: Callable[[int], None]) -> AsyncIterator[bytes]:
    """One project's dump, a page at a time (read in the caller's snapshot)."""
    return _chunks(conn, [project_id], progress)


def instance_chunks(conn: AsyncConnection, progress: Callable[[int], None]) -> AsyncIterator[bytes]:
    """The whole instance's dump."""
    return _chunks(conn, None, progress)


# ---- restore ---------------------------------------------------------------------------------------------------

def read_header(path: Path) -> dict:
    """The dump's header, or a one-line error saying the file is not a dump."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(1 << 16)
        header = json.loads(first)
    except (OSError, ValueError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict) or header.get("kind") != KIND:
        raise InvalidInput(f"{path} is not a labeling dump (its first line is not a dump header)", field="FILE")
    if header.get("version") not in READABLE:
        raise InvalidInput(f"{path} is a version {header.get('version')} dump; this labeling reads versions "
                           f"{', '.join(map(str, READABLE))}", field="FILE")
    return header


def is_dump(path: Path) -> bool:
    """Whether the file is a labeling dump (for a command that restores several kinds of file)."""
    try:
        read_header(path)
    except InvalidInput:
        return False
    return True


def _records(path: Path, header: dict) -> Iterator[tuple[int, str, dict]]:
    """(line number, table, row) of every line after the header; then, for a version 2 dump, the end line's row
    counts checked against the rows read (a dump cut short at any line, or with lines taken out, is refused)."""
    counts: dict[str, int] = {}
    end: Any = None
    with path.open("rb") as handle:
        handle.readline()
        for number, raw in enumerate(handle, start=2):
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
            except ValueError:
                raise InvalidInput(f"line {number}: not a dump record", field="FILE", line=number) from None
            if end is not None:
                raise InvalidInput(f"line {number}: a line after the dump's end line", field="FILE", line=number)
            if isinstance(record, dict) and "end" in record and header.get("version", 1) >= 2:
                end = record["end"]
                continue
            try:
                table, row = record["table"], record["row"]
            except (KeyError, TypeError):
                raise InvalidInput(f"line {number}: not a dump record", field="FILE", line=number) from None
            if table not in ORDER or not isinstance(row, dict):
                raise InvalidInput(f"line {number}: unknown table {table!r}", field="FILE", line=number)
            _check_row(number, table, row, raw)
            counts[table] = counts.get(table, 0) + 1
            yield number, table, row
    if header.get("version", 1) < 2:
        return
    if end is None:
        raise InvalidInput(f"{path} has no end line: the dump is cut short", field="FILE")
    said = end.get("rows") if isinstance(end, dict) else None
    if said != counts:
        differ = sorted(t for t in set(counts) | set(said or {}) if (said or {}).get(t) != counts.get(t))
        raise InvalidInput(f"{path} holds other row counts than its end line says ({', '.join(differ) or 'end line'}):"
                           " it is cut short or was changed", field="FILE")


# The columns a task type checks, and as what: a task's data, an answer to it, or its consensus.
RULED = {"tasks": {"data": "data", "gold": "answer", "predictions": "answer"}, "annotations": {"answer": "answer"},
         "task_results": {"answer": "consensus"}, "reviews": {"answer": "answer"}}


class _Restore:
    """One restore: users matched by name, every other row inserted with its id, in one transaction."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.users: dict[int, int] = {}  # dumped id -> id in this database
        self.teams: dict[int, int] = {}  # the same for teams
        self.counts: dict[str, int] = {}
        self.rules: dict[int, tuple[tasktypes.TaskTypeSpec, tasktypes.Context]] = {}  # per dumped project

    def user(self, row: dict) -> None:
        existing = self.tx.scalar("auth.user_id_by_name", {"username": row["username"]})
        if existing is not None:
            self.users[row["id"]] = existing
            return
        values = {**{c: row[c] for c in USER_COLUMNS}, "token_hash": auth.hash_token(secrets.token_urlsafe(32))}
        self._insert(self.users, row["id"], values, "restore.user_by_id", "restore.insert_user",
                     "restore.insert_new_user")

    def _insert(self, ids: dict[int, int], dumped_id: int, values: dict, by_id: str, insert: str, insert_new: str
                ) -> None:
        """Insert a dumped row under its own id when that is free here, else under a new one; remember which."""
        if self.tx.one(by_id, {"id": dumped_id}) is None:
            self.tx.run(insert, values)
            ids[dumped_id] = dumped_id
        else:
            ids[dumped_id] = self.tx.scalar(insert_new, values)

    def project(self, row: dict) -> None:
        owner = self._worker(row["owner_id"])
        # A name is unique per owner (two requesters may each have a project 'plan', and so may their dump).
        taken = self.tx.one("restore.project_taken", {"id": row["id"], "name": row["name"], "owner": owner})
        if taken is not None:
            raise Conflict(f"this database already has project {taken.id} ({taken.name!r}); restore into a database "
                           f"without the dumped projects", field="FILE")
        self.tx.run("restore.insert_project", {**LATER_COLUMNS["projects"], **row, "owner_id": owner})
        # Answers are checked without the project's options: an option changed after answers were given (spans
        # may no longer overlap) holds for new answers only.
        self.rules[row["id"]] = (tasktypes.get(row["task_type"]), tasktypes.Context(labels=tuple(row["labels"])))

    def follow_rules(self, table: str, rows: list[dict], numbers: list[int]) -> None:
        """Refuse a task whose data, or an answer, gold, prediction, consensus or override whose value, breaks its
        task type's rules (an edited dump: every export and recompute of the project would fail on it)."""
        if table not in RULED:
            return
        if table == "tasks":
            data = {row["id"]: row["data"] for row in rows}
        else:
            ids = sorted({row["task_id"] for row in rows})
            data = {r.id: r.data for r in self.tx.rows("restore.task_data", {"ids": ids})}
        for number, row in zip(numbers, rows):
            rules, task = self.rules.get(row["project_id"]), data.get(row["id"] if table == "tasks" else row["task_id"])
            if rules is None or task is None:
                continue  # not a task of a dumped project: the foreign key refuses it
            spec, ctx = rules
            for column, check in RULED[table].items():
                value = row.get(column)
                if value is None:
                    continue
                try:
                    if check == "data":
                        spec.validate_data(value, ctx)
                    elif check == "consensus":
                        spec.check_consensus(value, task, ctx)
                    else:
                        spec.validate_answer(value, task, ctx)
                except InvalidInput as exc:
                    raise InvalidInput(f"line {number}: {table}.{column} does not fit the task type ({spec.name}): "
                                       f"{exc.message}", field="FILE", line=number) from None

    def team(self, row: dict) -> None:
        """A team: the owner's team of the same name if there is one, else the dumped team (a new id if its id is
        taken)."""
        values = {**row, "owner_id": self._worker(row["owner_id"])}
        existing = self.tx.scalar("restore.team_by_name", values)
        if existing is not None:
            self.teams[row["id"]] = existing
        else:
            self._insert(self.teams, row["id"], values, "restore.team_by_id", "restore.insert_team",
                         "restore.insert_new_team")

    def audit(self, row: dict) -> None:
        """An audit entry, its people as they are in this database; a new id if its id is taken (an instance's
        own entries are not the dump's)."""
        values = {**row, **{k: self.users.get(row[k], row[k]) for k in ("actor_id", "owner_id")
                            if row.get(k) is not None}}
        taken = self.tx.one("restore.audit_id_taken", {"id": row["id"]}) is not None
        self.tx.run("restore.insert_new_audit" if taken else "restore.insert_audit", values)

    def _team(self, team_id: int) -> int:
        try:
            return self.teams[team_id]
        except KeyError:
            raise InvalidInput(f"the dump refers to team {team_id}, which it does not contain", field="FILE") from None

    def _worker(self, user_id: int) -> int:
        try:
            return self.users[user_id]
        except KeyError:
            raise InvalidInput(f"the dump refers to user {user_id}, which it does not contain", field="FILE") from None

    def batch(self, table: str, rows: list[dict], numbers: list[int]) -> None:
        first_line = numbers[0]
        self.follow_rules(table, rows, numbers)
        if table != "project_counters":
            later = LATER_COLUMNS.get(table, {})
            for i, row in enumerate(rows):
                if later:
                    rows[i] = row = {**later, **row}
                for column in ("worker_id", "reviewer_id"):
                    if column in row:
                        row[column] = self._worker(row[column])
                if "team_id" in row:
                    row["team_id"] = self._team(row["team_id"])
        with self.refused(table, first_line):
            if table == "project_counters":  # of a project the dump holds (else a foreign key refuses it)
                for row in rows:
                    queue.restore_counters(self.tx, row["project_id"], row)
            elif table == "teams":
                for row in rows:
                    self.team(row)
            elif table == "team_members":
                self.tx.run_many("restore.insert_team_member", rows)
            elif table == "audit_log":
                for row in rows:
                    self.audit(row)
            elif table in INSERTS:  # a requester's reviews among them: not queue bookkeeping
                self.tx.run_many(INSERTS[table], rows)
            else:
                queue.restore_rows(self.tx, table, rows)
        self.counts[table] = self.counts.get(table, 0) + len(rows)

    @contextlib.contextmanager
    def refused(self, table: str, line: int) -> Iterator[None]:
        """Writes the database may refuse (a check, a foreign key, a unique key): its refusal is an InvalidInput
        naming the line (a Conflict for a row this database has), never the driver's exception (a user's row or a
        project's was, a traceback's last line and exit status 1)."""
        try:
            with self.tx.isolated():
                yield
        except (InvalidInput, Conflict):
            raise
        except Exception as exc:
            if is_unique_violation(exc):
                raise Conflict(f"line {line}: this database already has some of the dumped {table}; "
                               "restore into a database without them", field="FILE", line=line) from None
            raise InvalidInput(f"line {line}: could not restore {table}: "
                               f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                               field="FILE", line=line) from None

    def run(self, path: Path, header: dict) -> dict[str, int]:
        rows: list[dict] = []
        numbers: list[int] = []
        restored: list[int] = []
        table, seen = "", -1
        for number, name, row in _records(path, header):
            position = ORDER.index(name)
            if position < seen:
                raise InvalidInput(f"line {number}: {name} rows after {ORDER[seen]} rows (a dump's tables come in "
                                   "the order it writes them)", field="FILE", line=number)
            seen = position
            if name == "users":
                with self.refused(name, number):
                    self.user(row)
                self.counts["users"] = self.counts.get("users", 0) + 1
                continue
            if name == "projects":
                with self.refused(name, number):
                    self.project(row)
                restored.append(row["id"])
                self.counts["projects"] = self.counts.get("projects", 0) + 1
                continue
            if rows and (name != table or len(rows) >= BATCH):
                self.batch(table, rows, numbers)
                rows, numbers = [], []
            table = name
            rows.append(row)
            numbers.append(number)
        if rows:
            self.batch(table, rows, numbers)
        if restored != header.get("projects"):  # a file cut short (or edited) would be restored in part
            raise InvalidInput(f"{path} holds projects {restored} where its header says {header.get('projects')}: "
                               "it is cut short or was changed", field="FILE")
        if self.tx.dialect == "postgresql":
            self.tx.run("restore.sync_sequences")
            self.tx.run("restore.analyze")
        return self.counts


async def restore(db: Database, path: Path) -> dict[str, int]:
    """Restore a dump into the database, all or nothing; returns the rows restored per table."""
    header = read_header(path)

    def run(tx: Any) -> dict[str, int]:
        counts = _Restore(tx).run(path, header)
        backup.after_restore(tx)  # cursors given before it are refused
        return counts

    return await db.transact(run)

