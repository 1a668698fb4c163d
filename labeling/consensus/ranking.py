"""Preference rankings: pairwise outcomes, regularised Bradley-Terry, consensus rankings and Likert summaries."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from labeling.consensus import agreement
from labeling.errors import InvalidInput

CG_TOL_EM = 1e-2  # an EM step only needs a rough Newton direction: the next E-step moves the target anyway
EM_RELAX = 1.5  # over-relaxed EM steps: plain EM creeps along the same direction step after step
EM_START_STEPS = 2  # rough Newton steps of plain Bradley-Terry that EM starts from
NEWTON_MAX_ITEMS = 300  # above this a dense Hessian costs more than conjugate gradients on the sparse one


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
    "newton" (dense Hessian), "newton-cg" (the sparse Hessian solved by conjugate gradients) and "mm"
    maximise the same objective; "auto" picks dense Newton for small item sets, newton-cg above.
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    outcome = np.asarray(outcome, dtype=np.float64)
    _check_comparisons(left, right, outcome, n_items, reg)
    weight = np.ones(left.size) if weights is None else np.asarray(weights, dtype=np.float64)
    a, b, wins_a, total = _compress(left, right, outcome, weight, max(n_items, 1))
    if method == "auto":
        method = "newton" if n_items <= NEWTON_MAX_ITEMS else "newton-cg"
    if method == "newton":
        theta, n_iter, ok = _newton(a, b, wins_a, total, n_items, reg, max_iter, tol)
    elif method == "newton-cg":
        theta, n_iter, ok = _newton_cg(a, b, wins_a, total, np.zeros(n_items), reg, max_iter, tol)
    elif method == "mm":
        theta, n_iter, ok = _mm(a, b, wins_a, total, n_items, reg, max_iter * 10, tol)
    else:
        raise InvalidInput(f"unknown method {method!r}; use newton, newton-cg, mm or auto", field="method")
    return BradleyTerryResult(theta - theta.mean() if theta.size else theta, n_iter, ok, method)


@dataclass
class NoisyBradleyTerryResult(BradleyTerryResult):
    """Bradley-Terry scores plus, per worker, how often it judges by the scores and how often it picks left."""

    reliability: np.ndarray | None = None  # (n_workers,) share of the worker's judgements that follow the scores
    left_rate: np.ndarray | None = None  # (n_workers,) P(left) when the worker is not following the scores


def noisy_bradley_terry(
    left: np.ndarray,
    right: np.ndarray,
    outcome: np.ndarray,
    n_items: int,
    worker: np.ndarray,
    n_workers: int,
    *,
    reg: float = 1.0,
    prior_reliable: tuple[float, float] = (4.0, 1.0),
    max_iter: int = 10,
    tol: float = 1e-3,
) -> NoisyBradleyTerryResult:
    """Bradley-Terry with careless workers: each judgement follows the scores with the worker's reliability,
    otherwise it is a coin tossed with the worker's own bias towards the left item (a tie is half a win).

    EM from EM_START_STEPS rough Newton steps of plain Bradley-Terry: the E-step weighs every judgement by the chance it
    followed the scores; the M-step takes one rough Newton step on the weighted Bradley-Terry (over-relaxed
    by EM_RELAX) and updates each worker's reliability (Beta prior `prior_reliable`: most workers are
    careful) and left bias in closed form. It stops after `max_iter` steps or when no score and no
    reliability moves by `tol`: the ranking is settled long before the last digits are (benchmarks/README.md).
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    outcome = np.asarray(outcome, dtype=np.float64)
    worker = np.asarray(worker, dtype=np.int64)
    _check_comparisons(left, right, outcome, n_items, reg)
    if worker.shape != left.shape or (worker.size and (worker.min() < 0 or worker.max() >= n_workers)):
        raise InvalidInput(f"worker codes must lie in 0..{n_workers - 1}, one per comparison", field="worker")
    keep = left != right
    left, right, outcome, worker = left[keep], right[keep], outcome[keep], worker[keep]
    n = max(n_items, 1)
    low, high = np.minimum(left, right), np.maximum(left, right)
    uniq, pair = np.unique(low * n + high, return_inverse=True)
    a, b = uniq // n, uniq % n
    won = np.where(left == low, outcome, 1.0 - outcome)  # the low item's share of each judgement
    # Likelihood of a share o given P(win) = p is p^o (1 - p)^(1 - o): p, 1 - p, or sqrt(p (1 - p)) for a tie.
    low_won, low_lost, left_won, left_lost = won == 1.0, won == 0.0, outcome == 1.0, outcome == 0.0
    per_worker = np.bincount(worker, minlength=n_workers).astype(np.float64)
    alpha, beta = prior_reliable
    theta, _, _ = _newton_cg(a, b, np.bincount(pair, weights=won, minlength=uniq.size),
                             np.bincount(pair, minlength=uniq.size).astype(np.float64), np.zeros(n_items), reg,
                             EM_START_STEPS, 0.0, cg_tol=CG_TOL_EM)
    reliable = np.full(n_workers, alpha / (alpha + beta))
    left_rate = np.full(n_workers, 0.5)
    it, converged = 0, False
    for it in range(1, max_iter + 1):
        p = (1.0 / (1.0 + np.exp(theta[b] - theta[a])))[pair]
        follow = reliable[worker] * _share_likelihood(p, low_won, low_lost)
        random = (1.0 - reliable[worker]) * _share_likelihood(left_rate[worker], left_won, left_lost)
        resp = follow / np.maximum(follow + random, 1e-300)
        new_reliable = (np.bincount(worker, weights=resp, minlength=n_workers) + alpha - 1.0) / (
            per_worker + alpha + beta - 2.0)
        careless = 1.0 - resp
        left_rate = (np.bincount(worker, weights=careless * outcome, minlength=n_workers) + 1.0) / (
            np.bincount(worker, weights=careless, minlength=n_workers) + 2.0)
        wins = np.bincount(pair, weights=resp * won, minlength=uniq.size)
        total = np.bincount(pair, weights=resp, minlength=uniq.size)
        step, _, _ = _newton_cg(a, b, wins, total, theta, reg, 1, 0.0, cg_tol=CG_TOL_EM)
        new_theta = theta + EM_RELAX * (step - theta)
        change = max(np.abs(new_theta - theta).max(initial=0.0), np.abs(new_reliable - reliable).max(initial=0.0))
        theta, reliable = new_theta, new_reliable
        if change < tol:
            converged = True
            break
    return NoisyBradleyTerryResult(theta - theta.mean() if theta.size else theta, it, converged, "noisy-bt",
                                   reliability=reliable, left_rate=left_rate)


def _share_likelihood(p: np.ndarray, won: np.ndarray, lost: np.ndarray) -> np.ndarray:
    """p^o (1 - p)^(1 - o) for shares o that are 1 (won), 0 (lost) or 0.5 (tied), without powers."""
    return np.where(won, p, np.where(lost, 1.0 - p, np.sqrt(p * (1.0 - p))))


def _check_comparisons(left: np.ndarray, right: np.ndarray, outcome: np.ndarray, n_items: int, reg: float) -> None:
    """Raise InvalidInput for mismatched lengths, item codes out of range, outcomes outside [0, 1], reg <= 0."""
    if not (left.shape == right.shape == outcome.shape):
        raise InvalidInput("left, right and outcome differ in length", field="outcome")
    if left.size and (min(left.min(), right.min()) < 0 or max(left.max(), right.max()) >= n_items):
        raise InvalidInput(f"item codes must lie in 0..{n_items - 1}", field="items")
    if outcome.size and (outcome.min() < 0 or outcome.max() > 1):
        raise InvalidInput("outcome must lie between 0 and 1", field="outcome")
    check_reg(reg)


def check_reg(reg: float) -> None:
    """InvalidInput unless the regularisation is a finite number above 0 (NaN too: every score would be NaN)."""
    if not 0 < reg < float("inf"):
        raise InvalidInput(f"reg must be a finite number above 0, got {reg}", field="reg")


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


def _gradient(a: np.ndarray, b: np.ndarray, wins_a: np.ndarray, total: np.ndarray, theta: np.ndarray,
              reg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient of the regularised log-likelihood, each pair's curvature and the prior's curvature per item."""
    n = theta.size
    p = 1.0 / (1.0 + np.exp(theta[b] - theta[a]))  # P(a beats b)
    resid = wins_a - total * p
    grad = np.bincount(a, weights=resid, minlength=n) - np.bincount(b, weights=resid, minlength=n)
    s = 1.0 / (1.0 + np.exp(-theta))
    grad += reg * (0.5 - s)
    return grad, total * p * (1.0 - p), reg * s * (1.0 - s)


def _newton_cg(a: np.ndarray, b: np.ndarray, wins_a: np.ndarray, total: np.ndarray, theta: np.ndarray, reg: float,
               max_iter: int, tol: float, cg_tol: float = 1e-8) -> tuple[np.ndarray, int, bool]:
    """Newton ascent whose step solves the sparse system (graph Laplacian + prior) by preconditioned CG.

    The Hessian is never formed: multiplying by it is one pass over the compared pairs, so a step costs
    a few dozen passes however many items there are.
    """
    theta = theta.astype(np.float64, copy=True)
    n = theta.size
    for it in range(1, max_iter + 1):
        grad, curv, prior = _gradient(a, b, wins_a, total, theta, reg)
        diag = np.bincount(a, weights=curv, minlength=n) + np.bincount(b, weights=curv, minlength=n) + prior

        def apply(x: np.ndarray) -> np.ndarray:
            flow = curv * (x[a] - x[b])
            return np.bincount(a, weights=flow, minlength=n) - np.bincount(b, weights=flow, minlength=n) + prior * x

        step = _conjugate_gradient(apply, grad, diag, cg_tol)
        step *= min(1.0, 4.0 / max(np.abs(step).max(initial=0.0), 1e-12))  # keep early steps sane
        theta += step
        if np.abs(step).max(initial=0.0) < tol:
            return theta, it, True
    return theta, max_iter, False


def _conjugate_gradient(apply: object, rhs: np.ndarray, diag: np.ndarray, tol: float, max_iter: int = 500
                        ) -> np.ndarray:
    """Solve apply(x) = rhs for a symmetric positive definite operator, Jacobi-preconditioned."""
    x = np.zeros_like(rhs)
    r = rhs.copy()
    z = r / diag
    d = z.copy()
    rz = float(r @ z)
    stop = tol * max(float(rhs @ rhs), 1e-300)
    for _ in range(max_iter):
        if float(r @ r) <= stop:
            break
        q = apply(d)  # type: ignore[operator]
        alpha = rz / max(float(d @ q), 1e-300)
        x += alpha * d
        r -= alpha * q
        z = r / diag
        rz, previous = float(r @ z), rz
        d = z + (rz / max(previous, 1e-300)) * d
    return x


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
