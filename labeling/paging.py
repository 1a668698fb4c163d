"""Opaque cursors for keyset pagination: `{"data": [...], "next": CURSOR-or-null}`.

A cursor names the list it continues (`scope`: the endpoint, and its project, team or worker), so one given to
another list (another project's tasks, the audit log's cursor to the results) is a 400 naming `cursor` instead of
a page that silently skips or repeats that list's items (every list's key is an id, so such a cursor read as
another list's place made sense to the database)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from labeling import jsonio
from labeling.errors import InvalidInput

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def _encode(payload: dict) -> str:
    """An opaque cursor holding `payload`."""
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str | None, key: str, valid: Callable[[Any], bool], scope: str) -> Any:
    """The `key` value of a cursor from _encode (None for the first page); InvalidInput unless `valid` holds and
    the cursor is one of this list (`scope`). A cursor without a scope (made before cursors had one) is taken."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = jsonio.loads(base64.urlsafe_b64decode(padded.encode()))
        after = payload[key]
        if not valid(after) or not isinstance(payload.get("list", scope), str):
            raise ValueError
    except Exception:
        raise InvalidInput("cursor is not one this server issued", field="cursor") from None
    if payload.get("list", scope) != scope:
        raise InvalidInput("cursor is the next page of another list (another endpoint, project, team or worker); "
                           "read this list from its first page, without a cursor, and pass on the `next` it gives",
                           field="cursor")
    return after


def encode(after_id: int, scope: str) -> str:
    """A cursor of the list `scope` that continues after the row with this id."""
    return _encode({"after": after_id, "list": scope})


def decode(cursor: str | None, scope: str) -> int | None:
    """The id a cursor of the list `scope` continues after, or None for the first page."""
    return _decode(cursor, "after", lambda after: not isinstance(after, bool) and isinstance(after, int)
                   and 0 <= after <= jsonio.INT_LIMIT, scope)


def encode_name(after: str, scope: str) -> str:
    """A cursor of the list `scope` that continues after the row with this name (a list in name order, names
    unique)."""
    return _encode({"after_name": after, "list": scope})


def decode_name(cursor: str | None, scope: str) -> str | None:
    """The name a cursor of encode_name continues after, or None for the first page."""
    return _decode(cursor, "after_name", lambda after: isinstance(after, str) and bool(after), scope)


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


def page(rows: list[dict], size: int, scope: str, key: str = "id") -> dict:
    """Build a page of the list `scope` from up to size+1 rows (the extra one only says there is more)."""
    more = len(rows) > size
    rows = rows[:size]
    return {"data": rows, "next": encode(rows[-1][key], scope) if more and rows else None}


def flag(raw: str | None, field: str) -> bool | None:
    """A true/false query parameter (absent: None)."""
    if raw is None or raw == "":
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise InvalidInput(f"{field} must be true or false", field=field)
