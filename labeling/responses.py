"""API output shapes: what each handler's JSON holds, no more (additionalProperties false). The OpenAPI document
(labeling/api/openapi.py) is built from them with the input shapes of labeling/schemas.py, and tests check real
responses against it (tests/test_openapi.py, tests/test_schemathesis.py)."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from labeling.schemas import JsonObject, LabelSpec, RedundancySpec, RoleName, SkipReason, StatusName
from labeling.tasktypes import TaskType

Id = Annotated[int, Field(ge=1, le=2**63 - 1, json_schema_extra={"format": "int64"})]

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"}, description="ISO 8601, UTC")]
Count = Annotated[int, Field(ge=0)]
T = TypeVar("T")


class Out(BaseModel):
    """A response body: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


class Page(Out, Generic[T]):
    """A page of a list; `next` is the cursor of the following page (null on the last)."""

    data: list[T]
    next: str | None


class FieldError(BaseModel):
    """One wrong field of a body with several."""

    field: str
    message: str


class ErrorDetail(BaseModel):
    """What went wrong: a code, words, the field (or line) at fault."""

    model_config = ConfigDict(extra="allow")  # an error may carry more detail, e.g. `line` of an import
    code: str = Field(description="invalid, unauthenticated, account_deactivated, forbidden, worker_blocked, "
                                  "not_found, conflict, lease_expired, project_paused, project_archived, "
                                  "precondition_failed, too_large, method_not_allowed, "
                                  "client_disconnected, internal; redirect with a 307 (an API path with or without "
                                  "a final '/' its endpoint lacks)")
    message: str
    field: str | None
    line: int | None = Field(default=None, ge=1, description="the line of an imported file at fault")
    index: int | None = Field(default=None, ge=0, description="the index of an imported task at fault")
    file: str | None = Field(default=None, description="the uploaded file at fault")
    errors: list[FieldError] | None = Field(default=None, description="every wrong field, when a body has several "
                                                                     "(the first is `field` and `message`)")


class Error(Out):
    """Every error response."""

    error: ErrorDetail


class Me(Out):
    """Who a token or session is."""

    id: Id
    username: str
    role: RoleName


class User(Out):
    """An account (never its password or token)."""

    id: Id
    username: str
    role: RoleName
    is_active: bool
    created_at: Timestamp


class UserPage(Page[User]):
    """A page of accounts."""


class UserCreated(Out):
    """A new account with its API token (shown this once)."""

    id: Id
    username: str
    role: RoleName
    token: str


class UserDeactivated(User):
    """A deactivated account, and how many of its live leases went back to the queue."""

    leases_released: Count


class Token(Out):
    """A new API token (shown this once); the old one no longer works."""

    id: Id
    username: str | None = None
    token: str


class PasswordResetDone(Out):
    """A password was reset; the user's sessions ended."""

    id: Id
    password_reset: bool


class LabelStyle(Out):
    """How the worker UI shows a label."""

    name: str
    color: str
    text_color: str
    edge_color: str
    hotkey: str | None


class Progress(Out):
    """A project's progress."""

    tasks: Count
    gold_tasks: Count
    complete: Count
    remaining: Count
    annotations: Count
    skips: Count
    live_leases: Count
    percent_complete: float = Field(ge=0, le=100)


class ProjectForWorkers(Out):
    """What a worker sees of a project: what labeling needs."""

    id: Id
    name: str
    task_type: TaskType
    labels: list[str]
    label_styles: list[LabelStyle]
    edit_window: Literal["off", "until_final"] | int
    instructions: str
    status: StatusName


class ProjectSummary(Out):
    """A project with its settings, as its requester (or an admin) sees it in a list."""

    id: Id
    name: str
    task_type: TaskType
    labels: list[str | LabelSpec]
    label_styles: list[LabelStyle]
    instructions: str
    redundancy: int | RedundancySpec
    lease_seconds: int
    gold_first_n: int
    gold_fraction: float
    gold_min: int
    gold_threshold: float
    options: JsonObject
    edit_window: Literal["off", "until_final"] | int
    owner_id: Id
    status: StatusName
    all_workers: bool
    created_at: Timestamp
    updated_at: Timestamp


class Project(ProjectSummary):
    """A project with its settings and progress, as its requester (or an admin) sees it."""

    progress: Progress


class ProjectPage(Page[ProjectSummary | ProjectForWorkers]):
    """A page of projects, each as the caller may see it."""


ProjectView = Annotated[Project | ProjectForWorkers, Field(description="with settings and progress for its "
                                                                       "requester or an admin; else as workers see it")]


class ProjectDeletedCounts(Out):
    """What went with a deleted project."""

    project_id: Id
    name: str
    tasks: Count
    annotations: Count
    media_files: Count = Field(description="uploaded images no other project of the owner shows (they leave the "
                                           "disk unless another owner's project shows the same image: not told)")


class ProjectDeleted(Out):
    """A project was deleted with everything under it."""

    deleted: ProjectDeletedCounts


class PoolWorker(Out):
    """A worker listed in a pool."""

    id: Id
    username: str


class PoolTeam(Out):
    """A team listed in a pool."""

    id: Id
    name: str


class Pool(Out):
    """Who may work on a project: every worker, or those listed and the members of the teams listed."""

    project_id: Id
    all_workers: bool
    workers: list[PoolWorker]
    teams: list[PoolTeam]


class Imported(Out):
    """How many tasks an import created."""

    created: Count


class Task(Out):
    """A task."""

    id: Id
    external_id: str | None
    data: JsonObject
    gold: JsonObject | None
    predictions: JsonObject | None
    priority: int
    state: Literal["open", "complete"]
    n_annotations: Count
    needed: Count
    created_at: Timestamp


class TaskPage(Page[Task]):
    """A page of tasks in import order."""


class Consensus(Out):
    """A task's stored consensus."""

    answer: JsonObject | None
    confidence: float | None
    n_annotations: Count
    method: str | None
    updated_at: Timestamp | None


class AnswerDetail(Out):
    """One answer to a task, with what its worker was shown."""

    id: Id
    worker_id: Id
    username: str
    answer: JsonObject
    meta: JsonObject | None
    duration_ms: int | None
    is_gold: bool
    gold_score: float | None
    counted: bool
    created_at: Timestamp
    edited_at: Timestamp | None


class SkipDetail(Out):
    """A worker's skip of a task."""

    assignment_id: Id
    worker_id: Id
    username: str
    reason: str | None
    note: str | None
    skipped_at: Timestamp | None


class ReportDetail(Out):
    """A worker's problem report about a task."""

    id: Id
    worker_id: Id
    username: str
    text: str
    created_at: Timestamp


class TaskReview(Out):
    """A requester's review of a task's consensus."""

    kind: Literal["accept", "override"]
    answer: JsonObject | None = Field(description="an override's answer")
    reviewer: str
    created_at: Timestamp


class TaskDetail(Task):
    """A task with every answer, skip and problem report, its consensus and its review."""

    consensus: Consensus | None
    review: TaskReview | None
    annotations: list[AnswerDetail]
    skips: list[SkipDetail]
    reports: list[ReportDetail]


class TasksDeleted(Out):
    """How many tasks were deleted (with their answers and results)."""

    deleted: Count


class LeaseTask(Out):
    """The task of a lease: never whether it is gold."""

    id: Id
    data: JsonObject
    predictions: JsonObject | None = None
    media: dict[str, str] | None = Field(default=None, description="short-lived signed URLs of the task's media "
                                                                   "files, by their reference in data")


class Lease(Out):
    """A task leased to this worker until `expires_at`."""

    assignment_id: Id
    task: LeaseTask
    expires_at: Timestamp
    expires_in: float = Field(ge=0, description="seconds left")
    resume: str = Field(description="give it back with `prefer_task` (`next?prefer_task=TASK&resume=VALUE`) to get "
                                    "this task again after releasing the lease")


class Submitted(Out):
    """A stored answer."""

    annotation_id: Id
    assignment_id: Id
    task_id: Id
    created_at: Timestamp
    task_complete: bool


class Skipped(Out):
    """A skipped assignment."""

    assignment_id: Id
    status: Literal["skipped"]
    reason: SkipReason | None


class Released(Out):
    """A lease given back."""

    assignment_id: Id
    status: Literal["released"]


class Reported(Out):
    """A stored problem report."""

    report_id: Id
    assignment_id: Id
    task_id: Id
    created_at: Timestamp


class MyAnswerTask(Out):
    """The task a worker answered."""

    id: Id
    data: JsonObject


class MyAnswer(Out):
    """One of the worker's answers, and whether it may still change."""

    annotation_id: Id
    assignment_id: Id
    task: MyAnswerTask
    answer: JsonObject
    created_at: Timestamp
    edited_at: Timestamp | None
    editable: bool
    editable_until: Timestamp | None


class MyAnswerPage(Page[MyAnswer]):
    """A page of the worker's answers, newest first."""


class AnswerChanged(Out):
    """A changed answer."""

    annotation_id: Id
    task_id: Id
    edited_at: Timestamp
    task_complete: bool


class WorkerCounts(Out):
    """A worker's counts in a project."""

    left_for_worker: Count
    done_today: Count
    total: Count
    n_gold: Count
    gold_accuracy: float | None
    blocked: bool


class WorkerProgress(Out):
    """The project's progress and the worker's counts in it."""

    project: Progress
    worker: WorkerCounts


class Result(Out):
    """A task's consensus."""

    task_id: Id
    external_id: str | None
    answer: JsonObject | None
    confidence: float | None
    n_annotations: Count
    complete: bool
    method: str | None
    details: JsonObject | None = Field(description=(
        "the method's evidence: votes, posteriors (multi-label: probabilities), agreement...; with more than 20 "
        "labels, only the labels in play (voted for or of probability 0.001 or more; multi-label: chosen by some "
        "answer or in the consensus) and other_labels_max, the largest value left out"))
    reviewed: bool = Field(description="a requester accepted or overrode this consensus")
    review: Literal["accept", "override"] | None
    crowd_answer: JsonObject | None = Field(description="the workers' consensus (`answer` is the override, if any)")


class ResultPage(Page[Result]):
    """A page of consensus results in task order."""


class Agreement(Out):
    """Agreement between workers over the project (null where it does not apply)."""

    model_config = ConfigDict(extra="allow")  # task types add their own measures
    krippendorff_alpha: float | None
    fleiss_kappa: float | None
    percent_agreement: float | None
    n_tasks: Count | None = Field(None, description="the regular tasks with 2 answers or more the figures are over")
    gold_tasks_left_out: Count | None = Field(None, description="gold tasks with answers, left out of the figures")
    fleiss_kappa_tasks: Count | None = Field(None, description=(
        "classification: the tasks kappa is over, those with the most common number of answers"))
    fleiss_kappa_answers: Count | None = Field(None, description="classification: that number of answers")


class WorkerQuality(Out):
    """One worker's quality in a project."""

    worker_id: Id
    username: str | None
    n_annotations: Count
    agreement_with_consensus: float | None
    gold_accuracy: float | None
    gold_n: Count
    skill: float | None
    blocked: bool = False
    skips: Count = 0
    mean_iou: float | None = None
    kendall_tau: float | None = None
    n_answers: Count = Field(0, description="answers given, excluded ones too (n_annotations: those counted)")
    median_ms: int | None = Field(None, ge=0, description="median time per answer, in milliseconds")


class LabelCount(Out):
    """How often a label was given in the counted answers and in the tasks' answers (the consensus, or the
    requester's override)."""

    label: str
    answers: Count
    consensus: Count


class ThroughputBucket(Out):
    """Answers received in one time bucket."""

    start: float = Field(description="the bucket's start, unix seconds")
    answers: Count


class Throughput(Out):
    """Answers per time bucket, oldest first, empty buckets included."""

    bucket_seconds: int = Field(gt=0)
    buckets: list[ThroughputBucket]


class Confusion(Out):
    """Classification: each task's final label (rows: a reviewer's override, else the consensus) against the
    workers' answers (columns), by label."""

    labels: list[str]
    matrix: list[list[int]]


class QualitySample(Out):
    """The sample of tasks a large project's quality report was computed on."""

    tasks: Count = Field(description="tasks in the sample (every n-th task id)")
    of_tasks: Count
    answers: Count = Field(description="answers to the sampled tasks")
    of_answers: Count


class Quality(Out):
    """Agreement, the least agreed tasks, worker scores, confusion, progress.

    A project of more than 10,000 tasks is measured on a sample of about 10,000 of them (`sample`): agreement, the
    least agreed tasks, the confusion matrix, the label distribution and median times are the sample's; workers'
    answer counts, gold accuracy and skill are their whole record, and throughput is scaled to all answers."""

    agreement: Agreement
    tasks: dict[str, JsonObject] = Field(description="the least agreed tasks, by task id")
    workers: list[WorkerQuality]
    confusion: Confusion | None
    progress: Progress
    label_distribution: list[LabelCount]
    throughput: Throughput
    sample: QualitySample | None = Field(None, description="null: computed on every task")


class Recomputed(Out):
    """What a consensus recomputation covered."""

    tasks: Count
    annotations: Count
    workers: Count
    method: str
    reopened: Count = Field(description="completed tasks of an adaptive project asked for one more answer, because "
                                        "the project consensus names another answer or is far under the target")
    answer_correlation: float | None = Field(
        None, ge=0, description="classification and multilabel: how correlated the answers to one task are "
        "(rho, a design effect's parameter from 0 to 1.5, not a correlation coefficient: above 1 counts n answers as "
        "less than one); until the next recomputation, each settled task's confidence counts its n answers as "
        "n / (1 + (n - 1) * rho) independent ones. Fitted on the gold tasks when at least 10 have answers, else on held-out answers; null "
        "for other task types")
    selection: JsonObject | None = Field(
        None, description="method auto on a classification or multilabel project: how it picked `method`. `rule` "
        "(\"held-out gold\" when 10 or more gold tasks have answers: the candidates' `heldout_gold_right` of "
        "`heldout_gold_n`; else \"held-out answers\": the best `heldout_loglik_per_answer`; multilabel: \"per "
        "label\"), `picked` (per label for multilabel); null for a method named, or another task type")
    seconds: float = Field(ge=0)


class WorkerBlock(Out):
    """A worker blocked (or unblocked) in a project."""

    worker_id: Id
    blocked: bool
    tasks_reopened: Count | None = None


class AnswersRemoved(Out):
    """A worker's answers in a project removed, and the consensus recomputed without them."""

    worker_id: Id
    answers_deleted: Count
    tasks_reopened: Count
    consensus: Recomputed | None = Field(description="the recompute without them; null when it could not run")
    consensus_not_recomputed: str | None = Field(
        description="why the consensus was not recomputed (the project was archived or changed meanwhile: recompute "
                    "it when it takes it); null when it was")


class Team(Out):
    """A team and its number of members."""

    id: Id
    name: str
    owner_id: Id
    members: Count
    created_at: Timestamp


class TeamPage(Page[Team]):
    """A page of teams."""


class TeamMember(Out):
    """A member of a team."""

    id: Id
    username: str
    is_active: bool


class TeamMemberPage(Page[TeamMember]):
    """A page of a team's members."""


class MembersAdded(Out):
    """How many workers joined a team."""

    team_id: Id
    added: Count


class MemberRemoved(Out):
    """A worker left a team."""

    team_id: Id
    removed: Id


class TeamDeletedName(Out):
    """The team that was deleted."""

    team_id: Id
    name: str


class TeamDeleted(Out):
    """A team was deleted."""

    deleted: TeamDeletedName


class AuditEntry(Out):
    """One audited action."""

    id: Id
    at: Timestamp
    actor: str | None
    actor_id: Id | None
    action: str
    object_type: str | None
    object_id: int | None
    project_id: Id | None
    details: JsonObject | None


class AuditPage(Page[AuditEntry]):
    """A page of the audit log, newest first."""


class StoredImage(Out):
    """An uploaded image: its media path (for a task's data.image) and size."""

    path: str
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    filename: str


class Uploaded(Out):
    """The images stored by an upload."""

    data: list[StoredImage]


class Reviewed(Out):
    """A task after a requester's review action: its state, its review and its consensus."""

    task_id: Id
    state: str
    needed: Count
    n_done: Count
    review: Literal["accept", "override"] | None
    consensus: JsonObject | None = Field(description="the workers' consensus")
    confidence: float | None
    answer: JsonObject | None = Field(None, description="an override: the requester's answer, as stored")
    annotation_id: Id | None = Field(None, description="an exclusion: the answer")
    excluded: bool | None = None
    changed: bool | None = Field(None, description="an exclusion: whether the answer's standing changed; more "
                                                   "answers: whether the task's `needed` went up (false: it "
                                                   "already wanted the `needed` sent)")


class Health(Out):
    """The server is up and its database answers."""

    status: Literal["ok"]


class OpenAPIDocument(Out):
    """This OpenAPI 3.1 document."""

    openapi: Literal["3.1.0"]
    info: dict[str, Any]
    paths: dict[str, dict[str, Any]]
    components: dict[str, Any]
