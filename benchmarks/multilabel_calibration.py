"""Multi-label task confidences: are they the probability that the task's label set is right?

Simulated crowds (each worker right about each label with their own accuracy, 0.80-0.97; 3 answers a task) with 8
labels (prevalence 0.2) and 50 labels (prevalence 0.03). For the project consensus (`multilabel.aggregate_multilabel`,
`auto`, calibrated per label) and for the per-task settle (`tasks.aggregate_task` with the workers' true skills), it
prints the exact-set accuracy, the mean confidence and the expected calibration error (10 equal-width bins) of
the task confidence, and of the mean over every label's confidence (the rule before session 11) for comparison.

    python benchmarks/multilabel_calibration.py [--tasks 3000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from labeling.consensus import multilabel, tasks


def ece(conf: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    return float(sum((idx == b).mean() * abs(conf[idx == b].mean() - right[idx == b].mean())
                     for b in range(bins) if (idx == b).any()))


def crowd(n_tasks: int, n_labels: int, prevalence: float, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    n_workers, per_task = 30, 3
    accuracy = rng.uniform(0.8, 0.97, n_workers)
    truth = rng.random((n_tasks, n_labels)) < prevalence
    t = np.repeat(np.arange(n_tasks), per_task)
    w = np.concatenate([rng.choice(n_workers, per_task, replace=False) for _ in range(n_tasks)])
    chosen = truth[t] ^ (rng.random((t.size, n_labels)) > accuracy[w][:, None])
    return t, w, chosen, truth, accuracy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows = []
    for n_labels, prevalence in ((8, 0.2), (50, 0.03)):
        t, w, chosen, truth, accuracy = crowd(args.tasks, n_labels, prevalence, args.seed)
        res = multilabel.aggregate_multilabel(t, w, chosen, args.tasks, len(accuracy))
        right = (res.chosen == truth).all(axis=1)
        mean_rule = np.maximum(res.probabilities, 1 - res.probabilities).mean(axis=1)
        rows.append({"path": "project", "labels": n_labels, "accuracy": round(float(right.mean()), 3),
                     "mean_confidence": round(float(res.confidence.mean()), 3), "ece": round(ece(res.confidence, right), 3),
                     "mean_rule_confidence": round(float(mean_rule.mean()), 3),
                     "mean_rule_ece": round(ece(mean_rule, right), 3)})
        names = [f"l{i}" for i in range(n_labels)]
        skills = {i: float(a) for i, a in enumerate(accuracy)}
        conf, ok, means = [], [], []
        order = np.argsort(t, kind="stable")
        starts = np.r_[0, np.flatnonzero(np.diff(t[order])) + 1, t.size]
        for i in range(args.tasks):
            rows_i = order[starts[i]:starts[i + 1]]
            answers = [{"labels": [names[j] for j in np.flatnonzero(chosen[r])]} for r in rows_i]
            r = tasks.aggregate_task("text_multilabel", answers, [int(w[x]) for x in rows_i], names, skills)
            conf.append(r.confidence)
            ok.append(set(r.answer["labels"]) == {names[j] for j in np.flatnonzero(truth[i])})
            p = r.details["probabilities"]
            other = r.details.get("other_labels_max", 0.0)
            means.append(np.mean([max(p.get(n, other), 1 - p.get(n, other)) for n in names]))
        conf_a, ok_a, means_a = np.array(conf), np.array(ok), np.array(means)
        rows.append({"path": "per task", "labels": n_labels, "accuracy": round(float(ok_a.mean()), 3),
                     "mean_confidence": round(float(conf_a.mean()), 3), "ece": round(ece(conf_a, ok_a), 3),
                     "mean_rule_confidence": round(float(means_a.mean()), 3),
                     "mean_rule_ece": round(ece(means_a, ok_a), 3)})
        print(json.dumps(rows[-2]), json.dumps(rows[-1]), sep="\n", flush=True)
    print("| path | labels | exact-set accuracy | confidence (mean) | ECE | mean over labels (old rule) | its ECE |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['path']} | {r['labels']} | {r['accuracy']} | {r['mean_confidence']} | {r['ece']} | "
              f"{r['mean_rule_confidence']} | {r['mean_rule_ece']} |")


if __name__ == "__main__":
    main()
