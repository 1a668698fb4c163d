"""API input shapes (Pydantic via SQLModel) and the one place their errors become InvalidInput."""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr,
                      ValidationError, ValidationInfo, field_validator, model_validator)
from sqlmodel import SQLModel

from labeling import jsonio, paging
from labeling.auth import MAX_PASSWORD, MIN_PASSWORD, USERNAME_RE
from labeling.consensus.tasks import PROJECT_METHODS
from labeling.errors import InvalidInput
from labeling.models import ProjectStatus, Role
from labeling.settings import Settings
from labeling.tasktypes import TaskType
from labeling.tasktypes import base as tasktype_base

M = TypeVar("M", bound=BaseModel)
DEFAULTS = Settings()  # the caps when no settings are given (and in the OpenAPI document)
StatusName = Literal["active", "paused", "archived"]
# A worker named by id or by username (teams, pools).
WorkerRef = StrictInt | StrictStr
LABEL_COLOR = r"^#(?:[0-9a-fA-F]{3}){1,2}$"
LABEL_HOTKEY = r"^[A-Za-z]$"
PROJECT_IDS = r"^[1-9][0-9]{0,18}(,[1-9][0-9]{0,18})*$"
MAX_REFS = 10_000
# The largest body of a list of refs (tasks to delete, a pool, a team's members): MAX_REFS of them at 1 KiB each (a
# username of 100 characters written in \uXXXX escapes is 600 bytes). Parsed on the event loop, so nothing larger is
# read there: under LABELING_MAX_BODY_BYTES alone (256 MiB), one pool or team body held the server for minutes.
REFS_BODY_BYTES = MAX_REFS * 1024
# RFC 9110's If-Match: "*", or entity tags (optionally weak, W/) separated by commas (the API's check and its OpenAPI)
ENTITY_TAGS = r'^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$'


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
    """Unknown fields refused; no type coercion: `true` is no integer, `1` no boolean, `1.5` no integer, `"1"`
    no number (an integer is a number). Enums take their values (`Field(strict=False)`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _one_unknown_field(cls, data: Any, info: ValidationInfo) -> Any:
        """Refuse unknown fields naming the first one only. pydantic reports every unknown key, and the route's
        error is built from its list (ValidationError.errors() costs about 5 microseconds an error): a body of
        keys alone took 1.4 s a megabyte to answer 400. The known fields are validated first, so a field's own
        error still comes before an unknown key's, as pydantic orders them."""
        if not isinstance(data, dict):
            return data
        known = _known_fields(cls)
        unknown = next((key for key in data if key not in known), None)
        if unknown is None:
            return data
        extra = {"type": "extra_forbidden", "loc": (unknown,), "input": data[unknown]}
        try:
            cls.__pydantic_validator__.validate_python({key: value for key, value in data.items() if key in known},
                                                       context=info.context)
        except ValidationError as exc:  # the known fields' errors, then the unknown key's: every wrong field listed
            raise ValidationError.from_exception_data(cls.__name__, [*exc.errors(include_url=False), extra]) from None
        raise ValidationError.from_exception_data(cls.__name__, [extra])


def _known_fields(model: type[BaseModel]) -> frozenset[str]:
    """The keys a request model reads (a field's alias, where it has one)."""
    known = _KNOWN.get(model)
    if known is None:
        known = _KNOWN[model] = frozenset(info.alias or name for name, info in model.model_fields.items())
    return known


_KNOWN: dict[type, frozenset[str]] = {}


Strict = _Strict  # the base of request shapes declared beside their routes (labeling/api/export.py)


def _cap(setting: str) -> int:
    """A size cap's declared default, for the document."""
    return int(getattr(DEFAULTS, setting))


def _limit(info: ValidationInfo, setting: str) -> int:
    """A size cap as this server is configured (parse's context), else its default."""
    settings = (info.context or {}).get("settings") or DEFAULTS
    return int(getattr(settings, setting))


def _no_defaults(schema: dict[str, Any]) -> None:
    """A PATCH body's fields may be left out but never be null: the document shows them without a default."""
    for field in schema.get("properties", {}).values():
        field.pop("default", None)


class LabelSpec(_Strict):
    """A label with how the worker UI shows it: `{"name": "red", "color": "#d33", "hotkey": "r"}`."""

    name: str
    color: str | None = Field(default=None, pattern=LABEL_COLOR, description="#rgb or #rrggbb")
    hotkey: str | None = Field(default=None, pattern=LABEL_HOTKEY, description="one letter")


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
        message = words(error)
        if where == "color":
            message = "must be #rgb or #rrggbb"
        elif where == "hotkey":
            message = "must be one letter"
        raise ValueError(f"labels[{i}].{where}: {message}") from None


# Bidirectional embeddings, overrides and isolates: in a label they turn the text around it on the page (the
# worker's buttons, the console, an export read in an editor) while the stored name says otherwise.
BIDI_CONTROLS = tasktype_base.BIDI_CONTROLS


def unfit_character(name: str) -> str | None:
    """What makes a label name unfit to show and to write into exports, in words; None when it is fit: a control
    character (a line break or a tab splits a CSV row or a CoNLL column) or a bidirectional control."""
    for char in name:
        if unicodedata.category(char) == "Cc":
            return f"a control character (U+{ord(char):04X}); a label is one line of text"
        if char in BIDI_CONTROLS:
            return f"a bidirectional control character (U+{ord(char):04X}), which turns the text around it"
    return None


def label_key(name: str) -> str:
    """A label name as the eye reads it: composed (NFC), without the characters a page shows as nothing (zero-width
    spaces and joiners, soft hyphens, variation selectors), every run of spaces one space. Two labels with one key
    are one label to a worker."""
    visible = "".join(c for c in unicodedata.normalize("NFC", name) if not tasktype_base.shows_as_nothing(c))
    return " ".join(visible.split())


def check_labels(labels: list[Any], most: int | None = None, longest: int | None = None) -> list[Label]:
    """Names (trimmed) of 1-`longest` characters and distinct, at most `most` labels; hotkeys distinct (lower case)."""
    most = _cap("max_labels") if most is None else most
    longest = _cap("max_label_chars") if longest is None else longest
    if len(labels) > most:
        raise ValueError(f"at most {most:,} labels (LABELING_MAX_LABELS)")
    cleaned: list[Label] = []
    for i, raw in enumerate(labels):
        label = _label(raw, i)
        if isinstance(label, LabelSpec):
            hotkey = label.hotkey.lower() if label.hotkey else None
            cleaned.append(label.model_copy(update={"name": label.name.strip(), "hotkey": hotkey}))
        else:
            cleaned.append(label.strip())
    first: dict[str, int] = {}
    composed: dict[str, int] = {}
    for i, name in enumerate(label_names(cleaned)):
        if not name or len(name) > longest:
            raise ValueError(f"labels[{i}] must be 1-{longest:,} characters (LABELING_MAX_LABEL_CHARS)")
        unfit = unfit_character(name)
        if unfit:
            raise ValueError(f"labels[{i}]: {name!r} holds {unfit}")
        if name in first:
            raise ValueError(f"labels[{i}]: {name!r} repeats labels[{first[name]}] (spaces around a label are not "
                             "part of it)")
        # 'café' with its accent composed or as e + combining accent, 'cat' and 'cat' with a zero-width space, 'a b'
        # and 'a  b' (a page shows a run of spaces as one): one label to the eye (the worker's buttons, the
        # console), two to the consensus, which would split their votes.
        key = label_key(name)
        if not key:
            raise ValueError(f"labels[{i}]: {name!r} has no visible character")
        if key in composed:
            raise ValueError(f"labels[{i}]: {name!r} looks the same as labels[{composed[key]}] (the same letters, "
                             "composed or not, with invisible characters or spaces between them)")
        first[name] = composed[key] = i
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


def _labels(labels: list[Any], info: ValidationInfo) -> list[Label]:
    return check_labels(labels, _limit(info, "max_labels"), _limit(info, "max_label_chars"))


MAX_EDIT_MINUTES = 7 * 24 * 60


def _edit_window(value: Any) -> Any:
    """Every form an edit window may take, in one message for any other value (a word, a fraction, a bound)."""
    minutes = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_EDIT_MINUTES
    if not minutes and value not in ("off", "until_final"):
        raise ValueError(f"must be 'until_final', 'off' or a whole number of minutes from 1 to {MAX_EDIT_MINUTES:,}")
    return value


def _instructions(text: str, info: ValidationInfo) -> str:
    most = _limit(info, "max_instructions_chars")
    if len(text) > most:
        raise ValueError(f"at most {most:,} characters (LABELING_MAX_INSTRUCTIONS_CHARS)")
    return text


def _options(options: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    most = _limit(info, "max_options_bytes")
    if jsonio.size(options) > most:
        raise ValueError(f"larger than {most:,} bytes as JSON (LABELING_MAX_OPTIONS_BYTES)")
    return options


def _answer(answer: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    most = _limit(info, "max_answer_bytes")
    if jsonio.size(answer) > most:
        raise ValueError(f"larger than {most:,} bytes as JSON (LABELING_MAX_ANSWER_BYTES)")
    return answer


Labels = Annotated[list[Any], AfterValidator(_labels), Field(
    json_schema_extra={"maxItems": _cap("max_labels"), "items": {"anyOf": [
        {"type": "string", "minLength": 1, "maxLength": _cap("max_label_chars")}, LabelSpec.model_json_schema()]}},
    description="Distinct labels, trimmed: names, or objects {name, color?, hotkey?}; at most LABELING_MAX_LABELS "
                "of at most LABELING_MAX_LABEL_CHARS each.")]
EditWindow = Annotated[Literal["off", "until_final"] | StrictInt, BeforeValidator(_edit_window), Field(
    description="How long workers may change their answers: 'off', 'until_final' (while the task is open) or "
                "a number of minutes")]
Instructions = Annotated[str, AfterValidator(_instructions), Field(
    json_schema_extra={"maxLength": _cap("max_instructions_chars")},
    description="Shown to workers; at most LABELING_MAX_INSTRUCTIONS_CHARS characters.")]
Options = Annotated[dict[str, Any], AfterValidator(_options), Field(
    description="Free-form settings; at most LABELING_MAX_OPTIONS_BYTES as compact JSON.")]
Answer = Annotated[dict[str, Any], AfterValidator(_answer), Field(
    description="The task type's answer (see the task types); at most LABELING_MAX_ANSWER_BYTES as compact JSON.")]
# Every character Python's str.strip() takes away (str.isspace): a text of these alone is blank. Written out, not
# as \s, so that the document's pattern means the same to every regex engine that reads it.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
NOT_BLANK = f"[^{WHITESPACE}]"  # a pattern: at least one character that is not white space


# A name shown as a link and typed back (CLI PROJECT, ?confirm=): one of white space alone would be invisible.
Name = Annotated[str, Field(max_length=200, pattern=NOT_BLANK, description="not empty, nor only white space")]
Redundancy = Annotated[int, Field(ge=1, le=100)]
LeaseSeconds = Annotated[int, Field(ge=1, le=7 * 86400)]
GoldFirstN = Annotated[int, Field(ge=0, le=10_000, description="Gold tasks shown first to each worker")]
GoldFraction = Annotated[float, Field(ge=0, le=1, description="Share of gold tasks after the first N")]
GoldMin = Annotated[int, Field(ge=1, le=10_000, description="Gold answers needed before a worker can be blocked")]
GoldThreshold = Annotated[float, Field(ge=0, le=1, description="Gold accuracy below which a worker is blocked")]


def project_body_limit(settings: Settings) -> int:
    """The largest body a project's create or update may need: its caps at six bytes a character (JSON's
    `\\uXXXX`), and room for the rest. Read on the event loop, so nothing larger is parsed there."""
    return (settings.max_options_bytes + 6 * settings.max_instructions_chars
            + settings.max_labels * (6 * settings.max_label_chars + 8) + 64 * 1024)


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

    username: str = Field(min_length=1, max_length=100, pattern=USERNAME_RE.pattern)
    role: Role = Field(strict=False)
    password: str | None = Field(default=None, min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)


class ProjectBase(_Strict):
    """Settings shared by create and update."""

    labels: Labels = Field(default_factory=list)
    instructions: Instructions = ""
    redundancy: Redundancy | RedundancySpec = 1
    lease_seconds: LeaseSeconds = 600
    gold_first_n: GoldFirstN = 0
    gold_fraction: GoldFraction = 0.0
    gold_min: GoldMin = 5
    gold_threshold: GoldThreshold = 0.0
    options: Options = Field(default_factory=dict)
    edit_window: EditWindow = "until_final"


class ProjectCreate(ProjectBase):
    """POST /api/projects"""

    name: Name
    task_type: TaskType = Field(strict=False)
    status: StatusName = Field(default="active", description="Only an active project hands out tasks")


class InstructionsPreview(_Strict):
    """POST /console/preview: instructions to render as the worker page shows them."""

    instructions: Instructions
    top_heading: int = Field(3, ge=1, le=6, description="the level of a `#` heading (the form's preview nests it "
                                                        "under its own heading)")


class ProjectUpdate(_Strict):
    """PATCH /api/projects/{id}: any subset of the settings (task_type cannot change); none of them null."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_no_defaults)
    # None stands for "left out" (the defaults are not validated): a null sent is refused like any wrong type.
    name: Name = None  # type: ignore[assignment]
    labels: Labels = None  # type: ignore[assignment]
    instructions: Instructions = None  # type: ignore[assignment]
    redundancy: Redundancy | RedundancySpec = None  # type: ignore[assignment]
    lease_seconds: LeaseSeconds = None  # type: ignore[assignment]
    gold_first_n: GoldFirstN = None  # type: ignore[assignment]
    gold_fraction: GoldFraction = None  # type: ignore[assignment]
    gold_min: GoldMin = None  # type: ignore[assignment]
    gold_threshold: GoldThreshold = None  # type: ignore[assignment]
    options: Options = None  # type: ignore[assignment]
    edit_window: EditWindow = None  # type: ignore[assignment]
    status: StatusName = Field(default=None, description="active, paused (no new tasks; leases handed out "  # type: ignore[assignment]
                               "may still be answered) or archived (read-only; live leases are released)")


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


class PoolUpdate(_Strict):
    """PUT /api/projects/{id}/pool: every worker, or only the workers and teams listed (the owner always may label)."""

    all_workers: bool = Field(description="true: every worker may work on the project; false: only those listed")
    workers: list[WorkerRef] = Field(default_factory=list, max_length=MAX_REFS, description="worker ids or usernames")
    teams: list[StrictInt] = Field(default_factory=list, max_length=MAX_REFS, description="team ids")


class TeamCreate(_Strict):
    """POST /api/teams"""

    name: Name
    members: list[WorkerRef] = Field(default_factory=list, max_length=MAX_REFS, description="worker ids or usernames")


class TeamMembers(_Strict):
    """POST /api/teams/{id}/members"""

    workers: list[WorkerRef] = Field(min_length=1, max_length=MAX_REFS, description="worker ids or usernames")


class PasswordReset(_Strict):
    """POST /api/users/{id}/password"""

    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)


class TasksDelete(_Strict):
    """DELETE /api/projects/{id}/tasks"""

    task_ids: list[StrictInt] = Field(default_factory=list, max_length=MAX_REFS)
    external_ids: list[StrictStr] = Field(default_factory=list, max_length=MAX_REFS)
    confirm: bool = Field(description="must be true: deleted tasks take their answers and results with them",
                          json_schema_extra={"const": True})


class SubmitBody(_Strict):
    """POST /api/assignments/{id}/submit"""

    answer: Answer
    duration_ms: int | None = Field(default=None, ge=0, le=MAX_MS)
    meta: AnswerMeta | None = None


class AnswerChange(_Strict):
    """PUT /api/annotations/{id}: the worker's changed answer."""

    answer: Answer
    meta: AnswerMeta | None = None


class OverrideBody(_Strict):
    """POST /api/projects/{id}/tasks/{task_id}/override: the requester's own answer, checked as a worker's is."""

    answer: Answer


class MoreAnswersBody(_Strict):
    """POST /api/projects/{id}/tasks/{task_id}/more-answers: optionally, the answers the task is to want after the
    call (the `needed` read, plus one), which makes the call safe to retry: a task that already wants them is left
    as it is. Without it each call asks for one more."""

    needed: int | None = Field(None, ge=1, le=2**31 - 1, description=(
        "the task's `needed` as you read it, plus one; a task that already wants this many answers is left as it "
        "is (200, `changed` false), one that wants another number is a 409 naming it"))


class ExcludeBody(_Strict):
    """POST /api/projects/{id}/tasks/{task_id}/answers/{annotation_id}/exclude: leave the answer out of the
    consensus (true, the default) or count it again (false)."""

    excluded: bool = True


class SkipReason(str, enum.Enum):
    """Why a worker skipped a task."""

    unclear = "unclear"
    offensive = "offensive"
    broken_media = "broken_media"
    other = "other"


class SkipBody(_Strict):
    """POST /api/assignments/{id}/skip (the body is optional: a skip without a reason)."""

    reason: SkipReason | None = Field(default=None, strict=False)
    note: str | None = Field(default=None, max_length=500, description="the worker's words; needed for 'other'")


class ReportBody(_Strict):
    """POST /api/assignments/{id}/report: a problem with the task, in the worker's words."""

    text: str = Field(min_length=1, max_length=2000, pattern=NOT_BLANK, description="not only white space")


class RecomputeBody(_Strict):
    """POST /api/projects/{id}/consensus (the body may be left out)"""

    method: Literal[PROJECT_METHODS] = "auto"  # type: ignore[valid-type]


def _digits(value: Any) -> Any:
    """A query parameter's whole number: digits only (no sign, spaces, underscores or decimals)."""
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]{1,19}", value):
            raise ValueError("must be a whole number written in digits")
        return int(value)
    return value


def _word(value: Any) -> Any:
    """A query parameter's boolean: true or false."""
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise ValueError("must be true or false")
        return value == "true"
    return value


QueryInt = Annotated[int, BeforeValidator(_digits)]
QueryBool = Annotated[bool, BeforeValidator(_word)]


class PageQuery(_Strict):
    """?cursor=&limit= of a list: `cursor` is a page's `next`."""

    cursor: str | None = Field(default=None, min_length=1, max_length=200)
    limit: QueryInt = Field(default=paging.DEFAULT_LIMIT, ge=1, le=paging.MAX_LIMIT)


class ProjectListQuery(PageQuery):
    """GET /api/projects: a page, optionally only the projects of one status."""

    status: StatusName | None = None


class TaskListQuery(PageQuery):
    """GET /api/projects/{id}/tasks: a page, optionally only open or complete, gold or regular tasks."""

    state: Literal["open", "complete"] | None = None
    gold: QueryBool | None = None


def _fraction(value: Any) -> Any:
    """A query parameter's number from 0 to 1, written plainly (0.25, .5, 1)."""
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]{0,3}(\.[0-9]{1,12})?", value) or value in ("", "."):
            raise ValueError("must be a number from 0 to 1, like 0.5")
        return float(value)
    return value


QueryFraction = Annotated[float, BeforeValidator(_fraction), Field(ge=0, le=1)]


class ResultsQuery(_Strict):
    """GET /console/projects/{id}/results: filters, the order (least certain or most disputed first, or import
    order) and the keyset cursor of the page."""

    sort: Literal["confidence", "disagreement", "id"] | None = None
    state: Literal["open", "complete"] | None = None
    confidence_min: QueryFraction | None = None
    confidence_max: QueryFraction | None = None
    agreement_min: QueryFraction | None = None
    agreement_max: QueryFraction | None = None
    gold: QueryBool | None = None
    label: str | None = Field(default=None, min_length=1, max_length=200)
    worker: str | None = Field(default=None, min_length=1, max_length=100, description="a worker's username")
    reported: QueryBool | None = None
    reviewed: QueryBool | None = None
    after: str | None = Field(default=None, min_length=1, max_length=200)


# Parts of an error's location that name a branch of a union or a validator, not a field.
_BRANCH = re.compile(r"^(?:[A-Z]\w*|int|float|str|bool|list|dict|constrained-.*|function-.*|.*\[.*)$")


# What each pattern a field is checked against asks for, in plain words (pydantic would quote the regex).
PATTERN_WORDS = {
    NOT_BLANK: "must not be blank",
    USERNAME_RE.pattern: "must be 1-100 letters, digits or the characters _ . @ -, starting with a letter or digit "
                         "(no spaces)",
    LABEL_COLOR: "must be #rgb or #rrggbb",
    LABEL_HOTKEY: "must be one letter",
    PROJECT_IDS: "must be project ids separated by commas, e.g. 1,2,3",
}


def parse(model: type[M], body: Any, settings: Settings | None = None) -> M:
    """Validate body against model (size caps as `settings` sets them); the most specific problem becomes an
    InvalidInput naming its field (`redundancy.min`, `labels[2]`)."""
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object", field="body")
    try:
        return model.model_validate(body, context={"settings": settings or DEFAULTS})
    except ValidationError as exc:
        errors = exc.errors()
        fields: dict[Any, list[Any]] = {}  # the errors by the top-level field they are in, in the body's order
        for error in errors:
            fields.setdefault(error.get("loc", ())[:1], []).append(error)
        found = [_named(max(group, key=_went_furthest)) for group in fields.values()]
        field, message = found[0]
        # Every wrong field at once too (a form shows each beside its input), when there are more than one.
        extra = {"errors": [{"field": f, "message": f"{f}: {m}"} for f, m in found]} if len(found) > 1 else {}
        raise InvalidInput(f"{field}: {message}", field=field, **extra) from None


def _named(error: Any) -> tuple[str, str]:
    """The field one pydantic error is about (`redundancy.min`, `labels[2]`) and its words."""
    field = jsonio.format_path(part for part in error.get("loc", ())
                               if isinstance(part, int) or not _BRANCH.match(part)) or "body"
    message = words(error)
    # A validator that names an item of its field (`labels[3] must be...`) names the field more exactly.
    deeper = re.match(re.escape(field) + r"((?:\[\d+\]|\.\w+)+)(?=[: ])", message)
    if deeper is not None:
        field = field + deeper.group(1)
        message = message[deeper.end():].lstrip(":").lstrip()
    return field, message


def _number(value: Any) -> str:
    """A bound as people write it: 1, not 1.0."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)


def _count(n: Any, thing: str) -> str:
    return f"{_number(n)} {thing}{'' if n == 1 else 's'}"


_KINDS = {  # pydantic's error types, in plain words (the field is named before them)
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float", "int_parsing_size"), "must be a whole number"),
    **dict.fromkeys(("float_type", "float_parsing", "finite_number", "decimal_type", "decimal_parsing"),
                    "must be a number"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "must be true or false"),
    **dict.fromkeys(("string_type", "string_unicode", "str_type"), "must be text (a string)"),
    **dict.fromkeys(("list_type", "tuple_type", "set_type", "iterable_type"), "must be a list"),
    **dict.fromkeys(("dict_type", "model_type", "model_attributes_type", "dataclass_type"),
                    "must be an object"),
    "none_required": "must be null",
    "extra_forbidden": "is not a known field",
    "missing": "is required",
}
# pydantic's error types for a value of another type than a field (or a union's branch) takes.
_WRONG_TYPE = frozenset(kind for kind in _KINDS if kind.endswith(("_type", "_parsing")) or kind == "int_from_float")


def _went_furthest(error: Any) -> tuple[int, bool, bool]:
    """Of a union's branches, the one that went furthest: the deepest error, and at one depth a branch whose type
    the value has (`redundancy: {"min": 6, "max": 5}` is an object with a wrong bound, not a wrong whole number).
    A known field's own error comes before an unknown key beside it (`_Strict` lists both)."""
    kind = error.get("type", "")
    return len(error.get("loc", ())), kind != "extra_forbidden", kind not in _WRONG_TYPE


def words(error: Any) -> str:
    """One pydantic error as the API says it: plain words about the value and what is allowed ("must be at most
    1", "must be a whole number"), never the validation library's ("Input should be less than or equal to 1")."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in _KINDS:
        return _KINDS[kind]
    if kind == "less_than_equal":
        return f"must be at most {_number(ctx.get('le'))}"
    if kind == "less_than":
        return f"must be less than {_number(ctx.get('lt'))}"
    if kind == "greater_than_equal":
        return f"must be at least {_number(ctx.get('ge'))}"
    if kind == "greater_than":
        return f"must be more than {_number(ctx.get('gt'))}"
    if kind == "multiple_of":
        return f"must be a multiple of {_number(ctx.get('multiple_of'))}"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must be at least {_count(n, 'character')} long"
    if kind == "string_too_long":
        return f"must be at most {_count(ctx.get('max_length'), 'character')} long"
    if kind in ("too_short", "too_long"):
        thing = "entry" if ctx.get("field_type") == "Dictionary" else "item"
        n = ctx.get("min_length" if kind == "too_short" else "max_length")
        counted = _count(n, thing) if thing == "item" else f"{_number(n)} {'entry' if n == 1 else 'entries'}"
        return f"must have {'at least' if kind == 'too_short' else 'at most'} {counted}"
    if kind in ("literal_error", "enum"):
        return f"must be {ctx.get('expected', 'one of the values allowed')}"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        return PATTERN_WORDS.get(pattern, f"must match the pattern {pattern}")
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    # Anything else pydantic may say ("Input should be ...") in the same voice as the rest.
    return re.sub(r"^(?:Input|String|List|Value|Dictionary|Object|Tuple|Set|Decimal|Number) should ", "must ", message)


# ---- the model leaderboard (GET /api/projects/{id}/leaderboard, GET /api/leaderboard) ----------------------------

MAX_LEADERBOARD_PROJECTS = 50


class LeaderboardQuery(_Strict):
    """?by=&bootstrap=&seed= of a leaderboard."""

    by: str | None = Field(default=None, min_length=1, max_length=600, description=(
        "task data fields to break the leaderboard down by, comma-separated (at most 5), e.g. category"))
    bootstrap: QueryInt = Field(default=1000, ge=0, le=10_000, description="bootstrap resamples over prompts")
    seed: QueryInt = Field(default=0, ge=0, le=2**32 - 1, description="seed of the bootstrap")


def _project_ids(value: str) -> list[int]:
    ids: list[int] = []
    for part in value.split(","):
        number = jsonio.whole_number(part)
        if number is None or not 0 < number <= jsonio.INT_LIMIT:
            raise ValueError("must be project ids separated by commas, e.g. 1,2,3")
        if number not in ids:
            ids.append(number)
    if len(ids) > MAX_LEADERBOARD_PROJECTS:
        raise ValueError(f"at most {MAX_LEADERBOARD_PROJECTS} projects")
    return ids


class CombinedLeaderboardQuery(LeaderboardQuery):
    """GET /api/leaderboard?projects=1,2,3: one leaderboard over several of the caller's preference projects."""

    projects: Annotated[str, AfterValidator(_project_ids)] = Field(
        min_length=1, max_length=2000, pattern=PROJECT_IDS,
        description="project ids separated by commas; every one must be yours")


class _Out(BaseModel):
    """A response shape: unknown fields are a bug of the server (tests validate answers against it)."""

    model_config = ConfigDict(extra="forbid")


Interval = Annotated[list[float], Field(min_length=2, max_length=2, description="[low, high], 95%")]


class LeaderboardModel(_Out):
    """One model's line: rating on the Elo-like scale with its interval, rank with ties, and its battles."""

    model: str
    rating: float
    ci: Interval | None = Field(description="null without resamples (bootstrap 0, or a single prompt)")
    rank: int = Field(description="1 + the number of models whose whole interval lies above this one's (1 for "
                                  "every model when there is no interval)")
    battles: int
    wins: float
    ties: int
    losses: float
    win_rate: float | None = Field(description="wins over battles, ties as halves")


class LeaderboardPair(_Out):
    """Battles between two models."""

    a: str
    b: str
    battles: int
    a_wins: int
    b_wins: int
    ties: int


class WinRates(_Out):
    """Row model's win rate against the column model (ties as halves), observed and fitted."""

    models: list[str]
    observed: list[list[float | None]]
    fitted: list[list[float | None]]
    battles: list[list[int]]


class PositionAdvantage(_Out):
    """The fitted first-shown advantage, in rating points (ratings are net of it)."""

    elo: float
    ci: Interval | None


class PositionBias(_Out):
    """How often the response shown first (left) wins, against 50%, from answers that recorded the display order."""

    available: bool
    answers: int
    answers_with_order: int
    answers_without_order: int
    message: str | None = Field(default=None, description="e.g. how many answers have no display order")
    battles: int | None = None
    ties: int | None = None
    first_wins: int | None = None
    first_losses: int | None = None
    first_win_rate: float | None = None
    ci: Interval | None = Field(default=None, description="Wilson 95% interval widened by the prompts' design "
                                "effect; null without decided battles on two or more prompts")
    prompts: int | None = Field(default=None, description="prompts with decided battles (the interval's clusters)")
    design_effect: float | None = Field(default=None, description="the variance of the rate over prompts against "
                                        "independent battles' (at least 1); null without an interval")
    against: float | None = None


class MeanRating(_Out):
    """A model's mean 1-7 rating with its bootstrap interval."""

    mean: float
    n: int
    ci: Interval | None = Field(description="null without resamples (bootstrap 0, or a single prompt)")


class LeaderboardSettings(_Out):
    """How the leaderboard was computed and on what."""

    n_bootstrap: int
    seed: int
    scale: str
    anchor: str
    interval: str
    answers: int
    prompts: int
    battles: int


class LeaderboardLeftOut(_Out):
    """Answers not counted: on gold tasks, excluded, or of workers blocked in the project."""

    gold_tasks: int
    excluded: int
    blocked_workers: int


class LeaderboardProject(_Out):
    """One project's share of the battles, what was left out, and its position bias."""

    id: int
    name: str
    answers: int
    battles: int
    answers_without_two_models: int
    left_out: LeaderboardLeftOut
    position_bias: PositionBias


class LeaderboardPart(_Out):
    """The leaderboard of the battles of one value of a breakdown field."""

    battles: int
    prompts: int
    models: list[LeaderboardModel]


class Leaderboard(_Out):
    """GET /api/projects/{id}/leaderboard and GET /api/leaderboard (the CLI's leaderboard.json)."""

    projects: list[LeaderboardProject]
    settings: LeaderboardSettings
    models: list[LeaderboardModel]
    pairs: list[LeaderboardPair]
    win_rates: WinRates
    position_advantage: PositionAdvantage | None
    position_bias: PositionBias
    ratings: dict[str, MeanRating] | None
    breakdown: dict[str, dict[str, LeaderboardPart]]
    breakdown_notes: dict[str, str]


# ---------------------------------------------------------------------------------------------------------------
# Query strings the handlers read by hand (web.query reads the rest): their models document them.

RoleName = Literal["admin", "requester", "worker"]
JsonObject = dict[str, Any]


class UserListQuery(PageQuery):
    """GET /api/users: a page, optionally of one role, or only active (or deactivated) accounts."""

    role: RoleName | None = None
    active: QueryBool | None = None


class AuditQuery(PageQuery):
    """GET /api/audit: a page, newest first, optionally about one project or of one action."""

    project_id: QueryInt | None = Field(default=None, ge=1, le=2**63 - 1, json_schema_extra={"format": "int64"})
    action: str | None = Field(default=None, min_length=1, max_length=100)


class NextQuery(_Strict):
    """POST /api/projects/{id}/next?prefer_task=ID"""

    prefer_task: QueryInt | None = Field(default=None, ge=1, le=2**63 - 1, json_schema_extra={"format": "int64"},
                                         description="the task this worker just released: it is leased again "
                                                     "first if it still needs this worker (with `resume`)")
    resume: str | None = Field(default=None, min_length=1, max_length=64,
                               description="the `resume` value of the worker's lease on `prefer_task`")


class ProjectDeleteQuery(_Strict):
    """DELETE /api/projects/{id}?confirm=NAME"""

    confirm: str = Field(min_length=1, max_length=200, description="the project's name, to confirm")


class ConfirmQuery(_Strict):
    """?confirm=true: a destructive request says it means it."""

    confirm: QueryBool = Field(description="must be true", json_schema_extra={"const": True})


class TaskIn(_Strict):
    """One task of an import (labeling/tasks.py checks it, with the project's task type)."""

    data: JsonObject = Field(description="what the task type shows (see the task types)")
    gold: JsonObject | None = Field(default=None, description="the known answer of a gold task")
    predictions: JsonObject | None = Field(default=None, description="a model's answer, shown as a starting point")
    priority: int = Field(default=0, ge=-(2**31 - 1), le=2**31 - 1, description="higher is served first")
    external_id: str | None = Field(default=None, min_length=1, max_length=500,
                                    description="your id for the task; unique in the project")


BARE_TASK = {"type": "object", "not": {"required": ["data"]},
             "description": "bare data, or a manifest line ({\"source-ref\": ...} or {\"source\": ...})"}
