"""Dawid-Skene's worker tables: an older commit's engine against this checkout's, alternated, on crowds of few and
of many labels. Prints, per crowd, the CPU seconds of each (median over rounds, and the median per-round ratio new/old),
the peak memory of one fit (tracemalloc: NumPy's arrays included) and whether the posteriors agree.

    python benchmarks/labels_ab.py --base 4890292              # the commit before the tables were held sparse
    python benchmarks/labels_ab.py --base 4890292 --rounds 6 --crowds mixed-1M labels-100

The older engine is read from git (`git show BASE:labeling/consensus/classification.py`) into a temporary module,
so both run in this process on the same arrays. A fit whose dense tables would not fit in --max-dense-gb is not run
on the older engine (it is reported as skipped, with the size it would need).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aggregation import make_crowd  # noqa: E402

from labeling.consensus import classification  # noqa: E402

# name: (tasks, answers per task, workers by kind, labels)
CROWDS = {
    "mixed-1M": (100_000, 10, {"reliable": 800, "biased": 400, "spammer": 400, "adversary": 400}, 4),
    "relevance-5": (2_700, 6, {"reliable": 120, "biased": 40, "spammer": 17}, 5),
    "labels-100": (20_000, 3, {"reliable": 1_500, "biased": 300, "spammer": 200}, 100),
    "labels-1000": (5_000, 3, {"reliable": 50, "spammer": 10}, 1_000),
}


def load_old(base: str) -> object:
    """The classification module as it was at commit `base`."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{base}:labeling/consensus/classification.py"],
                            check=True, capture_output=True, text=True).stdout
    folder = Path(tempfile.mkdtemp())
    (folder / "old_classification.py").write_text(source)
    spec = importlib.util.spec_from_file_location("old_classification", folder / "old_classification.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["old_classification"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def fit(module: object, args: tuple) -> tuple[float, object]:
    """CPU seconds of one fit (steadier than wall time on a shared machine; NumPy runs single-threaded here)."""
    started = time.process_time()
    res = module.dawid_skene(*args)  # type: ignore[attr-defined]
    return time.process_time() - started, res


def peak_mb(module: object, args: tuple) -> float:
    tracemalloc.start()
    try:
        module.dawid_skene(*args)  # type: ignore[attr-defined]
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the older commit")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--crowds", nargs="+", default=list(CROWDS), choices=list(CROWDS))
    ap.add_argument("--max-dense-gb", type=float, default=4.0)
    args = ap.parse_args()
    old = load_old(args.base)
    summary = []
    for name in args.crowds:
        n_tasks, per_task, mix, k = CROWDS[name]
        t, w, lab, truth, n_workers = make_crowd(n_tasks, per_task, mix, k, seed=0)
        fit_args = (t, w, lab, n_tasks, n_workers, k)
        dense_gb = n_workers * k * k * 8 / 1e9
        row: dict = {"crowd": name, "answers": int(t.size), "workers": n_workers, "labels": k,
                     "dense_table_gb": round(dense_gb, 3)}
        run_old = dense_gb * 6 <= args.max_dense_gb
        times: dict[str, list[float]] = {"old": [], "new": []}
        ratios = []
        results = {}
        for r in range(args.rounds):
            order = (("old", old), ("new", classification)) if r % 2 == 0 else (("new", classification), ("old", old))
            got = {}
            for label, module in order:
                if label == "old" and not run_old:
                    continue
                got[label], results[label] = fit(module, fit_args)
                times[label].append(got[label])
            if "old" in got:
                ratios.append(got["new"] / got["old"])
        row["new_s"] = round(statistics.median(times["new"]), 3)
        row["new_peak_mb"] = round(peak_mb(classification, fit_args), 1)
        row["new_accuracy"] = round(float((results["new"].labels == truth).mean()), 4)
        if run_old:
            row["old_s"] = round(statistics.median(times["old"]), 3)
            row["ratio_new_old"] = round(statistics.median(ratios), 3)
            row["ratios"] = [round(x, 3) for x in ratios]
            row["old_peak_mb"] = round(peak_mb(old, fit_args), 1)
            row["max_posterior_difference"] = float(np.abs(results["new"].posteriors - results["old"].posteriors).max())
        else:
            row["old"] = f"skipped: its tables need {dense_gb:.1f} GB a copy"
        print(json.dumps(row), flush=True)
        summary.append(row)
    print("| crowd | answers | workers | labels | old CPU s | new CPU s | new/old (median of rounds) | old peak MB | "
          "new peak MB | max posterior difference |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in summary:
        print(f"| {row['crowd']} | {row['answers']:,} | {row['workers']:,} | {row['labels']:,} | "
              f"{row.get('old_s', '-')} | {row['new_s']} | {row.get('ratio_new_old', '-')} | "
              f"{row.get('old_peak_mb', row.get('old', '-'))} | {row['new_peak_mb']} | "
              f"{row.get('max_posterior_difference', '-')} |")


if __name__ == "__main__":
    main()
