"""Named entities: labelled character spans of a text."""

from __future__ import annotations

import heapq
from typing import Any

from labeling.errors import InvalidInput
from labeling.tasktypes.base import (COMMON_FORMATS, Context, TaskTypeSpec, answer_list, require_dict, require_int,
                                     require_keys, require_label, scored_items)
from labeling.tasktypes.classification import text_data

# Project options of this task type: how a selection snaps (to whole words, or to characters as selected) and
# which overlaps of spans an answer may have (any, nested only, or none).
SPAN_UNITS = ("word", "character")
SPAN_OVERLAPS = ("allow", "nested", "none")
DEFAULT_OPTIONS = {"span_unit": "word", "span_overlap": "allow"}
# The most spans one answer may have, and the most of them one character may lie inside (nested entities run a few
# deep). Consensus matches each span against the groups it overlaps, in the settle's write transaction: one answer of
# 1,000 spans nested inside each other held it 3 s against another such answer, 24,000 spans of depth 16 held it 4 s.
MAX_SPANS = 5000
MAX_SPAN_DEPTH = 16


def options(value: dict) -> dict:
    """The project's options with span_unit and span_overlap checked and filled in."""
    out = {**DEFAULT_OPTIONS, **value}
    for key, allowed in (("span_unit", SPAN_UNITS), ("span_overlap", SPAN_OVERLAPS)):
        if out[key] not in allowed:
            raise InvalidInput(f"options.{key} must be one of {', '.join(allowed)}", field=f"options.{key}")
    return out


def _check_overlaps(spans: list[dict], overlap: str) -> None:
    """Refuse overlaps the project does not allow (spans sorted by start, then end)."""
    if overlap == "allow":
        return
    for i, a in enumerate(spans):
        for b in spans[i + 1:]:
            if b["start"] >= a["end"]:
                break
            nested = b["end"] <= a["end"] or (a["start"] == b["start"])
            if overlap == "none" or not nested:
                kind = "overlap" if overlap == "none" else "cross (only nested spans are allowed)"
                raise InvalidInput(f"answer.spans: {a['start']}-{a['end']} and {b['start']}-{b['end']} {kind}",
                                   field="answer.spans")


def _check_depth(spans: list[dict]) -> None:
    """Refuse an answer with a character inside more than MAX_SPAN_DEPTH of its spans (spans sorted by start)."""
    ends: list[int] = []  # a heap of the ends of the spans open at the current start
    for span in spans:
        while ends and ends[0] <= span["start"]:
            heapq.heappop(ends)
        heapq.heappush(ends, span["end"])
        if len(ends) > MAX_SPAN_DEPTH:
            raise InvalidInput(f"answer.spans: character {span['start']} lies inside more than {MAX_SPAN_DEPTH} spans",
                               field="answer.spans")


def answer(value: Any, data: dict, ctx: Context) -> dict:
    """{"spans": [{"start", "end", "label"}]}: 0 <= start < end <= len(text), no span twice, at most MAX_SPANS,
    no character inside more than MAX_SPAN_DEPTH of them."""
    spans = answer_list(value, "spans")
    if len(spans) > MAX_SPANS:
        raise InvalidInput(f"answer.spans has more than {MAX_SPANS:,} spans", field="answer.spans")
    length = len(data.get("text", ""))
    checked, seen = [], set()
    for i, span in enumerate(spans):
        field = f"answer.spans[{i}]"
        span = require_dict(span, field)
        require_keys(span, field, {"start", "end", "label", "text"}, {"start", "end", "label"})
        start = require_int(span["start"], f"{field}.start", minimum=0, maximum=length)
        end = require_int(span["end"], f"{field}.end", minimum=0, maximum=length)
        if end <= start:
            raise InvalidInput(f"{field}.end must be greater than start", field=f"{field}.end")
        label = require_label(span["label"], f"{field}.label", ctx)
        if (start, end, label) in seen:
            raise InvalidInput(f"{field} repeats an earlier span", field=field)
        seen.add((start, end, label))
        checked.append({"start": start, "end": end, "label": label})
    checked.sort(key=lambda s: (s["start"], s["end"], s["label"]))
    _check_depth(checked)
    _check_overlaps(checked, (ctx.options or {}).get("span_overlap", "allow"))
    return {"spans": checked}


def spans_row(answer: dict | None) -> dict:
    """Export columns of an answer: its spans."""
    return {"spans": None if answer is None else list(answer.get("spans", []))}


def consensus_spans_row(answer: dict | None, details: dict) -> dict:
    """Export columns of a consensus: its spans, each with its own confidence (from the details)."""
    return scored_items(answer, details, "spans")


SPECS = (TaskTypeSpec(
    "named_entities", "Named entities", "Mark entity spans in a text and label them.", family="spans",
    media="text", template="label_entities.html", script="js/entities.js", needs_labels=True, validate_data=text_data,
    validate_answer=answer, formats=(*COMMON_FORMATS, "spans", "conll"), order=6, keys="np",
    validate_options=options, page_options=tuple(DEFAULT_OPTIONS), consensus_row=consensus_spans_row,
    answer_row=spans_row,
    manifest_type="groundtruth/text-span"),)
