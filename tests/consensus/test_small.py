"""The plain-Python per-task path must give what the NumPy path gives, on many random small tasks."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from labeling.consensus import answers as ans
from labeling.consensus import classification, small, tasks
from labeling.errors import InvalidInput

# Where NumPy uses its own AVX-512 log/exp instead of the C library's, the last bit of a posterior may differ.
_PROBE = np.linspace(1e-3, 40.0, 4001)
LIBM_LIKE = (np.log(_PROBE).tolist() == [math.log(x) for x in _PROBE.tolist()]
             and np.exp(-_PROBE).tolist() == [math.exp(-x) for x in _PROBE.tolist()])


def numpy_path(monkeypatch: pytest.MonkeyPatch, *args: object) -> tasks.TaskConsensus:
    """aggregate_task with the plain-Python path switched off."""
    with monkeypatch.context() as patch:
        patch.setattr(small, "MAX_ANSWERS", -1)
        return tasks.aggregate_task(*args)  # type: ignore[arg-type]


def same(fast: tasks.TaskConsensus, slow: tasks.TaskConsensus) -> None:
    """Identical answer, count and details; confidence to the bit (where NumPy's log/exp are libm's)."""
    assert fast.answer == slow.answer
    assert fast.n_annotations == slow.n_annotations
    assert fast.details == slow.details
    assert list(fast.details) == list(slow.details)  # same key order, so the stored JSON is identical
    assert type(fast.confidence) is float
    if LIBM_LIKE:
        assert fast.confidence == slow.confidence
    else:
        assert fast.confidence == pytest.approx(slow.confidence, rel=1e-12)


def random_skills(rng: random.Random, workers: list[int]) -> dict[int, float] | None:
    """None, an empty dict (everyone at the default skill) or skills for some workers, extremes included."""
    mode = rng.random()
    if mode < 0.25:
        return None
    if mode < 0.4:
        return {}
    pool = [0.0, 0.01, 0.5, 0.7, 0.99, 1.0, 0.85]
    return {w: (rng.choice(pool) if rng.random() < 0.3 else rng.random()) for w in workers if rng.random() < 0.7}


def test_classification_matches_numpy_on_random_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    for _ in range(1500):
        k = rng.choice([1, 2, 2, 3, 3, 4, 5, 7, 8, 9, 12, 20])
        labels = [f"l{i}" for i in range(k)]
        n = rng.choice([1, 2, 3, 3, 3, 4, 5, 7, 8, 9, 16, 20, 33, 64])
        spread = rng.randint(1, k)  # few distinct answers make ties common
        answers = [{"label": labels[rng.randrange(spread)]} for _ in range(n)]
        workers = [rng.randrange(1, 40) for _ in range(n)]
        skills = random_skills(rng, workers)
        args = ("text_classification", answers, workers, labels, skills)
        same(tasks.aggregate_task(*args), numpy_path(monkeypatch, *args))


def test_multilabel_matches_numpy_on_random_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(12)
    for _ in range(1000):
        k = rng.choice([0, 1, 2, 3, 4, 6, 9, 12])
        labels = [f"l{i}" for i in range(k)]
        n = rng.choice([1, 2, 3, 3, 4, 5, 8, 9, 20, 40])
        answers = [{"labels": [rng.choice(labels) for _ in range(rng.randint(0, k + 1))] if k else []}
                   for _ in range(n)]
        workers = [rng.randrange(1, 40) for _ in range(n)]
        skills = random_skills(rng, workers)
        args = ("image_multilabel", answers, workers, labels, skills)
        same(tasks.aggregate_task(*args), numpy_path(monkeypatch, *args))


def test_ties_follow_break_ties() -> None:
    labels = ["a", "b", "c", "d", "e"]
    for pair in [("a", "b"), ("c", "e"), ("b", "d"), ("a", "e")]:
        answers = [{"label": x} for x in pair]
        result = tasks.aggregate_task("image_classification", answers, [1, 2], labels)
        post = np.array([[result.details["posteriors"][name] for name in labels]])
        assert result.answer == {"label": labels[int(classification.break_ties(post)[0])]}
        assert result.answer["label"] in pair


def test_duplicate_label_names_and_errors_match(monkeypatch: pytest.MonkeyPatch) -> None:
    args = ("image_classification", [{"label": "a"}, {"label": "b"}], [1, 2], ["a", "b", "a"], {1: 0.9})
    same(tasks.aggregate_task(*args), numpy_path(monkeypatch, *args))
    args = ("image_multilabel", [{"labels": ["a", "a"]}, {"labels": ["b"]}], [1, 2], ["a", "b", "a"], None)
    same(tasks.aggregate_task(*args), numpy_path(monkeypatch, *args))
    bad = [
        ("image_classification", [{"label": "a"}, {"label": "zebra"}, {"label": 3}]),
        ("image_classification", [{"label": "zebra"}]),
        ("image_classification", [{"nolabel": "a"}]),
        ("image_multilabel", [{"labels": ["a"]}, {"labels": ["zebra"]}]),
        ("image_multilabel", [{"labels": "a"}]),
    ]
    for task_type, answers in bad:
        with pytest.raises(InvalidInput) as fast:
            tasks.aggregate_task(task_type, answers, list(range(len(answers))), ["a", "b"])
        with pytest.raises(InvalidInput) as slow:
            numpy_path(monkeypatch, task_type, answers, list(range(len(answers))), ["a", "b"])
        assert (fast.value.message, fast.value.field) == (slow.value.message, slow.value.field)


def test_large_tasks_take_the_numpy_path() -> None:
    n = small.MAX_ANSWERS + 1
    result = tasks.aggregate_task("text_classification", [{"label": "a"}] * n, list(range(n)), ["a", "b"], {})
    assert result.answer == {"label": "a"} and result.n_annotations == n
    assert result.details["percent_agreement"] == 1.0


def test_pairwise_sum_is_numpys_sum() -> None:
    rng = np.random.default_rng(3)
    for size in list(range(0, 300)) + [517, 1000]:
        values = rng.standard_normal(size) * rng.choice([1.0, 1e-8, 1e8])
        assert small.pairwise_sum(values.tolist()) == float(np.sum(values))


def test_tie_noise_is_break_ties_noise() -> None:
    for k in (1, 2, 5, 64, 100):
        assert small.tie_noise(k) == np.random.default_rng(0).random((1, k))[0].tolist()


def test_percent_agreement_is_mean_pairwise() -> None:
    rng = random.Random(4)
    for _ in range(500):
        n = rng.randint(0, 12)
        singles = [{"label": rng.choice("abc")} for _ in range(n)]
        counts = [sum(a["label"] == x for a in singles) for x in "abc"]
        reference = _slow_mean_pairwise("text_classification", singles)
        assert small.label_agreement(counts, n) == reference
        assert ans.mean_pairwise("text_classification", singles) == reference
        multi = [{"labels": rng.sample("abcd", rng.randint(0, 4))} for _ in range(n)]
        reference = _slow_mean_pairwise("text_multilabel", multi)
        assert small.set_agreement([a["labels"] for a in multi]) == reference
        assert ans.mean_pairwise("text_multilabel", multi) == reference


def _slow_mean_pairwise(task_type: str, answers: list[dict]) -> float | None:
    """The original definition: similarity of every pair, averaged."""
    vals = [ans.similarity(task_type, answers[i], answers[j])
            for i in range(len(answers)) for j in range(i + 1, len(answers))]
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None
