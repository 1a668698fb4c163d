"""API input shapes (Pydantic via SQLModel) and the one place their errors become InvalidInput."""

from __future__ import annotations

import enum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator
from sqlmodel import SQLModel

from labeling.errors import InvalidInput
from labeling.models import Role
from labeling.tasktypes import TaskType

M = TypeVar("M", bound=BaseModel)


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


class LabelSpec(_Strict):
    """A label with how the worker UI shows it: `{"name": "red", "color": "#d33", "hotkey": "r"}`."""

    name: str
    color: str | None = Field(default=None, pattern=r"^#(?:[0-9a-fA-F]{3}){1,2}$", description="#rgb or #rrggbb")
    hotkey: str | None = Field(default=None, pattern=r"^[A-Za-z]$", description="one letter")


MAX_EDIT_MINUTES = 7 * 24 * 60
EditWindow = Literal["off", "until_final"] | StrictInt
# Labels are checked by check_labels (for errors that name the label); the document shows their two forms.
LABELS_SCHEMA = {"items": {"anyOf": [{"type": "string"}, LabelSpec.model_json_schema()]}}
Label = str | LabelSpec


def _label(value: Any, i: int) -> Label:
    if isinstance(value, (str, LabelSpec)):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"labels[{i}] must be a name or an object {{name, color?, hotkey?}}")
    try:
        return LabelSpec.model_validate(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error.get("loc", ()))
        message = "is not a known field" if error.get("type") == "extra_forbidden" else error.get("msg", "invalid")
        if where == "color":
            message = "must be #rgb or #rrggbb"
        elif where == "hotkey":
            message = "must be one letter"
        raise ValueError(f"labels[{i}].{where}: {message}") from None


def check_labels(labels: list[Any]) -> list[Label]:
    """Names 1-100 characters and distinct; hotkeys distinct (stored lower case)."""
    cleaned: list[Label] = []
    for i, raw in enumerate(labels):
        label = _label(raw, i)
        if isinstance(label, LabelSpec):
            hotkey = label.hotkey.lower() if label.hotkey else None
            cleaned.append(label.model_copy(update={"name": label.name.strip(), "hotkey": hotkey}))
        else:
            cleaned.append(label.strip())
    names = label_names(cleaned)
    if any(not name or len(name) > 100 for name in names):
        raise ValueError("each label must be 1-100 characters")
    if len(set(names)) != len(names):
        raise ValueError("labels must be distinct")
    hotkeys = [label.hotkey for label in cleaned if isinstance(label, LabelSpec) and label.hotkey]
    if len(set(hotkeys)) != len(hotkeys):
        raise ValueError("two labels have the same hotkey")
    return cleaned


def label_names(labels: list[str | LabelSpec]) -> list[str]:
    """The names of labels given as strings or objects."""
    return [label.name if isinstance(label, LabelSpec) else label for label in labels]


def label_styles(labels: list[str | LabelSpec]) -> dict[str, dict]:
    """What the labels given as objects say of their look, by name (stored as projects.label_styles)."""
    return {label.name: label.model_dump(exclude={"name"}, exclude_none=True)
            for label in labels if isinstance(label, LabelSpec)}


def _edit_window(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= MAX_EDIT_MINUTES:
        raise ValueError(f"edit_window in minutes must be from 1 to {MAX_EDIT_MINUTES}")
    return value


class ProjectBase(_Strict):
    """Settings shared by create and update."""

    labels: list[Any] = Field(default_factory=list, max_length=1000, json_schema_extra=LABELS_SCHEMA,
                              description="names, or objects {name, color?, hotkey?}")
    instructions: str = Field(default="", max_length=100_000)
    redundancy: int | RedundancySpec = Field(default=1)
    lease_seconds: int = Field(default=600, ge=1, le=7 * 86400)
    gold_first_n: int = Field(default=0, ge=0, le=10_000, description="Gold tasks shown first to each worker")
    gold_fraction: float = Field(default=0.0, ge=0, le=1, description="Share of gold tasks after the first N")
    gold_min: int = Field(default=5, ge=1, le=10_000, description="Gold answers needed before a worker can be blocked")
    gold_threshold: float = Field(default=0.0, ge=0, le=1, description="Gold accuracy below which a worker is blocked")
    options: dict[str, Any] = Field(default_factory=dict)
    edit_window: EditWindow = Field(default="until_final", description=(
        "How long workers may change their answers: 'off', 'until_final' (while the task is open) or minutes"))

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: list[Any]) -> list[Label]:
        return check_labels(labels)

    @field_validator("edit_window")
    @classmethod
    def _edit_window(cls, value: Any) -> Any:
        return _edit_window(value)

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


class ProjectUpdate(_Strict):
    """PATCH /api/projects/{id}: any subset of the settings (task_type cannot change)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    labels: list[Any] | None = Field(default=None, max_length=1000, json_schema_extra=LABELS_SCHEMA)
    instructions: str | None = Field(default=None, max_length=100_000)
    redundancy: int | RedundancySpec | None = None
    lease_seconds: int | None = Field(default=None, ge=1, le=7 * 86400)
    gold_first_n: int | None = Field(default=None, ge=0, le=10_000)
    gold_fraction: float | None = Field(default=None, ge=0, le=1)
    gold_min: int | None = Field(default=None, ge=1, le=10_000)
    gold_threshold: float | None = Field(default=None, ge=0, le=1)
    options: dict[str, Any] | None = None
    edit_window: EditWindow | None = None

    _labels = field_validator("labels")(ProjectBase._labels.__func__)  # type: ignore[attr-defined]
    _redundancy = field_validator("redundancy")(ProjectBase._redundancy.__func__)  # type: ignore[attr-defined]
    _edit = field_validator("edit_window")(ProjectBase._edit_window.__func__)  # type: ignore[attr-defined]


MAX_MS = 7 * 86400 * 1000
MAX_PIXELS = 100_000


class Viewport(_Strict):
    """The browser window's inner size in CSS pixels, and its device pixel ratio."""

    width: int = Field(ge=1, le=MAX_PIXELS)
    height: int = Field(ge=1, le=MAX_PIXELS)
    device_pixel_ratio: float | None = Field(default=None, gt=0, le=16)


class ImageSize(_Strict):
    """The natural size of the task's image as the browser decoded it."""

    natural_width: int = Field(ge=1, le=MAX_PIXELS)
    natural_height: int = Field(ge=1, le=MAX_PIXELS)


class AnswerMeta(_Strict):
    """What the worker was shown, stored with the answer (annotations.meta) for exports and position bias."""

    shown_order: list[str] | None = Field(default=None, max_length=64, description=(
        "response ids in the order they were shown (preference ranking)"))
    letters: dict[str, str] | None = Field(default=None, max_length=64, description=(
        "the letter each response id was shown under (preference ranking)"))
    time_on_task_ms: int | None = Field(default=None, ge=0, le=MAX_MS, description=(
        "from the task's first render to submit, leaving out the time the page was hidden"))
    hidden_ms: int | None = Field(default=None, ge=0, le=MAX_MS, description="time the page was hidden meanwhile")
    viewport: Viewport | None = None
    image: ImageSize | None = None

    @field_validator("shown_order")
    @classmethod
    def _ids(cls, ids: list[str] | None) -> list[str] | None:
        if ids is not None and any(not 1 <= len(i) <= 200 for i in ids):
            raise ValueError("each response id must be 1-200 characters")
        return ids

    @field_validator("letters")
    @classmethod
    def _letters(cls, letters: dict[str, str] | None) -> dict[str, str] | None:
        if letters is not None and any(not 1 <= len(k) <= 200 or not 1 <= len(v) <= 4 for k, v in letters.items()):
            raise ValueError("letters maps response ids (1-200 characters) to letters (1-4 characters)")
        return letters

    def stored(self) -> dict | None:
        """The JSON kept in annotations.meta (None when nothing was sent)."""
        return self.model_dump(exclude_none=True) or None


class SubmitBody(_Strict):
    """POST /api/assignments/{id}/submit"""

    answer: dict[str, Any]
    duration_ms: int | None = Field(default=None, ge=0, le=MAX_MS)
    meta: AnswerMeta | None = None


class AnswerChange(_Strict):
    """PUT /api/annotations/{id}: the worker's changed answer."""

    answer: dict[str, Any]
    meta: AnswerMeta | None = None


class SkipReason(str, enum.Enum):
    """Why a worker skipped a task."""

    unclear = "unclear"
    offensive = "offensive"
    broken_media = "broken_media"
    other = "other"


class SkipBody(_Strict):
    """POST /api/assignments/{id}/skip (the body is optional: a skip without a reason)."""

    reason: SkipReason | None = None
    note: str | None = Field(default=None, max_length=500, description="the worker's words; needed for 'other'")


class ReportBody(_Strict):
    """POST /api/assignments/{id}/report: a problem with the task, in the worker's words."""

    text: str = Field(min_length=1, max_length=2000)


def parse(model: type[M], body: Any) -> M:
    """Validate body against model; the first problem becomes an InvalidInput naming its field."""
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object", field="body")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error.get("loc", ())
               if not str(part).startswith(("int", "RedundancySpec", "literal["))]
        field = ".".join(loc) or "body"
        message = error.get("msg", "invalid value").removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            message = "is not a known field"
        elif error.get("type") == "missing":
            message = "is required"
        raise InvalidInput(f"{field}: {message}", field=field) from None
