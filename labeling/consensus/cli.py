"""`labeling aggregate`: run the consensus engine on plain CSV files (to compare it with other tools)."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from labeling import files
from labeling.consensus import boxes, calibration, classification, csvio, ranking
from labeling.errors import InvalidInput
from labeling.export import archive, formats, options

TIE = "tie"  # the label of a pairwise comparison that neither side won


def register(subparsers: Any) -> None:
    """Add the `aggregate` command (classification / pairwise / boxes) to an argparse subparsers object."""
    from labeling.cli import path_argument

    agg = subparsers.add_parser("aggregate", help="aggregate answers in a CSV file into consensus labels",
                                description="Aggregate crowd answers from CSV files; output CSV goes to "
                                            "standard output unless -o is given.")
    kinds = agg.add_subparsers(dest="aggregate_kind", metavar="KIND", required=True)

    cls = kinds.add_parser("classification", help="single-label answers: columns task,worker,label")
    cls.add_argument("answers", metavar="ANSWERS.csv", type=path_argument)
    cls.add_argument("--method", default="dawid-skene",
                     help="auto (picks by held-out gold, else held-out answers; says which on standard error), "
                          "majority, dawid-skene (default) or one-coin")
    cls.add_argument("--uncalibrated", action="store_true",
                     help="write the method's raw posterior as the confidence instead of the calibrated one")
    cls.add_argument("--gold", metavar="GOLD.csv", help="known labels (task,label) that anchor worker skills")
    cls.add_argument("--labels", metavar="A,B,...",
                     help="the label set in its order, as a project's labels, one CSV line (\"red, dark\",blue for a "
                          "label with a comma); a label no one chose still counts, an equal vote is broken by the "
                          "task and --seed over the labels in this order as the project's recompute breaks it, and an "
                          "answer with another label is an error. Default: the labels answered, in numeric order when "
                          "all are numbers, else text order")
    cls.add_argument("--seed", type=int, default=0, help="seed for breaking ties, with each task's id (default 0)")
    cls.add_argument("-o", "--output", metavar="OUT.csv", type=path_argument, help="write task,label,confidence here")
    cls.add_argument("--force", action="store_true", help="replace an existing -o file")
    cls.set_defaults(func=run_classification)

    pair = kinds.add_parser("pairwise", help="pairwise comparisons: columns worker,left,right,label (the winner, "
                                             "or tie)")
    pair.add_argument("comparisons", metavar="COMPARISONS.csv")
    pair.add_argument("--method", default="noisy-bt", choices=("noisy-bt", "bt"),
                      help="noisy-bt (default: learns each worker's reliability and left bias) or bt (plain "
                           "Bradley-Terry)")
    pair.add_argument("--reg", type=float, default=1.0, help="Bradley-Terry regularisation (default 1.0)")
    pair.add_argument("-o", "--output", metavar="OUT.csv", type=path_argument, help="write item,score,rank here")
    pair.add_argument("--force", action="store_true", help="replace an existing -o file")
    pair.set_defaults(func=run_pairwise)

    box = kinds.add_parser("boxes", help="bounding boxes: columns task,worker,x,y,w,h (optional label)")
    box.add_argument("boxes", metavar="BOXES.csv")
    box.add_argument("--iou", type=float, default=0.5, help="IoU needed to match two boxes (default 0.5)")
    box.add_argument("-o", "--output", metavar="OUT.csv", type=path_argument, help="write task,x,y,w,h,confidence(,label) here")
    box.add_argument("--force", action="store_true", help="replace an existing -o file")
    box.set_defaults(func=run_boxes)


def check_output(path: str | None, force: bool) -> None:
    """Refuse an -o the aggregate may not write, before any work is done: a name of another kind of file, a folder,
    or (without --force) a file already there, which was replaced silently where `labeling export` refuses it."""
    if not path or path == "-":
        return
    # -o x.jsonl (or x.csv.) would be a CSV file named as another kind, as `labeling export` refuses
    formats.check_output_name(formats.FORMATS["csv"], Path(path).name, folder=False, what="the aggregate's output")
    if Path(path).is_dir():  # was "[Errno 21] Is a directory: '.DIR.x1y2.part' -> 'DIR'", exit status 1
        raise InvalidInput(f"{path} is a folder; -o names the output file (OUT.csv)", field="output")
    if not Path(path).parent.is_dir():
        raise InvalidInput(f"no folder {Path(path).parent} to write {Path(path).name} into", field="output")
    if files.not_a_file(path):
        raise InvalidInput(f"cannot write {path}: a device, a pipe or a socket, not a file to replace (-o - writes "
                           "to standard output)", field="output")
    if os.path.isfile(path) and archive.sqlite_file(Path(path)):  # as export refuses it: --force took a database
        raise InvalidInput(f"{path} is an SQLite database (or its journal), not an earlier output; --force does not "
                           "replace it", field="output")
    if os.path.lexists(path) and not force:
        raise InvalidInput(f"{path} already exists; use --force to replace it", field="output")


@contextlib.contextmanager
def _output(path: str | None, force: bool) -> Iterator[IO[str]]:
    """The output file (written whole or not at all: a failure half-way leaves the old file, or none), or standard
    output when no path is given."""
    if not path or path == "-":
        yield sys.stdout
        return
    check_output(path, force)
    try:
        with files.replacing(path, newline="", exclusive=not force) as handle:
            yield handle
    except FileExistsError:  # made meanwhile by another program: not replaced without --force
        raise InvalidInput(f"{path} already exists; use --force to replace it", field="output") from None
    except OSError as exc:  # no folder to write into, one not writable, a full disk
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}", field="output") from None


def run_classification(args: argparse.Namespace) -> int:
    """Aggregate task,worker,label answers and write task,label,confidence (the method picked on standard error)."""
    with options.as_flags("method"):  # was "unknown method 'glad'", the API's words, once the file had been read
        calibration.check_method(args.method)  # before the files are read
        return _classification(args)


def _classification(args: argparse.Namespace) -> int:
    check_output(args.output, args.force)
    if args.seed < 0:  # NumPy's generators take none: a traceback's 'ValueError: expected non-negative integer', exit 1
        raise InvalidInput(f"--seed must be 0 or more, got {args.seed}", field="seed")
    if args.gold == csvio.STDIN and args.answers == csvio.STDIN:  # the gold would take it all, the answers none
        raise InvalidInput("--gold -: standard input is read once, for the answers (-); name the gold file "
                           "(--gold GOLD.csv)", field="gold")
    labels = csvio.parse_labels(args.labels) if args.labels is not None else None
    gold = csvio.read_gold(args.gold, labels) if args.gold else {}
    data = csvio.read_answers(args.answers, set(gold.values()), labels)
    gold_arr = csvio.gold_array(gold, data.tasks, data.labels) if gold else None
    unanswered = gold.keys() - set(data.tasks)
    if unanswered:  # ids spelled differently in the two files anchor nothing: say so rather than ignore them
        example = ", ".join(repr(task) for task in sorted(unanswered)[:3])
        print(f"gold: {len(unanswered)} of {len(gold)} gold tasks are not in {csvio.named(args.answers)} and anchor "
              f"nothing (e.g. {example})", file=sys.stderr)
    result = calibration.consensus(args.method, data.task_idx, data.worker_idx, data.label_idx, len(data.tasks),
                                   len(data.workers), len(data.labels), gold=gold_arr, seed=args.seed,
                                   calibrated=not args.uncalibrated, tie_keys=data.tasks)
    print(describe(result), file=sys.stderr)
    label_names = np.array(data.labels, dtype=object)[result.labels]
    conf = np.char.mod("%.6f", result.confidence)
    with _output(args.output, args.force) as out:
        writer = csvio.RowWriter(out)
        writer.writerow(("task", "label", "confidence"))
        writer.writerows(zip(data.tasks, label_names, conf))
    return 0


def describe(result: classification.ClassificationResult) -> str:
    """One line naming the method that ran, why (auto), and how the confidences were calibrated."""
    line = f"method: {result.method}"
    if result.selection:
        scores = ", ".join(f"{name} {value:.4f}" for name, value in result.selection["heldout_loglik_per_answer"].items())
        line += f" (auto, by {result.selection['rule']}"
        if "heldout_gold_right" in result.selection:
            right = ", ".join(f"{name} {n}" for name, n in result.selection["heldout_gold_right"].items())
            line += f": right of {result.selection['heldout_gold_n']} {right}"
        line += f"; held-out log-likelihood per answer {scores})"
    cal = result.calibration
    if cal is None:
        return line + "; confidence: the raw posterior"
    if cal["kind"] == "gold":
        return line + f"; confidence calibrated on {cal['n_gold']} held-out gold tasks"
    # rho is a design effect, not a correlation coefficient: with the floor for shared errors it can pass 1
    return line + (f"; confidence calibrated on the crowd alone (a task's n answers count as n / (1 + (n - 1) x "
                   f"{cal['rho']:.2f}) independent ones)")


def run_pairwise(args: argparse.Namespace) -> int:
    """Fit (noisy) Bradley-Terry to worker,left,right,label comparisons (label: the winner or tie); write item,score,rank."""
    with options.as_flags("reg"):  # was "reg must be ...", the function's word, once the file had been read
        ranking.check_reg(args.reg)
    check_output(args.output, args.force)
    cols = csvio.read_columns(args.comparisons, ("worker", "left", "right", "label"))
    csvio.check_names(args.comparisons, cols, (), ids=("worker", "left", "right", "label"))  # label: an item, or tie
    shown = csvio.named(args.comparisons)
    # in the order the file first names them (left before right in a row): the order of items that share a rank
    items = list(dict.fromkeys(item for pair in zip(cols["left"], cols["right"]) for item in pair))
    left_idx, _ = csvio.encode(cols["left"], items)
    right_idx, _ = csvio.encode(cols["right"], items)
    worker_idx, workers = csvio.encode(cols["worker"])
    outcome = np.empty(len(cols["label"]))
    for i, (left, right, winner) in enumerate(zip(cols["left"], cols["right"], cols["label"])):
        if left == right:
            raise InvalidInput(f"{shown}: line {cols.line(i)}: {left!r} is compared with itself",
                               field="right", line=cols.line(i))
        if winner in (left, right) and winner.strip().lower() == TIE:
            raise InvalidInput(f"{shown}: line {cols.line(i)}: label {winner!r} names an item and a tie "
                               "alike; rename the item", field="label", line=cols.line(i))
        if winner == left:
            outcome[i] = 1.0
        elif winner == right:
            outcome[i] = 0.0
        elif winner.strip().lower() == TIE:
            outcome[i] = 0.5
        else:
            raise InvalidInput(f"{shown}: line {cols.line(i)}: label {winner!r} is neither left, right "
                               f"nor {TIE}", field="label", line=cols.line(i))
    if args.method == "bt":
        fit = ranking.bradley_terry(left_idx, right_idx, outcome, len(items), reg=args.reg)
    else:
        fit = ranking.noisy_bradley_terry(left_idx, right_idx, outcome, len(items), worker_idx, len(workers),
                                          reg=args.reg)
    order = np.argsort(-fit.scores, kind="stable")
    shown = [f"{fit.scores[i]:.6f}" for i in order]
    with _output(args.output, args.force) as out:
        writer = csvio.RowWriter(out)
        writer.writerow(("item", "score", "rank"))
        rank = 1
        for n, (i, score) in enumerate(zip(order, shown)):
            if n and score != shown[n - 1]:  # items the scores cannot tell apart share a rank
                rank = n + 1
            writer.writerow((items[i], score, rank))
    return 0


def run_boxes(args: argparse.Namespace) -> int:
    """Match and average task,worker,x,y,w,h(,label) boxes per task and write the kept boxes."""
    check_output(args.output, args.force)
    cols = csvio.read_columns(args.boxes, ("task", "worker", "x", "y", "w", "h"), ("label",))
    csvio.check_names(args.boxes, cols, ("label",), ids=("task", "worker"))
    shown = csvio.named(args.boxes)
    if not 0.0 < args.iou <= 1.0:
        raise InvalidInput(f"--iou must be a number above 0 and at most 1, got {args.iou}", field="iou")
    has_label = "label" in cols
    per_task: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for i, (task, worker) in enumerate(zip(cols["task"], cols["worker"])):
        box: dict[str, Any] = {}
        for key in ("x", "y", "w", "h"):
            text = cols[key][i]
            try:
                box[key] = float(text) if "_" not in text else math.nan  # float() would read 1_0 as 10
            except ValueError:
                box[key] = math.nan
            if not math.isfinite(box[key]) or (key in ("w", "h") and box[key] <= 0):  # as a worker's boxes
                need = "a number above 0" if key in ("w", "h") else "a number"
                raise InvalidInput(f"{shown}: line {cols.line(i)}: {key} must be {need}, got {text!r:.40}",
                                   field=key, line=cols.line(i))
        box["label"] = cols["label"][i] if has_label else None
        per_task.setdefault(task, {}).setdefault(worker, []).append(box)
    with _output(args.output, args.force) as out:
        writer = csvio.RowWriter(out)
        writer.writerow(("task", "x", "y", "w", "h", "confidence") + (("label",) if has_label else ()))
        for task, workers in per_task.items():
            result = boxes.aggregate_boxes(list(workers.values()), iou_threshold=args.iou)
            for box, detail in zip(result.boxes, result.box_details):
                row = [task, box["x"], box["y"], box["w"], box["h"], f"{detail['confidence']:.6f}"]
                writer.writerow(row + ([box["label"]] if has_label else []))
    return 0
