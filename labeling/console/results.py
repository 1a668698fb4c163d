"""/console/projects/{id}/results: the project's tasks with their consensus, least certain first, filtered and
paged by keyset (labeling/console/results_rows.py). Each row shows the consensus the way its task type looks,
drawn by labeling/static/console_views.js from the task type's spec (its family names the answer's shape, its
media the data's), never from its name."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from labeling import label_styles, models, schemas, tasktypes, web
from labeling.consensus import tasks as consensus_tasks
from labeling.console import frame, results_rows
from labeling.console import projects as listing
from labeling.errors import InvalidInput

SORT_NAMES = {"confidence": "Least confident", "disagreement": "Most disputed", "id": "Import order"}
# A row shows the start of its task, clipped to three lines: it carries no more than that. Whole rows (every data
# field, an 8 MiB text, the consensus twice with all of its spans) made one task's row 2.9 MB, a page up to 50 times
# that, and the page's script drew every span of every text.
VIEW_FIELDS = ("text", "image", "prompt", "responses")  # the data the row's view draws (console_views.js)
PREVIEW_CHARS = 2000  # of a text, a prompt, a response or a written answer
PREVIEW_ITEMS = 200  # spans, boxes or labels of an answer


def view_config(row: Any) -> dict:
    """What the page scripts need to draw a project's answers: its task type's family and media, labels and
    their colours."""
    spec = tasktypes.get(row.task_type)
    return {"project_id": row.id, "task_type": row.task_type, "family": spec.family, "media": spec.media,
            "multi": spec.multi, "labels": list(row.labels), "options": dict(row.options or {}),
            "label_styles": label_styles.effective(row.labels, row.label_styles)}


async def _worker_id(conn: Any, project_id: int, username: str | None) -> int | None:
    if username is None:
        return None
    u, pw = models.users, models.project_workers
    found = await conn.scalar(select(u.c.id).join(pw, pw.c.worker_id == u.c.id)
                              .where(u.c.username == username, pw.c.project_id == project_id))
    if found is None:
        raise InvalidInput(f"no worker {username!r} has worked in this project", field="worker")
    return int(found)


async def workers(conn: Any, project_id: int) -> list[str]:
    """Usernames of the project's workers (its standing rows: one per worker, a few hundred at most)."""
    u, pw = models.users, models.project_workers
    rows = await conn.execute(select(u.c.username).join(pw, pw.c.worker_id == u.c.id)
                              .where(pw.c.project_id == project_id).order_by(u.c.username).limit(2000))
    return [r[0] for r in rows]


@frame.page("console.project")
async def results(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/{project_id}/results"""
    error: dict | None = None
    async with web.state(request).db.read() as conn:
        row = await frame.project_for(request, caller, conn)
        spec = tasktypes.get(row.task_type)
        filters: dict = {k: v for k, v in request.query_params.items() if v != ""}
        page = results_rows.Page([], None, filters.get("sort") or results_rows.sorts(spec)[0])
        try:
            query = web.query(request, schemas.ResultsQuery, empty_is_none=True)
            page = await results_rows.page(conn, row, query, await _worker_id(conn, row.id, query.worker))
        except InvalidInput as exc:
            error = {"field": exc.field, "message": str(exc)}
        names = await workers(conn, row.id)
        counts = (await listing.progress(conn, [row.id])).get(row.id, listing.EMPTY)
    kept = {k: v for k, v in filters.items() if k != "after"}
    return frame.render(request, caller, "console/results.html", {
        "rows": [preview(r) for r in page.rows], "after": page.after, "sort": page.sort, "filters": kept, "error": error,
        "no_tasks": not counts["tasks"] + counts["gold_tasks"],
        "import_order_query": urlencode({**kept, "sort": "id"}),
        "sorts": [(s, SORT_NAMES[s]) for s in results_rows.sorts(spec)], "paged": "after" in filters,
        "label_options": [("", "any")] + [(str(n), str(n)) for n in row.labels],
        "worker_options": [("", "anyone")] + [(n, n) for n in names],
        "has_labels": spec.needs_labels and spec.family in results_rows.LABEL_PLACES,
        "config": view_config(row), "page_size": results_rows.PAGE,
        "adaptive_recheck": consensus_tasks.rechecks(row.task_type, row.target_confidence, row.redundancy_min,
                                                     row.redundancy_max),
    }, project=row, tab="results", status_code=400 if error else 200)


def _clip(value: Any) -> Any:
    return value[:PREVIEW_CHARS] if isinstance(value, str) else value


def preview(row: dict) -> dict:
    """What the page carries of a row: the data fields its view draws, texts cut to PREVIEW_CHARS (the spans in the
    cut, ends clipped to it) and at most PREVIEW_ITEMS spans, boxes or labels of the answer shown."""
    data = row.get("data") if isinstance(row.get("data"), dict) else {}
    small = {k: _clip(data[k]) for k in VIEW_FIELDS if k in data}
    if isinstance(small.get("responses"), list):
        small["responses"] = [{**r, "text": _clip(r.get("text"))} if isinstance(r, dict) else r
                              for r in small["responses"]]
    answer = row.get("answer")
    if isinstance(answer, dict):
        answer = dict(answer)
        if isinstance(answer.get("text"), str):
            answer["text"] = _clip(answer["text"])
        cut = len(small["text"]) if isinstance(small.get("text"), str) else None
        if isinstance(answer.get("spans"), list) and cut is not None:
            answer["spans"] = [{**sp, "end": min(sp["end"], cut)} for sp in answer["spans"]
                               if isinstance(sp, dict) and isinstance(sp.get("start"), int)
                               and isinstance(sp.get("end"), int) and sp["start"] < cut]
        for key in ("spans", "boxes", "labels"):
            if isinstance(answer.get(key), list) and len(answer[key]) > PREVIEW_ITEMS:
                answer[key] = answer[key][:PREVIEW_ITEMS]
    return {**{k: v for k, v in row.items() if k != "crowd"}, "data": small, "answer": answer}


PAGES = [("GET", "/console/projects/{project_id}/results", results)]
TABS = [frame.Tab("results", "Results", "results", order=20, accesskey="r")]
