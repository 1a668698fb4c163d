"""An id is never given twice on SQLite either: every table with a surrogate id becomes AUTOINCREMENT there.

Without it SQLite gives a new row the highest id in the table plus one, so deleting the newest row hands its id to
the next: a worker's second `release` of a lease it had released released the lease it took after (200; PostgreSQL,
whose sequences never go back, answers 404), and a deleted task's or team's id read another task or team. PostgreSQL
is unchanged. On SQLite each table is rebuilt as SQLite's own procedure for changing a table says (a new table, the
rows copied with their ids, the old one dropped, the new one renamed, its indexes made again from their own
statements), with foreign keys off (labeling.migrate). Ids freed before this revision, above the highest id still
in use, may still be given once more.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
from __future__ import annotations

import re

from alembic import op
from sqlalchemy import text

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The tables of labeling/models.py whose primary key is a surrogate `id` (models.NEVER_REUSED_IDS).
TABLES = ('users', 'projects', 'tasks', 'assignments', 'annotations', 'task_reports', 'reviews', 'teams', 'sessions',
          'audit_log')
# How 0001-0002 made the id column and the table's key (SQLAlchemy's DDL), and how they read with AUTOINCREMENT.
PLAIN_ID = re.compile(r'(\(\s*)id INTEGER NOT NULL,')
TABLE_KEY = re.compile(r'\s*PRIMARY KEY \(id\),|,\s*PRIMARY KEY \(id\)(?=\s*\)$)')
KEYED_ID = 'id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,'
ROWID_ID = 'id INTEGER NOT NULL PRIMARY KEY,'  # the downgrade's: still the rowid, without AUTOINCREMENT


def _rebuild(table: str, statement: str) -> None:
    """Make `table` again from `statement` (a CREATE TABLE of it), keeping its rows, ids and indexes."""
    bind = op.get_bind()
    if bind.execute(text('PRAGMA foreign_keys')).scalar():  # dropping the old table would take its children along
        raise RuntimeError('migration 0009 rebuilds tables: run it with foreign keys off (labeling migrate does)')
    indexes = [r[0] for r in bind.execute(text(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"), {'t': table})]
    columns = ', '.join(r[1] for r in bind.execute(text(f'PRAGMA table_info({table})')))
    renamed, found = re.subn(rf'^CREATE TABLE "?{table}"? \(', f'CREATE TABLE _new_{table} (', statement)
    if found != 1:
        raise RuntimeError(f'{table}: not a CREATE TABLE of it: {statement}')
    bind.execute(text(renamed))
    bind.execute(text(f'INSERT INTO _new_{table} ({columns}) SELECT {columns} FROM {table}'))
    bind.execute(text(f'DROP TABLE {table}'))
    bind.execute(text(f'ALTER TABLE _new_{table} RENAME TO {table}'))
    for index in indexes:
        bind.execute(text(index))


def _statement(table: str) -> str:
    return op.get_bind().execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                                 {'t': table}).scalar_one()


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return  # PostgreSQL's sequences never give an id twice
    for table in TABLES:
        statement = _statement(table)
        if KEYED_ID in statement:
            continue
        if ROWID_ID in statement:  # as this revision's downgrade left it
            _rebuild(table, statement.replace(ROWID_ID, KEYED_ID, 1))
            continue
        keyed, found = PLAIN_ID.subn(rf'\1{KEYED_ID}', statement, count=1)
        keyed, dropped = TABLE_KEY.subn('', keyed, count=1)
        if (found, dropped) != (1, 1):
            raise RuntimeError(f'{table}: its id column is not the one this migration knows: {statement}')
        _rebuild(table, keyed)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table in TABLES:
        statement = _statement(table)
        if KEYED_ID in statement:
            _rebuild(table, statement.replace(KEYED_ID, ROWID_ID, 1))
