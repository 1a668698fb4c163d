"""Bounding boxes on an image, in image pixels."""

from __future__ import annotations

from typing import Any

from labeling.errors import InvalidInput
from labeling.tasktypes.base import (COMMON_FORMATS, Context, TaskTypeSpec, answer_list, require_dict, require_keys,
                                     require_label, require_number, scored_items)
from labeling.tasktypes.classification import image_data

MAX_BOXES = 1000


def answer(value: Any, data: dict, ctx: Context) -> dict:
    """{"boxes": [{"label", "x", "y", "w", "h"}]} with x, y >= 0 and w, h > 0."""
    boxes = answer_list(value, "boxes")
    if len(boxes) > MAX_BOXES:
        raise InvalidInput(f"answer.boxes has more than {MAX_BOXES} boxes", field="answer.boxes")
    checked = []
    for i, box in enumerate(boxes):
        field = f"answer.boxes[{i}]"
        box = require_dict(box, field)
        require_keys(box, field, {"label", "x", "y", "w", "h"}, {"label", "x", "y", "w", "h"})
        checked.append({
            "label": require_label(box["label"], f"{field}.label", ctx),
            "x": require_number(box["x"], f"{field}.x", minimum=0),
            "y": require_number(box["y"], f"{field}.y", minimum=0),
            "w": require_number(box["w"], f"{field}.w", positive=True),
            "h": require_number(box["h"], f"{field}.h", positive=True),
        })
    return {"boxes": checked}


def boxes_row(answer: dict | None) -> dict:
    """Export columns of an answer: its boxes."""
    return {"boxes": None if answer is None else list(answer.get("boxes", []))}


def consensus_boxes_row(answer: dict | None, details: dict) -> dict:
    """Export columns of a consensus: its boxes, each with its own confidence (from the details)."""
    return scored_items(answer, details, "boxes")


SPECS = (TaskTypeSpec(
    "bounding_box", "Bounding boxes", "Draw labelled boxes around objects in an image.", family="boxes",
    media="image", template="label_boxes.html", script="js/boxes.js", needs_labels=True, validate_data=image_data,
    validate_answer=answer, formats=(*COMMON_FORMATS, "coco", "yolo"), order=3, keys="bnpfr+-=_",
    consensus_row=consensus_boxes_row, answer_row=boxes_row, manifest_type="groundtruth/object-detection"),)
