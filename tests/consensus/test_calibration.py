"""Calibrated confidences and the automatic choice of method, on crowds whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.consensus import calibration, classification, simulate, tasks


def test_ece_of_hand_made_confidences() -> None:
    conf = np.array([0.95, 0.95, 0.95, 0.95, 0.55, 0.55])
    right = np.array([1, 1, 1, 0, 1, 0])
    # Bin 0.9-1.0: confidence 0.95, accuracy 0.75 (4 of 6 tasks); bin 0.5-0.6: 0.55 against 0.5 (2 of 6).
    assert calibration.ece(conf, right) == pytest.approx(4 / 6 * 0.2 + 2 / 6 * 0.05)
    assert calibration.ece(np.array([1.0, 0.0]), np.array([1, 0])) == 0.0
    assert calibration.ece(np.array([]), np.array([])) == 0.0


def misleading_crowd(seed: int = 0) -> simulate.Crowd:
    """A relevance crowd in which a fifth of the items pull many answers to one shared wrong grade."""
    return simulate.relevance_crowd(seed, hard=0.25)


def some_gold(crowd: simulate.Crowd, share: float, seed: int = 0) -> np.ndarray:
    """The truth of a random `share` of the tasks, -1 elsewhere."""
    rng = np.random.default_rng(seed)
    gold = np.full(crowd.n_tasks, -1)
    known = rng.choice(crowd.n_tasks, int(share * crowd.n_tasks), replace=False)
    gold[known] = crowd.truth[known]
    return gold


def test_gold_calibrates_an_overconfident_crowd() -> None:
    crowd = misleading_crowd()
    args = (crowd.task_idx, crowd.worker_idx, crowd.label_idx, *crowd.sizes)
    raw = classification.dawid_skene(*args)
    assert calibration.ece(raw.confidence, raw.labels == crowd.truth) > 0.08  # the posterior claims too much
    gold = some_gold(crowd, 0.1)
    res = calibration.consensus("dawid-skene", *args, gold=gold)
    rest = gold < 0
    assert res.calibration["kind"] == "gold" and res.calibration["n_gold"] == int((gold >= 0).sum())
    assert calibration.ece(res.confidence[rest], (res.labels == crowd.truth)[rest]) <= 0.05
    assert (res.confidence[~rest] == 1.0).all()
    assert res.posteriors.sum(axis=1) == pytest.approx(np.ones(crowd.n_tasks))
    assert (res.labels == crowd.truth)[rest].mean() >= (raw.labels == crowd.truth)[rest].mean()  # gold helps labels too


def test_no_other_label_is_reported_above_the_chosen_one() -> None:
    # The calibrated confidence replaced the chosen label's share and the others kept their tempered proportions:
    # on this crowd 169 tasks without gold (28 with 10% gold) reported another label above the chosen one.
    crowd = misleading_crowd()
    args = (crowd.task_idx, crowd.worker_idx, crowd.label_idx, *crowd.sizes)
    rows = np.arange(crowd.n_tasks)
    for gold in (None, some_gold(crowd, 0.1)):
        res = calibration.consensus("dawid-skene", *args, gold=gold)
        others = res.posteriors.copy()
        others[rows, res.labels] = 0.0
        assert (others.max(axis=1) <= res.confidence + 1e-12).all()
        assert res.posteriors.sum(axis=1) == pytest.approx(np.ones(crowd.n_tasks))
        assert (res.posteriors[rows, res.labels] == res.confidence).all()


def test_capped_by_choice_moves_the_excess_to_the_labels_below() -> None:
    post = np.array([[0.3, 0.5, 0.2, 0.0],    # label 0 chosen at 0.3: 0.2 over, to label 2 (label 3 holds nothing)
                     [0.4, 0.35, 0.25, 0.0],  # nothing over: unchanged
                     [0.2, 0.6, 0.1, 0.1],    # below 1/4 there is no room: the others alike
                     [0.3, 0.0, 0.0, 0.7]])   # no one holds anything below: alike among the free labels
    out = calibration.capped_by_choice(post.copy(), np.array([0, 0, 0, 0]))
    assert out == pytest.approx(np.array([[0.3, 0.3, 0.3, 0.1], [0.4, 0.35, 0.25, 0.0],
                                          [0.2, 0.8 / 3, 0.8 / 3, 0.8 / 3], [0.3, 0.2, 0.2, 0.3]]))
    assert out.sum(axis=1) == pytest.approx(np.ones(4))
    two = np.array([[0.3, 0.7]])
    assert (calibration.capped_by_choice(two.copy(), np.array([0])) == two).all()  # two labels: as they were


def test_without_gold_the_confidence_errs_towards_caution() -> None:
    crowd = misleading_crowd(1)
    args = (crowd.task_idx, crowd.worker_idx, crowd.label_idx, *crowd.sizes)
    raw = classification.dawid_skene(*args)
    res = calibration.consensus("dawid-skene", *args)
    right = res.labels == crowd.truth
    assert res.calibration["kind"] == "crowd" and res.calibration["rho"] >= calibration.crowd_correlation(crowd.n_classes)
    assert raw.confidence.mean() > right.mean() + 0.05
    assert res.confidence.mean() <= right.mean() + 0.02
    assert calibration.ece(res.confidence, right) < calibration.ece(raw.confidence, raw.labels == crowd.truth) + 0.05


def test_a_little_gold_is_not_enough_to_calibrate() -> None:
    crowd = simulate.word_sense_crowd(0)
    gold = np.full(crowd.n_tasks, -1)
    gold[:calibration.GOLD_MIN - 1] = crowd.truth[:calibration.GOLD_MIN - 1]
    res = calibration.consensus("dawid-skene", crowd.task_idx, crowd.worker_idx, crowd.label_idx, *crowd.sizes,
                                gold=gold)
    assert res.calibration["kind"] == "crowd"


def adversarial_crowd(n_tasks: int = 600) -> tuple[np.ndarray, ...]:
    """Six workers, three answers per task: four right 90% of the time, two who answer the opposite."""
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, n_tasks)
    t, w, lab = [], [], []
    for task in range(n_tasks):
        for wk in rng.choice(6, size=3, replace=False):
            right = rng.random() < 0.9
            t.append(task)
            w.append(wk)
            lab.append(truth[task] if (wk < 4) == right else 1 - truth[task])
    return np.array(t), np.array(w), np.array(lab), truth


def test_auto_picks_the_model_the_held_out_answers_support() -> None:
    t, w, lab, truth = adversarial_crowd()
    res = calibration.consensus("auto", t, w, lab, truth.size, 6, 2)
    scores = res.selection["heldout_loglik_per_answer"]
    assert set(scores) == {"majority", "dawid-skene", "one-coin"}
    assert res.method == res.selection["picked"] == max(scores, key=scores.get) != "majority"
    # Two classes, symmetric flips: one accuracy per worker says it all, and the held-out score knows it.
    assert res.method == "one-coin"
    assert (res.labels == truth).mean() > (classification.majority_vote(t, w, lab, truth.size, 6, 2).labels == truth).mean()


def test_auto_with_gold_picks_by_held_out_gold() -> None:
    t, w, lab, truth = adversarial_crowd()
    gold = np.full(truth.size, -1)
    gold[:60] = truth[:60]
    res = calibration.consensus("auto", t, w, lab, truth.size, 6, 2, gold=gold)
    right = res.selection["heldout_gold_right"]
    assert res.selection["rule"] == "held-out gold" and res.selection["heldout_gold_n"] == 60
    assert right[res.method] == max(right.values()) and right["majority"] < right[res.method]


def test_held_out_scores_punish_a_model_that_echoes_sparse_workers() -> None:
    # Everyone is equally good and answers twice: one-coin's per-worker accuracy has nothing to learn from.
    rng = np.random.default_rng(0)
    n, k = 3000, 5
    truth = rng.integers(0, k, n)
    t = np.repeat(np.arange(n), 3)
    w = rng.permutation(t.size) // 2
    lab = np.where(rng.random(t.size) < 0.7, truth[t], rng.integers(0, k, t.size))
    a = calibration.Answers.make(t, w, lab, n, int(w.max()) + 1, k)
    fits = {m: classification.aggregate(m, t, w, lab, n, int(w.max()) + 1, k) for m in classification.METHODS}
    held = {m: calibration.heldout_score(r, a) for m, r in fits.items()}
    in_sample = {m: float(np.log(np.maximum((r.posteriors[t] * r.confusion.at(w, lab)).sum(axis=1), 1e-300)).mean())
                 for m, r in fits.items() if m != "majority"}
    assert in_sample["one-coin"] > held["one-coin"] + 0.1  # its fit flatters itself
    assert held["majority"] > held["one-coin"]


def test_project_auto_reports_its_choice_and_honest_skills() -> None:
    t, w, lab, truth = adversarial_crowd(300)
    names = ["no", "yes"]
    rows = [(int(a), int(b) + 1, {"label": names[c]}) for a, b, c in zip(t, w, lab)]
    out = tasks.aggregate_project("text_classification", rows, names)
    assert out.method == out.selection["picked"] != "majority"
    assert out.calibration["kind"] == "crowd"
    assert all(0.0 < s < 1.0 for s in out.worker_skill.values())
    assert max(out.worker_skill[5], out.worker_skill[6]) < 0.5 < min(out.worker_skill[w] for w in (1, 2, 3, 4))
    multi = [(a, b, {"labels": ["x"] if c else []}) for a, b, c in zip(t.tolist(), (w + 1).tolist(), lab.tolist())]
    ml = tasks.aggregate_project("text_multilabel", multi, ["x", "z"])
    assert ml.selection["rule"] == "per label" and set(ml.selection["picked"]) == {"x", "z"}


def test_auto_picks_full_confusions_when_workers_confuse_particular_grades() -> None:
    crowd = simulate.relevance_crowd(2, n_tasks=1500, mix={"careful": 0.3, "shifted": 0.5, "spammer": 0.2})
    res = calibration.consensus("auto", crowd.task_idx, crowd.worker_idx, crowd.label_idx, *crowd.sizes)
    assert res.method == "dawid-skene"
    other = classification.one_coin(crowd.task_idx, crowd.worker_idx, crowd.label_idx, *crowd.sizes)
    assert (res.labels == crowd.truth).mean() > (other.labels == crowd.truth).mean()


def per_task_ece(crowd: simulate.Crowd, skill: np.ndarray, rho: float, scored: np.ndarray) -> float:
    """ECE of the per-task path (tasks.aggregate_task over every answer) on the `scored` tasks."""
    labels = [str(i) for i in range(crowd.n_classes)]
    skills = {int(x): float(s) for x, s in enumerate(skill)}
    conf, right = [], []
    for task in np.flatnonzero(scored):
        rows = np.flatnonzero(crowd.task_idx == task)
        res = tasks.aggregate_task("text_classification", [{"label": labels[crowd.label_idx[i]]} for i in rows],
                                   crowd.worker_idx[rows].tolist(), labels, skills, rho)
        conf.append(res.confidence)
        right.append(res.answer["label"] == labels[crowd.truth[task]])
    return calibration.ece(np.array(conf), np.array(right))


def test_the_per_task_correlation_is_fitted_on_gold_and_makes_settles_honest() -> None:
    # Shared errors on misleading items: the per-task path, counting answers as independent, claims too much.
    crowd = simulate.word_sense_crowd(3, hard=0.3, hard_pull=0.45, n_tasks=600)
    args = (crowd.task_idx, crowd.worker_idx, crowd.label_idx, *crowd.sizes)
    gold = some_gold(crowd, 0.15, seed=3)
    res = calibration.consensus("dawid-skene", *args, gold=gold)
    rho = res.calibration["rho_task"]
    assert rho > 0.1 and res.calibration["rho_task_from"] == "gold"
    assert calibration.settle_correlation(res.calibration, adaptive=True) == rho  # gold is unbiased by adaptivity
    rest = gold < 0
    assert per_task_ece(crowd, res.worker_skill, rho, rest) < per_task_ece(crowd, res.worker_skill, 0.0, rest) - 0.03


def test_independent_answers_get_little_correlation_and_a_tiny_project_almost_none() -> None:
    crowd = simulate.crowd(0, n_tasks=1500, n_workers=60, per_task=5, prior=(0.25,) * 4,
                           mix={"reliable": 0.9, "spammer": 0.1})
    args = (crowd.task_idx, crowd.worker_idx, crowd.label_idx, *crowd.sizes)
    assert calibration.consensus("dawid-skene", *args, gold=some_gold(crowd, 0.1)).calibration["rho_task"] < 0.1
    # Without gold: the held-out correlation, pulled towards 0 by TASK_RHO_PRIOR tasks. Three tasks split 2-1 each
    # time: the held-out answers say "as good as one answer" (rho at its maximum), three tasks keep 3/13 of that.
    t, w, lab = np.repeat(np.arange(3), 3), np.tile(np.arange(3), 3), np.array([1, 1, 0, 1, 1, 0, 0, 1, 1])
    small_fit = calibration.consensus("majority", t, w, lab, 3, 3, 2)
    assert small_fit.calibration["rho_heldout"] == calibration.RHO_MAX
    assert small_fit.calibration["rho_task"] == pytest.approx(calibration.RHO_MAX * 3 / 13, abs=1e-3)
    out = tasks.aggregate_project("text_classification", [(int(a), int(b), {"label": "xy"[c]})
                                                          for a, b, c in zip(t, w, lab)], ["x", "y"], method="majority")
    assert out.task_correlation == small_fit.calibration["rho_task"]
    assert calibration.TASK_RHO_PRIOR == 10
    # An adaptive project's extra answers go where the first ones disagreed: its held-out rho is not used.
    adaptive = tasks.aggregate_project("text_classification", [(int(a), int(b), {"label": "xy"[c]})
                                                               for a, b, c in zip(t, w, lab)], ["x", "y"],
                                       method="majority", adaptive=True)
    assert adaptive.task_correlation == 0.0
