"""Settings: declared once as (name, default, help), read from the environment only here."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from labeling.errors import InvalidInput

# (environment variable, default, help). The CLI, the README and a test read this table.
DECLARED: tuple[tuple[str, str | None, str], ...] = (
    ("LABELING_DATABASE_URL", None, "Database URL; default: SQLite file labeling.db under the data dir. "
     "sqlite:///path and postgresql://user@host/db are accepted; the async driver is chosen inside."),
    ("LABELING_DATA_DIR", "./labeling-data", "Folder for the SQLite file, uploaded media and backups."),
    ("LABELING_SECRET_KEY", None, "Key signing session cookies; default: a random key kept in the data dir."),
    ("LABELING_ADMIN_TOKEN", None, "If set, an admin with this API token exists at start-up."),
    ("LABELING_DB_POOL_SIZE", "8", "Database connections each server process keeps open (a fixed pool: requests "
     "beyond it wait for a free one). PostgreSQL does most with a few per core; mind its max_connections "
     "across --workers processes."),
    ("LABELING_MAX_BODY_BYTES", "268435456", "Largest request body accepted, in bytes (default 256 MiB)."),
    ("LABELING_MAX_LEASES_PER_WORKER", "16", "Most live leases one worker may hold across all projects."),
    ("LABELING_MEDIA_MAX_BYTES", "33554432", "Largest uploaded image, in bytes (default 32 MiB)."),
    ("LABELING_SECURE_COOKIES", "0", "Set to 1 behind HTTPS so session cookies are marked Secure."),
)


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to start; built by from_env() or directly in tests."""

    data_dir: Path = Path("./labeling-data")
    database_url: str | None = None
    secret_key: str | None = None
    admin_token: str | None = None
    max_body_bytes: int = 256 * 1024 * 1024
    db_pool_size: int = 8
    max_leases_per_worker: int = 16
    media_max_bytes: int = 32 * 1024 * 1024
    secure_cookies: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        """Read LABELING_* variables (os.environ by default); keyword overrides win (CLI flags)."""
        env = os.environ if env is None else env
        values = {name: env.get(name, default) for name, default, _ in DECLARED}
        settings = cls(
            data_dir=Path(values["LABELING_DATA_DIR"] or "./labeling-data"),
            database_url=values["LABELING_DATABASE_URL"] or None,
            secret_key=values["LABELING_SECRET_KEY"] or None,
            admin_token=values["LABELING_ADMIN_TOKEN"] or None,
            max_body_bytes=_int(values, "LABELING_MAX_BODY_BYTES"),
            db_pool_size=_int(values, "LABELING_DB_POOL_SIZE"),
            max_leases_per_worker=_int(values, "LABELING_MAX_LEASES_PER_WORKER"),
            media_max_bytes=_int(values, "LABELING_MEDIA_MAX_BYTES"),
            secure_cookies=values["LABELING_SECURE_COOKIES"] in ("1", "true", "yes"),
        )
        overrides = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(settings, **overrides) if overrides else settings

    @property
    def media_dir(self) -> Path:
        """Where uploaded images and relative image paths live."""
        return self.data_dir / "media"

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or the default SQLite file under the data dir."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'labeling.db').resolve()}"


def _int(values: Mapping[str, str | None], name: str) -> int:
    raw = values[name]
    try:
        number = int(str(raw))
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, got {raw!r}", field=name) from None
    if number <= 0:
        raise InvalidInput(f"{name} must be positive, got {number}", field=name)
    return number
