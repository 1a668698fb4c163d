"""Demonstration (SFT): write the ideal response to a prompt."""

from __future__ import annotations

from typing import Any

from labeling.tasktypes.base import COMMON_FORMATS, Context, TaskTypeSpec, require_dict, require_keys, require_text


def data_(data: Any, ctx: Context) -> dict:
    """{"prompt": ...}, extra keys (e.g. a system message or context) kept."""
    data = require_dict(data, "data")
    require_keys(data, "data", set(data), {"prompt"})
    return {**data, "prompt": require_text(data["prompt"], "data.prompt")}


def answer(value: Any, data: dict, ctx: Context) -> dict:
    """{"text": ...}, not empty."""
    value = require_dict(value, "answer")
    require_keys(value, "answer", {"text"}, {"text"})
    return {"text": require_text(value["text"], "answer.text", max_chars=200_000)}


def text_row(answer: dict | None) -> dict:
    """Export columns of an answer: the written response."""
    return {"text": (answer or {}).get("text")}


def no_consensus_row(answer: dict | None, details: dict) -> dict:
    """Demonstrations are not aggregated: no consensus columns (every demonstration is its own `sft` row)."""
    return {}


SPECS = (TaskTypeSpec(
    "demonstration", "Demonstration", "Write the ideal response to a prompt.", family="demonstration",
    media="text", template="label_demonstration.html", script="js/demonstration.js", needs_labels=False,
    validate_data=data_, validate_answer=answer, formats=(*COMMON_FORMATS, "sft"), order=8, text_first=True,
    keys="w", consensus_row=no_consensus_row, answer_row=text_row, split_field="prompt"),)
