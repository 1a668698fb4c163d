"""Adaptive redundancy simulated the way the platform runs it (imported by benchmarks/aggregation.py).

Workers arrive one at a time (in proportion to their activity) and claim the first open task they have
not answered, as the queue serves tasks; an answer to a gold task adds to the worker's gold score. When
a task has the answers it needs, it is settled as runner.settle_task does: tasks.aggregate_task with the
workers' current skills (the last project-wide estimate, else the gold accuracy once a worker has three
gold answers), complete if the confidence reaches the target or the task has redundancy_max answers,
else one more answer is wanted. Every `recompute_every` answers the requester runs the project consensus
(tasks.aggregate_project, which also sets the skills), and once more at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeling.consensus import calibration, simulate, tasks


@dataclass
class Outcome:
    """What one policy collected and how right its labels were (gold tasks excluded)."""

    answers: int
    accuracy_final: float  # after the project consensus at the end
    accuracy_online: float  # the labels the per-task path gave as each task completed
    mean_answers: float
    online_ece: float  # calibration of the per-task confidences at completion
    online_confidence: float  # their mean


def _skill(worker: int, project_skill: dict[int, float], gold_n: np.ndarray, gold_right: np.ndarray
           ) -> float | None:
    """runner._skill: the last project-wide estimate, else the gold accuracy after three gold answers."""
    if worker in project_skill:
        return project_skill[worker]
    if gold_n[worker] >= 3:
        return float(gold_right[worker] / gold_n[worker])
    return None


def simulate_queue(crowd: simulate.Crowd, *, gold_share: float, redundancy_min: int, redundancy_max: int,
                   target: float | None, recompute_every: int, seed: int) -> Outcome:
    """Run the queue over `crowd` (its confusions answer) until every task is complete."""
    rng = np.random.default_rng(seed)
    n, k = crowd.n_tasks, crowd.n_classes
    labels = [str(i) for i in range(k)]
    is_gold = rng.random(n) < gold_share
    share = simulate.activity(crowd.n_workers, rng, 1.0)
    cum = np.cumsum(crowd.confusion, axis=2)
    needed = np.full(n, redundancy_min)
    done_by: list[list[int]] = [[] for _ in range(n)]
    given: list[list[int]] = [[] for _ in range(n)]
    complete = np.zeros(n, dtype=bool)
    online = np.full(n, -1)
    online_conf = np.zeros(n)
    gold_n, gold_right = np.zeros(crowd.n_workers), np.zeros(crowd.n_workers)
    project_skill: dict[int, float] = {}
    rows: list[tuple[int, int, dict]] = []
    open_tasks = list(range(n))
    while open_tasks:
        worker = int(rng.choice(crowd.n_workers, p=share))
        task = next((t for t in open_tasks if len(done_by[t]) < needed[t] and worker not in done_by[t]), None)
        if task is None:
            continue
        label = int((rng.random() > cum[worker, crowd.truth[task], :-1]).sum())
        done_by[task].append(worker)
        given[task].append(label)
        rows.append((task, worker, {"label": labels[label]}))
        if is_gold[task]:
            gold_n[worker] += 1
            gold_right[worker] += label == crowd.truth[task]
        if len(rows) % recompute_every == 0:
            gold = {t: {"label": labels[crowd.truth[t]]} for t in np.flatnonzero(is_gold)}
            project_skill = tasks.aggregate_project("text_classification", rows, labels, gold,
                                                    method="dawid-skene").worker_skill
        if len(done_by[task]) < needed[task]:
            continue
        skills = {w: s for w in done_by[task] if (s := _skill(w, project_skill, gold_n, gold_right)) is not None}
        result = tasks.aggregate_task("text_classification", [{"label": labels[x]} for x in given[task]],
                                      done_by[task], labels, skills)
        if target is not None and needed[task] < redundancy_max and result.confidence < target:
            needed[task] += 1
            continue
        complete[task] = True
        online[task] = labels.index(result.answer["label"])
        online_conf[task] = result.confidence
        open_tasks.remove(task)
    gold = {t: {"label": labels[crowd.truth[t]]} for t in np.flatnonzero(is_gold)}
    final = tasks.aggregate_project("text_classification", rows, labels, gold, method="auto")
    regular = np.flatnonzero(~is_gold)
    final_labels = np.array([labels.index(final.results[t].answer["label"]) for t in regular])
    counts = np.array([len(done_by[t]) for t in regular])
    right = online[regular] == crowd.truth[regular]
    return Outcome(int(counts.sum()), float((final_labels == crowd.truth[regular]).mean()), float(right.mean()),
                   float(counts.mean()), calibration.ece(online_conf[regular], right),
                   float(online_conf[regular].mean()))


CROWDS = {  # kinds of workers (simulate.crowd), four balanced classes, 2,000 tasks, 80 workers
    "mostly reliable": {"reliable": 0.8, "idiosyncratic": 0.1, "spammer": 0.1},
    "mixed": {"reliable": 0.6, "idiosyncratic": 0.2, "spammer": 0.2},
}
POLICIES = {"fixed 5": (5, 5, None), "adaptive 2-7": (2, 7, 0.95), "adaptive 2-9": (2, 9, 0.95),
            "adaptive 3-9": (3, 9, 0.95)}


def table(seeds: int, recompute_every: int = 1000) -> list[dict]:
    """Every policy on every crowd for `seeds` seeds (the same crowd and arrivals for each policy of a seed)."""
    rows = []
    for name, mix in CROWDS.items():
        for seed in range(seeds):
            crowd = simulate.crowd(seed, n_tasks=2000, n_workers=80, per_task=1, prior=(0.25,) * 4, mix=mix)
            fixed = None
            for policy, (low, high, target) in POLICIES.items():
                out = simulate_queue(crowd, gold_share=0.05, redundancy_min=low, redundancy_max=high, target=target,
                                     recompute_every=recompute_every, seed=seed)
                fixed = fixed or out
                rows.append({"crowd": name, "seed": seed, "policy": policy, "answers": out.answers,
                             "share": out.answers / fixed.answers, "accuracy_final": out.accuracy_final,
                             "accuracy_online": out.accuracy_online, "online_ece": out.online_ece})
    return rows
