"""Model evaluation from the database: the preference answers of one or more projects streamed into battles
between models (labeling/consensus/battle_log.py), and their leaderboard (labeling/consensus/leaderboard.py).

Counted: every answer of a regular (not gold) task that is not excluded and whose worker is not blocked in its
project. Gold tasks are quality checks with a planted answer, so they stay out; the numbers left out are
reported. Tasks are read a page at a time in id order and their answers by task id range (as exports do), so
memory holds one page of rows plus the battles' typed arrays (a few bytes a battle), never the answers.
The bootstrap unit is the prompt: tasks whose data.prompt is the same text are one unit, across projects too.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Text, and_, bindparam, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from labeling import models, tasktypes
from labeling.consensus import leaderboard
from labeling.consensus.battle_log import BattleLog, Battles, display_order
from labeling.errors import Conflict, InvalidInput

PAGE = 500  # tasks read at once
MAX_BOOTSTRAP = 10_000
MAX_FIELDS = 5
MAX_FIELD_CHARS = 100
BOARDS_KEPT = 4  # leaderboards remembered by their battle log's fingerprint (a few MB each with hundreds of models)
_boards: OrderedDict[tuple[str, int, int], dict[str, Any]] = OrderedDict()
_boards_lock = threading.Lock()  # boards are computed in worker threads


def check_projects(projects: Sequence[Any]) -> None:
    """Every project collects preference rankings (a task type of the ranking family); else InvalidInput."""
    for project in projects:
        if tasktypes.get(project.task_type).family != "ranking":
            raise InvalidInput(f"project {project.name!r} is a {project.task_type} project: a leaderboard needs a "
                               "preference-ranking project", field="project")


def fields_of(raw: str | Sequence[str] | None) -> list[str]:
    """Breakdown fields from `category,lang` (or a list of such), checked: at most MAX_FIELDS distinct names."""
    items = [raw] if isinstance(raw, str) else list(raw or [])
    names: list[str] = []
    for item in items:
        for name in item.split(","):
            name = name.strip()
            if not 1 <= len(name) <= MAX_FIELD_CHARS or not name.isprintable():
                raise InvalidInput(f"by: a task data field name of 1-{MAX_FIELD_CHARS} printable characters, got "
                                   f"{name[:40]!r}", field="by")
            if name not in names:
                names.append(name)
    if len(names) > MAX_FIELDS:
        raise InvalidInput(f"by: at most {MAX_FIELDS} fields", field="by")
    return names


def prompt_key(data: dict, task_id: int) -> int:
    """The bootstrap unit of a task: a 63-bit hash of its prompt text (the task id when it has none)."""
    prompt = data.get("prompt")
    if not isinstance(prompt, str):
        return -task_id - 1  # negative: never the hash of a text, which is masked to 63 bits below
    return int.from_bytes(hashlib.blake2b(prompt.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                          "big") & (2**63 - 1)


def _tasks_query(project_id: int) -> Any:
    t = models.tasks
    return (select(t.c.id, cast(t.c.data, Text).label("data"))
            .where(t.c.project_id == project_id, t.c.is_gold.is_(False), t.c.n_done > 0,
                   t.c.id > bindparam("after"))
            .order_by(t.c.id).limit(PAGE))


def _answers_query() -> Any:
    """Counted answers of the tasks first..last: not excluded, their worker not blocked. By task id range alone
    (it walks ix_annotations_task); the caller keeps its page's tasks."""
    a, pw = models.annotations, models.project_workers
    return (select(a.c.task_id, cast(a.c.answer, Text).label("answer"), cast(a.c.meta, Text).label("meta"))
            .select_from(a.outerjoin(pw, and_(pw.c.project_id == a.c.project_id, pw.c.worker_id == a.c.worker_id)))
            .where(a.c.task_id >= bindparam("first"), a.c.task_id <= bindparam("last"), a.c.excluded.is_(False),
                   or_(pw.c.blocked.is_(None), pw.c.blocked.is_(False)))
            .order_by(a.c.task_id, a.c.id))


def _task_facts(data: dict, fields: Sequence[str]) -> tuple[dict[str, str], list[str | None]]:
    """A task's response id -> model, and its breakdown values."""
    owner = {}
    for response in data.get("responses") or ():
        if isinstance(response, dict) and response.get("model") is not None and "id" in response:
            owner[str(response["id"])] = str(response["model"])
    return owner, [leaderboard.field_value(data.get(f)) for f in fields]


def _add_page(log: BattleLog, page: list[Any], answers: list[Any], source: int) -> None:
    """One page of tasks and their answers into the log (run in a worker thread: parsing is the work)."""
    facts = {}
    for task_id, data_text in page:
        data = orjson.loads(data_text)
        owner, values = _task_facts(data, log.fields)
        facts[task_id] = (prompt_key(data, task_id), owner, values)
    for task_id, answer_text, meta_text in answers:
        fact = facts.get(task_id)
        if fact is None:  # a task of another project, or a gold one
            continue
        answer = orjson.loads(answer_text)
        meta = orjson.loads(meta_text) if meta_text else None
        meta = meta if isinstance(meta, dict) else {}
        ranking = answer.get("ranking") if isinstance(answer, dict) else None
        if not isinstance(ranking, list):
            continue
        log.add(fact[0], ranking, fact[1], display_order(meta.get("shown_order"), meta.get("letters")),
                answer.get("ratings"), fact[2], source)


async def load_project(conn: AsyncConnection, log: BattleLog, project: Any) -> None:
    """Stream a project's counted answers into the log, as a source of its own. Pages are parsed in a worker
    thread, so a server's event loop keeps serving while a large project is read."""
    source = log.source(project.name)
    tasks_q, answers_q = _tasks_query(project.id), _answers_query()
    after = 0
    while True:
        page = (await conn.execute(tasks_q, {"after": after})).all()
        if not page:
            return
        answers = (await conn.execute(answers_q, {"first": page[0][0], "last": page[-1][0]})).all()
        await asyncio.to_thread(_add_page, log, page, answers, source)
        if len(page) < PAGE:
            return
        after = page[-1][0]


async def left_out(conn: AsyncConnection, project_id: int) -> dict[str, int]:
    """Answers of a project the leaderboard does not count, by reason (an answer counts under its first)."""
    a, t, pw = models.annotations, models.tasks, models.project_workers
    blocked = func.coalesce(pw.c.blocked, False)
    rows = (await conn.execute(
        select(t.c.is_gold, a.c.excluded, blocked.label("blocked"), func.count().label("n"))
        .select_from(a.join(t, t.c.id == a.c.task_id)
                     .outerjoin(pw, and_(pw.c.project_id == a.c.project_id, pw.c.worker_id == a.c.worker_id)))
        .where(a.c.project_id == project_id)
        .group_by(t.c.is_gold, a.c.excluded, blocked))).all()
    out = {"gold_tasks": 0, "excluded": 0, "blocked_workers": 0}
    for is_gold, excluded, is_blocked, n in rows:
        if is_gold:
            out["gold_tasks"] += n
        elif excluded:
            out["excluded"] += n
        elif is_blocked:
            out["blocked_workers"] += n
    return out


def _per_project(log: BattleLog, bt: Battles, projects: Sequence[Any], counts: list[dict[str, int]]
                 ) -> list[dict[str, Any]]:
    """Each project's answers, battles, answers left out and position bias."""
    sources = log.source_codes()
    out = []
    for s, (project, src) in enumerate(zip(projects, log.sources)):
        mine = bt.subset(sources == s, src.answers, src.with_order)
        out.append({"id": project.id, "name": project.name, "answers": src.answers, "battles": int(mine.a.size),
                    "answers_without_two_models": src.without_models, "left_out": counts[s],
                    "position_bias": leaderboard.position_bias(mine)})
    return out


async def board(db: Any, projects: Sequence[Any], *, by: Sequence[str] = (), n_bootstrap: int = 1000,
                seed: int = 0) -> dict[str, Any]:
    """The leaderboard of one or more preference projects (the JSON of leaderboard.json and the API).

    Raises InvalidInput for a project that is not a preference project or a bad setting, Conflict when the
    projects have no battles yet."""
    projects = list({project.id: project for project in projects}.values())  # one named twice counts once
    check_projects(projects)
    if not 0 <= n_bootstrap <= MAX_BOOTSTRAP:
        raise InvalidInput(f"bootstrap must be 0 to {MAX_BOOTSTRAP}", field="bootstrap")
    if not 0 <= seed < 2**32:
        raise InvalidInput("seed must be 0 to 2**32 - 1", field="seed")
    log = BattleLog(tuple(by))
    async with db.read() as conn:
        counts = []
        for project in projects:
            await load_project(conn, log, project)
            counts.append(await left_out(conn, project.id))
    if not len(log.source_codes()):
        names = ", ".join(repr(p.name) for p in projects)
        raise Conflict(f"no battles yet in {names}: {log.answers} counted answers, none ranking responses of two "
                       "different models (responses carry a model in data.responses[].model)", field="project")
    bt = log.battles()
    result = await asyncio.to_thread(_from_log, log, bt, n_bootstrap, seed)
    return {"projects": _per_project(log, bt, projects, counts), **result}


def _from_log(log: BattleLog, bt: Battles, n_bootstrap: int, seed: int) -> dict[str, Any]:
    """leaderboard.from_log, remembered for the last BOARDS_KEPT logs by their fingerprint: with hundreds of models
    a board takes tens of seconds, and a console view, its reload and the API call that follows it ask for the
    same one. Any new, changed or excluded answer changes the fingerprint (the fingerprint covers every battle,
    rating and name), so a remembered board is never stale. The result is shared: callers copy before changing it."""
    key = (log.fingerprint(), n_bootstrap, seed)
    with _boards_lock:
        hit = _boards.get(key)
        if hit is not None:
            _boards.move_to_end(key)
            return hit
    result = leaderboard.from_log(log, n_bootstrap=n_bootstrap, seed=seed, bt=bt)
    with _boards_lock:
        _boards[key] = result
        while len(_boards) > BOARDS_KEPT:
            _boards.popitem(last=False)
    return result
