"""Names in code point order on PostgreSQL too: users.username, projects.name and teams.name take the "C"
collation, so lists ordered by name (a team's members, the console's worker lists) and their keyset cursors come
back in the order SQLite gives (it compares text as bytes), whatever the database's locale. SQLite is unchanged.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# (table, column, length): the name columns of labeling/models.py made with name_text.
NAMES = (('users', 'username', 100), ('projects', 'name', 200), ('teams', 'name', 200))


def _collate(collation: str | None) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return  # SQLite's default collation (BINARY) already compares bytes
    for table, column, length in NAMES:
        # The same type with another collation: no table rewrite; the unique indexes on the column are rebuilt.
        op.alter_column(table, column, type_=sa.String(length, collation=collation),
                        existing_type=sa.String(length), existing_nullable=False)


def upgrade() -> None:
    _collate('C')


def downgrade() -> None:
    _collate('default')
