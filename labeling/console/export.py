"""/console/projects/{id}/export: choose a format (those the task type can have) and its options, download the
streamed export (GET /api/projects/{id}/export), and see the same export as a `labeling export` command and a curl
line, updated as options change (labeling/static/console-export.js)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from labeling import tasktypes, web
from labeling.console import frame
from labeling.console import projects as listing
from labeling.export import cli as export_cli
from labeling.export import formats, options

CHOICES = {"pairs": options.PAIRS, "margin": options.MARGINS, "kto_source": options.KTO_SOURCES}
PLACEHOLDERS = {"split": "e.g. train=0.8,validation=0.1,test=0.1", "seed": "0 (the default)",
                "min_confidence": "e.g. 0.8", "since": "e.g. 2026-01-31T12:00:00Z", "label_attribute": "",
                "min_margin": "e.g. 0.1", "good_rating": "5 (the default)", "bad_rating": "3 (the default)",
                "good_rank": "1 (the default)", "bad_rank": "1 (the default)"}


def option_list() -> list[dict]:
    """Every export option: its query name, CLI flag, words, and kind (switch, choice or value)."""
    out = []
    for flag, words in export_cli.FLAGS:
        name = flag.replace("-", "_")
        out.append({"name": name, "flag": flag, "words": words.split(": ", 1)[-1], "kind": "choice" if name in CHOICES
                    else "value", "choices": CHOICES.get(name, ()), "placeholder": PLACEHOLDERS.get(name, "")})
    for flag, words in export_cli.SWITCHES:
        out.append({"name": flag.replace("-", "_"), "flag": flag, "words": words, "kind": "switch", "choices": (),
                    "placeholder": ""})
    return out


@frame.page("console.project")
async def export_page(request: Request, caller: web.Caller) -> Response:
    """GET /console/projects/{project_id}/export"""
    async with web.state(request).db.read() as conn:
        row = await frame.project_for(request, caller, conn)
        counts = (await listing.progress(conn, [row.id])).get(row.id, listing.EMPTY)
    spec = tasktypes.get(row.task_type)
    allowed = [formats.FORMATS[name] for name in spec.formats]
    takes = {f.name: sorted(formats.options_of(f)) for f in allowed}
    return frame.render(request, caller, "console/export.html", {
        "formats": allowed, "takes": takes, "options": option_list(), "progress": counts}, project=row, tab="export")


PAGES = [("GET", "/console/projects/{project_id}/export", export_page)]
TABS = [frame.Tab("export", "Export", "export", order=40, accesskey="e")]
