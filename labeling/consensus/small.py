"""One small task's classification or multilabel consensus in plain Python: the hot path on every submit.

tasks.aggregate_task runs inside the server's single writer transaction each time a task gets its last
needed answer. For a handful of answers NumPy's per-call overhead dwarfs the arithmetic, so these
functions do the same arithmetic on Python floats, in the same order as the NumPy path (tasks._posterior,
classification.break_ties, answers.mean_pairwise), so that answer, confidence and details are identical:
sums follow NumPy's pairwise summation order, per-class log-likelihoods are accumulated in answer order
as np.add.at does, and ties are broken with the same seeded noise as break_ties(seed=0).
(math.log/math.exp are the C library's; NumPy builds that use their own AVX-512 log/exp may differ from
them in the last bit.) tests/consensus/test_small.py compares both paths on many random inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from labeling.consensus import answers as ans
from labeling.errors import InvalidInput

MAX_ANSWERS = 64  # tasks.aggregate_task uses this path up to this many answers, NumPy above
_NOISE: list[float] = []  # the first values of np.random.default_rng(0).random(): break_ties' noise


def tie_noise(n_classes: int) -> list[float]:
    """break_ties' seeded noise for one row of n_classes scores (computed once with NumPy, then cached)."""
    if len(_NOISE) < n_classes:
        import numpy as np  # only when a project has more labels than any before

        _NOISE[:] = np.random.default_rng(0).random(max(n_classes, 64)).tolist()
    return _NOISE[:n_classes]


def pairwise_sum(values: Sequence[float]) -> float:
    """The sum of a float64 vector in NumPy's pairwise order (eight partial sums per block), to the last bit."""
    n = len(values)
    if n < 8:
        total = 0.0
        for value in values:
            total += value
        return total
    if n <= 128:
        r0, r1, r2, r3, r4, r5, r6, r7 = values[:8]
        stop = n - n % 8
        for i in range(8, stop, 8):
            r0 += values[i]
            r1 += values[i + 1]
            r2 += values[i + 2]
            r3 += values[i + 3]
            r4 += values[i + 4]
            r5 += values[i + 5]
            r6 += values[i + 6]
            r7 += values[i + 7]
        total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for i in range(stop, n):
            total += values[i]
        return total
    half = n // 2
    half -= half % 8
    return pairwise_sum(values[:half]) + pairwise_sum(values[half:])


def pick(post: Sequence[float]) -> int:
    """Index of the largest value; ties (within 1e-12) broken exactly as classification.break_ties(seed=0)."""
    best = max(post)
    floor = best - 1e-12
    noise = tie_noise(len(post))
    choice, top = 0, -2.0
    for i, p in enumerate(post):
        if p >= floor and noise[i] > top:
            choice, top = i, noise[i]
    return choice


def _log_terms(skills: Sequence[float], n_classes: int) -> tuple[float, list[float]]:
    """Sum over answers of log P(wrong) and, per answer, log P(right) - log P(wrong) (one-coin, skill clipped)."""
    spread = max(n_classes - 1, 1)
    wrong, bonus = [], []
    for skill in skills:
        p = min(max(skill, 0.01), 0.99)
        w = math.log((1.0 - p) / spread)
        wrong.append(w)
        bonus.append(math.log(p) - w)
    return pairwise_sum(wrong), bonus


def _normalise(loglik: list[float]) -> list[float]:
    """Softmax of log-likelihoods in NumPy's order of operations."""
    top = max(loglik)
    post = [math.exp(x - top) for x in loglik]
    total = pairwise_sum(post)
    return [p / total for p in post]


def classification(answers: Sequence[Any], labels: Sequence[str], skills: Sequence[float] | None
                   ) -> tuple[dict, float, dict]:
    """(answer, confidence, details) of one single-label task, as tasks.aggregate_task's NumPy path."""
    values = [ans.label_of(a, f"answers[{i}]") for i, a in enumerate(answers)]
    lookup = {name: i for i, name in enumerate(labels)}
    codes = []
    for value in values:
        code = lookup.get(value)
        if code is None:
            raise InvalidInput(f"answer: label {value!r} is not one of {', '.join(labels)}", field="label")
        codes.append(code)
    k, n = len(labels), len(codes)
    counts = [0] * k
    for code in codes:
        counts[code] += 1
    if skills is None:
        post = [(c + 1) / (n + k) for c in counts]
    else:
        base, bonus = _log_terms(skills, k)
        loglik = [base] * k
        for code, gain in zip(codes, bonus):
            loglik[code] += gain
        post = _normalise(loglik)
    choice = pick(post)
    details = {"votes": {labels[i]: c for i, c in enumerate(counts) if c},
               "posteriors": {labels[i]: round(p, 6) for i, p in enumerate(post)},
               "percent_agreement": label_agreement(counts, n)}
    return {"label": labels[choice]}, post[choice], details


def multilabel(answers: Sequence[Any], labels: Sequence[str], skills: Sequence[float] | None
               ) -> tuple[dict, float, dict]:
    """(answer, confidence, details) of one multilabel task: a binary posterior per label, chosen above one half."""
    lookup = {name: i for i, name in enumerate(labels)}
    chosen_sets, name_sets = [], []
    for i, a in enumerate(answers):
        names = ans.labels_of(a, f"answers[{i}]")
        codes = set()
        for value in names:
            if value not in lookup:
                raise InvalidInput(f"answer: label {value!r} is not one of {', '.join(labels)}", field="label")
            codes.add(lookup[value])
        chosen_sets.append(codes)
        name_sets.append(names)
    n = len(chosen_sets)
    if skills is not None:
        base, bonus = _log_terms(skills, 2)
    picked, probs, confs = [], {}, []
    for code, name in enumerate(labels):
        if skills is None:
            yes = sum(1 for s in chosen_sets if code in s)
            p_no, p_yes = (n - yes + 1) / (n + 2), (yes + 1) / (n + 2)
        else:
            no_ll = yes_ll = base
            for s, gain in zip(chosen_sets, bonus):
                if code in s:
                    yes_ll += gain
                else:
                    no_ll += gain
            top = max(no_ll, yes_ll)
            e_no, e_yes = math.exp(no_ll - top), math.exp(yes_ll - top)
            total = e_no + e_yes
            p_no, p_yes = e_no / total, e_yes / total
        probs[name] = round(p_yes, 6)
        confs.append(max(p_no, p_yes))
        if p_yes > 0.5:
            picked.append(name)
    confidence = pairwise_sum(confs) / len(confs) if confs else 1.0
    return {"labels": picked}, confidence, {"probabilities": probs, "percent_agreement": set_agreement(name_sets)}


def label_agreement(counts: Sequence[int], n: int) -> float | None:
    """Share of agreeing pairs among n single-label answers with these per-label counts (None below two)."""
    if n < 2:
        return None
    return sum(c * (c - 1) // 2 for c in counts) / (n * (n - 1) // 2)


def set_agreement(label_lists: Sequence[Sequence[Any]]) -> float | None:
    """Mean Jaccard similarity over all pairs of label sets, summed in answers.mean_pairwise's order."""
    n = len(label_lists)
    if n < 2:
        return None
    sets = [set(x) for x in label_lists]
    vals = []
    for i in range(n):
        a = sets[i]
        for j in range(i + 1, n):
            b = sets[j]
            vals.append(len(a & b) / len(a | b) if a or b else 1.0)
    return sum(vals) / len(vals)
