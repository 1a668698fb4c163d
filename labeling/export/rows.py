"""The plain rows the writers read (made by the exporter from the database, or by tests from plain data),
the deterministic split of a row, and the report of what an export left out."""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from labeling.export.options import Split

EXAMPLES = 5  # named examples kept per reason in a report
# The plural nouns the reasons count ("1 responses without a rating" read wrong).
SINGULAR = re.compile(r"\b(responses|pairs|lines|images|boxes|spans|tasks|answers|tokens|labels|prompts)\b")


# The consensus methods of the requester's own answer: a gold task's gold answer, a review's override.
REQUESTERS = ("gold", "review")


@dataclass(slots=True)
class AnswerRow:
    """One worker's answer, as exports show it: the worker only as a pseudonym."""

    task_id: int
    worker: str
    answer: dict
    created_at: float
    duration_ms: int | None = None
    is_gold: bool = False
    gold_score: float | None = None
    excluded: bool = False


@dataclass(slots=True)
class TaskRow:
    """One task with its consensus (for a gold task, its gold answer) and, when read, its answers."""

    id: int
    external_id: str | None
    data: dict
    answer: dict | None = None
    confidence: float | None = None
    n_annotations: int = 0
    agreement: float | None = None
    reviewed: bool = False
    is_gold: bool = False
    method: str = ""
    details: dict = field(default_factory=dict)
    updated_at: float | None = None
    answers: list[AnswerRow] | None = None  # read only for the formats that need them
    source_key: str | None = None  # the manifest key its image or text came under, if it came as a manifest line

    @property
    def by_requester(self) -> bool:
        """Whether its consensus is the requester's own answer (a gold task's, an override): certain, in every
        format (confidence 1, margin 1) and in place of the workers' answers."""
        return self.method in REQUESTERS


def iso(ts: float | None) -> str | None:
    """Unix seconds as an ISO 8601 UTC time (microseconds, no offset: the managed services' creation-date)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def iso_utc(ts: float | None) -> str | None:
    """Unix seconds as an ISO 8601 time with its zone, UTC (`Z`), to the microsecond: what a reader takes for a moment
    (pandas reads it as a UTC time; a time without a zone is a local time to most readers)."""
    return None if ts is None else f"{iso(ts)}Z"


def split_point(key: str, seed: int) -> float:
    """A number in [0, 1) fixed by the key and the seed (SHA-256, so it is the same on every machine)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return struct.unpack(">Q", digest[:8])[0] / 2.0**64


def split_key(row: TaskRow, split_field: str | None) -> str:
    """What decides a row's split: the task type's split field (the prompt), else the external id, else the id."""
    if split_field is not None:
        value = row.data.get(split_field)
        if isinstance(value, str):
            return "field:" + value
    return "external:" + row.external_id if row.external_id is not None else f"id:{row.id}"


def split_of(row: TaskRow, splits: tuple[Split, ...], seed: int, split_field: str | None) -> str | None:
    """The split a row belongs to (None when there are no splits)."""
    if not splits:
        return None
    point = split_point(split_key(row, split_field), seed)
    edge = 0.0
    for split in splits:
        edge += split.share
        if point < edge:
            return split.name
    return splits[-1].name


@dataclass
class Report:
    """What an export counted and left out, by reason, with a few named examples of each."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, example: Any = None, n: int = 1) -> None:
        """Count n more of `reason`; keep the example while there are few."""
        self.counts[reason] = self.counts.get(reason, 0) + n
        if example is not None:
            kept = self.examples.setdefault(reason, [])
            if len(kept) < EXAMPLES:
                kept.append(str(example))

    def merge(self, other: "Report") -> None:
        """Add another report's counts and examples to this one."""
        for reason, n in other.counts.items():
            self.counts[reason] = self.counts.get(reason, 0) + n
            kept = self.examples.setdefault(reason, [])
            kept.extend(other.examples.get(reason, [])[:max(EXAMPLES - len(kept), 0)])

    def lines(self) -> list[str]:
        """One line per reason: the count and the first examples (a reason's first plural noun said once for 1)."""
        out = []
        for reason, n in self.counts.items():
            named = self.examples.get(reason)
            said = SINGULAR.sub(lambda m: m.group(1)[:-2] if m.group(1) == "boxes" else m.group(1)[:-1], reason,
                                count=1) if n == 1 else reason
            out.append(f"{n:,} {said}" + (f" (e.g. {', '.join(named)})" if named else ""))
        return out
