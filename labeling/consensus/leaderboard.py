"""A model leaderboard from preference rankings: battles, Bradley-Terry on an Elo scale, bootstrap intervals.

Pure (NumPy only, no database): the database layer reads a project's answers into the plain dicts
`compute` takes, and `write_outputs` / `markdown` (leaderboard_report.py) render the result.

Input: one dict per answer (one annotator ranking one task's responses):

    {"prompt": "task-17",                      # the unit the bootstrap resamples (a task / prompt id)
     "ranking": [["r1"], ["r2", "r3"]],        # response ids, best group first; ids in a group are tied
     "models": {"r1": "gpt-x", "r2": "llama", "r3": "gpt-x"},   # every ranked response's model
     "ratings": {"r1": 6, "r2": 3},            # optional Likert ratings 1..7 per response
     "data": {"category": "code"},             # optional task data fields (for `breakdown`)
     "shown": ["r2", "r1", "r3"]}              # optional display order: first shown (or left) first

Every pair of ranked responses from two different models is a battle (a tie is half a win for each;
two responses of the same model are not a battle). Strengths are fitted by Bradley-Terry with a
first-shown advantage term where display order is known, reported as ratings 1000 + 400 log10(odds)
centred on the mean model (or on `anchor`). 95% intervals are percentile intervals over `n_bootstrap`
resamples of the prompts, all fitted at once by batched Newton steps.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.consensus import leaderboard_report
from labeling.consensus.battle_log import BattleLog, Battles, Ratings, display_order
from labeling.errors import InvalidInput

SCALE = 400.0 / math.log(10.0)  # Elo points per unit of log-odds
BASE = 1000.0
# Each model (and the first-shown advantage) plays PRIOR_BATTLES virtual tied battles against the average model
# (a weak logistic prior). Without it a model that won or lost every battle of its few has no finite rating: the
# fit runs off to thousands of points, and drags the first-shown advantage with it. Against the tens of battles a
# model has in a real arena, it moves ratings by a few points.
PRIOR_BATTLES = 1.0
NEWTON_STEPS = 30
TOLERANCE = 1e-4  # log-odds: a hundredth of a rating point (float32 sums settle about ten times finer)
CHUNK = 250  # resamples fitted at once (bounds memory: CHUNK x columns floats per array)
BREAKDOWN_VALUES = 50  # a breakdown lists at most this many values of a field (those with the most battles)

markdown = leaderboard_report.markdown
write_outputs = leaderboard_report.write_outputs
check_output = leaderboard_report.check_output


def _groups(ranking: Any, where: str) -> list[list[Hashable]]:
    """A best-first ranking as lists of hashable ids; raise InvalidInput for anything else."""
    if not isinstance(ranking, Sequence) or isinstance(ranking, (str, bytes)):
        raise InvalidInput(f"{where}.ranking must be a list of groups of response ids", field=f"{where}.ranking")
    out = []
    for g, group in enumerate(ranking):
        if not isinstance(group, Sequence) or isinstance(group, (str, bytes)):
            raise InvalidInput(f"{where}.ranking[{g}] must be a list of response ids", field=f"{where}.ranking")
        out.append([item for item in group if isinstance(item, Hashable)])
    return out


def field_value(value: Any) -> str | None:
    """A task data field's value as a breakdown key: text as it is, anything else as compact JSON (at most
    200 characters); None when the task has no such field."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text[:200]


def log_of(rankings: Iterable[Mapping[str, Any]], fields: Sequence[str] = (), models: Sequence[str] | None = None
           ) -> BattleLog:
    """A BattleLog of rankings in the module docstring's shape."""
    log = BattleLog(fields)
    for m in models or []:
        log.models.setdefault(m, len(log.models))
    prompt_codes: dict[Hashable, int] = {}
    for i, item in enumerate(rankings):
        where = f"rankings[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidInput(f"{where} must be an object", field=where)
        groups = _groups(item.get("ranking"), where)
        owner = item.get("models")
        if not isinstance(owner, Mapping):
            raise InvalidInput(f"{where}.models must map response ids to model names", field=f"{where}.models")
        prompt = item.get("prompt", i)
        p = prompt_codes.setdefault(prompt if isinstance(prompt, Hashable) else str(prompt), len(prompt_codes))
        data = item.get("data")
        values = [field_value(data.get(f)) if isinstance(data, Mapping) else None for f in fields]
        log.add(p, groups, owner, display_order(item.get("shown"), None), item.get("ratings"), values)
    return log


def battles(rankings: Iterable[Mapping[str, Any]], models: Sequence[str] | None = None) -> Battles:
    """Turn rankings into battles between models (see the module docstring for the input shape)."""
    return log_of(rankings, (), models).battles()


@dataclass
class Columns:
    """Battles summed per column: a model pair with one display orientation (unknown, a first, b first)."""

    a: np.ndarray
    b: np.ndarray
    side: np.ndarray  # +1 a shown first, -1 b shown first, 0 unknown
    wins: np.ndarray  # (..., n_columns) a's wins (ties as halves)
    count: np.ndarray  # (..., n_columns) battles


def _column_index(bt: Battles) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Column of every battle, and each column's (a, b, side)."""
    m = max(len(bt.models), 1)
    key = (bt.a * m + bt.b) * 3 + (bt.order + 1)
    uniq, col = np.unique(key, return_inverse=True)
    return col, uniq // 3 // m, uniq // 3 % m, uniq % 3 - 1


def fit(cols: Columns, n_models: int, use_side: bool, start: np.ndarray | None = None
        ) -> tuple[np.ndarray, np.ndarray]:
    """Bradley-Terry log-strengths (centred) and the first-shown advantage for a batch of count tables.

    cols.wins / cols.count are (batch, n_columns); returns (batch, n_models) and (batch,). Newton steps
    for the whole batch at once: the Hessians are assembled from per-column curvatures with fixed index
    arithmetic and solved with one batched call.
    """
    wins, count = np.atleast_2d(cols.wins), np.atleast_2d(cols.count)
    batch = wins.shape[0]
    k = n_models + (1 if use_side else 0)
    side = cols.side.astype(np.float64) if use_side else np.zeros(cols.a.size)
    # Incidence of each column on the parameters: +1 for a, -1 for b, `side` for the advantage.
    design = np.zeros((cols.a.size, k))
    design[np.arange(cols.a.size), cols.a] += 1.0
    design[np.arange(cols.a.size), cols.b] -= 1.0
    if use_side:
        design[:, n_models] = side
    # Columns of one pair (its display orientations) are adjacent, so their curvatures sum by reduceat.
    pair_start = np.flatnonzero(np.r_[True, (cols.a[1:] != cols.a[:-1]) | (cols.b[1:] != cols.b[:-1])])
    pair_a, pair_b = cols.a[pair_start], cols.b[pair_start]
    params = np.zeros((batch, k)) if start is None else np.repeat(start[None, :], batch, axis=0)
    # The (batch, columns) arrays dominate the cost: float32 halves it, and sums of a million battles
    # still carry six or seven digits, more than Newton needs to settle to TOLERANCE.
    design32, incidence = design.astype(np.float32), np.abs(design[:, :n_models]).astype(np.float32)
    wins32, count32, side32 = wins.astype(np.float32), count.astype(np.float32), side.astype(np.float32)
    idx = np.arange(n_models)
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(params.astype(np.float32) @ design32.T)))
        curv = count32 * p * (1.0 - p)
        grad = ((wins32 - count32 * p) @ design32).astype(np.float64)
        prior_p = 1.0 / (1.0 + np.exp(-params))  # each parameter's virtual tie against 0
        grad += PRIOR_BATTLES * (0.5 - prior_p)
        hess = np.zeros((batch, k, k))
        hess[:, idx, idx] = curv @ incidence
        per_pair = np.add.reduceat(curv, pair_start, axis=1)
        hess[:, pair_a, pair_b] = -per_pair
        hess[:, pair_b, pair_a] = -per_pair
        if use_side:
            cross = (curv * side32) @ design32[:, :n_models]
            hess[:, n_models, :n_models] = cross
            hess[:, :n_models, n_models] = cross
            hess[:, n_models, n_models] = curv @ side32 ** 2
        hess[:, np.arange(k), np.arange(k)] += PRIOR_BATTLES * prior_p * (1.0 - prior_p)
        # Only differences of strengths are identified: give the common shift a curvature of its own (the
        # strengths stay centred), so float32 rounding in the sums cannot send it wandering.
        hess[:, :n_models, :n_models] += 1.0
        step = np.clip(np.linalg.solve(hess, grad[:, :, None])[:, :, 0], -5.0, 5.0)
        # The prior ties each strength to 0, not their differences: at the centred optimum its pulls do not sum
        # to zero, and every step keeps a common shift that the centring takes back. Only the centred step moves
        # the fit, so only it says whether the fit has settled.
        step[:, :n_models] -= step[:, :n_models].mean(axis=1, keepdims=True)
        params += step
        params[:, :n_models] -= params[:, :n_models].mean(axis=1, keepdims=True)
        if np.abs(step).max(initial=0.0) < TOLERANCE:
            break
    theta = params[:, :n_models]
    theta -= theta.mean(axis=1, keepdims=True)
    advantage = params[:, n_models] if use_side else np.zeros(batch)
    return theta, advantage


def _resampled_sums(unit: np.ndarray, column: np.ndarray, values: np.ndarray, n_units: int, n_columns: int,
                    n_boot: int, rng: np.random.Generator) -> Iterable[np.ndarray]:
    """Yield (chunk, n_columns, values) sums over bootstrap resamples of the units, a chunk of resamples at a time.

    Units with identical contents are resampled as one kind (a multinomial over kinds with their
    multiplicities is exactly a multinomial over units), so an arena of a million single-battle prompts
    draws a few thousand counts per resample, not a million.
    """
    vals = values.reshape(values.shape[0], -1)
    n_vals = vals.shape[1]
    # Order-free 64-bit fingerprint of each unit's (column, values) rows.
    mix = np.random.default_rng(12345).integers(1, 2**62, size=(n_columns, n_vals + 1), dtype=np.int64)
    quant = np.round(vals * 64).astype(np.int64)
    with np.errstate(over="ignore"):
        row_hash = mix[column, 0] + (mix[column, 1:] * (quant + 7)).sum(axis=1)
        by_unit = np.argsort(unit, kind="stable")
        unit_starts = np.flatnonzero(np.r_[True, unit[by_unit][1:] != unit[by_unit][:-1]]) if unit.size else by_unit
        finger = np.zeros(n_units, dtype=np.int64)
        if unit.size:
            finger[unit[by_unit][unit_starts]] = np.add.reduceat(row_hash[by_unit], unit_starts)
    kinds, first, kind_of = np.unique(finger, return_index=True, return_inverse=True)
    weight = np.bincount(kind_of, minlength=kinds.size).astype(np.float64)
    rows = np.flatnonzero(np.isin(unit, first))
    order = np.argsort(column[rows], kind="stable")
    rows = rows[order]
    row_kind = kind_of[unit[rows]]
    starts = np.flatnonzero(np.r_[True, column[rows][1:] != column[rows][:-1]]) if rows.size else rows
    cols_present = column[rows][starts]
    chunk = int(max(1, min(CHUNK, 2e7 // max(rows.size * n_vals, 1))))  # ~160 MB at most per array
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        draws = rng.multinomial(n_units, weight / weight.sum(), size=size).astype(np.float64)
        out = np.zeros((size, n_columns, n_vals))
        if rows.size:
            per_row = draws[:, row_kind][:, :, None] * vals[rows][None, :, :]
            out[:, cols_present, :] = np.add.reduceat(per_row, starts, axis=1)
        yield out


def _summary(bt: Battles, cols: Columns, theta: np.ndarray, advantage: float, boot_theta: np.ndarray,
             boot_adv: np.ndarray, anchor: str | None) -> dict[str, Any]:
    """Ratings, intervals, ranks and battle counts per model."""
    m = len(bt.models)
    shift = theta[bt.models.index(anchor)] if anchor is not None else 0.0
    rating = BASE + SCALE * (theta - shift)
    boot_shift = boot_theta[:, bt.models.index(anchor)][:, None] if anchor is not None else 0.0
    boot_rating = BASE + SCALE * (boot_theta - boot_shift)
    # No resamples (bootstrap 0, or one prompt, whose resamples are all that prompt): no interval, so no model's
    # interval lies above another's and all share rank 1 (a point [r, r] ranked models 1, 2, 3 from one battle).
    measured = bool(boot_rating.size)
    lo, hi = np.percentile(boot_rating, [2.5, 97.5], axis=0) if measured else (rating, rating)
    wins = np.bincount(bt.a, weights=bt.score, minlength=m) + np.bincount(bt.b, weights=1.0 - bt.score, minlength=m)
    n = np.bincount(bt.a, minlength=m) + np.bincount(bt.b, minlength=m)
    tied = bt.score == 0.5
    ties = np.bincount(bt.a[tied], minlength=m) + np.bincount(bt.b[tied], minlength=m)
    rows = []
    for i in range(m):
        above = int(np.sum(lo > hi[i])) if measured else 0  # models whose whole interval lies above this one's
        rows.append({"model": bt.models[i], "rating": round(float(rating[i]), 2),
                     "ci": [round(float(lo[i]), 2), round(float(hi[i]), 2)] if measured else None,
                     "rank": 1 + above,
                     "battles": int(n[i]), "wins": round(float(wins[i] - 0.5 * ties[i]), 2),
                     "ties": int(ties[i]), "losses": round(float(n[i] - wins[i] - 0.5 * ties[i]), 2),
                     "win_rate": round(float(wins[i] / n[i]), 4) if n[i] else None})
    rows.sort(key=lambda r: -r["rating"])
    return {"models": rows, "position_advantage": {
        "elo": round(float(SCALE * advantage), 2),
        "ci": [round(float(x), 2) for x in np.percentile(SCALE * boot_adv, [2.5, 97.5])] if boot_adv.size else None}}


def _matrices(bt: Battles, theta: np.ndarray) -> dict[str, Any]:
    """Observed (ties as halves) and fitted win rates of the row model against the column model."""
    m = len(bt.models)
    wins = np.zeros((m, m))
    n = np.zeros((m, m))
    np.add.at(wins, (bt.a, bt.b), bt.score)
    np.add.at(wins, (bt.b, bt.a), 1.0 - bt.score)
    np.add.at(n, (bt.a, bt.b), 1.0)
    np.add.at(n, (bt.b, bt.a), 1.0)
    observed = np.where(n > 0, wins / np.maximum(n, 1.0), np.nan)
    fitted = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))
    np.fill_diagonal(fitted, np.nan)
    as_list = lambda x: [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in x]  # noqa: E731
    return {"models": list(bt.models), "observed": as_list(observed), "fitted": as_list(fitted),
            "battles": n.astype(int).tolist()}


def _pairs(bt: Battles) -> list[dict[str, Any]]:
    """Battles per model pair with wins and ties."""
    m = max(len(bt.models), 1)
    key = bt.a * m + bt.b
    size = m * m
    count = np.bincount(key, minlength=size)
    a_wins = np.bincount(key, weights=bt.score == 1.0, minlength=size)
    b_wins = np.bincount(key, weights=bt.score == 0.0, minlength=size)
    return [{"a": bt.models[k // m], "b": bt.models[k % m], "battles": int(count[k]), "a_wins": int(a_wins[k]),
             "b_wins": int(b_wins[k]), "ties": int(count[k] - a_wins[k] - b_wins[k])} for k in np.flatnonzero(count)]


def wilson(successes: float, n: float, z: float = 1.959964) -> list[float] | None:
    """Wilson score 95% interval of a proportion (None without trials)."""
    if n <= 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(centre - half, 4), round(centre + half, 4)]


# Student's t 97.5% quantiles for 1..9 degrees of freedom; from 10 on, t_975 below is within 0.003 of them.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262)


def t_975(df: int) -> float:
    """Student's t 97.5% quantile for df degrees of freedom (a table, then the Cornish-Fisher expansion)."""
    if df < 1:
        raise ValueError("df must be at least 1")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df)


def clustered_wilson(wins: np.ndarray, decided: np.ndarray) -> tuple[list[float] | None, float | None]:
    """A Wilson 95% interval of a rate from clusters (wins and decided trials per cluster), widened by the
    clusters' design effect, and that design effect.

    The trials of one cluster are not independent (a ranking of k responses makes k(k-1)/2 battles out of one
    decision; under no bias at all their variance is (2k+5)/9 times the binomial's), so the interval is
    Wilson's for the effective number of trials: the decided trials divided by the design effect, the ratio
    of the rate's between-cluster variance to the binomial variance, at least 1. When every trial went one way
    the variance says nothing, and each cluster counts as one trial. The variance is estimated from the clusters,
    so the interval takes Student's t for clusters - 1 degrees of freedom in place of the normal 1.96 (with 10-40
    prompts of rankings of three to eight, 1.96 held no bias in 93-94% of simulated arenas, t in 95-96%). Fewer
    than two clusters: no interval (nothing says how far one cluster's trials vary)."""
    n_total, clusters = float(decided.sum()), int((decided > 0).sum())
    if n_total <= 0 or clusters < 2:
        return None, None
    rate = float(wins.sum()) / n_total
    between = clusters / (clusters - 1) * float(((wins - rate * decided) ** 2).sum()) / n_total ** 2
    binomial = rate * (1.0 - rate) / n_total
    effect = max(1.0, between / binomial) if binomial > 0 else n_total / clusters
    effective = n_total / effect
    return wilson(rate * effective, effective, t_975(clusters - 1)), round(effect, 3)


def position_bias(bt: Battles) -> dict[str, Any]:
    """How often the model shown first (left) wins a battle, against 50%, over the battles that recorded it.

    Ties are counted apart; the rate is over the decided battles, its interval a Wilson interval widened by
    the design effect of the prompts (clustered_wilson: one answer's battles, and one prompt's answers, are not
    independent trials). Answers without a display order are counted and said to be left out, never guessed.
    """
    missing = bt.answers - bt.answers_with_order
    out: dict[str, Any] = {"available": False, "answers": bt.answers, "answers_with_order": bt.answers_with_order,
                           "answers_without_order": missing}
    note = (f"{missing} answer{'s' if missing != 1 else ''} {'have' if missing != 1 else 'has'} no display order "
            "(left out, not guessed)") if missing else None
    known = bt.order != 0
    if not known.any():
        out["message"] = ("no answer records the order its responses were shown in, so position bias cannot be "
                          "measured (it is not guessed)") if bt.answers_with_order == 0 else (
            "no battle between two models has a recorded display order")
        if note:
            out["message"] += f"; {note}"
        return out
    first = np.where(bt.order[known] == 1, bt.score[known], 1.0 - bt.score[known])  # the first shown's share
    wins, losses, ties = int((first == 1.0).sum()), int((first == 0.0).sum()), int((first == 0.5).sum())
    decided = wins + losses
    is_decided = first != 0.5
    prompt = bt.prompt[known][is_decided]
    size = int(prompt.max()) + 1 if prompt.size else 0
    per_prompt = np.bincount(prompt, minlength=size).astype(np.float64)  # decided battles of each prompt
    ci, effect = clustered_wilson(np.bincount(prompt, weights=first[is_decided] == 1.0, minlength=size), per_prompt)
    if decided and ci is None:
        single = "one prompt: how far a prompt's battles vary is unknown, so there is no interval"
        note = f"{note}; {single}" if note else single
    out.update({"available": True, "battles": int(known.sum()), "ties": ties, "first_wins": wins,
                "first_losses": losses, "first_win_rate": round(wins / decided, 4) if decided else None,
                "ci": ci, "prompts": int((per_prompt > 0).sum()), "design_effect": effect, "against": 0.5,
                "message": note})
    return out


def _mean_ratings(r: Ratings, n_prompts: int, n_boot: int, rng: np.random.Generator) -> dict[str, Any] | None:
    """Each model's mean rating with a bootstrap interval over prompts (None when nobody rated)."""
    if not r.value.size:
        return None
    m = len(r.models)
    values = np.stack([r.value, np.ones(r.value.size)], axis=1)
    sums = np.zeros((m, 2))
    np.add.at(sums, r.model, values)
    if n_prompts < 2:
        n_boot = 0  # as in _board: one prompt's resamples are all the same
    boot = list(_resampled_sums(r.prompt, r.model, values, max(n_prompts, int(r.prompt.max()) + 1), m, n_boot, rng))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.concatenate(boot)[:, :, 0] / np.concatenate(boot)[:, :, 1] if boot else np.zeros((0, m))
    out = {}
    for i, name in enumerate(r.models):
        if sums[i, 1] == 0:
            continue
        mean = float(sums[i, 0] / sums[i, 1])
        finite = means[:, i][np.isfinite(means[:, i])]
        ci = np.percentile(finite, [2.5, 97.5]) if finite.size else None
        out[name] = {"mean": round(mean, 3), "n": int(sums[i, 1]),
                     "ci": None if ci is None else [round(float(ci[0]), 3), round(float(ci[1]), 3)]}
    return out


def _board(bt: Battles, n_bootstrap: int, rng: np.random.Generator, anchor: str | None) -> dict[str, Any]:
    """Fit, bootstrap and summarise one set of battles."""
    col, a, b, side = _column_index(bt)
    n_cols, m = a.size, len(bt.models)
    wins = np.bincount(col, weights=bt.score, minlength=n_cols)
    count = np.bincount(col, minlength=n_cols).astype(np.float64)
    use_side = bool((side != 0).any())
    if len(bt.prompts) < 2:
        n_bootstrap = 0  # resampling one prompt gives it back every time: a zero-width "interval"
    theta, adv = fit(Columns(a, b, side, wins, count), m, use_side)
    start = np.r_[theta[0], adv] if use_side else theta[0]
    boot_theta, boot_adv = [], []
    values = np.stack([bt.score, np.ones(bt.score.size)], axis=1)
    for sums in _resampled_sums(bt.prompt, col, values, len(bt.prompts), n_cols, n_bootstrap, rng):
        th, ad = fit(Columns(a, b, side, sums[:, :, 0], sums[:, :, 1]), m, use_side, start)
        boot_theta.append(th)
        boot_adv.append(ad)
    bth = np.concatenate(boot_theta) if boot_theta else np.zeros((0, m))
    bad = np.concatenate(boot_adv) if boot_adv else np.zeros(0)
    out = _summary(bt, Columns(a, b, side, wins, count), theta[0], float(adv[0]), bth, bad, anchor)
    if not use_side:
        out["position_advantage"] = None
    out["_theta"] = theta[0]
    return out


def compute(rankings: Iterable[Mapping[str, Any]], *, n_bootstrap: int = 1000, seed: int = 0,
            breakdown: Sequence[str] | None = None, anchor: str | None = None) -> dict[str, Any]:
    """The leaderboard of the models behind `rankings` (shape in the module docstring), JSON-serialisable.

    `breakdown` names task data fields (e.g. ["category"]): each value gets its own leaderboard.
    `anchor` pins that model at 1000 instead of the mean of all models.
    """
    return from_log(log_of(rankings, breakdown or ()), n_bootstrap=n_bootstrap, seed=seed, anchor=anchor)


def from_log(log: BattleLog, *, n_bootstrap: int = 1000, seed: int = 0, anchor: str | None = None,
             bt: Battles | None = None) -> dict[str, Any]:
    """The leaderboard of a BattleLog: the board, mean ratings and a breakdown per field of the log (`bt`: its
    battles() when the caller has them already)."""
    bt = log.battles() if bt is None else bt
    result = from_battles(bt, n_bootstrap=n_bootstrap, seed=seed, anchor=anchor)
    if bt.a.size:
        result["ratings"] = _mean_ratings(log.ratings(), len(bt.prompts), n_bootstrap, np.random.default_rng([seed, 1]))
    for k, field_name in enumerate(log.fields):
        codes = log.field_codes(k)
        names = list(log.values[k])
        counts = np.bincount(codes[codes >= 0], minlength=len(names))
        chosen = [int(c) for c in np.argsort(-counts, kind="stable")[:BREAKDOWN_VALUES] if counts[c]]
        parts: dict[str, Any] = {}
        for code in sorted(chosen, key=lambda c: names[c]):
            sub = bt.subset(codes == code, 0, 0)
            part = from_battles(sub, n_bootstrap=n_bootstrap, seed=seed,
                                anchor=anchor if anchor in sub.models else None)
            parts[names[code]] = {"battles": int(sub.a.size), "prompts": len(sub.prompts), "models": part["models"]}
        result["breakdown"][field_name] = parts
        no_value = int((codes == -1).sum())
        unlisted = int(counts.sum() - counts[chosen].sum()) + log.values_left_out[k]
        notes = ([f"{no_value} battles have no {field_name}"] if no_value else []) + (
            [f"{unlisted} battles of further values are not listed (only the {BREAKDOWN_VALUES} values with the most "
             "battles are)"] if unlisted else [])
        if notes:
            result["breakdown_notes"][field_name] = "; ".join(notes)
    return result


def from_battles(bt: Battles, *, n_bootstrap: int = 1000, seed: int = 0, anchor: str | None = None
                 ) -> dict[str, Any]:
    """The leaderboard of battles already in arrays (compute without ratings and breakdowns)."""
    if n_bootstrap < 0:
        raise InvalidInput("n_bootstrap must be zero or more", field="n_bootstrap")
    if anchor is not None and anchor not in bt.models:
        raise InvalidInput(f"anchor {anchor!r} is not one of the models", field="anchor")
    result: dict[str, Any] = {
        "settings": {"n_bootstrap": n_bootstrap, "seed": seed, "scale": "1000 + 400 log10(odds)",
                     "anchor": anchor or "mean of the models", "interval": "95% percentile bootstrap over prompts",
                     "answers": bt.answers, "prompts": len(bt.prompts), "battles": int(bt.a.size)},
        "models": [], "pairs": [], "win_rates": {}, "position_advantage": None, "position_bias": position_bias(bt),
        "ratings": None, "breakdown": {}, "breakdown_notes": {}}
    if bt.a.size == 0:
        return result
    board = _board(bt, n_bootstrap, np.random.default_rng(seed), anchor)
    theta = board.pop("_theta")
    result.update(board)
    result["pairs"] = _pairs(bt)
    result["win_rates"] = _matrices(bt, theta)
    return result
