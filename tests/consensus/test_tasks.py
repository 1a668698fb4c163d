"""The dict-level glue: per-task consensus, per-project consensus, gold scores and the quality report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labeling.consensus import tasks
from labeling.errors import InvalidInput

LABELS = ["cat", "dog", "bird"]


def test_two_agreeing_answers_are_not_certain() -> None:
    result = tasks.aggregate_task("image_classification", [{"label": "cat"}, {"label": "cat"}], [1, 2], LABELS)
    assert result.answer == {"label": "cat"}
    assert result.n_annotations == 2
    assert 0.5 < result.confidence < 0.9
    assert result.details["votes"] == {"cat": 2}


def test_known_skills_give_the_one_coin_posterior() -> None:
    answers = [{"label": "cat"}, {"label": "dog"}]
    result = tasks.aggregate_task("text_classification", answers, [1, 2], LABELS, {1: 0.95, 2: 0.4})
    assert result.answer == {"label": "cat"}
    # P(cat) is proportional to 0.95 * 0.3, P(dog) to 0.025 * 0.4, P(bird) to 0.025 * 0.3.
    assert result.confidence == pytest.approx(0.285 / (0.285 + 0.01 + 0.0075), rel=1e-6)


def test_unknown_label_and_task_type_are_refused() -> None:
    with pytest.raises(InvalidInput):
        tasks.aggregate_task("image_classification", [{"label": "cow"}], [1], LABELS)
    with pytest.raises(InvalidInput):
        tasks.aggregate_task("video", [{"label": "cat"}], [1], LABELS)


def test_demonstrations_have_no_consensus() -> None:
    result = tasks.aggregate_task("demonstration", [{"text": "a"}, {"text": "b"}], [1, 2], [])
    assert (result.answer, result.confidence, result.n_annotations) == (None, None, 2)


def test_multilabel_task() -> None:
    answers = [{"labels": ["cat", "dog"]}, {"labels": ["cat"]}, {"labels": ["cat", "dog"]}]
    result = tasks.aggregate_task("image_multilabel", answers, [1, 2, 3], LABELS)
    assert result.answer == {"labels": ["cat", "dog"]}
    assert result.details["probabilities"]["bird"] < 0.5


def test_box_and_span_tasks_keep_the_format() -> None:
    box = {"label": "car", "x": 0, "y": 0, "w": 10, "h": 10}
    result = tasks.aggregate_task("bounding_box", [{"boxes": [box]}, {"boxes": [box]}], [1, 2], ["car"])
    assert result.answer["boxes"][0]["label"] == "car"
    assert result.details["boxes"][0]["support"] == 1.0
    span = {"start": 0, "end": 4, "label": "PER"}
    result = tasks.aggregate_task("named_entities", [{"spans": [span]}, {"spans": []}], [1, 2], ["PER"])
    assert result.answer == {"spans": [span]}
    json.dumps(result.details)


def test_preference_task_answer_has_ranking_scores_probabilities_and_ratings() -> None:
    answers = [{"ranking": [["a"], ["b"]], "ratings": {"a": 6, "b": 2}}, {"ranking": [["a"], ["b"]], "ratings": {"a": 5}}]
    result = tasks.aggregate_task("preference_ranking", answers, [1, 2], [])
    assert result.answer["ranking"] == [["a"], ["b"]]
    assert result.answer["pair_probabilities"][0]["chosen"] == "a"
    assert result.answer["ratings"]["a"]["median"] == 5.5
    assert set(result.answer["scores"]) == {"a", "b"}
    json.dumps(result.answer)


def classification_rows() -> list[tuple[int, int, dict]]:
    """Worker 3 always answers dog; workers 1 and 2 answer the truth (cat for even tasks, else bird)."""
    rows = []
    for task in range(30):
        truth = "cat" if task % 2 == 0 else "bird"
        rows += [(task, 1, {"label": truth}), (task, 2, {"label": truth}), (task, 3, {"label": "dog"})]
    return rows


def test_project_consensus_and_skills() -> None:
    out = tasks.aggregate_project("image_classification", classification_rows(), LABELS)
    assert out.method == "dawid-skene"
    assert out.results[0].answer == {"label": "cat"}
    assert out.results[1].answer == {"label": "bird"}
    assert out.worker_skill[1] > 0.9 and out.worker_skill[3] < 0.5


def test_project_gold_anchors_and_other_methods() -> None:
    gold = {0: {"label": "dog"}}
    out = tasks.aggregate_project("image_classification", classification_rows(), LABELS, gold, method="majority")
    assert out.method == "majority+gold"
    assert out.results[0].answer == {"label": "dog"} and out.results[0].confidence == 1.0
    with pytest.raises(InvalidInput):
        tasks.aggregate_project("image_classification", classification_rows(), LABELS, method="best")


def test_project_boxes_weight_workers_by_agreement() -> None:
    good = {"label": "car", "x": 0, "y": 0, "w": 10, "h": 10}
    off = {"label": "car", "x": 3, "y": 0, "w": 10, "h": 10}
    rows = [(t, w, {"boxes": [good]}) for t in range(5) for w in (1, 2)] + [(t, 3, {"boxes": [off]}) for t in range(5)]
    out = tasks.aggregate_project("bounding_box", rows, ["car"])
    assert out.worker_skill[1] > out.worker_skill[3]
    assert out.results[0].answer["boxes"][0]["x"] < 1.0


def test_quality_report_for_classification_is_json() -> None:
    rows = classification_rows()
    gold = {0: {"label": "cat"}}
    out = tasks.aggregate_project("image_classification", rows, LABELS, gold)
    report = tasks.quality_report("image_classification", rows, LABELS, gold, out.results)
    json.dumps(report)
    assert report["agreement"]["fleiss_kappa"] is not None
    assert report["agreement"]["percent_agreement"] == pytest.approx(1 / 3)
    workers = {w["worker_id"]: w for w in report["workers"]}
    assert workers[1]["gold_accuracy"] == 1.0 and workers[3]["gold_accuracy"] == 0.0
    assert workers[1]["agreement_with_consensus"] == 1.0 and workers[3]["agreement_with_consensus"] == 0.0
    assert report["confusion"]["labels"] == LABELS
    assert report["confusion"]["matrix"][0] == [30, 15, 0]  # consensus cat: 2 x 15 cat answers + 15 dog


def test_quality_report_for_rankings_and_uneven_tasks() -> None:
    rows = [(1, 1, {"ranking": [["a"], ["b"]]}), (1, 2, {"ranking": [["b"], ["a"]]}), (2, 1, {"ranking": [["a"], ["b"]]})]
    out = tasks.aggregate_project("preference_ranking", rows, [])
    report = tasks.quality_report("preference_ranking", rows, [], None, out.results)
    json.dumps(report)
    assert report["agreement"]["fleiss_kappa"] is None
    assert {w["worker_id"] for w in report["workers"]} == {1, 2}
    assert "kendall_tau" in report["workers"][0]


@pytest.mark.parametrize("task_type, answer, gold, expected", [
    ("image_classification", {"label": "cat"}, {"label": "cat"}, 1.0),
    ("image_classification", {"label": "dog"}, {"label": "cat"}, 0.0),
    ("text_multilabel", {"labels": ["a", "b"]}, {"labels": ["b", "c"]}, 1 / 3),
    ("bounding_box", {"boxes": [{"label": "x", "x": 0, "y": 0, "w": 4, "h": 4}]},
     {"boxes": [{"label": "x", "x": 0, "y": 0, "w": 4, "h": 4}, {"label": "x", "x": 9, "y": 9, "w": 4, "h": 4}]}, 2 / 3),
    ("named_entities", {"spans": [{"start": 0, "end": 3, "label": "P"}]}, {"spans": [{"start": 0, "end": 3, "label": "P"}]}, 1.0),
    ("preference_ranking", {"ranking": [["a"], ["b"], ["c"]]}, {"ranking": [["c"], ["b"], ["a"]]}, 0.0),
    ("preference_ranking", {"ranking": [["a"], ["b"]]}, {"ranking": [["a"], ["b"]]}, 1.0),
    ("demonstration", {"text": "x"}, {"text": "y"}, None),
])
def test_gold_score(task_type: str, answer: dict, gold: dict, expected: float | None) -> None:
    score = tasks.gold_score(task_type, answer, gold)
    assert score == (None if expected is None else pytest.approx(expected))


def test_fleiss_kappa_is_over_the_regular_tasks_with_the_most_common_number_of_answers() -> None:
    rows = classification_rows()  # 30 tasks, 3 answers each
    rows += [(0, 4, {"label": "cat"})] + [(t, 4, {"label": "cat"}) for t in (2, 4)]  # 3 tasks with 4 answers
    rows += [(100, w, {"label": "cat"}) for w in range(1, 6)]  # a gold task, 5 answers
    report = tasks.quality_report("image_classification", rows, LABELS, {100: {"label": "cat"}}, {})
    agreement = report["agreement"]
    assert agreement["n_tasks"] == 30 and agreement["gold_tasks_left_out"] == 1
    assert (agreement["fleiss_kappa_tasks"], agreement["fleiss_kappa_answers"]) == (27, 3)
    assert agreement["fleiss_kappa"] is not None
    # Of two counts equally common, the larger.
    rows = [(t, w, {"label": "cat" if w != 3 else "dog"}) for t in range(4) for w in range(1, 3 + t % 2)]
    agreement = tasks.quality_report("image_classification", rows, LABELS, {}, {})["agreement"]
    assert (agreement["fleiss_kappa_tasks"], agreement["fleiss_kappa_answers"]) == (2, 3)


def test_a_recheck_compares_multilabel_answers_as_sets() -> None:
    stored = {"labels": ["a", "b"]}
    assert not tasks.doubts(tasks.TaskConsensus({"labels": ["b", "a"]}, 0.99, 3, {}), stored, 0.95)
    assert tasks.doubts(tasks.TaskConsensus({"labels": ["a"]}, 0.99, 3, {}), stored, 0.95)
    assert tasks.doubts(tasks.TaskConsensus({"labels": ["a", "b"]}, 0.7, 3, {}), stored, 0.95), "under 0.80"
    assert not tasks.doubts(tasks.TaskConsensus({"label": "x"}, 0.85, 3, {}), {"label": "x"}, 0.95)


def test_a_multilabel_confidence_is_that_of_its_label_set_whatever_the_labels_no_one_chose() -> None:
    """Three answers split on one label of ten: the set is uncertain (the mean over every label said 0.97, and
    0.98 with 1,000 labels, so adaptive redundancy stopped at once). Labels no answer chose change nothing."""
    answers = [{"labels": ["a"]}, {"labels": ["a", "b"]}, {"labels": ["a"]}]
    few = tasks.aggregate_task("text_multilabel", answers, [1, 2, 3], ["a", "b"] + [f"x{i}" for i in range(8)],
                               {1: 0.8, 2: 0.8, 3: 0.8})
    many = tasks.aggregate_task("text_multilabel", answers, [1, 2, 3], ["a", "b"] + [f"x{i}" for i in range(998)],
                                {1: 0.8, 2: 0.8, 3: 0.8})
    p = few.details["probabilities"]
    assert few.answer == {"labels": ["a"]} and few.confidence == pytest.approx(p["a"] * (1 - p["b"]))
    assert few.confidence < 0.9 and many.confidence == pytest.approx(few.confidence)
    empty = tasks.aggregate_task("text_multilabel", [{"labels": []}] * 3, [1, 2, 3], ["a", "b"], {1: 0.8, 2: 0.8, 3: 0.8})
    assert empty.answer == {"labels": []} and empty.confidence == pytest.approx(1 - empty.details["probabilities"]["a"])


def test_a_multilabel_project_s_confidences_ignore_labels_no_answer_chose() -> None:
    from labeling.consensus import multilabel

    rng = np.random.default_rng(4)
    n_tasks, n_workers, n_labels = 200, 12, 4
    truth = rng.random((n_tasks, n_labels)) < 0.3
    t = np.repeat(np.arange(n_tasks), 3)
    w = np.concatenate([rng.choice(n_workers, 3, replace=False) for _ in range(n_tasks)])
    chosen = np.where(rng.random((t.size, n_labels)) < 0.85, truth[t], ~truth[t])
    base = multilabel.aggregate_multilabel(t, w, chosen, n_tasks, n_workers)
    padded = multilabel.aggregate_multilabel(t, w, np.hstack([chosen, np.zeros((t.size, 30), bool)]), n_tasks,
                                             n_workers)
    assert padded.confidence == pytest.approx(base.confidence)
    play = multilabel.in_play(t, chosen, n_tasks) | base.chosen
    row = int(np.flatnonzero(play.sum(axis=1) == 2)[0])
    per_label = np.maximum(base.probabilities[row], 1 - base.probabilities[row])
    assert base.confidence[row] == pytest.approx(float(np.prod(per_label[play[row]])))


def test_a_project_consensus_of_many_labels_keeps_every_voted_label():
    """Past 20 labels a task's posteriors keep the labels voted for, however unlikely, with those of probability
    0.001 or more: three workers who agree outweigh a fourth who never does (one-coin) by far more than the floor."""
    from labeling.consensus import small

    labels = [f"tag{i:02d}" for i in range(25)]
    rows = [(t, w, {"label": labels[t % 3]}) for t in range(60) for w in (1, 2, 3)]
    rows += [(t, 4, {"label": labels[3 + t % 20]}) for t in range(60)]
    out = tasks.aggregate_project("text_classification", rows, labels, method="one-coin")
    below = 0
    for result in out.results.values():
        posteriors = result.details["posteriors"]
        assert set(result.details["votes"]) <= set(posteriors), result.details
        below += min(posteriors.values()) < small.PROBABILITY_FLOOR
    assert below  # a voted label under the floor was kept


def test_a_multilabel_project_consensus_of_many_labels_keeps_its_own_labels_in_its_details():
    """Past 20 labels the details keep the labels in play: chosen by some answer, or in the consensus. A gold label
    no answer chose is the task's consensus: it was left out of `probabilities` (empty, other_labels_max 1.0)."""
    labels = [f"l{i:02d}" for i in range(25)]
    rows = [(t, w, {"labels": ["l01"]}) for t in range(20) for w in (1, 2, 3)]
    rows += [(99, w, {"labels": []}) for w in (1, 2, 3)]
    result = tasks.aggregate_project("text_multilabel", rows, labels, {99: {"labels": ["l00"]}}).results[99]
    assert result.answer == {"labels": ["l00"]}
    assert result.details["probabilities"] == {"l00": 1.0} and result.details["other_labels_max"] < 0.5


def test_a_multilabel_project_solves_each_distinct_label_column_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1,000-label project ran one binary consensus per label though most labels are in no answer (the same
    all-no problem 970 times: 13 s for 600 answers); labels with the same answers now share one run, same results."""
    from labeling.consensus import calibration

    runs = {"n": 0}
    real = calibration.consensus

    def counted(*args: object, **kwargs: object) -> object:
        runs["n"] += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    labels = [f"l{i}" for i in range(200)]
    rows = [(t, w, {"labels": [labels[(t + w) % 4], labels[4]] if t % 3 else []}) for t in range(12) for w in range(3)]
    gold = {0: {"labels": [labels[0]]}}
    expected = tasks.aggregate_project("text_multilabel", rows, labels[:6], gold)  # the same problems, few labels
    monkeypatch.setattr(calibration, "consensus", counted)
    many = tasks.aggregate_project("text_multilabel", rows, labels, gold)
    assert runs["n"] <= 6, runs["n"]  # l0..l4 and the one column no answer chose
    for task_id, result in expected.results.items():
        assert many.results[task_id].answer == result.answer
        shown = many.results[task_id].details["probabilities"]  # the labels in play (past 20 labels)
        assert shown == {k: v for k, v in result.details["probabilities"].items() if k in shown}
