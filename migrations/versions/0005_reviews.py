"""requester reviews: a task's consensus accepted or overridden by its requester; the console's results indexes
(least certain first, most disagreement first)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# The agreement figure a task type's consensus keeps in its details (TaskTypeSpec.agreement_key: classification
# and multi-label `percent_agreement`, ranking `agreement`), as one sortable expression. The console's queries
# write the same expression (labeling/console/results.py AGREEMENT), so the planner walks this index.
AGREEMENT = {
    'sqlite': "COALESCE(json_extract(details, '$.percent_agreement'), json_extract(details, '$.agreement'))",
    'postgresql': "COALESCE((details->>'percent_agreement')::float, (details->>'agreement')::float)",
}


def upgrade() -> None:
    op.create_table('reviews',
    sa.Column('id', ID, nullable=False),
    sa.Column('project_id', ID, nullable=False),
    sa.Column('task_id', ID, nullable=False),
    sa.Column('reviewer_id', ID, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('answer', JSON, nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.CheckConstraint("kind IN ('accept', 'override')", name='ck_review_kind'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ux_reviews_task', 'reviews', ['task_id'], unique=True)
    op.create_index('ix_reviews_project', 'reviews', ['project_id', 'task_id'], unique=False)
    op.create_index(op.f('ix_reviews_reviewer_id'), 'reviews', ['reviewer_id'], unique=False)
    op.create_index('ix_task_results_confidence', 'task_results', ['project_id', 'confidence', 'task_id'],
                    unique=False)
    dialect = op.get_bind().dialect.name
    op.execute(f"CREATE INDEX ix_task_results_agreement ON task_results (project_id, ({AGREEMENT[dialect]}), task_id)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_task_results_agreement")
    op.drop_index('ix_task_results_confidence', table_name='task_results')
    op.drop_index(op.f('ix_reviews_reviewer_id'), table_name='reviews')
    op.drop_index('ix_reviews_project', table_name='reviews')
    op.drop_index('ux_reviews_task', table_name='reviews')
    op.drop_table('reviews')
