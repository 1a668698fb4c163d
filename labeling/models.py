"""Tables and status enums (SQLModel). Times are Unix seconds (float) on every backend.

Counters that the hot path needs (a task's annotations and live leases, a project's progress) live
in columns kept in the same transaction as the change, so nothing counts rows on the hot path.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

# INTEGER PRIMARY KEY on SQLite (the rowid), BIGINT elsewhere.
BigID = BigInteger().with_variant(Integer, "sqlite")
# none_as_null: a Python None is SQL NULL (not the JSON text "null"), so IS NULL filters work.
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

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


def _fk(target: str, **kw: Any) -> Column:
    return Column(BigID, ForeignKey(target, ondelete="CASCADE"), nullable=False, **kw)


class User(SQLModel, table=True):
    """A person or a script: admin, requester or worker."""

    __tablename__ = "users"
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    username: str = Field(max_length=100, sa_column_kwargs={"unique": True}, nullable=False)
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
    )
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True}, nullable=False)
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
    updated_at: float = Field(nullable=False)


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
    )
    id: int | None = Field(default=None, sa_column=Column(BigID, primary_key=True))
    project_id: int = Field(sa_column=_fk("projects.id"))
    data: dict = Field(sa_column=Column(JSONType, nullable=False))
    gold: dict | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    predictions: dict | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    is_gold: bool = Field(default=False, nullable=False)
    priority: int = Field(default=0, nullable=False)
    external_id: str | None = Field(default=None, max_length=500)
    state: int = Field(default=TaskState.open, nullable=False)
    needed: int = Field(default=1, nullable=False)
    n_done: int = Field(default=0, nullable=False)
    n_leased: int = Field(default=0, nullable=False)
    created_at: float = Field(nullable=False)


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
    __table_args__ = (Index("ix_task_results_project", "project_id", "task_id"),)
    task_id: int = Field(sa_column=Column(BigID, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True))
    project_id: int = Field(sa_column=_fk("projects.id"))
    answer: dict | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    confidence: float | None = Field(default=None)
    n_annotations: int = Field(default=0, nullable=False)
    method: str = Field(default="", max_length=40, nullable=False)
    details: dict = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    updated_at: float = Field(nullable=False)


class Media(SQLModel, table=True):
    """An image's size as a browser shows it (EXIF orientation applied), by its media path; recorded when it is
    uploaded or a bounding-box task first refers to it, so boxes can be checked against it."""

    __tablename__ = "media"
    path: str = Field(sa_column=Column(String(1024), primary_key=True))
    width: int = Field(nullable=False)
    height: int = Field(nullable=False)
    recorded_at: float = Field(nullable=False)


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
media = Media.__table__
