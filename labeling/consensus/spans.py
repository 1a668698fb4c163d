"""Named-entity spans: span-level voting with exact or overlap matching, and a confidence per span."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from labeling.consensus import probability
from labeling.errors import InvalidInput

Span = tuple[int, int, object]  # start, end (exclusive), label
MODES = ("exact", "overlap")


@dataclass
class SpanConsensus:
    """Consensus spans of one text, each with its confidence."""

    spans: list[dict[str, object]]
    confidence: float | None
    span_details: list[dict[str, float]] = field(default_factory=list)


def span_tuples(spans: Sequence[Mapping[str, object]], where: str = "spans") -> list[Span]:
    """Return (start, end, label) tuples; raise InvalidInput for a missing or bad field."""
    out: list[Span] = []
    for i, span in enumerate(spans):
        try:
            start, end = int(span["start"]), int(span["end"])  # type: ignore[call-overload]
        except (KeyError, TypeError, ValueError):
            raise InvalidInput(f"{where}[{i}] needs integer start and end", field=f"{where}[{i}]") from None
        if end <= start or start < 0:
            raise InvalidInput(f"{where}[{i}] must have 0 <= start < end", field=f"{where}[{i}]")
        out.append((start, end, span.get("label")))
    return out


def overlap(a: Span, b: Span) -> float:
    """Character IoU of two spans (labels ignored)."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


OVERLAPS = ("none", "nested", "allow")  # which overlaps of the consensus spans stand (a project's span_overlap)


def _resolve(candidates: list[tuple[float, Span, dict[str, float]]], overlaps: str = "none"
             ) -> list[tuple[float, Span, dict[str, float]]]:
    """Keep the best-supported spans, in text order: "none" those that do not overlap a better one, "nested" those
    that do not cross one (overlap it without one holding the other), "allow" every one. A project whose answers
    may hold nested or overlapping entities keeps them in its consensus: workers who all marked "New York City" and
    "New York" inside it gave two entities, and the consensus kept one."""
    if overlaps != "none":  # one span (start, end, label) once: two groups may vote for the same
        best: dict[Span, tuple[float, Span, dict[str, float]]] = {}
        for cand in sorted(candidates, key=lambda c: (-c[0], c[1])):
            best.setdefault(cand[1], cand)
        candidates = list(best.values())
    if overlaps == "allow":
        return sorted(candidates, key=lambda c: (c[1][0], c[1][1], c[1][2]))
    if overlaps == "nested":
        return _resolve_nested(candidates)
    chosen: list[tuple[float, Span, dict[str, float]]] = []
    # The kept spans never overlap, so in start order their ends rise too: a new span overlaps one of them only if
    # it overlaps the last kept span starting before its end (one look-up, not one per kept span).
    starts: list[int] = []
    ends: list[int] = []
    for cand in sorted(candidates, key=lambda c: (-c[0], -(c[1][1] - c[1][0]), c[1][0])):
        start, end = cand[1][0], cand[1][1]
        k = bisect.bisect_left(starts, end)
        if k and ends[k - 1] > start:
            continue
        starts.insert(k, start)
        ends.insert(k, end)
        chosen.append(cand)
    return sorted(chosen, key=lambda c: (c[1][0], c[1][1]))


def _resolve_nested(candidates: list[tuple[float, Span, dict[str, float]]]
                    ) -> list[tuple[float, Span, dict[str, float]]]:
    """The best-supported spans that cross no better one (see _resolve), in text order."""
    ordered = sorted(candidates, key=lambda c: (-c[0], -(c[1][1] - c[1][0]), c[1][0], c[1][2]))
    index = _Representatives(c[1] for c in ordered)
    chosen: list[tuple[float, Span, dict[str, float]]] = []
    for cand in ordered:
        start, end = cand[1][0], cand[1][1]
        crossing = False
        for k in index.overlapping(start, end):
            other = chosen[k][1]
            inside = other[0] <= start and end <= other[1]
            around = start <= other[0] and other[1] <= end
            if not (inside or around):
                crossing = True
                break
        if not crossing:
            index.add(len(chosen), cand[1])
            chosen.append(cand)
    return sorted(chosen, key=lambda c: (c[1][0], c[1][1], c[1][2]))


class _Representatives:
    """The groups' representative spans, found by overlap. A representative is always one of the answers' spans, so
    a max-end segment tree over all of them, sorted by start, finds the groups whose representative overlaps a span
    in log n steps per group found; asking every group (and recomputing its representative) made one text with a
    few thousand spans per answer take minutes to settle."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self.order = sorted({(s[0], s[1]) for s in spans})
        self.index = {se: i for i, se in enumerate(self.order)}
        self.starts = [s for s, _ in self.order]
        self.size = 1
        while self.size < len(self.order):
            self.size *= 2
        self.max_end = [-1] * (2 * self.size)  # per node: the largest end of a representative under it, -1 if none
        self.groups: list[set[int]] = [set() for _ in self.order]  # per (start, end): the groups it represents

    def _set(self, i: int) -> None:
        node = self.size + i
        self.max_end[node] = self.order[i][1] if self.groups[i] else -1
        node //= 2
        while node:
            self.max_end[node] = max(self.max_end[2 * node], self.max_end[2 * node + 1])
            node //= 2

    def add(self, group: int, span: Span) -> None:
        i = self.index[(span[0], span[1])]
        self.groups[i].add(group)
        self._set(i)

    def remove(self, group: int, span: Span) -> None:
        i = self.index[(span[0], span[1])]
        self.groups[i].discard(group)
        self._set(i)

    def overlapping(self, start: int, end: int) -> set[int]:
        """The groups whose representative overlaps [start, end)."""
        limit = bisect.bisect_left(self.starts, end)  # representatives starting before `end`
        found: set[int] = set()
        stack = [(1, 0, self.size)]
        while stack:
            node, lo, hi = stack.pop()
            if lo >= limit or self.max_end[node] <= start:
                continue
            if node >= self.size:
                found.update(self.groups[lo])
                continue
            mid = (lo + hi) // 2
            stack.append((2 * node, lo, mid))
            stack.append((2 * node + 1, mid, hi))
        return found


def aggregate_spans(
    answers: Sequence[Sequence[Mapping[str, object]]],
    weights: Sequence[float] | None = None,
    mode: str = "overlap",
    min_support: float = 0.5,
    overlaps: str = "none",
) -> SpanConsensus:
    """Vote on spans; keep those backed by at least `min_support` of the (weighted) workers, and of those the ones
    `overlaps` lets stand together (_resolve: a project's span_overlap).

    "exact" counts a vote only for identical (start, end, label); "overlap" groups overlapping
    spans (one per worker), then takes the most-voted label and boundaries inside each group;
    its confidence is the label's weighted support times the members' mean overlap with the result.
    """
    if mode not in MODES:
        raise InvalidInput(f"unknown span matching {mode!r}; use exact or overlap", field="mode")
    n = len(answers)
    if n == 0:
        return SpanConsensus([], None)
    wts = [1.0] * n if weights is None else [max(float(w), 1e-6) for w in weights]
    total = sum(wts)
    sets = [set(span_tuples(a, f"answers[{i}].spans")) for i, a in enumerate(answers)]
    exact: dict[Span, float] = {}
    for wk, spans in enumerate(sets):
        for span in spans:
            exact[span] = exact.get(span, 0.0) + wts[wk]
    if mode == "exact":
        cands = [(v / total, s, {"support": v / total, "exact_support": v / total}) for s, v in exact.items()]
    else:
        cands = _overlap_candidates(sets, wts, exact, total)
    dropped = [c for c in cands if c[2]["support"] + 1e-9 < min_support]
    if overlaps not in OVERLAPS:
        raise InvalidInput(f"unknown span overlap {overlaps!r}; use one of {', '.join(OVERLAPS)}", field="overlaps")
    kept = _resolve([c for c in cands if c[2]["support"] + 1e-9 >= min_support], overlaps)
    spans = [{"start": s[0], "end": s[1], "label": s[2]} for _, s, _ in kept]
    details = [{k: round(v, 6) for k, v in {"confidence": conf, **d}.items()} for conf, _, d in kept]
    if kept:
        confidence = sum(c for c, _, _ in kept) / len(kept)
    else:
        confidence = 1.0 - max((c[2]["support"] for c in dropped), default=0.0)
    return SpanConsensus(spans, probability(confidence), details)


def _overlap_candidates(
    sets: list[set[Span]], wts: list[float], exact: dict[Span, float], total: float
) -> list[tuple[float, Span, dict[str, float]]]:
    """Group overlapping spans across workers (at most one per worker) and score each group."""
    groups: list[list[tuple[int, Span]]] = []
    reps: list[Span] = []  # each group's _group_span, kept up to date as members join
    index = _Representatives(span for spans in sets for span in spans)
    order = sorted(range(len(sets)), key=lambda wk: -wts[wk])
    for wk in order:
        # The groups this worker made or joined leave the index until its spans are placed (a group takes one span
        # of each worker): asking for every overlapping group and then dropping the taken ones cost one step per
        # group, so one answer of thousands of nested spans took minutes to settle.
        taken: list[int] = []
        for span in sorted(sets[wk]):
            best, best_score = -1, 0.0
            # only groups whose representative overlaps the span may take it; first-made wins a tie, as before
            for g in sorted(index.overlapping(span[0], span[1])):
                members = groups[g]
                score = max(overlap(span, other) for _, other in members)
                score += 1.0 if any(other[2] == span[2] for _, other in members) else 0.0
                if score > best_score:
                    best, best_score = g, score
            if best >= 0:
                groups[best].append((wk, span))
                index.remove(best, reps[best])
                reps[best] = _group_span(groups[best], wts, exact)
                taken.append(best)
            else:
                groups.append([(wk, span)])
                reps.append(span)
                taken.append(len(groups) - 1)
        for g in taken:
            index.add(g, reps[g])
    out = []
    for members, span in zip(groups, reps):
        agreeing = [(wts[wk], overlap(s, span)) for wk, s in members if s[2] == span[2]]
        label_w = sum(w for w, _ in agreeing)
        support = label_w / total
        mean_overlap = sum(w * o for w, o in agreeing) / label_w
        out.append((support * mean_overlap, span, {
            "support": support, "exact_support": exact.get(span, 0.0) / total, "mean_overlap": mean_overlap,
            "group_support": sum(wts[wk] for wk, _ in members) / total}))
    return out


def _group_span(members: list[tuple[int, Span]], wts: list[float], exact: dict[Span, float]) -> Span:
    """The group's representative: its most-voted label, then that label's most-voted exact span."""
    label_votes: dict[object, float] = {}
    for wk, s in members:
        label_votes[s[2]] = label_votes.get(s[2], 0.0) + wts[wk]
    label = max(label_votes, key=label_votes.__getitem__)
    same = [s for _, s in members if s[2] == label]
    # Most votes first, then the medoid (largest summed overlap with the others), then the earliest.
    return max(same, key=lambda s: (exact.get(s, 0.0), sum(overlap(s, o) for o in same), -s[0], -s[1]))


def span_f1(answer: Sequence[Mapping[str, object]], reference: Sequence[Mapping[str, object]]) -> float:
    """Exact-match F1 of (start, end, label) spans (1.0 when both are empty)."""
    a, r = set(span_tuples(answer)), set(span_tuples(reference))
    if not a and not r:
        return 1.0
    return 2.0 * len(a & r) / (len(a) + len(r))
