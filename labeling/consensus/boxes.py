"""Bounding boxes: IoU, matching boxes across workers, weighted averaging and per-box confidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from labeling.consensus import probability
from labeling.errors import InvalidInput


MIN_SIDE = 0.01  # the rounding step of a consensus box's coordinates


@dataclass
class BoxConsensus:
    """Consensus boxes of one image, each with its confidence and how many workers drew it."""

    boxes: list[dict[str, object]]
    confidence: float | None
    box_details: list[dict[str, float]] = field(default_factory=list)
    n_dropped: int = 0


def box_array(boxes: Sequence[Mapping[str, object]], where: str = "boxes") -> np.ndarray:
    """Return an (n, 4) float array of x, y, w, h; raise InvalidInput for a missing or bad field."""
    out = np.empty((len(boxes), 4))
    for i, box in enumerate(boxes):
        for j, key in enumerate(("x", "y", "w", "h")):
            try:
                out[i, j] = float(box[key])  # type: ignore[arg-type]
            except (KeyError, TypeError, ValueError):
                raise InvalidInput(f"{where}[{i}].{key} must be a number", field=f"{where}[{i}].{key}") from None
        if out[i, 2] < 0 or out[i, 3] < 0:
            raise InvalidInput(f"{where}[{i}] has a negative width or height", field=f"{where}[{i}]")
    return out


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in `a` (n, 4 xywh) with every box in `b` (m, 4)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0, None], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1, None], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def greedy_pairs(rows: np.ndarray, cols: np.ndarray, rank: np.ndarray) -> list[int]:
    """The indices k of one-to-one pairs (rows[k], cols[k]) among candidate pairs in row-major order, taken highest
    rank first (ties: that order)."""
    used_r: set[int] = set()
    used_c: set[int] = set()
    taken = []
    for k in np.argsort(-rank, kind="stable").tolist():
        r, c = int(rows[k]), int(cols[k])
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            taken.append(k)
    return taken


PAIR_BLOCK = 1 << 20  # most IoU cells computed at once when matching a worker's boxes with the clusters


def close_pairs(a: np.ndarray, b: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, IoU) of the pairs of boxes of `a` and `b` with IoU >= threshold, in row-major order; computed a
    block of rows at a time, so memory stays near PAIR_BLOCK cells however many boxes and clusters there are."""
    step = max(1, PAIR_BLOCK // max(1, b.shape[0]))
    rows, cols, values = [], [], []
    for start in range(0, a.shape[0], step):
        iou = iou_matrix(a[start:start + step], b)
        r, c = np.nonzero(iou >= threshold)
        rows.append(r + start)
        cols.append(c)
        values.append(iou[r, c])
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(values)


def _labels(boxes: Sequence[Mapping[str, object]]) -> list[object]:
    """The label of each box (None when absent)."""
    return [box.get("label") for box in boxes]


def aggregate_boxes(
    answers: Sequence[Sequence[Mapping[str, object]]],
    weights: Sequence[float] | None = None,
    iou_threshold: float = 0.5,
    min_support: float = 0.5,
) -> BoxConsensus:
    """Match boxes across workers by IoU, keep those drawn by at least `min_support` of the (weighted) workers.

    Each worker contributes at most one box to a cluster. A kept box is the weighted mean of its
    cluster, its label the weighted vote (a tie: the label of the most weighted worker, then the first answer's);
    confidence = the weighted share of workers who drew it with that label x mean IoU with the result.
    """
    n = len(answers)
    if n == 0:
        return BoxConsensus([], None)
    wts = np.ones(n) if weights is None else np.clip(np.asarray(weights, dtype=np.float64), 1e-6, None)
    arrays = [box_array(a, f"answers[{i}].boxes") for i, a in enumerate(answers)]
    labels = [_labels(a) for a in answers]
    members: list[list[tuple[int, int]]] = []  # cluster -> [(worker, box)]
    centres = np.empty((0, 4))
    cluster_labels: list[object] = []
    # Each worker's boxes against the clusters so far: only pairs that can match (IoU >= threshold) are kept, and
    # only the clusters a worker joined or made are recomputed; the whole (boxes x clusters) matrices, twice over
    # in Python lists, took 15 s and 630 MB for 10 workers' 1,000 boxes each on one image.
    for wk in np.argsort(-wts, kind="stable"):
        mine = arrays[wk]
        if mine.shape[0] == 0:
            continue
        rows, cols, score = close_pairs(mine, centres, iou_threshold)
        mine_labels = labels[wk]
        same = np.array([mine_labels[r] == cluster_labels[c] for r, c in zip(rows.tolist(), cols.tolist())],
                        dtype=np.float64)
        matched = set()
        changed = []
        for k in greedy_pairs(rows, cols, score + same * 2.0):
            i, c = int(rows[k]), int(cols[k])
            members[c].append((int(wk), i))
            matched.add(i)
            changed.append(c)
        first_new = len(members)
        for i in range(mine.shape[0]):
            if i not in matched:
                members.append([(int(wk), i)])
        grown = np.empty((len(members), 4))
        grown[:first_new] = centres
        cluster_labels.extend([None] * (len(members) - first_new))
        for c in changed + list(range(first_new, len(members))):  # the clusters joined or made: their centre, label
            grown[c] = _mean_box(members[c], arrays, wts)
            cluster_labels[c] = _cluster_label(members[c], labels, wts)
        centres = grown
    total = wts.sum()
    kept, dropped_support = [], []
    for m, centre in zip(members, centres):
        support = float(sum(wts[wk] for wk, _ in m) / total)
        if support + 1e-9 < min_support:
            dropped_support.append(support)
            continue
        ious = iou_matrix(np.array([arrays[wk][i] for wk, i in m]), centre[None])[:, 0]
        member_w = np.array([wts[wk] for wk, _ in m])
        mean_iou = float((ious * member_w).sum() / member_w.sum())
        box: dict[str, object] = {"label": _cluster_label(m, labels, wts)}
        # The box with its label is what is kept: only the members that gave that label support it. Two workers'
        # equal boxes labelled car and person were a car of confidence 1 (a coin's toss: the label seen first).
        agreeing = float(sum(wts[wk] for wk, i in m if labels[wk][i] == box["label"]) / total)
        conf = agreeing * mean_iou
        box.update(rounded(centre))
        kept.append((conf, box, {"confidence": round(conf, 6), "support": round(support, 6),
                                 "mean_iou": round(mean_iou, 6), "n_workers": len(m)}))
    kept.sort(key=lambda item: (item[1]["y"], item[1]["x"]))  # type: ignore[index]
    if kept:
        confidence = float(np.mean([k[0] for k in kept]))
    else:
        confidence = 1.0 - max(dropped_support, default=0.0)
    return BoxConsensus([k[1] for k in kept], probability(confidence), [k[2] for k in kept], len(dropped_support))


def rounded(centre: np.ndarray) -> dict[str, float]:
    """x, y, w, h to the hundredth of a pixel, a width or height never below one step: every drawn box has one
    above 0, and a box of 0 is no box to a detector (torchvision refuses it, COCOeval matches it to nothing)."""
    x, y, w, h = (round(float(v), 2) for v in centre)
    return {"x": x, "y": y, "w": max(w, MIN_SIDE), "h": max(h, MIN_SIDE)}


def _mean_box(member: list[tuple[int, int]], arrays: list[np.ndarray], wts: np.ndarray) -> np.ndarray:
    """Weighted mean x, y, w, h of a cluster's boxes."""
    boxes = np.array([arrays[wk][i] for wk, i in member])
    w = np.array([wts[wk] for wk, _ in member])
    return (boxes * w[:, None]).sum(axis=0) / w.sum()


def _cluster_label(member: list[tuple[int, int]], labels: list[list[object]], wts: np.ndarray) -> object:
    """Weighted vote over a cluster's labels (ties go to the label seen first)."""
    votes: dict[object, float] = {}
    for wk, i in member:
        votes[labels[wk][i]] = votes.get(labels[wk][i], 0.0) + float(wts[wk])
    return max(votes, key=votes.__getitem__)


def box_f1(answer: Sequence[Mapping[str, object]], reference: Sequence[Mapping[str, object]],
           iou_threshold: float = 0.5) -> float:
    """F1 of boxes matched one-to-one at IoU >= threshold with equal labels (1.0 when both are empty)."""
    if not answer and not reference:
        return 1.0
    if not answer or not reference:
        return 0.0
    # only pairs that can match (IoU >= threshold), a block at a time: one answer's 1,000 boxes against the consensus
    # made a million-cell matrix and a million label comparisons in Python, for every answer of a quality report or
    # an export
    rows, cols, score = close_pairs(box_array(answer), box_array(reference), max(iou_threshold, 1e-12))
    la, lr = _labels(answer), _labels(reference)
    same = np.array([la[r] == lr[c] for r, c in zip(rows.tolist(), cols.tolist())], dtype=bool)
    hits = len(greedy_pairs(rows[same], cols[same], score[same])) if same.size else 0
    return 2.0 * hits / (len(answer) + len(reference))


def mean_iou(answer: Sequence[Mapping[str, object]], reference: Sequence[Mapping[str, object]]) -> float:
    """Mean IoU over the union of one-to-one matched boxes (unmatched boxes count as 0)."""
    if not answer and not reference:
        return 1.0
    if not answer or not reference:
        return 0.0
    rows, cols, score = close_pairs(box_array(answer), box_array(reference), 1e-12)
    return float(sum(float(score[k]) for k in greedy_pairs(rows, cols, score)) / max(len(answer), len(reference)))
