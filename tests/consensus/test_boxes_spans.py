"""Box matching by IoU and span voting."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.consensus import boxes, spans
from labeling.errors import InvalidInput


def box(x: float, y: float, w: float = 10, h: float = 10, label: str = "car") -> dict:
    return {"label": label, "x": x, "y": y, "w": w, "h": h}


def test_iou_of_hand_computed_boxes() -> None:
    iou = boxes.iou_matrix(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 10, 10], [0, 0, 10, 10], [20, 20, 5, 5]]))
    assert iou[0].tolist() == pytest.approx([50 / 150, 1.0, 0.0])


def test_boxes_drawn_by_half_the_workers_are_kept_and_averaged() -> None:
    answers = [[box(0, 0), box(100, 100)], [box(2, 0)], [box(1, 0, label="truck"), box(300, 300)]]
    result = boxes.aggregate_boxes(answers)
    assert len(result.boxes) == 1
    kept = result.boxes[0]
    assert (kept["label"], kept["x"], kept["y"]) == ("car", 1.0, 0.0)
    assert result.box_details[0]["support"] == pytest.approx(1.0)
    assert result.n_dropped == 2
    detail = result.box_details[0]  # two of the three drew it as a car: the truck's worker does not back the car
    assert 0.8 < detail["mean_iou"] < 1.0
    assert result.confidence == pytest.approx(2 / 3 * detail["mean_iou"], abs=1e-6)


def test_a_box_whose_workers_split_on_its_label_is_not_certain() -> None:
    """Two workers drew the same box, one a car and one a truck: the car (the label seen first) was kept with
    confidence 1, as if both had said car; each label has half the workers behind it."""
    result = boxes.aggregate_boxes([[box(0, 0)], [box(0, 0, label="truck")]])
    assert result.boxes[0]["label"] == "car" and result.box_details[0]["support"] == 1.0
    assert result.confidence == pytest.approx(0.5) and result.box_details[0]["confidence"] == pytest.approx(0.5)
    agreed = boxes.aggregate_boxes([[box(0, 0)], [box(0, 0)]])
    assert agreed.confidence == pytest.approx(1.0)
    weighted = boxes.aggregate_boxes([[box(0, 0)], [box(0, 0, label="truck")]], weights=[3.0, 1.0])
    assert weighted.boxes[0]["label"] == "car" and weighted.confidence == pytest.approx(0.75)
    unlabelled = boxes.aggregate_boxes([[{"x": 0, "y": 0, "w": 10, "h": 10}], [{"x": 0, "y": 0, "w": 10, "h": 10}]])
    assert unlabelled.confidence == pytest.approx(1.0)


def test_box_weights_follow_worker_quality() -> None:
    result = boxes.aggregate_boxes([[box(0, 0)], [box(2, 0)]], weights=[3.0, 1.0])
    assert result.boxes[0]["x"] == pytest.approx(0.5)


def test_each_worker_adds_at_most_one_box_to_a_cluster() -> None:
    result = boxes.aggregate_boxes([[box(0, 0), box(1, 0)], [box(0, 0)]])
    assert [d["n_workers"] for d in result.box_details] == [2, 1]


def test_box_f1_needs_matching_labels() -> None:
    assert boxes.box_f1([box(0, 0)], [box(1, 0)]) == 1.0
    assert boxes.box_f1([box(0, 0)], [box(1, 0, label="dog")]) == 0.0
    assert boxes.box_f1([], []) == 1.0
    assert boxes.box_f1([box(0, 0), box(50, 50)], [box(0, 0)]) == pytest.approx(2 / 3)


def test_bad_box_names_the_field() -> None:
    with pytest.raises(InvalidInput) as err:
        boxes.aggregate_boxes([[{"x": 1, "y": 2, "w": "wide", "h": 3}]])
    assert err.value.field == "answers[0].boxes[0].w"


def span(start: int, end: int, label: str = "PER") -> dict:
    return {"start": start, "end": end, "label": label}


def test_exact_matching_votes_on_identical_spans() -> None:
    answers = [[span(0, 5), span(10, 15, "LOC")], [span(0, 6)], [span(0, 5)]]
    result = spans.aggregate_spans(answers, mode="exact")
    assert result.spans == [span(0, 5)]
    assert result.span_details[0]["confidence"] == pytest.approx(2 / 3)


def test_overlap_matching_groups_near_misses() -> None:
    answers = [[span(0, 5)], [span(0, 6)], [span(1, 5)], [span(20, 25, "ORG")]]
    exact = spans.aggregate_spans(answers, mode="exact")
    loose = spans.aggregate_spans(answers, mode="overlap")
    assert exact.spans == []
    assert loose.spans == [span(0, 5)]
    assert loose.span_details[0]["support"] == pytest.approx(0.75)
    assert loose.span_details[0]["confidence"] < 0.75


def test_overlap_matching_votes_on_the_label() -> None:
    answers = [[span(0, 5, "PER")], [span(0, 5, "ORG")], [span(0, 5, "PER")]]
    assert spans.aggregate_spans(answers).spans == [span(0, 5, "PER")]


def test_span_f1_and_errors() -> None:
    assert spans.span_f1([span(0, 5), span(6, 8)], [span(0, 5)]) == pytest.approx(2 / 3)
    with pytest.raises(InvalidInput):
        spans.aggregate_spans([[{"start": 5, "end": 2, "label": "X"}]])
    with pytest.raises(InvalidInput):
        spans.aggregate_spans([[span(0, 1)]], mode="fuzzy")


def _many_spans(n_workers: int, n_spans: int) -> list[list[dict]]:
    """Each worker marks n_spans short spans along a long text, a little off the others' boundaries."""
    return [[{"start": 20 * i + (i + w) % 3, "end": 20 * i + 8 + (i * w) % 3, "label": f"L{i % 4}"}
             for i in range(n_spans)] for w in range(n_workers)]


def _count_overlaps(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the calls of spans.overlap from now on: {"overlap": n}."""
    calls = {"overlap": 0}
    real = spans.overlap

    def counted(a: spans.Span, b: spans.Span) -> float:
        calls["overlap"] += 1
        return real(a, b)

    monkeypatch.setattr(spans, "overlap", counted)
    return calls


def test_span_voting_compares_each_span_with_the_groups_it_overlaps_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A text with hundreds of spans per answer: a span was compared with every group made so far (and each group's
    representative recomputed each time), quadratic work that took minutes a submit at a few thousand spans."""
    calls = _count_overlaps(monkeypatch)
    answers = _many_spans(3, 300)
    result = spans.aggregate_spans(answers)
    assert len(result.spans) == 300
    # a few comparisons per span (its group's members, the representative's medoid), not one per group
    assert calls["overlap"] < 20 * 3 * 300, calls["overlap"]


def test_keeping_the_best_spans_looks_up_each_against_the_kept_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """_resolve compared each candidate with every span kept before it: quadratic in the spans of one text."""
    calls = _count_overlaps(monkeypatch)
    result = spans.aggregate_spans(_many_spans(1, 2000), mode="exact")
    assert len(result.spans) == 2000
    assert calls["overlap"] < 2000, calls["overlap"]


def test_nested_and_overlapping_entities_stand_as_the_project_allows() -> None:
    # Both workers marked "New York City" (LOC), "New York" inside it (LOC) and "York City" (PER): the consensus
    # kept the one best span of every overlapping set, whatever overlaps the project's answers may have.
    answer = [{"start": 0, "end": 13, "label": "LOC"}, {"start": 0, "end": 8, "label": "LOC"},
              {"start": 4, "end": 13, "label": "PER"}]
    got = {overlaps: [(s["start"], s["end"], s["label"]) for s in
                      spans.aggregate_spans([answer, answer], overlaps=overlaps).spans]
           for overlaps in spans.OVERLAPS}
    assert got["none"] == [(0, 13, "LOC")]
    # nested: the longer of the two equally backed spans inside it stands; the other crosses it
    assert got["nested"] == [(0, 13, "LOC"), (4, 13, "PER")]
    assert got["allow"] == [(0, 8, "LOC"), (0, 13, "LOC"), (4, 13, "PER")]
    # a span backed by one worker of three still falls, overlapping or not
    lone = [{"start": 0, "end": 13, "label": "LOC"}]
    assert [(s["start"], s["end"]) for s in spans.aggregate_spans([answer, lone, lone], overlaps="allow").spans] == [
        (0, 13)]
    with pytest.raises(InvalidInput):
        spans.aggregate_spans([answer], overlaps="sometimes")


def test_one_answer_of_nested_spans_is_not_matched_against_its_own_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """One worker's answer of 2,000 spans nested inside each other (a 70 KB answer; the answer cap allows 30 times
    more): each span was matched against every group the same worker had made (found, then dropped as taken), so
    its settle took seconds, and minutes at the answer cap, in the write transaction. A worker's own groups now
    leave the index while its spans are placed."""
    asked = {"groups": 0}
    real = spans._Representatives.overlapping

    def counted(self, start: int, end: int) -> set[int]:  # noqa: ANN001
        found = real(self, start, end)
        asked["groups"] += len(found)
        return found

    monkeypatch.setattr(spans._Representatives, "overlapping", counted)
    nested = [{"start": i, "end": 4000 - i, "label": "A"} for i in range(2000)]
    other = [{"start": 5, "end": 9, "label": "A"}]
    for answers in ([nested, other, other], [other, other, nested]):
        asked["groups"] = 0
        result = spans.aggregate_spans(answers)
        assert result.spans == [{"start": 5, "end": 9, "label": "A"}]
        assert asked["groups"] < 3 * 2000, asked["groups"]  # the other answers' groups, not 2,000 per span


def test_box_matching_holds_a_bounded_block_of_ious_however_many_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several workers' 1,000 boxes (the most an answer may have) on one image: each worker's boxes were matched
    against every cluster as whole matrices (10 workers: 15 s and 630 MB a submit); now a block of IoUs at a time."""
    largest = {"cells": 0}
    real = boxes.iou_matrix

    def measured(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = real(a, b)
        largest["cells"] = max(largest["cells"], out.size)
        return out

    monkeypatch.setattr(boxes, "iou_matrix", measured)
    answers = [[box((i % 40) * 50 + w * 9, (i // 40) * 50, w=4, h=4) for i in range(1000)] for w in range(4)]
    answers.append([box((i % 40) * 50, (i // 40) * 50, w=4, h=4) for i in range(1000)])  # agrees with worker 0
    result = boxes.aggregate_boxes(answers, min_support=0.4)
    assert len(result.boxes) == 1000 and result.n_dropped == 3000
    assert result.box_details[0]["n_workers"] == 2
    assert largest["cells"] <= 1_100_000, largest["cells"]  # boxes.PAIR_BLOCK and a row, not 1,000 x 4,000


class CountedLabel(str):
    """A label that counts how often it is compared."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        CountedLabel.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_scoring_an_answer_of_a_thousand_boxes_compares_labels_of_close_boxes_only() -> None:
    """box_f1 (agreement in the quality report, exports' per-answer scores) compared the label of every box with every
    reference box: a million comparisons in Python per answer of 1,000 boxes (0.7 s), for each answer of a project."""
    grid = [(20.0 * (i % 40), 20.0 * (i // 40)) for i in range(1000)]
    answer = [box(x, y, label=CountedLabel("car")) for x, y in grid]
    reference = [box(x + 1, y, label=CountedLabel("car" if i % 2 else "bus")) for i, (x, y) in enumerate(grid)]
    CountedLabel.compared = 0
    assert boxes.box_f1(answer, reference) == pytest.approx(0.5)
    assert CountedLabel.compared <= 2000, CountedLabel.compared
    assert boxes.mean_iou(answer, reference) == pytest.approx(90 / 110)


def test_agreeing_workers_give_confidence_exactly_1_whatever_the_weights() -> None:
    # A weighted mean of identical boxes, or a weighted support of identical spans, came out at 0.9999999999999998
    # or 1.0000000000000002: above 1 is no probability, and below it `--min-confidence 1` dropped the task.
    weights = [0.3, 0.7, 0.91]
    one_box = [box(81.57, 203.76, w=126.9, h=240.4), box(1, 2, w=3, h=4, label="bus")]
    assert boxes.aggregate_boxes([one_box] * 3, weights).confidence == 1.0
    assert boxes.aggregate_boxes([one_box]).confidence == 1.0
    two_spans = [span(0, 3), span(8, 11, "LOC")]
    for mode in ("exact", "overlap"):
        assert spans.aggregate_spans([two_spans] * 3, weights, mode=mode).confidence == 1.0


def test_only_float_error_is_snapped_to_0_or_1() -> None:
    """A mean's float error at either end is snapped; a posterior a dissenting answer left (1 - 1e-10) is kept, so
    `--min-confidence 1` still leaves out a task not every worker agreed on."""
    from labeling.consensus import probability

    assert probability(1.0000000000000002) == 1.0 and probability(0.9999999999999998) == 1.0
    assert probability(-1e-17) == 0.0 and probability(1e-15) == 0.0
    assert probability(1 - 1e-10) == 1 - 1e-10 and probability(1e-10) == 1e-10 and probability(0.5) == 0.5
