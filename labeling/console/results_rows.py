"""The results table's rows: one keyset page of a project's tasks with their consensus, filtered and ordered so
the least certain (or most disputed) come first. Every order walks an index of migration 0005 or the tasks'
(project, id) index from the cursor on and stops after a page; nothing counts the project's rows.

| order | walks | rows |
|---|---|---|
| confidence (least first) | ix_task_results_confidence (project, confidence, task), and ix_reviews_project (project, task) for the overrides | tasks with a consensus confidence, and overridden tasks |
| disagreement (least agreement first) | ix_task_results_agreement (project, AGREEMENT, task), and ix_reviews_project for the overrides | tasks whose type keeps an agreement figure, and overridden tasks |
| id (import order) | ix_tasks_project_id (project, id) | every task, open ones too |

A requester's override is the task's answer with confidence 1, as in /results and the exports, and it is settled:
fully agreed (agreement 1). The confidence and disagreement orders walk the crowd's figures of the tasks not
overridden and the overridden tasks (figure 1, by task id) side by side and merge them, so an override leaves the top
of both review orders; the confidence and agreement filters read the same figures. Each row keeps the crowd's own
figures as `crowd_confidence` and `crowd_agreement`.

Filters are conditions on the walk (a confidence or agreement range bounds the walk of its own order). A filter
that matches few rows makes a page read more of the index; the common ones (state, gold, a range) do not.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, case, cast, exists, func, literal, literal_column, or_, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import jsonio, models, schemas, tasktypes
from labeling.errors import InvalidInput

PAGE = 50
# Where each aggregation family keeps the labels of an answer: a single label, a list of labels, or items (boxes,
# spans) each with a label. Families without labels (ranking, demonstration) have no label filter.
LABEL_PLACES = {"classification": ("label", "one"), "multilabel": ("labels", "list"), "boxes": ("boxes", "items"),
                "spans": ("spans", "items")}


def agreement(dialect: str) -> Any:
    """The agreement figure of a task's consensus details, written exactly as ix_task_results_agreement's
    expression (migrations/versions/0005_reviews.py) so the planner walks that index."""
    d = models.task_results.c.details
    if dialect == "sqlite":
        return func.coalesce(func.json_extract(d, literal_column("'$.percent_agreement'")),
                             func.json_extract(d, literal_column("'$.agreement'")))
    return func.coalesce(cast(d.op("->>")(literal_column("'percent_agreement'")), Float),
                         cast(d.op("->>")(literal_column("'agreement'")), Float))


def sorts(spec: tasktypes.TaskTypeSpec) -> tuple[str, ...]:
    """The orders this task type's results have (its consensus must have a confidence, or an agreement figure)."""
    if spec.family == "demonstration":
        return ("id",)
    return ("confidence", "disagreement", "id") if spec.agreement_key else ("confidence", "id")


def encode_cursor(value: float | None, task_id: int, scope: str) -> str:
    """A cursor continuing after a row: its sort value and task id, in the list `scope` (project and order)."""
    payload = jsonio.dumps({"v": value, "id": task_id, "list": scope}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str) -> tuple[float | None, int]:
    """(sort value, task id) a cursor of the list `scope` continues after; InvalidInput naming `after` otherwise (a
    cursor of another project's results, or of another order, read as a place in this one skipped its rows)."""
    try:
        raw = jsonio.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, task_id = raw["v"], raw["id"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise ValueError
        if isinstance(task_id, bool) or not isinstance(task_id, int) or task_id < 0:
            raise ValueError
        same = raw.get("list", scope) == scope  # a cursor without a list: made before they had one
    except Exception:
        raise InvalidInput("after is not a cursor this page made", field="after") from None
    if not same:
        raise InvalidInput("after is the next page of another project's results or another order; start from the "
                           "first page", field="after")
    return (None if value is None else float(value)), task_id


@dataclass
class Page:
    """A page of rows (plain dicts) and the cursor of the next one (None on the last page)."""

    rows: list[dict]
    after: str | None
    sort: str


def _label_filter(dialect: str, spec: tasktypes.TaskTypeSpec, label: str) -> Any:
    """Rows whose label (the override's, else the consensus') is or includes `label`."""
    r, v = models.task_results, models.reviews
    place = LABEL_PLACES.get(spec.family)
    if place is None or not spec.needs_labels:
        raise InvalidInput(f"{spec.display_name} answers have no labels to filter by", field="label")
    key, shape = place
    answer = func.coalesce(v.c.answer, r.c.answer)
    if dialect == "postgresql":
        if shape == "one":
            return answer.op("->>")(literal_column("'label'")) == label
        probe = [label] if shape == "list" else [{"label": label}]
        return answer.op("->")(literal_column(f"'{key}'")).op("@>")(literal(probe, type_=JSONB))
    if shape == "one":
        return func.json_extract(answer, literal_column("'$.label'")) == label
    each = func.json_each(answer, literal_column(f"'$.{key}'")).table_valued("value").alias("item")
    value = each.c.value if shape == "list" else func.json_extract(each.c.value, literal_column("'$.label'"))
    return exists(select(literal_column("1")).select_from(each).where(value == label))


def _settled(overridden: Any, figure: Any) -> Any:
    """A task's confidence or agreement as /results gives it and the console orders and filters by it: 1 for an
    override (the requester's answer, settled), else the crowd's `figure`."""
    return case((overridden, literal(1.0, Float)), else_=figure)


def _merge(crowd: list[Any], overrides: list[Any], key: str) -> list[Any]:
    """The rows of a crowd walk and of an overrides walk (figure 1, by task id) in one order: (figure, task id)."""
    return sorted([*crowd, *overrides], key=lambda x: (getattr(x, key), x.id))


def _overrides_after(stmt: Any, cursor: tuple[float | None, int] | None) -> Any:
    """The overrides walk (figure 1, by task id) continued after a cursor of its order."""
    if cursor is None or cursor[0] is None or cursor[0] < 1.0:
        return stmt
    if cursor[0] > 1.0:  # no cursor of these orders is past 1; one that is leaves no override after it
        return stmt.where(literal(False))
    return stmt.where(models.reviews.c.task_id > cursor[1])


async def page(conn: AsyncConnection, project: Any, query: schemas.ResultsQuery, worker_id: int | None) -> Page:
    """One page of the results table (PAGE rows) after the query's cursor."""
    spec = tasktypes.get(project.task_type)
    dialect = conn.dialect.name
    sort = query.sort or sorts(spec)[0]
    if sort not in sorts(spec):
        raise InvalidInput(f"{spec.display_name} results cannot be sorted by {sort}; sort by "
                           f"{', '.join(sorts(spec))}", field="sort")
    t, r, v = models.tasks, models.task_results, models.reviews
    agree = agreement(dialect)
    overridden = v.c.kind == models.ReviewKind.override.value
    not_overridden = or_(v.c.kind.is_(None), ~overridden)
    shown, shown_agree = _settled(overridden, r.c.confidence), _settled(overridden, agree)
    one = literal(1.0, Float)

    def columns(conf: Any, agr: Any) -> list[Any]:
        return [t.c.id, t.c.external_id, t.c.data, t.c.gold, t.c.is_gold, t.c.state, t.c.n_done, t.c.needed,
                r.c.answer, conf.label("confidence"), r.c.confidence.label("crowd_confidence"), r.c.n_annotations,
                agr.label("agreement"), agree.label("crowd_agreement"), v.c.kind, v.c.answer.label("review_answer")]

    def filters(conf: Any, agr: Any) -> list[Any]:
        return _filters(dialect, spec, query, worker_id, agr, conf, project.id)

    def overrides_walk(conf: Any, agr: Any) -> Any:
        """The overridden tasks (figure 1), on ix_reviews_project (project, task)."""
        stmt = (select(*columns(conf, agr))
                .select_from(v.join(t, t.c.id == v.c.task_id).outerjoin(r, r.c.task_id == v.c.task_id))
                .where(v.c.project_id == project.id, overridden, *filters(conf, agr)))
        return _overrides_after(stmt, cursor).order_by(v.c.task_id).limit(PAGE + 1)

    scope = f"{project.id}/{sort}"
    cursor = decode_cursor(query.after, scope) if query.after else None
    if cursor is not None and sort != "id" and cursor[0] is None:
        raise InvalidInput("after is not a cursor of this order", field="after")
    if sort == "id":
        stmt = (select(*columns(shown, shown_agree))
                .select_from(t.outerjoin(r, r.c.task_id == t.c.id).outerjoin(v, v.c.task_id == t.c.id))
                .where(t.c.project_id == project.id, *filters(shown, shown_agree)))
        if cursor is not None:
            stmt = stmt.where(t.c.id > cursor[1])
        rows = list((await conn.execute(stmt.order_by(t.c.id).limit(PAGE + 1))).all())
    else:
        # The crowd's figure (confidence, or agreement) of the tasks not overridden, on its index
        # (ix_task_results_confidence, ix_task_results_agreement) ...
        key, name = (agree, "agreement") if sort == "disagreement" else (r.c.confidence, "confidence")
        crowd = (select(*columns(r.c.confidence, agree))
                 .select_from(r.join(t, t.c.id == r.c.task_id).outerjoin(v, v.c.task_id == r.c.task_id))
                 .where(r.c.project_id == project.id, key.is_not(None), not_overridden,
                        *filters(r.c.confidence, agree)))
        if cursor is not None:
            crowd = crowd.where(tuple_(key, r.c.task_id) > tuple_(cursor[0], cursor[1]))
        # ... and the overrides (figure 1: settled, in task order): merged, the order of both.
        rows = _merge((await conn.execute(crowd.order_by(key, r.c.task_id).limit(PAGE + 1))).all(),
                      (await conn.execute(overrides_walk(one, one))).all(), name)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    after = None
    if more:
        last = rows[-1]
        after = encode_cursor({"id": None, "confidence": last.confidence, "disagreement": last.agreement}[sort],
                              last.id, scope)
    return Page([_row(x) for x in rows], after, sort)


def _filters(dialect: str, spec: tasktypes.TaskTypeSpec, query: schemas.ResultsQuery, worker_id: int | None,
             agree: Any, conf: Any, project_id: int) -> list[Any]:
    t, v, a, reports = models.tasks, models.reviews, models.annotations, models.task_reports
    out: list[Any] = []
    if query.state is not None:
        out.append(t.c.state == models.TaskState[query.state].value)
    if query.gold is not None:
        out.append(t.c.is_gold.is_(query.gold))
    for low, high, column, name in ((query.confidence_min, query.confidence_max, conf, "confidence"),
                                    (query.agreement_min, query.agreement_max, agree, "agreement")):
        if low is not None and high is not None and low > high:
            raise InvalidInput(f"{name}_min is above {name}_max", field=f"{name}_min")
        if low is not None:
            out.append(column >= low)
        if high is not None:
            out.append(column <= high)
    if query.label is not None:
        out.append(_label_filter(dialect, spec, query.label))
    if worker_id is not None:
        out.append(exists(select(a.c.id).where(a.c.task_id == t.c.id, a.c.worker_id == worker_id)))
    if query.reported:  # the few reported tasks: looked up by id from the project's reports, not walked to
        out.append(t.c.id.in_(select(reports.c.task_id).where(reports.c.project_id == project_id)))
    elif query.reported is False:
        out.append(~exists(select(reports.c.id).where(reports.c.task_id == t.c.id)))
    if query.reviewed is not None:
        out.append(v.c.id.is_not(None) if query.reviewed else v.c.id.is_(None))
    return out


def _row(x: Any) -> dict:
    """A row as the page's script reads it: the label shown is the gold answer, else the override, else the
    consensus."""
    if x.is_gold:
        shown = x.gold
    elif x.kind == models.ReviewKind.override.value:
        shown = x.review_answer
    else:
        shown = x.answer
    return {"id": x.id, "external_id": x.external_id, "data": x.data, "state": models.TaskState(x.state).name,
            "gold": bool(x.is_gold), "n_done": x.n_done, "needed": x.needed, "answer": shown, "crowd": x.answer,
            "confidence": None if x.confidence is None else float(x.confidence),
            "crowd_confidence": x.crowd_confidence, "agreement": None if x.agreement is None else float(x.agreement),
            "crowd_agreement": None if x.crowd_agreement is None else float(x.crowd_agreement),
            "n_annotations": x.n_annotations, "review": x.kind}

