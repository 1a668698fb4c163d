"""The registry of task types: look one up by name."""

from __future__ import annotations

from labeling.errors import InvalidInput
from labeling.tasktypes import (bounding_box, classification, demonstration, multilabel, named_entities,
                                preference_ranking)
from labeling.tasktypes.base import Context, TaskTypeSpec

REGISTRY: dict[str, TaskTypeSpec] = {
    spec.name: spec
    for spec in (
        classification.IMAGE, multilabel.IMAGE, bounding_box.SPEC, classification.TEXT, multilabel.TEXT,
        named_entities.SPEC, preference_ranking.SPEC, demonstration.SPEC,
    )
}
IMAGE_TYPES = frozenset({"image_classification", "image_multilabel", "bounding_box"})

__all__ = ["REGISTRY", "IMAGE_TYPES", "Context", "TaskTypeSpec", "get"]


def get(name: str, field: str = "task_type") -> TaskTypeSpec:
    """The spec of task type `name`, or a clear error listing the known ones."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise InvalidInput(f"{field} must be one of {', '.join(REGISTRY)}; got {name!r}", field=field) from None
