"""Battles between models accumulated one answer at a time in typed arrays (pure: no database).

A preference answer ranks a task's responses; every pair of ranked responses from two different models is a
battle (a tie is half a win for each). `BattleLog.add` takes one answer and appends its battles, its ratings and
the codes of its breakdown values to compact typed buffers (a few bytes a battle), so a loader can stream a
project of millions of answers through it without holding the answers; `battles()` and `ratings()` hand the
buffers to NumPy. Prompts are any integer key (a task id, a hash of the prompt text) and become dense codes
only at the end, so no dictionary grows with the number of prompts.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_VALUES = 1000  # distinct values of one breakdown field kept apart; later ones are counted as left out


@dataclass
class Battles:
    """Battles as parallel arrays, plus the names behind the codes."""

    prompt: np.ndarray  # prompt index of each battle
    a: np.ndarray  # model codes, a < b
    b: np.ndarray
    score: np.ndarray  # a's share: 1 won, 0.5 tied, 0 lost
    order: np.ndarray  # 1 when a was shown first, -1 when b was, 0 when not recorded
    models: list[str]
    prompts: Sequence[Hashable]  # one entry per prompt code (only its length is read by the fit)
    answers: int
    answers_with_order: int = 0  # answers that recorded the order their responses were shown in

    def subset(self, mask: np.ndarray, answers: int, answers_with_order: int) -> "Battles":
        """The battles where mask holds, their prompts and models coded afresh (a resample draws only their
        prompts; a model without battles there is not on their board)."""
        keys, prompt = np.unique(self.prompt[mask], return_inverse=True)
        present, coded = np.unique(np.concatenate([self.a[mask], self.b[mask]]), return_inverse=True)
        a, b = np.split(coded.astype(np.int64), 2)
        return Battles(prompt.astype(np.int64), a, b, self.score[mask], self.order[mask],
                       [self.models[i] for i in present], keys, answers, answers_with_order)


@dataclass
class Ratings:
    """Likert ratings as parallel arrays: the prompt code, the model code and the rating of each."""

    prompt: np.ndarray
    model: np.ndarray  # codes into `models`
    value: np.ndarray
    models: list[str]


@dataclass
class _Source:
    """Counts kept per source (a project): answers, those with a display order, those without two models."""

    name: str
    answers: int = 0
    with_order: int = 0
    without_models: int = 0


def display_order(shown: Any, letters: Any) -> dict[Hashable, int]:
    """Response id -> position shown (0 first or leftmost), from a shown order or else from the letters each
    response was shown under (A before B, Z before AA); empty when neither was recorded, or when what was
    recorded does not fix an order (an id listed twice, two responses under one letter): never guessed."""
    if isinstance(shown, (list, tuple)) and shown:
        kept = [r for r in shown if isinstance(r, Hashable)]  # an unhashable entry: keep the others
        return {r: k for k, r in enumerate(kept)} if len(set(kept)) == len(kept) else {}
    if isinstance(letters, Mapping) and letters and all(isinstance(v, str) for v in letters.values()):
        if len(set(letters.values())) < len(letters):
            return {}
        ordered = sorted(letters, key=lambda rid: (len(letters[rid]), letters[rid]))
        return {r: k for k, r in enumerate(ordered)}
    return {}


@dataclass
class BattleLog:
    """Battles, ratings and breakdown codes of many answers, appended one answer at a time."""

    fields: Sequence[str] = ()  # task data fields to break the leaderboard down by
    max_values: int = MAX_VALUES
    models: dict[str, int] = field(default_factory=dict)
    rated: dict[str, int] = field(default_factory=dict)  # models with ratings (one may have ratings, no battles)
    sources: list[_Source] = field(default_factory=list)
    values: list[dict[str, int]] = field(default_factory=list)  # per field: value -> code
    values_left_out: list[int] = field(default_factory=list)  # per field: battles whose value got no code

    def __post_init__(self) -> None:
        self._answer_prompt = array("q")
        self._prompt, self._a, self._b, self._source = array("q"), array("i"), array("i"), array("i")
        self._score, self._order = array("f"), array("b")
        self._field = [array("i") for _ in self.fields]
        self._r_prompt, self._r_model, self._r_value = array("q"), array("i"), array("f")
        self.values = [{} for _ in self.fields]
        self.values_left_out = [0 for _ in self.fields]

    def source(self, name: str) -> int:
        """A new source (project) of answers; its code is passed to `add`."""
        self.sources.append(_Source(name))
        return len(self.sources) - 1

    def _code(self, k: int, value: str | None) -> int:
        if value is None:
            return -1
        codes = self.values[k]
        code = codes.get(value)
        if code is None:
            if len(codes) >= self.max_values:
                return -2
            code = codes[value] = len(codes)
        return code

    def add(self, prompt: int, ranking: Sequence[Sequence[Hashable]], owner: Mapping[Hashable, Any],
            order: Mapping[Hashable, int] | None = None, ratings: Mapping[Hashable, Any] | None = None,
            values: Sequence[str | None] = (), source: int = 0) -> int:
        """Append one answer: `ranking` best group first (ids in a group tied), `owner` maps response ids to
        model names, `order` response ids to the position shown (display_order), `values` one breakdown value
        (or None) per field. Returns the number of battles it made."""
        if not self.sources:
            self.source("")
        src = self.sources[source]
        src.answers += 1
        self._answer_prompt.append(prompt)
        position = order or {}
        flat = []
        for g, group in enumerate(ranking):
            for r in group:
                m = owner.get(r)
                if m is not None:
                    flat.append((g, r, m if type(m) is str else str(m)))
        if any(r not in position for _, r, _ in flat):
            position = {}  # an order that leaves out a ranked response (or names other ids) is no display order
        src.with_order += bool(position)
        models = self.models
        low: list[int] = []
        high: list[int] = []
        shares: list[float] = []
        firsts: list[int] = []
        for x, (gx, rx, mx) in enumerate(flat):
            cx = models.setdefault(mx, len(models))
            px = position.get(rx)
            for gy, ry, my in flat[x + 1:]:
                if mx == my:
                    continue  # one model against itself says nothing about models
                cy = models.setdefault(my, len(models))
                share = 1.0 if gx < gy else 0.5  # flat is best first: x is ahead of y or tied with it
                py = position.get(ry)
                first = 0 if px is None or py is None else (1 if px < py else -1)
                if cx < cy:  # stored as (low code, high code)
                    low.append(cx), high.append(cy), shares.append(share), firsts.append(first)
                else:
                    low.append(cy), high.append(cx), shares.append(1.0 - share), firsts.append(-first)
        made = len(low)
        if made:
            self._a.extend(low)
            self._b.extend(high)
            self._score.extend(shares)
            self._order.extend(firsts)
            self._prompt.extend([prompt] * made)
            self._source.extend([source] * made)
            for k in range(len(self.fields)):
                code = self._code(k, values[k] if k < len(values) else None)
                self._field[k].extend([code] * made)
                if code == -2:
                    self.values_left_out[k] += made
        else:
            src.without_models += 1  # fewer than two models among the ranked responses
        if isinstance(ratings, Mapping):
            for rid, value in ratings.items():
                model = owner.get(rid)
                if model is None or isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                self._r_prompt.append(prompt)
                self._r_model.append(self.rated.setdefault(str(model), len(self.rated)))
                self._r_value.append(float(value))
        return made

    @property
    def answers(self) -> int:
        """Answers added, over every source."""
        return sum(s.answers for s in self.sources)

    def fingerprint(self) -> str:
        """A digest of everything added (battles, ratings, breakdown codes, the names behind the codes and the
        counts per source): two logs with the same fingerprint give the same leaderboard."""
        digest = hashlib.sha256()
        for buffer in (self._answer_prompt, self._prompt, self._a, self._b, self._source, self._score, self._order,
                       *self._field, self._r_prompt, self._r_model, self._r_value):
            digest.update(len(buffer).to_bytes(8, "little"))
            digest.update(memoryview(buffer).cast("B"))
        names = [list(self.fields), list(self.models), list(self.rated), [list(v) for v in self.values],
                 self.values_left_out, [[s.name, s.answers, s.with_order, s.without_models] for s in self.sources]]
        digest.update(json.dumps(names).encode())
        return digest.hexdigest()

    def _prompt_keys(self) -> np.ndarray:
        return np.unique(np.frombuffer(self._answer_prompt, dtype=np.int64))

    def battles(self) -> Battles:
        """Every battle, prompts coded 0..n-1 over the prompts of every answer (battles or not)."""
        keys = self._prompt_keys()
        prompt = np.searchsorted(keys, np.frombuffer(self._prompt, dtype=np.int64)).astype(np.int64)
        return Battles(prompt, np.frombuffer(self._a, dtype=np.int32).astype(np.int64),
                       np.frombuffer(self._b, dtype=np.int32).astype(np.int64),
                       np.frombuffer(self._score, dtype=np.float32).astype(np.float64),
                       np.frombuffer(self._order, dtype=np.int8).astype(np.int64), list(self.models), keys,
                       self.answers, sum(s.with_order for s in self.sources))

    def source_codes(self) -> np.ndarray:
        """The source of every battle."""
        return np.frombuffer(self._source, dtype=np.int32)

    def field_codes(self, k: int) -> np.ndarray:
        """Every battle's value code of field k (-1 no value, -2 a value past max_values)."""
        return np.frombuffer(self._field[k], dtype=np.int32)

    def ratings(self) -> Ratings:
        """Every rating, its prompt coded as in battles()."""
        keys = self._prompt_keys()
        return Ratings(np.searchsorted(keys, np.frombuffer(self._r_prompt, dtype=np.int64)).astype(np.int64),
                       np.frombuffer(self._r_model, dtype=np.int32).astype(np.int64),
                       np.frombuffer(self._r_value, dtype=np.float32).astype(np.float64), list(self.rated))
