"""Human-feedback formats in the shapes TRL's trainers read: `preference` (prompt, chosen, rejected: reward
models and DPO), `kto` (unpaired: prompt, completion, label), `ranking` (the whole consensus order per prompt)
and `sft` (prompt and completion, or messages). `--conversational` writes prompts and answers as message lists
({"role", "content"}), as TRL's conversational formats have them."""

from __future__ import annotations

from typing import Any, Iterator

from labeling.export.archive import Sink
from labeling.export.rows import Report, TaskRow
from labeling.export.writer import Writer

TIES = "tied pairs (dropped)"
BELOW = "pairs below min_margin (dropped)"
# TRL's reward trainer reads a `margin` column as a number for each pair (a null one stops its collator): a pair
# whose margin is not known (--margin rating, a response without a rating) is no row of a TRL preference file.
NO_MARGIN = "pairs without a margin: a response without a rating (dropped)"
# Two responses with the same text (two samples of one model often are): as a pair they teach nothing, and as KTO
# rows the one completion would be both desirable and undesirable for the one prompt.
# --margin rating where the consensus ranks chosen above rejected but their mean ratings say the opposite: a negative
# margin would tell TRL's reward loss (-logsigmoid(r_chosen - r_rejected - margin)) that rejected may score higher.
CONTRADICTED = "pairs whose mean ratings rank them the other way: the rejected response rated higher (dropped)"
SAME_PAIR = "pairs whose chosen and rejected texts are the same (dropped)"
SAME_KTO = "responses with the text of another response of the task labelled the other way (left out)"
# TRL's standard (not conversational) rows have no place for a system prompt: the prompt alone is written, and said.
NO_SYSTEM = "system prompts left out (--conversational writes them as the first message)"


def prompt_of(row: TaskRow, conversational: bool) -> Any:
    """The prompt as text, or as the messages before the answer (a `system` data field comes first)."""
    prompt = row.data.get("prompt", "")
    if not conversational:
        return prompt
    system = row.data.get("system")
    head = [{"role": "system", "content": system}] if isinstance(system, str) and system else []
    return [*head, {"role": "user", "content": prompt}]


def note_systems(rows: list[TaskRow], records: list[dict], conversational: bool, report: Report) -> None:
    """Count the system prompts of the tasks with rows that, written with a text prompt, leave them out."""
    if conversational:
        return
    written = {record["task_id"] for record in records}
    for row in rows:
        system = row.data.get("system")
        if row.id in written and isinstance(system, str) and system:
            report.add(NO_SYSTEM, f"task {row.id}")


def reply(text: str, conversational: bool) -> Any:
    """An answer as text, or as one assistant message."""
    return [{"role": "assistant", "content": text}] if conversational else text


def rating(value: Any) -> float | None:
    """A rating: a worker's number, or the mean of a consensus rating summary."""
    if isinstance(value, dict):
        value = value.get("mean")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def responses(row: TaskRow) -> dict[str, dict]:
    """The task's responses by id."""
    return {str(r.get("id")): r for r in row.data.get("responses") or []}


def tiers(row: TaskRow) -> list[list[str]]:
    """The consensus ranking (a gold task: its gold ranking), best first, ties sharing a tier."""
    return [[str(item) for item in tier] for tier in (row.answer or {}).get("ranking") or []]


def candidate_pairs(ranking: list[list[str]], mode: str) -> Iterator[tuple[str, str]]:
    """(better, worse) pairs of a tiered ranking: all, adjacent tiers only, or best tier against worst tier."""
    if mode == "all":
        for i, upper in enumerate(ranking):
            for lower in ranking[i + 1:]:
                yield from ((a, b) for a in upper for b in lower)
    elif mode == "adjacent":
        for upper, lower in zip(ranking, ranking[1:]):
            yield from ((a, b) for a in upper for b in lower)
    elif len(ranking) > 1:
        yield from ((a, b) for a in ranking[0] for b in ranking[-1])


def tied_pairs(ranking: list[list[str]], mode: str) -> int:
    """How many pairs the ranking's ties take out (in best-worst, only ties of the best or the worst tier)."""
    groups = ranking if mode != "best-worst" else ([ranking[0], ranking[-1]] if len(ranking) > 1 else ranking)
    return sum(len(g) * (len(g) - 1) // 2 for g in groups)


class Preference(Writer):
    """Reward-model and DPO pairs, one row per pair: prompt, chosen, rejected, the two models, the margin (the
    consensus probability that chosen beats rejected, or their rating gap), agreement and annotators."""

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        options = self.ctx.options
        records = []
        for row in rows:
            ranking = tiers(row)
            ties = tied_pairs(ranking, options.pairs)
            if ties:
                self.report.add(TIES, f"task {row.id}", ties)
            by_id = responses(row)
            probabilities = {(str(p.get("chosen")), str(p.get("rejected"))): p.get("probability")
                             for p in (row.answer or {}).get("pair_probabilities") or []}
            ratings = (row.answer or {}).get("ratings") or {}
            prompt = prompt_of(row, options.conversational)
            for chosen, rejected in candidate_pairs(ranking, options.pairs):
                good, bad = by_id.get(chosen, {}), by_id.get(rejected, {})
                if good.get("text", "") == bad.get("text", ""):
                    self.report.add(SAME_PAIR, f"task {row.id}")
                    continue
                if options.margin == "rating":
                    high, low = rating(ratings.get(chosen)), rating(ratings.get(rejected))
                    margin = None if high is None or low is None else high - low
                else:
                    margin = 1.0 if row.by_requester else probabilities.get((chosen, rejected))
                if margin is None:
                    self.report.add(NO_MARGIN, f"task {row.id}")
                    continue
                if margin < 0:
                    self.report.add(CONTRADICTED, f"task {row.id}")
                    continue
                if options.min_margin is not None and margin < options.min_margin:
                    self.report.add(BELOW, f"task {row.id}")
                    continue
                records.append({
                    "prompt": prompt, "chosen": reply(good.get("text", ""), options.conversational),
                    "rejected": reply(bad.get("text", ""), options.conversational),
                    "chosen_model": good.get("model"), "rejected_model": bad.get("model"), "margin": margin,
                    "agreement": row.agreement, "n_annotators": row.n_annotations, "task_id": row.id})
        note_systems(rows, records, self.ctx.options.conversational, self.report)
        self.emit(records, sink)


class Kto(Writer):
    """Unpaired preference rows (prompt, completion, label): a response is good or bad by its consensus rating
    (at least good_rating, at most bad_rating) or by its rank (in the best good_rank tiers, or the worst
    bad_rank); kto_source picks which (auto: ratings where the response has one, else ranks)."""

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        options = self.ctx.options
        records = []
        for row in rows:
            ranking = tiers(row)
            ratings = (row.answer or {}).get("ratings") or {}
            position = {item: i for i, tier in enumerate(ranking) for item in tier}
            prompt = prompt_of(row, options.conversational)
            by_id = responses(row)
            labels = {rid: self.label(rid, position, len(ranking), rating(ratings.get(rid)), row.id) for rid in by_id}
            labelled = [(response, labels[rid]) for rid, response in by_id.items() if labels[rid] is not None]
            both = ({response.get("text", "") for response, label in labelled if label}
                    & {response.get("text", "") for response, label in labelled if not label})
            for response, label in labelled:
                if response.get("text", "") in both:
                    self.report.add(SAME_KTO, f"task {row.id}")
                    continue
                records.append({"prompt": prompt, "completion": reply(response.get("text", ""), options.conversational),
                              "label": label, "model": response.get("model"), "task_id": row.id})
        note_systems(rows, records, self.ctx.options.conversational, self.report)
        self.emit(records, sink)

    def label(self, rid: str, position: dict[str, int], n_tiers: int, value: float | None, task_id: int
              ) -> bool | None:
        """True, False, or None (left out, counted) for one response."""
        options = self.ctx.options
        use_ratings = options.kto_source == "ratings" or (options.kto_source == "auto" and value is not None)
        if use_ratings:
            if value is None:
                self.report.add("responses without a rating (left out)", f"task {task_id}")
                return None
            if value >= options.good_rating:
                return True
            if value <= options.bad_rating:
                return False
            self.report.add("responses rated between bad_rating and good_rating (left out)", f"task {task_id}")
            return None
        tier = position.get(rid)
        if tier is None or n_tiers < 2:
            self.report.add("responses all tied or unranked (left out)", f"task {task_id}")
            return None
        good, bad = tier < options.good_rank, tier >= n_tiers - options.bad_rank
        if good == bad:
            self.report.add("responses ranked in the middle, or both best and worst (left out)", f"task {task_id}")
            return None
        return good


class Ranking(Writer):
    """One row per prompt: its responses, the full consensus order (tiers of tied responses), the
    Bradley-Terry scores and the rating summaries."""

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        records = []
        for row in rows:
            answer = row.answer or {}
            ranking = tiers(row)
            scores = answer.get("scores") or {}
            ratings = answer.get("ratings") or {}
            records.append({
                "task_id": row.id, "external_id": row.external_id, "prompt": row.data.get("prompt", ""),
                "responses": row.data.get("responses") or [], "ranking": ranking,
                "order": [item for tier in ranking for item in tier],
                "ties": any(len(tier) > 1 for tier in ranking),
                "scores": [{"id": item, "score": scores.get(item)} for tier in ranking for item in tier],
                "ratings": [{"id": item, "mean": rating(ratings.get(item))} for tier in ranking for item in tier
                            if item in ratings],
                "confidence": row.confidence, "agreement": row.agreement, "n_annotators": row.n_annotations})
        self.emit(records, sink)


class Sft(Writer):
    """Supervised fine-tuning rows: each counted demonstration its own row (prompt, completion), or
    `messages` with --conversational; a gold task gives its gold demonstration, and an overridden one the
    requester's (in place of its answers, as an override replaces the consensus in every export)."""

    def page(self, rows: list[TaskRow], number: int, sink: Sink) -> None:
        conversational = self.ctx.options.conversational
        records = []
        for row in rows:
            texts = ([str((row.answer or {}).get("text", ""))] if row.by_requester else
                     [str(a.answer.get("text", "")) for a in row.answers or () if not a.excluded])
            for text in texts:
                if conversational:
                    record: dict = {"messages": [*prompt_of(row, True), *reply(text, True)], "task_id": row.id}
                else:
                    record = {"prompt": row.data.get("prompt", ""), "completion": text, "task_id": row.id}
                records.append(record)
        note_systems(rows, records, self.ctx.options.conversational, self.report)
        self.emit(records, sink)
