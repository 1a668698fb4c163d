"""/console/projects/{id}/quality: agreement, the label distribution, the confusion matrix, the worker table with
block and unblock, and throughput over time as an inline SVG chart drawn here (no script, no CDN).

Everything comes from the quality API's one report (labeling/consensus/runner.quality: one pass over the
project's answers, the stored consensus and the workers' standing); this page adds no query of its own."""

from __future__ import annotations

import datetime
import heapq
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labeling import paging, schemas, tasktypes, web
from labeling.console import frame
from labeling.consensus import quality as quality_report, runner

CHART_WIDTH, CHART_HEIGHT = 720, 220
CHART_PAD = {"left": 44, "right": 12, "top": 18, "bottom": 34}
BAR_MAX = 48  # a bar's widest (a chart of one or two buckets)
HEAT_LEVELS = 5  # confusion cells are shaded in this many steps of their share of the row
CONFUSION_LABELS = 25  # at most this many rows and columns of the confusion matrix on the page, "other" included
OTHER_LABELS = "(other labels)"  # the row and column that sum the labels left off
TOP_CONFUSIONS = 10  # the most common (consensus, answer) pairs listed under the matrix
DISTRIBUTION_BARS = 25  # labels of the distribution drawn with bars; the others in use are listed, folded
WORKERS_PER_PAGE = 100  # rows of the worker table a page shows (a project may have thousands of workers)
WORKER_TABLE = "console/quality/{project}/workers"  # the worker table's cursors (paging scope)


@frame.page("console.project")
async def quality_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/{project_id}/quality?cursor= (a page of the worker table)"""
    params = web.query(request, schemas.PageQuery)
    async with web.state(request).db.read() as conn:
        row = await frame.project_for(request, caller, conn)
        report = await runner.quality(conn, row)
    table = worker_page(report, params.cursor, WORKER_TABLE.format(project=row.id))
    return frame.render(request, caller, "console/quality.html", {
        "report": report, "agreement": report.get("agreement") or {}, "workers": table["rows"], "worker_table": table,
        "has_tau": any(w.get("kendall_tau") is not None for w in report.get("workers", [])),
        "confusion": _confusion(report.get("confusion")), "distribution": _distribution(report),
        "chart": throughput_chart(report.get("throughput") or {}), "correlation": correlation(row),
        "alpha_applies": tasktypes.get(row.task_type).family in quality_report.ALPHA_FAMILIES,
    }, project=row, tab="quality")


def correlation(row: Any) -> dict | None:
    """The answers' correlation the last consensus run stored (projects.answer_correlation), with what it does to a
    settled task's confidence at the project's most answers per task; None before any run."""
    rho = getattr(row, "answer_correlation", None)
    if rho is None:
        return None
    n = max(int(row.redundancy_max), 1)
    return {"rho": float(rho), "answers": n, "independent": n / (1.0 + (n - 1) * float(rho))}


def worker_page(report: dict, cursor: str | None, scope: str) -> dict:
    """One page of the worker table, most answers first: WORKERS_PER_PAGE rows from the cursor's place (a cursor
    holds how many rows the pages before showed). Every worker on one page made a 2 MB page at 2,000 workers."""
    everyone = sorted(report.get("workers", []),
                      key=lambda w: (-(w.get("n_answers") or 0), w.get("username") or "", w.get("worker_id") or 0))
    start = min(paging.decode(cursor, scope) or 0, len(everyone))
    end = start + WORKERS_PER_PAGE
    return {"rows": everyone[start:end], "first": start + 1, "last": min(end, len(everyone)), "total": len(everyone),
            "next": paging.encode(end, scope) if end < len(everyone) else None,
            # the page before ("" when that is the first page, which takes no cursor); None on the first page
            "previous": (None if start == 0 else paging.encode(start - WORKERS_PER_PAGE, scope)
                         if start > WORKERS_PER_PAGE else "")}


def _confusion(confusion: dict | None) -> dict | None:
    """Rows (consensus) with each cell's count and shade: its share of the row in HEAT_LEVELS steps.

    With more than CONFUSION_LABELS labels, the page shows the most used of them (by consensus and answers) and sums
    the rest into an "other" row and column: a project may have 1,000 labels, whose whole matrix (a million cells)
    no page can show; the API's report keeps it whole. The most common confusions, over all labels, are listed."""
    if not confusion or not confusion.get("labels"):
        return None
    labels, matrix = list(confusion["labels"]), confusion["matrix"]
    # By label position, not labels.index (a scan of the labels for each of up to a million pairs: seconds of the
    # event loop's time for one page of a 1,000-label project); only the few listed are kept in order.
    top = heapq.nsmallest(TOP_CONFUSIONS, ((-n, i, j) for i, row in enumerate(matrix)
                                           for j, n in enumerate(row) if n and i != j))
    pairs = [(-negative, labels[i], labels[j]) for negative, i, j in top]
    shown_labels, hidden = labels, 0
    if len(labels) > CONFUSION_LABELS:
        use = [sum(row) + sum(column) for row, column in zip(matrix, zip(*matrix))]  # as consensus and as answer
        keep = sorted(sorted(range(len(labels)), key=lambda i: (-use[i], i))[:CONFUSION_LABELS - 1])
        kept = set(keep)
        rest = [i for i in range(len(labels)) if i not in kept]
        hidden = len(rest)
        folded = [[matrix[i][j] for j in keep] + [sum(matrix[i][j] for j in rest)] for i in keep]
        folded.append([sum(matrix[i][j] for i in rest) for j in keep] + [sum(matrix[i][j] for i in rest for j in rest)])
        shown_labels, matrix = [labels[i] for i in keep] + [OTHER_LABELS], folded
    rows = []
    for r, (label, counts) in enumerate(zip(shown_labels, matrix)):
        total = sum(counts)
        other_row = hidden and r == len(shown_labels) - 1  # the "other" row: its diagonal cell mixes labels
        cells = [{"count": n, "heat": (0 if not n else max(1, round(HEAT_LEVELS * n / total))),
                  "diagonal": i == r and not other_row} for i, n in enumerate(counts)]
        rows.append({"label": label, "cells": cells, "total": total})
    return {"labels": shown_labels, "rows": rows, "empty": not any(r["total"] for r in rows), "hidden": hidden,
            "n_labels": len(labels),
            "pairs": [{"consensus": a, "answer": b, "count": n} for n, a, b in pairs]}


def _distribution(report: dict) -> dict:
    """The labels in some answer or consensus: the DISTRIBUTION_BARS most used with bars, in the project's order, the
    other ones in use as plain counts (folded), the rest only named. Bars for every label of a 1,000-label project
    were most of a 2 MB page."""
    items = report.get("label_distribution") or []
    top = max([1] + [max(d["answers"], d["consensus"]) for d in items])
    used = [i for i, d in enumerate(items) if d["answers"] or d["consensus"]]
    barred = set(sorted(used, key=lambda i: (-(items[i]["answers"] + items[i]["consensus"]), i))[:DISTRIBUTION_BARS])
    return {"items": items, "used": [items[i] for i in used if i in barred],
            "more": [items[i] for i in used if i not in barred],
            "unused": [d["label"] for d in items if not (d["answers"] or d["consensus"])], "max": top}


def _when(ts: float, size: int) -> str:
    moment = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d" if size >= 86400 else "%m-%d %H:%M")


def throughput_chart(throughput: dict) -> dict | None:
    """Bars of answers per bucket, laid out in SVG user units: bars, y ticks and x labels (UTC)."""
    buckets = throughput.get("buckets") or []
    if not buckets:
        return None
    size = int(throughput["bucket_seconds"])
    left, right, top, bottom = (CHART_PAD[k] for k in ("left", "right", "top", "bottom"))
    inner_w, inner_h = CHART_WIDTH - left - right, CHART_HEIGHT - top - bottom
    peak = max(b["answers"] for b in buckets) or 1
    slot = inner_w / len(buckets)
    bars = []
    width = min(max(slot * 0.8, 1.0), BAR_MAX)
    for i, b in enumerate(buckets):
        h = inner_h * b["answers"] / peak
        bars.append({"x": round(left + (i + 0.5) * slot - width / 2, 2), "y": round(top + inner_h - h, 2),
                     "w": round(width, 2), "h": round(h, 2), "answers": b["answers"],
                     "title": f"{_when(b['start'], size)} UTC: {b['answers']} answers"})
    ticks = [{"value": v, "y": round(top + inner_h - inner_h * v / peak, 2)} for v in sorted({0, peak // 2, peak})]
    step = max(1, len(buckets) // 6)
    labels = [{"x": round(left + (i + 0.5) * slot, 2), "text": _when(b["start"], size)}
              for i, b in enumerate(buckets) if i % step == 0]
    unit = {60: "minute", 300: "5 minutes", 900: "15 minutes", 3600: "hour", 21600: "6 hours", 86400: "day",
            604800: "week"}.get(size, f"{size // 86400} days")
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "bars": bars, "ticks": ticks, "labels": labels,
            "left": left, "right": CHART_WIDTH - right, "base": top + inner_h, "label_y": CHART_HEIGHT - 10,
            "unit": unit, "total": sum(b["answers"] for b in buckets), "peak": peak}


PAGES = [("GET", "/console/projects/{project_id}/quality", quality_page)]
TABS = [frame.Tab("quality", "Quality", "quality", order=30, accesskey="q")]
