"""projects.answer_correlation: the correlation between answers to one task that the last project consensus
measured, which the per-task consensus of later settles allows for (NULL: no project consensus yet, answers taken
as independent, as before)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: no table rewrite on either database, existing projects read NULL.
    op.add_column('projects', sa.Column('answer_correlation', sa.Float(), nullable=True))


def downgrade() -> None:
    # DROP COLUMN (SQLite 3.35+), not a batch copy: dropping the old projects table in a copy would cascade to every
    # task of it.
    op.drop_column('projects', 'answer_correlation')
