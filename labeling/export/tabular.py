"""Row formats: `jsonl` and `csv` (one row per task), `annotations` (every answer), `spans` and `conll`
(named entities)."""

from __future__ import annotations

import io
import re
import unicodedata
from typing import Any, Iterable

from labeling.consensus import csvio
from labeling.export.archive import Sink
from labeling.export.rows import Report, TaskRow, iso_utc
from labeling.export.writer import NO_CONSENSUS, Context, Writer, data_fields, data_name, dumps

# Words of letters and digits, and each other character but white space its own token. `_` is no letter to the
# labeling page (Unicode's connector punctuation): a word there ends at it (`john` of `john_doe`), so it does here.
TOKEN = re.compile(r"[^\W_]+|[^\w\s]|_", re.UNICODE)
TOKEN_WORD = re.compile(r"[^\W_]")
SPACES = re.compile(r"\s+")
SPACED_LABELS = "labels with spaces (written with _ in conll, whose columns are separated by whitespace)"
ALIKE_LABELS = "labels that conll writes as one tag (their spans cannot be told apart there)"


def record(ctx: Context, task_id: int, external_id: str | None, data: dict, answer: dict | None, details: dict,
           confidence: float | None, n_annotations: int, agreement: float | None, reviewed: Any, is_gold: Any) -> dict:
    """One task as a row: id, external id, its data fields, its consensus columns, then the figures (and whether it
    is a gold task, when the export has them)."""
    out: dict[str, Any] = {"id": task_id, "external_id": external_id}
    out.update(data_fields(data, ctx.reserved))
    out.update(ctx.spec.consensus_row(answer, details))
    out["confidence"] = confidence
    out["n_annotations"] = n_annotations
    out["agreement"] = agreement
    out["reviewed"] = bool(reviewed)
    out.update(dict.fromkeys(ctx.gold_column, bool(is_gold)))
    return out


def task_record(row: TaskRow, ctx: Context) -> dict:
    """A task row as a row of the table."""
    return record(ctx, row.id, row.external_id, row.data, row.answer, row.details, row.confidence, row.n_annotations,
                  row.agreement, row.reviewed, row.is_gold)


class Jsonl(Writer):
    """One JSON object per task a line."""

    takes_records = True

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        ctx = self.ctx
        self.records((task_record(row, ctx) for row in rows), sink)

    def records(self, records: Iterable[dict], sink: Sink) -> None:
        self.emit(records, sink)


def header(ctx: Context) -> list[str]:
    """The CSV columns: ours, every data field of the export, the task type's consensus columns."""
    fields = [data_name(k, ctx.reserved) for k in ctx.data_keys]
    answer = list(ctx.spec.consensus_row(None, {}))
    return ["id", "external_id", *fields, *answer, "confidence", "n_annotations", "agreement", "reviewed",
            *ctx.gold_column]


def cell(value: Any) -> Any:
    """A CSV cell: nested values as JSON text, None as empty."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return dumps(value)
    return value


# What makes a spreadsheet program run a cell as a formula (CSV injection): OWASP's list of first characters.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escaped(value: Any) -> Any:
    """A cell with --csv-escape-formulas: a text a spreadsheet would run as a formula begins with ' (OWASP), which
    the spreadsheet shows as text and hides; numbers and every other text are as they are."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


class Csv(Writer):
    """One task a row, nested values as JSON text; the header lists every data field of the export."""

    takes_records = True

    def start(self, sink: Sink) -> None:
        super().start(sink)
        self.columns = header(self.ctx)
        self.escape = self.ctx.options.csv_escape_formulas
        self._buffer = io.StringIO()
        self._csv = csvio.RowWriter(self._buffer)
        self._csv.writerow([escaped(c) for c in self.columns] if self.escape else self.columns)
        sink.write(self._take())

    def _take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        ctx = self.ctx
        self.records((task_record(row, ctx) for row in rows), sink)

    def records(self, records: Iterable[dict], sink: Sink) -> None:
        columns, writerow = self.columns, self._csv.writerow
        n = 0
        if self.escape:
            for record in records:
                writerow([escaped(cell(record.get(c))) for c in columns])
                n += 1
        else:
            for record in records:
                writerow([cell(record.get(c)) for c in columns])
                n += 1
        sink.write(self._take())
        self.written += n


class Annotations(Writer):
    """Every answer of the exported tasks, a JSON object a line: who (a pseudonym), when, how long, the flags and
    the whole answer, for people who run their own aggregation."""

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        answer_row = self.ctx.spec.answer_row
        records = []
        for row in rows:
            for a in row.answers or ():
                record = {"task_id": row.id, "external_id": row.external_id, "worker": a.worker,
                          "created_at": iso_utc(a.created_at), "duration_ms": a.duration_ms, "gold": a.is_gold,
                          "gold_score": a.gold_score, "excluded": a.excluded, **answer_row(a.answer),
                          "answer": a.answer}
                records.append(record)
        self.emit(records, sink)


def entities(row: TaskRow) -> list[dict]:
    """A task's consensus spans with their text and confidence."""
    text = row.data.get("text", "")
    scored = (row.details or {}).get("spans") or []
    out = []
    for i, span in enumerate((row.answer or {}).get("spans") or []):
        confidence = scored[i].get("confidence") if i < len(scored) and not row.is_gold else (
            1.0 if row.is_gold else None)
        out.append({"start": span["start"], "end": span["end"], "label": span["label"],
                    "text": text[span["start"]:span["end"]], "confidence": confidence})
    return out


class Spans(Writer):
    """Named entities as JSON Lines: the text and its entities (start, end, label, text, confidence)."""

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        self.emit(({"id": row.id, "external_id": row.external_id, "text": row.data.get("text", ""),
                    "entities": entities(row)} for row in labeled(rows, self.report)), sink)


def labeled(rows: list[TaskRow], report: Report) -> list[TaskRow]:
    """The rows with a consensus; the others counted (spans and conll cannot say "not labeled yet")."""
    out = [row for row in rows if row.answer is not None]
    if len(out) < len(rows):
        report.add(NO_CONSENSUS, None, len(rows) - len(out))
    return out


ZWJ = "\u200d"


def _joins(char: str) -> bool:
    """A combining mark (a vowel sign, an accent, a variation selector), a joiner or an emoji skin tone: part of
    the character before it, never a token of its own (\\w matches none of them)."""
    return char == ZWJ or unicodedata.category(char)[0] == "M" or "\U0001F3FB" <= char <= "\U0001F3FF"


def tokens(text: str) -> list[tuple[int, int]]:
    """Word and punctuation tokens as (start, end) character offsets; combining marks and joiners stay in the token
    they follow, and a word after a mark or anything after a joiner continues it (as the labeling page's words do)."""
    out: list[tuple[int, int]] = []
    for match in TOKEN.finditer(text):
        start, end = match.span()
        before = text[start - 1] if start else ""
        if out and out[-1][1] == start and (_joins(text[start]) or before == ZWJ or (
                _joins(before) and TOKEN_WORD.match(text[start]))):
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def bio(text: str, spans: list[dict]) -> tuple[list[tuple[str, str]], list[tuple[str, dict]]]:
    """(token, tag) pairs in BIO, and the spans left out with why: a span must start and end on token
    boundaries and not overlap an earlier one; it is never moved to fit."""
    toks = tokens(text)
    starts = {s: i for i, (s, _) in enumerate(toks)}
    ends = {e: i for i, (_, e) in enumerate(toks)}
    tags = ["O"] * len(toks)
    dropped: list[tuple[str, dict]] = []
    for span in sorted(spans, key=lambda s: (s["start"], s["end"])):
        first, last = starts.get(span["start"]), ends.get(span["end"])
        if first is None or last is None:
            dropped.append(("spans not on token boundaries (left out of conll)", span))
            continue
        if any(tag != "O" for tag in tags[first:last + 1]):
            dropped.append(("overlapping spans (left out of conll)", span))
            continue
        label = SPACES.sub("_", span["label"])  # a tag with a space would read as two columns
        tags[first] = f"B-{label}"
        for i in range(first + 1, last + 1):
            tags[i] = f"I-{label}"
    return [(text[s:e], tag) for (s, e), tag in zip(toks, tags)], dropped


class Conll(Writer):
    """CoNLL: one token and its BIO tag a line, a blank line between documents."""

    spaced: set[str]

    def start(self, sink: Sink) -> None:
        super().start(sink)
        self.spaced = set()  # labels with spaces already reported
        alike: dict[str, list[str]] = {}
        for label in self.ctx.labels:
            alike.setdefault(SPACES.sub("_", label), []).append(label)
        for tag, labels in alike.items():  # "A B" and "A_B" would be one tag: said, as the file cannot tell them
            if len(labels) > 1:
                self.report.add(ALIKE_LABELS, f"{' and '.join(map(repr, labels))} as {tag!r}", len(labels))

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        out = []
        rows = labeled(rows, self.report)
        for row in rows:
            text = row.data.get("text", "")
            spans = list((row.answer or {}).get("spans") or [])
            pairs, dropped = bio(text, spans)
            for reason, span in dropped:
                self.report.add(reason, f"task {row.id} {text[span['start']:span['end']]!r}")
            for label in {span["label"] for span in spans if SPACES.search(span["label"])} - self.spaced:
                self.spaced.add(label)
                self.report.add(SPACED_LABELS, f"{label!r} as {SPACES.sub('_', label)!r}")
            out.extend(f"{token} {tag}\n" for token, tag in pairs)
            out.append("\n")
        sink.write("".join(out))
        self.written += len(rows)
