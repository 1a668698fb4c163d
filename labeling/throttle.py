"""Sign-in throttling: repeated failures slow down, per username and per client address (pure, no I/O).

Each key (a username, a client address) may fail `allowance` times within `window` seconds for free. The failure
that reaches the allowance, and every one after it while the window still holds that many, starts a back-off
that doubles each time (`base`, 2x`base`, 4x`base`, ... up to `cap`); for an address, the back-off also lasts
until the window holds fewer than `allowance` failures again (a rate: never more than 50 failures a minute).
Attempts during a back-off are refused without checking the password (cheap, and they do not count as
failures, so they never lengthen it). A check still under way counts as a failure until it ends (`started`,
`finished`): a crowd of guesses sent at once, all arriving before the first is answered, gets no more checks
than guesses sent one after another would. A success
clears the username's record; a key that stays quiet for a window is forgotten. The cap means nobody is locked
out for longer than `cap` seconds at a time, whoever keeps guessing.

The state lives in one server process (the app state): with N processes behind one address an attacker gets
about N times the attempts (README, "Sign-in").
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Limit:
    """How many failures a key gets for free in a window, and its back-off after that."""

    allowance: int
    window: float
    base: float
    cap: float
    rate: bool = False  # the back-off lasts at least until the window holds fewer than `allowance` failures


# A person mistypes a few times; a script tries thousands. Per address, 50 failures a minute are free (an office
# behind one address, a class signing in at once), the 51st is refused.
PER_USERNAME = Limit(allowance=5, window=900.0, base=1.0, cap=300.0)
PER_ADDRESS = Limit(allowance=50, window=60.0, base=1.0, cap=900.0, rate=True)
MAX_KEYS = 100_000  # remembered keys per process; past it, the ones not in a back-off are forgotten


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    strikes: int = 0
    blocked_until: float = 0.0


class Throttle:
    """Failed sign-ins per username and per client address, with a growing back-off (one per server process)."""

    def __init__(self, per_username: Limit = PER_USERNAME, per_address: Limit = PER_ADDRESS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = {"user": per_username, "addr": per_address}
        self.clock = clock
        self._records: dict[tuple[str, str], _Record] = {}
        self._under_way: dict[tuple[str, str], int] = {}

    @staticmethod
    def _keys(username: str, address: str) -> list[tuple[str, str]]:
        return [("user", username.strip().lower()), ("addr", address)]

    def retry_after(self, username: str, address: str) -> int:
        """Whole seconds to wait before this username may try from this address (0: go ahead)."""
        now = self.clock()
        wait = 0.0
        for key in self._keys(username, address):
            record = self._records.get(key)
            if record is not None:
                wait = max(wait, record.blocked_until - now)
            under_way = self._under_way.get(key, 0)
            if under_way:
                limit = self.limits[key[0]]
                recent = sum(1 for at in record.failures if at > now - limit.window) if record else 0
                if recent + under_way >= limit.allowance:
                    wait = max(wait, limit.base)  # as if those checks had failed: the first back-off
        return math.ceil(wait) if wait > 0 else 0

    def started(self, username: str, address: str) -> None:
        """A password check for this username from this address begins (counted until `finished`)."""
        for key in self._keys(username, address):
            self._under_way[key] = self._under_way.get(key, 0) + 1

    def finished(self, username: str, address: str) -> None:
        """The password check `started` ended (call it before `failed` or `succeeded`, whatever happened)."""
        for key in self._keys(username, address):
            left = self._under_way.get(key, 0) - 1
            if left > 0:
                self._under_way[key] = left
            else:
                self._under_way.pop(key, None)

    def failed(self, username: str, address: str) -> None:
        """Count a failed sign-in against both keys; past the allowance, start or lengthen the back-off."""
        now = self.clock()
        if len(self._records) >= MAX_KEYS:
            self._records = {k: r for k, r in self._records.items() if r.blocked_until > now}
        for key in self._keys(username, address):
            limit = self.limits[key[0]]
            record = self._records.setdefault(key, _Record())
            while record.failures and record.failures[0] <= now - limit.window:
                record.failures.popleft()
            if not record.failures:
                record.strikes = 0  # quiet for a whole window: a fresh start
            record.failures.append(now)
            while len(record.failures) > limit.allowance:
                record.failures.popleft()  # keep no more than the allowance's worth
            if len(record.failures) >= limit.allowance:
                record.strikes += 1
                until = now + min(limit.cap, limit.base * 2 ** (record.strikes - 1))
                if limit.rate:
                    until = max(until, record.failures[0] + limit.window)
                record.blocked_until = until

    def succeeded(self, username: str) -> None:
        """A right password clears the username's record (never the address's: one good account of an attacker
        must not reset their guessing at others)."""
        self._records.pop(("user", username.strip().lower()), None)
