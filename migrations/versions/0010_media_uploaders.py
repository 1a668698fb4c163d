"""media_uploaders: who uploaded each file of the media folder, so that a requester names in tasks only the files
that are theirs (policy media.name: their uploads, requesters/USERNAME/, shared/, and what their projects already
show).

Nothing is backfilled: who uploaded a file before this revision was never recorded. Every file a stored task
shows is in project_media (0002), so it stays nameable by its project's owner and visible as before; an upload no
task shows yet is named again by uploading it again (uploads are stored by content: the same path, no new file).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BigID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'media_uploaders',
        sa.Column('path_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', BigID, nullable=False),
        sa.Column('path', sa.String(length=1024), nullable=False),
        sa.Column('uploaded_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('path_hash', 'user_id'),
    )


def downgrade() -> None:
    op.drop_table('media_uploaders')
