"""Read answer CSV files into columns and integer codes (stdlib csv, streamed; no pandas)."""

from __future__ import annotations

import csv
import io
import itertools
import operator
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from labeling.errors import InvalidInput


@dataclass
class EncodedAnswers:
    """Classification answers as int codes plus the names behind each code."""

    task_idx: np.ndarray
    worker_idx: np.ndarray
    label_idx: np.ndarray
    tasks: list[str]
    workers: list[str]
    labels: list[str]


BLOCK_CHARS = 1 << 24  # read this much text at a time


def read_columns(path: str, required: Sequence[str], optional: Sequence[str] = ()) -> dict[str, list[str]]:
    """Read a CSV with a header row into {column: values}; raise InvalidInput for missing file/columns/rows.

    The file is read in blocks. A block without quote characters, whose lines all have the header's
    number of fields, is split directly (exactly what the csv module would return, but faster); any
    other block and the rest of the file go through the csv module.
    """
    if not os.path.isfile(path):
        raise InvalidInput(f"{path}: no such file", field="file")
    try:
        return _read_columns(path, required, optional)
    except UnicodeDecodeError as exc:  # a spreadsheet's UTF-16 or Latin-1 export
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8 CSV", field="file") from None


def _read_columns(path: str, required: Sequence[str], optional: Sequence[str]) -> dict[str, list[str]]:
    """read_columns on a file that exists."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader([handle.readline()]), None)
        if not header:
            raise InvalidInput(f"{path}: the file is empty (expected a header row with {','.join(required)})",
                               field="file")
        names = [name.strip() for name in header]
        for name in required:
            if name not in names:
                raise InvalidInput(f"{path}: missing column {name!r} (header has {','.join(names)})", field=name)
        wanted = list(required) + [name for name in optional if name in names]
        positions = [names.index(name) for name in wanted]
        columns: dict[str, list[str]] = {name: [] for name in wanted}
        line = 1
        while True:
            block = handle.read(BLOCK_CHARS)
            if not block:
                break
            if not block.endswith("\n"):
                block += handle.readline()
            lines = [text for text in block.splitlines() if text]
            if not lines:
                line += block.count("\n")
                continue
            if '"' not in block and set(map(operator.methodcaller("count", ","), lines)) <= {len(names) - 1}:
                flat = ",".join(lines).split(",")
                for name, pos in zip(wanted, positions):
                    columns[name].extend(flat[pos::len(names)])
                line += block.count("\n")
                continue
            _read_slow(itertools.chain(io.StringIO(block), handle), path, line, wanted, positions, columns)
            break
    if not columns[wanted[0]]:
        raise InvalidInput(f"{path}: the file has a header but no rows", field="file")
    return columns


def _read_slow(lines: Iterable[str], path: str, line: int, wanted: list[str], positions: list[int],
               columns: dict[str, list[str]]) -> None:
    """Parse the remaining lines with the csv module into `columns`, checking every row's width."""
    width = max(positions) + 1
    reader = csv.reader(lines)
    for row in reader:
        if not row:
            continue
        if len(row) < width:
            missing = wanted[[p >= len(row) for p in positions].index(True)]
            raise InvalidInput(f"{path}: line {line + reader.line_num} has {len(row)} fields, "
                               f"expected at least {width}", field=missing)
        for name, pos in zip(wanted, positions):
            columns[name].append(row[pos])


def encode(values: Sequence[str], order: Iterable[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Map strings to codes in order of first appearance (or the given order first)."""
    codes: dict[str, int] = dict.fromkeys(order) if order is not None else {}  # type: ignore[arg-type]
    codes.update(dict.fromkeys(values))  # type: ignore[arg-type]
    names = list(codes)
    lookup = {name: i for i, name in enumerate(names)}
    idx = np.fromiter(map(lookup.__getitem__, values), dtype=np.int64, count=len(values))
    return idx, names


def label_order(values: Iterable[str]) -> list[str]:
    """Sort labels numerically when they all look like numbers, otherwise as text."""
    unique = set(values)
    try:
        return sorted(unique, key=float)
    except ValueError:
        return sorted(unique)


def read_answers(path: str, extra_labels: Iterable[str] = ()) -> EncodedAnswers:
    """Read task,worker,label rows into codes; `extra_labels` (e.g. from gold) join the label set."""
    cols = read_columns(path, ("task", "worker", "label"))
    labels = label_order(list(set(cols["label"])) + list(extra_labels))
    task_idx, tasks = encode(cols["task"])
    worker_idx, workers = encode(cols["worker"])
    label_idx, labels = encode(cols["label"], labels)
    return EncodedAnswers(task_idx, worker_idx, label_idx, tasks, workers, labels)


def read_gold(path: str) -> dict[str, str]:
    """Read task,label rows into {task: label} (the last row wins for a repeated task)."""
    cols = read_columns(path, ("task", "label"))
    return dict(zip(cols["task"], cols["label"]))


def gold_array(gold: dict[str, str], tasks: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Gold label code per task (-1 where unknown or the label is not among `labels`)."""
    lookup = {name: i for i, name in enumerate(labels)}
    return np.fromiter((lookup.get(gold.get(task, ""), -1) for task in tasks), dtype=np.int64, count=len(tasks))
