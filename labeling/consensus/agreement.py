"""Agreement statistics: Krippendorff's alpha, Fleiss' kappa, percent agreement and confusion tables."""

from __future__ import annotations

import numpy as np

from labeling.errors import InvalidInput

LEVELS = ("nominal", "ordinal", "interval")


def value_counts(unit_idx: np.ndarray, value_idx: np.ndarray, n_units: int, n_values: int) -> np.ndarray:
    """Return the (n_units, n_values) table of how often each value was given to each unit."""
    unit_idx = np.asarray(unit_idx, dtype=np.int64)
    value_idx = np.asarray(value_idx, dtype=np.int64)
    if unit_idx.shape != value_idx.shape:
        raise InvalidInput("unit and value arrays differ in length", field="values")
    if value_idx.size and (value_idx.min() < 0 or value_idx.max() >= n_values):
        raise InvalidInput(f"values must be codes in 0..{n_values - 1}", field="values")
    if unit_idx.size and (unit_idx.min() < 0 or unit_idx.max() >= n_units):
        raise InvalidInput(f"units must be codes in 0..{n_units - 1}", field="units")
    flat = np.bincount(unit_idx * n_values + value_idx, minlength=n_units * n_values)
    return flat.reshape(n_units, n_values).astype(np.float64)


def _delta2(level: str, n_c: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Squared distance between every pair of values for the given level of measurement."""
    k = n_c.size
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "interval":
        return (points[:, None] - points[None, :]) ** 2
    if level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(n_c)])
        lo = np.minimum.outer(np.arange(k), np.arange(k))
        hi = np.maximum.outer(np.arange(k), np.arange(k))
        between = cum[hi + 1] - cum[lo]  # n_g summed over g from the lower to the higher value
        return (between - (n_c[lo] + n_c[hi]) / 2.0) ** 2
    raise InvalidInput(f"unknown level {level!r}; use one of {', '.join(LEVELS)}", field="level")


def krippendorff_alpha(counts: np.ndarray, level: str = "nominal", points: np.ndarray | None = None) -> float:
    """Krippendorff's alpha from a (units, values) count table; values are ordered for ordinal/interval.

    `points` gives the numeric value of each column for the interval level (default 0..K-1).
    Units with fewer than two values are not pairable and are ignored. Returns nan when undefined.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2:
        raise InvalidInput("counts must be a (units, values) table", field="counts")
    k = counts.shape[1]
    pts = np.arange(k, dtype=np.float64) if points is None else np.asarray(points, dtype=np.float64)
    if pts.shape != (k,):
        raise InvalidInput("points must give one number per value", field="points")
    if not (counts.sum(axis=1) >= 2).any():
        return float("nan")
    return alpha_from_coincidences(coincidences(counts), level, pts)


def coincidences(counts: np.ndarray) -> np.ndarray:
    """The (values, values) coincidence matrix of a (units, values) count table; units with fewer than two
    values are not pairable and add nothing. Sums over units, so tables read page by page can be added up."""
    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    pairable = m >= 2
    counts, m = counts[pairable], m[pairable]
    # o_ck = sum over units of (n_uc n_uk - [c = k] n_uc) / (m_u - 1).
    scaled = counts / (m - 1.0)[:, None]
    return scaled.T @ counts - np.diag(scaled.sum(axis=0))


def alpha_from_coincidences(coincidence: np.ndarray, level: str = "nominal",
                            points: np.ndarray | None = None) -> float:
    """Krippendorff's alpha from a coincidence matrix (see krippendorff_alpha); nan when undefined."""
    coincidence = np.asarray(coincidence, dtype=np.float64)
    k = coincidence.shape[0]
    pts = np.arange(k, dtype=np.float64) if points is None else np.asarray(points, dtype=np.float64)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return float("nan")
    delta = _delta2(level, n_c, pts)
    observed = (coincidence * delta).sum() / n
    expected = (np.outer(n_c, n_c) * delta).sum() / (n * (n - 1.0))
    if expected <= 0:
        return 1.0 if observed <= 0 else float("nan")
    return float(1.0 - observed / expected)


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa from a (subjects, categories) count table; every subject needs the same number of ratings."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] == 0:
        raise InvalidInput("counts must be a non-empty (subjects, categories) table", field="counts")
    n = counts.sum(axis=1)
    if not np.all(n == n[0]) or n[0] < 2:
        raise InvalidInput("Fleiss' kappa needs the same number (>= 2) of ratings per subject", field="counts")
    raters = n[0]
    p_j = counts.sum(axis=0) / counts.sum()
    p_i = ((counts * (counts - 1.0)).sum(axis=1)) / (raters * (raters - 1.0))
    p_bar, p_e = p_i.mean(), (p_j**2).sum()
    if p_e >= 1.0:
        return 1.0 if p_bar >= 1.0 else float("nan")
    return float((p_bar - p_e) / (1.0 - p_e))


def percent_agreement(counts: np.ndarray) -> np.ndarray:
    """Share of agreeing pairs of ratings per unit (nan for units with fewer than two ratings)."""
    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    pairs = m * (m - 1.0)
    agree = (counts * (counts - 1.0)).sum(axis=1)
    out = np.full(m.shape, np.nan)
    ok = pairs > 0
    out[ok] = agree[ok] / pairs[ok]
    return out


def confusion(true_idx: np.ndarray, pred_idx: np.ndarray, n_classes: int) -> np.ndarray:
    """Return the (n_classes, n_classes) count table: rows the reference label, columns the given label."""
    true_idx = np.asarray(true_idx, dtype=np.int64)
    pred_idx = np.asarray(pred_idx, dtype=np.int64)
    if true_idx.shape != pred_idx.shape:
        raise InvalidInput("reference and given labels differ in length", field="labels")
    flat = np.bincount(true_idx * n_classes + pred_idx, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b between two score vectors (ties allowed); nan when either is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise InvalidInput("kendall_tau needs two vectors of the same length", field="scores")
    if a.size < 2:
        return float("nan")
    if a.size > 3000:
        return _kendall_tau_large(a, b)
    iu = np.triu_indices(a.size, k=1)
    da = np.sign(a[:, None] - a[None, :])[iu]
    db = np.sign(b[:, None] - b[None, :])[iu]
    denom = np.sqrt(np.count_nonzero(da) * np.count_nonzero(db))
    return float((da * db).sum() / denom) if denom > 0 else float("nan")


def _kendall_tau_large(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b for long vectors, chunked to bound memory."""
    concordant = nonzero_a = nonzero_b = 0.0
    for i in range(a.size - 1):  # one vectorised row per item: O(n^2) work in O(n) memory
        da = np.sign(a[i + 1:] - a[i])
        db = np.sign(b[i + 1:] - b[i])
        concordant += float((da * db).sum())
        nonzero_a += np.count_nonzero(da)
        nonzero_b += np.count_nonzero(db)
    denom = np.sqrt(nonzero_a * nonzero_b)
    return float(concordant / denom) if denom > 0 else float("nan")
