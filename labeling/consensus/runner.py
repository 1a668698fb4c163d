"""A project's consensus as a whole: reads annotations, runs the pure consensus code, and has the queue store
task results and worker skills; the quality report and the results pages."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Iterator

from sqlalchemy import Float, String, exists, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import annotations, audit, membership, models, paging, projects, queue
from labeling.auth import Principal
from labeling.errors import Conflict
from labeling.consensus import tasks as consensus_tasks
from labeling.models import JSONType

READ_TASKS = 5_000  # tasks whose answers one query reads
# The project's settings a recompute computes with: changed before it writes, it writes nothing (recompute again).
COMPUTED_WITH = ("task_type", "labels", "target_confidence", "redundancy_min", "redundancy_max")
# The quality report of a project with more tasks than this is computed on a sample of about this many tasks
# (every n-th task id), so the page answers in about the same time at a million tasks as at twenty thousand;
# counts that the counters hold (answers per worker, skips, gold, progress) stay exact.
QUALITY_SAMPLE_TASKS = 10_000
SAMPLE_IDS_CHUNK = 500  # task ids per query when reading a sample's answers and results


def _batches(task_ids: list[int]) -> Iterator[list[int]]:
    """The ids SAMPLE_IDS_CHUNK at a time (one IN list per query)."""
    return (task_ids[i:i + SAMPLE_IDS_CHUNK] for i in range(0, len(task_ids), SAMPLE_IDS_CHUNK))


async def load_rows(conn: AsyncConnection, project_id: int, timing: list[tuple[int, int | None, float]] | None = None,
                    task_ids: list[int] | None = None) -> tuple[list[tuple[int, int, dict]], dict[int, dict]]:
    """Every counted answer of a project as (task, worker, answer), plus the gold answers by task.

    `timing`, a list, also receives (worker, duration_ms, created_at) of every answer, excluded ones included,
    in the same pass over the answers. `task_ids`: only those tasks' answers and gold (a sample)."""
    ann, t = models.annotations, models.tasks
    rows: list[tuple[int, int, dict]] = []
    columns = [ann.c.id, ann.c.task_id, ann.c.worker_id, ann.c.answer]
    if timing is not None:
        columns += [ann.c.excluded, ann.c.duration_ms, ann.c.created_at]
    seen: dict[tuple, dict] = {}

    def take(chunk: list[Any]) -> None:
        if timing is None:
            rows.extend((r.task_id, r.worker_id, _shared(r.answer, seen)) for r in chunk)
        else:
            rows.extend((r.task_id, r.worker_id, _shared(r.answer, seen)) for r in chunk if not r.excluded)
            timing.extend((r.worker_id, r.duration_ms, r.created_at) for r in chunk)

    counted = [] if timing is not None else [ann.c.excluded.is_(False)]
    gold_of = select(t.c.id, t.c.gold).where(t.c.project_id == project_id, t.c.gold.is_not(None))
    if task_ids is not None:
        gold: dict[int, dict] = {}
        for ids in _batches(task_ids):
            take((await conn.execute(select(*columns).where(ann.c.task_id.in_(ids), *counted)
                                     .order_by(ann.c.id))).all())
            gold.update((r.id, r.gold) for r in (await conn.execute(gold_of.where(t.c.id.in_(ids)))).all())
        return rows, gold
    last = 0
    while True:  # a page of the project's tasks, then their answers by task id range (as the exporter reads them)
        ids = (await conn.execute(select(t.c.id).where(t.c.project_id == project_id, t.c.id > last)
                                  .order_by(t.c.id).limit(READ_TASKS))).scalars().all()
        if not ids:
            break
        # The range alone walks ix_annotations_task; with the project in the condition too, SQLite walked the project's
        # whole (project, worker) index and sorted it for every page: minutes at 600,000 answers. Another project's
        # tasks inside the range are dropped here.
        mine = set(ids)
        chunk = (await conn.execute(select(*columns).where(ann.c.task_id.between(ids[0], ids[-1]), *counted)
                                    .order_by(ann.c.task_id, ann.c.id))).all()
        take([r for r in chunk if r.task_id in mine])
        last = ids[-1]
    return rows, {r.id: r.gold for r in (await conn.execute(gold_of)).all()}


def _shared(answer: Any, seen: dict[tuple, dict]) -> Any:
    """One object for equal label answers: `{"label": "pos"}` read 3,000,000 times is one dict, not 3,000,000 (about
    230 of the 400 bytes an answer held in a recompute's memory). A label (text) or a label list; other answers as
    read. The rows are only read, never changed."""
    if type(answer) is dict and len(answer) == 1:
        ((key, value),) = answer.items()
        if type(value) is str:
            return seen.setdefault((key, value), answer)
        if type(value) is list and all(type(v) is str for v in value):
            return seen.setdefault((key, tuple(value)), answer)
    return answer


async def sample_tasks(conn: AsyncConnection, project_id: int, n_tasks: int) -> list[int] | None:
    """Every n-th task id of a project, about QUALITY_SAMPLE_TASKS of them; None when the project is small enough
    to be read whole."""
    stride = -(-n_tasks // QUALITY_SAMPLE_TASKS)
    if stride <= 1:
        return None
    t = models.tasks
    query = select(t.c.id).where(t.c.project_id == project_id, t.c.id % stride == 0).order_by(t.c.id)
    return [r.id for r in (await conn.execute(query)).all()]


async def recompute_project(db: Any, project: Any, method: str = "auto", mem: queue.Memory | None = None,
                            actor: Principal | str = audit.CLI) -> dict:
    """Re-estimate worker skills over the whole project and rewrite every task's consensus (audited).

    Reads in one snapshot, computes in a worker thread (the event loop keeps serving), then writes the
    results in short transactions of WRITE_TASKS tasks, so the queue is never held up by the computation or by
    the writing.
    """
    consensus_tasks.check_method(project.task_type, method)  # before the audited settle below commits anything
    started = time.perf_counter()
    mem = mem or queue.Memory()

    def settle(tx: Any) -> Any:  # tasks with all their answers are complete first
        row = membership.locked(tx, project.id, "consensus.recompute")  # an archived project's results stay as they are
        audit.record(tx, actor, "project.recompute", project=row, details={"method": method})
        annotations.settle_ready(tx, mem, project.id)
        return row

    project = await db.transact(settle)  # the settings computed with: the project as this transaction held it
    read_at = time.time()  # a settle after this may count answers the read below does not see
    async with db.read() as conn:
        rows, gold = await load_rows(conn, project.id)
    if not rows:
        return {"tasks": 0, "annotations": 0, "workers": 0, "method": method, "reopened": 0, "answer_correlation": None,
                "selection": None, "seconds": 0.0}

    def compute() -> tuple[Any, list[dict]]:
        outcome = consensus_tasks.aggregate_project(project.task_type, rows, list(project.labels), gold, method=method,
                                                    adaptive=project.target_confidence is not None,
                                                    span_overlap=consensus_tasks.span_overlap(project))
        return outcome, consensus_tasks.worker_quality(project.task_type, rows, gold, outcome.results)

    outcome, workers = await asyncio.to_thread(compute)
    regular = {task_id: queue.Outcome(res.answer, res.confidence, res.n_annotations, res.details or {},
                                      outcome.method)
               for task_id, res in outcome.results.items() if task_id not in gold}
    agreement = {w["worker_id"]: w.get("agreement_with_consensus") for w in workers}
    skills = {worker_id: (float(skill), agreement.get(worker_id)) for worker_id, skill in outcome.worker_skill.items()}
    doubted: list[tuple[int, int, float]] = []
    if consensus_tasks.rechecks(project.task_type, project.target_confidence, project.redundancy_min,
                                project.redundancy_max):
        async with db.read() as conn:
            doubted = await doubted_tasks(conn, project, regular)

    # The results go in transactions of WRITE_TASKS tasks: on SQLite every claim and submit of every project waits for
    # the one writer, and 200,000 results in one transaction held them up for 7-13 s. Each one asks the project row
    # again, so an archive or a change of the settings stops the writing there (tasks already written keep a consensus
    # that was right for the project as it then was); a task settled since the read keeps its newer consensus.
    items = list(regular.items())
    parts = [dict(items[i:i + WRITE_TASKS]) for i in range(0, len(items), WRITE_TASKS)] or [{}]

    def still_computed_with(tx: Any) -> None:
        # Asked again of the row held now: an archive, or a change of what the consensus was computed with, while it
        # was computed leaves the results as they are. Held against changes of the project only (membership.shared),
        # as an import holds it: FOR UPDATE would keep every claim and submit of the project waiting until all of
        # the results are written.
        row = membership.shared(tx, project.id, "consensus.recompute")
        if any(getattr(row, key) != getattr(project, key) for key in COMPUTED_WITH):
            raise Conflict("the project's labels or redundancy changed while its consensus was computed; "
                           "recompute it again", field="project_id")

    def write(tx: Any) -> list[int]:  # the recheck first: it compares the stored consensus the read saw
        still_computed_with(tx)
        reopened = queue.recheck(tx, project.id, doubted, project.redundancy_max) if doubted else []
        queue.store_results(tx, project.id, parts[0], skills, read_at)
        if outcome.task_correlation is not None:
            tx.run("projects.set_correlation", {"project": project.id, "rho": outcome.task_correlation,
                                                "now": time.time()})
        if reopened:
            audit.record(tx, actor, "project.recheck", project=project,
                         details={"reopened": len(reopened), "task_ids": reopened[:AUDITED_TASK_IDS]})
        return reopened

    def write_part(part: dict[int, Any]) -> Any:
        def run(tx: Any) -> None:
            still_computed_with(tx)
            queue.store_results(tx, project.id, part, {}, read_at)
        return run

    reopened = await db.transact(write)
    for part in parts[1:]:
        await db.transact(write_part(part))
    return {"tasks": len(regular), "annotations": len(rows), "workers": len({w for _, w, _ in rows}),
            "method": outcome.method, "reopened": len(reopened), "answer_correlation": outcome.task_correlation,
            "selection": outcome.selection, "seconds": round(time.perf_counter() - started, 3)}


RESULTS_PAGE = 10_000  # stored results per query when comparing them with a new consensus
WRITE_TASKS = 5_000  # task results a recompute writes per transaction
AUDITED_TASK_IDS = 100  # the first task ids a recheck reopened, named in its audit entry


async def doubted_tasks(conn: AsyncConnection, project: Any, outcomes: dict[int, Any]
                        ) -> list[tuple[int, int, float]]:
    """(task id, counted answers, the stored consensus's updated_at) of the tasks whose new consensus doubts the
    stored one (consensus.tasks.doubts). Reads the stored consensus a page at a time: memory flat at any size."""
    tr = models.task_results
    doubted, last = [], -1
    while True:
        page = (await conn.execute(
            select(tr.c.task_id, tr.c.answer, tr.c.updated_at).where(tr.c.project_id == project.id, tr.c.task_id > last)
            .order_by(tr.c.task_id).limit(RESULTS_PAGE))).all()
        for task_id, stored, stamp in page:
            new = outcomes.get(task_id)
            if new is not None and consensus_tasks.doubts(new, stored, float(project.target_confidence)):
                doubted.append((task_id, new.n_annotations, stamp))
        if len(page) < RESULTS_PAGE:
            return doubted
        last = page[-1][0]


async def quality(conn: AsyncConnection, project: Any) -> dict:
    """Agreement metrics, worker scores and confusion for a project (from stored results and answers), each
    worker's median time per answer and the answers' throughput over time (read in the same pass)."""
    timing: list[tuple[int, int | None, float]] = []
    progress = await projects.counts(conn, project.id)
    sample = await sample_tasks(conn, project.id, progress["tasks"])
    rows, gold = await load_rows(conn, project.id, timing, sample)
    results = await stored_results(conn, project.id, sample)
    # The tasks' answers as /results and the exports give them: a requester's override is the task's label (the
    # confusion matrix and the label counts compare with it; a worker's agreement stays with the crowd's consensus).
    shown = {task_id: result.answer for task_id, result in results.items()}
    shown.update(await overridden_answers(conn, project.id, sample))
    report = await asyncio.to_thread(consensus_tasks.quality_report, project.task_type, rows, list(project.labels),
                                     gold, results, None, shown)
    pw = models.project_workers
    standing = {r.worker_id: r for r in (await conn.execute(select(pw).where(pw.c.project_id == project.id))).all()}
    names = {r.id: r.username for r in (await conn.execute(select(models.users.c.id, models.users.c.username).where(
        models.users.c.id.in_(list(standing) or [0])))).all()}
    medians, report["throughput"] = await asyncio.to_thread(timing_summary, timing)
    totals: dict[int, int] = {}
    report["sample"] = None
    if sample is None:
        for worker_id, _, _ in timing:
            totals[worker_id] = totals.get(worker_id, 0) + 1
    else:
        # Agreement, the confusion matrix, the label distribution and the medians are the sample's; a worker's
        # answers and skips, gold accuracy and skill are their whole record; throughput is scaled up to the whole.
        scale = progress["annotations"] / max(len(timing), 1)
        for bucket in report["throughput"]["buckets"]:
            bucket["answers"] = round(bucket["answers"] * scale)
        report["sample"] = {"tasks": len(sample), "of_tasks": progress["tasks"], "answers": len(timing),
                            "of_answers": progress["annotations"]}
        totals = {worker_id: row.n_annotations for worker_id, row in standing.items()}
    report["label_distribution"] = await asyncio.to_thread(label_distribution, rows, shown, list(project.labels))
    workers = report.setdefault("workers", [])
    listed = {w["worker_id"] for w in workers}
    for worker_id, row in standing.items():  # a blocked worker's answers leave the consensus, not the table
        if worker_id not in listed and (row.n_annotations or row.n_skips or row.blocked):
            workers.append({"worker_id": worker_id, "n_annotations": 0,
                            "agreement_with_consensus": row.agreement, "skill": row.skill,
                            "gold_accuracy": row.gold_score_sum / row.n_gold if row.n_gold else None,
                            "gold_n": row.n_gold})
    for worker in workers:
        row = standing.get(worker["worker_id"])
        worker["username"] = names.get(worker["worker_id"])
        worker["n_answers"] = totals.get(worker["worker_id"], 0)  # excluded answers too (n_annotations: counted)
        worker["median_ms"] = medians.get(worker["worker_id"])
        if row is not None:
            worker["blocked"] = bool(row.blocked)
            worker["skips"] = row.n_skips
            # The skill the project consensus estimated (what settles weigh the worker's answers by), sampled or not;
            # the report's own estimate (agreement with the consensus, shrunk) only until a consensus has run.
            if row.skill is not None:
                worker["skill"] = row.skill
            if sample is not None:
                worker["n_annotations"] = row.n_annotations
                worker["gold_n"] = row.n_gold
                worker["gold_accuracy"] = row.gold_score_sum / row.n_gold if row.n_gold else None
                if worker["agreement_with_consensus"] is None:
                    worker["agreement_with_consensus"] = row.agreement
    report["progress"] = progress
    return report


def _labels_in(answer: Any) -> list[str]:
    """The label names an answer gives: `label`, `labels`, and the `label` of each box or span."""
    if not isinstance(answer, dict):
        return []
    out = [answer["label"]] if isinstance(answer.get("label"), str) else []
    for value in answer.values():
        if isinstance(value, list):
            out += [v for v in value if isinstance(v, str)]
            out += [v["label"] for v in value if isinstance(v, dict) and isinstance(v.get("label"), str)]
    return out


def label_distribution(rows: list[tuple[int, int, dict]], shown: dict[int, Any], labels: list[str]) -> list[dict]:
    """How often each label was given in the counted answers and in the tasks' answers (`shown`: the consensus, or
    the requester's override), in the project's label order (empty for task types without labels)."""
    if not labels:
        return []
    answers = dict.fromkeys(labels, 0)
    consensus = dict.fromkeys(labels, 0)
    for _, _, answer in rows:
        for name in _labels_in(answer):
            if name in answers:
                answers[name] += 1
    for answer in shown.values():
        for name in _labels_in(answer):
            if name in consensus:
                consensus[name] += 1
    return [{"label": name, "answers": answers[name], "consensus": consensus[name]} for name in labels]


# Throughput buckets: the smallest of these that keeps the chart under THROUGHPUT_BUCKETS bars.
BUCKET_SECONDS = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)
THROUGHPUT_BUCKETS = 60


def timing_summary(timing: list[tuple[int, int | None, float]]) -> tuple[dict[int, int], dict]:
    """Each worker's median duration_ms (answers that report one), and answers per time bucket, oldest first
    (empty buckets included): {"bucket_seconds", "buckets": [{"start": unix seconds, "answers": n}]}."""
    import statistics

    durations: dict[int, list[int]] = {}
    for worker_id, duration, _ in timing:
        if duration is not None:
            durations.setdefault(worker_id, []).append(duration)
    medians = {w: int(statistics.median(d)) for w, d in durations.items()}
    if not timing:
        return medians, {"bucket_seconds": BUCKET_SECONDS[0], "buckets": []}
    first = min(t for _, _, t in timing)
    last = max(t for _, _, t in timing)
    size = next((s for s in BUCKET_SECONDS if (last - first) / s < THROUGHPUT_BUCKETS), BUCKET_SECONDS[-1])
    start = first - first % size
    counts = [0] * (int((last - start) // size) + 1)
    for _, _, t in timing:
        counts[int((t - start) // size)] += 1
    return medians, {"bucket_seconds": size,
                     "buckets": [{"start": start + i * size, "answers": n} for i, n in enumerate(counts)]}


async def stored_results(conn: AsyncConnection, project_id: int, task_ids: list[int] | None = None
                         ) -> dict[int, Any]:
    """The stored consensus rows of a project (or of those of its tasks), as TaskConsensus objects by task id."""
    tr = models.task_results
    query = select(tr).where(tr.c.project_id == project_id)
    if task_ids is None:
        rows = (await conn.execute(query)).all()
    else:
        rows = [r for ids in _batches(task_ids) for r in (await conn.execute(query.where(tr.c.task_id.in_(ids)))).all()]
    return {r.task_id: consensus_tasks.TaskConsensus(answer=r.answer, confidence=r.confidence,
                                                     n_annotations=r.n_annotations, details=r.details or {})
            for r in rows}


async def overridden_answers(conn: AsyncConnection, project_id: int, task_ids: list[int] | None = None
                             ) -> dict[int, Any]:
    """The requester's answers of a project's overridden tasks (or of those of these tasks), by task id: read on
    ix_reviews_project (a review a task, overrides a few)."""
    v = models.reviews
    query = select(v.c.task_id, v.c.answer).where(v.c.project_id == project_id,
                                                  v.c.kind == models.ReviewKind.override.value)
    if task_ids is None:
        return {r.task_id: r.answer for r in (await conn.execute(query)).all()}
    return {r.task_id: r.answer for ids in _batches(task_ids)
            for r in (await conn.execute(query.where(v.c.task_id.in_(ids)))).all()}


async def results_page(conn: AsyncConnection, project_id: int, cursor: str | None, limit: int) -> dict:
    """A page of consensus results in task order: {task_id, external_id, answer, confidence, n_annotations, ...}.
    A requester's override is the task's answer, with confidence 1 (`reviewed`, the crowd's consensus kept as
    `crowd_answer`), also on a task the crowd has not answered; an accepted consensus is `reviewed` too."""
    tr, t, v = models.task_results, models.tasks, models.reviews
    override = models.ReviewKind.override.value
    after = paging.decode(cursor, f"projects/{project_id}/results")
    crowd = (select(tr.c.task_id, t.c.external_id, t.c.state, tr.c.answer, tr.c.confidence, tr.c.n_annotations,
                    tr.c.method, tr.c.details, v.c.kind.label("review"), v.c.answer.label("review_answer"))
             .join(t, t.c.id == tr.c.task_id).outerjoin(v, v.c.task_id == tr.c.task_id)
             .where(tr.c.project_id == project_id)
             .order_by(tr.c.task_id).limit(limit + 1))
    # Overrides of tasks without a consensus (no answers counted): the index on reviews (project, task) finds them.
    alone = (select(v.c.task_id, t.c.external_id, t.c.state, literal(None, JSONType).label("answer"),
                    literal(None, Float).label("confidence"), t.c.n_done.label("n_annotations"),
                    literal(None, String).label("method"), literal(None, JSONType).label("details"),
                    v.c.kind.label("review"), v.c.answer.label("review_answer"))
             .join(t, t.c.id == v.c.task_id)
             .where(v.c.project_id == project_id, v.c.kind == override,
                    ~exists().where(tr.c.task_id == v.c.task_id))
             .order_by(v.c.task_id).limit(limit + 1))
    if after is not None:
        crowd, alone = crowd.where(tr.c.task_id > after), alone.where(v.c.task_id > after)
    rows = sorted([*(await conn.execute(crowd)).all(), *(await conn.execute(alone)).all()],
                  key=lambda r: r.task_id)[:limit + 1]
    data = [{"task_id": r.task_id, "external_id": r.external_id,
             "answer": r.review_answer if r.review == override else r.answer,
             "confidence": 1.0 if r.review == override else r.confidence, "n_annotations": r.n_annotations,
             "complete": r.state == 1, "method": r.method, "details": r.details, "reviewed": r.review is not None,
             "review": r.review, "crowd_answer": r.answer}
            for r in rows]
    return paging.page(data, limit, f"projects/{project_id}/results", key="task_id")
