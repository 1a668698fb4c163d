"""Pairwise outcomes, Bradley-Terry and Likert summaries."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.consensus import agreement, ranking, simulate
from labeling.errors import InvalidInput


def test_ranking_to_pairs_gives_ties_half_a_win() -> None:
    pairs = ranking.ranking_to_pairs([["a"], ["b", "c"], ["d"]])
    assert ("a", "b", 1.0) in pairs
    assert ("b", "c", 0.5) in pairs
    assert ("c", "d", 1.0) in pairs
    assert len(pairs) == 6


@pytest.mark.parametrize("method", ["newton", "mm"])
def test_bradley_terry_recovers_a_known_order(method: str) -> None:
    rng = np.random.default_rng(0)
    true = np.linspace(2.0, -2.0, 8)  # item 0 is best
    left, right = rng.integers(0, 8, 4000), rng.integers(0, 8, 4000)
    outcome = (rng.random(4000) < 1.0 / (1.0 + np.exp(true[right] - true[left]))).astype(float)
    fit = ranking.bradley_terry(left, right, outcome, 8, method=method)
    assert fit.converged
    assert np.argsort(-fit.scores).tolist() == list(range(8))
    assert agreement.kendall_tau(fit.scores, true) == pytest.approx(1.0)
    assert fit.probability(0, 7) > 0.9
    assert fit.probability(0, 7) + fit.probability(7, 0) == pytest.approx(1.0)


def test_newton_and_mm_agree() -> None:
    left, right, outcome = np.array([0, 1, 2, 0]), np.array([1, 2, 0, 2]), np.array([1.0, 1.0, 0.5, 1.0])
    a = ranking.bradley_terry(left, right, outcome, 3, method="newton")
    b = ranking.bradley_terry(left, right, outcome, 3, method="mm", tol=1e-10)
    assert a.scores == pytest.approx(b.scores, abs=1e-5)


def test_regularisation_keeps_an_unbeaten_item_finite() -> None:
    fit = ranking.bradley_terry(np.array([0, 0]), np.array([1, 1]), np.array([1.0, 1.0]), 3)
    assert np.all(np.isfinite(fit.scores))
    assert fit.scores[0] > fit.scores[2] > fit.scores[1]  # the unplayed item sits in the middle


def test_bradley_terry_rejects_bad_outcomes() -> None:
    with pytest.raises(InvalidInput):
        ranking.bradley_terry(np.array([0]), np.array([1]), np.array([2.0]), 2)
    with pytest.raises(InvalidInput):
        ranking.bradley_terry(np.array([0]), np.array([5]), np.array([1.0]), 2)


def test_consensus_ranking_of_three_workers() -> None:
    cons = ranking.consensus_ranking([[["a"], ["b", "c"]], [["a"], ["c"], ["b"]], [["b"], ["a"], ["c"]]])
    assert cons.ranking[0] == ["a"]
    assert [p["chosen"] for p in cons.pairs[:2]] == ["a", "a"]
    assert all(0.5 <= p["probability"] < 1.0 for p in cons.pairs)
    assert 0.0 < cons.agreement < 1.0
    assert 0.5 < cons.confidence < 1.0


def test_opposite_rankings_tie() -> None:
    cons = ranking.consensus_ranking([[["x"], ["y"]], [["y"], ["x"]]])
    assert cons.ranking == [["x", "y"]]
    assert cons.confidence == pytest.approx(0.5)
    assert cons.agreement == pytest.approx(0.0)


def test_one_opinion_is_not_certainty() -> None:
    assert ranking.consensus_ranking([[["x"], ["y"]]]).confidence < 0.8


def test_likert_summary() -> None:
    s = ranking.likert_summary([1, 2, 3, 4, 7])
    assert (s["median"], s["spread"], s["n"]) == (3.0, 2.0, 5)
    assert ranking.likert_summary([])["median"] is None


def test_newton_cg_agrees_with_dense_newton() -> None:
    rng = np.random.default_rng(2)
    left, right = rng.integers(0, 40, 3000), rng.integers(0, 40, 3000)
    outcome = rng.choice([0.0, 0.5, 1.0], 3000)
    dense = ranking.bradley_terry(left, right, outcome, 40, method="newton", tol=1e-10)
    sparse = ranking.bradley_terry(left, right, outcome, 40, method="newton-cg", tol=1e-10)
    assert sparse.converged and sparse.scores == pytest.approx(dense.scores, abs=1e-6)


def test_noisy_bradley_terry_discounts_random_clickers() -> None:
    crowd = simulate.comparisons(0, n_items=300, n_comparisons=6000, n_workers=30)
    plain = ranking.bradley_terry(crowd.left, crowd.right, crowd.outcome, 300)
    noisy = ranking.noisy_bradley_terry(crowd.left, crowd.right, crowd.outcome, 300, crowd.worker, crowd.n_workers)
    assert agreement.kendall_tau(noisy.scores, crowd.scores) > agreement.kendall_tau(plain.scores, crowd.scores)
    active = np.unique(crowd.worker)  # the random clickers among them come out unreliable, the careful reliable
    assert 0.0 < noisy.reliability[active].min() < 0.3 < 0.8 < noisy.reliability[active].max()
    assert noisy.scores.mean() == pytest.approx(0.0, abs=1e-9)


def test_noisy_bradley_terry_takes_ties_and_checks_workers() -> None:
    crowd = simulate.comparisons(1, n_items=50, n_comparisons=2000, n_workers=10, tie_margin=0.5)
    assert (crowd.outcome == 0.5).any()
    fit = ranking.noisy_bradley_terry(crowd.left, crowd.right, crowd.outcome, 50, crowd.worker, crowd.n_workers)
    assert agreement.kendall_tau(fit.scores, crowd.scores) > 0.6
    with pytest.raises(InvalidInput):
        ranking.noisy_bradley_terry(crowd.left, crowd.right, crowd.outcome, 50, crowd.worker, 3)
