"""HTML routes of the worker UI."""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    """The UI's routes."""
    return []
