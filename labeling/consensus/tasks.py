"""Dict-level consensus: one task on submit, a whole project on demand, gold scores and the quality report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labeling.consensus import answers as ans
from labeling.consensus import probability
from labeling.consensus import boxes, calibration, classification, multilabel, quality, ranking, small, spans
from labeling.errors import InvalidInput

gold_score = ans.gold_score
DEFAULT_SKILL = ans.DEFAULT_SKILL
PROJECT_METHODS = ("auto", "majority", "dawid-skene", "one-coin")


@dataclass(slots=True)
class TaskConsensus:
    """The consensus answer of one task (same shape as a worker answer) with an honest confidence."""

    answer: dict | None
    confidence: float | None
    n_annotations: int
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.confidence is not None:
            self.confidence = probability(self.confidence)


@dataclass
class ProjectConsensus:
    """Consensus of every task in a project plus each worker's estimated skill."""

    results: dict[int, TaskConsensus]
    worker_skill: dict[int, float]
    method: str  # the method that ran (the one `auto` picked), "+gold" when gold anchored it
    selection: dict | None = None  # classification and multilabel `auto`: the candidates' scores and the rule
    calibration: dict | None = None  # how the confidences were calibrated (crowd-only or on held-out gold)
    # classification and multilabel: the answers' correlation the per-task path allows for until the next project
    # consensus (calibration.settle_correlation; the project stores it, annotations settle with it)
    task_correlation: float | None = None


def _skills(worker_ids: Sequence[int], worker_skill: dict[int, float] | None) -> np.ndarray:
    """Skill per answer's worker, defaulting to DEFAULT_SKILL for unknown workers."""
    known = worker_skill or {}
    return np.array([float(known.get(w, DEFAULT_SKILL)) for w in worker_ids], dtype=np.float64)


def _label_codes(values: Sequence[str], labels: Sequence[str], where: str) -> np.ndarray:
    """Label index of each value; raise InvalidInput naming an unknown label."""
    lookup = {name: i for i, name in enumerate(labels)}
    out = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        if value not in lookup:
            raise InvalidInput(f"{where}: label {value!r} is not one of {', '.join(labels)}", field="label")
        out[i] = lookup[value]
    return out


# Adaptive redundancy completes a task on its own consensus, with what each worker's skill was then. The
# project-wide consensus knows more (every answer; for classification, each worker's full confusion) and is
# calibrated against errors the crowd shares, so it is more cautious than the per-task one. It asks a completed
# task again when it names another answer than the stored one, or when its error (1 - confidence) is more than
# RECHECK_ERROR_RATIO times the error the target allows (runner.doubted_tasks; benchmarks/redundancy.py).
RECHECK_ERROR_RATIO = 4.0
RECHECK_FAMILIES = ("classification", "multilabel")


def rechecks(task_type: str, target_confidence: float | None, redundancy_min: int, redundancy_max: int) -> bool:
    """Whether a project-wide consensus may ask a project's completed tasks again (adaptive redundancy)."""
    return (target_confidence is not None and redundancy_max > redundancy_min
            and ans.kind(task_type) in RECHECK_FAMILIES)


def doubts(new: Any, stored_answer: Any, target_confidence: float) -> bool:
    """Whether a project consensus `new` (a TaskConsensus or what is stored of one: answer, confidence) doubts a
    task's stored answer (see RECHECK_ERROR_RATIO)."""
    if new.answer is None:
        return False
    floor = 1.0 - RECHECK_ERROR_RATIO * (1.0 - target_confidence)
    return not same_answer(new.answer, stored_answer) or (new.confidence is not None and new.confidence < floor)


def same_answer(a: Any, b: Any) -> bool:
    """Whether two consensus answers say the same: multilabel label lists as sets (their order follows the
    project's labels, which a requester may reorder), everything else as it is."""
    if isinstance(a, dict) and isinstance(b, dict) and isinstance(a.get("labels"), list) \
            and isinstance(b.get("labels"), list):
        return a.keys() == b.keys() and set(map(str, a["labels"])) == set(map(str, b["labels"])) \
            and all(a[k] == b[k] for k in a if k != "labels")
    return a == b


def span_overlap(project: Any) -> str:
    """Which overlaps a project's consensus spans may have: its span_overlap option (the answers' own rule; a project
    without the option allows any, as its answers do), "none" for the projects without spans."""
    if ans.kind(project.task_type) != "spans":
        return "none"
    value = (project.options or {}).get("span_overlap", "allow")
    return value if value in spans.OVERLAPS else "allow"


def aggregate_task(
    task_type: str,
    answers: list[dict],
    worker_ids: list[int],
    labels: list[str],
    worker_skill: dict[int, float] | None = None,
    correlation: float = 0.0,
    task_id: int | None = None,
    span_overlap: str = "none",
) -> TaskConsensus:
    """Consensus of one task's answers; worker_skill (accuracy per worker) weights them when given, and a
    classification or multilabel task's evidence is tempered by `correlation` (small.py). `task_id` breaks a
    tie as the project's recompute breaks it (small.pick). `span_overlap`: which overlaps of consensus spans
    stand (the project's option: spans._resolve)."""
    family = ans.kind(task_type)
    if len(answers) != len(worker_ids):
        raise InvalidInput("answers and worker_ids differ in length", field="worker_ids")
    n = len(answers)
    if n == 0 or family == "demonstration":
        return TaskConsensus(None, None, n, {})
    if family == "classification" or family == "multilabel":
        known = None if worker_skill is None else [float(worker_skill.get(w, DEFAULT_SKILL)) for w in worker_ids]
        if family == "classification":
            answer, confidence, details = small.classification(answers, labels, known, worker_ids, correlation,
                                                               task_id)
        else:
            answer, confidence, details = small.multilabel(answers, labels, known, worker_ids, correlation, task_id)
        return TaskConsensus(answer, confidence, n, details)
    weights = _skills(worker_ids, worker_skill)
    if family == "boxes":
        box = boxes.aggregate_boxes([ans.boxes_of(a, f"answers[{i}]") for i, a in enumerate(answers)], weights)
        return TaskConsensus({"boxes": box.boxes}, box.confidence, n,
                             {"boxes": box.box_details, "n_dropped": box.n_dropped})
    if family == "spans":
        sp = spans.aggregate_spans([ans.spans_of(a, f"answers[{i}]") for i, a in enumerate(answers)], weights,
                                   overlaps=span_overlap)
        return TaskConsensus({"spans": sp.spans}, sp.confidence, n, {"spans": sp.span_details})
    return _ranking_task(answers, weights, n)


def _ranking_task(answers: list[dict], weights: np.ndarray, n: int) -> TaskConsensus:
    """Bradley-Terry consensus of one task's rankings plus a summary of any Likert ratings."""
    rankings = [ans.ranking_of(a, f"answers[{i}]") for i, a in enumerate(answers)]
    cons = ranking.consensus_ranking(rankings, weights.tolist())
    per_item: dict[str, list[float]] = {}
    for a in answers:
        for item, value in ans.ratings_of(a).items():
            per_item.setdefault(item, []).append(value)
    answer = {"ranking": cons.ranking, "scores": {str(k): v for k, v in cons.scores.items()},
              "pair_probabilities": cons.pairs,
              "ratings": {item: ranking.likert_summary(vals) for item, vals in per_item.items()}}
    return TaskConsensus(answer, cons.confidence, n, {"agreement": cons.agreement})


ONE_METHOD = {"boxes": "weighted-boxes", "spans": "weighted-spans", "ranking": "bradley-terry", "demonstration": "none"}


def check_method(task_type: str, method: str) -> None:
    """InvalidInput unless `method` is one a project of this task type takes: any of PROJECT_METHODS for labels
    (classification, multilabel), only "auto" for the types with a single method of their own (it was run
    whatever the method said)."""
    if method not in PROJECT_METHODS:
        raise InvalidInput(f"method {method!r} is unknown; use one of {', '.join(PROJECT_METHODS)}", field="method")
    own = ONE_METHOD.get(ans.kind(task_type))
    if own is not None and method != "auto":
        raise InvalidInput(f"method must be auto, not {method!r}: a {task_type} project has one consensus method "
                           f"({own})", field="method")


def aggregate_project(
    task_type: str,
    rows: list[tuple[int, int, dict]],
    labels: list[str],
    gold: dict[int, dict] | None = None,
    method: str = "auto",
    adaptive: bool = False,
    span_overlap: str = "none",
) -> ProjectConsensus:
    """Consensus of every task from all (task_id, worker_id, answer) rows, learning worker skills on the way.

    `adaptive`: the project collects answers by adaptive redundancy (its task_correlation then comes from gold
    only: calibration.settle_correlation). `span_overlap`: as aggregate_task's."""
    family = ans.kind(task_type)
    check_method(task_type, method)
    gold = gold or {}
    if family == "classification":
        return _project_classification(rows, labels, gold, method, adaptive)
    if family == "multilabel":
        return _project_multilabel(rows, labels, gold, method, adaptive)
    by_task: dict[int, list[tuple[int, dict]]] = {}
    for task_id, worker_id, answer in rows:
        by_task.setdefault(task_id, []).append((worker_id, answer))
    if family == "demonstration":
        results = {t: TaskConsensus(None, None, len(items), {}) for t, items in by_task.items()}
        return ProjectConsensus(results, {}, ONE_METHOD[family])
    # Two passes: equal weights first, then weights = each worker's agreement with that consensus (and gold).
    first = {t: aggregate_task(task_type, [a for _, a in items], [w for w, _ in items], labels,
                               span_overlap=span_overlap) for t, items in by_task.items()}
    skill = estimate_skills(task_type, rows, first, gold)
    results = {t: aggregate_task(task_type, [a for _, a in items], [w for w, _ in items], labels, skill,
                                 span_overlap=span_overlap) for t, items in by_task.items()}
    return ProjectConsensus(results, skill, ONE_METHOD[family])


def estimate_skills(task_type: str, rows: list[tuple[int, int, dict]], results: dict[int, TaskConsensus],
                    gold: dict[int, dict]) -> dict[int, float]:
    """Skill per worker: mean similarity to the consensus (gold counts double), shrunk towards DEFAULT_SKILL.

    Boxes use the mean IoU of matched boxes as the similarity; other types use gold_score's measure.
    """
    totals: dict[int, list[float]] = {}
    for task_id, worker_id, answer in rows:
        acc = totals.setdefault(worker_id, [0.0, 0.0])
        ref, weight = (gold[task_id], 2.0) if task_id in gold else (getattr(results.get(task_id), "answer", None), 1.0)
        if ref is None:
            continue
        if ans.kind(task_type) == "boxes":  # localisation matters for weighting, not only matches at IoU 0.5
            score: float | None = boxes.mean_iou(ans.boxes_of(answer), ans.boxes_of(ref, "reference"))
        else:
            score = ans.similarity(task_type, answer, ref)
        if score is not None:
            acc[0] += weight * score
            acc[1] += weight
    return {w: round(ans.shrunk_skill(s, n), 6) for w, (s, n) in totals.items()}


def _encode_rows(rows: list[tuple[int, int, dict]]) -> tuple[np.ndarray, np.ndarray, list[int], list[int]]:
    """Codes for task and worker ids (in sorted order) of every row."""
    task_ids = sorted({r[0] for r in rows})
    worker_ids = sorted({r[1] for r in rows})
    t_lookup = {t: i for i, t in enumerate(task_ids)}
    w_lookup = {w: i for i, w in enumerate(worker_ids)}
    t = np.fromiter((t_lookup[r[0]] for r in rows), dtype=np.int64, count=len(rows))
    w = np.fromiter((w_lookup[r[1]] for r in rows), dtype=np.int64, count=len(rows))
    return t, w, task_ids, worker_ids


def _project_classification(rows: list[tuple[int, int, dict]], labels: list[str], gold: dict[int, dict],
                            method: str, adaptive: bool = False) -> ProjectConsensus:
    """Run the chosen classification method over all rows, gold-anchored when gold exists."""
    t, w, task_ids, worker_ids = _encode_rows(rows)
    codes = _label_codes([ans.label_of(a, f"rows[{i}].answer") for i, (_, _, a) in enumerate(rows)],
                         labels, "rows")
    k = len(labels)
    lookup = {name: i for i, name in enumerate(labels)}
    gold_arr = np.array([lookup.get(ans.label_of(gold[tid], "gold"), -1) if tid in gold else -1
                         for tid in task_ids], dtype=np.int64)
    res = calibration.consensus(method, t, w, codes, len(task_ids), len(worker_ids), k,
                                gold=gold_arr if (gold_arr >= 0).any() else None, tie_keys=task_ids)
    counts = classification.vote_counts(t, codes, len(task_ids), k)
    results = {}
    # ans.label_agreement for every task at once: agreeing pairs over all pairs (None below two answers)
    n_pairs = counts.sum(axis=1) * (counts.sum(axis=1) - 1) // 2
    agreeing = (counts * (counts - 1) // 2).sum(axis=1)
    share = (agreeing / np.maximum(n_pairs, 1)).tolist()
    # One answer object per label and one votes object per distinct vote (both only read): a million tasks' results
    # held 2 million small dicts more than their posteriors need.
    answers = [{"label": name} for name in labels]
    votes: dict[tuple, dict] = {}
    for i, tid in enumerate(task_ids):
        played = np.flatnonzero(counts[i]).tolist()
        cast = tuple(counts[i, played].tolist())
        key = (tuple(played), cast)
        shared = votes.get(key)
        if shared is None:
            shared = votes[key] = dict(zip((labels[j] for j in played), cast))
        details = {"votes": shared}
        small.by_label(labels, res.posteriors[i], details, "posteriors", played)
        details["percent_agreement"] = share[i] if n_pairs[i] else None
        if gold_arr[i] >= 0:
            details["gold"] = True
        results[tid] = TaskConsensus(answers[int(res.labels[i])], float(res.confidence[i]), int(res.n_answers[i]),
                                     details)
    skill = {wid: round(float(s), 6) for wid, s in zip(worker_ids, res.worker_skill)}
    return ProjectConsensus(results, skill, res.method + ("+gold" if (gold_arr >= 0).any() else ""),
                            res.selection, res.calibration, calibration.settle_correlation(res.calibration, adaptive))


def _project_multilabel(rows: list[tuple[int, int, dict]], labels: list[str], gold: dict[int, dict],
                        method: str, adaptive: bool = False) -> ProjectConsensus:
    """Per-label aggregation of multilabel rows, gold-anchored per label when gold exists."""
    t, w, task_ids, worker_ids = _encode_rows(rows)
    sets = [_label_codes(ans.labels_of(a, f"rows[{i}].answer"), labels, "rows") for i, (_, _, a) in enumerate(rows)]
    chosen = multilabel.indicator([s.tolist() for s in sets], len(labels))
    gold_arr = None
    if any(tid in gold for tid in task_ids):
        gold_arr = np.full((len(task_ids), len(labels)), -1, dtype=np.int64)
        for i, tid in enumerate(task_ids):
            if tid in gold:
                gold_arr[i] = 0
                gold_arr[i, _label_codes(ans.labels_of(gold[tid], "gold"), labels, "gold")] = 1
    res = multilabel.aggregate_multilabel(t, w, chosen, len(task_ids), len(worker_ids), method=method, gold=gold_arr,
                                          adaptive=adaptive, tie_keys=task_ids)
    task_sets: list[list[list[int]]] = [[] for _ in task_ids]
    for row, codes in zip(t.tolist(), sets):
        task_sets[row].append(codes.tolist())
    results = {}
    for i, tid in enumerate(task_ids):
        picked = [labels[j] for j in np.flatnonzero(res.chosen[i])]
        details: dict = {}
        small.by_label(labels, res.probabilities[i], details, "probabilities", np.flatnonzero(res.in_play[i]).tolist(),
                       floor=None)
        details["percent_agreement"] = ans.set_agreement(task_sets[i])
        results[tid] = TaskConsensus({"labels": picked}, float(res.confidence[i]), int(res.n_answers[i]), details)
    skill = {wid: round(float(s), 6) for wid, s in zip(worker_ids, res.worker_skill)}
    selection = None if method != "auto" else {"rule": "per label", "picked": dict(zip(labels, res.per_label))}
    return ProjectConsensus(results, skill, "per-label " + res.method + ("+gold" if gold_arr is not None else ""),
                            selection, task_correlation=res.task_correlation)


def quality_report(
    task_type: str,
    rows: list[tuple[int, int, dict]],
    labels: list[str],
    gold: dict[int, dict] | None,
    results: dict[int, TaskConsensus],
    worker_skill: dict[int, float] | None = None,
    finals: dict[int, Any] | None = None,
) -> dict[str, Any]:
    """Agreement, per-task and per-worker quality and (classification) confusion, JSON-serialisable; `finals` (each
    task's final answer: a reviewer's override, else the consensus) are the confusion matrix's rows, the consensus
    when not given."""
    return quality.report(task_type, rows, labels, gold or {}, results, worker_skill, finals)


def worker_quality(task_type: str, rows: list[tuple[int, int, dict]], gold: dict[int, dict] | None,
                   results: dict[int, TaskConsensus]) -> list[dict[str, Any]]:
    """quality_report's "workers" alone: answers, agreement with consensus, gold accuracy and skill per worker."""
    return quality.workers(task_type, rows, gold or {}, results)

