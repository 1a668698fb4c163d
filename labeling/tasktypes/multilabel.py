"""Multi-label classification of an image or a text: any number of the project's labels."""

from __future__ import annotations

from typing import Any

from labeling.errors import InvalidInput
from labeling.tasktypes.base import Context, TaskTypeSpec, answer_list, require_label
from labeling.tasktypes.classification import image_data, text_data


def answer(value: Any, data: dict, ctx: Context) -> dict:
    """{"labels": [L, ...]}: distinct labels of the project, possibly none."""
    labels = answer_list(value, "labels")
    checked = [require_label(label, f"answer.labels[{i}]", ctx) for i, label in enumerate(labels)]
    if len(set(checked)) != len(checked):
        raise InvalidInput("answer.labels lists a label twice", field="answer.labels")
    return {"labels": checked}


def labels_row(answer: dict | None, details: dict | None = None) -> dict:
    """Export columns of an answer or a consensus: its labels."""
    return {"labels": None if answer is None else list(answer.get("labels", []))}


IMAGE = TaskTypeSpec(
    "image_multilabel", "Image multi-label", "Pick every label that applies to an image.", family="multilabel",
    media="image", template="label_classification.html", script="js/classify.js", needs_labels=True,
    validate_data=image_data, validate_answer=answer, order=2, consensus_row=labels_row, answer_row=labels_row,
    keys="f+-=_", agreement_key="percent_agreement", manifest_type="groundtruth/image-classification-multilabel")
TEXT = TaskTypeSpec(
    "text_multilabel", "Text multi-label", "Pick every label that applies to a text.", family="multilabel",
    media="text", template="label_classification.html", script="js/classify.js", needs_labels=True,
    validate_data=text_data, validate_answer=answer, order=5, consensus_row=labels_row, answer_row=labels_row,
    agreement_key="percent_agreement", manifest_type="groundtruth/text-classification-multilabel")
SPECS = (IMAGE, TEXT)
