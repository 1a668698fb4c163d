"""Agreement statistics against textbook values."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.consensus import agreement
from labeling.errors import InvalidInput

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders, 12 units, missing values.
KRIPPENDORFF = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
# Wikipedia, "Fleiss' kappa": 10 subjects, 14 raters, 5 categories; kappa = 0.210.
FLEISS = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
          [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


def krippendorff_counts() -> np.ndarray:
    units = [u for row in KRIPPENDORFF for u, v in enumerate(row) if v is not None]
    values = [v - 1 for row in KRIPPENDORFF for v in row if v is not None]
    return agreement.value_counts(np.array(units), np.array(values), 12, 5)


@pytest.mark.parametrize("level, expected", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_alpha_matches_the_published_example(level: str, expected: float) -> None:
    assert agreement.krippendorff_alpha(krippendorff_counts(), level) == pytest.approx(expected, abs=0.0005)


def test_krippendorff_alpha_is_one_for_perfect_agreement_and_rejects_unknown_level() -> None:
    counts = np.array([[3, 0], [0, 3], [3, 0]])
    assert agreement.krippendorff_alpha(counts) == pytest.approx(1.0)
    with pytest.raises(InvalidInput):
        agreement.krippendorff_alpha(counts, "ratio-ish")


def test_fleiss_kappa_matches_wikipedia() -> None:
    assert agreement.fleiss_kappa(np.array(FLEISS)) == pytest.approx(0.210, abs=0.0005)


def test_fleiss_kappa_needs_equal_ratings_per_subject() -> None:
    with pytest.raises(InvalidInput):
        agreement.fleiss_kappa(np.array([[2, 1], [1, 1]]))


def test_percent_agreement_per_unit() -> None:
    pa = agreement.percent_agreement(np.array([[3, 0], [2, 1], [1, 0]]))
    assert pa[0] == 1.0
    assert pa[1] == pytest.approx(1 / 3)
    assert np.isnan(pa[2])


def test_confusion_counts_reference_rows_against_given_columns() -> None:
    table = agreement.confusion(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2)
    assert table.tolist() == [[1, 1], [0, 2]]


def test_kendall_tau() -> None:
    assert agreement.kendall_tau(np.array([1, 2, 3]), np.array([10, 20, 30])) == pytest.approx(1.0)
    assert agreement.kendall_tau(np.array([1, 2, 3]), np.array([3, 2, 1])) == pytest.approx(-1.0)
    assert agreement.kendall_tau(np.array([1, 2, 3, 4]), np.array([1, 3, 2, 4])) == pytest.approx(2 / 3)
