"""Answer dicts per task type: which aggregation family applies, field access, and scores against a reference."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from labeling import tasktypes
from labeling.consensus import boxes, multilabel, ranking, spans
from labeling.errors import InvalidInput

DEFAULT_SKILL = 0.7  # assumed accuracy of a worker with no history


def kind(task_type: str) -> str:
    """The aggregation family of a task type (its spec's), or InvalidInput for an unknown type."""
    return tasktypes.get(task_type).family


def _get(answer: Any, key: str, expected: type, where: str) -> Any:
    """answer[key] checked to be of the expected type."""
    if not isinstance(answer, Mapping) or key not in answer:
        raise InvalidInput(f"{where}.{key} is required", field=f"{where}.{key}")
    value = answer[key]
    if not isinstance(value, expected):
        raise InvalidInput(f"{where}.{key} has the wrong type", field=f"{where}.{key}")
    return value


def label_of(answer: Any, where: str = "answer") -> str:
    """The label of a classification answer."""
    return _get(answer, "label", str, where)


def labels_of(answer: Any, where: str = "answer") -> list[str]:
    """The label list of a multilabel answer."""
    return list(_get(answer, "labels", list, where))


def boxes_of(answer: Any, where: str = "answer") -> list[Mapping[str, Any]]:
    """The boxes of a bounding-box answer."""
    return list(_get(answer, "boxes", list, where))


def spans_of(answer: Any, where: str = "answer") -> list[Mapping[str, Any]]:
    """The spans of a named-entities answer."""
    return list(_get(answer, "spans", list, where))


def ranking_of(answer: Any, where: str = "answer") -> list[list[Hashable]]:
    """The ranking groups of a preference answer, as lists of hashable ids."""
    groups = _get(answer, "ranking", list, where)
    out = []
    for i, group in enumerate(groups):
        if not isinstance(group, list):
            raise InvalidInput(f"{where}.ranking[{i}] must be a list of ids", field=f"{where}.ranking[{i}]")
        out.append([item for item in group if isinstance(item, Hashable)])
    return out


def ratings_of(answer: Any) -> dict[str, float]:
    """The optional Likert ratings of a preference answer, keyed by response id as text."""
    ratings = answer.get("ratings") if isinstance(answer, Mapping) else None
    if not isinstance(ratings, Mapping):
        return {}
    return {str(k): float(v) for k, v in ratings.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def similarity(task_type: str, answer: Any, reference: Any) -> float | None:
    """How well `answer` matches `reference`, in [0, 1] (None for demonstrations)."""
    family = kind(task_type)
    if family == "classification":
        return 1.0 if label_of(answer) == label_of(reference, "gold") else 0.0
    if family == "multilabel":
        return multilabel.jaccard(labels_of(answer), labels_of(reference, "gold"))
    if family == "boxes":
        return boxes.box_f1(boxes_of(answer), boxes_of(reference, "gold"))
    if family == "spans":
        return spans.span_f1(spans_of(answer), spans_of(reference, "gold"))
    if family == "ranking":
        sim = ranking.ranking_similarity(ranking_of(answer), ranking_of(reference, "gold"))
        return 1.0 if sim is None else sim
    return None


def gold_score(task_type: str, answer: dict, gold: dict) -> float | None:
    """Score an answer against the gold answer in [0, 1]; 1.0 is fully correct, None when not scorable."""
    return similarity(task_type, answer, gold)


def shrunk_skill(total: float, n: float, prior: float = DEFAULT_SKILL, strength: float = 2.0) -> float:
    """Mean score pulled towards the prior by `strength` pseudo-answers."""
    return (total + prior * strength) / (n + strength)


def mean_pairwise(task_type: str, answers: Sequence[Any]) -> float | None:
    """Mean similarity over all pairs of answers of one task (None with fewer than two)."""
    # Classification counts agreeing pairs per label and multilabel makes each answer's set once: both give
    # exactly what averaging `similarity` over every pair gives, at a fraction of the cost.
    n = len(answers)
    if n < 2:
        return None
    family = kind(task_type)
    if family == "classification":
        counts: dict[str, int] = {}
        for i, a in enumerate(answers):
            value = label_of(a, f"answers[{i}]")
            counts[value] = counts.get(value, 0) + 1
        return label_agreement(list(counts.values()), n)
    if family == "multilabel":
        return set_agreement([labels_of(a, f"answers[{i}]") for i, a in enumerate(answers)])
    vals = [similarity(task_type, answers[i], answers[j]) for i in range(n) for j in range(i + 1, n)]
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None


def label_agreement(counts: Sequence[int], n: int) -> float | None:
    """Share of agreeing pairs among n single-label answers with these per-label counts (None below two)."""
    if n < 2:
        return None
    return sum(c * (c - 1) // 2 for c in counts) / (n * (n - 1) // 2)


def set_agreement(label_lists: Sequence[Sequence[Any]]) -> float | None:
    """Mean Jaccard similarity over all pairs of label sets (None below two)."""
    n = len(label_lists)
    if n < 2:
        return None
    sets = [set(x) for x in label_lists]
    vals = [len(sets[i] & sets[j]) / len(sets[i] | sets[j]) if sets[i] or sets[j] else 1.0
            for i in range(n) for j in range(i + 1, n)]
    return sum(vals) / len(vals)
