"""`labeling aggregate`: run the consensus engine on plain CSV files (to compare it with other tools)."""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from labeling.consensus import boxes, classification, csvio, ranking
from labeling.errors import InvalidInput


def register(subparsers: Any) -> None:
    """Add the `aggregate` command (classification / pairwise / boxes) to an argparse subparsers object."""
    agg = subparsers.add_parser("aggregate", help="aggregate answers in a CSV file into consensus labels",
                                description="Aggregate crowd answers from CSV files; output CSV goes to "
                                            "standard output unless -o is given.")
    kinds = agg.add_subparsers(dest="aggregate_kind", metavar="KIND", required=True)

    cls = kinds.add_parser("classification", help="single-label answers: columns task,worker,label")
    cls.add_argument("answers", metavar="ANSWERS.csv")
    cls.add_argument("--method", default="dawid-skene",
                     help="majority, dawid-skene (default) or one-coin")
    cls.add_argument("--gold", metavar="GOLD.csv", help="known labels (task,label) that anchor worker skills")
    cls.add_argument("--seed", type=int, default=0, help="seed for breaking ties (default 0)")
    cls.add_argument("-o", "--output", metavar="OUT.csv", help="write task,label,confidence here")
    cls.set_defaults(func=run_classification)

    pair = kinds.add_parser("pairwise", help="pairwise comparisons: columns worker,left,right,label (the winner)")
    pair.add_argument("comparisons", metavar="COMPARISONS.csv")
    pair.add_argument("--reg", type=float, default=1.0, help="Bradley-Terry regularisation (default 1.0)")
    pair.add_argument("-o", "--output", metavar="OUT.csv", help="write item,score,rank here")
    pair.set_defaults(func=run_pairwise)

    box = kinds.add_parser("boxes", help="bounding boxes: columns task,worker,x,y,w,h (optional label)")
    box.add_argument("boxes", metavar="BOXES.csv")
    box.add_argument("--iou", type=float, default=0.5, help="IoU needed to match two boxes (default 0.5)")
    box.add_argument("-o", "--output", metavar="OUT.csv", help="write task,x,y,w,h,confidence(,label) here")
    box.set_defaults(func=run_boxes)


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """Open the output file, or standard output when no path is given."""
    if not path or path == "-":
        yield sys.stdout
        return
    try:
        handle = open(path, "w", newline="", encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}", field="output") from None
    with handle:
        yield handle


def run_classification(args: argparse.Namespace) -> int:
    """Aggregate task,worker,label answers and write task,label,confidence."""
    if args.method not in classification.METHODS:
        raise InvalidInput(f"unknown method {args.method!r}; use one of {', '.join(classification.METHODS)}",
                           field="method")
    gold = csvio.read_gold(args.gold) if args.gold else {}
    data = csvio.read_answers(args.answers, set(gold.values()))
    gold_arr = csvio.gold_array(gold, data.tasks, data.labels) if gold else None
    result = classification.aggregate(args.method, data.task_idx, data.worker_idx, data.label_idx,
                                      len(data.tasks), len(data.workers), len(data.labels),
                                      gold=gold_arr, seed=args.seed)
    label_names = np.array(data.labels, dtype=object)[result.labels]
    conf = np.char.mod("%.6f", result.confidence)
    with _output(args.output) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("task", "label", "confidence"))
        writer.writerows(zip(data.tasks, label_names, conf))
    return 0


def run_pairwise(args: argparse.Namespace) -> int:
    """Fit Bradley-Terry to worker,left,right,label comparisons and write item,score,rank."""
    cols = csvio.read_columns(args.comparisons, ("worker", "left", "right", "label"))
    items = list(dict.fromkeys(cols["left"] + cols["right"]))
    left_idx, _ = csvio.encode(cols["left"], items)
    right_idx, _ = csvio.encode(cols["right"], items)
    outcome = np.empty(len(cols["label"]))
    for i, (left, right, winner) in enumerate(zip(cols["left"], cols["right"], cols["label"])):
        if winner == left:
            outcome[i] = 1.0
        elif winner == right:
            outcome[i] = 0.0
        else:
            raise InvalidInput(f"{args.comparisons}: line {i + 2}: label {winner!r} is neither left nor right",
                               field="label")
    fit = ranking.bradley_terry(left_idx, right_idx, outcome, len(items), reg=args.reg)
    order = np.argsort(-fit.scores, kind="stable")
    with _output(args.output) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("item", "score", "rank"))
        for rank, i in enumerate(order, start=1):
            writer.writerow((items[i], f"{fit.scores[i]:.6f}", rank))
    return 0


def run_boxes(args: argparse.Namespace) -> int:
    """Match and average task,worker,x,y,w,h(,label) boxes per task and write the kept boxes."""
    cols = csvio.read_columns(args.boxes, ("task", "worker", "x", "y", "w", "h"), ("label",))
    has_label = "label" in cols
    per_task: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for i, (task, worker) in enumerate(zip(cols["task"], cols["worker"])):
        box: dict[str, Any] = {}
        for key in ("x", "y", "w", "h"):
            try:
                box[key] = float(cols[key][i])
            except ValueError:
                raise InvalidInput(f"{args.boxes}: line {i + 2}: {key} must be a number", field=key) from None
        box["label"] = cols["label"][i] if has_label else None
        per_task.setdefault(task, {}).setdefault(worker, []).append(box)
    with _output(args.output) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("task", "x", "y", "w", "h", "confidence") + (("label",) if has_label else ()))
        for task, workers in per_task.items():
            result = boxes.aggregate_boxes(list(workers.values()), iou_threshold=args.iou)
            for box, detail in zip(result.boxes, result.box_details):
                row = [task, box["x"], box["y"], box["w"], box["h"], f"{detail['confidence']:.6f}"]
                writer.writerow(row + ([box["label"]] if has_label else []))
    return 0
