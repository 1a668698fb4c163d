"""One task's classification or multilabel consensus in plain Python: the per-task path, run on every submit.

tasks.aggregate_task runs inside the server's single writer transaction each time a task gets its last
needed answer, and its confidence decides whether adaptive redundancy asks for one more answer. For a
handful of answers NumPy's per-call overhead dwarfs the arithmetic, so this is plain Python floats.

The model is one-coin Dawid-Skene with the workers' known accuracies: the last project-wide estimate
(calibration.worker_skill: the chance that one of the worker's answers is right under the project's
calibrated consensus) or their gold accuracy. An accuracy counts only between chance (1/K) and MAX_SKILL:
a skill read off three gold answers can be 1.0, and one such worker must not settle a task alone. Answers
to one task are not independent (a crowd shares errors): with the correlation rho the last project consensus
measured (calibration.task_correlation), a task's evidence is divided by 1 + (n - 1) * rho over its n
distinct workers, so they weigh as n / (1 + (n - 1) * rho) independent answers.
classification.one_coin_loglik is the same model over many tasks at once (tests/consensus/test_small.py
compares the two); benchmarks/README.md (Calibration) has how honest its confidences are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from labeling.consensus import answers as ans
from labeling.consensus.classification import tie_noise
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


def _weights(worker_ids: Sequence[int]) -> list[float] | None:
    """Per answer 1/c for a worker with c answers to the task (one vote per worker, as in the project path);
    None in the usual case of distinct workers."""
    if len(set(worker_ids)) == len(worker_ids):
        return None
    count: dict[int, int] = {}
    for worker in worker_ids:
        count[worker] = count.get(worker, 0) + 1
    return [1.0 / count[worker] for worker in worker_ids]


def clip_skill(skill: float, n_classes: int) -> float:
    """A known accuracy as the model uses it: at least chance, at most MAX_SKILL."""
    return min(max(skill, 1.0 / max(n_classes, 2)), MAX_SKILL)


def _terms(skills: Sequence[float], weights: Sequence[float] | None, n_classes: int, correlation: float = 0.0
           ) -> tuple[float, list[float]]:
    """One-coin log-likelihood pieces: the sum of every answer's log P(wrong label), and per answer the gain
    log P(right) - log P(wrong) its label gets (each times the answer's weight), all divided by the design
    effect 1 + (n - 1) * correlation of the task's n distinct workers."""
    spread = max(n_classes - 1, 1)
    distinct = len(skills) if weights is None else sum(weights)  # weights 1/c per worker sum to one per worker
    temper = 1.0 + max(distinct - 1.0, 0.0) * max(correlation, 0.0)
    base, gains = 0.0, []
    for i, skill in enumerate(skills):
        p = clip_skill(skill, n_classes)
        wrong = math.log((1.0 - p) / spread)
        weight = (1.0 if weights is None else weights[i]) / temper
        base += weight * wrong
        gains.append(weight * (math.log(p) - wrong))
    return base, gains


def _normalise(loglik: Sequence[float]) -> list[float]:
    """Softmax of log-likelihoods."""
    top = max(loglik)
    exps = [math.exp(x - top) for x in loglik]
    total = sum(exps)
    return [e / total for e in exps]


def posterior(codes: Sequence[int], n_classes: int, skills: Sequence[float] | None,
              weights: Sequence[float] | None, correlation: float = 0.0) -> list[float]:
    """P(true class) for one task: votes smoothed by one pseudo-vote per class without skills, else one-coin
    (tempered by `correlation`, see the module docstring)."""
    if skills is None:
        counts = [1.0] * n_classes
        for i, code in enumerate(codes):
            counts[code] += 1.0 if weights is None else weights[i]
        total = sum(counts)
        return [c / total for c in counts]
    base, gains = _terms(skills, weights, n_classes, correlation)
    loglik = [base] * n_classes
    for code, gain in zip(codes, gains):
        loglik[code] += gain
    return _normalise(loglik)


def pick(post: Sequence[float], key: object = None) -> int:
    """The most probable label; a tie (within 1e-12) is broken by the task's id `key` as the project's recompute
    breaks it (classification.break_ties: seed 0), so that a recompute over the same answers keeps the label;
    without a key, the first of the tied labels."""
    best = max(post)
    tied = [i for i, p in enumerate(post) if p >= best - 1e-12]
    if len(tied) == 1 or key is None:
        return tied[0]
    noise = tie_noise([key], len(post))[0]
    return max(tied, key=lambda i: noise[i])


MANY_LABELS = 20  # with more labels than this, a task's details name only the labels in play
PROBABILITY_FLOOR = 0.001  # ... for a single label: those voted for or of at least this probability


def by_label(labels: Sequence[str], values: Sequence[float], details: dict, key: str, in_play: Iterable[int] = (),
             floor: float | None = PROBABILITY_FLOOR) -> None:
    """details[key] = {label: value rounded to 6 places}: every label's, or, past MANY_LABELS labels, only those in
    play: the codes `in_play` (those voted for; a multi-label task: the labels some answer or the consensus chose)
    and, unless `floor` is None, those of at least `floor`; then details["other_labels_max"] is the largest value
    left out. A 1,000-label project stored a thousand numbers in every task's consensus (13 KB a task), nearly all
    of them the same small one."""
    if len(labels) <= MANY_LABELS:
        details[key] = {name: round(float(p), 6) for name, p in zip(labels, values)}
        return
    keep = set(in_play)
    if floor is not None:
        keep.update(i for i, p in enumerate(values) if p >= floor)
    details[key] = {labels[i]: round(float(values[i]), 6) for i in sorted(keep)}
    rest = [float(p) for i, p in enumerate(values) if i not in keep]
    if rest:
        details["other_labels_max"] = round(max(rest), 6)


def set_confidence(confs: Sequence[float], in_play: Iterable[int]) -> float:
    """A multi-label task's confidence: the probability that its label set is right, as the product of each label's
    confidence over the labels in play (chosen by some answer, or in the consensus); the labels no answer chose
    count as absent. The mean over every label (what it was) read 0.97 for three answers split on one label of
    ten (0.79 now), and 0.98 with 1,000 labels: adaptive redundancy stopped at once. With no
    label in play (every answer the empty set), the least confidence of any label (the one likeliest to be
    missing), which labels no answer could have chosen do not lower."""
    product, seen = 1.0, False
    for i in in_play:
        product *= confs[i]
        seen = True
    if seen:
        return product
    return min(confs) if confs else 1.0


def classification(answers: Sequence[Any], labels: Sequence[str], skills: Sequence[float] | None,
                   worker_ids: Sequence[int] | None = None, correlation: float = 0.0,
                   key: object = None) -> tuple[dict, float, dict]:
    """(answer, confidence, details) of one single-label task; `correlation` tempers skilled evidence; `key`, the
    task's id, breaks a tie (pick)."""
    lookup = {name: i for i, name in enumerate(labels)}
    codes = _codes([ans.label_of(a, f"answers[{i}]") for i, a in enumerate(answers)], lookup, labels)
    weights = _weights(worker_ids if worker_ids is not None else range(len(codes)))
    k = len(labels)
    counts = [0] * k
    for code in codes:
        counts[code] += 1
    post = posterior(codes, k, skills, weights, correlation)
    choice = pick(post, key)
    details = {"votes": {labels[i]: c for i, c in enumerate(counts) if c}}
    by_label(labels, post, details, "posteriors", set(codes))
    details["percent_agreement"] = ans.label_agreement(counts, len(codes))
    return {"label": labels[choice]}, post[choice], details


def multilabel(answers: Sequence[Any], labels: Sequence[str], skills: Sequence[float] | None,
               worker_ids: Sequence[int] | None = None, correlation: float = 0.0,
               key: object = None) -> tuple[dict, float, dict]:
    """(answer, confidence, details) of one multilabel task: a binary posterior per label, chosen above one half;
    at one half, as pick decides [no, yes] by the task's id `key` (the same draw for every label of the task, as the
    recompute's multilabel.aggregate_multilabel)."""
    lookup = {name: i for i, name in enumerate(labels)}
    chosen_sets, name_sets = [], []
    for i, a in enumerate(answers):
        names = ans.labels_of(a, f"answers[{i}]")
        chosen_sets.append(set(_codes(names, lookup, labels)))
        name_sets.append(names)
    weights = _weights(worker_ids if worker_ids is not None else range(len(chosen_sets)))
    n = len(chosen_sets)
    if skills is not None:
        base, gains = _terms(skills, weights, 2, correlation)  # the same for every label: computed once
    picked, probs, confs = [], {}, []
    for code, name in enumerate(labels):
        if skills is None:
            if weights is None:
                yes = sum(1 for chosen in chosen_sets if code in chosen)
                p_no, p_yes = (n - yes + 1) / (n + 2), (yes + 1) / (n + 2)
            else:
                p_no, p_yes = posterior([1 if code in s else 0 for s in chosen_sets], 2, None, weights)
        else:
            yes_ll = no_ll = base
            for chosen, gain in zip(chosen_sets, gains):
                if code in chosen:
                    yes_ll += gain
                else:
                    no_ll += gain
            top = max(no_ll, yes_ll)  # a two-way softmax, inline: this loop runs once per label per submit
            e_no, e_yes = math.exp(no_ll - top), math.exp(yes_ll - top)
            p_no, p_yes = e_no / (e_no + e_yes), e_yes / (e_no + e_yes)
        probs[name] = p_yes
        confs.append(max(p_no, p_yes))
        if pick((p_no, p_yes), key) == 1:
            picked.append(name)
    in_play = set().union(*chosen_sets) | {lookup[name] for name in picked}
    confidence = set_confidence(confs, in_play)
    details: dict = {}
    by_label(labels, list(probs.values()), details, "probabilities", in_play, floor=None)
    details["percent_agreement"] = ans.set_agreement(name_sets)
    return {"labels": picked}, confidence, details
