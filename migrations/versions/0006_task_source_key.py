"""tasks.source_key: the key a manifest line gave a task's image or text under ("source-ref" or "source"), so
the manifest export gives the line back as it came in (NULL: the task came as data.image or data.text)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: no table rewrite on either database, existing tasks read NULL.
    op.add_column('tasks', sa.Column('source_key', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('source_key')
