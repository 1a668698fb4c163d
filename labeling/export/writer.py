"""What every format writer shares: the context it writes in, and the push interface the exporter drives.

A writer makes one output file (YOLO: one folder tree) from task rows, in one or more passes over them (COCO
reads its rows twice: images, then annotations), seeing only one page of rows at a time.
"""

from __future__ import annotations

import functools
import json
import re

import orjson
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from labeling import tasktypes
from labeling.export.archive import Sink
from labeling.export.options import Options
from labeling.export.rows import Report, TaskRow

# Formats whose file has no room for "not labeled yet" (COCO, YOLO, spans, CoNLL): a task without a consensus
# (--include-open) would read as one labeled with no boxes or no entities, a negative to train on. They leave it out.
NO_CONSENSUS = "tasks without a consensus yet (left out: without boxes or spans they would read as labeled empty)"

# Columns every task row has; a data field of the same name is written as data_<name>.
TASK_COLUMNS = ("id", "external_id", "confidence", "n_annotations", "agreement", "reviewed")

# Every box format (coco, yolo, manifest) holds a box to its image the same way, and says what that changed.
CLIPPED = "boxes clipped to their image"
NO_AREA = "boxes with no area inside their image (left out)"


@dataclass(frozen=True)
class ImageSize:
    """An image's size in pixels (depth: colour channels, when known)."""

    width: int
    height: int
    depth: int | None = None


def _side(start: float, length: float, side: int) -> tuple[float, float] | None:
    """One side of a box held to [0, side]: (start, length) as they are when inside (never recomputed: x + w - x
    is not always w in floats), else the part inside; None when no part of it is."""
    if start >= 0 and start + length <= side:
        return start, length
    first, end = max(start, 0.0), min(start + length, float(side))
    return (first, end - first) if end > first else None


def clip_box(box: dict, size: ImageSize) -> tuple[tuple[float, float, float, float] | None, bool]:
    """((x, y, w, h) of the part of the box inside the image, or None when it has no area there; whether it was
    clipped). A stored box may reach past its image: by the pixel a worker's page may round past the edge, or
    anywhere on an image whose size was unknown when it was answered (an http URL, its size in the data)."""
    across, down = _side(box["x"], box["w"], size.width), _side(box["y"], box["h"], size.height)
    if across is None or down is None or across[1] <= 0 or down[1] <= 0:
        return None, True
    clipped = across != (box["x"], box["w"]) or down != (box["y"], box["h"])
    return (across[0], down[0], across[1], down[1]), clipped


def _no_size(data: dict) -> ImageSize | None:
    return None


def _no_file(data: dict) -> Path | None:
    return None


@dataclass(frozen=True)
class Context:
    """What writers know besides the rows: the project, the options, and how to find images."""

    project_name: str
    task_type: str
    labels: tuple[str, ...]
    options: Options
    instructions: str = ""
    license: str | None = None
    data_keys: tuple[str, ...] = ()  # every data field of the exported tasks (the CSV header needs them first)
    image_size: Callable[[dict], ImageSize | None] = _no_size
    image_file: Callable[[dict], Path | None] = _no_file

    @functools.cached_property
    def spec(self) -> tasktypes.TaskTypeSpec:
        """The task type's spec."""
        return tasktypes.get(self.task_type)

    @functools.cached_property
    def reserved(self) -> frozenset[str]:
        """Column names a data field may not take in a one-row-per-task table (it is written as data_<name>): ours
        and the task type's consensus columns (a data field `label` would otherwise vanish under the consensus)."""
        return frozenset(TASK_COLUMNS) | frozenset(self.spec.consensus_row(None, {})) | frozenset(self.gold_column)

    @property
    def gold_column(self) -> tuple[str, ...]:
        """The `gold` column (is the row a gold task's?) of an export that has gold tasks (--include-gold)."""
        return ("gold",) if self.options.include_gold else ()

    @property
    def slug(self) -> str:
        """The project name as a file-name and attribute-safe slug."""
        return slug(self.project_name)


def slug(name: str) -> str:
    """Lower-case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "project"


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 text as it is (orjson: exports spend most of their time here; the standard library
    for what orjson refuses, such as integers beyond 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# What JSON leaves as it is but YAML may not hold as it is: DEL, the C1 controls (a YAML reader refuses them, and
# with them the whole file), NEL, U+2028 and U+2029 (line breaks to YAML 1.1, folded to a space inside a quoted
# string), U+FFFE and U+FFFF.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")


def yaml_string(text: str) -> str:
    """A YAML double-quoted scalar that reads back as `text`, whatever it holds (JSON's escapes are YAML's too)."""
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


# Characters JSON leaves as they are that Python's str.splitlines() (and so codecs' and nltk's line readers) ends a
# line at: NEL, U+2028 and U+2029 in a text cut its JSON line in two there. Written as escapes, the line is one line
# to every reader, and each value the same.
_LINE_BREAKS = ((b"\xc2\x85", b"\\u0085"), (b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def json_lines(records: Iterable[Any]) -> tuple[bytes, int]:
    """JSON Lines of the records, as bytes, and how many. Each record is encoded as it comes (from a generator, each
    is freed before the next is made: a page's records never all live at once), then one join."""
    lines = list(map(_line, records))
    data = b"\n".join(lines) + b"\n" if lines else b""
    for raw, escaped in _LINE_BREAKS:
        if raw in data:
            data = data.replace(raw, escaped)
    return data, len(lines)


def _line(record: Any) -> bytes:
    try:
        return orjson.dumps(record)
    except TypeError:
        return dumps(record).encode()


def loads(text: str | bytes | None) -> Any:
    """A JSON column read as text (None stays None)."""
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def data_name(key: str, reserved: frozenset[str] | set[str]) -> str:
    """A data field's column name: data_<name> for one named like a column of ours, and for one whose name starts
    with data_ (so `label` and `data_label` in one task stay two columns: data_label and data_data_label), and
    `data_` for a field of no name (imports refuse one now; a CSV header cell left empty reads as `Unnamed: N` in
    pandas and datasets). The rule depends on the name alone, so every row of a streamed export names a field
    alike."""
    return f"data_{key}" if key in reserved or key.startswith("data_") or not key else key


def _kept_as_is(data: dict, reserved: frozenset[str]) -> bool:
    """Whether data_name leaves every field's name as it is (most tasks: then no new dict per row)."""
    if not reserved.isdisjoint(data):
        return False
    for key in data:
        if key.startswith("data_") or not key:
            return False
    return True


def data_fields(data: dict, reserved: frozenset[str]) -> dict:
    """A task's data fields as columns, named by data_name."""
    if _kept_as_is(data, reserved):
        return data
    return {data_name(k, reserved): v for k, v in data.items()}


class Writer:
    """One output of an export. The exporter calls start, then for each pass begin_pass and page per page of
    rows (only rows of `split` when it is set), then finish; rows written and what was left out are counted."""

    passes = 1
    observes = True  # its rows are the export's rows (counted in the dataset card); a copy of images is not
    # One output row per task, made by tabular.record from the task's columns alone: the exporter may hand such a
    # writer those records (records()) made straight from the database rows, without task rows (jsonl, csv).
    takes_records = False
    # It copies a file per row (images): the exporter hands it one row at a time and drains the sink after each, so
    # a zip holds one image in memory, not a page of them (2,000 photos: gigabytes).
    copies_files = False

    def __init__(self, ctx: Context, name: str, split: str | None = None) -> None:
        self.ctx = ctx
        self.name = name
        self.split = split
        self.written = 0
        self.report = Report()
        self.by_split: dict[str, int] = {}  # rows per split, for writers that route rows themselves

    def start(self, sink: Sink) -> None:
        """Open the output."""
        sink.open(self.name)

    def begin_pass(self, number: int, sink: Sink) -> None:
        """A pass over the rows begins."""

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        """Write one page of rows."""
        raise NotImplementedError

    def records(self, records: Iterable[dict], sink: Sink) -> None:
        """Write one page of tabular.record rows (writers that take records)."""
        raise NotImplementedError

    def emit(self, records: Iterable[Any], sink: Sink) -> None:
        """Write records as JSON Lines and count them."""
        data, n = json_lines(records)
        sink.write(data)
        self.written += n

    def finish(self, sink: Sink) -> None:
        """Close the output."""
        sink.close()

    def boxes_inside(self, row: TaskRow, size: ImageSize) -> list[tuple[int, dict, tuple[float, float, float, float]]]:
        """The row's consensus boxes held to the image, as (index, box, (x, y, w, h)): a box reaching past an edge
        is clipped and one with no area inside is left out, each counted (coco, yolo and manifest alike)."""
        inside = []
        for i, box in enumerate((row.answer or {}).get("boxes") or []):
            xywh, clipped = clip_box(box, size)
            if xywh is None:
                self.report.add(NO_AREA, f"task {row.id}")
                continue
            if clipped:
                self.report.add(CLIPPED, f"task {row.id}")
            inside.append((i, box, xywh))
        return inside


@dataclass
class Written:
    """What an export wrote: rows per split (None: no splits) and the merged report."""

    rows: dict[str | None, int] = field(default_factory=dict)
    report: Report = field(default_factory=Report)
