"""The per-task path (small.py) against the batch model (classification.one_coin_loglik), within a tolerance."""

from __future__ import annotations

import random

import numpy as np
import pytest

from labeling.consensus import answers as ans
from labeling.consensus import classification, small, tasks
from labeling.errors import InvalidInput


def batch_posterior(codes: list[int], workers: list[int], k: int, skills: list[float] | None) -> np.ndarray:
    """One task's posterior through the NumPy model the project path uses, with small's skill rules."""
    _, inverse, counts = np.unique(workers, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse]  # a worker's c answers weigh 1/c each
    t = np.zeros(len(codes), dtype=np.int64)
    lab = np.asarray(codes, dtype=np.int64)
    if skills is None:
        votes = classification.vote_counts(t, lab, 1, k, weights)[0] + 1.0
        return votes / votes.sum()
    clipped = np.clip(np.asarray(skills), 1.0 / max(k, 2), small.MAX_SKILL)
    loglik = classification.one_coin_loglik(t, lab, clipped, 1, k, weights)[0]
    post = np.exp(loglik - loglik.max())
    return post / post.sum()


def random_skills(rng: random.Random, workers: list[int]) -> dict[int, float] | None:
    """None, an empty dict (everyone at the default skill) or skills for some workers, extremes included."""
    mode = rng.random()
    if mode < 0.25:
        return None
    if mode < 0.4:
        return {}
    pool = [0.0, 0.01, 0.5, 0.7, 0.99, 1.0, 0.85]
    return {w: (rng.choice(pool) if rng.random() < 0.3 else rng.random()) for w in workers if rng.random() < 0.7}


def test_classification_matches_the_batch_model_on_random_tasks() -> None:
    rng = random.Random(11)
    for _ in range(600):
        k = rng.choice([1, 2, 2, 3, 3, 4, 5, 7, 8, 9, 12, 20])
        labels = [f"l{i}" for i in range(k)]
        n = rng.choice([1, 2, 3, 3, 3, 4, 5, 7, 8, 9, 16, 20, 33, 64, 100])
        spread = rng.randint(1, k)  # few distinct answers make ties common
        codes = [rng.randrange(spread) for _ in range(n)]
        workers = [rng.randrange(1, 40) for _ in range(n)]
        skills = random_skills(rng, workers)
        result = tasks.aggregate_task("text_classification", [{"label": labels[c]} for c in codes], workers, labels,
                                      skills)
        known = None if skills is None else [skills.get(w, tasks.DEFAULT_SKILL) for w in workers]
        post = batch_posterior(codes, workers, k, known)
        got = [result.details["posteriors"][name] for name in labels]
        assert got == pytest.approx(post.tolist(), abs=2e-6)  # details are rounded to 6 places
        assert result.confidence == pytest.approx(post.max(), rel=1e-9)
        best = np.flatnonzero(post >= post.max() - 1e-9)
        assert labels.index(result.answer["label"]) in best
        assert result.details["votes"] == {labels[c]: codes.count(c) for c in set(codes)}


def test_multilabel_matches_the_batch_model_on_random_tasks() -> None:
    rng = random.Random(12)
    for _ in range(400):
        k = rng.choice([0, 1, 2, 3, 4, 6, 9, 12])
        labels = [f"l{i}" for i in range(k)]
        n = rng.choice([1, 2, 3, 3, 4, 5, 8, 9, 20, 40])
        answers = [{"labels": [rng.choice(labels) for _ in range(rng.randint(0, k + 1))] if k else []}
                   for _ in range(n)]
        workers = [rng.randrange(1, 40) for _ in range(n)]
        skills = random_skills(rng, workers)
        result = tasks.aggregate_task("image_multilabel", answers, workers, labels, skills)
        known = None if skills is None else [skills.get(w, tasks.DEFAULT_SKILL) for w in workers]
        confs, in_play = [], []
        for name in labels:
            post = batch_posterior([int(name in a["labels"]) for a in answers], workers, 2, known)
            assert result.details["probabilities"][name] == pytest.approx(post[1], abs=2e-6)
            assert (name in result.answer["labels"]) == (post[1] > 0.5) or abs(post[1] - 0.5) < 1e-9
            confs.append(post.max())
            if any(name in a["labels"] for a in answers) or name in result.answer["labels"]:
                in_play.append(post.max())
        # the label set's confidence: the product over the labels in play, the least where no label is
        expected = float(np.prod(in_play)) if in_play else min(confs) if confs else 1.0
        assert result.confidence == pytest.approx(expected, rel=1e-9)


def test_a_tie_is_broken_by_the_tasks_id_as_a_recompute_breaks_it() -> None:
    labels = ["a", "b", "c", "d", "e"]
    for pair in [("a", "b"), ("c", "e"), ("b", "d"), ("e", "a")]:
        for task_id in range(30):
            result = tasks.aggregate_task("image_classification", [{"label": x} for x in pair], [1, 2], labels, {},
                                          task_id=task_id)
            post = [1.0 if name in pair else 0.0 for name in labels]
            recompute = classification.break_ties(np.array([post]), 0, [task_id])[0]
            assert result.answer == {"label": labels[recompute]}
        # without an id (a one-off aggregation), the first of the tied labels
        result = tasks.aggregate_task("image_classification", [{"label": x} for x in pair], [1, 2], labels, {})
        assert result.answer == {"label": min(pair, key=labels.index)}
    assert {small.pick([0.5, 0.5], key) for key in range(30)} == {0, 1}
    assert small.pick([0.6, 0.4], 3) == 0 and small.pick([0.4, 0.6], 3) == 1


def test_tie_noise_is_fixed_by_key_seed_and_label_alone() -> None:
    noise = classification.tie_noise([7, "7", 8], 4)
    assert (noise[0] == noise[1]).all() and not (noise[0] == noise[2]).all()
    assert ((noise >= 0) & (noise < 1)).all() and len(set(noise[0].tolist())) == 4
    assert not (classification.tie_noise([7], 4, seed=1) == noise[0]).all()
    # a task's tie goes the same way whatever rows come before it
    scores = np.array([[0.5, 0.5, 0.0]] * 50)
    alone = [int(classification.break_ties(scores[:1], 0, [k])[0]) for k in range(50)]
    assert classification.break_ties(scores, 0, list(range(50))).tolist() == alone
    assert classification.break_ties(scores[::-1], 0, list(range(50))[::-1]).tolist() == alone[::-1]
    assert set(alone) == {0, 1}


def test_one_worker_with_perfect_gold_does_not_settle_a_task_alone() -> None:
    one = tasks.aggregate_task("text_classification", [{"label": "x"}], [1], ["x", "y", "z"], {1: 1.0})
    assert one.confidence == pytest.approx(small.MAX_SKILL)
    worse = tasks.aggregate_task("text_classification", [{"label": "x"}, {"label": "y"}], [1, 2], ["x", "y", "z"],
                                 {1: 1.0, 2: 0.0})  # below chance counts as chance, not as evidence against y
    assert worse.answer == {"label": "x"} and worse.details["posteriors"]["y"] == worse.details["posteriors"]["z"]


def test_a_worker_answering_twice_has_one_vote() -> None:
    labels = ["x", "y"]
    once = tasks.aggregate_task("text_classification", [{"label": "x"}, {"label": "y"}], [1, 2], labels,
                                {1: 0.8, 2: 0.8})
    twice = tasks.aggregate_task("text_classification", [{"label": "x"}, {"label": "x"}, {"label": "y"}],
                                 [1, 1, 2], labels, {1: 0.8, 2: 0.8})
    assert twice.confidence == pytest.approx(once.confidence)


def test_duplicate_label_names_and_errors() -> None:
    result = tasks.aggregate_task("image_classification", [{"label": "a"}, {"label": "b"}], [1, 2], ["a", "b", "a"],
                                  {1: 0.9})
    assert result.answer == {"label": "a"}
    bad = [
        ("image_classification", [{"label": "a"}, {"label": "zebra"}, {"label": 3}], "answers[2].label"),
        ("image_classification", [{"label": "zebra"}], "label"),
        ("image_classification", [{"nolabel": "a"}], "answers[0].label"),
        ("image_multilabel", [{"labels": ["a"]}, {"labels": ["zebra"]}], "label"),
        ("image_multilabel", [{"labels": "a"}], "answers[0].labels"),
    ]
    for task_type, answers, field in bad:
        with pytest.raises(InvalidInput) as err:
            tasks.aggregate_task(task_type, answers, list(range(len(answers))), ["a", "b"])
        assert err.value.field == field


def test_many_answers_take_the_same_path() -> None:
    n = 500
    result = tasks.aggregate_task("text_classification", [{"label": "a"}] * n, list(range(n)), ["a", "b"], {})
    assert result.answer == {"label": "a"} and result.n_annotations == n
    assert result.details["percent_agreement"] == 1.0


def test_percent_agreement_is_the_mean_over_pairs() -> None:
    rng = random.Random(4)
    for _ in range(300):
        n = rng.randint(0, 12)
        singles = [{"label": rng.choice("abc")} for _ in range(n)]
        assert ans.mean_pairwise("text_classification", singles) == pytest.approx(
            _slow_mean_pairwise("text_classification", singles))
        multi = [{"labels": rng.sample("abcd", rng.randint(0, 4))} for _ in range(n)]
        assert ans.mean_pairwise("text_multilabel", multi) == pytest.approx(
            _slow_mean_pairwise("text_multilabel", multi))


def _slow_mean_pairwise(task_type: str, answers: list[dict]) -> float | None:
    """The definition: similarity of every pair, averaged."""
    vals = [ans.similarity(task_type, answers[i], answers[j])
            for i in range(len(answers)) for j in range(i + 1, len(answers))]
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None


def test_a_correlation_tempers_the_evidence_of_a_tasks_answers() -> None:
    labels = ["a", "b", "c"]
    answers = [{"label": x} for x in ("a", "a", "a", "b")]
    workers, skills = [1, 2, 3, 4], {1: 0.8, 2: 0.8, 3: 0.8, 4: 0.8}
    plain = tasks.aggregate_task("text_classification", answers, workers, labels, skills)
    assert tasks.aggregate_task("text_classification", answers, workers, labels, skills, 0.0) == plain
    tempered = tasks.aggregate_task("text_classification", answers, workers, labels, skills, 0.5)
    # Four answers at rho 0.5 weigh as 4 / (1 + 3 * 0.5) = 1.6 independent ones: each log-odds term times 1 / 2.5.
    gain = np.log(0.8) - np.log(0.1)
    loglik = np.array([2 * gain, 0.0, -gain]) / 2.5
    expected = np.exp(loglik - loglik.max()) / np.exp(loglik - loglik.max()).sum()
    assert tempered.answer == plain.answer == {"label": "a"}
    assert tempered.confidence == pytest.approx(expected[0], rel=1e-9) and tempered.confidence < plain.confidence
    # A worker's two answers count as one worker: the design effect counts distinct workers.
    twice = tasks.aggregate_task("text_classification", answers + [{"label": "a"}], workers + [1], labels, skills, 0.5)
    assert twice.confidence < plain.confidence
    assert tasks.aggregate_task("text_classification", answers[:1], workers[:1], labels, skills, 0.9).confidence == \
        pytest.approx(tasks.aggregate_task("text_classification", answers[:1], workers[:1], labels, skills).confidence)
    # Without skills (no project consensus yet) there is no correlation to allow for: the votes count as they are.
    assert tasks.aggregate_task("text_classification", answers, workers, labels, None, 0.5) == \
        tasks.aggregate_task("text_classification", answers, workers, labels, None)
    multi = [{"labels": ["a"]}, {"labels": ["a"]}, {"labels": ["a", "b"]}]
    loose = tasks.aggregate_task("text_multilabel", multi, [1, 2, 3], labels, skills)
    tight = tasks.aggregate_task("text_multilabel", multi, [1, 2, 3], labels, skills, 0.5)
    assert tight.answer == loose.answer and tight.confidence < loose.confidence


def test_many_labels_keep_every_voted_label_in_the_posteriors_however_unlikely():
    """Past MANY_LABELS labels the details keep the labels in play: those voted for and those of probability
    PROBABILITY_FLOOR or more. A label one weak worker chose against three skilled ones has a posterior far below
    the floor, but it was voted for: it stays (it was dropped, so `votes` named a label `posteriors` did not)."""
    labels = [f"tag{i:02d}" for i in range(25)]
    answers = [{"label": "tag01"}] * 3 + [{"label": "tag02"}]
    _, _, details = small.classification(answers, labels, [0.99, 0.99, 0.99, 0.05], worker_ids=[1, 2, 3, 4])
    assert details["posteriors"]["tag02"] < small.PROBABILITY_FLOOR
    assert set(details["votes"]) <= set(details["posteriors"]) == {"tag01", "tag02"}
    assert details["other_labels_max"] < small.PROBABILITY_FLOOR
