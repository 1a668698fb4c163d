"""API input shapes (Pydantic via SQLModel) and the one place their errors become InvalidInput."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal, TypeVar

from pydantic import (BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator,
                      model_validator)
from sqlmodel import SQLModel

from labeling.errors import InvalidInput
from labeling.models import ProjectStatus, Role
from labeling.tasktypes import TaskType

M = TypeVar("M", bound=BaseModel)
StatusName = Literal["active", "paused", "archived"]
# A worker named by id or by username (teams, pools).
WorkerRef = StrictInt | StrictStr
MAX_REFS = 10_000


def project_status(name: str, field: str = "status") -> ProjectStatus:
    """A status by name, or InvalidInput listing the names."""
    try:
        return ProjectStatus[name]
    except KeyError:
        raise InvalidInput(f"{field} must be one of active, paused, archived; got {name!r}", field=field) from None


def iso(ts: float | None) -> str | None:
    """Unix seconds as an ISO 8601 UTC string (how every time leaves the API)."""
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


class _Strict(SQLModel):
    model_config = ConfigDict(extra="forbid")


class RedundancySpec(_Strict):
    """Adaptive redundancy: collect `min` answers, then more up to `max` until the target confidence."""

    min: int = Field(ge=1, le=100)
    max: int = Field(ge=1, le=100)
    target_confidence: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> "RedundancySpec":
        if self.max < self.min:
            raise ValueError("max must be at least min")
        return self


class UserCreate(_Strict):
    """POST /api/users"""

    username: str = Field(min_length=1, max_length=100)
    role: Role
    password: str | None = Field(default=None, min_length=8, max_length=1000)


class ProjectBase(_Strict):
    """Settings shared by create and update."""

    labels: list[str] = Field(default_factory=list, max_length=1000)
    instructions: str = Field(default="", max_length=100_000)
    redundancy: int | RedundancySpec = Field(default=1)
    lease_seconds: int = Field(default=600, ge=1, le=7 * 86400)
    gold_first_n: int = Field(default=0, ge=0, le=10_000, description="Gold tasks shown first to each worker")
    gold_fraction: float = Field(default=0.0, ge=0, le=1, description="Share of gold tasks after the first N")
    gold_min: int = Field(default=5, ge=1, le=10_000, description="Gold answers needed before a worker can be blocked")
    gold_threshold: float = Field(default=0.0, ge=0, le=1, description="Gold accuracy below which a worker is blocked")
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: list[str]) -> list[str]:
        cleaned = [label.strip() for label in labels]
        if any(not label or len(label) > 100 for label in cleaned):
            raise ValueError("each label must be 1-100 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("labels must be distinct")
        return cleaned

    @field_validator("redundancy")
    @classmethod
    def _redundancy(cls, value: int | RedundancySpec) -> int | RedundancySpec:
        if isinstance(value, int) and not 1 <= value <= 100:
            raise ValueError("redundancy must be from 1 to 100")
        return value


class ProjectCreate(ProjectBase):
    """POST /api/projects"""

    name: str = Field(min_length=1, max_length=200)
    task_type: TaskType
    status: StatusName = Field(default="active", description="Only an active project hands out tasks")


class ProjectUpdate(_Strict):
    """PATCH /api/projects/{id}: any subset of the settings (task_type cannot change)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    labels: list[str] | None = None
    instructions: str | None = Field(default=None, max_length=100_000)
    redundancy: int | RedundancySpec | None = None
    lease_seconds: int | None = Field(default=None, ge=1, le=7 * 86400)
    gold_first_n: int | None = Field(default=None, ge=0, le=10_000)
    gold_fraction: float | None = Field(default=None, ge=0, le=1)
    gold_min: int | None = Field(default=None, ge=1, le=10_000)
    gold_threshold: float | None = Field(default=None, ge=0, le=1)
    options: dict[str, Any] | None = None
    status: StatusName | None = Field(default=None, description="active, paused (no new tasks; leases handed out "
                                      "may still be answered) or archived (read-only; live leases are released)")

    _labels = field_validator("labels")(ProjectBase._labels.__func__)  # type: ignore[attr-defined]
    _redundancy = field_validator("redundancy")(ProjectBase._redundancy.__func__)  # type: ignore[attr-defined]


class PoolUpdate(_Strict):
    """PUT /api/projects/{id}/pool: every worker, or only the workers and teams listed (the owner always may label)."""

    all_workers: bool = Field(description="true: every worker may work on the project; false: only those listed")
    workers: list[WorkerRef] = Field(default_factory=list, max_length=MAX_REFS, description="worker ids or usernames")
    teams: list[StrictInt] = Field(default_factory=list, max_length=MAX_REFS, description="team ids")


class TeamCreate(_Strict):
    """POST /api/teams"""

    name: str = Field(min_length=1, max_length=200)
    members: list[WorkerRef] = Field(default_factory=list, max_length=MAX_REFS, description="worker ids or usernames")


class TeamMembers(_Strict):
    """POST /api/teams/{id}/members"""

    workers: list[WorkerRef] = Field(min_length=1, max_length=MAX_REFS, description="worker ids or usernames")


class PasswordReset(_Strict):
    """POST /api/users/{id}/password"""

    password: str = Field(min_length=8, max_length=1000)


class TasksDelete(_Strict):
    """POST /api/projects/{id}/tasks/delete"""

    task_ids: list[StrictInt] = Field(default_factory=list, max_length=MAX_REFS)
    external_ids: list[StrictStr] = Field(default_factory=list, max_length=MAX_REFS)
    confirm: bool = Field(description="must be true: deleted tasks take their answers and results with them")


class SubmitBody(_Strict):
    """POST /api/assignments/{id}/submit"""

    answer: dict[str, Any]
    duration_ms: int | None = Field(default=None, ge=0, le=7 * 86400 * 1000)


def parse(model: type[M], body: Any) -> M:
    """Validate body against model; the first problem becomes an InvalidInput naming its field."""
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object", field="body")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error.get("loc", ()) if not str(part).startswith(("int", "RedundancySpec"))]
        field = ".".join(loc) or "body"
        message = error.get("msg", "invalid value").removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            message = "is not a known field"
        elif error.get("type") == "missing":
            message = "is required"
        raise InvalidInput(f"{field}: {message}", field=field) from None
