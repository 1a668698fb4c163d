"""Adaptive redundancy simulated the way the platform runs it (imported by benchmarks/aggregation.py).

Workers arrive one at a time (in proportion to their activity) and claim the first open task they have
not answered, as the queue serves tasks; an answer to a gold task adds to the worker's gold score. When
a task has the answers it needs, it is settled as runner.settle_task does: tasks.aggregate_task with the
workers' current skills (the last project-wide estimate, else the gold accuracy once a worker has three
gold answers), complete if the confidence reaches the target or the task has redundancy_max answers,
else one more answer is wanted. Every `recompute_every` answers the requester runs the project consensus
(tasks.aggregate_project, which also sets the skills and the answers' correlation the per-task consensus tempers
by, as the project stores it), and once more at the end.
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
    correlation = 0.0
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
            interim = tasks.aggregate_project("text_classification", rows, labels, gold, method="dawid-skene",
                                              adaptive=target is not None)
            project_skill, correlation = interim.worker_skill, interim.task_correlation or 0.0
        if len(done_by[task]) < needed[task]:
            continue
        skills = {w: s for w in done_by[task] if (s := _skill(w, project_skill, gold_n, gold_right)) is not None}
        result = tasks.aggregate_task("text_classification", [{"label": labels[x]} for x in given[task]],
                                      done_by[task], labels, skills, correlation)
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


@dataclass
class Gate:
    """Gold as the platform serves it (README, gold tasks): a separate set of gold tasks; a worker's first
    `first_n` claims are gold, then each claim is gold with probability `fraction`; a worker whose gold
    accuracy is below `threshold` after `min_n` gold answers is blocked: no more tasks, their answers leave
    every task (annotations.block_worker), and a task left short of its answers waits for new ones."""

    n_gold: int = 100
    first_n: int = 3
    fraction: float = 0.05
    min_n: int = 3
    threshold: float = 0.5


@dataclass
class GatedOutcome(Outcome):
    """Outcome plus what the gate cost: gold answers, answers of blocked workers (paid, not counted), blocks."""

    gold_answers: int = 0
    excluded_answers: int = 0
    blocked: int = 0


def simulate_gated_queue(crowd: simulate.Crowd, gate: Gate, *, redundancy_min: int, redundancy_max: int,
                         target: float | None, recompute_every: int, seed: int, recheck: bool = True,
                         tempered: bool = True) -> GatedOutcome:
    """Run the queue over `crowd` with gold served and enforced as the platform does, until every task is
    complete. `answers` counts every answer to a regular task, those of blocked workers included.

    With `recheck` (the platform's rule, runner.doubted_tasks), each project consensus asks again the complete
    tasks it doubts; the requester runs it once more at the end until it reopens none. With `tempered` (the
    platform's rule), settles temper by the answers' correlation the last project consensus measured."""
    rng = np.random.default_rng(seed)
    n, k = crowd.n_tasks, crowd.n_classes
    labels = [str(i) for i in range(k)]
    gold_truth = rng.choice(k, gate.n_gold)
    share = simulate.activity(crowd.n_workers, rng, 1.0)
    cum = np.cumsum(crowd.confusion, axis=2)
    needed = np.full(n, redundancy_min)
    answers: list[dict[int, int]] = [{} for _ in range(n)]  # task -> {worker: label}, counted answers only
    served: list[set[int]] = [set() for _ in range(n)]  # every worker a task was served to (never twice)
    gold_seen: list[set[int]] = [set() for _ in range(crowd.n_workers)]
    claims = np.zeros(crowd.n_workers, dtype=np.int64)
    gold_n, gold_right = np.zeros(crowd.n_workers), np.zeros(crowd.n_workers)
    blocked = np.zeros(crowd.n_workers, dtype=bool)
    complete = np.zeros(n, dtype=bool)
    online, online_conf = np.full(n, -1), np.zeros(n)
    stored = np.full(n, -1)  # the stored consensus label: the last settle's or project consensus's
    project_skill: dict[int, float] = {}
    correlation = 0.0
    gold_answers = excluded = regular_answers = 0
    open_tasks = list(range(n))

    def skills_of(workers: list[int]) -> dict[int, float]:
        return {w: s for w in workers if (s := _skill(w, project_skill, gold_n, gold_right)) is not None}

    def settle(task: int) -> None:
        """annotations.settle_task: complete, or one more answer wanted (adaptive)."""
        workers, given = list(answers[task]), list(answers[task].values())
        result = tasks.aggregate_task("text_classification", [{"label": labels[x]} for x in given], workers,
                                      labels, skills_of(workers), correlation)
        stored[task] = labels.index(result.answer["label"])
        if target is not None and needed[task] < redundancy_max and result.confidence < target:
            needed[task] += 1
            return
        complete[task] = True
        online[task], online_conf[task] = labels.index(result.answer["label"]), result.confidence
        open_tasks.remove(task)

    gold_rows: list[tuple[int, int, dict]] = []  # gold tasks are numbered after the regular ones
    gold = {n + g: {"label": labels[gold_truth[g]]} for g in range(gate.n_gold)}

    def rows() -> list[tuple[int, int, dict]]:
        """Every counted answer (runner.load_rows): regular and gold, blocked workers' left out."""
        regular = [(t, w, {"label": labels[x]}) for t in range(n) for w, x in answers[t].items()]
        return regular + [row for row in gold_rows if not blocked[row[1]]]

    def recheck_doubted(consensus: tasks.ProjectConsensus) -> int:
        """runner.doubted_tasks and queue.recheck, then queue.store_results: the labels stored are the new ones.
        (The platform asks this only of adaptive projects; here `target` None is fixed redundancy.)"""
        again = 0
        for t in range(n):
            res = consensus.results.get(t)
            if res is None:
                continue
            label = labels.index(res.answer["label"])
            if (recheck and target is not None and complete[t] and len(answers[t]) < redundancy_max
                    and tasks.doubts(res, {"label": labels[stored[t]]}, target)):
                complete[t] = False
                needed[t] = len(answers[t]) + 1
                open_tasks.append(t)
                again += 1
            stored[t] = label
        open_tasks.sort()
        return again

    def serve_one() -> None:
        """One claim of one arriving worker: a gold task, or the first open task it has not been served."""
        nonlocal gold_answers, excluded, regular_answers, project_skill, correlation
        free = np.flatnonzero(~blocked)
        if free.size == 0:
            raise RuntimeError("every worker is blocked")
        p = share[free] / share[free].sum()
        worker = int(free[rng.choice(free.size, p=p)])
        wants_gold = claims[worker] < gate.first_n or rng.random() < gate.fraction
        claims[worker] += 1
        if wants_gold and len(gold_seen[worker]) < gate.n_gold:
            g = next(g for g in range(gate.n_gold) if g not in gold_seen[worker])
            gold_seen[worker].add(g)
            label = int((rng.random() > cum[worker, gold_truth[g], :-1]).sum())
            gold_answers += 1
            gold_rows.append((n + g, worker, {"label": labels[label]}))
            gold_n[worker] += 1
            gold_right[worker] += label == gold_truth[g]
            if gold_n[worker] >= gate.min_n and gold_right[worker] / gold_n[worker] < gate.threshold:
                blocked[worker] = True
                for t in range(n):
                    if worker in answers[t]:
                        del answers[t][worker]
                        excluded += 1
                        if complete[t]:
                            complete[t] = False
                            open_tasks.append(t)
                        if len(answers[t]) >= needed[t]:
                            settle(t)
                open_tasks.sort()
            return
        task = next((t for t in open_tasks if len(answers[t]) < needed[t] and worker not in served[t]), None)
        if task is None:
            return
        label = int((rng.random() > cum[worker, crowd.truth[task], :-1]).sum())
        served[task].add(worker)
        answers[task][worker] = label
        regular_answers += 1
        if regular_answers % recompute_every == 0:
            interim = tasks.aggregate_project("text_classification", rows(), labels, gold, method="dawid-skene",
                                              adaptive=target is not None)
            project_skill = interim.worker_skill
            correlation = (interim.task_correlation or 0.0) if tempered else 0.0
            recheck_doubted(interim)
        if len(answers[task]) >= needed[task]:
            settle(task)

    while True:
        while open_tasks:
            serve_one()
        final = tasks.aggregate_project("text_classification", rows(), labels, gold, method="auto")
        if not recheck_doubted(final):
            break
    final_labels = np.array([labels.index(final.results[t].answer["label"]) for t in range(n)])
    counts = np.array([len(answers[t]) for t in range(n)])
    right = online == crowd.truth
    return GatedOutcome(regular_answers, float((final_labels == crowd.truth).mean()), float(right.mean()),
                        float(counts.mean()), calibration.ece(online_conf, right), float(online_conf.mean()),
                        gold_answers, excluded, int(blocked.sum()))


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


# name: (min, max, target, recheck, tempered): the platform's adaptive redundancy asks doubted tasks again
# (runner) and tempers each settle by the answers' correlation (small.py); the last two policies show what each
# rule adds.
GATED_POLICIES = {"fixed 5": (5, 5, None, False, True), "adaptive 2-7": (2, 7, 0.95, True, True),
                  "adaptive 2-7, no recheck": (2, 7, 0.95, False, True),
                  "adaptive 2-7, untempered": (2, 7, 0.95, True, False)}


def gated_table(seeds: int, gate: Gate | None = None, recompute_every: int = 1000) -> list[dict]:
    """Each GATED_POLICIES entry with the platform's gold gate (the same crowd and arrivals for each)."""
    gate = gate or Gate()
    rows = []
    for name, mix in CROWDS.items():
        for seed in range(seeds):
            crowd = simulate.crowd(seed, n_tasks=2000, n_workers=80, per_task=1, prior=(0.25,) * 4, mix=mix)
            fixed = None
            for policy, (low, high, target, recheck, tempered) in GATED_POLICIES.items():
                out = simulate_gated_queue(crowd, gate, redundancy_min=low, redundancy_max=high, target=target,
                                           recompute_every=recompute_every, seed=seed, recheck=recheck,
                                           tempered=tempered)
                fixed = fixed or out
                rows.append({"crowd": name, "seed": seed, "policy": policy, "answers": out.answers,
                             "share": out.answers / fixed.answers, "accuracy_final": out.accuracy_final,
                             "accuracy_vs_fixed": out.accuracy_final - fixed.accuracy_final,
                             "accuracy_online": out.accuracy_online, "online_ece": out.online_ece,
                             "gold_answers": out.gold_answers, "excluded": out.excluded_answers,
                             "blocked": out.blocked})
    return rows


def gated_summary(rows: list[dict]) -> list[dict]:
    """Per crowd and adaptive policy: mean share of fixed 5's answers, mean accuracy against it, runs meeting both."""
    out = []
    for crowd in CROWDS:
        for policy in list(GATED_POLICIES)[1:]:
            mine = [r for r in rows if r["crowd"] == crowd and r["policy"] == policy]
            if mine:
                out.append({"crowd": crowd, "policy": policy, "runs": len(mine),
                            "share": float(np.mean([r["share"] for r in mine])),
                            "accuracy_vs_fixed": float(np.mean([r["accuracy_vs_fixed"] for r in mine])),
                            "accuracy_at_least": sum(r["accuracy_vs_fixed"] >= 0 for r in mine),
                            "share_at_most_60": sum(r["share"] <= 0.60 for r in mine),
                            "both": sum(r["accuracy_vs_fixed"] >= 0 and r["share"] <= 0.60 for r in mine)})
    return out
