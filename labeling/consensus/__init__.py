"""Consensus and quality: pure NumPy aggregation of redundant answers (no database here)."""
