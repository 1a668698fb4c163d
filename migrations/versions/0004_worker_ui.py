"""worker UI second pass: label styles and the edit window of a project, what the worker was shown with each
answer and when it was changed, skip reasons, problem reports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: a batch operation would copy the table on SQLite, and dropping the old
    # copy of `projects` with foreign keys on would delete every task, assignment and answer under it.
    op.add_column('projects', sa.Column('label_styles', JSON, nullable=False, server_default=sa.text("'{}'")))
    op.add_column('projects', sa.Column('edit_window', sa.String(length=20), nullable=False,
                                        server_default='until_final'))
    op.add_column('projects', sa.Column('edit_minutes', sa.Integer(), nullable=True))
    op.add_column('assignments', sa.Column('skip_reason', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
    op.add_column('assignments', sa.Column('skip_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
    op.add_column('annotations', sa.Column('meta', JSON, nullable=True))
    op.add_column('annotations', sa.Column('edited_at', sa.Float(), nullable=True))
    op.create_table('task_reports',
    sa.Column('id', ID, nullable=False),
    sa.Column('project_id', ID, nullable=False),
    sa.Column('task_id', ID, nullable=False),
    sa.Column('worker_id', ID, nullable=False),
    sa.Column('assignment_id', ID, nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('task_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_reports_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index('ix_task_reports_project', ['project_id', 'id'], unique=False)
        batch_op.create_index('ix_task_reports_task', ['task_id'], unique=False)


def downgrade() -> None:
    # DROP COLUMN (SQLite 3.35+) rather than a batch copy, for the same reason as above.
    op.drop_table('task_reports')
    for table, column in (('annotations', 'edited_at'), ('annotations', 'meta'), ('assignments', 'skip_note'),
                          ('assignments', 'skip_reason'), ('projects', 'edit_minutes'), ('projects', 'edit_window'),
                          ('projects', 'label_styles')):
        op.drop_column(table, column)
