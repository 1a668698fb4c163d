"""Multi-label classification of an image or a text: any number of the project's labels."""

from __future__ import annotations

from typing import Any

from labeling.errors import InvalidInput
from labeling.tasktypes.base import Context, TaskTypeSpec, require_dict, require_keys, require_label
from labeling.tasktypes.classification import image_data, text_data


def answer(value: Any, data: dict, ctx: Context) -> dict:
    """{"labels": [L, ...]}: distinct labels of the project, possibly none."""
    value = require_dict(value, "answer")
    require_keys(value, "answer", {"labels"}, {"labels"})
    labels = value["labels"]
    if not isinstance(labels, list):
        raise InvalidInput("answer.labels must be a list of labels", field="answer.labels")
    checked = [require_label(label, f"answer.labels[{i}]", ctx) for i, label in enumerate(labels)]
    if len(set(checked)) != len(checked):
        raise InvalidInput("answer.labels lists a label twice", field="answer.labels")
    return {"labels": checked}


IMAGE = TaskTypeSpec("image_multilabel", "label_classification.html", True, image_data, answer,
                     "Pick every label that applies to an image.")
TEXT = TaskTypeSpec("text_multilabel", "label_classification.html", True, text_data, answer,
                    "Pick every label that applies to a text.")
