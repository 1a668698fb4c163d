"""A task's exported row has a change stamp, so an incremental pull (`labeling export --since`) finds every task whose
row changed: a result withdrawn (a worker's answers removed, a worker blocked, more answers asked for, an override
removed) reopened the task and left no newer result time behind, and such a task stayed in a pipeline's dataset.

tasks.changed_at (Unix seconds, the database's clock) and tasks.change_id (a number in commit order: PostgreSQL's
transaction id of the last write, SQLite's change_clock, moved on by every write in its single writer) are set by
triggers on every write that changes what an export shows of a task: the task's state, answer count, data or gold;
its consensus result (written, rewritten or dropped); its review (an override or acceptance, put or removed); an
excluded answer added or removed, and an answer changed or excluded. task_deletions.change_id likewise, so
`--format deletions` takes the same cursor. Triggers, so that no write path (present or future) can change a row
without moving its stamp. ix_tasks_changed and ix_task_deletions_change serve the pulls.

Backfill: changed_at is the latest of the task's creation, its result's time and its review's time (what `--since`
read until now); change_id 0 (every cursor, made by a pull after this revision, has seen it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# What moves a task's stamp, as a trigger's WHEN condition on an update of the task itself.
TASK_COLUMNS = ('state', 'n_done', 'data', 'gold', 'is_gold', 'external_id', 'source_key')
ANSWER_CHANGED = ('OLD.answer IS DISTINCT FROM NEW.answer OR OLD.excluded IS DISTINCT FROM NEW.excluded '
                  'OR OLD.gold_score IS DISTINCT FROM NEW.gold_score OR OLD.duration_ms IS DISTINCT FROM NEW.duration_ms')

SQLITE_NOW = "((julianday('now') - 2440587.5) * 86400.0)"
SQLITE_MICROSECONDS = "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"
SQLITE_TICK = 'INSERT INTO change_clock (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1'
SQLITE_STAMP = '(SELECT n FROM change_clock WHERE id = 1)'

PG_NOW = 'extract(epoch from clock_timestamp())'
PG_STAMP = 'CAST(CAST(pg_current_xact_id() AS text) AS bigint)'

PG_FUNCTIONS = [
    f"""CREATE FUNCTION labeling_task_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_at := {PG_NOW};
    NEW.change_id := {PG_STAMP};
    RETURN NEW;
END $$""",
    f"""CREATE FUNCTION labeling_touch_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A task this transaction has stamped already (a settle completes it in the statement writing its result) is
    -- written once: another version of its row would update every index of tasks again.
    UPDATE tasks SET changed_at = {PG_NOW}, change_id = {PG_STAMP}
    WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.task_id ELSE NEW.task_id END
      AND change_id IS DISTINCT FROM {PG_STAMP};
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$""",
    f"""CREATE FUNCTION labeling_deletion_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_id := {PG_STAMP};
    RETURN NEW;
END $$""",
]


def _pg_triggers() -> list[str]:
    task_when = ' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in TASK_COLUMNS)
    # The task is stamped BEFORE its result or review is written: its row is locked first, as a settle locks it
    # (the task, then its result), so a project-wide recompute and a settle never wait for each other crosswise.
    return [
        'CREATE TRIGGER tasks_changed_insert BEFORE INSERT ON tasks FOR EACH ROW '
        'EXECUTE FUNCTION labeling_task_changed()',
        # UPDATE OF: a claim or a release (n_leased) fires nothing; state and n_done are compared first.
        f'CREATE TRIGGER tasks_changed_update BEFORE UPDATE OF {", ".join(TASK_COLUMNS)} ON tasks FOR EACH ROW '
        f'WHEN ({task_when}) '
        'EXECUTE FUNCTION labeling_task_changed()',
        'CREATE TRIGGER task_results_changed BEFORE INSERT OR UPDATE OR DELETE ON task_results FOR EACH ROW '
        'EXECUTE FUNCTION labeling_touch_task()',
        'CREATE TRIGGER reviews_changed BEFORE INSERT OR UPDATE OR DELETE ON reviews FOR EACH ROW '
        'EXECUTE FUNCTION labeling_touch_task()',
        # A counted answer moves the task's n_done (stamped above); an excluded one does not, but it is a row of the
        # annotations export.
        'CREATE TRIGGER annotations_changed_insert AFTER INSERT ON annotations FOR EACH ROW WHEN (NEW.excluded) '
        'EXECUTE FUNCTION labeling_touch_task()',
        f'CREATE TRIGGER annotations_changed_update AFTER UPDATE ON annotations FOR EACH ROW WHEN ({ANSWER_CHANGED}) '
        'EXECUTE FUNCTION labeling_touch_task()',
        'CREATE TRIGGER annotations_changed_delete AFTER DELETE ON annotations FOR EACH ROW WHEN (OLD.excluded) '
        'EXECUTE FUNCTION labeling_touch_task()',
        'CREATE TRIGGER task_deletions_changed BEFORE INSERT ON task_deletions FOR EACH ROW '
        'EXECUTE FUNCTION labeling_deletion_changed()',
    ]


def _sqlite_touch(task: str) -> str:
    return (f'{SQLITE_TICK}; UPDATE tasks SET changed_at = {SQLITE_NOW}, change_id = {SQLITE_STAMP} '
            f'WHERE id = {task};')


def _sqlite_triggers() -> list[str]:
    task_when = ' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in TASK_COLUMNS)
    answer_when = ANSWER_CHANGED.replace('IS DISTINCT FROM', 'IS NOT')
    # Every write runs in the single writer thread, so the clock's numbers are in commit order. An update of
    # changed_at and change_id alone fires none of these (UPDATE OF names the other columns).
    return [
        # An import stamps its tasks itself (queue.tick_changes, once for the batch): a task inserted unstamped (a
        # restored one) is stamped here.
        f'CREATE TRIGGER tasks_changed_insert AFTER INSERT ON tasks WHEN NEW.change_id = 0 '
        f'BEGIN {_sqlite_touch("NEW.id")} END',
        f'CREATE TRIGGER tasks_changed_update AFTER UPDATE OF {", ".join(TASK_COLUMNS)} ON tasks '
        f'WHEN {task_when} BEGIN {_sqlite_touch("NEW.id")} END',
        *(f'CREATE TRIGGER {table}_changed_{op_name.lower()} AFTER {op_name} ON {table} '
          f'BEGIN {_sqlite_touch(("OLD" if op_name == "DELETE" else "NEW") + ".task_id")} END'
          for table in ('task_results', 'reviews') for op_name in ('INSERT', 'UPDATE', 'DELETE')),
        f'CREATE TRIGGER annotations_changed_insert AFTER INSERT ON annotations WHEN NEW.excluded '
        f'BEGIN {_sqlite_touch("NEW.task_id")} END',
        f'CREATE TRIGGER annotations_changed_update AFTER UPDATE ON annotations WHEN {answer_when} '
        f'BEGIN {_sqlite_touch("NEW.task_id")} END',
        f'CREATE TRIGGER annotations_changed_delete AFTER DELETE ON annotations WHEN OLD.excluded '
        f'BEGIN {_sqlite_touch("OLD.task_id")} END',
        f'CREATE TRIGGER task_deletions_changed AFTER INSERT ON task_deletions BEGIN {SQLITE_TICK}; '
        f'UPDATE task_deletions SET change_id = {SQLITE_STAMP} '
        'WHERE project_id = NEW.project_id AND task_id = NEW.task_id; END',
    ]


TRIGGERS = {
    'postgresql': ['tasks_changed_insert ON tasks', 'tasks_changed_update ON tasks',
                   'task_results_changed ON task_results', 'reviews_changed ON reviews',
                   'annotations_changed_insert ON annotations', 'annotations_changed_update ON annotations',
                   'annotations_changed_delete ON annotations', 'task_deletions_changed ON task_deletions'],
    'sqlite': ['tasks_changed_insert', 'tasks_changed_update',
               *(f'{t}_changed_{o}' for t in ('task_results', 'reviews') for o in ('insert', 'update', 'delete')),
               'annotations_changed_insert', 'annotations_changed_update', 'annotations_changed_delete',
               'task_deletions_changed'],
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table('change_clock', sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('n', sa.BigInteger(), nullable=False), sa.PrimaryKeyConstraint('id'))
    # The cursors' floor (row 2, as labeling restore sets it: exporter.check_since refuses a cursor up to it): one given
    # before this upgrade, by the schema before a downgrade, whose changes no stamp recorded, is refused.
    # SQLite's clock starts at the time in microseconds: past any number an earlier clock (dropped by the downgrade,
    # started at its own upgrade's time) gave, one change a microsecond at most.
    if dialect == 'postgresql':
        op.execute('INSERT INTO change_clock (id, n) VALUES (1, 0), '
                   '(2, CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text) AS bigint))')
    else:
        op.execute(f'INSERT INTO change_clock (id, n) VALUES (1, {SQLITE_MICROSECONDS})')
        op.execute('INSERT INTO change_clock (id, n) SELECT 2, n FROM change_clock WHERE id = 1')
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('changed_at', sa.Float(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('change_id', sa.BigInteger(), nullable=False, server_default='0'))
    with op.batch_alter_table('task_deletions') as batch:
        batch.add_column(sa.Column('change_id', sa.BigInteger(), nullable=False, server_default='0'))
    # What --since read until now: the task's creation, its result's time, its review's time.
    op.execute('UPDATE tasks SET changed_at = max_of.t FROM (SELECT t.id, '
               'GREATEST(t.created_at, COALESCE(r.updated_at, 0), COALESCE(v.created_at, 0)) AS t FROM tasks t '
               'LEFT JOIN task_results r ON r.task_id = t.id LEFT JOIN reviews v ON v.task_id = t.id) AS max_of '
               'WHERE max_of.id = tasks.id' if dialect == 'postgresql' else
               'UPDATE tasks SET changed_at = max(created_at, '
               'COALESCE((SELECT r.updated_at FROM task_results r WHERE r.task_id = tasks.id), 0), '
               'COALESCE((SELECT v.created_at FROM reviews v WHERE v.task_id = tasks.id), 0))')
    op.create_index('ix_tasks_changed', 'tasks', ['project_id', 'change_id'])
    op.create_index('ix_tasks_changed_at', 'tasks', ['project_id', 'changed_at'])
    op.create_index('ix_task_deletions_change', 'task_deletions', ['project_id', 'change_id'])
    if dialect == 'postgresql':
        for statement in PG_FUNCTIONS + _pg_triggers():
            op.execute(statement)
    else:
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for trigger in TRIGGERS[dialect]:
        op.execute(f'DROP TRIGGER {trigger}')
    if dialect == 'postgresql':
        for name in ('labeling_task_changed', 'labeling_touch_task', 'labeling_deletion_changed'):
            op.execute(f'DROP FUNCTION {name}()')
    op.drop_index('ix_task_deletions_change', table_name='task_deletions')
    op.drop_index('ix_tasks_changed_at', table_name='tasks')
    op.drop_index('ix_tasks_changed', table_name='tasks')
    with op.batch_alter_table('task_deletions') as batch:
        batch.drop_column('change_id')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('change_id')
        batch.drop_column('changed_at')
    op.drop_table('change_clock')
