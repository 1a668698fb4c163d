"""One task's classification or multilabel consensus in plain Python: the per-task path, run on every submit.

tasks.aggregate_task runs inside the server's single writer transaction each time a task gets its last
needed answer, and its confidence decides whether adaptive redundancy asks for one more answer. For a
handful of answers NumPy's per-call overhead dwarfs the arithmetic, so this is plain Python floats.

The model is one-coin Dawid-Skene with the workers' known accuracies: the last project-wide estimate
(calibration.worker_skill: the chance that one of the worker's answers is right under the project's
calibrated consensus) or their gold accuracy. An accuracy counts only between chance (1/K) and MAX_SKILL:
a skill read off three gold answers can be 1.0, and one such worker must not settle a task alone.
classification.one_coin_loglik is the same model over many tasks at once (tests/consensus/test_small.py
compares the two); benchmarks/README.md (Calibration) has how honest its confidences are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from labeling.consensus import answers as ans
from labeling.errors import InvalidInput

MAX_SKILL = 0.95


def _codes(values: Sequence[str], lookup: dict[str, int], labels: Sequence[str]) -> list[int]:
    """Label index of each value; raise InvalidInput naming an unknown label."""
    out = []
    for value in values:
        code = lookup.get(value)
        if code is None:
            raise InvalidInput(f"answer: label {value!r} is not one of {', '.join(labels)}", field="label")
        out.append(code)
    return out


def _weights(worker_ids: Sequence[int]) -> list[float]:
    """Per answer 1/c for a worker with c answers to the task: one vote per worker, as in the project path."""
    count: dict[int, int] = {}
    for worker in worker_ids:
        count[worker] = count.get(worker, 0) + 1
    return [1.0 / count[worker] for worker in worker_ids]


def clip_skill(skill: float, n_classes: int) -> float:
    """A known accuracy as the model uses it: at least chance, at most MAX_SKILL."""
    return min(max(skill, 1.0 / max(n_classes, 2)), MAX_SKILL)


def posterior(codes: Sequence[int], n_classes: int, skills: Sequence[float] | None,
              weights: Sequence[float]) -> list[float]:
    """P(true class) for one task: smoothed votes without skills, else one-coin with the known skills."""
    if skills is None:
        counts = [1.0] * n_classes  # one pseudo-vote per class
        for code, weight in zip(codes, weights):
            counts[code] += weight
        total = sum(counts)
        return [c / total for c in counts]
    spread = max(n_classes - 1, 1)
    base = 0.0
    loglik = [0.0] * n_classes
    for code, skill, weight in zip(codes, skills, weights):
        p = clip_skill(skill, n_classes)
        wrong = math.log((1.0 - p) / spread)
        base += weight * wrong
        loglik[code] += weight * (math.log(p) - wrong)
    top = max(loglik)
    exps = [math.exp(x - top) for x in loglik]
    total = sum(exps)
    return [e / total for e in exps]


def pick(post: Sequence[float], counts: Sequence[float]) -> int:
    """The most probable label; a tie (within 1e-12) goes to more votes, then to the first label."""
    best = max(post)
    return min((i for i, p in enumerate(post) if p >= best - 1e-12), key=lambda i: -counts[i])


def classification(answers: Sequence[Any], labels: Sequence[str], skills: Sequence[float] | None,
                   worker_ids: Sequence[int] | None = None) -> tuple[dict, float, dict]:
    """(answer, confidence, details) of one single-label task."""
    lookup = {name: i for i, name in enumerate(labels)}
    codes = _codes([ans.label_of(a, f"answers[{i}]") for i, a in enumerate(answers)], lookup, labels)
    weights = _weights(worker_ids if worker_ids is not None else range(len(codes)))
    k = len(labels)
    counts = [0] * k
    for code in codes:
        counts[code] += 1
    post = posterior(codes, k, skills, weights)
    choice = pick(post, counts)
    details = {"votes": {labels[i]: c for i, c in enumerate(counts) if c},
               "posteriors": {labels[i]: round(p, 6) for i, p in enumerate(post)},
               "percent_agreement": ans.label_agreement(counts, len(codes))}
    return {"label": labels[choice]}, post[choice], details


def multilabel(answers: Sequence[Any], labels: Sequence[str], skills: Sequence[float] | None,
               worker_ids: Sequence[int] | None = None) -> tuple[dict, float, dict]:
    """(answer, confidence, details) of one multilabel task: a binary posterior per label, chosen above one half."""
    lookup = {name: i for i, name in enumerate(labels)}
    chosen_sets, name_sets = [], []
    for i, a in enumerate(answers):
        names = ans.labels_of(a, f"answers[{i}]")
        chosen_sets.append(set(_codes(names, lookup, labels)))
        name_sets.append(names)
    weights = _weights(worker_ids if worker_ids is not None else range(len(chosen_sets)))
    picked, probs, confs = [], {}, []
    for code, name in enumerate(labels):
        votes = [1 if code in s else 0 for s in chosen_sets]
        p_no, p_yes = posterior(votes, 2, skills, weights)
        probs[name] = round(p_yes, 6)
        confs.append(max(p_no, p_yes))
        if p_yes > 0.5:
            picked.append(name)
    confidence = sum(confs) / len(confs) if confs else 1.0
    return {"labels": picked}, confidence, {"probabilities": probs, "percent_agreement": ans.set_agreement(name_sets)}
