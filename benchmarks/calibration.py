"""How honest the confidences are (imported by benchmarks/aggregation.py): tables of calibration error.

Project path (calibration.consensus): on each real dataset, with no gold, and with the gold of a random
10% of its answered gold tasks given to the engine, scored on the other 90% (many seeds: mean and worst),
beside the noise floor (the ECE a perfectly calibrated engine would show on that many tasks). Per-task
path (tasks.aggregate_task with each worker's skill from the project consensus): every task's answers at
once, as a settle with all of them would see them. Adaptive redundancy: benchmarks/redundancy.py.

Low redundancy (the crowd-only calibration when each task has only a few answers), run on its own:

    python benchmarks/calibration.py --redundancy 2 3 5 --seeds 3 [--synthetic 4] [--datasets DIR] [--json]

keeps, for every task of every shared dataset, R of its workers drawn at random (all of their rows; a task with
fewer keeps all), once per seed, and scores the no-gold calibrated confidence of Dawid-Skene on the answered gold.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script: labeling from this checkout
    sys.path.insert(0, ROOT)

import redundancy
import tables

from labeling.consensus import calibration, classification, simulate, tasks


def _split(gold: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(gold known to the engine, mask of the other gold tasks) for a random `share` of the gold tasks."""
    rng = np.random.default_rng(seed)
    known = np.flatnonzero(gold >= 0)
    pick = rng.choice(known, int(round(share * known.size)), replace=False)
    given = np.full_like(gold, -1)
    given[pick] = gold[pick]
    test = gold >= 0
    test[pick] = False
    return given, test


def _floor(conf: np.ndarray, rng: np.random.Generator, draws: int = 50) -> float:
    """Mean ECE of `conf` against outcomes drawn from it: what perfect calibration shows on this many tasks."""
    return float(np.mean([calibration.ece(conf, rng.random(conf.size) < conf) for _ in range(draws)]))


def project(data: list[tuple[str, tuple, np.ndarray]], seeds: int) -> list[dict[str, Any]]:
    """Per dataset: accuracy, raw and calibrated ECE with no gold, and ECE with 10% gold over `seeds` splits."""
    rows = []
    rng = np.random.default_rng(0)
    for name, args, truth in data:
        known = truth >= 0
        raw = classification.dawid_skene(*args)
        cal = calibration.consensus("dawid-skene", *args)
        right = cal.labels[known] == truth[known]
        row: dict[str, Any] = {
            "dataset": name, "accuracy": float(right.mean()), "raw_confidence": float(raw.confidence[known].mean()),
            "raw_ece": calibration.ece(raw.confidence[known], raw.labels[known] == truth[known]),
            "confidence": float(cal.confidence[known].mean()), "ece": calibration.ece(cal.confidence[known], right),
            "rho": cal.calibration["rho"], "gold_ece": [], "gold_floor": [], "gold_raw_ece": [], "level_gap": [],
            "level_error": []}
        pooled: tuple[list, list] = ([], [])
        for seed in range(seeds):
            given, test = _split(truth, 0.1, seed)
            res = calibration.consensus("dawid-skene", *args, gold=given, seed=seed)
            plain = classification.dawid_skene(*args, gold=given)
            hit = res.labels[test] == truth[test]
            row["gold_ece"].append(calibration.ece(res.confidence[test], hit))
            row["level_error"].append(abs(float(res.confidence[test].mean() - hit.mean())))
            pooled[0].append(res.confidence[test])
            pooled[1].append(hit)
            row["gold_raw_ece"].append(calibration.ece(plain.confidence[test], plain.labels[test] == truth[test]))
            row["gold_floor"].append(_floor(res.confidence[test], rng))
            # How far the accuracy on the given gold is from the accuracy on the rest (the no-gold labels): a
            # confidence level learnt from that gold is off by this much, and ECE >= |mean confidence - accuracy|.
            seen = given >= 0
            row["level_gap"].append(abs(right_on(cal, truth, seen) - right_on(cal, truth, test)))
        row["gold_n"] = int(round(0.1 * known.sum()))
        # Every split's scored tasks in one ECE: the calibration of the procedure over the draws of the gold (a
        # split's level error, above or below, is the luck of its draw, and cancels here if the procedure is fair).
        row["pooled_ece"] = calibration.ece(np.concatenate(pooled[0]), np.concatenate(pooled[1])) if seeds else 0.0
        rows.append(row)
        print(f"  calibration {name} done", file=sys.stderr)
    return rows


def right_on(result: Any, truth: np.ndarray, mask: np.ndarray) -> float:
    """Accuracy of `result`'s labels on the tasks of `mask`."""
    return float((result.labels[mask] == truth[mask]).mean())


def _per_task_confidences(args: tuple, fit: Any, correlation: float) -> tuple[np.ndarray, np.ndarray]:
    """(label, confidence) per task from tasks.aggregate_task over all its answers, as a settle with every answer
    would give them: skills from `fit` (a project consensus), evidence tempered by `correlation`."""
    t, w, lab, n_tasks, n_workers, k = args
    labels = [str(i) for i in range(k)]
    by_task: list[list[int]] = [[] for _ in range(n_tasks)]
    for i, task in enumerate(t.tolist()):
        by_task[task].append(i)
    skill = {int(x): float(s) for x, s in enumerate(fit.worker_skill)}
    out, conf = np.full(n_tasks, -1), np.zeros(n_tasks)
    for task, idx in enumerate(by_task):
        if idx:
            res = tasks.aggregate_task("text_classification", [{"label": labels[lab[i]]} for i in idx],
                                       [int(w[i]) for i in idx], labels, skill, correlation)
            out[task], conf[task] = int(res.answer["label"]), res.confidence
    return out, conf


def per_task(data: list[tuple[str, tuple, np.ndarray]], seeds: int) -> list[dict[str, Any]]:
    """Per dataset: ECE of the per-task path over each task's answers, skills from the project consensus, with
    its answers' correlation (calibration.task_correlation) and without: no gold, and 10% gold (`seeds` splits,
    scored on the other 90%)."""
    rows = []
    for name, args, truth in data:
        t = args[0]
        known = truth >= 0
        fit = calibration.consensus("dawid-skene", *args)
        row: dict[str, Any] = {"dataset": name, "answers_per_task": float(t.size / max(args[3], 1)),
                               "rho": fit.calibration["rho_task"], "gold_rho": [], "gold_ece": [], "gold_ece_plain": []}
        for key, rho in (("plain", 0.0), ("tempered", fit.calibration["rho_task"])):
            labels, conf = _per_task_confidences(args, fit, rho)
            right = labels[known] == truth[known]
            row[key] = {"accuracy": float(right.mean()), "confidence": float(conf[known].mean()),
                        "ece": calibration.ece(conf[known], right)}
        for seed in range(seeds):
            given, test = _split(truth, 0.1, seed)
            gfit = calibration.consensus("dawid-skene", *args, gold=given, seed=seed)
            row["gold_rho"].append(gfit.calibration["rho_task"])
            for key, rho in (("gold_ece_plain", 0.0), ("gold_ece", gfit.calibration["rho_task"])):
                labels, conf = _per_task_confidences(args, gfit, rho)
                row[key].append(calibration.ece(conf[test], labels[test] == truth[test]))
        rows.append(row)
        print(f"  per-task calibration {name} done", file=sys.stderr)
    return rows


def synthetic_project(seeds: int) -> list[dict[str, Any]]:
    """Synthetic crowds (truth known everywhere): ECE of the raw posterior, with no gold and with 10% gold."""
    shapes = {"relevance": {}, "relevance, misleading items": {"hard": 0.2}, "word sense": None,
              "word sense, misleading items": {"hard": 0.2}}
    rows = []
    for name, change in shapes.items():
        out: dict[str, list[float]] = {"raw": [], "no_gold": [], "gold": []}
        for seed in range(seeds):
            make = simulate.word_sense_crowd if name.startswith("word") else simulate.relevance_crowd
            crowd = make(seed, **(change or {}))
            args = (crowd.task_idx, crowd.worker_idx, crowd.label_idx, *crowd.sizes)
            raw = classification.dawid_skene(*args)
            out["raw"].append(calibration.ece(raw.confidence, raw.labels == crowd.truth))
            res = calibration.consensus("dawid-skene", *args)
            out["no_gold"].append(calibration.ece(res.confidence, res.labels == crowd.truth))
            given, test = _split(crowd.truth, 0.1, seed)
            res = calibration.consensus("dawid-skene", *args, gold=given)
            out["gold"].append(calibration.ece(res.confidence[test], res.labels[test] == crowd.truth[test]))
        rows.append({"crowd": name, "seeds": seeds, **{key: float(np.mean(v)) for key, v in out.items()}})
    return rows


def subsample(args: tuple, answers: int, seed: int) -> tuple:
    """The answers of `answers` distinct workers per task, drawn at random (every row of a drawn worker, so a worker's
    repeats stay repeats; a task with fewer workers keeps them all), as (task, worker, label, n_tasks, n_workers, K)."""
    t, w, lab, n_tasks, n_workers, k = args
    rng = np.random.default_rng(seed)
    pairs, pair_of = np.unique(t.astype(np.int64) * n_workers + w, return_inverse=True)
    pair_task = pairs // n_workers
    order = np.lexsort((rng.random(pairs.size), pair_task))  # each task's workers in a random order
    starts = np.r_[0, np.flatnonzero(np.diff(pair_task[order])) + 1]
    rank = np.empty(pairs.size, dtype=np.int64)
    rank[order] = np.arange(pairs.size) - np.repeat(starts, np.diff(np.r_[starts, pairs.size]))
    keep = rank[pair_of.reshape(-1)] < answers
    return t[keep], w[keep], lab[keep], n_tasks, n_workers, k


def low_redundancy(data: list[tuple[str, tuple, np.ndarray]], redundancies: list[int], seeds: int,
                   method: str = "dawid-skene") -> list[dict[str, Any]]:
    """Per dataset and answers per task (0: all of them): accuracy, mean confidence and ECE of the no-gold
    calibrated confidence, and the held-out rho, per seed of the subsample, scored on the answered gold."""
    rows = []
    for name, args, truth in data:
        for r in redundancies:
            row: dict[str, Any] = {"dataset": name, "answers": r, "accuracy": [], "confidence": [], "ece": [],
                                   "rho_heldout": [], "per_task": []}
            if r and r >= int(np.bincount(np.unique(args[0].astype(np.int64) * args[4] + args[1]) // args[4]).max()):
                continue  # no task has more workers than that: the same as all of them (the "all" row)
            for seed in range(seeds if r else 1):
                sub = subsample(args, r, seed) if r else args
                known = (truth >= 0) & (np.bincount(sub[0], minlength=sub[3]) > 0)
                res = calibration.consensus(method, *sub)
                right = res.labels[known] == truth[known]
                row["accuracy"].append(float(right.mean()))
                row["confidence"].append(float(res.confidence[known].mean()))
                row["ece"].append(calibration.ece(res.confidence[known], right))
                row["rho_heldout"].append(float(res.calibration["rho_heldout"]))
                row["per_task"].append(float(sub[0].size / max(int((np.bincount(sub[0]) > 0).sum()), 1)))
            rows.append(row)
        print(f"  low redundancy {name} done", file=sys.stderr)
    return rows


def synthetic_crowds(seeds: int) -> list[tuple[str, tuple, np.ndarray]]:
    """The held-out shapes' synthetic crowds (benchmarks/README.md, Held-out shapes), `seeds` of each, in the
    datasets' form: workers answer independently given the truth, bar the misleading items' shared wrong label."""
    shapes = {"relevance": (simulate.relevance_crowd, {}), "relevance, misleading items": (simulate.relevance_crowd,
              {"hard": 0.2}), "word sense": (simulate.word_sense_crowd, {}),
              "word sense, misleading items": (simulate.word_sense_crowd, {"hard": 0.2})}
    out = []
    for name, (make, change) in shapes.items():
        for seed in range(seeds):
            crowd = make(seed, **change)
            out.append((f"synthetic {name} (seed {seed})", (crowd.task_idx, crowd.worker_idx, crowd.label_idx,
                                                           *crowd.sizes), crowd.truth))
    return out


def print_tables(report: dict[str, Any]) -> None:
    """Markdown tables of the calibration report."""
    if report.get("low_redundancy"):
        print("\nNo-gold calibrated confidence (Dawid-Skene) with R workers' answers kept per task, mean (worst) over "
              "the seeds of the draw; ECE on the answered gold, 10 bins:\n")
        print(tables.markdown(
            ("dataset", "answers per task", "seeds", "accuracy", "mean conf.", "ECE", "held-out rho"),
            ((r["dataset"], f"{np.mean(r['per_task']):.1f}" + ("" if r["answers"] else " (all)"), len(r["ece"]),
              f"{np.mean(r['accuracy']):.3f}", f"{np.mean(r['confidence']):.3f}",
              f"{np.mean(r['ece']):.3f} ({np.max(r['ece']):.3f})", f"{np.mean(r['rho_heldout']):.2f}")
             for r in report["low_redundancy"])))
    if report.get("calibration"):
        seeds = len(report["calibration"][0]["gold_ece"])
        print(f"\nCalibration of the project path (Dawid-Skene), expected calibration error, 10 bins. No gold: all "
              f"answered gold tasks scored. 10% gold: that share of the gold tasks given to the engine, the rest "
              f"scored, mean (worst) over {seeds} random splits; floor = what a perfectly calibrated engine shows "
              "on that many tasks:\n")
        print(tables.markdown(
            ("dataset", "accuracy", "raw mean conf.", "raw ECE", "no gold: mean conf.", "no gold: ECE", "rho",
             "10% gold (n)", "raw ECE, 10% gold", "ECE, 10% gold", "floor", "level gap", "level error",
             "pooled ECE"),
            ((r["dataset"], f"{r['accuracy']:.3f}", f"{r['raw_confidence']:.3f}", f"{r['raw_ece']:.3f}",
              f"{r['confidence']:.3f}", f"{r['ece']:.3f}", f"{r['rho']:.2f}", r["gold_n"],
              f"{np.mean(r['gold_raw_ece']):.3f}", f"{np.mean(r['gold_ece']):.3f} ({np.max(r['gold_ece']):.3f})",
              f"{np.mean(r['gold_floor']):.3f}", f"{np.mean(r['level_gap']):.3f}", f"{np.mean(r['level_error']):.3f}",
              f"{r['pooled_ece']:.3f}") for r in report["calibration"])))
        print("\nlevel gap: |accuracy on the given 10% - accuracy on the other 90%| (the no-gold labels), mean over the "
              "splits. A confidence level learnt from that gold is off by this much on the scored tasks, and no ECE is "
              "below |mean confidence - accuracy|. level error: |mean confidence - accuracy| on the scored tasks, mean "
              "over the splits. pooled ECE: every split's scored tasks in one ECE (the procedure's calibration over the "
              "draws of the gold).")
    if report.get("calibration_synthetic"):
        print("\nSynthetic crowds (every task's truth known), ECE, mean over seeds:\n")
        print(tables.markdown(("crowd", "seeds", "raw posterior", "calibrated, no gold", "calibrated, 10% gold"), (
            (r["crowd"], r["seeds"], f"{r['raw']:.3f}", f"{r['no_gold']:.3f}", f"{r['gold']:.3f}")
            for r in report["calibration_synthetic"])))
    if report.get("calibration_per_task"):
        seeds = len(report["calibration_per_task"][0]["gold_ece"])
        print("\nPer-task path (tasks.aggregate_task over every answer of the task, skills from the project consensus), "
              "plain (answers independent) and tempered by the answers' correlation rho the project consensus stores "
              f"(calibration.task_correlation). No gold: all answered gold tasks scored. 10% gold: mean (worst) over "
              f"{seeds} splits, the rest scored:\n")
        print(tables.markdown(
            ("dataset", "answers per task", "accuracy", "plain: mean conf.", "plain: ECE", "rho", "tempered: mean conf.",
             "tempered: ECE", "10% gold: rho", "10% gold: plain ECE", "10% gold: tempered ECE"),
            ((r["dataset"], f"{r['answers_per_task']:.1f}", f"{r['plain']['accuracy']:.3f}",
              f"{r['plain']['confidence']:.3f}", f"{r['plain']['ece']:.3f}", f"{r['rho']:.2f}",
              f"{r['tempered']['confidence']:.3f}", f"{r['tempered']['ece']:.3f}", f"{np.mean(r['gold_rho']):.2f}",
              f"{np.mean(r['gold_ece_plain']):.3f}",
              f"{np.mean(r['gold_ece']):.3f} ({np.max(r['gold_ece']):.3f})") for r in report["calibration_per_task"])))
    if report.get("adaptive"):
        print("\nAdaptive redundancy (benchmarks/redundancy.py; target confidence 0.95, 5% gold tasks, project "
              "consensus every 1,000 answers and at the end), against a fixed 5 answers per task:\n")
        print(tables.markdown(
            ("crowd", "seed", "policy", "answers", "share of fixed 5", "accuracy (final)", "accuracy (as completed)",
             "per-task ECE"),
            ((r["crowd"], r["seed"], r["policy"], f"{r['answers']:,}", f"{r['share']:.0%}", f"{r['accuracy_final']:.4f}",
              f"{r['accuracy_online']:.4f}", f"{r['online_ece']:.3f}") for r in report["adaptive"])))
    if report.get("adaptive_gated"):
        gate = redundancy.Gate()
        print(f"\nAdaptive redundancy with the gold gate (benchmarks/redundancy.py, simulate_gated_queue; "
              f"{gate.n_gold} gold tasks, a worker's first {gate.first_n} tasks gold then {gate.fraction:.0%}, blocked "
              f"below {gate.threshold:.0%} gold accuracy after {gate.min_n}), target 0.95, against a fixed 5:\n")
        print(tables.markdown(
            ("crowd", "seed", "policy", "answers", "share of fixed 5", "accuracy (final)", "accuracy (as completed)",
             "per-task ECE", "gold answers", "answers of blocked workers", "blocked"),
            ((r["crowd"], r["seed"], r["policy"], f"{r['answers']:,}", f"{r['share']:.0%}", f"{r['accuracy_final']:.4f}",
              f"{r['accuracy_online']:.4f}", f"{r['online_ece']:.3f}", f"{r['gold_answers']:,}", f"{r['excluded']:,}",
              r["blocked"]) for r in report["adaptive_gated"])))
        print("\nMean over the runs (accuracy in points against fixed 5's; runs at least as accurate, at most 60% of "
              "the answers, both):\n")
        print(tables.markdown(
            ("crowd", "policy", "runs", "share of fixed 5", "accuracy - fixed 5", "at least as accurate",
             "at most 60%", "both"),
            ((r["crowd"], r["policy"], r["runs"], f"{r['share']:.1%}", f"{100 * r['accuracy_vs_fixed']:+.2f}",
              r["accuracy_at_least"], r["share_at_most_60"], r["both"])
             for r in redundancy.gated_summary(report["adaptive_gated"]))))


def main(argv: list[str] | None = None) -> int:
    """The low-redundancy table (the other tables run from benchmarks/aggregation.py --calibration)."""
    parser = argparse.ArgumentParser(description="No-gold calibration with a few answers per task")
    parser.add_argument("--datasets", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                           "shared", "datasets"),
                        help="folder of dataset folders (default ../shared/datasets beside the checkout)")
    parser.add_argument("--redundancy", type=int, nargs="+", default=[2, 3, 5], metavar="R",
                        help="answers (distinct workers) kept per task; 0 keeps them all (default 2 3 5)")
    parser.add_argument("--seeds", type=int, default=3, help="random draws of the kept answers (default 3)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these datasets only")
    parser.add_argument("--synthetic", type=int, default=0, metavar="CROWDS",
                        help="also this many seeds of each synthetic crowd shape (one draw of the kept answers each)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if args.seeds < 1 or any(r < 0 for r in args.redundancy):
        parser.error("--seeds must be at least 1 and --redundancy 0 or more")
    from aggregation import real_datasets  # here: aggregation imports this module

    data = [d for d in real_datasets(args.datasets) if not args.only or d[0] in args.only]
    if not data and not args.synthetic:
        print(f"no datasets under {args.datasets}", file=sys.stderr)
        return 2
    rows = low_redundancy(data, args.redundancy, args.seeds)
    if args.synthetic:
        rows += low_redundancy(synthetic_crowds(args.synthetic), args.redundancy, 1)
    return tables.emit({"low_redundancy": rows}, args.json, print_tables)


if __name__ == "__main__":
    sys.exit(main())
