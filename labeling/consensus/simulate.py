"""Synthetic crowds and arenas with a known truth, for the benchmarks and the tests (pure NumPy).

Nothing here runs in the server: it generates answers the way real crowds do (heavy-tailed worker
activity, ordinal and idiosyncratic confusions, spammers, items hard for everyone) so the engine can be
measured where the truth is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Crowd:
    """Encoded answers (task, worker, label per answer) plus the true label of every task."""

    task_idx: np.ndarray
    worker_idx: np.ndarray
    label_idx: np.ndarray
    truth: np.ndarray
    n_tasks: int
    n_workers: int
    n_classes: int
    confusion: np.ndarray  # (n_workers, true, answered): how each worker answers

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(n_tasks, n_workers, n_classes), the trailing arguments of every classification method."""
        return self.n_tasks, self.n_workers, self.n_classes


def activity(n_workers: int, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Heavy-tailed share of the work per worker (log-normal): a few do most, most do a few."""
    weight = rng.lognormal(0.0, sigma, n_workers)
    return weight / weight.sum()


def assign(n_tasks: int, per_task: int, share: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n_tasks, per_task) distinct workers per task, drawn in proportion to `share` (Gumbel top-k)."""
    keys = np.log(share)[None, :] - np.log(-np.log(rng.random((n_tasks, share.size))))
    return np.argpartition(-keys, per_task - 1, axis=1)[:, :per_task]


def answer(confusion: np.ndarray, truth: np.ndarray, t: np.ndarray, w: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    """One label per (task, worker) answer, drawn from the worker's confusion row for the task's truth."""
    cum = np.cumsum(confusion, axis=2)[w, truth[t]]
    return (rng.random(t.size)[:, None] > cum[:, :-1]).sum(axis=1)


def ordinal(k: int, spread: float, shift: float) -> np.ndarray:
    """A (k, k) confusion of a worker on an ordered scale: errors fall on nearby grades, `shift` grades off."""
    grades = np.arange(k)
    weight = np.exp(-np.abs(grades[None, :] - grades[:, None] - shift) / spread)
    return weight / weight.sum(axis=1, keepdims=True)


def _worker(kind: str, k: int, rng: np.random.Generator) -> np.ndarray:
    """One worker's (k, k) confusion of the given kind."""
    if kind == "careful":
        return ordinal(k, rng.uniform(0.3, 0.8), rng.normal(0.0, 0.2))
    if kind == "shifted":  # reads the scale a grade too high or too low, consistently
        return ordinal(k, rng.uniform(0.3, 0.7), rng.choice([-1.0, 1.0]) * rng.uniform(0.7, 1.2))
    if kind == "sloppy":
        return ordinal(k, rng.uniform(1.0, 2.5), rng.normal(0.0, 0.5))
    if kind == "idiosyncratic":  # a full confusion of its own, right more often than not
        boost = rng.gamma(2.0, 1.0) * k
        return np.stack([rng.dirichlet(1.0 + boost * np.eye(k)[j]) for j in range(k)])
    if kind == "spammer":  # uniform clicks, or one favourite label
        if rng.random() < 0.5:
            return np.full((k, k), 1.0 / k)
        return np.repeat((0.15 / k + 0.85 * np.eye(k)[rng.integers(k)])[None, :], k, axis=0)
    if kind == "reliable":
        acc = rng.uniform(0.7, 0.98)
        return acc * np.eye(k) + (1.0 - acc) * (1.0 - np.eye(k)) / max(k - 1, 1)
    raise ValueError(kind)


def crowd(
    seed: int,
    *,
    n_tasks: int,
    n_workers: int,
    per_task: int,
    prior: tuple[float, ...],
    mix: dict[str, float],
    sigma: float = 1.6,
    hard: float = 0.0,
    hard_pull: float = 0.35,
) -> Crowd:
    """A crowd: each task answered by `per_task` distinct workers of the given kinds, activity heavy-tailed.

    `hard` is the share of tasks that mislead everyone: on them each answer goes, with probability
    `hard_pull`, to one shared wrong label (the correlated errors that make real crowds overconfident).
    """
    rng = np.random.default_rng(seed)
    k = len(prior)
    truth = rng.choice(k, n_tasks, p=np.asarray(prior) / sum(prior))
    kinds = rng.choice(list(mix), n_workers, p=np.asarray(list(mix.values())) / sum(mix.values()))
    confusion = np.stack([_worker(str(kind), k, rng) for kind in kinds])
    picks = assign(n_tasks, per_task, activity(n_workers, rng, sigma), rng)
    t = np.repeat(np.arange(n_tasks), per_task)
    w = picks.ravel()
    lab = answer(confusion, truth, t, w, rng)
    if hard > 0:
        decoy = (truth + rng.integers(1, k, n_tasks)) % k
        misled = (rng.random(n_tasks) < hard)[t] & (rng.random(t.size) < hard_pull)
        lab = np.where(misled, decoy[t], lab)
    return Crowd(t, w, lab, truth, n_tasks, n_workers, k, confusion)


# The two held-out shapes of issue 14, with the kinds of workers a real crowd of that shape has.
RELEVANCE = {"n_tasks": 2700, "n_workers": 177, "per_task": 6, "prior": (0.35, 0.27, 0.18, 0.12, 0.08),
             "mix": {"careful": 0.3, "shifted": 0.15, "sloppy": 0.25, "idiosyncratic": 0.15, "spammer": 0.15}}
WORD_SENSE = {"n_tasks": 180, "n_workers": 34, "per_task": 10, "prior": (0.5, 0.3, 0.2),
              "mix": {"reliable": 0.6, "idiosyncratic": 0.25, "spammer": 0.15}, "sigma": 1.2}


def relevance_crowd(seed: int, **changes: object) -> Crowd:
    """A 5-grade relevance crowd: ~2,700 items, 177 workers, 6 answers per item, most workers with few."""
    return crowd(seed, **{**RELEVANCE, **changes})  # type: ignore[arg-type]


def word_sense_crowd(seed: int, **changes: object) -> Crowd:
    """A 3-sense word-sense crowd: 180 items, 34 workers, 10 answers per item."""
    return crowd(seed, **{**WORD_SENSE, **changes})  # type: ignore[arg-type]


@dataclass
class Comparisons:
    """Pairwise judgements (outcome = left's share of the win: 1, 0.5 for a tie, 0) with the true item scores."""

    left: np.ndarray
    right: np.ndarray
    outcome: np.ndarray
    worker: np.ndarray
    scores: np.ndarray
    n_workers: int


def comparisons(seed: int, n_items: int = 2000, n_comparisons: int = 20_000, n_workers: int = 100,
                mix: tuple[float, float, float] = (0.5, 0.3, 0.2), spread: float = 2.0, tie_margin: float = 0.0
                ) -> Comparisons:
    """A sparse crowd of pairwise judgements: careful, noisy and random-clicking workers, activity heavy-tailed.

    Careful workers follow Bradley-Terry on the true scores, noisy ones do so half of the time, random
    clickers never (and favour the left item by a worker-specific bias). True log-strengths are normal with
    standard deviation `spread`. With `tie_margin`, a careful or
    noisy judgement of two items whose scores differ by less than it is reported as a tie.
    """
    rng = np.random.default_rng(seed)
    scores = rng.normal(0.0, spread, n_items)
    kind = rng.choice(3, n_workers, p=np.asarray(mix) / sum(mix))
    follows = np.array([0.95, 0.5, 0.0])[kind] + np.where(kind == 0, rng.uniform(-0.1, 0.05, n_workers), 0.0)
    left_bias = np.where(kind == 2, rng.uniform(0.3, 0.9, n_workers), 0.5)
    worker = rng.choice(n_workers, n_comparisons, p=activity(n_workers, rng, 1.0))
    left = rng.integers(0, n_items, n_comparisons)
    right = (left + rng.integers(1, n_items, n_comparisons)) % n_items
    diff = scores[left] - scores[right]
    careful = rng.random(n_comparisons) < follows[worker]
    p_left = np.where(careful, 1.0 / (1.0 + np.exp(-diff)), left_bias[worker])
    outcome = (rng.random(n_comparisons) < p_left).astype(np.float64)
    outcome[careful & (np.abs(diff) < tie_margin)] = 0.5
    return Comparisons(left, right, outcome, worker, scores, n_workers)


@dataclass
class Arena:
    """Simulated battles between models with known strengths, and what a perfect fit of them would give."""

    battles: Any  # leaderboard.Battles
    strength: np.ndarray  # the generating log-strengths, centred
    estimand: np.ndarray  # the centred Bradley-Terry strengths of these battles' expected outcomes


def arena(seed: int, n_models: int, n_battles: int, *, per_prompt: int = 1, annotators: int = 200,
          careless: float = 0.3, careless_rate: float = 0.4, position: float = 0.3, tie_rate: float = 0.3,
          prompt_spread: float = 0.3) -> Arena:
    """Battles from an arena: models paired at random (some more popular), shown in random order.

    Annotators judge by Bradley-Terry on the strength difference plus their own first-shown advantage
    (mean `position`, logits), and call a close battle a tie with chance up to `tie_rate`; a share
    `careless` of them click at random `careless_rate` of the time (favouring the first shown). Each
    prompt carries `per_prompt` battles and shifts how clear the difference looks (`prompt_spread`).
    Careless clicks and ties flatten what the battles can show, so the estimand (the Bradley-Terry fit of
    the battles' expected outcomes) is what a leaderboard's intervals should cover; `strength` is the truth
    behind it (the same order).
    """
    from labeling.consensus import leaderboard  # the simulator speaks the leaderboard's arrays

    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 1.0, n_models)
    strength -= strength.mean()
    popular = activity(n_models, rng, 0.5)
    a = rng.choice(n_models, n_battles, p=popular)
    b = (a + 1 + (rng.choice(n_models - 1, n_battles))) % n_models
    prompt = np.arange(n_battles) // per_prompt
    clarity = np.exp(rng.normal(0.0, prompt_spread, prompt[-1] + 1 if n_battles else 0))[prompt]
    who = rng.integers(0, annotators, n_battles)
    bias = rng.normal(position, 0.2, annotators)[who]
    sloppy = np.where(rng.random(annotators) < careless, careless_rate, 0.0)[who]
    a_first = rng.random(n_battles) < 0.5
    side = np.where(a_first, 1.0, -1.0)
    u = clarity * (strength[a] - strength[b]) + bias * side
    tie = tie_rate * np.exp(-u * u)
    careful_score = (1.0 - tie) / (1.0 + np.exp(-u)) + 0.5 * tie  # expected share of a, careful judgement
    random_score = np.where(a_first, 0.55, 0.45)
    expected = (1.0 - sloppy) * careful_score + sloppy * random_score
    draw = rng.random(n_battles)
    careless_now = rng.random(n_battles) < sloppy
    p_win = np.where(careless_now, random_score, (1.0 - tie) / (1.0 + np.exp(-u)))
    p_tie = np.where(careless_now, 0.0, tie)
    score = np.where(draw < p_win, 1.0, np.where(draw < p_win + p_tie, 0.5, 0.0))
    low, high = np.minimum(a, b), np.maximum(a, b)
    swap = a > b
    score = np.where(swap, 1.0 - score, score)
    expected = np.where(swap, 1.0 - expected, expected)
    order = np.where(swap, -side, side).astype(np.int64)
    bt = leaderboard.Battles(prompt, low, high, score, order, [f"m{i:02d}" for i in range(n_models)],
                             list(range(int(prompt[-1]) + 1 if n_battles else 0)), n_battles, n_battles)
    col, ca, cb, cside = leaderboard._column_index(bt)
    wins = np.bincount(col, weights=expected, minlength=ca.size)
    count = np.bincount(col, minlength=ca.size).astype(np.float64)
    theta, _ = leaderboard.fit(leaderboard.Columns(ca, cb, cside, wins, count), n_models, True)
    return Arena(bt, strength, theta[0])
