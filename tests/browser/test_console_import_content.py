"""The console's import page reads awkward files as the API would: a table saved with old Mac line ends (a bare CR
between rows, as "CSV (Macintosh)" writes them)."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser.support import sign_in
from tests.browser.test_console_flow import _drop


def test_a_tab_separated_table_with_mac_line_ends_keeps_its_columns(new_page, server):
    # The separator was told from the header, the text up to the first "\n": with CR line ends, the whole file. A
    # comma in any text made a tab-separated .csv read as commas, so its columns were one.
    project = server.project("text_classification", [], labels=["pos", "neg"])
    page = new_page()
    sign_in(page, server.user("admin"), f"/console/projects/{project['id']}/import")
    _drop(page, "mac.csv", "id\ttext\rm1\tParis, France\rm2\tRome\r", "text/csv")
    expect(page.locator("#csv-mapping")).to_be_visible()
    expect(page.locator("#csv-columns tbody tr")).to_have_count(2)
    page.click("#csv-import")
    expect(page.locator(".import-ok")).to_have_text("Imported 2 tasks from mac.csv.")
    rows = server.query("SELECT external_id, data FROM tasks WHERE project_id = :p", p=project["id"])
    assert {r["external_id"]: r["data"] if isinstance(r["data"], dict) else json.loads(r["data"]) for r in rows} == {
        "m1": {"text": "Paris, France"}, "m2": {"text": "Rome"}}


def test_a_gold_cell_that_is_not_json_is_told_what_to_hold(new_page, server):
    # A "gold" column is mapped to the gold answer, which is JSON: a plain label was refused as "not valid JSON"
    # without a word of what to write instead.
    project = server.project("text_classification", [], labels=["pos", "neg"])
    page = new_page()
    sign_in(page, server.user("admin"), f"/console/projects/{project['id']}/import")
    _drop(page, "gold.csv", 'text,gold\nfine,\nbad,neg\n', "text/csv")
    page.click("#csv-import")
    expect(page.locator(".import-error")).to_have_text(
        'gold.csv, line 3: column gold: not valid JSON (a gold answer is the task\'s answer as JSON, such as '
        '{"label": "pos"}) — nothing was stored.')


def test_a_table_that_is_not_utf8_is_refused_naming_its_line(new_page, server):
    # Excel's "CSV" is Windows-1252: the page read it with a replacement character for each accented letter and
    # imported "caf\ufffd" (the API refuses the same bytes in a JSON file). It is now refused, its line named.
    project = server.project("text_classification", [], labels=["pos", "neg"])
    page = new_page()
    sign_in(page, server.user("admin"), f"/console/projects/{project['id']}/import")
    data = "text\nfine\ncaf\xe9 cr\xe8me\n".encode("cp1252")
    page.set_input_files("#file-input", files=[{"name": "excel.csv", "mimeType": "text/csv", "buffer": data}])
    expect(page.locator(".import-error")).to_have_text(
        "excel.csv, line 3: not UTF-8 text (save the table as UTF-8: in Excel, \u201cCSV UTF-8\u201d) — nothing was stored.")
    expect(page.locator("#csv-mapping")).to_be_hidden()
    # the same table as UTF-8 (with the byte order mark Excel writes) is mapped and imported as it reads
    page.set_input_files("#file-input", files=[{"name": "excel.csv", "mimeType": "text/csv",
                                                "buffer": "\ufefftext\ncaf\xe9 cr\xe8me\n".encode("utf-8")}])
    page.click("#csv-import")
    expect(page.locator(".import-ok")).to_have_text("Imported 1 task from excel.csv.")
    rows = server.query("SELECT data FROM tasks WHERE project_id = :p", p=project["id"])
    assert [r["data"] if isinstance(r["data"], dict) else json.loads(r["data"]) for r in rows] == [{"text": "caf\xe9 cr\xe8me"}]


def test_the_same_file_dropped_again_is_asked_about_first(new_page, server):
    # A file dropped a second time (the first drop thought lost) added all its tasks again without a word.
    project = server.project("text_classification", [], labels=["pos", "neg"])
    page = new_page()
    sign_in(page, server.user("admin"), f"/console/projects/{project['id']}/import")
    tasks = {"name": "batch.jsonl", "mimeType": "application/x-ndjson",
             "buffer": b'{"data": {"text": "one"}}\n{"data": {"text": "two"}}\n'}
    page.set_input_files("#file-input", files=[tasks])
    expect(page.locator(".import-ok")).to_have_text("Imported 2 tasks from batch.jsonl.")
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.set_input_files("#file-input", files=[tasks])
    expect(page.locator(".import-ok")).to_have_text("Not imported again: batch.jsonl is in the project once.")
    assert asked == ["batch.jsonl was imported from this page already (2 tasks). Import it again? Its tasks would be "
                     "added a second time (any whose external_id is already in the project would be refused)."]
    assert server.query("SELECT count(*) AS n FROM tasks WHERE project_id = :p", p=project["id"])[0]["n"] == 2
    page.once("dialog", lambda d: d.accept())  # said yes to: imported again
    page.set_input_files("#file-input", files=[tasks])
    expect(page.locator(".import-ok")).to_have_text("Imported 2 tasks from batch.jsonl.")
    assert server.query("SELECT count(*) AS n FROM tasks WHERE project_id = :p", p=project["id"])[0]["n"] == 4
    page.set_input_files("#file-input", files=[{**tasks, "buffer": b'{"data": {"text": "three"}}\n'}])  # another file
    expect(page.locator(".import-ok")).to_have_text("Imported 1 task from batch.jsonl.")
