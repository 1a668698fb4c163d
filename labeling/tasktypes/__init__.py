"""The registry of task types, found by looking at this package: every module but `base` declares `SPECS`.

Everything else (the API's task_type enum, validation, the consensus family, the worker UI's page and
script, the export formats) reads a task type from here.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil

from labeling.errors import InvalidInput
from labeling.tasktypes.base import Context, TaskTypeSpec, from_manifest, manifest_key


def _discover() -> dict[str, TaskTypeSpec]:
    specs: list[TaskTypeSpec] = []
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            specs.extend(importlib.import_module(f"{__name__}.{module.name}").SPECS)
    specs.sort(key=lambda spec: (spec.order, spec.name))
    registry = {spec.name: spec for spec in specs}
    if len(registry) != len(specs):
        raise RuntimeError("two task types share a name")
    return registry


REGISTRY: dict[str, TaskTypeSpec] = _discover()
# The task types as an enum (the API's `task_type`): its members are the registry's names.
TaskType = enum.Enum("TaskType", {name: name for name in REGISTRY}, type=str)  # type: ignore[misc]

__all__ = ["REGISTRY", "Context", "TaskType", "TaskTypeSpec", "from_manifest", "get", "manifest_key"]


def get(name: str, field: str = "task_type") -> TaskTypeSpec:
    """The spec of task type `name`, or a clear error listing the known ones."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise InvalidInput(f"{field} must be one of {', '.join(REGISTRY)}; got {name!r}", field=field) from None
