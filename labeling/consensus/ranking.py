"""Preference rankings: pairwise outcomes, regularised Bradley-Terry, consensus rankings and Likert summaries."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from labeling.consensus import agreement
from labeling.errors import InvalidInput

NEWTON_MAX_ITEMS = 300  # above this the dense Hessian costs more than MM's many cheap steps


@dataclass
class BradleyTerryResult:
    """Fitted Bradley-Terry log-strengths (mean zero) for every item."""

    scores: np.ndarray
    n_iter: int
    converged: bool
    method: str

    def probability(self, i: int, j: int) -> float:
        """Probability that item i beats item j."""
        return float(1.0 / (1.0 + np.exp(self.scores[j] - self.scores[i])))


@dataclass
class RankingConsensus:
    """The consensus of several rankings of the same items."""

    ranking: list[list[Hashable]]  # best first, ties share a group
    scores: dict[Hashable, float]
    pairs: list[dict[str, object]]  # {"chosen", "rejected", "probability"} in consensus order
    agreement: float | None  # mean (tau + 1) / 2 over pairs of workers; None with fewer than 2
    confidence: float


def ranking_to_pairs(ranking: Sequence[Sequence[Hashable]]) -> list[tuple[Hashable, Hashable, float]]:
    """Every pair (a, b, outcome for a) from a best-first ranking: 1.0 when a is ahead, 0.5 when tied."""
    out: list[tuple[Hashable, Hashable, float]] = []
    flat = [(pos, item) for pos, group in enumerate(ranking) for item in group]
    for i, (pos_a, a) in enumerate(flat):
        for pos_b, b in flat[i + 1:]:
            out.append((a, b, 1.0 if pos_a < pos_b else 0.5))
    return out


def _compress(
    left: np.ndarray, right: np.ndarray, outcome: np.ndarray, weight: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge repeated comparisons into unique unordered pairs: (low, high, wins of low, comparisons)."""
    low, high = np.minimum(left, right), np.maximum(left, right)
    wins_low = np.where(left == low, outcome, 1.0 - outcome) * weight
    keep = low != high
    key = low[keep] * n + high[keep]
    uniq, inverse = np.unique(key, return_inverse=True)
    wins = np.bincount(inverse, weights=wins_low[keep], minlength=uniq.size)
    total = np.bincount(inverse, weights=weight[keep], minlength=uniq.size)
    return uniq // n, uniq % n, wins, total


def bradley_terry(
    left: np.ndarray,
    right: np.ndarray,
    outcome: np.ndarray,
    n_items: int,
    *,
    weights: np.ndarray | None = None,
    reg: float = 1.0,
    method: str = "auto",
    max_iter: int = 1000,
    tol: float = 1e-6,
) -> BradleyTerryResult:
    """Fit log-strengths from comparisons (outcome = left's share of the win: 1, 0.5 or 0).

    Regularised by `reg` virtual comparisons of every item against a fixed item of strength 1
    (half won, half lost), so the fit exists even for an item that always wins or never played.
    "newton" and "mm" maximise the same objective; "auto" picks Newton for small item sets.
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    outcome = np.asarray(outcome, dtype=np.float64)
    if not (left.shape == right.shape == outcome.shape):
        raise InvalidInput("left, right and outcome differ in length", field="outcome")
    if left.size and (min(left.min(), right.min()) < 0 or max(left.max(), right.max()) >= n_items):
        raise InvalidInput(f"item codes must lie in 0..{n_items - 1}", field="items")
    if outcome.size and (outcome.min() < 0 or outcome.max() > 1):
        raise InvalidInput("outcome must lie between 0 and 1", field="outcome")
    if reg <= 0:
        raise InvalidInput("reg must be positive", field="reg")
    weight = np.ones(left.size) if weights is None else np.asarray(weights, dtype=np.float64)
    a, b, wins_a, total = _compress(left, right, outcome, weight, max(n_items, 1))
    if method == "auto":
        method = "newton" if n_items <= NEWTON_MAX_ITEMS else "mm"
    if method == "newton":
        theta, n_iter, ok = _newton(a, b, wins_a, total, n_items, reg, max_iter, tol)
    elif method == "mm":
        theta, n_iter, ok = _mm(a, b, wins_a, total, n_items, reg, max_iter * 10, tol)
    else:
        raise InvalidInput(f"unknown method {method!r}; use newton, mm or auto", field="method")
    return BradleyTerryResult(theta - theta.mean() if theta.size else theta, n_iter, ok, method)


def _newton(a: np.ndarray, b: np.ndarray, wins_a: np.ndarray, total: np.ndarray, n: int, reg: float,
            max_iter: int, tol: float) -> tuple[np.ndarray, int, bool]:
    """Damped Newton ascent on the regularised log-likelihood (dense Hessian)."""
    theta = np.zeros(n)
    for it in range(1, max_iter + 1):
        p = 1.0 / (1.0 + np.exp(theta[b] - theta[a]))  # P(a beats b)
        resid = wins_a - total * p
        grad = np.bincount(a, weights=resid, minlength=n) - np.bincount(b, weights=resid, minlength=n)
        s = 1.0 / (1.0 + np.exp(-theta))
        grad += reg * (0.5 - s)
        curv = total * p * (1.0 - p)
        hess = np.bincount(a * n + b, weights=curv, minlength=n * n).reshape(n, n)
        hess += hess.T
        hess[np.diag_indices(n)] = -hess.sum(axis=1) - reg * s * (1.0 - s)
        step = np.linalg.solve(hess, grad)
        step *= min(1.0, 4.0 / max(np.abs(step).max(initial=0.0), 1e-12))  # keep early steps sane
        theta -= step
        if np.abs(step).max(initial=0.0) < tol:
            return theta, it, True
    return theta, max_iter, False


def _mm(a: np.ndarray, b: np.ndarray, wins_a: np.ndarray, total: np.ndarray, n: int, reg: float,
        max_iter: int, tol: float) -> tuple[np.ndarray, int, bool]:
    """Hunter's minorise-maximise updates with the virtual-item prior."""
    wins = np.bincount(a, weights=wins_a, minlength=n) + np.bincount(b, weights=total - wins_a, minlength=n)
    wins += reg / 2.0
    p = np.ones(n)
    for it in range(1, max_iter + 1):
        inv = total / (p[a] + p[b])
        denom = np.bincount(a, weights=inv, minlength=n) + np.bincount(b, weights=inv, minlength=n)
        denom += reg / (p + 1.0)
        theta = np.log(wins / denom)
        # Comparisons fix only differences; the prior alone fixes the common level, which plain MM
        # creeps towards, so solve for that shift exactly (a 1-D Newton) after every update.
        for _ in range(3):
            s = 1.0 / (1.0 + np.exp(-theta))
            theta += (0.5 - s).sum() / max((s * (1.0 - s)).sum(), 1e-12)
        new = np.exp(theta)
        change = np.abs(theta - np.log(p)).max(initial=0.0)
        p = new
        if change < tol:
            return np.log(p), it, True
    return np.log(p), max_iter, False


def _rank_vector(ranking: Sequence[Sequence[Hashable]], items: Sequence[Hashable]) -> np.ndarray:
    """Position of each item (lower is better; unranked items share the last place)."""
    pos = {item: float(i) for i, group in enumerate(ranking) for item in group}
    return np.array([pos.get(item, float(len(ranking))) for item in items])


def consensus_ranking(
    rankings: Sequence[Sequence[Sequence[Hashable]]],
    weights: Sequence[float] | None = None,
    items: Sequence[Hashable] | None = None,
    reg: float = 2.0,
) -> RankingConsensus:
    """Fit Bradley-Terry to one task's rankings (weighted per worker) and read off the consensus."""
    if items is None:
        items = list(dict.fromkeys(item for r in rankings for group in r for item in group))
    index = {item: i for i, item in enumerate(items)}
    left: list[int] = []
    right: list[int] = []
    outcome: list[float] = []
    pair_w: list[float] = []
    for r, ranking in enumerate(rankings):
        w = 1.0 if weights is None else float(weights[r])
        for x, y, o in ranking_to_pairs(ranking):
            if x in index and y in index:
                left.append(index[x])
                right.append(index[y])
                outcome.append(o)
                pair_w.append(w)
    fit = bradley_terry(np.array(left, dtype=np.int64), np.array(right, dtype=np.int64), np.array(outcome),
                        len(items), weights=np.array(pair_w), reg=reg)
    order = np.argsort(-fit.scores, kind="stable")
    groups: list[list[Hashable]] = []
    last = None
    for i in order:
        if last is not None and abs(fit.scores[i] - last) < 1e-6:
            groups[-1].append(items[i])
        else:
            groups.append([items[i]])
        last = fit.scores[i]
    pairs = []
    probs = []
    for x_pos, i in enumerate(order):
        for j in order[x_pos + 1:]:
            p = fit.probability(int(i), int(j))
            pairs.append({"chosen": items[i], "rejected": items[j], "probability": round(p, 6)})
            probs.append(p)
    scores = {items[i]: round(float(fit.scores[i]), 6) for i in range(len(items))}
    return RankingConsensus(groups, scores, pairs, ranking_agreement(rankings, items),
                            float(np.mean(probs)) if probs else 1.0)


def ranking_similarity(a: Sequence[Sequence[Hashable]], b: Sequence[Sequence[Hashable]]) -> float | None:
    """(Kendall tau-b + 1) / 2 between two rankings over the union of their items; None if undefined."""
    items = list(dict.fromkeys([x for g in a for x in g] + [x for g in b for x in g]))
    if len(items) < 2:
        return None
    tau = agreement.kendall_tau(-_rank_vector(a, items), -_rank_vector(b, items))
    if np.isnan(tau):
        same = np.array_equal(_rank_vector(a, items), _rank_vector(b, items))
        return 1.0 if same else 0.5
    return (tau + 1.0) / 2.0


def ranking_agreement(rankings: Sequence[Sequence[Sequence[Hashable]]], items: Sequence[Hashable]) -> float | None:
    """Mean similarity over all pairs of rankings of one task (None with fewer than two)."""
    sims = [ranking_similarity(rankings[i], rankings[j])
            for i in range(len(rankings)) for j in range(i + 1, len(rankings))]
    vals = [s for s in sims if s is not None]
    return float(np.mean(vals)) if vals else None


def likert_summary(ratings: Sequence[float]) -> dict[str, float | int | None]:
    """Median, spread (interquartile range), mean, min, max and count of Likert ratings."""
    arr = np.asarray([float(r) for r in ratings], dtype=np.float64)
    if arr.size == 0:
        return {"median": None, "spread": None, "mean": None, "min": None, "max": None, "n": 0}
    q1, med, q3 = np.percentile(arr, [25, 50, 75])
    return {"median": float(med), "spread": float(q3 - q1), "mean": round(float(arr.mean()), 6),
            "min": float(arr.min()), "max": float(arr.max()), "n": int(arr.size)}
