"""`manifest`: the output manifest of managed ground-truth labeling services, so pipelines built on it keep
working. Each line is the input line (the image or text under the key its manifest line gave it, else
`source-ref` for images and `source` for texts; every other data field kept) plus the label attribute and
`ATTRIBUTE-metadata`."""

from __future__ import annotations

import math
from typing import Any

from labeling.export.archive import Sink
from labeling.export.rows import TaskRow, iso
from labeling.export.writer import Context, Writer


def attribute(ctx: Context) -> str:
    """The label attribute: --label-attribute, or the project name as a slug held to the rules a given one is: never
    the input's own key (a project named "Source" wrote its label over each line's text), nor ending in -ref (a
    reference to a file to the services) or -metadata, and at most 127 characters."""
    if ctx.options.label_attribute:
        return ctx.options.label_attribute
    name = ctx.slug[:120].rstrip("-")
    if name in ("source", "source-ref") or name.endswith(("-ref", "-metadata")):
        name += "-labels"
    return name


def input_line(row: TaskRow, ctx: Context) -> dict:
    """The task's data as the manifest line it came from: the image or text under the key it came under (a
    manifest line's source-ref or source), else source-ref for images and source for texts."""
    key = ctx.spec.manifest_field
    data = dict(row.data)
    if key is None:
        return data
    if key in data:
        value = data.pop(key)
        name = row.source_key or ("source-ref" if key == "image" else "source")
        if name in data:  # a data field of the key's own name: kept as data_NAME, never in the text's place
            data = {(f"data_{k}" if k == name else k): v for k, v in data.items()}
        return {name: value, **data}
    return data


def pixels(start: float, length: float, side: int | None = None) -> tuple[int, int]:
    """One side of a box in whole pixels, as the labeling page draws boxes: each edge to its nearest pixel (halves
    up), at least one pixel long, inside the image's side when it is known. Rounding the start and the length each
    on its own (halves to even) moved the far edge a pixel (x 10.5, w 20.5: 10 and 20, ending at 30, not 31) and
    made a box under half a pixel wide 0 wide; a box at the far edge (x 99.6, w 0.4 of 100) began at 100, outside."""
    first, end = math.floor(start + 0.5), math.floor(start + length + 0.5)
    if side is not None and side >= 1:
        first, end = min(first, side - 1), min(end, side)
    return first, max(end - first, 1)


class Manifest(Writer):
    """One JSON object a line: the input line, the label attribute and its metadata."""

    def start(self, sink: Sink) -> None:
        super().start(sink)
        self.attribute = attribute(self.ctx)
        self.class_ids = {label: i for i, label in enumerate(self.ctx.labels)}
        self.job = f"labeling-job/{self.ctx.slug}"

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        self.emit((self.line(row) for row in rows), sink)

    def line(self, row: TaskRow) -> dict:
        """One output line."""
        out = input_line(row, self.ctx)
        if self.attribute in out or f"{self.attribute}-metadata" in out:
            self.report.add("lines whose data already has the label attribute (its value replaced)", row.id)
        value, metadata = self.label(row)
        meta = {**metadata, "type": self.ctx.spec.manifest_type, "job-name": self.job,
                "human-annotated": "no" if row.answer is None and not row.method else "yes", "creation-date": iso(row.updated_at)}
        out[self.attribute] = value
        out[f"{self.attribute}-metadata"] = meta
        return out

    def label(self, row: TaskRow) -> tuple[Any, dict]:
        """The attribute's value and the metadata that goes with it, by the task type's family."""
        family = self.ctx.spec.family
        answer = row.answer or {}
        if row.answer is None:
            return None, {"confidence": None}
        if family == "classification":
            label = answer.get("label")
            return self.class_ids.get(label), {"class-name": label, "confidence": row.confidence}
        if family == "multilabel":
            labels = answer.get("labels") or []
            probabilities = (row.details or {}).get("probabilities") or {}
            ids = [self.class_ids[name] for name in labels if name in self.class_ids]
            return ids, {"class-map": {str(self.class_ids[n]): n for n in labels if n in self.class_ids},
                         "confidence-map": {str(self.class_ids[n]): probabilities.get(n, row.confidence)
                                            for n in labels if n in self.class_ids}}
        if family == "boxes":
            return self.boxes(row, answer)
        if family == "demonstration":  # its workers' texts have no consensus: only the requester's has an answer
            return dict(answer), {"confidence": row.confidence}
        if family == "spans":
            scored = (row.details or {}).get("spans") or []
            spans = answer.get("spans") or []
            return ({"annotations": {
                "entities": [{"label": s["label"], "startOffset": s["start"], "endOffset": s["end"]} for s in spans],
                "labels": [{"label": label} for label in self.ctx.labels]}},
                {"entities": [{"confidence": scored[i].get("confidence") if i < len(scored) else row.confidence}
                              for i in range(len(spans))]})
        return self.ctx.spec.consensus_row(row.answer, row.details or {}), {"confidence": row.confidence}

    def boxes(self, row: TaskRow, answer: dict) -> tuple[Any, dict]:
        """Object detection: image_size and integer boxes with class ids; per-box confidences in the metadata. With
        the image's size known, boxes are held to it as in coco and yolo (clipped, or left out with no area inside)."""
        boxes = answer.get("boxes") or []
        scored = (row.details or {}).get("boxes") or []
        value: dict[str, Any] = {}
        size = self.ctx.image_size(row.data)
        if size is None:
            self.report.add("images whose size is not known (manifest lines without image_size)",
                            row.data.get("image", row.id))
            kept = [(i, b, (b["x"], b["y"], b["w"], b["h"])) for i, b in enumerate(boxes)]
        else:
            value["image_size"] = [{"width": size.width, "height": size.height,
                                    **({"depth": size.depth} if size.depth is not None else {})}]
            kept = self.boxes_inside(row, size)
        value["annotations"] = []
        for _, b, (x, y, w, h) in kept:
            (left, width) = pixels(x, w, size.width if size is not None else None)
            (top, height) = pixels(y, h, size.height if size is not None else None)
            value["annotations"].append({"class_id": self.class_ids.get(b["label"]), "left": left, "top": top,
                                         "width": width, "height": height})
        used = sorted({self.class_ids[b["label"]] for _, b, _ in kept if b["label"] in self.class_ids})
        confidences = [{"confidence": scored[i].get("confidence") if i < len(scored) and not row.is_gold else
                        (1.0 if row.is_gold else None)} for i, _, _ in kept]
        return value, {"objects": confidences, "class-map": {str(i): self.ctx.labels[i] for i in used}}
