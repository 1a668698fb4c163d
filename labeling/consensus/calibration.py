"""Honest confidences and the choice of method for single-label aggregation (pure NumPy).

A fitted crowd model (majority vote, one-coin or full Dawid-Skene) is scored on held-out answers: each
answer is predicted from the other answers to its task, with the worker parameters re-estimated without
that task (so a sparse worker's answers cannot confirm themselves). That score picks the method when
there is no gold, and fits how strongly the answers to one task are correlated (`rho`, the design
effect: n answers carry the evidence of n / (1 + (n - 1) * rho) independent ones, not n). Tempering the
posterior by it is the crowd-only calibration. Gold tasks, when a project has enough, are held out
fold by fold and a small penalised logistic map from that confidence to "the label was right" is
fitted on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from labeling.consensus import classification, small
from labeling.errors import InvalidInput

# Errors the whole crowd shares (ambiguous items, a class everyone over-uses, look-alike classes) are
# invisible in the answers themselves: on the eight shared real datasets the gold disagrees with confident
# crowd consensus far more often than any crowd-only model predicts, and more so the more classes there are
# to confuse. Without gold, every task's answers are therefore taken to be this much more correlated than
# the held-out answers show: 0.3 for two classes, 0.05 more per further class, at most 0.5 (fitted on those
# datasets, so in-sample; benchmarks/README.md, Calibration).
def crowd_correlation(n_classes: int) -> float:
    """The correlation assumed on top of the held-out one when there is no gold."""
    return min(0.3 + 0.05 * max(n_classes - 2, 0), 0.5)


GOLD_MIN = 10  # answered gold tasks needed before gold calibrates (and, for `auto`, chooses)
FOLDS = 5
RHO_MAX = 1.5
HELDOUT_SAMPLE = 50_000  # about this many answers (all those of a sample of tasks) are scored to fit rho
# The gold map: logistic in the logit of the method's own posterior (untempered: its spread separates the
# tasks best), with a prior slope of GOLD_SLOPE (what little gold keeps: the method's posterior flattened
# about as much as the shared datasets' gold asks for) and these prior precisions for slope, intercept and
# per-label offsets (labels need more gold than the common slope).
GOLD_SLOPE = 0.3
TASK_RHO_PRIOR = 10  # pseudo-tasks of independent answers behind the per-task path's held-out rho (task_correlation)
TASK_RHO_SCALE = 0.5  # scale of the half-normal prior on the per-task path's gold-fitted rho
GOLD_PENALTY = (1.0, 1.0, 4.0)
_CLIP = 1e-6


@dataclass
class Answers:
    """Encoded answers with each answer's duplicate weight and each task's number of distinct workers."""

    t: np.ndarray
    w: np.ndarray
    lab: np.ndarray
    n_tasks: int
    n_workers: int
    n_classes: int
    weight: np.ndarray  # per answer: 1, or 1/c for a worker's c answers to one task
    distinct: np.ndarray  # per task

    @classmethod
    def make(cls, t: np.ndarray, w: np.ndarray, lab: np.ndarray, n_tasks: int, n_workers: int,
             n_classes: int, duplicates: str = "split") -> Answers:
        """Checked arrays plus the duplicate weights the methods use."""
        t, w, lab, _ = classification.check_answers(t, w, lab, n_tasks, n_workers, n_classes)
        dup, distinct = classification.answer_weights(t, w, n_tasks, n_workers, duplicates)
        return cls(t, w, lab, n_tasks, n_workers, n_classes, np.ones(t.size) if dup is None else dup, distinct)


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |confidence - accuracy| per equal-width bin, weighted by the bin's share."""
    conf = np.asarray(confidence, dtype=np.float64)
    if conf.size == 0:
        return 0.0
    hit = np.asarray(correct, dtype=np.float64)
    idx = np.minimum((conf * bins).astype(np.int64), bins - 1)
    gap = np.bincount(idx, weights=conf - hit, minlength=bins)
    return float(np.abs(gap).sum() / conf.size)


def _homogeneous_skill(a: Answers, iters: int = 30) -> float:
    """Accuracy shared by every worker (the model behind majority vote), fitted by EM with uniform priors."""
    k = a.n_classes
    if k < 2:
        return 1.0
    votes = classification.vote_counts(a.t, a.lab, a.n_tasks, k, a.weight)
    total = max(float(votes.sum()), 1e-12)
    p = 0.7
    for _ in range(iters):
        post = _softmax(votes * np.log(p * (k - 1) / (1.0 - p)))
        p, last = float(np.clip((post * votes).sum() / total, 1.0 / k + 1e-3, 1.0 - 1e-3)), p
        if abs(p - last) < 1e-6:
            break
    return p


def _fitted(a: Answers, gold: np.ndarray | None) -> np.ndarray:
    """Per answer: 1 if its task shaped the method's parameters (two or more workers, or gold), else 0."""
    answered = np.bincount(a.t, minlength=a.n_tasks) > 0
    return classification.fitted_tasks(a.distinct, answered, gold, 2)[a.t].astype(np.float64)


def answer_terms(res: classification.ClassificationResult, a: Answers, gold: np.ndarray | None = None,
                 leave_out: bool = True) -> np.ndarray:
    """(n_answers, K): log P(this answer | true class j) under the method's worker model.

    With `leave_out`, the worker's parameters are re-estimated without the answer's own task (its
    expected counts taken back out), which is what a held-out score needs.
    """
    k, rows = a.n_classes, np.arange(a.t.size)
    if res.method == "majority" or res.confusion is None:
        p = _homogeneous_skill(a)
        terms = np.full((a.t.size, k), np.log(max((1.0 - p) / max(k - 1, 1), 1e-300)))
        terms[rows, a.lab] = np.log(p)
        return terms
    if not leave_out or res.counts is None:
        return np.log(np.maximum(res.confusion.at(a.w, a.lab), 1e-300))
    weight = a.weight * _fitted(a, gold)  # what this answer added to its worker's counts
    own = res.posteriors[a.t] * weight[:, None]  # per true class
    if res.method == "one-coin":
        right, total = res.counts[a.w, 0], res.counts[a.w, 1]
        skill = np.clip((right - own[rows, a.lab]) / np.maximum(total - weight, 1e-12), 1e-6, 1.0 - 1e-6)
        terms = np.repeat(np.log((1.0 - skill) / max(k - 1, 1))[:, None], k, axis=1)
        terms[rows, a.lab] = np.log(skill)
        return terms
    cell = res.counts.at(a.w, a.lab)  # (n_answers, K): counts of the answered label in every true row
    row = res.counts.row_sums()[a.w]
    return np.log(np.maximum(cell - own, 1e-10) / np.maximum(row - own, 1e-10))


def _softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    x = x - x.max(axis=1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=1, keepdims=True)
    return x


def _per_task(values: np.ndarray, a: Answers) -> np.ndarray:
    """(n_tasks, K) sums of per-answer (n_answers, K) values, duplicates weighted."""
    out = np.empty((a.n_tasks, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(a.t, weights=values[:, j] * a.weight, minlength=a.n_tasks)
    return out


def _log_priors(res: classification.ClassificationResult, k: int) -> np.ndarray:
    """Log class priors of the method (uniform for majority vote, which has none)."""
    if res.priors is None or res.method == "majority":
        return np.full(k, -np.log(k))
    return np.log(np.maximum(res.priors, 1e-300))


def _heldout_curve(res: classification.ClassificationResult, a: Answers, gold: np.ndarray | None
                   ) -> Callable[[float], float]:
    """rho -> mean log-probability of each held-out answer given its task's other answers, tempered by rho."""
    if a.t.size > HELDOUT_SAMPLE:  # rho is one number: the answers of a sample of tasks pin it down as well
        rng = np.random.default_rng(0)
        share = HELDOUT_SAMPLE / a.t.size
        rows = np.flatnonzero((rng.random(a.n_tasks) < share)[a.t])
        a = Answers(a.t[rows], a.w[rows], a.lab[rows], a.n_tasks, a.n_workers, a.n_classes, a.weight[rows],
                    a.distinct)
    terms = answer_terms(res, a, gold)
    others = _per_task(terms, a)[a.t] - terms * a.weight[:, None]
    n_others = a.distinct[a.t] - 1
    keep = np.flatnonzero(n_others >= 1)
    # Class-major (K, answers) rows: reductions over classes become elementwise operations on long vectors.
    others_k, likely_k = np.ascontiguousarray(others[keep].T), np.exp(terms[keep].T)
    spread, weight = np.maximum(n_others[keep] - 1, 0).astype(np.float64), a.weight[keep]
    log_prior = _log_priors(res, a.n_classes)

    def score(rho: float) -> float:
        if keep.size == 0:
            return 0.0
        scaled = others_k / (1.0 + spread * rho) + log_prior[:, None]
        scaled -= scaled.max(axis=0)
        np.exp(scaled, out=scaled)
        predicted = (scaled * likely_k).sum(axis=0) / scaled.sum(axis=0)
        return float((np.log(np.maximum(predicted, 1e-300)) * weight).sum() / weight.sum())

    return score


def _best_rho(score: Callable[[float], float]) -> tuple[float, float]:
    """(rho, score) maximising a score that rises then falls in rho: a coarse grid, then golden-section search."""
    grid = np.linspace(0.0, RHO_MAX, 7)
    values = [score(float(r)) for r in grid]
    i = int(np.argmax(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    f1, f2 = score(x1), score(x2)
    for _ in range(8):
        if f1 >= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - ratio * (hi - lo)
            f1 = score(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + ratio * (hi - lo)
            f2 = score(x2)
    candidates = [(values[i], float(grid[i])), (f1, x1), (f2, x2)]
    best_score, best_rho = max(candidates)
    return round(float(best_rho), 3), float(best_score)


def heldout_score(res: classification.ClassificationResult, a: Answers, gold: np.ndarray | None = None) -> float:
    """Mean log-probability per held-out answer (higher is better), the model's own correlation allowed for."""
    return _best_rho(_heldout_curve(res, a, gold))[1]


def correlation(res: classification.ClassificationResult, a: Answers, gold: np.ndarray | None = None) -> float:
    """The rho (design effect) under which the held-out answers are best predicted."""
    return _best_rho(_heldout_curve(res, a, gold))[0]


def tempered(res: classification.ClassificationResult, a: Answers, rho: float) -> np.ndarray:
    """(n_tasks, K) posteriors with each task's evidence divided by 1 + (workers - 1) * rho."""
    evidence = _per_task(answer_terms(res, a, leave_out=False), a)
    temper = 1.0 + np.maximum(a.distinct - 1, 0) * rho
    post = _softmax(_log_priors(res, a.n_classes) + evidence / temper[:, None])
    post[a.distinct == 0] = res.posteriors[a.distinct == 0]
    return post


def _logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), clipped away from 0 and 1."""
    p = np.clip(p, _CLIP, 1.0 - _CLIP)
    return np.log(p / (1.0 - p))


def fit_logistic(x: np.ndarray, y: np.ndarray, prior: np.ndarray, penalty: np.ndarray, max_iter: int = 100
                 ) -> np.ndarray:
    """Coefficients of a logistic regression with a Gaussian prior (mean `prior`, precision `penalty`), by Newton."""
    beta = prior.astype(np.float64).copy()

    def loss(b: np.ndarray) -> float:
        z = x @ b
        return float((np.logaddexp(0.0, z) - y * z).sum() + 0.5 * (penalty * (b - prior) ** 2).sum())

    current = loss(beta)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -50.0, 50.0)))
        grad = x.T @ (y - p) - penalty * (beta - prior)
        hess = (x * (p * (1.0 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while True:  # halve the step until the loss goes down (plain Newton can overshoot on separable data)
            trial = beta + size * step
            value = loss(trial)
            if value <= current or size < 1e-6:
                break
            size /= 2.0
        gain = current - value
        beta, current = trial, min(value, current)
        if gain < 1e-10:
            break
    return beta


def _features(conf: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Gold-map features: logit of the method's confidence, an intercept, one offset per label."""
    x = np.zeros((conf.size, 2 + k))
    x[:, 0] = _logit(conf)
    x[:, 1] = 1.0
    x[np.arange(conf.size), 2 + labels] = 1.0
    return x


@dataclass
class HeldOutGold:
    """Each answered gold task with the label and posterior a fit that did not see its gold gave it."""

    tasks: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray  # the method's own (uncalibrated) posterior of that label
    correct: np.ndarray


Refit = Callable[[np.ndarray], classification.ClassificationResult]


def cross_fit(refit: Refit, a: Answers, gold: np.ndarray, folds: int = FOLDS, seed: int = 0) -> HeldOutGold:
    """Hide each fold of the answered gold tasks in turn and refit: what the fits said of the tasks they did not see."""
    tasks = np.flatnonzero((gold >= 0) & (a.distinct > 0))
    fold = np.random.default_rng(seed).permutation(tasks.size) % max(min(folds, tasks.size), 1)
    labels = np.empty(tasks.size, dtype=np.int64)
    conf = np.empty(tasks.size)
    for f in range(int(fold.max(initial=-1)) + 1):
        hidden = tasks[fold == f]
        partial = gold.copy()
        partial[hidden] = -1
        res = refit(partial)
        labels[fold == f] = res.labels[hidden]
        conf[fold == f] = res.confidence[hidden]
    return HeldOutGold(tasks, labels, conf, labels == gold[tasks])


def capped_by_choice(post: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The posterior rows with no other label above the chosen one: what an other label holds above it goes to
    the labels below it, in proportion to what they hold (all alike when they hold nothing). The chosen label's
    calibrated confidence can be below an other label's tempered share (tempering moves the balance between the
    prior and the answers; a gold map sets the level by label): S_Rel with 10% gold showed a task's label at 0.33
    and another at 0.42 in 30% of its tasks. Below 1/K, where no other label can stay under it, the others share
    alike. Two labels are never changed (the other holds 1 - confidence either way)."""
    n, k = post.shape
    if k < 3 or not n:
        return post
    rows = np.arange(n)
    cap = post[rows, labels].copy()
    other = post.copy()
    other[rows, labels] = 0.0
    chosen = np.zeros_like(post, dtype=bool)
    chosen[rows, labels] = True
    rest = other.sum(axis=1)
    short = cap * (k - 1) < rest  # no share under the cap adds up: all alike
    other[short] = np.where(chosen[short], 0.0, (rest[short] / (k - 1))[:, None])
    for _ in range(k - 1):
        over = (other > cap[:, None] + 1e-15) & ~short[:, None]
        if not over.any():
            break
        excess = np.where(over, other - cap[:, None], 0.0).sum(axis=1)
        other[over] = np.broadcast_to(cap[:, None], other.shape)[over]
        free = ~over & ~chosen & (other < cap[:, None])
        room = np.where(free, other, 0.0)
        held = room.sum(axis=1)
        even = free / np.maximum(free.sum(axis=1), 1)[:, None]
        weight = np.where(held[:, None] > 0, room / np.maximum(held, 1e-300)[:, None], even)
        other += weight * excess[:, None]
    other[rows, labels] = cap
    return other


def answered_gold(gold: np.ndarray | None, a: Answers) -> int:
    """How many gold tasks have at least one answer."""
    return 0 if gold is None else int(((gold >= 0) & (a.distinct > 0)).sum())


def calibrate(res: classification.ClassificationResult, a: Answers, gold: np.ndarray | None, refit: Refit,
              held: HeldOutGold | None = None, seed: int = 0) -> classification.ClassificationResult:
    """Replace res.confidence (and the posterior rows) with calibrated values; record how in res.calibration.

    Crowd-only: the posterior tempered by rho = held-out correlation + crowd_correlation(K). With at least
    GOLD_MIN answered gold tasks, instead a logistic map from the method's posterior, fitted on gold held
    out fold by fold (see GOLD_SLOPE).
    """
    k = a.n_classes
    fitted_rho = correlation(res, a, gold) if k > 1 else 0.0
    rho = fitted_rho + crowd_correlation(k)
    post = tempered(res, a, rho) if k > 1 else res.posteriors.copy()
    rows = np.arange(a.n_tasks)
    conf = post[rows, res.labels]
    info: dict = {"kind": "crowd", "rho": round(rho, 4), "rho_heldout": round(fitted_rho, 4)}
    n_gold = answered_gold(gold, a)
    if k > 1 and n_gold >= GOLD_MIN and gold is not None:
        held = held if held is not None else cross_fit(refit, a, gold, seed=seed)
        prior = np.zeros(2 + k)
        prior[0] = GOLD_SLOPE
        penalty = np.r_[GOLD_PENALTY[0], GOLD_PENALTY[1], np.full(k, GOLD_PENALTY[2])]
        beta = fit_logistic(_features(held.confidence, held.labels, k), held.correct.astype(np.float64),
                            prior, penalty)
        raw = res.posteriors[rows, res.labels]
        conf = 1.0 / (1.0 + np.exp(-np.clip(_features(raw, res.labels, k) @ beta, -50.0, 50.0)))
        info = {"kind": "gold", "rho": info["rho"], "rho_heldout": info["rho_heldout"], "n_gold": n_gold,
                "heldout_gold_accuracy": round(float(held.correct.mean()), 4),
                "coefficients": [round(float(b), 4) for b in beta]}
    # The other labels keep their tempered proportions and share what the chosen label does not take, none above it.
    rest = 1.0 - post[rows, res.labels]
    scale = np.where(rest > 1e-12, (1.0 - conf) / np.maximum(rest, 1e-12), 0.0)
    post *= scale[:, None]
    post[rows, res.labels] = conf
    post = capped_by_choice(post, res.labels)
    if gold is not None:
        known = np.flatnonzero(gold >= 0)
        post[known] = 0.0
        post[known, gold[known]] = 1.0
        conf[known] = 1.0
    res.posteriors, res.confidence, res.calibration = post, conf, info
    res.worker_skill = worker_skill(post, a)
    if k > 1:
        info["rho_task"], info["rho_task_from"] = task_correlation(res.worker_skill, a, gold if n_gold >= GOLD_MIN
                                                                   else None, fitted_rho)
    return res


def settle_correlation(info: dict | None, adaptive: bool) -> float:
    """The rho a project's settles temper by (info: a result's `calibration`): task_correlation's, except that an
    adaptive project takes only a gold-fitted one. There the held-out answers are biased: the extra answers go to
    the tasks whose first answers disagreed, so their tasks look more correlated than the crowd is, and tempering
    by that would ask every task for more answers."""
    if not info or "rho_task" not in info or (adaptive and info.get("rho_task_from") != "gold"):
        return 0.0
    return float(info["rho_task"])


def _one_coin_terms(skill: np.ndarray, a: Answers) -> np.ndarray:
    """(n_tasks, K) one-coin log-likelihoods of each task's answers with the workers' skills, clipped as the
    per-task path clips them (small.clip_skill): what small.posterior computes for one task."""
    p = np.clip(skill, 1.0 / max(a.n_classes, 2), small.MAX_SKILL)[a.w]
    return classification.one_coin_loglik(a.t, a.lab, p, a.n_tasks, a.n_classes, a.weight)


def task_correlation(skill: np.ndarray, a: Answers, gold: np.ndarray | None, heldout_rho: float
                     ) -> tuple[float, str]:
    """(rho, "gold" or "held-out answers"): what the per-task path (small.py: one-coin with these skills, no prior)
    tempers a task's evidence by, and what it was fitted on.

    With gold (GOLD_MIN answered gold tasks or more): the rho under which that path's posteriors give the gold
    labels the highest likelihood, so the errors the crowd shares count (they are what the gold sees and the
    answers do not). Without: the held-out correlation of the project's method (`heldout_rho`), with no floor
    for shared errors: the per-task confidence stops collecting answers, and on independent crowds the floor
    would ask for answers that add nothing. Either fit is pulled towards independence (rho 0), so a project's first
    few tasks cannot set a rho that makes every task wait for its maximum: the gold fit by a half-normal prior
    (scale TASK_RHO_SCALE) on rho, the held-out one as if TASK_RHO_PRIOR more tasks had shown independent answers.
    """
    known = np.flatnonzero((gold >= 0) & (a.distinct > 1)) if gold is not None else np.empty(0, dtype=np.int64)
    if known.size == 0:  # no gold task with two workers or more says anything about rho
        return _shrunk(heldout_rho, int((a.distinct > 1).sum())), "held-out answers"
    terms = _one_coin_terms(skill, a)[known]
    terms -= terms.max(axis=1, keepdims=True)
    spread = (a.distinct[known] - 1).astype(np.float64)
    right = gold[known]

    def score(rho: float) -> float:
        scaled = terms / (1.0 + spread * rho)[:, None]
        loglik = (scaled[np.arange(known.size), right] - np.log(np.exp(scaled).sum(axis=1))).sum()
        return float(loglik - 0.5 * (rho / TASK_RHO_SCALE) ** 2)

    return _best_rho(score)[0], "gold"


def _shrunk(rho: float, n_tasks: int) -> float:
    """A fitted rho pulled towards 0 by TASK_RHO_PRIOR pseudo-tasks (n_tasks: the tasks the fit saw)."""
    return round(float(rho) * n_tasks / (n_tasks + TASK_RHO_PRIOR), 3)


def worker_skill(post: np.ndarray, a: Answers, prior: float = 0.7, strength: float = 2.0) -> np.ndarray:
    """Each worker's expected accuracy under calibrated posteriors, pulled to `prior` by `strength` answers.

    This is what the per-task path (small.py) takes as a worker's skill: the chance that one answer of
    the worker is right, not how well it agrees with an over-confident consensus.
    """
    right = np.bincount(a.w, weights=post[a.t, a.lab] * a.weight, minlength=a.n_workers)
    total = np.bincount(a.w, weights=a.weight, minlength=a.n_workers)
    return (right + prior * strength) / (total + strength)


def choose(fits: dict[str, classification.ClassificationResult], a: Answers, gold: np.ndarray | None,
           refits: dict[str, Refit], seed: int = 0) -> tuple[str, dict, HeldOutGold | None]:
    """Pick a method: the most held-out gold right when there is enough gold, else the best held-out answer score.

    Returns the name, a JSON-ready account of the choice, and the picked method's held-out gold (reused
    by calibrate).
    """
    scores = {name: round(heldout_score(res, a, gold), 6) for name, res in fits.items()}
    info: dict = {"rule": "held-out answers", "heldout_loglik_per_answer": scores}
    held: dict[str, HeldOutGold] = {}
    if answered_gold(gold, a) >= GOLD_MIN and gold is not None:
        for name, refit in refits.items():
            held[name] = cross_fit(refit, a, gold, seed=seed)
        right = {name: int(h.correct.sum()) for name, h in held.items()}
        picked = max(fits, key=lambda name: (right[name], scores[name]))
        info = {"rule": "held-out gold", "heldout_gold_right": right, "heldout_gold_n": answered_gold(gold, a),
                "heldout_loglik_per_answer": scores}
    else:
        picked = max(fits, key=lambda name: scores[name])
    info["picked"] = picked
    return picked, info, held.get(picked)


def check_method(method: str) -> None:
    """InvalidInput unless `method` is one `consensus` runs."""
    if method != "auto" and method not in classification.METHODS:
        names = ", ".join(("auto",) + tuple(classification.METHODS))
        raise InvalidInput(f"method {method!r} is unknown; use one of {names}", field="method")


def consensus(method: str, task_idx: np.ndarray, worker_idx: np.ndarray, label_idx: np.ndarray, n_tasks: int,
              n_workers: int, n_classes: int, *, gold: np.ndarray | None = None, seed: int = 0,
              calibrated: bool = True, tie_keys: Sequence[object] | None = None) -> classification.ClassificationResult:
    """Run `method` ("auto" picks one, see choose) and calibrate its confidences (see calibrate).

    The project path and `labeling aggregate` use this; classification.aggregate stays the raw method.
    `tie_keys` (the task ids, one per task): a tied task's label is then decided by its id and the seed
    (classification.break_ties), as its settle decides it, not by its position among the tasks.
    """
    check_method(method)
    a = Answers.make(task_idx, worker_idx, label_idx, n_tasks, n_workers, n_classes)
    g = None if gold is None or not (np.asarray(gold) >= 0).any() else np.asarray(gold, dtype=np.int64)

    def refit_of(name: str) -> Refit:
        return lambda partial: classification.aggregate(name, a.t, a.w, a.lab, n_tasks, n_workers, n_classes,
                                                        gold=partial, seed=seed)

    names = tuple(classification.METHODS) if method == "auto" else (method,)
    fits = {name: refit_of(name)(g) for name in names}
    held, selection = None, None
    if method == "auto":
        method, selection, held = choose(fits, a, g, {name: refit_of(name) for name in names}, seed)
    res = fits[method]
    res.selection = selection
    if tie_keys is not None:
        res.labels = classification.break_ties(res.posteriors, seed, tie_keys)
        res.confidence = res.posteriors[np.arange(n_tasks), res.labels]
    if calibrated:
        calibrate(res, a, g, refit_of(method), held, seed)
    return res
