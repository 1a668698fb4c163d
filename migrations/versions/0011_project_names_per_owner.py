"""A project's name is unique among its owner's projects, no longer instance-wide: a requester naming a new project
(or renaming one) like another requester's got a 409, which told them that project existed.

PostgreSQL: the unique constraint on projects.name becomes one on (owner_id, name). SQLite: the projects table is
rebuilt with it, as SQLite's own procedure for changing a table says (a new table, the rows copied with their ids,
the old one dropped, the new one renamed, its indexes made again), with foreign keys off (labeling.migrate). Every
row stays. The downgrade puts instance-wide names back, and refuses (saying which) while two owners share a name.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from __future__ import annotations

import re

from alembic import op
from sqlalchemy import text

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

PER_OWNER = 'CONSTRAINT uq_projects_owner_name UNIQUE (owner_id, name)'
GLOBAL = 'UNIQUE (name)'


def _statement() -> str:
    return op.get_bind().execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'projects'")
                                 ).scalar_one()


def _rebuild(statement: str) -> None:
    """Make `projects` again from `statement` (a CREATE TABLE of it), keeping its rows, ids and indexes."""
    bind = op.get_bind()
    if bind.execute(text('PRAGMA foreign_keys')).scalar():  # dropping the old table would take its children along
        raise RuntimeError('migration 0011 rebuilds projects: run it with foreign keys off (labeling migrate does)')
    indexes = [r[0] for r in bind.execute(text(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'projects' AND sql IS NOT NULL"))]
    columns = ', '.join(r[1] for r in bind.execute(text('PRAGMA table_info(projects)')))
    renamed, found = re.subn(r'^CREATE TABLE "?projects"? \(', 'CREATE TABLE _new_projects (', statement)
    if found != 1:
        raise RuntimeError(f'projects: not a CREATE TABLE of it: {statement}')
    bind.execute(text(renamed))
    bind.execute(text(f'INSERT INTO _new_projects ({columns}) SELECT {columns} FROM projects'))
    bind.execute(text('DROP TABLE projects'))
    bind.execute(text('ALTER TABLE _new_projects RENAME TO projects'))
    for index in indexes:
        bind.execute(text(index))


def _name_constraint() -> str:
    """The name PostgreSQL gave the unique constraint on projects.name alone (projects_name_key when made by 0001)."""
    return op.get_bind().execute(text(
        "SELECT c.conname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) WHERE c.conrelid = 'projects'::regclass AND c.contype = 'u' AND array_length(c.conkey, 1) = 1 "
        "AND a.attname = 'name'")).scalar_one()


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(_name_constraint(), 'projects', type_='unique')
        op.create_unique_constraint('uq_projects_owner_name', 'projects', ['owner_id', 'name'])
        return
    statement = _statement()
    if PER_OWNER in statement:
        return
    changed, found = re.subn(re.escape(GLOBAL), PER_OWNER, statement, count=1)
    if found != 1:
        raise RuntimeError(f'projects: its unique name is not the one this migration knows: {statement}')
    _rebuild(changed)


def downgrade() -> None:
    shared = op.get_bind().execute(text(
        'SELECT name FROM projects GROUP BY name HAVING count(*) > 1 ORDER BY name LIMIT 5')).scalars().all()
    if shared:
        raise RuntimeError(f'several owners have projects named {shared}: rename them before this downgrade, where a '
                           'project name is unique instance-wide')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('uq_projects_owner_name', 'projects', type_='unique')
        op.create_unique_constraint('projects_name_key', 'projects', ['name'])
        return
    statement = _statement()
    if PER_OWNER not in statement:
        return
    _rebuild(statement.replace(PER_OWNER, GLOBAL, 1))
