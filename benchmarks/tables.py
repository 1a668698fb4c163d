"""Markdown tables for the benchmark scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence


def markdown(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table: the header, the separator, one line per row (cells as given, str() of each)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def emit(report: dict, as_json: bool, print_tables: Callable[[dict], None]) -> int:
    """Print the report as JSON or through its table printer; the script's exit status."""
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print_tables(report)
    return 0
