"""Where templates/, migrations/, sample_tasks/ and static files are, in a checkout or an installed copy."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_INSTALLED = PACKAGE_DIR / "_resources"  # filled by the wheel build (pyproject force-include)
_CHECKOUT = PACKAGE_DIR.parent


def resource_dir(name: str) -> Path:
    """The folder `name` (templates, migrations, sample_tasks) from the wheel, else from the checkout."""
    for base in (_INSTALLED, _CHECKOUT):
        candidate = base / name
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"labeling: cannot find the {name}/ folder (looked in {_INSTALLED} and {_CHECKOUT})")


def templates_dir() -> Path:
    """Jinja2 templates."""
    return resource_dir("templates")


def migrations_dir() -> Path:
    """Alembic's script location."""
    return resource_dir("migrations")


def sample_tasks_dir() -> Path:
    """Demo data loaded by `labeling serve --demo`."""
    return resource_dir("sample_tasks")


def static_dir() -> Path:
    """CSS and JS of the worker UI (inside the package)."""
    return PACKAGE_DIR / "static"
