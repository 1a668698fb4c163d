"""Settings: declared once as (name, default, help), read from the environment only here."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from labeling.errors import InvalidInput


@dataclass(frozen=True)
class Declared:
    """One setting: its environment variable, the Settings field it fills, its default (as text) and help."""

    env: str
    field: str
    default: str | None
    help: str
    kind: str = "text"  # text, path, positive (a whole number above 0), flag or secret (24 characters or more)


# The CLI, the README and a test read this table; Settings' defaults come from it.
DECLARED: tuple[Declared, ...] = (
    Declared("LABELING_DATABASE_URL", "database_url", None, "Database URL; default: SQLite file labeling.db under the "
             "data dir. sqlite:///path and postgresql://user@host/db are accepted; the async driver is chosen inside."),
    Declared("LABELING_DATA_DIR", "data_dir", "./labeling-data", "Folder for the SQLite file, uploaded media and "
             "backups.", "path"),
    Declared("LABELING_SECRET_KEY", "secret_key", None, "Key signing session cookies; default: a random key kept in "
             "the data dir."),
    Declared("LABELING_ADMIN_TOKEN", "admin_token", None, "If set (24 characters or more), the API token of the admin "
             "named 'admin', made at start-up if missing; a new value replaces that admin's token.", "secret"),
    Declared("LABELING_DB_POOL_SIZE", "db_pool_size", "8", "Database connections each server process keeps open (a "
             "fixed pool: requests beyond it wait for a free one). PostgreSQL does most with a few per core; mind its "
             "max_connections across --workers processes.", "positive"),
    Declared("LABELING_MAX_BODY_BYTES", "max_body_bytes", "268435456", "Largest request body accepted, in bytes "
             "(default 256 MiB).", "positive"),
    Declared("LABELING_MAX_LEASES_PER_WORKER", "max_leases_per_worker", "16", "Most live leases one worker may hold "
             "across all projects.", "positive"),
    Declared("LABELING_MEDIA_MAX_BYTES", "media_max_bytes", "33554432", "Largest uploaded image, in bytes "
             "(default 32 MiB).", "positive"),
    Declared("LABELING_MEDIA_MAX_PIXELS", "media_max_pixels", "50000000", "Most pixels (width x height) of an "
             "uploaded image (default 50 megapixels).", "positive"),
    Declared("LABELING_MAX_ANSWER_BYTES", "max_answer_bytes", "1048576", "Largest answer, in bytes of compact "
             "JSON (default 1 MiB); a submit's body may be 64 KiB more.", "positive"),
    Declared("LABELING_MAX_TASK_BYTES", "max_task_bytes", "8388608", "Largest task (its data, gold answer and "
             "predictions), in bytes of compact JSON (default 8 MiB).", "positive"),
    Declared("LABELING_MAX_OPTIONS_BYTES", "max_options_bytes", "65536", "Largest project `options`, in bytes "
             "of compact JSON (default 64 KiB).", "positive"),
    Declared("LABELING_MAX_INSTRUCTIONS_CHARS", "max_instructions_chars", "100000", "Longest project "
             "instructions, in characters.", "positive"),
    Declared("LABELING_MAX_LABELS", "max_labels", "1000", "Most labels a project may have.", "positive"),
    Declared("LABELING_MAX_LABEL_CHARS", "max_label_chars", "100", "Longest label, in characters.", "positive"),
    Declared("LABELING_SECURE_COOKIES", "secure_cookies", "0", "Set to 1 behind HTTPS so session cookies are marked "
             "Secure.", "flag"),
    Declared("LABELING_DEBUG", "debug", "0", "Set to 1 to let the CLI show a traceback for an unexpected error "
             "(instead of one line).", "flag"),
)


MIN_SECRET_CHARS = 24


def _parse(declared: Declared, raw: str | None) -> Any:
    if raw is None or raw == "":
        raw = declared.default
    if declared.kind == "flag":
        return (raw or "").lower() in ("1", "true", "yes")
    if declared.kind == "path":
        return Path(raw or ".")
    if declared.kind == "secret" and raw is not None and len(raw) < MIN_SECRET_CHARS:
        raise InvalidInput(f"{declared.env} must be at least {MIN_SECRET_CHARS} characters (it has {len(raw)}); make "
                           "one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'", field=declared.env)
    if declared.kind == "positive":
        try:
            number = int(str(raw))
        except ValueError:
            raise InvalidInput(f"{declared.env} must be a whole number, got {raw!r}", field=declared.env) from None
        if number <= 0:
            raise InvalidInput(f"{declared.env} must be positive, got {number}", field=declared.env)
        return number
    return raw or None


def _default(field: str) -> Any:
    """The dataclass default of a Settings field: its declared default, parsed."""
    declared = next(d for d in DECLARED if d.field == field)
    return dataclasses.field(default=_parse(declared, None))


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to start; built by from_env() or directly in tests (defaults: DECLARED)."""

    data_dir: Path = _default("data_dir")
    database_url: str | None = _default("database_url")
    secret_key: str | None = _default("secret_key")
    admin_token: str | None = _default("admin_token")
    db_pool_size: int = _default("db_pool_size")
    max_body_bytes: int = _default("max_body_bytes")
    max_leases_per_worker: int = _default("max_leases_per_worker")
    media_max_bytes: int = _default("media_max_bytes")
    media_max_pixels: int = _default("media_max_pixels")
    max_answer_bytes: int = _default("max_answer_bytes")
    max_task_bytes: int = _default("max_task_bytes")
    max_options_bytes: int = _default("max_options_bytes")
    max_instructions_chars: int = _default("max_instructions_chars")
    max_labels: int = _default("max_labels")
    max_label_chars: int = _default("max_label_chars")
    secure_cookies: bool = _default("secure_cookies")
    debug: bool = _default("debug")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        """Read LABELING_* variables (os.environ by default); keyword overrides win (CLI flags)."""
        env = os.environ if env is None else env
        values = {d.field: _parse(d, env.get(d.env)) for d in DECLARED}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def media_dir(self) -> Path:
        """Where uploaded images and relative image paths live."""
        return self.data_dir / "media"

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or the default SQLite file under the data dir."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'labeling.db').resolve()}"


def _check_table() -> None:
    """Every Settings field is declared, and every declaration fills a field."""
    fields = {f.name for f in dataclasses.fields(Settings)}
    declared = [d.field for d in DECLARED]
    if sorted(declared) != sorted(fields):
        raise RuntimeError(f"settings: DECLARED {sorted(declared)} and Settings {sorted(fields)} differ")


_check_table()
