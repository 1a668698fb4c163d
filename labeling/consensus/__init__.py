"""Consensus and quality: pure NumPy aggregation of redundant answers (no database here)."""


def probability(p: float) -> float:
    """A confidence as stored and exported: in [0, 1], with the float error of a sum or a mean at either end
    snapped to it (three identical boxes' mean has an IoU of 0.9999999999999998 with each, weighted spans a support
    of 1.0000000000000002, and `--min-confidence 1` must keep a task every worker agreed on)."""
    p = float(p)
    if p > 1.0 - 1e-12:  # some ten thousand ulps: a mean's error, never a posterior a dissenting answer left
        return 1.0
    return 0.0 if p < 1e-12 else p
