"""access: project status and worker pools, teams, sessions, the revocation epoch, media by project, audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

Existing projects become active with the all-workers pool (column defaults), so an upgrade changes nothing for
anyone who worked before. Tasks already stored that show a file of the media folder are entered in
project_media, so their images stay visible to the people who may see their projects.
"""
from __future__ import annotations

import hashlib
import json

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

BigID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
# The task types of 0001 whose data.image names a picture (frozen here: later task types are not this revision's).
IMAGE_TASK_TYPES = ('image_classification', 'image_multilabel', 'bounding_box')
BACKFILL_CHUNK = 5000


def upgrade() -> None:
    # Plain ADD COLUMN (not a batch copy of the table: on SQLite, dropping the old copy would cascade to its tasks).
    op.add_column('projects', sa.Column('status', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('projects', sa.Column('pool_all', sa.Boolean(), server_default=sa.true(), nullable=False))

    op.create_table('teams',
    sa.Column('id', BigID, nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('owner_id', BigID, nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner_id', 'name', name='uq_teams_owner_name')
    )
    op.create_table('team_members',
    sa.Column('team_id', BigID, nullable=False),
    sa.Column('worker_id', BigID, nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'worker_id')
    )
    op.create_index('ix_team_members_worker', 'team_members', ['worker_id'], unique=False)
    op.create_table('project_pool_workers',
    sa.Column('project_id', BigID, nullable=False),
    sa.Column('worker_id', BigID, nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'worker_id')
    )
    op.create_table('project_pool_teams',
    sa.Column('project_id', BigID, nullable=False),
    sa.Column('team_id', BigID, nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'team_id')
    )
    op.create_index('ix_project_pool_teams_team', 'project_pool_teams', ['team_id'], unique=False)
    op.create_table('project_media',
    sa.Column('path_hash', sa.String(length=64), nullable=False),
    sa.Column('project_id', BigID, nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('path_hash', 'project_id')
    )
    op.create_table('sessions',
    sa.Column('id', BigID, nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', BigID, nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index('ix_sessions_expires_at', 'sessions', ['expires_at'], unique=False)
    op.create_index('ix_sessions_user_id', 'sessions', ['user_id'], unique=False)
    op.create_table('auth_epoch',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('audit_log',
    sa.Column('id', BigID, nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('object_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=True),
    sa.Column('project_id', sa.BigInteger(), nullable=True),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('details', JSONType, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_actor', 'audit_log', ['actor_id', 'id'], unique=False)
    op.create_index('ix_audit_owner', 'audit_log', ['owner_id', 'id'], unique=False)
    op.create_index('ix_audit_project', 'audit_log', ['project_id', 'id'], unique=False)

    bind = op.get_bind()
    bind.execute(sa.text("INSERT INTO auth_epoch (id, epoch) VALUES (1, 0)"))
    _backfill_project_media(bind)


def _backfill_project_media(bind: sa.engine.Connection) -> None:
    """Enter the media-folder files that stored image tasks show, a chunk of tasks at a time."""
    projects = [row[0] for row in bind.execute(sa.text(
        "SELECT id FROM projects WHERE task_type IN ('image_classification', 'image_multilabel', 'bounding_box')"))]
    insert = sa.text("INSERT INTO project_media (path_hash, project_id, path) VALUES (:h, :p, :path) "
                     "ON CONFLICT (path_hash, project_id) DO NOTHING")
    for project_id in projects:
        last = 0
        while True:
            rows = bind.execute(sa.text("SELECT id, data FROM tasks WHERE project_id = :p AND id > :last ORDER BY id "
                                        "LIMIT :n"), {"p": project_id, "last": last, "n": BACKFILL_CHUNK}).all()
            if not rows:
                break
            last = rows[-1][0]
            paths = set()
            for _, data in rows:
                data = json.loads(data) if isinstance(data, str) else data
                image = data.get("image") if isinstance(data, dict) else None
                if isinstance(image, str) and not image.lower().startswith(("http://", "https://")):
                    paths.add(image)
            if paths:
                bind.execute(insert, [{"h": hashlib.sha256(path.encode()).hexdigest(), "p": project_id, "path": path}
                                      for path in sorted(paths)])


def downgrade() -> None:
    op.drop_index('ix_audit_project', table_name='audit_log')
    op.drop_index('ix_audit_owner', table_name='audit_log')
    op.drop_index('ix_audit_actor', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('auth_epoch')
    op.drop_index('ix_sessions_user_id', table_name='sessions')
    op.drop_index('ix_sessions_expires_at', table_name='sessions')
    op.drop_table('sessions')
    op.drop_table('project_media')
    op.drop_index('ix_project_pool_teams_team', table_name='project_pool_teams')
    op.drop_table('project_pool_teams')
    op.drop_table('project_pool_workers')
    op.drop_index('ix_team_members_worker', table_name='team_members')
    op.drop_table('team_members')
    op.drop_table('teams')
    # Native DROP COLUMN (SQLite 3.35+), never a copy of the table (see upgrade).
    op.execute("ALTER TABLE projects DROP COLUMN pool_all")
    op.execute("ALTER TABLE projects DROP COLUMN status")
