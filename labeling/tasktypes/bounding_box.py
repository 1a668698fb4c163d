"""Bounding boxes on an image, in image pixels."""

from __future__ import annotations

from typing import Any

from labeling.errors import InvalidInput
from labeling.tasktypes.base import (COMMON_FORMATS, MAX_COORDINATE, Context, TaskTypeSpec, answer_list, require_dict,
                                     require_keys, require_label, require_number, scored_items)
from labeling.tasktypes.classification import image_data

MAX_BOXES = 1000
# How far past the image's right or bottom edge a box may reach (in pixels): rounding in a client's own
# scaling, never a box outside the picture.
EDGE_TOLERANCE = 1.0


def data_(data: Any, ctx: Context) -> dict:
    """{"image": url-or-path}; a local image's size is read now (and recorded), to check boxes against."""
    data = image_data(data, ctx)
    if ctx.image_size is not None:
        ctx.image_size(data["image"])
    return data


def answer(value: Any, data: dict, ctx: Context) -> dict:
    """{"boxes": [{"label", "x", "y", "w", "h"}]}: x, y >= 0, w, h > 0, inside the image when its size is known
    (within EDGE_TOLERANCE), every coordinate at most MAX_COORDINATE."""
    boxes = answer_list(value, "boxes")
    if len(boxes) > MAX_BOXES:
        raise InvalidInput(f"answer.boxes has more than {MAX_BOXES} boxes", field="answer.boxes")
    size = ctx.image_size(data["image"]) if ctx.image_size is not None and "image" in data else None
    width, height = size if size is not None else (MAX_COORDINATE, MAX_COORDINATE)
    reach = EDGE_TOLERANCE if size is not None else 0.0
    checked = []
    for i, box in enumerate(boxes):
        field = f"answer.boxes[{i}]"
        box = require_dict(box, field)
        require_keys(box, field, {"label", "x", "y", "w", "h"}, {"label", "x", "y", "w", "h"})
        label = require_label(box["label"], f"{field}.label", ctx)
        x = require_number(box["x"], f"{field}.x", minimum=0, maximum=width)
        y = require_number(box["y"], f"{field}.y", minimum=0, maximum=height)
        w = require_number(box["w"], f"{field}.w", positive=True, maximum=width + reach)
        h = require_number(box["h"], f"{field}.h", positive=True, maximum=height + reach)
        if size is not None and x + w > width + EDGE_TOLERANCE:
            raise InvalidInput(f"{field} reaches past the image's right edge (x + w = {x + w:g} > width {width})",
                               field=f"{field}.w")
        if size is not None and y + h > height + EDGE_TOLERANCE:
            raise InvalidInput(f"{field} reaches past the image's bottom edge (y + h = {y + h:g} > height "
                               f"{height})", field=f"{field}.h")
        checked.append({"label": label, "x": x, "y": y, "w": w, "h": h})
    return {"boxes": checked}


COORDINATES = ("x", "y", "w", "h")


def floats(boxes: list[dict]) -> list[dict]:
    """Boxes with float coordinates: one type in every row of an export (see consensus_boxes_row)."""
    return [{**box, **{k: float(box[k]) for k in COORDINATES}} for box in boxes]


def boxes_row(answer: dict | None) -> dict:
    """Export columns of an answer: its boxes (the labeling page sends whole pixels, a script may send fractions)."""
    return {"boxes": None if answer is None else floats(answer.get("boxes", []))}


def consensus_boxes_row(answer: dict | None, details: dict) -> dict:
    """Export columns of a consensus: its boxes, each with its own confidence (from the details), coordinates as
    floats in every row: a consensus's are, a gold or overriding answer's whole pixels were integers, and a dataset
    reader that typed the column by its first rows (datasets: the first 10 MB) then failed at the first fraction."""
    row = scored_items(answer, details, "boxes")
    if row["boxes"]:
        row["boxes"] = floats(row["boxes"])
    return row


SPECS = (TaskTypeSpec(
    "bounding_box", "Bounding boxes", "Draw labelled boxes around objects in an image.", family="boxes",
    media="image", template="label_boxes.html", script="js/boxes.js", needs_labels=True, validate_data=data_,
    validate_answer=answer, formats=(*COMMON_FORMATS, "coco", "yolo"), order=3, keys="bnpfr+-=_",
    consensus_row=consensus_boxes_row, answer_row=boxes_row, manifest_type="groundtruth/object-detection"),)
