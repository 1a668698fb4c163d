"""Multi-label aggregation: one binary problem per label, solved by the single-label machinery in one call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labeling.consensus import calibration, classification
from labeling.errors import InvalidInput


@dataclass
class MultilabelResult:
    """Per task and label: the probability that the label applies, and the decision."""

    probabilities: np.ndarray  # (n_tasks, n_labels)
    chosen: np.ndarray  # (n_tasks, n_labels) bool
    confidence: np.ndarray  # (n_tasks,) that the label set is right (set_confidences: labels in play)
    n_answers: np.ndarray  # (n_tasks,)
    worker_skill: np.ndarray  # (n_workers,) mean per-label accuracy
    method: str  # the method every label ran, or "mixed" when `auto` picked differently per label
    per_label: list[str]  # the method each label ran
    task_correlation: float = 0.0  # mean over labels of calibration.settle_correlation (the per-task path's rho)
    in_play: np.ndarray | None = None  # (n_tasks, n_labels) bool: chosen by some answer of the task, or decided


def indicator(label_sets: Sequence[Sequence[int]], n_labels: int) -> np.ndarray:
    """Turn a list of label-index lists into an (n_answers, n_labels) bool matrix."""
    lengths = np.fromiter((len(s) for s in label_sets), dtype=np.int64, count=len(label_sets))
    flat = np.fromiter((i for s in label_sets for i in s), dtype=np.int64, count=int(lengths.sum()))
    if flat.size and (flat.min() < 0 or flat.max() >= n_labels):
        raise InvalidInput(f"label codes must lie in 0..{n_labels - 1}", field="labels")
    out = np.zeros((len(label_sets), n_labels), dtype=bool)
    out[np.repeat(np.arange(len(label_sets)), lengths), flat] = True
    return out


def in_play(task_idx: np.ndarray, chosen: np.ndarray, n_tasks: int) -> np.ndarray:
    """(n_tasks, n_labels) bool: the labels some answer of the task chose."""
    out = np.zeros((n_tasks, chosen.shape[1]), dtype=bool)
    if task_idx.size:
        order = np.argsort(task_idx, kind="stable")
        ordered = task_idx[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        out[ordered[starts]] = np.logical_or.reduceat(chosen[order], starts, axis=0)
    return out


def set_confidences(conf: np.ndarray, play: np.ndarray) -> np.ndarray:
    """Each task's confidence that its label set is right (small.set_confidence, for every task at once): the
    product of the per-label confidences over the labels in play, or their least where none is."""
    if conf.shape[1] == 0:
        return np.ones(conf.shape[0])
    product = np.exp(np.where(play, np.log(np.maximum(conf, 1e-300)), 0.0).sum(axis=1))
    return np.where(play.any(axis=1), product, conf.min(axis=1))


def aggregate_multilabel(
    task_idx: np.ndarray,
    worker_idx: np.ndarray,
    chosen: np.ndarray,
    n_tasks: int,
    n_workers: int,
    *,
    method: str = "auto",
    gold: np.ndarray | None = None,
    seed: int = 0,
    adaptive: bool = False,
    tie_keys: Sequence[object] | None = None,
) -> MultilabelResult:
    """Aggregate (n_answers, n_labels) bool choices as one binary problem per label (own prior and confusions).

    Each label runs calibration.consensus: `auto` picks a method per label, confidences are calibrated.
    `gold` is an (n_tasks, n_labels) int array of 1 / 0 / -1 (unknown). `adaptive`: the answers came from
    adaptive redundancy (see calibration.settle_correlation). `tie_keys` (the task ids): a label as likely in as
    out is decided by the task's id, as the settle decides it (small.multilabel); one draw per task, so a task's
    tied labels go in or out together (the answers [a] and [b]: both, or neither).
    """
    chosen = np.asarray(chosen, dtype=bool)
    t = np.asarray(task_idx, dtype=np.int64)
    w = np.asarray(worker_idx, dtype=np.int64)
    if chosen.ndim != 2 or chosen.shape[0] != t.size:
        raise InvalidInput("chosen must be an (n_answers, n_labels) matrix", field="labels")
    n_labels = chosen.shape[1]
    if gold is not None:
        gold = np.asarray(gold, dtype=np.int64)
        if gold.shape != (n_tasks, n_labels):
            raise InvalidInput("gold must be an (n_tasks, n_labels) matrix of 1, 0 or -1", field="gold")
    prob = np.zeros((n_tasks, n_labels))
    decision = np.zeros((n_tasks, n_labels), dtype=bool)
    conf = np.zeros((n_tasks, n_labels))
    skill = np.zeros((n_workers, n_labels))
    picked: list[str] = []
    rho: list[float] = []
    # One binary problem per label: each label keeps its own prevalence and worker confusions. Labels whose answers
    # (and gold) are the same column are the same problem, solved once: in a 1,000-label project most labels are in
    # no answer, and solving each of them again took 13 s for 600 answers.
    solved: dict[tuple[bytes, bytes | None], classification.ClassificationResult] = {}
    for j in range(n_labels):
        column = chosen[:, j].astype(np.int64)
        key = (column.tobytes(), None if gold is None else gold[:, j].tobytes())
        res = solved.get(key)
        if res is None:
            res = solved[key] = calibration.consensus(method, t, w, column, n_tasks, n_workers, 2,
                                                      gold=None if gold is None else gold[:, j], seed=seed,
                                                      tie_keys=tie_keys)
        prob[:, j] = res.posteriors[:, 1]
        decision[:, j] = res.labels.astype(bool)
        conf[:, j] = res.confidence
        skill[:, j] = res.worker_skill
        picked.append(res.method)
        rho.append(calibration.settle_correlation(res.calibration, adaptive))
    play = in_play(t, chosen, n_tasks) | decision
    per_task = set_confidences(conf, play)
    names = sorted(set(picked))
    return MultilabelResult(prob, decision, per_task, np.bincount(t, minlength=n_tasks),
                            skill.mean(axis=1) if n_labels else np.zeros(n_workers),
                            names[0] if len(names) == 1 else "mixed" if names else method, picked,
                            round(float(np.mean(rho)), 3) if rho else 0.0, play)


def jaccard(a: Sequence[object], b: Sequence[object]) -> float:
    """Jaccard similarity of two label sets (1.0 when both are empty)."""
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)
