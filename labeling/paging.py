"""Opaque cursors for keyset pagination: `{"data": [...], "next": CURSOR-or-null}`."""

from __future__ import annotations

import base64
import json
import re

from labeling import jsonio
from labeling.errors import InvalidInput

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def encode(after_id: int) -> str:
    """A cursor that continues after the row with this id."""
    return base64.urlsafe_b64encode(json.dumps({"after": after_id}).encode()).decode().rstrip("=")


def decode(cursor: str | None) -> int | None:
    """The id a cursor continues after, or None for the first page."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = jsonio.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
        if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= jsonio.INT_LIMIT:
            raise ValueError
        return after
    except Exception:
        raise InvalidInput("cursor is not one this server issued", field="cursor") from None


def encode_name(after: str) -> str:
    """A cursor that continues after the row with this name (a list in name order, names unique)."""
    return base64.urlsafe_b64encode(json.dumps({"after_name": after}).encode()).decode().rstrip("=")


def decode_name(cursor: str | None) -> str | None:
    """The name a cursor of encode_name continues after, or None for the first page."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = jsonio.loads(base64.urlsafe_b64decode(padded.encode()))["after_name"]
        if not isinstance(after, str) or not after:
            raise ValueError
        return after
    except Exception:
        raise InvalidInput("cursor is not one this server issued", field="cursor") from None


def limit(raw: str | int | None, default: int = DEFAULT_LIMIT) -> int:
    """A page size between 1 and MAX_LIMIT, written in plain digits (no sign, spaces, underscores or decimals)."""
    if raw is None or raw == "":
        return default
    plain = isinstance(raw, int) or (isinstance(raw, str) and re.fullmatch(r"[0-9]{1,19}", raw))
    if isinstance(raw, bool) or not plain:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    value = int(raw)
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"limit must be from 1 to {MAX_LIMIT}", field="limit")
    return value


def page(rows: list[dict], size: int, key: str = "id") -> dict:
    """Build a page from up to size+1 rows (the extra one only says there is more)."""
    more = len(rows) > size
    rows = rows[:size]
    return {"data": rows, "next": encode(rows[-1][key]) if more and rows else None}


def flag(raw: str | None, field: str) -> bool | None:
    """A true/false query parameter (absent: None)."""
    if raw is None or raw == "":
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise InvalidInput(f"{field} must be true or false", field=field)
