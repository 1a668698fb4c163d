"""Preference ranking (RLHF): order two or more responses to a prompt, ties allowed."""

from __future__ import annotations

from typing import Any

from labeling.errors import InvalidInput
from labeling.tasktypes.base import (COMMON_FORMATS, MAX_ID_CHARS, Context, TaskTypeSpec, require_dict, require_int,
                                     require_keys, require_number, require_text, require_visible_name)

MAX_RESPONSES = 16


def _id(value: Any, field: str) -> str:
    """A response id: a string (a whole number is taken as its digits) of 1 to MAX_ID_CHARS characters."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not 1 <= len(str(value)) <= MAX_ID_CHARS:
        raise InvalidInput(f"{field} must be a string of 1-{MAX_ID_CHARS} characters", field=field)
    return str(value)


def data_(data: Any, ctx: Context) -> dict:
    """{"prompt", "responses": [{"id", "text", "model"?}, ...]} with 2 or more distinct ids."""
    data = require_dict(data, "data")
    require_keys(data, "data", set(data), {"prompt", "responses"})
    prompt = require_text(data["prompt"], "data.prompt")
    responses = data["responses"]
    if not isinstance(responses, list) or not 2 <= len(responses) <= MAX_RESPONSES:
        raise InvalidInput(f"data.responses must be a list of 2 to {MAX_RESPONSES} responses", field="data.responses")
    checked, ids = [], set()
    for i, response in enumerate(responses):
        field = f"data.responses[{i}]"
        response = require_dict(response, field)
        require_keys(response, field, set(response), {"id", "text"})
        rid = _id(response["id"], f"{field}.id")
        if rid in ids:
            raise InvalidInput(f"{field}.id {rid!r} is used twice", field=f"{field}.id")
        ids.add(rid)
        item = {**response, "id": rid, "text": require_text(response["text"], f"{field}.text", allow_empty=True)}
        if "model" in response and response["model"] is not None:
            item["model"] = require_visible_name(response["model"], f"{field}.model", max_chars=200)
        checked.append(item)
    return {**data, "prompt": prompt, "responses": checked}


def answer(value: Any, data: dict, ctx: Context) -> dict:
    """{"ranking": [[id, ...], ...]} naming every response once, best first; optional ratings and rationale."""
    value = require_dict(value, "answer")
    require_keys(value, "answer", {"ranking", "ratings", "rationale"}, {"ranking"})
    ids = [r["id"] for r in data["responses"]]
    ranking = value["ranking"]
    if not isinstance(ranking, list) or not ranking:
        raise InvalidInput("answer.ranking must be a non-empty list of lists of response ids", field="answer.ranking")
    seen: list[str] = []
    checked = []
    for i, group in enumerate(ranking):
        field = f"answer.ranking[{i}]"
        if not isinstance(group, list) or not group:
            raise InvalidInput(f"{field} must be a non-empty list of response ids", field=field)
        tier = []
        for j, rid in enumerate(group):
            rid = _id(rid, f"{field}[{j}]")
            if rid not in ids:
                raise InvalidInput(f"{field}[{j}] {rid!r} is not a response of this task", field=f"{field}[{j}]")
            if rid in seen:
                raise InvalidInput(f"{field}[{j}] {rid!r} is ranked twice", field=f"{field}[{j}]")
            seen.append(rid)
            tier.append(rid)
        checked.append(tier)
    missing = [rid for rid in ids if rid not in seen]
    if missing:
        raise InvalidInput(f"answer.ranking leaves out response(s) {', '.join(missing)}", field="answer.ranking")
    result: dict = {"ranking": checked}
    if value.get("ratings") is not None:
        ratings = require_dict(value["ratings"], "answer.ratings")
        clean = {}
        for rid, rating in ratings.items():
            if rid not in ids:
                raise InvalidInput(f"answer.ratings names {rid!r}, not a response of this task", field="answer.ratings")
            clean[rid] = require_int(rating, f"answer.ratings.{rid}", minimum=1, maximum=7)
        result["ratings"] = clean
    if value.get("rationale") is not None:
        result["rationale"] = require_text(value["rationale"], "answer.rationale", allow_empty=True, max_chars=20_000)
    return result


def consensus(value: Any, data: dict, ctx: Context) -> dict:
    """A stored consensus: an answer's ranking, with the Bradley-Terry scores, the pair probabilities and the
    rating summaries (consensus.tasks) the engine adds."""
    value = require_dict(value, "answer")
    require_keys(value, "answer", {"ranking", "scores", "pair_probabilities", "ratings"}, {"ranking"})
    answer({"ranking": value["ranking"]}, data, ctx)
    ids = {r["id"] for r in data["responses"]}
    for rid, score in require_dict(value.get("scores") or {}, "answer.scores").items():
        if rid not in ids:
            raise InvalidInput(f"answer.scores names {rid!r:.40}, not a response of this task", field="answer.scores")
        require_number(score, f"answer.scores.{rid}")
    pairs = value.get("pair_probabilities") or []
    if not isinstance(pairs, list):
        raise InvalidInput("answer.pair_probabilities must be a list", field="answer.pair_probabilities")
    for i, pair in enumerate(pairs):
        field = f"answer.pair_probabilities[{i}]"
        pair = require_dict(pair, field)
        require_keys(pair, field, {"chosen", "rejected", "probability"}, {"chosen", "rejected", "probability"})
        if pair["chosen"] not in ids or pair["rejected"] not in ids:
            raise InvalidInput(f"{field} names a response this task does not have", field=field)
        require_number(pair["probability"], f"{field}.probability", minimum=0.0, maximum=1.0)
    for rid, summary in require_dict(value.get("ratings") or {}, "answer.ratings").items():
        if rid not in ids:
            raise InvalidInput(f"answer.ratings names {rid!r:.40}, not a response of this task", field="answer.ratings")
        for name, figure in require_dict(summary, f"answer.ratings.{rid}").items():
            if figure is not None:  # a summary of no ratings has no median, mean...
                require_number(figure, f"answer.ratings.{rid}.{name}")
    return value


def _by_id(answer: dict, key: str, value: str) -> list[dict] | None:
    """The answer's mapping under `key`, keyed by response id, as a list of {"id", value} (a column whose keys vary
    row to row has no single type for datasets), in the answer's ranking order, best first. Not in the mapping's
    own order: PostgreSQL's jsonb keeps an object's keys in its own order (shorter keys first), SQLite as written."""
    mapping = answer.get(key)
    if not isinstance(mapping, dict):
        return None
    ranked = [str(rid) for tier in answer.get("ranking") or () if isinstance(tier, list) for rid in tier]
    order = {rid: n for n, rid in enumerate(dict.fromkeys(ranked))}
    ids = sorted(mapping, key=lambda rid: (order.get(rid, len(order)), rid))  # unranked ids (none in a valid answer)
    return [{"id": rid, value: mapping[rid]} for rid in ids]


def answer_row(answer: dict | None) -> dict:
    """Export columns of an answer: the ranking, the ratings as a list (best first) and the rationale."""
    answer = answer or {}
    return {"ranking": answer.get("ranking"), "ratings": _by_id(answer, "ratings", "rating"),
            "rationale": answer.get("rationale")}


def consensus_row(answer: dict | None, details: dict) -> dict:
    """Export columns of a consensus: the best-first ranking (ties share a list) and the Bradley-Terry scores in
    that order."""
    answer = answer or {}
    return {"ranking": answer.get("ranking"), "scores": _by_id(answer, "scores", "score")}


SPECS = (TaskTypeSpec(
    "preference_ranking", "Preference ranking",
    "Rank model responses to a prompt, best first (ties allowed), with optional ratings.", family="ranking",
    media="text", template="label_ranking.html", script="js/ranking.js", needs_labels=False, validate_data=data_,
    validate_answer=answer, formats=(*COMMON_FORMATS, "preference", "kto", "ranking"), order=7,
    consensus_row=consensus_row, answer_row=answer_row, validate_consensus=consensus, agreement_key="agreement",
    split_field="prompt"),)
