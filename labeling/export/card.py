"""The dataset card (README.md) of a folder export: a YAML header `datasets.load_dataset(DIR)` reads (configs,
splits, data files), then counts, label distribution, annotators, redundancy, agreement, the aggregation
method, the instructions workers saw, the date of the data and the license. Figures are gathered page by page
as the rows stream by (Krippendorff's alpha from coincidence matrices added up), so memory stays constant."""

from __future__ import annotations

import re
import time
from collections import Counter

import numpy as np

from labeling.consensus import agreement
from labeling.export.rows import Report, TaskRow
from labeling.export.writer import Context, yaml_string

MAX_RANK_POSITIONS = 16  # preference tasks have at most this many responses, so this many tiers


class Stats:
    """Figures of the exported tasks, gathered page by page."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.family = ctx.spec.family
        self.tasks = 0
        self.answers = 0
        self.workers: set[str] = set()
        self.labels: Counter[str] = Counter()
        self.methods: Counter[str] = Counter()
        self.agreement_sum = 0.0
        self.agreement_n = 0
        self.as_of: float | None = None
        self.coincidence: np.ndarray | None = None
        self.level = "ordinal" if self.family == "ranking" else "nominal"
        self.index = {label: i for i, label in enumerate(ctx.labels)}

    def observe(self, rows: list[TaskRow]) -> None:
        """Count one page of exported tasks."""
        units: list[list[float]] = []
        for row in rows:
            self.tasks += 1
            if row.method:
                self.methods[row.method] += 1
            if row.updated_at is not None and (self.as_of is None or row.updated_at > self.as_of):
                self.as_of = row.updated_at
            if row.agreement is not None:
                self.agreement_sum += row.agreement
                self.agreement_n += 1
            self._labels(row.answer)
            counted = [a for a in row.answers or () if not a.excluded]
            self.answers += len(counted)
            self.workers.update(a.worker for a in counted)
            units.extend(self._units(counted))
        if units:
            part = agreement.coincidences(np.array(units, dtype=np.float64))
            self.coincidence = part if self.coincidence is None else self.coincidence + part

    def _labels(self, answer: dict | None) -> None:
        if not answer:
            return
        if self.family == "classification" and answer.get("label") is not None:
            self.labels[str(answer["label"])] += 1
        elif self.family == "multilabel":
            self.labels.update(str(x) for x in answer.get("labels") or [])
        elif self.family == "boxes":
            self.labels.update(str(b.get("label")) for b in answer.get("boxes") or [])
        elif self.family == "spans":
            self.labels.update(str(s.get("label")) for s in answer.get("spans") or [])

    def _units(self, answers: list) -> list[list[float]]:
        """Rows of the (units, values) count table for one task's answers (as the quality report builds them)."""
        if len(answers) < 2:
            return []
        if self.family == "classification":
            row = [0.0] * len(self.index)
            for a in answers:
                if a.answer.get("label") in self.index:
                    row[self.index[a.answer["label"]]] += 1
            return [row]
        if self.family == "multilabel":
            out = []
            for label in self.index:
                yes = sum(label in (a.answer.get("labels") or []) for a in answers)
                out.append([float(len(answers) - yes), float(yes)])
            return out
        if self.family == "ranking":
            positions: dict[str, list[float]] = {}
            for a in answers:
                for pos, tier in enumerate(a.answer.get("ranking") or []):
                    for item in tier:
                        positions.setdefault(str(item), [0.0] * MAX_RANK_POSITIONS)[min(pos, MAX_RANK_POSITIONS - 1)] += 1
            return list(positions.values())
        return []

    def alpha(self) -> float | None:
        """Krippendorff's alpha over the exported tasks (None where it is not defined)."""
        if self.coincidence is None:
            return None
        value = agreement.alpha_from_coincidences(self.coincidence, self.level)
        return None if np.isnan(value) else round(value, 4)


def _yaml(value: str) -> str:
    """A YAML scalar: a double-quoted string (datasets reads the header with a YAML reader)."""
    return yaml_string(value)


# Where a user opening a CSV export reads first: its cells are training data, written as stored, never altered.
CSV_INJECTION = ("", ("Cells are the data as stored. A text that begins with `=`, `+`, `-` or `@` is a formula to a "
                       "spreadsheet program (CSV injection): open these files as data (a spreadsheet's import as text, "
                       "or a CSV reader), not by double-clicking them."))
CSV_ESCAPED = ("", ("Made with --csv-escape-formulas: a text cell that begins with `=`, `+`, `-`, `@`, a tab or a "
                    "carriage return (a formula to a spreadsheet program) begins with `'` before it, as does such a "
                    "column name; a spreadsheet shows the text and hides the `'`, a CSV reader keeps it: take it off "
                    "to get the stored text."))


_BREAKS = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")  # what str.splitlines breaks a line at


def _md(text: str) -> str:
    """Text for one Markdown heading or table cell: a line break would end it, and a `|` its cell."""
    return _BREAKS.sub(" ", text).replace("\\", "\\\\").replace("|", "\\|")


# datasets fixes a column's type from the first part of a file it reads (10 MB of JSON Lines, 10,000 CSV rows): a
# column that first has a value, or another type, later (an open task's label, a response's model, a data field only
# some tasks have) stopped `load_dataset(DIR)` with "Couldn't cast". The card has it read each file as one part
# (up to 1 GB of JSON Lines; CSV: every row of the longest file), as the README tells a reader of a single file to.
JSON_PART = 1 << 30
CSV_PART = 10_000


def _one_part(loader: str, files: dict[str, tuple[str, int]]) -> list[str]:
    """The config lines that have datasets read each file as one part."""
    if loader == "json":
        return [f"  chunksize: {JSON_PART}"]
    rows = max((n for _, n in files.values()), default=0)
    return [f"  chunksize: {rows}"] if loader == "csv" and rows > CSV_PART else []


def render(ctx: Context, fmt_name: str, loader: str | None, files: dict[str, tuple[str, int]], stats: Stats,
           report: Report, redundancy: str) -> str:
    """The README.md text. `files` maps each split to (its data file, its rows)."""
    head = ["---", f"pretty_name: {_yaml(ctx.project_name)}"]
    if ctx.license:
        head.append(f"license: {_yaml(ctx.license)}")
    filled = {split: path for split, (path, rows) in files.items() if rows}  # datasets refuses an empty file
    if loader and filled:
        head += ["configs:", "- config_name: default", *_one_part(loader, files), "  data_files:"]
        for split, path in filled.items():
            head += [f"  - split: {_yaml(split)}", f"    path: {_yaml(path)}"]
    head.append("---")
    alpha = stats.alpha()
    mean_agreement = round(stats.agreement_sum / stats.agreement_n, 4) if stats.agreement_n else None
    body = [
        f"# {_md(ctx.project_name)}", "",
        f"A `{ctx.task_type}` dataset exported from labeling as `{fmt_name}`"
        + (f" (load it with `datasets.load_dataset(\"{loader}\", ...)` or `datasets.load_dataset(DIR)`)." if loader
           else "."),
        "", "## Contents", "", "| split | file | rows |", "|---|---|---|",
        *[f"| {split} | `{path}` | {rows:,} |" for split, (path, rows) in files.items()],
        *((CSV_ESCAPED if ctx.options.csv_escape_formulas else CSV_INJECTION) if fmt_name == "csv" else ()),
        "", "## Annotation", "",
        f"- tasks: {stats.tasks:,}; answers: {stats.answers:,}; annotators: {len(stats.workers):,}",
        f"- redundancy: {redundancy}; mean answers per task: "
        + (f"{stats.answers / stats.tasks:.2f}" if stats.tasks else "none"),
        "- agreement: Krippendorff's alpha " + (f"{alpha} ({stats.level})" if alpha is not None
                                                else "not defined for this task type or these answers")
        + (f"; mean per-task agreement {mean_agreement}" if mean_agreement is not None else ""),
        "- aggregation: " + (", ".join(f"{m} ({n:,} tasks)" for m, n in stats.methods.most_common()) or "none"),
        f"- data as of: {_when(stats.as_of) if stats.as_of else 'no consensus yet'}",
        f"- license: {ctx.license or 'not set by the project'}",
    ]
    if stats.labels:
        body += ["", "## Labels", "", "| label | count |", "|---|---|",
                 *[f"| {_md(label)} | {n:,} |" for label, n in stats.labels.most_common()]]
    body += ["", "## Instructions workers saw", ""]
    body += [f"> {line}" if line else ">" for line in (ctx.instructions or "(none)").splitlines()]
    if report.counts:
        body += ["", "## Left out or changed", "", *[f"- {_BREAKS.sub(' ', line)}" for line in report.lines()]]
    return "\n".join(head + [""] + body) + "\n"


def _when(ts: float) -> str:
    """A time as a reader of the card reads it: to the second, in UTC (the API's ISO form had microseconds)."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))
