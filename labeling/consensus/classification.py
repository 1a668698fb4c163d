"""Single-label aggregation: majority vote, Dawid-Skene and one-coin Dawid-Skene, vectorised with NumPy.

Every function takes answers as three parallel int arrays (task, worker, label index) and returns
a ClassificationResult. Passing `gold` (label index per task, -1 where unknown) anchors the EM:
gold tasks' posteriors are clamped to their gold label, so worker skills are learned from them.
A worker who answered the same task more than once gets one vote there in all (duplicates="split":
each of its c answers weighs 1/c); duplicates="keep" counts every row as an independent answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labeling.errors import InvalidInput

_TINY = 1e-300
DUPLICATES = ("split", "keep")


@dataclass
class ClassificationResult:
    """Aggregated labels for every task, with posteriors and (for EM methods) worker parameters."""

    posteriors: np.ndarray  # (n_tasks, n_classes), rows sum to 1
    labels: np.ndarray  # (n_tasks,) argmax with seeded tie breaking
    confidence: np.ndarray  # (n_tasks,) posterior of the chosen label
    n_answers: np.ndarray  # (n_tasks,) answers counted per task
    method: str
    worker_skill: np.ndarray | None = None  # (n_workers,) estimated accuracy
    confusion: Confusions | None = None  # each worker's (true K, answered K) table, rows sum to 1
    priors: np.ndarray | None = None  # (n_classes,) class prevalence
    n_iter: int = 0
    converged: bool = True
    # The last M-step's expected counts with the prior's pseudo-counts (Dawid-Skene: a WorkerTables of counts;
    # one-coin: (n_workers, 2) right and total), so held-out scores can take one task's share back out.
    counts: WorkerTables | np.ndarray | None = None
    calibration: dict | None = None  # how `confidence` was calibrated (see calibration.calibrate)
    selection: dict | None = None  # which method `auto` picked and why (see calibration.choose)


class Confusions:
    """Each worker's confusion table m[worker, true j, answered l], read where answers need it.

    A dense (n_workers, K, K) array grows as workers x labels squared: 600 workers and 1,000 labels are 4.8 GB a
    copy. These classes hold what the tables share and what each worker's answers add, so their size follows the
    answers; `dense()` builds the whole array (for small problems and tests)."""

    n_workers: int
    k: int

    def at(self, worker: np.ndarray, label: np.ndarray) -> np.ndarray:
        """(n, K): m[worker[i], :, label[i]] for each i."""
        raise NotImplementedError

    def diagonal(self) -> np.ndarray:
        """(n_workers, K): m[w, j, j]."""
        raise NotImplementedError

    def dense(self) -> np.ndarray:
        """(n_workers, K, K): the whole tables."""
        labels = np.arange(self.k)
        out = np.empty((self.n_workers, self.k, self.k))
        for w in range(self.n_workers):
            out[w] = self.at(np.full(self.k, w), labels).T
        return out


class WorkerTables(Confusions):
    """Per-worker tables that equal a shared `base` (K, K) except in the (worker, answered label) cells some answer
    fell in (`cells`, sorted flat codes worker * K + label), whose columns are the rows of `own` (n_cells, K): own[c]
    is m[worker, :, label] of cell c. With `rows` (n_workers, K), the tables are divided row by row by it (counts ->
    probabilities); without, they are as held."""

    def __init__(self, base: np.ndarray, cells: np.ndarray, own: np.ndarray, n_workers: int,
                 rows: np.ndarray | None = None) -> None:
        self.base, self.cells, self.own, self.rows = base, cells, own, rows
        self.n_workers, self.k = n_workers, base.shape[0]

    def _raw_at(self, worker: np.ndarray, label: np.ndarray) -> np.ndarray:
        code = np.asarray(worker, dtype=np.int64) * self.k + np.asarray(label, dtype=np.int64)
        pos = np.searchsorted(self.cells, code)
        found = pos < self.cells.size
        found[found] = self.cells[pos[found]] == code[found]
        out = self.base.T[label]
        out[found] = self.own[pos[found]]
        return out

    def at(self, worker: np.ndarray, label: np.ndarray) -> np.ndarray:
        raw = self._raw_at(worker, label)
        return raw if self.rows is None else raw / self.rows[worker]

    def row_sums(self) -> np.ndarray:
        """(n_workers, K): the sum of each row of each table, as held (before any division)."""
        sums = np.repeat(self.base.sum(axis=1)[None, :], self.n_workers, axis=0)
        if self.cells.size:
            workers, labels = self.cells // self.k, self.cells % self.k
            starts = np.flatnonzero(np.r_[True, workers[1:] != workers[:-1]])
            sums[workers[starts]] += np.add.reduceat(self.own - self.base.T[labels], starts, axis=0)
        return sums

    def divided(self, rows: np.ndarray) -> WorkerTables:
        """The same tables divided row by row by `rows` (n_workers, K)."""
        return WorkerTables(self.base, self.cells, self.own, self.n_workers, rows)

    def diagonal(self) -> np.ndarray:
        diag = np.repeat(np.diag(self.base)[None, :], self.n_workers, axis=0)
        if self.cells.size:
            workers, labels = self.cells // self.k, self.cells % self.k
            diag[workers, labels] = self.own[np.arange(self.cells.size), labels]
        return diag if self.rows is None else diag / self.rows


class OneCoinTables(Confusions):
    """One-coin tables: `skill` (n_workers,) on the diagonal, the rest of each row spread evenly."""

    def __init__(self, skill: np.ndarray, k: int) -> None:
        self.skill, self.n_workers, self.k = skill, skill.size, k

    def at(self, worker: np.ndarray, label: np.ndarray) -> np.ndarray:
        off = (1.0 - self.skill[worker]) / max(self.k - 1, 1)
        out = np.repeat(off[:, None], self.k, axis=1)
        out[np.arange(len(out)), label] = self.skill[worker]
        return out

    def diagonal(self) -> np.ndarray:
        return np.repeat(self.skill[:, None], self.k, axis=1)


def _as_index(values: np.ndarray, size: int, field: str) -> np.ndarray:
    """Return `values` as an int64 array checked to lie in [0, size)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidInput(f"{field} must be a one-dimensional array", field=field)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise InvalidInput(f"{field} must hold integer codes", field=field)
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise InvalidInput(f"{field} has codes outside 0..{size - 1}", field=field)
    return arr


def check_answers(
    task_idx: np.ndarray,
    worker_idx: np.ndarray,
    label_idx: np.ndarray,
    n_tasks: int,
    n_workers: int,
    n_classes: int,
    gold: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate and convert the encoded answer arrays; raise InvalidInput naming the bad field."""
    if n_classes < 1:
        raise InvalidInput("n_classes must be at least 1", field="n_classes")
    t = _as_index(task_idx, n_tasks, "task_idx")
    w = _as_index(worker_idx, n_workers, "worker_idx")
    lab = _as_index(label_idx, n_classes, "label_idx")
    if not (t.size == w.size == lab.size):
        raise InvalidInput("task_idx, worker_idx and label_idx differ in length", field="label_idx")
    g = None
    if gold is not None:
        g = np.asarray(gold).astype(np.int64)
        if g.shape != (n_tasks,):
            raise InvalidInput(f"gold must have length n_tasks ({n_tasks})", field="gold")
        if g.size and (g.min() < -1 or g.max() >= n_classes):
            raise InvalidInput("gold holds label codes outside -1..n_classes-1", field="gold")
    return t, w, lab, g


def answer_weights(
    task_idx: np.ndarray, worker_idx: np.ndarray, n_tasks: int, n_workers: int, duplicates: str = "split"
) -> tuple[np.ndarray | None, np.ndarray]:
    """Per-answer weights giving each (task, worker) pair one vote in all (None: all 1), and workers per task."""
    if duplicates not in DUPLICATES:
        raise InvalidInput(f"duplicates must be one of {', '.join(DUPLICATES)}", field="duplicates")
    per_task = np.bincount(task_idx, minlength=n_tasks)
    if duplicates == "keep" or task_idx.size < 2:
        return None, per_task
    dtype = np.int32 if n_tasks * n_workers < 2**31 else np.int64  # int32 sorts about twice as fast
    key = task_idx.astype(dtype) * dtype(n_workers) + worker_idx.astype(dtype)
    ordered = np.sort(key)
    if not (ordered[1:] == ordered[:-1]).any():  # the common case: checked with one sort, no argsort
        return None, per_task
    order = np.argsort(key)
    ordered = key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    repeats = np.diff(np.r_[starts, ordered.size])
    weights = np.empty(key.size)
    weights[order] = np.repeat(1.0 / repeats, repeats)
    return weights, np.bincount(ordered[starts] // n_workers, minlength=n_tasks)


def _cells_of(codes: np.ndarray, n_codes: int) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct codes, sorted; each code's position among them)."""
    if n_codes <= max(4 * codes.size, 1 << 20):  # a table of every code: linear, no sort
        present = np.zeros(n_codes, dtype=bool)
        present[codes] = True
        return np.flatnonzero(present), (np.cumsum(present) - 1)[codes]
    cells, position = np.unique(codes, return_inverse=True)
    return cells, position.reshape(-1)


def break_ties(scores: np.ndarray, seed: int = 0, keys: Sequence[object] | None = None) -> np.ndarray:
    """Argmax per row; ties (within 1e-12) are broken at random, reproducibly for a given seed: by each row's
    position, or, given `keys` (one per row: the task ids), by tie_noise of the row's key, so that a task's tie
    goes the same way whatever other tasks are aggregated with it, and as its settle breaks it (small.pick)."""
    if scores.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    best = scores.max(axis=1, keepdims=True)
    tied = scores >= best - 1e-12
    if keys is None:
        noise = np.random.default_rng(seed).random(scores.shape)
        return np.where(tied, noise, -1.0).argmax(axis=1)
    labels = tied.argmax(axis=1)
    rows = np.flatnonzero(tied.sum(axis=1) > 1)
    if rows.size:
        noise = tie_noise([keys[r] for r in rows], scores.shape[1], seed)
        labels[rows] = np.where(tied[rows], noise, -1.0).argmax(axis=1)
    return labels


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def tie_noise(keys: Sequence[object], n_labels: int, seed: int = 0) -> np.ndarray:
    """(len(keys), n_labels) numbers in [0, 1), each fixed by the key (as text: task 7 and "7" are one key), the
    label's position and the seed: a hash (BLAKE2b of seed and key, then splitmix64 per label), not a random
    stream, so the same task breaks the same tie the same way in every run, process and database."""
    base = np.fromiter((int.from_bytes(hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest(), "little")
                        for key in keys), dtype=np.uint64, count=len(keys))
    x = base[:, None] + np.arange(1, n_labels + 1, dtype=np.uint64)[None, :] * _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _clamp_gold(post: np.ndarray, gold: np.ndarray | None) -> None:
    """Set gold tasks' posteriors to a one-hot row on their gold label, in place."""
    if gold is None:
        return
    rows = np.flatnonzero(gold >= 0)
    if rows.size:
        post[rows] = 0.0
        post[rows, gold[rows]] = 1.0


def _finish(
    post: np.ndarray, n_answers: np.ndarray, method: str, seed: int, **extra: object
) -> ClassificationResult:
    """Build the result: labels by seeded argmax and the posterior of the chosen label."""
    labels = break_ties(post, seed)
    confidence = post[np.arange(post.shape[0]), labels] if post.size else np.zeros(0)
    return ClassificationResult(post, labels, confidence, n_answers, method, **extra)  # type: ignore[arg-type]


def vote_counts(
    task_idx: np.ndarray, label_idx: np.ndarray, n_tasks: int, n_classes: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Return the (n_tasks, n_classes) table of (optionally weighted) votes."""
    flat = np.bincount(task_idx * n_classes + label_idx, weights=weights, minlength=n_tasks * n_classes)
    return flat.reshape(n_tasks, n_classes).astype(np.float64, copy=False)


def majority_vote(
    task_idx: np.ndarray,
    worker_idx: np.ndarray,
    label_idx: np.ndarray,
    n_tasks: int,
    n_workers: int,
    n_classes: int,
    *,
    gold: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    smoothing: float = 0.0,
    duplicates: str = "split",
    seed: int = 0,
) -> ClassificationResult:
    """(Weighted) majority vote; posteriors are the smoothed vote shares, `weights` one per worker."""
    t, w, lab, g = check_answers(task_idx, worker_idx, label_idx, n_tasks, n_workers, n_classes, gold)
    dup_w, _ = answer_weights(t, w, n_tasks, n_workers, duplicates)
    answer_w = dup_w
    if weights is not None:
        wts = np.asarray(weights, dtype=np.float64)
        if wts.shape != (n_workers,) or not np.all(np.isfinite(wts)) or (wts.size and wts.min() < 0):
            raise InvalidInput("weights must be n_workers finite non-negative numbers", field="weights")
        answer_w = wts[w] if dup_w is None else dup_w * wts[w]
    post = _vote_shares(t, lab, n_tasks, n_classes, answer_w, smoothing, g)
    result = _finish(post, np.bincount(t, minlength=n_tasks), "majority", seed)
    one = _ones_or(dup_w, t.size)
    agree = (lab == result.labels[t]) * one
    per_worker = np.bincount(w, weights=one, minlength=n_workers)
    result.worker_skill = np.bincount(w, weights=agree, minlength=n_workers) / np.maximum(per_worker, 1e-12)
    return result


def _vote_shares(t: np.ndarray, lab: np.ndarray, n_tasks: int, n_classes: int, answer_w: np.ndarray | None,
                 smoothing: float, gold: np.ndarray | None) -> np.ndarray:
    """Smoothed (weighted) vote shares per task, uniform for tasks without votes, gold rows clamped."""
    counts = vote_counts(t, lab, n_tasks, n_classes, answer_w)
    totals = counts.sum(axis=1, keepdims=True) + n_classes * smoothing
    empty = totals[:, 0] <= 0
    totals[empty] = 1.0
    post = (counts + smoothing) / totals
    post[empty] = 1.0 / n_classes
    _clamp_gold(post, gold)
    return post


def _ones_or(weights: np.ndarray | None, size: int) -> np.ndarray:
    """The given per-answer weights, or ones."""
    return np.ones(size) if weights is None else weights


def fitted_tasks(distinct: np.ndarray, answered: np.ndarray, gold: np.ndarray | None, min_workers: int) -> np.ndarray:
    """Tasks whose answers inform the EM's parameters: at least `min_workers` distinct workers, or answered gold."""
    fitted = distinct >= max(min_workers, 1)
    if gold is not None:
        fitted |= (gold >= 0) & answered
    return fitted


def _posteriors(loglik: np.ndarray) -> np.ndarray:
    """Row-wise softmax of log-likelihoods."""
    loglik = loglik - loglik.max(axis=1, keepdims=True)
    np.exp(loglik, out=loglik)
    loglik /= loglik.sum(axis=1, keepdims=True)
    return loglik


def dawid_skene(
    task_idx: np.ndarray,
    worker_idx: np.ndarray,
    label_idx: np.ndarray,
    n_tasks: int,
    n_workers: int,
    n_classes: int,
    *,
    gold: np.ndarray | None = None,
    smoothing: float = 0.1,
    diagonal_prior: float = 1.0,
    pooled_prior: float = 1.0,
    min_workers: int = 2,
    duplicates: str = "split",
    max_iter: int = 100,
    tol: float = 1e-5,
    seed: int = 0,
) -> ClassificationResult:
    """Dawid-Skene EM with a full confusion matrix per worker and a Dirichlet prior on each of its rows.

    The prior adds `smoothing` to every cell, `diagonal_prior` to the correct cell and `pooled_prior`
    times the crowd's pooled confusion row (so a worker with few answers looks like the average worker),
    each row's pseudo-counts scaled by K times that class's prevalence.
    The parameters are fitted on the tasks answered by at least `min_workers` distinct workers, and on
    gold tasks: a task only one worker answered says nothing about that worker's reliability (its
    posterior would just echo the worker's own confusion back into it), so it gets its posterior from
    the fitted model without shaping it. EM stops when the marginal log-likelihood per answer of the
    fitted tasks gains less than `tol`.
    """
    t, w, lab, g = check_answers(task_idx, worker_idx, label_idx, n_tasks, n_workers, n_classes, gold)
    k = n_classes
    dup_w, distinct = answer_weights(t, w, n_tasks, n_workers, duplicates)
    n_answers = np.bincount(t, minlength=n_tasks)
    answered = n_answers > 0
    fitted = fitted_tasks(distinct, answered, g, min_workers)
    all_fitted = bool(fitted.all())
    fit_mask = fitted.astype(np.float64)
    # Start from the majority vote's shares: (K, n_tasks), contiguous per class for gathers.
    post_t = np.ascontiguousarray(_vote_shares(t, lab, n_tasks, k, dup_w, 0.0, g).T)
    if g is not None and (g >= 0).any():
        post_t[:, g < 0] = 0.0  # first M-step from gold alone, so gold (not the majority) sets the skills
    # The (worker, answered label) cells some answer fell in, and each answer's cell among them: the tables are
    # held there and in a base every worker shares, never as (n_workers, K, K), which grows as labels squared.
    cells, u_of = _cells_of(w * k + lab, n_workers * k)
    u_workers, u_labels = cells // k, cells % k
    worker_starts = np.flatnonzero(np.r_[True, u_workers[1:] != u_workers[:-1]]) if cells.size else cells
    pool_index = (u_labels[:, None] * k + np.arange(k)[None, :]).ravel()  # (answered l, true j) of own's values
    # The M-step's answers (those of fitted tasks) grouped by cell once, so each M-step sums contiguous
    # runs (reduceat beats bincount here).
    fit_rows = None if all_fitted else np.flatnonzero(fitted[t])
    m_u = u_of if fit_rows is None else u_of[fit_rows]
    m_w = dup_w if dup_w is None or fit_rows is None else dup_w[fit_rows]
    by_cell = np.argsort(m_u.astype(np.uint16 if cells.size <= 65535 else np.int64), kind="stable")  # radix if small
    t_by_cell = (t if fit_rows is None else t[fit_rows])[by_cell]
    w_by_cell = None if m_w is None else m_w[by_cell]
    run_starts = np.flatnonzero(np.r_[True, m_u[by_cell][1:] != m_u[by_cell][:-1]]) if m_u.size else by_cell
    run_cells = m_u[by_cell][run_starts]
    e_weight = float(t.size if fit_rows is None else fit_rows.size) if m_w is None else float(m_w.sum())
    pseudo = np.full((k, k), smoothing) + np.eye(k) * diagonal_prior
    n_iter, converged, last_fit = 0, False, -np.inf
    for n_iter in range(1, max_iter + 1):
        # M-step: expected counts conf[w, true j, answered l] = sum of P(task = j) over w's l-answers, in the
        # cells answers fell in (`own`, (cells, K)); every other cell holds the prior alone (`base`).
        sums = np.empty((k, run_cells.size))
        for j in range(k if m_u.size else 0):
            gathered = post_t[j][t_by_cell]
            if w_by_cell is not None:
                gathered *= w_by_cell
            sums[j] = np.add.reduceat(gathered, run_starts)
        own = np.zeros((cells.size, k))
        own[run_cells] = sums.T
        # The prior's weight on row j follows class j's share (k pseudo-rows split by prevalence, as in
        # BDeu), so a rare class's row is not swamped by pseudo-counts it has little data to outweigh.
        # einsum beats a boolean gather here and, unlike a BLAS product, never wakes up threads.
        mass = post_t.sum(axis=1) if all_fitted else np.einsum("kn,n->k", post_t, fit_mask)
        total_mass = float(mass.sum())
        scale = (k * mass / total_mass)[:, None] if total_mass > 0 else np.ones((k, 1))
        base = pseudo * scale
        if pooled_prior > 0:  # the crowd's pooled table: every worker's counts, prior included, summed
            pooled = n_workers * base + np.bincount(pool_index, weights=own.ravel(), minlength=k * k).reshape(k, k).T
            base = base + pooled_prior * scale * pooled / np.maximum(pooled.sum(axis=1, keepdims=True), 1e-12)
        seen = np.add.reduceat(own, worker_starts, axis=0) if cells.size else own  # each worker's rows, observed
        own += base.T[u_labels]
        np.maximum(own, 1e-10, out=own)  # without smoothing, an unseen row becomes uniform
        counts = WorkerTables(np.maximum(base, 1e-10), cells, own, n_workers)
        if (base >= 1e-10).all():  # nothing was raised: a row is the prior's row plus what its worker was seen doing
            rows = np.repeat(counts.base.sum(axis=1)[None, :], n_workers, axis=0)
            rows[u_workers[worker_starts]] += seen
        else:
            rows = counts.row_sums()
        confusion = counts.divided(rows)
        priors = (mass + 1.0) / (fitted.sum() + k)
        # E-step: log P(task = j) = log prior_j + sum over its answers of log conf[w, j, l].
        log_conf = rows[u_workers]
        np.divide(own, log_conf, out=log_conf)
        np.log(np.maximum(log_conf, _TINY, out=log_conf), out=log_conf)
        log_conf = np.ascontiguousarray(log_conf.T)  # (K, cells): one contiguous row per true class
        loglik = np.empty((k, n_tasks))
        for j in range(k):
            per_answer = log_conf[j][u_of]
            if dup_w is not None:
                per_answer *= dup_w
            loglik[j] = np.bincount(t, weights=per_answer, minlength=n_tasks)
        loglik += np.log(priors)[:, None]
        top = loglik.max(axis=0)
        # Marginal log-likelihood per answer of the current parameters: EM never lowers it.
        # exp in float32 is ~4x faster and plenty for posteriors; sums and logs stay float64.
        post_t = np.exp((loglik - top).astype(np.float32)).astype(np.float64)
        total = post_t.sum(axis=0)
        post_t /= total
        log_total = np.log(total) + top
        fit = float(log_total.sum() if all_fitted else log_total.sum(where=fitted)) / max(e_weight, 1e-12)
        if g is not None:
            rows_g = np.flatnonzero(g >= 0)
            post_t[:, rows_g] = 0.0
            post_t[g[rows_g], rows_g] = 1.0
        if fit - last_fit < tol:
            converged = True
            break
        last_fit = fit
    post = np.ascontiguousarray(post_t.T)
    post[~answered] = priors
    skill = confusion.diagonal() @ priors
    return _finish(post, n_answers, "dawid-skene", seed, worker_skill=skill, confusion=confusion,
                   priors=priors, n_iter=n_iter, converged=converged, counts=counts)


def one_coin(
    task_idx: np.ndarray,
    worker_idx: np.ndarray,
    label_idx: np.ndarray,
    n_tasks: int,
    n_workers: int,
    n_classes: int,
    *,
    gold: np.ndarray | None = None,
    prior_correct: float = 2.0,
    prior_wrong: float = 1.0,
    min_workers: int = 2,
    duplicates: str = "split",
    max_iter: int = 100,
    tol: float = 1e-5,
    seed: int = 0,
) -> ClassificationResult:
    """One-coin Dawid-Skene: one accuracy per worker, errors spread evenly; Beta prior on accuracy.

    As in dawid_skene, the accuracies and class priors are fitted on tasks with at least `min_workers`
    distinct workers (and gold tasks); EM stops when the marginal log-likelihood per answer of those
    tasks gains less than `tol`.
    """
    t, w, lab, g = check_answers(task_idx, worker_idx, label_idx, n_tasks, n_workers, n_classes, gold)
    k = n_classes
    dup_w, distinct = answer_weights(t, w, n_tasks, n_workers, duplicates)
    n_answers = np.bincount(t, minlength=n_tasks)
    answered = n_answers > 0
    fitted = fitted_tasks(distinct, answered, g, min_workers)
    post = _vote_shares(t, lab, n_tasks, k, dup_w, 0.0, g)
    answer_w = _ones_or(dup_w, t.size)
    m_w = answer_w * fitted[t]  # the M-step's weight of each answer
    per_worker = np.bincount(w, weights=m_w, minlength=n_workers)
    e_weight = max(float(m_w.sum()), 1e-12)
    cell = t * k + lab
    n_iter, converged, last_fit = 0, False, -np.inf
    skill = np.full(n_workers, 0.7)
    for n_iter in range(1, max_iter + 1):
        correct = np.bincount(w, weights=post.reshape(-1)[cell] * m_w, minlength=n_workers)
        right, seen = correct + prior_correct - 1.0, per_worker + prior_correct + prior_wrong - 2.0
        skill = right / seen
        skill = np.clip(skill, 1e-6, 1.0 - 1e-6)
        priors = (post[fitted].sum(axis=0) + 1.0) / (fitted.sum() + k)
        loglik = one_coin_loglik(t, lab, skill[w], n_tasks, k, answer_w) + np.log(priors)
        top = loglik.max(axis=1, keepdims=True) if n_tasks else np.zeros((0, 1))
        post = np.exp(loglik - top)
        total = post.sum(axis=1, keepdims=True)
        post /= total
        _clamp_gold(post, g)
        fit = float((np.log(total) + top)[fitted].sum()) / e_weight
        if fit - last_fit < tol:
            converged = True
            break
        last_fit = fit
    priors = (post[fitted].sum(axis=0) + 1.0) / (fitted.sum() + k)
    post[~answered] = priors
    return _finish(post, n_answers, "one-coin", seed, worker_skill=skill, confusion=OneCoinTables(skill, k),
                   priors=priors, n_iter=n_iter, converged=converged, counts=np.stack([right, seen], axis=1))


def one_coin_loglik(task_idx: np.ndarray, label_idx: np.ndarray, answer_skill: np.ndarray, n_tasks: int,
                    n_classes: int, weights: np.ndarray | None = None) -> np.ndarray:
    """(n_tasks, K) log-likelihood of every task's answers for each true class, each answer right with its skill.

    A wrong answer is any of the other K - 1 labels alike. small.posterior is this model for one task.
    """
    k = n_classes
    weights = _ones_or(weights, task_idx.size)
    log_right = np.log(answer_skill)
    log_wrong = np.log((1.0 - answer_skill) / max(k - 1, 1))
    base = np.bincount(task_idx, weights=log_wrong * weights, minlength=n_tasks)
    bonus = np.bincount(task_idx * k + label_idx, weights=(log_right - log_wrong) * weights, minlength=n_tasks * k)
    return bonus.reshape(n_tasks, k) + base[:, None]


METHODS = {"majority": majority_vote, "dawid-skene": dawid_skene, "one-coin": one_coin}


def aggregate(method: str, *args: object, **kwargs: object) -> ClassificationResult:
    """Run the named method ("majority", "dawid-skene" or "one-coin")."""
    try:
        func = METHODS[method]
    except KeyError:
        raise InvalidInput(f"method {method!r} is unknown; use one of {', '.join(METHODS)}", field="method") from None
    return func(*args, **kwargs)  # type: ignore[operator]
