"""The project quality report: agreement statistics, weakest tasks, per-worker quality and confusion."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from labeling.consensus import agreement, boxes, ranking, spans
from labeling.consensus import answers as ans

LOWEST_TASKS = 50  # the report lists this many lowest-agreement tasks


# The families Krippendorff's alpha is measured on (the console's quality page says why it is missing elsewhere).
ALPHA_FAMILIES = ("classification", "multilabel", "ranking")

def _num(value: float | None) -> float | None:
    """A JSON-safe rounded number (None for missing or nan)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 6)


def report(
    task_type: str,
    rows: list[tuple[int, int, dict]],
    labels: list[str],
    gold: dict[int, dict],
    results: dict[int, Any],
    worker_skill: dict[int, float] | None = None,
    finals: dict[int, Any] | None = None,
) -> dict[str, Any]:
    """Build the JSON-serialisable quality report described in tasks.quality_report."""
    family = ans.kind(task_type)
    by_task: dict[int, list[dict]] = {}
    for task_id, _, answer in rows:
        by_task.setdefault(task_id, []).append(answer)
    per_task = {t: ans.mean_pairwise(task_type, items) for t, items in by_task.items()}
    scored = sorted(((v, t) for t, v in per_task.items() if v is not None))
    tasks = {str(t): {"percent_agreement": _num(v), "n_annotations": len(by_task[t])} for v, t in scored[:LOWEST_TASKS]}
    # The agreement figures are the workers' agreement on the regular tasks: a gold task is answered by each worker
    # once, however many that is (its answers score the workers), so it would break Fleiss' equal-count rule.
    regular = [row for row in rows if row[0] not in gold]
    values = [v for t, v in per_task.items() if v is not None and t not in gold]
    agree: dict[str, Any] = {"krippendorff_alpha": None, "fleiss_kappa": None,
                             "percent_agreement": _num(float(np.mean(values))) if values else None,
                             "n_tasks": len(values), "gold_tasks_left_out": len(set(by_task) & set(gold))}
    confusion = None
    if family == "classification":
        agree.update(_classification_agreement(regular, labels))
        confusion = _confusion(rows, labels, finals if finals is not None else
                               {task_id: result.answer for task_id, result in results.items()})
    elif family == "multilabel":
        agree.update(_multilabel_agreement(regular, labels))
    elif family == "ranking":
        agree["krippendorff_alpha"] = _ranking_alpha(regular)
    return {"agreement": agree, "tasks": tasks, "workers": _workers(task_type, family, rows, gold, results, worker_skill),
            "confusion": confusion}


def _counts(task_ids: list[int], codes: list[int], n_values: int) -> np.ndarray:
    """(tasks, values) count table from parallel task ids and value codes."""
    lookup = {t: i for i, t in enumerate(sorted(set(task_ids)))}
    units = np.fromiter((lookup[t] for t in task_ids), dtype=np.int64, count=len(task_ids))
    return agreement.value_counts(units, np.asarray(codes, dtype=np.int64), len(lookup), n_values)


def _classification_agreement(rows: list[tuple[int, int, dict]], labels: list[str]) -> dict[str, Any]:
    """Krippendorff's alpha (nominal) and Fleiss' kappa. Kappa needs the same number of answers on every task: it is
    over the tasks with the most common number of answers (two or more; of two counts as common, the larger), and
    says which (`fleiss_kappa_tasks` of them, `fleiss_kappa_answers` answers each)."""
    out: dict[str, Any] = {"fleiss_kappa_tasks": 0, "fleiss_kappa_answers": None}
    lookup = {name: i for i, name in enumerate(labels)}
    pairs = [(t, lookup[a.get("label")]) for t, _, a in rows if a.get("label") in lookup]
    if not pairs:
        return out
    counts = _counts([p[0] for p in pairs], [p[1] for p in pairs], len(labels))
    out["krippendorff_alpha"] = _num(agreement.krippendorff_alpha(counts, "nominal"))
    n = counts.sum(axis=1).astype(np.int64)
    sizes, tasks = np.unique(n[n >= 2], return_counts=True)
    if sizes.size:
        size = int(sizes[np.flatnonzero(tasks == tasks.max())[-1]])
        chosen = counts[n == size]
        out.update(fleiss_kappa=_num(agreement.fleiss_kappa(chosen)), fleiss_kappa_tasks=int(chosen.shape[0]),
                   fleiss_kappa_answers=size)
    return out


def _multilabel_agreement(rows: list[tuple[int, int, dict]], labels: list[str]) -> dict[str, Any]:
    """Nominal alpha over (task, label) units, each answer voting yes or no on every label."""
    units, codes = [], []
    for t, _, a in rows:
        chosen = set(a.get("labels", []))
        for j, name in enumerate(labels):
            units.append((t, j))
            codes.append(1 if name in chosen else 0)
    if not units:
        return {}
    counts = _counts(units, codes, 2)  # type: ignore[arg-type]
    return {"krippendorff_alpha": _num(agreement.krippendorff_alpha(counts, "nominal"))}


def _ranking_alpha(rows: list[tuple[int, int, dict]]) -> float | None:
    """Ordinal alpha over (task, response) units whose values are the positions workers gave them."""
    units, codes = [], []
    for t, _, a in rows:
        for pos, group in enumerate(a.get("ranking", [])):
            for item in group:
                units.append((t, str(item)))
                codes.append(pos)
    if not units:
        return None
    counts = _counts(units, codes, max(codes) + 1)  # type: ignore[arg-type]
    return _num(agreement.krippendorff_alpha(counts, "ordinal"))


def _confusion(rows: list[tuple[int, int, dict]], labels: list[str], finals: dict[int, Any]) -> dict[str, Any]:
    """Counts of each task's final label (rows: a reviewer's override, else the consensus) against each worker
    answer (columns)."""
    lookup = {name: i for i, name in enumerate(labels)}
    ref, given = [], []
    for t, _, a in rows:
        final = finals.get(t)
        cons = final.get("label") if isinstance(final, dict) else None
        if cons in lookup and a.get("label") in lookup:
            ref.append(lookup[cons])
            given.append(lookup[a["label"]])
    matrix = agreement.confusion(np.array(ref, dtype=np.int64), np.array(given, dtype=np.int64), len(labels))
    return {"labels": list(labels), "matrix": matrix.tolist()}


def _versus_consensus(task_type: str, family: str, answer: dict, cons: dict) -> dict[str, float | None]:
    """Per-answer scores against the consensus that are meaningful for this task type."""
    if family == "boxes":
        ref = ans.boxes_of(cons)
        return {"agreement": boxes.box_f1(ans.boxes_of(answer), ref), "mean_iou": boxes.mean_iou(ans.boxes_of(answer), ref)}
    if family == "spans":
        return {"agreement": spans.span_f1(ans.spans_of(answer), ans.spans_of(cons))}
    if family == "ranking":
        sim = ranking.ranking_similarity(ans.ranking_of(answer), ans.ranking_of(cons))
        return {"agreement": sim, "kendall_tau": None if sim is None else 2.0 * sim - 1.0}
    return {"agreement": ans.similarity(task_type, answer, cons)}


def workers(task_type: str, rows: list[tuple[int, int, dict]], gold: dict[int, dict], results: dict[int, Any]
            ) -> list[dict[str, Any]]:
    """The report's per-worker entries alone (a project recompute stores each worker's agreement with consensus and
    needs none of the agreement statistics, which cost most of the report at hundreds of thousands of answers)."""
    return _workers(task_type, ans.kind(task_type), rows, gold, results, None)


def _workers(task_type: str, family: str, rows: list[tuple[int, int, dict]], gold: dict[int, dict],
             results: dict[int, Any], worker_skill: dict[int, float] | None) -> list[dict[str, Any]]:
    """One entry per worker: answers, agreement with consensus, gold accuracy and skill."""
    stats: dict[int, dict[str, list[float]]] = {}
    for t, w, a in rows:
        s = stats.setdefault(w, {"n": [], "gold": []})
        s["n"].append(1.0)
        if t in gold and family != "demonstration":
            score = ans.gold_score(task_type, a, gold[t])
            if score is not None:
                s["gold"].append(score)
            continue
        res = results.get(t)
        if res is None or not res.answer or family == "demonstration":
            continue
        for key, value in _versus_consensus(task_type, family, a, res.answer).items():
            if value is not None:
                s.setdefault(key, []).append(value)
    out = []
    for w in sorted(stats):
        s = stats[w]
        agree_vals, gold_vals = s.get("agreement", []), s["gold"]
        if worker_skill is not None and w in worker_skill:
            skill = worker_skill[w]
        elif agree_vals or gold_vals:
            skill = ans.shrunk_skill(sum(agree_vals) + 2.0 * sum(gold_vals), len(agree_vals) + 2.0 * len(gold_vals))
        else:
            skill = None
        entry: dict[str, Any] = {
            "worker_id": w, "n_annotations": len(s["n"]),
            "agreement_with_consensus": _num(float(np.mean(agree_vals))) if agree_vals else None,
            "gold_accuracy": _num(float(np.mean(gold_vals))) if gold_vals else None,
            "gold_n": len(gold_vals), "skill": _num(skill)}
        for key in ("mean_iou", "kendall_tau"):
            if s.get(key):
                entry[key] = _num(float(np.mean(s[key])))
        out.append(entry)
    return out
