"""Read answer CSV files into columns and integer codes (stdlib csv, streamed; no pandas), and write CSV rows that
every reader takes back whole (RowWriter)."""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import math
import operator
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from labeling import files
from labeling.errors import InvalidInput


class RowWriter:
    """csv.writer with rows ended by "\n" that quotes a value holding any line break. csv quotes only the characters
    of its own line end: with "\n" a lone CR (an old Mac file's line break) went out bare, and pandas, datasets and
    spreadsheets end a row there. Each row is written with "\r\n" (so both are quoted), its end then made "\n"."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self._row = io.StringIO()
        self._csv = csv.writer(self._row, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._row.seek(0)
        self._row.truncate()
        self._csv.writerow(row)
        self.out.write(self._row.getvalue()[:-2] + "\n")

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


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


@dataclass
class RowLines:
    """The line of the file where each row starts, kept as runs of consecutive lines (a run per block, and a new one
    after a blank line or a quoted field holding a line break), so a million rows cost a few entries."""

    rows: list[int] = field(default_factory=list)  # the first row of each run
    lines: list[int] = field(default_factory=list)  # ...and its line

    def add(self, row: int, line: int) -> None:
        """Row `row` starts at line `line`."""
        if not self.rows or row - self.rows[-1] != line - self.lines[-1]:
            self.rows.append(row)
            self.lines.append(line)

    def __call__(self, row: int) -> int:
        """The line (1 = the header) where row `row` (0 = the first after the header) starts."""
        run = bisect.bisect_right(self.rows, row) - 1
        return self.lines[run] + row - self.rows[run]


class Columns(dict[str, list[str]]):
    """{column: values} read from a CSV file, with `line(i)`: where row i starts in the file, for error messages."""

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__((name, []) for name in names)
        self.line = RowLines()


def read_columns(path: str, required: Sequence[str], optional: Sequence[str] = ()) -> Columns:
    """Read a CSV with a header row into {column: values}; raise InvalidInput for missing file/columns/rows.

    The file is read in blocks. A block without quote characters or carriage returns, whose lines all have
    the header's number of fields, is split directly (exactly what the csv module would return, but faster);
    any other block and the rest of the file go through the csv module. `Columns.line(i)` is the line where
    row i starts (a quoted field may hold line breaks, so rows and lines differ).
    """
    if path != STDIN:
        why = files.unreadable(path, dash="labeling aggregate KIND -")
        if why:
            raise InvalidInput(why, field="file")
    shown = named(path)
    try:
        return _read_columns(path, shown, required, optional)
    except UnicodeDecodeError as exc:  # a spreadsheet's UTF-16 or Latin-1 export
        raise InvalidInput(f"{shown}: not UTF-8 text ({exc.reason}); save it as UTF-8 CSV", field="file") from None


STDIN = "-"  # the input path that reads standard input, as export's `-o -` writes standard output


def named(path: str) -> str:
    """An input as messages name it."""
    return "standard input" if path == STDIN else path


def _opened(path: str) -> IO[str]:
    """The input as text: a file, or standard input read whole (the header is read twice, so it must seek)."""
    if path == STDIN:
        return io.TextIOWrapper(io.BytesIO(sys.stdin.buffer.read()), encoding="utf-8-sig", newline="")
    return open(path, newline="", encoding="utf-8-sig")


def _read_columns(source: str, path: str, required: Sequence[str], optional: Sequence[str]) -> Columns:
    """read_columns on an input that exists, named `path` in messages."""
    with _opened(source) as handle:
        first = handle.readline()
        # A tab-separated file (a spreadsheet's "TSV" export) is read the same way, by its header line.
        sep = "\t" if source.lower().endswith(".tsv") or ("\t" in first and "," not in first) else ","
        handle.seek(0)
        head = csv.reader(iter(handle.readline, ""), delimiter=sep)  # a quoted header name may hold a line break
        header = next(head, None)
        if not header:
            raise InvalidInput(f"{path}: the file is empty (expected a header row with {','.join(required)})",
                               field="file")
        names = [name.strip() for name in header]
        missing = [name for name in required if name not in names]
        for name in (*required, *optional):
            if names.count(name) > 1:  # which of the two was meant is not known (said first: `task,task,label`
                # lacks worker because task was written twice, and was said as a missing column only)
                lacks = f", and no column {missing[0]!r}" if missing else ""
                raise InvalidInput(f"{path}: the header names column {name!r} {names.count(name)} times{lacks}; "
                                   "name it once", field=name)
        if missing:
            raise InvalidInput(f"{path}: missing column {missing[0]!r} (header has {sep.join(names)})",
                               field=missing[0])
        wanted = list(required) + [name for name in optional if name in names]
        positions = [names.index(name) for name in wanted]
        columns = Columns(wanted)
        line = head.line_num  # lines read so far
        while True:
            block = handle.read(BLOCK_CHARS)
            if not block:
                break
            if not block.endswith("\n"):
                block += handle.readline()
            # Split at "\n" alone: str.splitlines would also cut inside a field at \x0c, \x1c or U+2028.
            split = block.split("\n")
            if split[-1] == "":
                split.pop()
            lines = [text for text in split if text]
            if not lines:
                line += len(split)
                continue
            if ('"' not in block and "\r" not in block
                    and set(map(operator.methodcaller("count", sep), lines)) <= {len(names) - 1}):
                flat = sep.join(lines).split(sep)
                first = len(columns[wanted[0]])
                for name, pos in zip(wanted, positions):
                    columns[name].extend(flat[pos::len(names)])
                if len(lines) == len(split):
                    columns.line.add(first, line + 1)
                else:  # blank lines in the block: each row's own line
                    rows = (number for number, text in enumerate(split, start=line + 1) if text)
                    for row, number in enumerate(rows, start=first):
                        columns.line.add(row, number)
                line += len(split)
                continue
            _read_slow(itertools.chain(io.StringIO(block, newline=""), handle), path, line, wanted, positions,
                       columns, len(names), sep)
            break
    if not columns[wanted[0]]:
        raise InvalidInput(f"{path}: the file has a header but no rows", field="file")
    for name in wanted:  # " pos" after a comma is "pos", as the header's names and a project's labels are
        values = columns[name]
        if any(value != value.strip() for value in set(values)):
            values[:] = [value.strip() for value in values]
    _check_filled(path, required, columns)
    return columns


def check_names(path: str, columns: Columns, names: Sequence[str], ids: Sequence[str] = ()) -> None:
    """The names in columns `names` (labels) are one line of text without control characters, as a project's labels
    are (schemas.unfit_character), and those in `names` and `ids` (tasks, workers, items: written back quoted, a line
    break and all) look like no other name, as a model's name (tasktypes.base.looks_like_another: `cat` and `cat` + a
    zero-width space were two labels, each with part of the votes, and `a` and `a` + a word joiner two workers); else
    InvalidInput naming the first line holding one, and the column (a NUL in a label was aggregated as a label of
    its own and written out)."""
    from labeling import schemas
    from labeling.tasktypes import base

    def unfit_name(value: str, label: bool) -> str | None:
        if value.isascii() and value.isprintable() and "  " not in value:  # most values, checked in C
            return None
        return (schemas.unfit_character(value) if label else None) or base.looks_like_another(value, spaces=label)

    for name in (*names, *ids):
        if name not in columns:
            continue
        values = columns[name]
        unfit = {value: why for value in set(values) if (why := unfit_name(value, name in names))}
        if unfit:
            row = next(i for i, value in enumerate(values) if value in unfit)
            line = columns.line(row)
            raise InvalidInput(f"{named(path)}: line {line}: {name} {values[row]!r:.60} holds {unfit[values[row]]}",
                               field=name, line=line)


def _check_filled(path: str, required: Sequence[str], columns: Columns) -> None:
    """Every required column has a value in every row (an empty task, worker or label would be aggregated as one);
    else InvalidInput naming the first row that lacks one."""
    empty = []
    for name in required:
        values = columns[name]
        if "" in values:
            empty.append((values.index(""), name))
    if empty:
        row, name = min(empty)
        raise InvalidInput(f"{path}: line {columns.line(row)}: {name} is empty", field=name, line=columns.line(row))


def _read_slow(lines: Iterable[str], path: str, line: int, wanted: list[str], positions: list[int],
               columns: Columns, n_names: int, sep: str) -> None:
    """Parse the remaining lines with the csv module into `columns`, checking every row's width; `line` lines
    were read before them."""
    width = max(positions) + 1
    reader = csv.reader(lines, delimiter=sep)
    count = len(columns[wanted[0]])
    start = line + 1  # where the next row starts: line_num counts the lines a row spans, not the rows
    for row in reader:
        if row:
            if len(row) < width:
                missing = wanted[[p >= len(row) for p in positions].index(True)]
                raise InvalidInput(f"{path}: line {start} has {len(row)} fields, expected at least {width}",
                                   field=missing, line=start)
            if len(row) > n_names:  # an unquoted separator inside a value would shift or cut it
                what = "tab" if sep == "\t" else "comma"
                raise InvalidInput(f"{path}: line {start} has {len(row)} fields, the header {n_names} (quote a value "
                                   f"that holds a {what})", field="file", line=start)
            for name, pos in zip(wanted, positions):
                columns[name].append(row[pos])
            columns.line.add(count, start)
            count += 1
        start = line + reader.line_num + 1


def encode(values: Sequence[str], order: Iterable[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Map strings to codes in order of first appearance (or the given order first)."""
    codes: dict[str, int] = dict.fromkeys(order) if order is not None else {}  # type: ignore[arg-type]
    codes.update(dict.fromkeys(values))  # type: ignore[arg-type]
    names = list(codes)
    lookup = {name: i for i, name in enumerate(names)}
    idx = np.fromiter(map(lookup.__getitem__, values), dtype=np.int64, count=len(values))
    return idx, names


def label_order(values: Iterable[str]) -> list[str]:
    """Sort labels numerically when they all look like numbers, otherwise as text; numbers written differently but
    equal (`1`, `1.0`, `01`) in text order, so that the order, and the ties it breaks, never hangs on a set's."""
    unique = set(values)
    try:
        value = {label: float(label) for label in unique}
    except ValueError:
        return sorted(unique)
    if any(math.isnan(number) for number in value.values()):  # `NaN` is no number to sort by: it equals none
        return sorted(unique)
    return sorted(unique, key=lambda label: (value[label], label))


def parse_labels(text: str) -> list[str]:
    """A label set given on the command line as one CSV line (`a,b,c`; `"red, dark",blue` for a label that holds a
    comma, as an answers file quotes it; spaces around a name are not part of it), in its order."""
    try:
        fields = next(csv.reader([text], skipinitialspace=True, strict=True), None) or [""]
    except csv.Error as exc:
        raise InvalidInput(f"--labels {text!r}: not one CSV line ({exc})", field="labels") from None
    names = [name.strip() for name in fields]
    if not all(names):
        raise InvalidInput(f"--labels {text!r}: a label name is empty", field="labels")
    from labeling import schemas

    from labeling.tasktypes import base

    for name in names:
        unfit = schemas.unfit_character(name) or base.looks_like_another(name)
        if unfit:
            raise InvalidInput(f"--labels: label {name!r:.60} holds {unfit}", field="labels")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InvalidInput(f"--labels {text!r}: {twice[0]!r} is named twice", field="labels")
    return names


def read_answers(path: str, extra_labels: Iterable[str] = (), labels: Sequence[str] | None = None) -> EncodedAnswers:
    """Read task,worker,label rows into codes; `extra_labels` (e.g. from gold) join the label set. `labels`, when
    given, is the whole label set in its order (the columns of the posteriors, as a project's labels are): a label
    outside it is an error naming its line."""
    cols = read_columns(path, ("task", "worker", "label"))
    check_names(path, cols, ("label",), ids=("task", "worker"))
    if labels is not None:
        known = set(labels)
        for i, label in enumerate(cols["label"]):
            if label not in known:
                raise InvalidInput(f"{named(path)}: line {cols.line(i)}: label {label!r} is not one of --labels",
                                   field="label", line=cols.line(i))
        labels = list(labels)
    else:
        labels = label_order(list(set(cols["label"])) + list(extra_labels))
    task_idx, tasks = encode(cols["task"])
    worker_idx, workers = encode(cols["worker"])
    label_idx, labels = encode(cols["label"], labels)
    return EncodedAnswers(task_idx, worker_idx, label_idx, tasks, workers, labels)


def read_gold(path: str, labels: Sequence[str] | None = None) -> dict[str, str]:
    """Read task,label rows into {task: label}; a task repeated with the same label is one, with another an error,
    as is a label outside `labels` when it is given."""
    cols = read_columns(path, ("task", "label"))
    check_names(path, cols, ("label",), ids=("task",))
    gold: dict[str, str] = {}
    first: dict[str, int] = {}
    known = set(labels) if labels is not None else None
    for i, (task, label) in enumerate(zip(cols["task"], cols["label"])):
        if known is not None and label not in known:
            raise InvalidInput(f"{named(path)}: line {cols.line(i)}: gold label {label!r} is not one of --labels",
                               field="label", line=cols.line(i))
        if gold.setdefault(task, label) != label:
            raise InvalidInput(f"{named(path)}: line {cols.line(i)}: task {task!r} has gold label {label!r}, but line "
                               f"{cols.line(first[task])} gave it {gold[task]!r}", field="label", line=cols.line(i))
        first.setdefault(task, i)
    return gold


def gold_array(gold: dict[str, str], tasks: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Gold label code per task (-1 where unknown or the label is not among `labels`)."""
    lookup = {name: i for i, name in enumerate(labels)}
    return np.fromiter((lookup.get(gold[task], -1) if task in gold else -1 for task in tasks), dtype=np.int64,
                       count=len(tasks))
