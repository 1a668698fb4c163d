"""Majority vote, Dawid-Skene and one-coin on small crowds with known answers."""

from __future__ import annotations

import os

import numpy as np
import pytest

from labeling.consensus import classification as C
from labeling.consensus import csvio
from labeling.errors import InvalidInput

DATASETS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "datasets")


def crowd(truth: np.ndarray, behaviours: list, seed: int = 0):
    """Every worker answers every task through its behaviour(truth, rng) -> labels."""
    rng = np.random.default_rng(seed)
    t, w, lab = [], [], []
    for wk, behave in enumerate(behaviours):
        t.append(np.arange(truth.size))
        w.append(np.full(truth.size, wk))
        lab.append(behave(truth, rng))
    return np.concatenate(t), np.concatenate(w), np.concatenate(lab)


def noisy(acc: float, k: int):
    def behave(truth, rng):
        wrong = (truth + rng.integers(1, k, truth.size)) % k
        return np.where(rng.random(truth.size) < acc, truth, wrong)
    return behave


def test_majority_vote_counts_and_confidence() -> None:
    r = C.majority_vote(np.array([0, 0, 0, 1]), np.array([0, 1, 2, 0]), np.array([1, 1, 0, 0]), 2, 3, 2)
    assert r.labels.tolist() == [1, 0]
    assert r.confidence.tolist() == pytest.approx([2 / 3, 1.0])
    assert r.posteriors.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert r.n_answers.tolist() == [3, 1]


def test_majority_vote_breaks_ties_reproducibly_among_tied_labels_only() -> None:
    t = np.repeat(np.arange(200), 2)
    lab = np.tile([0, 2], 200)  # every task tied between labels 0 and 2, label 1 never chosen
    w = np.tile([0, 1], 200)
    a = C.majority_vote(t, w, lab, 200, 2, 3, seed=7)
    b = C.majority_vote(t, w, lab, 200, 2, 3, seed=7)
    assert a.labels.tolist() == b.labels.tolist()
    assert set(a.labels.tolist()) == {0, 2}


def test_weighted_majority_follows_the_heavier_worker() -> None:
    r = C.majority_vote(np.array([0, 0, 0]), np.array([0, 1, 2]), np.array([1, 0, 0]), 1, 3, 2,
                        weights=np.array([5.0, 1.0, 1.0]))
    assert r.labels.tolist() == [1]


def test_dawid_skene_trusts_one_reliable_worker_over_two_learnable_adversaries() -> None:
    rng = np.random.default_rng(1)
    n_tasks, reliable, adversaries = 600, [0, 1, 2, 3], [4, 5]
    truth = rng.integers(0, 2, n_tasks)
    t, w, lab = [], [], []
    for task in range(n_tasks):
        for wk in rng.choice(6, size=3, replace=False):  # three answers per task from a pool of six
            right = rng.random() < 0.9
            t.append(task)
            w.append(wk)
            lab.append(truth[task] if (wk in reliable) == right else 1 - truth[task])
    t, w, lab = np.array(t), np.array(w), np.array(lab)
    both = np.bincount(t[np.isin(w, adversaries)], minlength=n_tasks) == 2  # outvoted 2 to 1 here
    mv = C.majority_vote(t, w, lab, n_tasks, 6, 2)
    ds = C.dawid_skene(t, w, lab, n_tasks, 6, 2)
    assert both.sum() > 50
    assert (mv.labels[both] == truth[both]).mean() < 0.3
    assert (ds.labels[both] == truth[both]).mean() > 0.85
    assert ds.confusion.dense().shape == (6, 2, 2)
    assert ds.confusion.dense()[4, 0, 1] > 0.8  # an adversary answers 1 when the truth is 0
    assert ds.worker_skill[adversaries].max() < 0.2 < 0.8 < ds.worker_skill[reliable].min()
    assert ds.confidence == pytest.approx(ds.posteriors.max(axis=1))


def test_gold_anchors_dawid_skene_against_a_majority_of_adversaries() -> None:
    truth = np.random.default_rng(2).integers(0, 2, 400)
    flip = lambda tr, rng: 1 - tr  # noqa: E731
    t, w, lab = crowd(truth, [noisy(0.9, 2), flip, flip])
    gold = np.full(400, -1)
    gold[:40] = truth[:40]
    plain = C.dawid_skene(t, w, lab, 400, 3, 2)
    anchored = C.dawid_skene(t, w, lab, 400, 3, 2, gold=gold)
    rest = slice(40, None)
    assert (plain.labels[rest] == truth[rest]).mean() < 0.5
    assert (anchored.labels[rest] == truth[rest]).mean() > 0.85
    assert anchored.posteriors[:40].max(axis=1) == pytest.approx(1.0)
    assert anchored.worker_skill[1] < 0.2


def test_one_coin_estimates_worker_accuracy() -> None:
    truth = np.random.default_rng(3).integers(0, 4, 2000)
    accs = [0.95, 0.8, 0.6, 0.4]
    t, w, lab = crowd(truth, [noisy(a, 4) for a in accs])
    r = C.one_coin(t, w, lab, 2000, 4, 4)
    assert r.worker_skill == pytest.approx(accs, abs=0.04)
    assert (r.labels == truth).mean() > (C.majority_vote(t, w, lab, 2000, 4, 4).labels == truth).mean()


def test_spammers_are_discounted_by_dawid_skene() -> None:
    truth = np.random.default_rng(4).integers(0, 2, 500)
    spam = lambda tr, rng: rng.integers(0, 2, tr.size)  # noqa: E731
    t, w, lab = crowd(truth, [noisy(0.8, 2), noisy(0.8, 2), spam, spam, spam])
    ds = C.dawid_skene(t, w, lab, 500, 5, 2)
    mv = C.majority_vote(t, w, lab, 500, 5, 2)
    assert (ds.labels == truth).mean() > (mv.labels == truth).mean() + 0.05


def test_tasks_without_answers_get_the_class_prior() -> None:
    r = C.dawid_skene(np.array([0, 0]), np.array([0, 1]), np.array([1, 1]), 2, 2, 2)
    assert r.n_answers.tolist() == [2, 0]
    assert r.posteriors[1] == pytest.approx(r.priors)


@pytest.mark.parametrize("kwargs, field", [
    ({"label_idx": np.array([0, 5])}, "label_idx"),
    ({"task_idx": np.array([0])}, "label_idx"),
    ({"gold": np.array([0])}, "gold"),
])
def test_bad_input_names_the_field(kwargs: dict, field: str) -> None:
    args = {"task_idx": np.array([0, 1]), "worker_idx": np.array([0, 0]), "label_idx": np.array([0, 1]),
            "n_tasks": 2, "n_workers": 1, "n_classes": 2}
    args.update(kwargs)
    with pytest.raises(InvalidInput) as err:
        C.dawid_skene(**args)
    assert err.value.field == field


def test_unknown_method_is_refused() -> None:
    with pytest.raises(InvalidInput):
        C.aggregate("glad", np.array([0]), np.array([0]), np.array([0]), 1, 1, 1)


def _real_dataset(name: str) -> tuple:
    """A dataset of ../shared/datasets: its encoded answers, gold array and (tasks, workers, labels) sizes."""
    folder = os.path.join(DATASETS, name)
    if not os.path.isdir(folder):
        pytest.skip("shared/datasets is not beside this clone")
    gold = csvio.read_gold(os.path.join(folder, "truth.csv"))
    data = csvio.read_answers(os.path.join(folder, "answers.csv"), set(gold.values()))
    return data, csvio.gold_array(gold, data.tasks, data.labels), (len(data.tasks), len(data.workers),
                                                                   len(data.labels))


def test_dawid_skene_on_real_data_d_possent() -> None:
    data, g, n = _real_dataset("D_PosSent")
    ds = C.dawid_skene(data.task_idx, data.worker_idx, data.label_idx, *n)
    mv = C.majority_vote(data.task_idx, data.worker_idx, data.label_idx, *n)
    known = g >= 0
    assert (ds.labels[known] == g[known]).mean() >= 0.955
    assert (ds.labels[known] == g[known]).mean() > (mv.labels[known] == g[known]).mean()


def test_answer_weights_give_each_task_worker_pair_one_vote() -> None:
    t, w = np.array([0, 0, 0, 1, 1, 0]), np.array([0, 1, 0, 0, 1, 0])
    weights, distinct = C.answer_weights(t, w, 2, 2)
    assert weights.tolist() == pytest.approx([1 / 3, 1, 1 / 3, 1, 1, 1 / 3])
    assert distinct.tolist() == [2, 2]
    assert C.answer_weights(np.array([0, 1]), np.array([0, 0]), 2, 1) == (None, pytest.approx([1, 1]))
    keep, counted = C.answer_weights(t, w, 2, 2, duplicates="keep")
    assert keep is None and counted.tolist() == [4, 2]
    with pytest.raises(InvalidInput):
        C.answer_weights(t, w, 2, 2, duplicates="drop")


@pytest.mark.parametrize("method", ["majority", "dawid-skene", "one-coin"])
def test_a_repeated_answer_counts_once(method: str) -> None:
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, 300)
    t, w, lab = crowd(truth, [noisy(0.8, 3), noisy(0.7, 3), noisy(0.6, 3), noisy(0.75, 3)])
    once = C.aggregate(method, t, w, lab, 300, 4, 3)
    again = np.flatnonzero(w == 2)  # worker 2 submits all of its answers twice
    twice = C.aggregate(method, np.r_[t, t[again]], np.r_[w, w[again]], np.r_[lab, lab[again]], 300, 4, 3)
    assert twice.posteriors == pytest.approx(once.posteriors, abs=1e-6)
    kept = C.aggregate(method, np.r_[t, t[again]], np.r_[w, w[again]], np.r_[lab, lab[again]], 300, 4, 3,
                       duplicates="keep")
    assert kept.posteriors != pytest.approx(once.posteriors, abs=1e-6)


def test_tasks_with_one_worker_do_not_shape_that_workers_confusion() -> None:
    rng = np.random.default_rng(6)
    truth = rng.integers(0, 2, 400)
    t, w, lab = crowd(truth, [noisy(0.9, 2), noisy(0.9, 2), noisy(0.9, 2)])
    # Worker 3 answers 200 tasks alone, always "1"; its only shared tasks show it right 60% of the time.
    shared = np.arange(100)
    solo_t = np.arange(400, 600)
    t3 = np.r_[shared, solo_t]
    lab3 = np.r_[np.where(rng.random(100) < 0.6, truth[shared], 1 - truth[shared]), np.ones(200, dtype=np.int64)]
    tt, ww, ll = np.r_[t, t3], np.r_[w, np.full(t3.size, 3)], np.r_[lab, lab3]
    fitted = C.dawid_skene(tt, ww, ll, 600, 4, 2)
    echoed = C.dawid_skene(tt, ww, ll, 600, 4, 2, min_workers=1)
    shared_only = C.dawid_skene(np.r_[t, shared], np.r_[w, np.full(100, 3)], np.r_[lab, lab3[:100]], 400, 4, 2)
    assert fitted.confusion.dense()[3] == pytest.approx(shared_only.confusion.dense()[3], abs=0.02)
    assert echoed.confusion.dense()[3, 0, 1] > fitted.confusion.dense()[3, 0, 1] + 0.1  # self-confirmation when they count
    assert (fitted.labels[solo_t] == 1).all()  # one answer and nothing against it: the answer stands
    gold = np.full(600, -1)
    gold[400:450] = 0  # gold tasks shape the confusion even with a single worker
    anchored = C.dawid_skene(tt, ww, ll, 600, 4, 2, gold=gold)
    assert anchored.confusion.dense()[3, 0, 1] > fitted.confusion.dense()[3, 0, 1] + 0.1


def test_dawid_skene_meets_crowdkit_on_s_adult() -> None:
    data, g, n = _real_dataset("S_Adult")
    ds = C.dawid_skene(data.task_idx, data.worker_idx, data.label_idx, *n)
    known = g >= 0
    assert (ds.labels[known] == g[known]).sum() >= 255  # crowd-kit 1.4.2's DawidSkene: 255 of 333


def _tables_reference(t, w, lab, post, n_workers, k, smoothing=0.1, diagonal_prior=1.0, pooled_prior=1.0):
    """Dawid-Skene's M-step as dense (n_workers, K, K) arrays, written plainly: what the tables must equal."""
    counts = np.zeros((n_workers, k, k))
    for task, worker, label in zip(t, w, lab):
        counts[worker, :, label] += post[task]
    mass = post.sum(axis=0)
    scale = (k * mass / mass.sum())[:, None]
    counts += (np.full((k, k), smoothing) + np.eye(k) * diagonal_prior) * scale
    pooled = counts.sum(axis=0)
    counts += pooled_prior * scale * pooled / pooled.sum(axis=1, keepdims=True)
    return counts, counts / counts.sum(axis=2, keepdims=True)


def test_the_worker_tables_equal_dense_ones_and_read_the_same_every_way():
    """The tables are held as a shared base plus the cells answers fell in; read any way, they are the dense
    tables a plain M-step gives (here after one step from the majority vote: max_iter=1)."""
    rng = np.random.default_rng(5)
    n_tasks, n_workers, k = 40, 7, 4
    t = np.repeat(np.arange(n_tasks), 3)
    w = np.concatenate([rng.choice(n_workers - 1, 3, replace=False) for _ in range(n_tasks)])  # worker 6 answers none
    lab = rng.integers(0, k, t.size)
    res = C.dawid_skene(t, w, lab, n_tasks, n_workers, k, max_iter=1)
    start = C.majority_vote(t, w, lab, n_tasks, n_workers, k, smoothing=0.0).posteriors
    counts, confusion = _tables_reference(t, w, lab, start, n_workers, k)
    assert res.counts.dense() == pytest.approx(counts)
    assert res.confusion.dense() == pytest.approx(confusion)
    assert res.counts.row_sums() == pytest.approx(counts.sum(axis=2))
    assert res.confusion.diagonal() == pytest.approx(np.einsum("wjj->wj", confusion))
    pick_w, pick_l = rng.integers(0, n_workers, 50), rng.integers(0, k, 50)
    assert res.confusion.at(pick_w, pick_l) == pytest.approx(confusion[pick_w, :, pick_l])
    assert res.confusion.dense()[6] == pytest.approx(confusion[6])  # a worker with no answers: the prior's rows


def test_many_labels_and_many_workers_never_build_workers_x_labels_squared():
    """1,000 labels and 2,000 workers: dense per-worker tables would be 16 GB a copy. The engine's memory follows
    the answers (here a few MB), every method and the calibration included."""
    import tracemalloc

    from labeling.consensus import calibration

    rng = np.random.default_rng(0)
    n_tasks, n_workers, k = 300, 2_000, 1_000
    truth = rng.integers(0, k, n_tasks)
    t = np.repeat(np.arange(n_tasks), 3)
    w = rng.integers(0, n_workers, t.size)
    lab = np.where(rng.random(t.size) < 0.8, truth[t], rng.integers(0, k, t.size))
    tracemalloc.start()
    try:
        for method in ("auto", "dawid-skene", "one-coin"):
            res = calibration.consensus(method, t, w, lab, n_tasks, n_workers, k)
            assert (res.labels == truth).mean() > 0.8
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 600e6, f"peak {peak / 1e6:.0f} MB"


@pytest.mark.parametrize("smoothing, diagonal_prior, pooled_prior", [(0.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)])
def test_the_worker_tables_equal_dense_ones_without_a_prior_and_with_tasks_left_out_of_the_fit(
        smoothing, diagonal_prior, pooled_prior):
    """With a zero prior every cell is clamped to 1e-10 (an unseen row becomes uniform), where the tables' shared base
    is raised too and a row's sum is no longer the prior's plus what its worker was seen doing; tasks one worker
    answered (min_workers=2) add nothing to the counts. Read any way, the tables are the plain dense ones."""
    rng = np.random.default_rng(11)
    n_tasks, n_workers, k = 50, 6, 4
    t = np.r_[np.repeat(np.arange(40), 2), np.arange(40, 50)]  # tasks 40-49: one answer each, not fitted
    w = np.r_[np.concatenate([rng.choice(n_workers - 1, 2, replace=False) for _ in range(40)]), rng.integers(0, 5, 10)]
    lab = rng.integers(0, k - 1, t.size)  # label 3 is never answered: its column holds the prior (or the clamp) only
    res = C.dawid_skene(t, w, lab, n_tasks, n_workers, k, smoothing=smoothing, diagonal_prior=diagonal_prior,
                        pooled_prior=pooled_prior, max_iter=1)
    start = C.majority_vote(t, w, lab, n_tasks, n_workers, k, smoothing=0.0).posteriors
    fitted = t < 40
    counts = np.zeros((n_workers, k, k))
    for task, worker, label in zip(t[fitted], w[fitted], lab[fitted]):
        counts[worker, :, label] += start[task]
    mass = start[:40].sum(axis=0)
    scale = (k * mass / mass.sum())[:, None]
    counts += (np.full((k, k), smoothing) + np.eye(k) * diagonal_prior) * scale
    pooled = counts.sum(axis=0)
    counts += pooled_prior * scale * pooled / np.maximum(pooled.sum(axis=1, keepdims=True), 1e-12)
    counts = np.maximum(counts, 1e-10)
    confusion = counts / counts.sum(axis=2, keepdims=True)
    assert res.counts.dense() == pytest.approx(counts, rel=1e-12, abs=1e-20)
    assert res.counts.row_sums() == pytest.approx(counts.sum(axis=2), rel=1e-12, abs=1e-20)
    assert res.confusion.dense() == pytest.approx(confusion, rel=1e-9)
    assert res.confusion.diagonal() == pytest.approx(np.einsum("wjj->wj", confusion), rel=1e-9)
    if smoothing == diagonal_prior == pooled_prior == 0:  # no answers, no prior: uniform rows
        assert res.confusion.dense()[5] == pytest.approx(np.full((k, k), 1 / k))
    assert res.worker_skill == pytest.approx(np.einsum("wjj,j->w", confusion, res.priors), rel=1e-9)
