"""Accuracy and speed of labeling's aggregation, side by side with crowd-kit when it is importable.

    python benchmarks/aggregation.py [--datasets DIR] [--synthetic] [--crowdkit] [--crowdkit-large] [--json]

Real datasets: every folder of DIR with answers.csv (task,worker,label) and truth.csv (task,label);
accuracy counts the gold tasks that have at least one answer. Synthetic crowds mix reliable, biased
(class-confusing), spammer and adversarial workers; the largest has one million answers. crowd-kit is
never a dependency of labeling: install it in its own environment and run this script with that
interpreter (labeling is imported from this checkout).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import timeit
from typing import Any, Callable

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from labeling.consensus import agreement, classification, cli, csvio, ranking, simulate, tasks  # noqa: E402

import calibration as calibration_tables  # noqa: E402  (benchmarks/calibration.py)
import redundancy  # noqa: E402
import tables  # noqa: E402

METHODS = ("majority", "dawid-skene", "one-coin")


def timed(func: Callable[[], Any], repeat: int = 1) -> tuple[Any, float]:
    """Run func `repeat` times; return its last result and the fastest time in seconds."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
    return out, best


def crowdkit_or_none() -> Any:
    """The crowdkit.aggregation module and pandas, or None when crowd-kit is not installed here."""
    try:
        import pandas as pd
        from crowdkit import aggregation
    except ImportError:
        return None
    return aggregation, pd


def run_ours(t: np.ndarray, w: np.ndarray, lab: np.ndarray, n: tuple[int, int, int], truth: np.ndarray,
             repeat: int) -> dict[str, Any]:
    """Accuracy (where truth >= 0) and time of each labeling method."""
    known = truth >= 0
    row: dict[str, Any] = {}
    for method in METHODS:
        res, secs = timed(lambda: classification.aggregate(method, t, w, lab, *n), repeat)
        row[method] = {"accuracy": float((res.labels[known] == truth[known]).mean()), "seconds": secs,
                       "iterations": res.n_iter}
    return row


def run_crowdkit(ck: Any, t: np.ndarray, w: np.ndarray, lab: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """Accuracy and time of crowd-kit's MajorityVote, DawidSkene(100) and OneCoinDawidSkene(100)."""
    aggregation, pd = ck
    df = pd.DataFrame({"task": t, "worker": w, "label": lab})
    known = np.flatnonzero(truth >= 0)
    models = {"majority": lambda: aggregation.MajorityVote(), "dawid-skene": lambda: aggregation.DawidSkene(n_iter=100),
              "one-coin": lambda: aggregation.OneCoinDawidSkene(n_iter=100)}
    row: dict[str, Any] = {}
    for method, make in models.items():
        labels, secs = timed(lambda: make().fit_predict(df))
        predicted = labels.reindex(known).to_numpy()
        row[method] = {"accuracy": float(np.mean(predicted == truth[known])), "seconds": secs}
    return row


def real_datasets(folder: str) -> list[tuple[str, tuple, np.ndarray]]:
    """(name, (task, worker, label, n_tasks, n_workers, n_classes), gold per task or -1) of every dataset folder."""
    out = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        path = os.path.join(folder, name)
        if not os.path.isfile(os.path.join(path, "answers.csv")):
            continue
        gold = csvio.read_gold(os.path.join(path, "truth.csv"))
        data = csvio.read_answers(os.path.join(path, "answers.csv"), set(gold.values()))
        truth = csvio.gold_array(gold, data.tasks, data.labels)  # tasks come from the answers: all answered
        out.append((name, (data.task_idx, data.worker_idx, data.label_idx, len(data.tasks), len(data.workers),
                           len(data.labels)), truth))
    return out


def datasets(folder: str, ck: Any) -> list[dict[str, Any]]:
    """Benchmark every dataset folder under `folder`."""
    rows = []
    for name, (t, w, lab, *n), truth in real_datasets(folder):
        row = {"dataset": name, "answers": int(t.size), "gold": int((truth >= 0).sum()),
               "ours": run_ours(t, w, lab, tuple(n), truth, repeat=3)}
        if ck is not None:
            row["crowdkit"] = run_crowdkit(ck, t, w, lab, truth)
        rows.append(row)
        print(f"  {name} done", file=sys.stderr)
    return rows


def confusions(kind: str, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """(n, k, k) answer distributions P(answer | truth) for one kind of worker."""
    eye = np.eye(k)
    if kind == "reliable":
        acc = rng.uniform(0.65, 0.95, n)[:, None, None]
        return acc * eye + (1 - acc) * (1 - eye) / (k - 1)
    if kind == "biased":  # right about half the time, otherwise calls a class its neighbour
        acc = rng.uniform(0.45, 0.65, n)[:, None, None]
        return acc * eye + (1 - acc) * np.roll(eye, 1, axis=1)
    if kind == "spammer":
        return np.full((n, k, k), 1.0 / k)
    if kind == "adversary":  # systematically answers the next class
        return 0.15 * eye + 0.85 * np.roll(eye, 1, axis=1)[None].repeat(n, axis=0)
    raise ValueError(kind)


def make_crowd(n_tasks: int, per_task: int, mix: dict[str, int], k: int, seed: int):
    """Synthetic answers: each task gets `per_task` distinct random workers drawn from the mix of worker kinds.

    Distinct, as on the platform (redundancy comes from different workers): the engine gives a worker who
    answered a task twice one vote there in all, which suits real repeats but not independent redraws.
    """
    rng = np.random.default_rng(seed)
    conf = np.concatenate([confusions(kind, count, k, rng) for kind, count in mix.items()])
    n_workers = conf.shape[0]
    truth = rng.integers(0, k, n_tasks)
    t = np.repeat(np.arange(n_tasks), per_task)
    pick = rng.integers(0, n_workers, (n_tasks, per_task))
    while True:  # redraw the tasks that got some worker twice
        ordered = np.sort(pick, axis=1)
        again = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not again.any():
            break
        pick[again] = rng.integers(0, n_workers, (int(again.sum()), per_task))
    w = pick.ravel()
    cum = np.cumsum(conf, axis=2)[w, truth[t]]
    lab = (rng.random(t.size)[:, None] > cum[:, :-1]).sum(axis=1)
    return t, w, lab, truth, n_workers


SCENARIOS = {
    "mixed-25k": (5_000, 5, {"reliable": 60, "biased": 20, "spammer": 10, "adversary": 10}, 4),
    "reliable": (20_000, 5, {"reliable": 200}, 4),
    "biased": (20_000, 5, {"reliable": 100, "biased": 100}, 4),
    "spammers": (20_000, 5, {"reliable": 100, "spammer": 100}, 4),
    "adversaries": (20_000, 5, {"reliable": 140, "adversary": 60}, 4),
    "mixed-1M": (100_000, 10, {"reliable": 800, "biased": 400, "spammer": 400, "adversary": 400}, 4),
}


def synthetic(ck: Any, crowdkit_large: bool) -> list[dict[str, Any]]:
    """Benchmark the synthetic crowds."""
    rows = []
    for name, (n_tasks, per_task, mix, k) in SCENARIOS.items():
        t, w, lab, truth, n_workers = make_crowd(n_tasks, per_task, mix, k, seed=len(rows))
        row = {"dataset": f"synthetic {name}", "answers": int(t.size), "gold": n_tasks,
               "ours": run_ours(t, w, lab, (n_tasks, n_workers, k), truth, repeat=3)}
        if ck is not None and (t.size < 500_000 or crowdkit_large):
            row["crowdkit"] = run_crowdkit(ck, t, w, lab, truth)
        rows.append(row)
        print(f"  synthetic {name} done", file=sys.stderr)
    return rows


def cli_end_to_end() -> dict[str, float]:
    """Seconds for `labeling aggregate classification` on a 1M-answer CSV: read, aggregate, write."""
    t, w, lab, _, _ = make_crowd(*SCENARIOS["mixed-1M"][:3], 4, seed=9)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "answers.csv")
        with open(src, "w") as handle:
            handle.write("task,worker,label\n")
            handle.writelines(f"task{a},worker{b},{c}\n" for a, b, c in zip(t.tolist(), w.tolist(), lab.tolist()))
        for method in ("majority", "dawid-skene"):
            args = argparse.Namespace(answers=src, method=method, gold=None, seed=0, output=os.path.join(tmp, "o.csv"),
                                      uncalibrated=False)
            _, out[method] = timed(lambda: cli.run_classification(args))
    return out


def bradley_terry(ck: Any, seeds: int = 5) -> list[dict[str, Any]]:
    """Kendall tau of fitted scores against true scores (mean over seeds), ours and crowd-kit's BradleyTerry."""
    rows = []
    for n_items, n_comp in ((100, 20_000), (1_000, 100_000), (3_000, 150_000)):
        acc: dict[str, list[float]] = {}
        for seed in range(seeds):
            rng = np.random.default_rng(seed * 7919 + n_items)
            true = rng.normal(size=n_items)
            left, right = rng.integers(0, n_items, n_comp), rng.integers(0, n_items, n_comp)
            keep = left != right
            left, right = left[keep], right[keep]
            noisy = rng.random(left.size) < 0.2  # a fifth of the comparisons come from random clickers
            p_left = np.where(noisy, 0.5, 1.0 / (1.0 + np.exp(true[right] - true[left])))
            left_wins = rng.random(left.size) < p_left
            fit, secs = timed(lambda: ranking.bradley_terry(left, right, left_wins.astype(float), n_items), 3)
            acc.setdefault("ours_tau", []).append(agreement.kendall_tau(fit.scores, true))
            acc.setdefault("ours_seconds", []).append(secs)
            if ck is not None:
                aggregation, pd = ck
                df = pd.DataFrame({"worker": rng.integers(0, 30, left.size), "left": left, "right": right,
                                   "label": np.where(left_wins, left, right)})
                scores, secs = timed(lambda: aggregation.BradleyTerry(n_iter=100).fit(df).scores_, 3)
                ck_scores = scores.reindex(np.arange(n_items)).fillna(scores.min()).to_numpy()
                acc.setdefault("crowdkit_tau", []).append(agreement.kendall_tau(ck_scores, true))
                acc.setdefault("crowdkit_seconds", []).append(secs)
        row: dict[str, Any] = {"items": n_items, "comparisons": int(left.size), "seeds": seeds, "ours_method": fit.method}
        row.update({key: float(np.mean(vals)) for key, vals in acc.items()})
        rows.append(row)
    return rows


def per_task() -> list[dict[str, Any]]:
    """Microseconds per tasks.aggregate_task call (what runs on submit)."""
    labels3, labels8 = ["cat", "dog", "bird"], [f"l{i}" for i in range(8)]
    single = [{"label": labels3[i % 3 if i % 4 else 0]} for i in range(20)]
    multi = [{"labels": [labels8[i % 8], labels8[(3 * i) % 8]]} for i in range(20)]
    cases = [("classification", "image_classification", single, labels3, 3),
             ("classification", "image_classification", single, labels3, 20),
             ("multilabel", "image_multilabel", multi, labels8, 3),
             ("multilabel", "image_multilabel", multi, labels8, 20)]
    rows = []
    for family, task_type, answers, labels, n in cases:
        for skills in (None, {1: 0.9, 2: 0.6}):
            args = (task_type, answers[:n], list(range(n)), labels, skills)
            rows.append({"family": family, "answers": n, "labels": len(labels), "skills": skills is not None,
                         "python_us": min(timeit.repeat(lambda: tasks.aggregate_task(*args), number=300,
                                                        repeat=7)) / 300 * 1e6})
    return rows


def heldout_shapes(ck: Any, seeds: int) -> list[dict[str, Any]]:
    """Accuracy of our Dawid-Skene and crowd-kit's on synthetic crowds of the two held-out shapes, many seeds."""
    variants = {
        "relevance": (simulate.relevance_crowd, {}), "relevance, misleading items": (simulate.relevance_crowd, {"hard": 0.2}),
        "relevance, sparser": (simulate.relevance_crowd, {"sigma": 2.3}),
        "relevance, shifted graders": (simulate.relevance_crowd, {"mix": {"careful": 0.2, "shifted": 0.4,
                                                                           "sloppy": 0.2, "spammer": 0.2}}),
        "word sense": (simulate.word_sense_crowd, {}), "word sense, misleading items": (simulate.word_sense_crowd, {"hard": 0.2}),
        "word sense, weak crowd": (simulate.word_sense_crowd, {"mix": {"reliable": 0.3, "idiosyncratic": 0.3,
                                                                        "spammer": 0.4}}),
        "word sense, few busy workers": (simulate.word_sense_crowd, {"sigma": 3.0}),
    }
    rows = []
    for name, (make, change) in variants.items():
        acc: dict[str, list[float]] = {"majority": [], "ours": [], "crowdkit": []}
        for seed in range(seeds):
            crowd = make(seed, **change)
            args = (crowd.task_idx, crowd.worker_idx, crowd.label_idx, *crowd.sizes)
            acc["majority"].append(float((classification.majority_vote(*args).labels == crowd.truth).mean()))
            acc["ours"].append(float((classification.dawid_skene(*args).labels == crowd.truth).mean()))
            if ck is not None:
                aggregation, pd = ck
                df = pd.DataFrame({"task": crowd.task_idx, "worker": crowd.worker_idx, "label": crowd.label_idx})
                got = aggregation.DawidSkene(n_iter=100).fit_predict(df).reindex(np.arange(crowd.n_tasks)).to_numpy()
                acc["crowdkit"].append(float((got == crowd.truth).mean()))
        row: dict[str, Any] = {"crowd": name, "seeds": seeds, "tasks": crowd.n_tasks, "workers": crowd.n_workers,
                               "answers": int(crowd.task_idx.size)}
        row.update({key: float(np.mean(v)) for key, v in acc.items() if v})
        if acc["crowdkit"]:
            diff = np.array(acc["ours"]) - np.array(acc["crowdkit"])
            row.update(wins=int((diff > 0).sum()), losses=int((diff < 0).sum()))
        rows.append(row)
        print(f"  held-out shape {name} done", file=sys.stderr)
    return rows


def pairwise_sparse(ck: Any, seeds: int, ck_seeds: int, rounds: int = 5) -> list[dict[str, Any]]:
    """Kendall tau on sparse noisy crowds (2,000 items, 20,000 comparisons) and noisy-BT time over plain BT's.

    The two fits alternate round by round (ABAB) and each round's ratio is kept, so the machine's drift
    cancels; crowd-kit's NoisyBradleyTerry (minutes per crowd) runs on the first `ck_seeds` crowds.
    """
    rows = []
    for seed in range(seeds):
        crowd = simulate.comparisons(seed)
        n = crowd.scores.size
        plain = ranking.bradley_terry(crowd.left, crowd.right, crowd.outcome, n)
        noisy = ranking.noisy_bradley_terry(crowd.left, crowd.right, crowd.outcome, n, crowd.worker, crowd.n_workers)
        ratios, plain_s, noisy_s = [], [], []
        for _ in range(rounds):
            _, a = timed(lambda: ranking.bradley_terry(crowd.left, crowd.right, crowd.outcome, n))
            _, b = timed(lambda: ranking.noisy_bradley_terry(crowd.left, crowd.right, crowd.outcome, n, crowd.worker,
                                                             crowd.n_workers))
            ratios.append(b / a)
            plain_s.append(a)
            noisy_s.append(b)
        row: dict[str, Any] = {"seed": seed, "bt_tau": agreement.kendall_tau(plain.scores, crowd.scores),
                               "noisy_tau": agreement.kendall_tau(noisy.scores, crowd.scores),
                               "bt_seconds": float(np.median(plain_s)), "noisy_seconds": float(np.median(noisy_s)),
                               "ratio": float(np.median(ratios)), "ratio_max": float(np.max(ratios))}
        if ck is not None and seed < ck_seeds:
            aggregation, pd = ck
            df = pd.DataFrame({"worker": crowd.worker, "left": crowd.left, "right": crowd.right,
                               "label": np.where(crowd.outcome == 1.0, crowd.left, crowd.right)})
            scores, secs = timed(lambda: aggregation.NoisyBradleyTerry(n_iter=100).fit_predict(df))
            row["crowdkit_noisy_tau"] = agreement.kendall_tau(
                scores.reindex(np.arange(n)).fillna(scores.mean()).to_numpy(), crowd.scores)
            row["crowdkit_noisy_seconds"] = secs
        rows.append(row)
        print(f"  pairwise seed {seed} done", file=sys.stderr)
    return rows


def fmt(cell: dict[str, Any] | None) -> str:
    """Accuracy and time of one method as text."""
    if cell is None:
        return "-"
    return f"{cell['accuracy']:.4f} ({cell['seconds'] * 1000:.0f} ms)"


def print_tables(report: dict[str, Any]) -> None:
    """Print the results as Markdown tables."""
    print("| dataset | answers | " + " | ".join(METHODS) + " | crowd-kit " + " | crowd-kit ".join(METHODS)
          + " | DS speed-up |")
    print("|---" * (3 + 2 * len(METHODS)) + "|")
    for row in report["classification"]:
        ours, ck = row["ours"], row.get("crowdkit", {})
        speed = (f"{ck['dawid-skene']['seconds'] / ours['dawid-skene']['seconds']:.0f}x" if ck else "-")
        print(f"| {row['dataset']} | {row['answers']:,} | " + " | ".join(fmt(ours[m]) for m in METHODS) + " | "
              + " | ".join(fmt(ck.get(m)) for m in METHODS) + f" | {speed} |")
    if report.get("cli_1m"):
        print("\n1M answers end to end (`labeling aggregate classification`, read CSV + aggregate + write): "
              + ", ".join(f"{m} {s:.2f} s" for m, s in report["cli_1m"].items()))
    if report.get("per_task"):
        print("\n`tasks.aggregate_task` per call (fastest of 7 x 300 calls):\n")
        print(tables.markdown(("family", "answers", "labels", "worker skills", "time"), (
            (r["family"], r["answers"], r["labels"], "yes" if r["skills"] else "no", f"{r['python_us']:.1f} us")
            for r in report["per_task"])))
    if report.get("heldout"):
        print("\nHeld-out shapes (synthetic crowds, labeling.consensus.simulate), accuracy, mean over seeds; wins / "
              "losses: seeds where our Dawid-Skene beat / trailed crowd-kit's:\n")
        print(tables.markdown(
            ("crowd", "tasks", "workers", "answers", "seeds", "majority", "our Dawid-Skene", "crowd-kit Dawid-Skene",
             "wins / losses"),
            ((r["crowd"], f"{r['tasks']:,}", r["workers"], f"{r['answers']:,}", r["seeds"], f"{r['majority']:.4f}",
              f"{r['ours']:.4f}", f"{r['crowdkit']:.4f}" if "crowdkit" in r else "-",
              f"{r['wins']} / {r['losses']}" if "wins" in r else "-") for r in report["heldout"])))
    if report.get("pairwise"):
        print("\nSparse pairwise crowds (2,000 items, 20,000 comparisons, 100 workers: half careful, 30% noisy, 20% "
              "random clickers with a left bias), Kendall tau against the true scores; time of noisy-BT over plain "
              "BT, median (worst) of alternated rounds:\n")
        print(tables.markdown(
            ("seed", "plain BT tau", "noisy-BT tau", "crowd-kit NoisyBT tau", "plain BT", "noisy-BT", "ratio",
             "crowd-kit NoisyBT"),
            ((r["seed"], f"{r['bt_tau']:.4f}", f"{r['noisy_tau']:.4f}",
              f"{r['crowdkit_noisy_tau']:.4f}" if "crowdkit_noisy_tau" in r else "-", f"{r['bt_seconds'] * 1000:.0f} ms",
              f"{r['noisy_seconds'] * 1000:.0f} ms", f"{r['ratio']:.2f} ({r['ratio_max']:.2f})",
              f"{r['crowdkit_noisy_seconds']:.0f} s" if "crowdkit_noisy_seconds" in r else "-")
             for r in report["pairwise"])))
    calibration_tables.print_tables(report)
    if report.get("bradley_terry"):
        print("\nBradley-Terry, Kendall tau against the true scores (mean of several seeds), mean of the fastest"
              " of 3 fits:\n")
        print("| items | comparisons | ours tau | ours time | crowd-kit tau | crowd-kit time |\n|---|---|---|---|---|---|")
        for r in report["bradley_terry"]:
            ck_tau = f"{r['crowdkit_tau']:.4f}" if "crowdkit_tau" in r else "-"
            ck_s = f"{r['crowdkit_seconds'] * 1000:.0f} ms" if "crowdkit_seconds" in r else "-"
            print(f"| {r['items']:,} | {r['comparisons']:,} | {r['ours_tau']:.4f} | {r['ours_seconds'] * 1000:.0f} ms "
                  f"({r['ours_method']}) | {ck_tau} | {ck_s} |")


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the chosen benchmarks, print a table or JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=os.path.join(ROOT, "..", "shared", "datasets"),
                        help="folder of dataset folders (default ../shared/datasets beside the checkout)")
    parser.add_argument("--synthetic", action="store_true", help="also run synthetic crowds, 1M timing and Bradley-Terry")
    parser.add_argument("--crowdkit", action="store_true", help="add crowd-kit's columns (needs crowd-kit installed)")
    parser.add_argument("--crowdkit-large", action="store_true", help="run crowd-kit on the 1M-answer crowd too (slow)")
    parser.add_argument("--heldout", type=int, metavar="SEEDS", help="held-out shapes against crowd-kit, this many seeds")
    parser.add_argument("--pairwise", type=int, metavar="SEEDS", help="sparse pairwise crowds, this many seeds")
    parser.add_argument("--pairwise-crowdkit", type=int, default=3, metavar="SEEDS",
                        help="crowds crowd-kit's NoisyBradleyTerry runs on (minutes each; default 3)")
    parser.add_argument("--calibration", type=int, metavar="SEEDS", help="calibration tables, this many gold splits")
    parser.add_argument("--adaptive", type=int, metavar="SEEDS", help="adaptive redundancy, this many seeds per crowd")
    parser.add_argument("--adaptive-gated", type=int, metavar="SEEDS",
                        help="adaptive redundancy with the platform's gold gate (qualification and blocking)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    ck = crowdkit_or_none() if args.crowdkit else None
    if args.crowdkit and ck is None:
        print("crowd-kit is not importable with this interpreter; its columns are left out", file=sys.stderr)
    report: dict[str, Any] = {"classification": [], "per_task": per_task()}
    if os.path.isdir(args.datasets):
        report["classification"] += datasets(args.datasets, ck)
    else:
        print(f"no datasets folder at {args.datasets}", file=sys.stderr)
    if args.synthetic:
        report["classification"] += synthetic(ck, args.crowdkit_large)
        report["cli_1m"] = cli_end_to_end()
        report["bradley_terry"] = bradley_terry(ck)
    if args.heldout:
        report["heldout"] = heldout_shapes(ck, args.heldout)
    if args.pairwise:
        report["pairwise"] = pairwise_sparse(ck, args.pairwise, args.pairwise_crowdkit)
    if args.calibration:
        data = real_datasets(args.datasets)
        report["calibration"] = calibration_tables.project(data, args.calibration)
        report["calibration_per_task"] = calibration_tables.per_task(data, args.calibration)
        report["calibration_synthetic"] = calibration_tables.synthetic_project(args.calibration)
    if args.adaptive:
        report["adaptive"] = redundancy.table(args.adaptive)
    if args.adaptive_gated:
        report["adaptive_gated"] = redundancy.gated_table(args.adaptive_gated)
    return tables.emit(report, args.json, print_tables)


if __name__ == "__main__":
    sys.exit(main())
