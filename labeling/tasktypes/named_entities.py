"""Named entities: labelled character spans of a text."""

from __future__ import annotations

from typing import Any

from labeling.errors import InvalidInput
from labeling.tasktypes.base import (COMMON_FORMATS, Context, TaskTypeSpec, answer_list, require_dict, require_int,
                                     require_keys, require_label, scored_items)
from labeling.tasktypes.classification import text_data


def answer(value: Any, data: dict, ctx: Context) -> dict:
    """{"spans": [{"start", "end", "label"}]}: 0 <= start < end <= len(text), no span twice."""
    spans = answer_list(value, "spans")
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
    validate_answer=answer, formats=(*COMMON_FORMATS, "spans", "conll"), order=6, consensus_row=consensus_spans_row,
    answer_row=spans_row, manifest_type="groundtruth/text-span"),)
