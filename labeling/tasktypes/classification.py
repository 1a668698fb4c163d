"""Single-label classification of an image or a text."""

from __future__ import annotations

from typing import Any

from labeling.tasktypes.base import (Context, TaskTypeSpec, check_image_ref, from_manifest, require_dict,
                                     require_label, require_keys, require_text)


def image_data(data: Any, ctx: Context) -> dict:
    """{"image": url-or-path}, extra keys kept as metadata."""
    data = require_dict(from_manifest(data, "image"), "data")
    require_keys(data, "data", set(data), {"image"})
    return {**data, "image": check_image_ref(data["image"], "data.image", ctx)}


def text_data(data: Any, ctx: Context) -> dict:
    """{"text": ...}, extra keys kept as metadata."""
    data = require_dict(from_manifest(data, "text"), "data")
    require_keys(data, "data", set(data), {"text"})
    return {**data, "text": require_text(data["text"], "data.text")}


def answer(value: Any, data: dict, ctx: Context) -> dict:
    """{"label": L} with L one of the project's labels."""
    value = require_dict(value, "answer")
    require_keys(value, "answer", {"label"}, {"label"})
    return {"label": require_label(value["label"], "answer.label", ctx)}


def label_row(answer: dict | None, details: dict | None = None) -> dict:
    """Export columns of an answer or a consensus: its label."""
    return {"label": (answer or {}).get("label")}


IMAGE = TaskTypeSpec(
    "image_classification", "Image classification", "Pick one label for an image.", family="classification",
    media="image", template="label_classification.html", script="js/classify.js", needs_labels=True,
    validate_data=image_data, validate_answer=answer, order=1, consensus_row=label_row, answer_row=label_row,
    keys="f+-=_", agreement_key="percent_agreement", manifest_type="groundtruth/image-classification")
TEXT = TaskTypeSpec(
    "text_classification", "Text classification", "Pick one label for a text.", family="classification",
    media="text", template="label_classification.html", script="js/classify.js", needs_labels=True,
    validate_data=text_data, validate_answer=answer, order=4, consensus_row=label_row, answer_row=label_row,
    agreement_key="percent_agreement", manifest_type="groundtruth/text-classification")
SPECS = (IMAGE, TEXT)
