"""Tables and status enums (SQLModel). Times are Unix seconds (float) on every backend.

Counters that the hot path needs (a task's annotations and live leases, a project's progress) live
in columns kept in the same transaction as the change, so nothing counts rows on the hot path.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, Column, Float, ForeignKey, Index, Integer,
                        String, UniqueConstraint, text, true)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

# INTEGER PRIMARY KEY on SQLite (the rowid), BIGINT elsewhere.
BigID = BigInteger().with_variant(Integer, "sqlite")
# none_as_null: a Python None is SQL NULL (not the JSON text "null"), so IS NULL filters work.
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def name_text(length: int) -> String:
    """VARCHAR(length) compared and sorted by code point on SQLite and on PostgreSQL: the type of the names lists are
    ordered by and keyset cursors compare. SQLite compares text as bytes (BINARY); PostgreSQL would use the database's
    locale, where en_US puts 'amy' before 'Amy' before 'eva' and SQLite puts 'Amy' and 'Eva' before 'amy'. Its "C"
    collation compares the UTF-8 bytes too. Equality (uniqueness) is the same either way: byte for byte."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


# Project progress counters are spread over up to this many rows (made on first use), so concurrent submits
# neither queue on one row lock nor pile up dead row versions of one row on PostgreSQL.
N_COUNTER_SHARDS = 64


class Role(str, enum.Enum):
    """What a user may do."""

    admin = "admin"
    requester = "requester"
    worker = "worker"


class TaskState(enum.IntEnum):
    """A task is open until it has the annotations it needs."""

    open = 0
    complete = 1


class AssignmentStatus(enum.IntEnum):
    """The life of a lease."""

    leased = 0
    submitted = 1
    skipped = 2
    expired = 3


class ProjectStatus(enum.IntEnum):
    """Only an active project serves tasks; a paused one takes answers to the leases it handed out; an archived
    one is read-only."""

    active = 0
    paused = 1
    archived = 2


def _fk(target: str, **kw: Any) -> Column:
    return Column(BigID, ForeignKey(target, ondelete="CASCADE"), nullable=False, **kw)


class User(SQLModel, table=True):
    """A person or a script: admin, requester or worker."""

    __tablename__ = "users"
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    username: str = Field(sa_column=Column(name_text(100), unique=True, nullable=False))
    role: str = Field(max_length=20, nullable=False)
    password_hash: str | None = Field(default=None, max_length=300)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    is_active: bool = Field(default=True, nullable=False)
    created_at: float = Field(nullable=False)


class Project(SQLModel, table=True):
    """A labeling project: one task type, its labels and its queue settings."""

    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("redundancy_min >= 1 AND redundancy_max >= redundancy_min", name="ck_project_redundancy"),
        CheckConstraint("lease_seconds >= 1", name="ck_project_lease"),
        # A name is unique among its owner's projects only: one instance-wide would tell a requester that another
        # requester has a project of that name (a 409 on theirs).
        UniqueConstraint("owner_id", "name", name="uq_projects_owner_name"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    name: str = Field(sa_column=Column(name_text(200), nullable=False))
    owner_id: int = Field(sa_column=_fk("users.id", index=True))
    task_type: str = Field(max_length=40, nullable=False)
    labels: list = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    instructions: str = Field(default="", nullable=False)
    redundancy_min: int = Field(default=1, nullable=False)
    redundancy_max: int = Field(default=1, nullable=False)
    target_confidence: float | None = Field(default=None)
    lease_seconds: int = Field(default=600, nullable=False)
    gold_first_n: int = Field(default=0, nullable=False)
    gold_fraction: float = Field(default=0.0, nullable=False)
    gold_min: int = Field(default=5, nullable=False)
    gold_threshold: float = Field(default=0.0, nullable=False)
    options: dict = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    # How labels look in the worker UI, by label name ({"red": {"color": "#d33", "hotkey": "r"}}): `labels` stays
    # a plain list of names, which consensus, validation and exports read.
    label_styles: dict = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False,
                                                                      server_default=text("'{}'")))
    # How long a worker may change an answer: "off", "until_final" (while the task is open) or "minutes".
    edit_window: str = Field(default="until_final", sa_column=Column(String(20), nullable=False,
                                                                     server_default="until_final"))
    edit_minutes: int | None = Field(default=None)
    created_at: float = Field(nullable=False)
    # The project's version: every change of its settings, status or pool (a team's members included) moves it
    # forward, so the queue's caches and its version-checked statements see the change.
    updated_at: float = Field(nullable=False)
    status: int = Field(default=ProjectStatus.active, sa_column=Column(Integer, nullable=False,
                                                                       server_default=text("0")))
    # The worker pool: every worker (the default), or only those listed (project_pool_workers, project_pool_teams).
    pool_all: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    # The correlation between answers to one task that the last project consensus measured (classification and
    # multilabel; calibration.task_correlation): the per-task consensus of every settle until the next one divides a
    # task's evidence by 1 + (n - 1) * it. NULL before any project consensus (answers taken as independent).
    answer_correlation: float | None = Field(default=None)


class ProjectCounter(SQLModel, table=True):
    """Progress counters of a project, spread over up to N_COUNTER_SHARDS rows (summed when read)."""

    __tablename__ = "project_counters"
    project_id: int = Field(sa_column=Column(BigID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True))
    shard: int = Field(primary_key=True)
    n_tasks: int = Field(default=0, nullable=False)
    n_gold_tasks: int = Field(default=0, nullable=False)
    n_complete: int = Field(default=0, nullable=False)
    n_annotations: int = Field(default=0, nullable=False)
    n_skips: int = Field(default=0, nullable=False)


class Task(SQLModel, table=True):
    """One item to label. n_done counts accepted annotations, n_leased leases handed out and not closed."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("n_done >= 0 AND n_leased >= 0", name="ck_task_counts"),
        CheckConstraint("state IN (0, 1)", name="ck_task_state"),
        # The queue walks this index in serving order: partly done first, then priority, then import order.
        Index("ix_tasks_queue", "project_id", "is_gold", text("n_done DESC"), text("priority DESC"), "id",
              sqlite_where=text("state = 0"), postgresql_where=text("state = 0")),
        Index("ix_tasks_external", "project_id", "external_id", unique=True,
              sqlite_where=text("external_id IS NOT NULL"), postgresql_where=text("external_id IS NOT NULL")),
        Index("ix_tasks_project_id", "project_id", "id"),
        # Incremental pulls (`labeling export --since`): by cursor, or by time.
        Index("ix_tasks_changed", "project_id", "change_id"),
        Index("ix_tasks_changed_at", "project_id", "changed_at"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    project_id: int = Field(sa_column=_fk("projects.id"))
    data: dict = Field(sa_column=Column(JSONType, nullable=False))
    gold: dict | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    predictions: dict | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    is_gold: bool = Field(default=False, nullable=False)
    priority: int = Field(default=0, nullable=False)
    external_id: str | None = Field(default=None, max_length=500)
    # The key a manifest line gave the image or text under ("source-ref" or "source"), so the manifest export
    # gives the line back as it came; NULL for data.image / data.text (the export then uses the type's usual key).
    source_key: str | None = Field(default=None, max_length=10)
    state: int = Field(default=TaskState.open, nullable=False)
    needed: int = Field(default=1, nullable=False)
    n_done: int = Field(default=0, nullable=False)
    n_leased: int = Field(default=0, nullable=False)
    created_at: float = Field(nullable=False)
    # When what an export shows of the task last changed (its state, answers, data, result or review), and that
    # write's number in commit order (PostgreSQL: its transaction id; SQLite: change_clock). Set by the triggers of
    # migration 0013 on every such write, never by a statement: `--since` finds every changed task by them.
    changed_at: float = Field(default=0.0, sa_column=Column(Float, nullable=False, server_default="0"))
    change_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


class Assignment(SQLModel, table=True):
    """A lease of one task to one worker; a worker holds at most one per task, ever."""

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint("status IN (0, 1, 2, 3)", name="ck_assignment_status"),
        Index("ux_assignments_task_worker", "task_id", "worker_id", unique=True),
        Index("ix_assignments_live", "project_id", "expires_at",
              sqlite_where=text("status = 0"), postgresql_where=text("status = 0")),
        Index("ix_assignments_worker_live", "worker_id", "project_id",
              sqlite_where=text("status = 0"), postgresql_where=text("status = 0")),
    )
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    project_id: int = Field(sa_column=_fk("projects.id"))
    task_id: int = Field(sa_column=_fk("tasks.id"))
    worker_id: int = Field(sa_column=_fk("users.id"))
    status: int = Field(default=AssignmentStatus.leased, nullable=False)
    is_gold: bool = Field(default=False, nullable=False)
    created_at: float = Field(nullable=False)
    expires_at: float = Field(nullable=False)
    finished_at: float | None = Field(default=None)
    skip_reason: str | None = Field(default=None, max_length=20)  # one of queue.SKIP_REASONS, for a skip
    skip_note: str | None = Field(default=None, max_length=500)  # the worker's words, for the reason "other"


class Annotation(SQLModel, table=True):
    """A worker's submitted answer to a task."""

    __tablename__ = "annotations"
    __table_args__ = (
        Index("ix_annotations_task", "task_id"),
        Index("ix_annotations_project_worker", "project_id", "worker_id"),
        Index("ix_annotations_worker_time", "worker_id", "created_at"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    project_id: int = Field(sa_column=_fk("projects.id"))
    task_id: int = Field(sa_column=_fk("tasks.id"))
    worker_id: int = Field(sa_column=_fk("users.id"))
    assignment_id: int = Field(sa_column=Column(BigID, ForeignKey("assignments.id", ondelete="CASCADE"),
                                                nullable=False, unique=True))
    answer: dict = Field(sa_column=Column(JSONType, nullable=False))
    is_gold: bool = Field(default=False, nullable=False)
    gold_score: float | None = Field(default=None)
    excluded: bool = Field(default=False, nullable=False)
    idempotency_key: str | None = Field(default=None, max_length=200)
    duration_ms: int | None = Field(default=None)
    # What the worker was shown (display order, letters, time on task, viewport, image size): schemas.AnswerMeta.
    meta: dict | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    created_at: float = Field(nullable=False)
    edited_at: float | None = Field(default=None)  # the last time the worker changed the answer


class TaskReport(SQLModel, table=True):
    """A worker's "report a problem" on a task: words for the requester, never an answer."""

    __tablename__ = "task_reports"
    __table_args__ = (Index("ix_task_reports_task", "task_id"), Index("ix_task_reports_project", "project_id", "id"))
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    project_id: int = Field(sa_column=_fk("projects.id"))
    task_id: int = Field(sa_column=_fk("tasks.id"))
    worker_id: int = Field(sa_column=_fk("users.id"))
    assignment_id: int = Field(sa_column=_fk("assignments.id", index=True))
    text: str = Field(max_length=2000, nullable=False)
    created_at: float = Field(nullable=False)


class ProjectWorker(SQLModel, table=True):
    """A worker's standing in one project: counts, gold accuracy, estimated skill, blocked or not."""

    __tablename__ = "project_workers"
    project_id: int = Field(sa_column=Column(BigID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True))
    worker_id: int = Field(sa_column=Column(BigID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))
    n_claims: int = Field(default=0, nullable=False)
    n_annotations: int = Field(default=0, nullable=False)
    n_skips: int = Field(default=0, nullable=False)
    n_gold: int = Field(default=0, nullable=False)
    gold_score_sum: float = Field(default=0.0, nullable=False)
    skill: float | None = Field(default=None)
    agreement: float | None = Field(default=None)
    blocked: bool = Field(default=False, nullable=False)
    updated_at: float = Field(nullable=False)


class TaskResult(SQLModel, table=True):
    """The consensus answer of a task, with its confidence."""

    __tablename__ = "task_results"
    # ix_task_results_confidence: the console's results page, least certain first (keyset on confidence, task).
    # Migration 0005 also makes ix_task_results_agreement, an index on the expression of the agreement figure in
    # `details` (per dialect, so not declared here): the results page sorted by disagreement.
    __table_args__ = (Index("ix_task_results_project", "project_id", "task_id"),
                      Index("ix_task_results_confidence", "project_id", "confidence", "task_id"))
    task_id: int = Field(sa_column=Column(BigID, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True))
    project_id: int = Field(sa_column=_fk("projects.id"))
    answer: dict | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    confidence: float | None = Field(default=None)
    n_annotations: int = Field(default=0, nullable=False)
    method: str = Field(default="", max_length=40, nullable=False)
    details: dict = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    updated_at: float = Field(nullable=False)


class ReviewKind(str, enum.Enum):
    """What a requester did with a task's consensus."""

    accept = "accept"  # the consensus is right as it is
    override = "override"  # the requester's own answer replaces it (in /results and every export)


class Review(SQLModel, table=True):
    """A requester's review of a task's consensus: one per task (a later review replaces it; the audit log keeps
    each)."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("kind IN ('accept', 'override')", name="ck_review_kind"),
        Index("ux_reviews_task", "task_id", unique=True),
        Index("ix_reviews_project", "project_id", "task_id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    project_id: int = Field(sa_column=_fk("projects.id"))
    task_id: int = Field(sa_column=_fk("tasks.id"))
    reviewer_id: int = Field(sa_column=_fk("users.id", index=True))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    answer: dict | None = Field(default=None, sa_column=Column(JSONType, nullable=True))  # an override's answer
    created_at: float = Field(nullable=False)


class Media(SQLModel, table=True):
    """An image's size as a browser shows it (EXIF orientation applied), by its media path; recorded when it is
    uploaded or a bounding-box task first refers to it, so boxes can be checked against it."""

    __tablename__ = "media"
    path: str = Field(sa_column=Column(String(1024), primary_key=True))
    width: int = Field(nullable=False)
    height: int = Field(nullable=False)
    recorded_at: float = Field(nullable=False)


class Team(SQLModel, table=True):
    """A named group of workers, owned by the requester (or admin) who made it, for project pools."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_teams_owner_name"),)
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    name: str = Field(sa_column=Column(name_text(200), nullable=False))
    owner_id: int = Field(sa_column=_fk("users.id"))
    created_at: float = Field(nullable=False)


class TeamMember(SQLModel, table=True):
    """A worker in a team."""

    __tablename__ = "team_members"
    __table_args__ = (Index("ix_team_members_worker", "worker_id"),)
    team_id: int = Field(sa_column=Column(BigID, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True))
    worker_id: int = Field(sa_column=Column(BigID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))


class PoolWorker(SQLModel, table=True):
    """A worker listed in a project's pool."""

    __tablename__ = "project_pool_workers"
    project_id: int = Field(sa_column=Column(BigID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True))
    worker_id: int = Field(sa_column=Column(BigID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))


class PoolTeam(SQLModel, table=True):
    """A team listed in a project's pool (its members, as they change, are in the pool)."""

    __tablename__ = "project_pool_teams"
    __table_args__ = (Index("ix_project_pool_teams_team", "team_id"),)
    project_id: int = Field(sa_column=Column(BigID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True))
    team_id: int = Field(sa_column=Column(BigID, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True))


class ProjectMedia(SQLModel, table=True):
    """A file of the media folder that a project's tasks show (who may see a file follows who may see a project)."""

    __tablename__ = "project_media"
    # Paths may be long (4 KB), so the key is their SHA-256.
    path_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    project_id: int = Field(sa_column=Column(BigID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True))
    path: str = Field(nullable=False)


class MediaUploader(SQLModel, table=True):
    """Who uploaded a file of the media folder (POST /api/media or an import's images): an upload is its uploader's
    to name in tasks (policy media.name). Uploads are stored by content, so one file may have several uploaders."""

    __tablename__ = "media_uploaders"
    path_hash: str = Field(sa_column=Column(String(64), primary_key=True))  # as project_media's
    user_id: int = Field(sa_column=Column(BigID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))
    path: str = Field(sa_column=Column(String(1024), nullable=False))
    uploaded_at: float = Field(nullable=False)


class TaskDeletion(SQLModel, table=True):
    """A deleted task of a project, for incremental pulls (`--format deletions --since T`): a deletion leaves no row
    for `--since` to find, so a pipeline kept the task. Task ids are never given twice. Gone with its project."""

    __tablename__ = "task_deletions"
    __table_args__ = (Index("ix_task_deletions_time", "project_id", "deleted_at"),
                      Index("ix_task_deletions_change", "project_id", "change_id"))
    project_id: int = Field(sa_column=Column(BigID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True))
    task_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    external_id: str | None = Field(default=None, max_length=500)
    deleted_at: float = Field(nullable=False)
    change_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))  # as a task's


class ChangeClock(SQLModel, table=True):
    """SQLite's commit-ordered change numbers (tasks.change_id): row 1, moved on by the triggers of migration 0013 in
    the single writer (PostgreSQL uses its transaction ids instead and leaves it alone). Row 2, on both: the number of
    the last `labeling restore` from a backup, at or below which a pull's cursor is refused (exporter.check_since)."""

    __tablename__ = "change_clock"
    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    n: int = Field(sa_column=Column(BigInteger, nullable=False))


class Session(SQLModel, table=True):
    """A signed-in browser: the cookie carries its random id, only the hash is stored; sign-out deletes it."""

    __tablename__ = "sessions"
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    user_id: int = Field(sa_column=_fk("users.id", index=True))
    created_at: float = Field(nullable=False)
    expires_at: float = Field(sa_column_kwargs={"index": True}, nullable=False)


class AuthEpoch(SQLModel, table=True):
    """One row whose number moves on every revocation (sign-out, deactivation, new token or password), so each
    server process knows when to forget the credentials it remembers."""

    __tablename__ = "auth_epoch"
    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    epoch: int = Field(sa_column=Column(BigInteger, nullable=False))


class AuditEntry(SQLModel, table=True):
    """Who did what, when, to which object. Written in the transaction of the action; never changed."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_owner", "owner_id", "id"),
        Index("ix_audit_actor", "actor_id", "id"),
        Index("ix_audit_project", "project_id", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    at: float = Field(nullable=False)
    # No foreign keys: an entry outlives the project it names (a deletion is audited too).
    actor_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    actor: str = Field(max_length=100, nullable=False)  # the username then, or "cli" / "system"
    action: str = Field(max_length=60, nullable=False)
    object_type: str = Field(max_length=40, nullable=False)
    object_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    project_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    owner_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # the project's owner
    details: dict = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


metadata = SQLModel.metadata
users = User.__table__
projects = Project.__table__
project_counters = ProjectCounter.__table__
tasks = Task.__table__
assignments = Assignment.__table__
annotations = Annotation.__table__
project_workers = ProjectWorker.__table__
task_results = TaskResult.__table__
task_reports = TaskReport.__table__
reviews = Review.__table__
media = Media.__table__
teams = Team.__table__
team_members = TeamMember.__table__
pool_workers = PoolWorker.__table__
pool_teams = PoolTeam.__table__
project_media = ProjectMedia.__table__
media_uploaders = MediaUploader.__table__
sessions = Session.__table__
auth_epoch = AuthEpoch.__table__
audit_log = AuditEntry.__table__
task_deletions = TaskDeletion.__table__
change_clock = ChangeClock.__table__

# Tables whose rows clients know by a surrogate id: an id is never given twice. PostgreSQL's sequences never go back;
# SQLite without AUTOINCREMENT gives the highest id plus one, so deleting the newest row (a released lease, a deleted
# task, team or project) handed its id to the next row, and a request naming the old one reached the new one.
NEVER_REUSED_IDS = (users, projects, tasks, assignments, annotations, task_reports, reviews, teams, sessions, audit_log)
for _table in NEVER_REUSED_IDS:
    _table.dialect_kwargs["sqlite_autoincrement"] = True
