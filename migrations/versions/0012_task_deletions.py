"""task_deletions: the tasks deleted from each project and when, so that an incremental pull (`labeling export
--format deletions --since T`) learns of them: a deleted task leaves no row that `--since` finds, and a pipeline
pulling increments kept it.

Nothing is backfilled: deletions before this revision were not recorded by task (the audit log has their counts and
at most the first ids asked for). A project's deletion takes its records along.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BigID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'task_deletions',
        sa.Column('project_id', BigID, nullable=False),
        sa.Column('task_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('deleted_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('project_id', 'task_id'),
    )
    op.create_index('ix_task_deletions_time', 'task_deletions', ['project_id', 'deleted_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_task_deletions_time', table_name='task_deletions')
    op.drop_table('task_deletions')
