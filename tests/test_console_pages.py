"""The console's HTML routes (labeling/console/): who may open which page, the projects list's progress from the
stored counters, a 404 page for another requester's project, and "/" sending requesters to the console."""

from __future__ import annotations

import re

from tests.conftest import bearer, text_tasks


async def sign_in(client, make_user, name: str) -> None:  # noqa: ANN001
    """A new requester signed in through the login form (a session cookie, as a browser has)."""
    await make_user("requester", name, password="a-long-password")
    login = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
    r = await client.post("/login", data={"username": name, "password": "a-long-password",
                                          "csrf_token": token, "next": "/"})
    assert r.status_code == 303


def html(response) -> str:  # noqa: ANN001
    assert "text/html" in response.headers["content-type"], response.text[:200]
    return response.text


async def test_projects_page_shows_each_project_with_its_progress(client, requester, new_project, make_user):
    project = await new_project(tasks=text_tasks(4))
    _, worker = await make_user("worker")
    for label in ("pos", "neg"):
        lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
        r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": label}},
                              headers=bearer(worker))
        assert r.status_code == 201, r.text
    page = html(await client.get("/console/projects", headers=bearer(requester)))
    row = re.search(rf'<tr data-project-id="{project["id"]}">(.*?)</tr>', page, re.S).group(1)
    assert project["name"] in row and "status-active" in row
    assert 'value="2"' in row and 'max="4"' in row  # 2 of 4 tasks done (redundancy 1)
    assert re.search(r'data-stat="annotations">\s*2<', row)


async def test_another_requesters_project_is_a_404_page(client, new_project, make_user):
    project = await new_project(name="secret plans")
    _, other = await make_user("requester")
    for path in ("", "/import", "/export", "/settings"):
        r = await client.get(f"/console/projects/{project['id']}{path}", headers=bearer(other))
        missing = await client.get(f"/console/projects/999999{path}", headers=bearer(other))
        if r.status_code == 404 and path and "/console/projects/{project_id}" + path not in _paths(client):
            continue  # a page not built on this branch
        assert r.status_code == missing.status_code == 404, path
        assert f"no project {project['id']}" in html(r) and project["name"] not in r.text


def _paths(client) -> set[str]:  # noqa: ANN001
    return {route.path for route in client._transport.app.routes}


async def test_workers_get_403_and_visitors_go_to_sign_in(client, new_project, make_user):
    project = await new_project()
    _, worker = await make_user("worker")
    r = await client.get(f"/console/projects/{project['id']}", headers=bearer(worker))
    assert r.status_code == 403 and "Not allowed" in html(r)
    r = await client.get("/console/projects")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/console/projects"


async def test_a_signed_in_user_refused_a_page_keeps_the_top_bar(client, make_user):
    # The 403 page had no top bar: no way back to the console, no Sign out.
    await sign_in(client, make_user, "refused")
    r = await client.get("/console/people")
    page = html(r)
    assert r.status_code == 403 and "Not allowed" in page
    assert "Sign out" in page and "refused" in page


async def test_home_sends_requesters_to_the_console_and_keeps_workers_home(client, requester, make_user):
    r = await client.get("/", headers=bearer(requester))
    assert r.status_code == 303 and r.headers["location"] == "/console/projects"
    _, worker = await make_user("worker")
    r = await client.get("/", headers=bearer(worker))
    assert r.status_code == 200 and "Your projects" in r.text and 'id="to-console"' not in r.text


async def test_a_requester_who_labels_switches_to_the_worker_view_and_back(client, make_user):
    await sign_in(client, make_user, "switcher")
    assert (await client.get("/")).headers["location"] == "/console/projects"
    console = html(await client.get("/console/projects"))
    assert 'href="/?view=worker"' in console
    worker_home = await client.get("/?view=worker")
    assert worker_home.status_code == 200 and 'id="to-console"' in worker_home.text
    assert (await client.get("/")).status_code == 200  # the choice stays for the session
    await client.get("/console/projects")  # until the console is opened again
    assert (await client.get("/")).status_code == 303


async def test_tabs_show_only_pages_that_exist(client, requester, new_project):
    from labeling import console

    project = await new_project()
    page = html(await client.get(f"/console/projects/{project['id']}", headers=bearer(requester)))
    shown = re.findall(r'data-tab="([a-z_]+)"', page)
    assert shown and shown[0] == "overview"
    assert set(shown) == {t.key for t in console.tabs() if t.shows(None) or t.key in shown}
    paths = _paths(client)
    for tab in console.tabs():
        assert "/console/projects/{project_id}" + (f"/{tab.suffix}" if tab.suffix else "") in paths


async def test_projects_page_shows_last_activity_and_agreement_after_a_consensus_run(client, requester, new_project,
                                                                                     make_user):
    project = await new_project(tasks=text_tasks(2), redundancy=2)
    for _ in range(2):
        _, worker = await make_user("worker")
        for _ in range(2):
            lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
            await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": "pos"}},
                              headers=bearer(worker))
    page = html(await client.get("/console/projects", headers=bearer(requester)))
    row = re.search(rf'<tr data-project-id="{project["id"]}">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'data-stat="activity"><time datetime="\d{4}-\d\d-\d\dT', row)
    assert re.search(r'data-stat="agreement"><span class="muted">', row)  # no consensus run yet
    r = await client.post(f"/api/projects/{project['id']}/consensus", headers=bearer(requester))
    assert r.status_code == 200, r.text
    page = html(await client.get("/console/projects", headers=bearer(requester)))
    row = re.search(rf'<tr data-project-id="{project["id"]}">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'data-stat="agreement">100%<', row)  # both workers agreed on both tasks


async def test_the_overviews_agreement_and_the_quality_pages_pairwise_agreement_each_say_what_they_measure(
        client, requester, new_project, make_user):
    """Two agreement figures with different numbers and no words: the overview's is the workers' agreement with the
    consensus (stored at the last consensus run), the quality page's the mean share of agreeing pairs of answers."""
    project = await new_project(tasks=text_tasks(2), redundancy=2)
    for label in ("pos", "neg"):
        _, worker = await make_user("worker")
        lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
        await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"label": label}},
                          headers=bearer(worker))
    base = f"/console/projects/{project['id']}"
    overview = html(await client.get(base, headers=bearer(requester)))
    assert re.search(r'<dt><abbr title="[^"]*answers that match their task.s consensus[^"]*last consensus run">'
                     r'Agreement</abbr></dt>', overview), overview
    caption = re.search(r'<p class="hint" id="agreement-means">(.*?)</p>', overview, re.S).group(1)
    assert "consensus" in caption and "pairwise agreement is another figure" in caption
    quality = html(await client.get(f"{base}/quality", headers=bearer(requester)))
    assert re.search(r'<dt><abbr title="[^"]*share of pairs of answers that agree[^"]*">Pairwise agreement</abbr></dt>',
                     quality)
    caption = re.search(r'<p class="hint" id="pairwise-means">(.*?)</p>', quality, re.S).group(1)
    assert "pairs of answers" in caption and "Overview's agreement is another figure" in caption


async def test_settings_form_shows_the_stored_settings(client, requester, new_project):
    project = await new_project(labels=[{"name": "pos", "color": "#1b8a3a", "hotkey": "p"}, "neg"],
                                redundancy={"min": 2, "max": 5, "target_confidence": 0.9}, lease_seconds=120,
                                edit_window=15, instructions="**bold** <script>")
    page = html(await client.get(f"/console/projects/{project['id']}/settings", headers=bearer(requester)))
    assert 'value="pos" readonly' in page and 'value="#1b8a3a"' in page and 'value="p"' in page
    assert 'id="f-rmax" min="1" max="100" value="5"' in page and 'value="120"' in page
    assert 'value="minutes" selected' in page and 'id="f-edit-minutes" min="1" value="15"' in page
    assert "<strong>bold</strong> &lt;script&gt;" in page  # the preview, rendered as the worker page renders it
    assert 'aria-current="page">Settings<' in page.replace("\n", "")


async def test_preview_renders_instructions_like_the_worker_page(client, requester):
    from labeling.worker_ui import markup

    text = "# Title\n- **a** <b>\n- [x](https://example.com)"
    r = await client.post("/console/preview", json={"instructions": text}, headers=bearer(requester))
    assert r.status_code == 200 and r.text == str(markup.render(text))
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    r = await client.post("/console/preview", json={"instructions": 3}, headers=bearer(requester))
    assert r.status_code == 400 and "instructions: must be text (a string)" in r.text


async def test_instructions_of_unclosed_marks_render_in_one_pass(client, requester):
    """A line of marks never closed (`**a **a ...`, `[a](http://[a](http://...`, `[[[...`) made every attempt at a
    bold or a link read to the end of the line: quadratic, minutes of the server's one event loop for one
    100,000-character instructions text, on its preview and on every worker's labeling page. Now no span holds its
    own opening mark, so an attempt stops at the next one (and such a text renders as the escaped text it is)."""
    from labeling.worker_ui import markup

    assert markup.render("**a ** b**") == "<p>**a ** b**</p>"  # a bold holds no `**`
    assert markup.render("[see [1](https://e.com)") == ('<p>[see <a href="https://e.com" rel="noopener noreferrer" '
                                                      'target="_blank">1</a></p>')  # a link's text holds no `[`
    assert markup.render("[x](https://e.com/a(b)") == "<p>[x](https://e.com/a(b)</p>"  # nor its address a `(`
    for unit in ("**a ", "[a](http://", "["):
        text = (unit * 100_000)[:100_000]
        r = await client.post("/console/preview", json={"instructions": text}, headers=bearer(requester))
        assert r.status_code == 200 and r.text == f"<p>{text.rstrip()}</p>"


async def test_export_page_offers_only_the_task_types_formats(client, requester, new_project):
    from labeling import tasktypes

    project = await new_project(task_type="named_entities", labels=["PER"])
    page = html(await client.get(f"/console/projects/{project['id']}/export", headers=bearer(requester)))
    offered = re.findall(r'name="format" value="([a-z]+)"', page)
    assert offered == list(tasktypes.get("named_entities").formats) and "conll" in offered and "coco" not in offered


async def test_import_page_names_the_fields_the_task_type_needs(client, requester, new_project):
    project = await new_project(task_type="preference_ranking")
    page = html(await client.get(f"/console/projects/{project['id']}/import", headers=bearer(requester)))
    assert 'data-fields="prompt,responses"' in page and 'data-image="false"' in page


async def test_the_nav_links_to_people_only_when_that_page_exists(client, admin, requester):
    from labeling import console

    built = "/console/people" in console.paths()
    admin_page = html(await client.get("/console/projects", headers=bearer(admin)))
    requester_page = html(await client.get("/console/projects", headers=bearer(requester)))
    assert ('href="/console/people"' in admin_page) == built
    assert 'href="/console/people"' not in requester_page


async def test_admins_see_every_project_with_its_owner(client, admin, new_project):
    project = await new_project()
    page = html(await client.get("/console/projects", headers=bearer(admin)))
    row = re.search(rf'<tr data-project-id="{project["id"]}">(.*?)</tr>', page, re.S).group(1)
    assert '<span data-stat="owner">req</span>' in row


async def test_a_new_project_says_it_has_no_tasks_and_no_consensus_yet(client, requester, new_project):
    """An empty project's overview says so and links to Import (not a bare 0 / 0 and 0.0%); a quality page
    without any consensus says so instead of drawing a matrix of zeros."""
    empty = await new_project()
    page = html(await client.get(f"/console/projects/{empty['id']}", headers=bearer(requester)))
    assert 'id="no-tasks"' in page
    assert re.search(rf'href="/console/projects/{empty["id"]}/import" id="no-tasks-import"', page)
    page = html(await client.get(f"/console/projects/{empty['id']}/quality", headers=bearer(requester)))
    assert 'id="no-confusion"' in page and 'id="confusion"' not in page
    # The results said "No tasks match these filters" with no filter set: there is no task to match.
    page = html(await client.get(f"/console/projects/{empty['id']}/results", headers=bearer(requester)))
    assert re.search(r'id="no-tasks">No tasks yet\. <a href="/console/projects/\d+/import">Import tasks</a>', page)
    assert "match these filters" not in page
    full = await new_project(tasks=text_tasks(1))
    page = html(await client.get(f"/console/projects/{full['id']}", headers=bearer(requester)))
    assert 'id="no-tasks"' not in page
    page = html(await client.get(f"/console/projects/{full['id']}/results", headers=bearer(requester)))
    assert 'id="no-tasks"' not in page and "No tasks match these filters" in page  # one open task, no consensus


async def test_every_access_key_of_a_page_is_listed_at_its_foot_and_used_once(client, requester, new_project,
                                                                             make_user):
    """The foot of each page lists its access keys (the nav's and tabs', and the page's own: New project, a
    task's Accept, Override and More, the pagers); two controls of one page never share a key (Alt+E went to the
    Export tab, never to the task page's Override)."""
    from tests.export.helpers import project_with_answers

    project = await project_with_answers(client, make_user, new_project, "text_classification", n=2)
    pid = project["id"]
    results = await client.get(f"/console/projects/{pid}/results", headers=bearer(requester))
    task_id = re.search(r'data-task-id="(\d+)"', results.text).group(1)
    r = await client.post("/api/teams", headers=bearer(requester), json={"name": "keys team"})
    assert r.status_code == 201, r.text
    for url in ("/console/projects", f"/console/projects/{pid}", f"/console/projects/{pid}/results",
                f"/console/projects/{pid}/tasks/{task_id}", "/console/teams", f"/console/teams/{r.json()['id']}"):
        page = html(await client.get(url, headers=bearer(requester)))
        keys = re.findall(r'accesskey="(.)"', page)
        assert len(keys) == len(set(keys)), (url, sorted(keys))
        foot = re.search(r'<p class="hint" id="shortcuts">(.*?)</p>', page, re.S).group(1)
        for key in keys:
            assert f"<kbd>{key.upper()}</kbd>" in foot, (url, key, foot)


async def test_the_quality_page_shows_the_answers_correlation_once_a_consensus_run_stored_it(
        client, db, requester, new_project):
    import sqlalchemy as sa

    from labeling import models
    from tests.conftest import raw_writes

    project = await new_project(tasks=text_tasks(2), redundancy=5)
    base = f"/console/projects/{project['id']}/quality"
    page = html(await client.get(base, headers=bearer(requester)))
    assert 'data-stat="rho"' not in page and 'id="correlation-means"' not in page  # no consensus run yet
    async with raw_writes(db) as conn:
        await conn.execute(sa.update(models.projects).where(models.projects.c.id == project["id"])
                           .values(answer_correlation=0.25))
    page = html(await client.get(base, headers=bearer(requester)))
    assert re.search(r'<dd data-stat="rho">0\.25</dd>', page)
    caption = re.search(r'<p class="hint" id="correlation-means">(.*?)</p>', page, re.S).group(1)
    assert re.search(r"counts its 5 answers\s+as 2\.5 independent ones", caption), caption  # 5 / (1 + 4 * 0.25)


async def test_the_project_form_says_which_task_type_options_there_are(client, requester, new_project):
    """The options field took JSON without a word on what it may hold; the hint names every option the code reads
    (tasktypes/named_entities.py, the exports' license) with its values."""
    from labeling.tasktypes import named_entities

    project = await new_project()
    for path in ("/console/projects/new", f"/console/projects/{project['id']}/settings"):
        page = html(await client.get(path, headers=bearer(requester)))
        hint = re.search(r'<p class="hint" id="options-hint">(.*?)</p>', page, re.S).group(1)
        assert 'aria-describedby="options-hint"' in page
        for key in ("license", *named_entities.DEFAULT_OPTIONS):
            assert f"<code>{key}</code>" in hint, key
        for value in (*named_entities.SPAN_UNITS, *named_entities.SPAN_OVERLAPS):
            assert f"<code>&#34;{value}&#34;</code>" in hint or f'<code>"{value}"</code>' in hint, value


async def test_no_form_sends_its_fields_in_the_address_before_its_script_runs(client, admin, requester, new_project):
    """A console form is sent by its page's script; submitted before the script ran (a slow or failed load) it went
    by GET, and a new user's password landed in the address bar, the history and the server's access log. Every
    form names its method, and one holding a password posts."""
    project = await new_project()
    team = (await client.post("/api/teams", json={"name": "crew"}, headers=bearer(requester))).json()
    pages = ["/console/people", "/console/teams", f"/console/teams/{team['id']}", "/console/projects",
             "/console/projects/new", f"/console/projects/{project['id']}/settings",
             f"/console/projects/{project['id']}/export", f"/console/projects/{project['id']}/results",
             f"/console/projects/{project['id']}/quality", f"/console/projects/{project['id']}/import", "/login"]
    forms = passwords = 0
    for path in pages:
        page = html(await client.get(path, headers=bearer(admin)))
        for form in re.findall(r"<form\b.*?</form>", page, re.S):
            tag = re.match(r"<form\b[^>]*>", form).group(0)
            method = re.search(r'\smethod="(get|post|dialog)"', tag)
            assert method is not None, (path, tag)
            forms += 1
            if 'type="password"' in form:
                passwords += 1
                assert method.group(1) == "post", (path, tag)
    assert forms >= len(pages) and passwords >= 3  # sign-in, a new user, a reset of the admin's password


def test_a_confusion_matrix_of_many_labels_shows_the_most_used_and_sums_the_rest():
    """30 labels: the page keeps the 24 most used and folds 6 into "(other labels)", every count kept somewhere."""
    from labeling.console import quality

    labels = [f"l{i:02d}" for i in range(30)]
    matrix = [[0] * 30 for _ in range(30)]
    for i in range(30):
        matrix[i][i] = 100 - 2 * i  # l00 the most used, l29 the least
    matrix[28][29], matrix[29][28], matrix[3][29], matrix[29][3] = 3, 2, 4, 1  # two folded labels confused
    shown = quality._confusion({"labels": labels, "matrix": matrix})
    assert shown["labels"] == labels[:24] + ["(other labels)"] and shown["hidden"] == 6 and shown["n_labels"] == 30
    counts = [[c["count"] for c in r["cells"]] for r in shown["rows"]]
    assert sum(map(sum, counts)) == sum(map(sum, matrix))
    assert counts[24][24] == sum(100 - 2 * i for i in range(24, 30)) + 3 + 2  # within the folded labels
    assert counts[3][24] == 4 and counts[24][3] == 1
    assert [c["diagonal"] for c in shown["rows"][24]["cells"]] == [False] * 25  # no diagonal in the folded row
    assert shown["rows"][5]["cells"][5]["diagonal"]
    assert shown["pairs"] == [{"consensus": "l03", "answer": "l29", "count": 4},
                              {"consensus": "l28", "answer": "l29", "count": 3},
                              {"consensus": "l29", "answer": "l28", "count": 2},
                              {"consensus": "l29", "answer": "l03", "count": 1}]
    few = quality._confusion({"labels": labels[:3], "matrix": [[1, 2, 0], [0, 3, 0], [0, 0, 4]]})
    assert few["hidden"] == 0 and few["labels"] == labels[:3] and few["pairs"] == [
        {"consensus": "l00", "answer": "l01", "count": 2}]


def test_the_most_common_confusions_are_found_without_looking_labels_up():
    """The list of most common confusions sorted every pair by labels.index of its two labels: for a 1,000-label
    project with many answers, a scan of the labels per pair (about 4 s of the event loop for one page). Pairs are
    ranked by position now: the label comparisons no longer grow with the pairs, and the order is the same."""
    from labeling.console import quality

    compared = {"n": 0}

    class Name(str):
        def __eq__(self, other: object) -> bool:
            compared["n"] += 1
            return str.__eq__(self, other)

        __hash__ = str.__hash__

    k = 80
    labels = [Name(f"label {i:02d}") for i in range(k)]
    matrix = [[(i * 7 + j * 3) % 5 for j in range(k)] for i in range(k)]
    shown = quality._confusion({"labels": labels, "matrix": matrix})
    assert compared["n"] < k * k, compared  # once for every pair at most (labels.index: thousands per pair)
    expected = sorted(((matrix[i][j], i, j) for i in range(k) for j in range(k) if matrix[i][j] and i != j),
                      key=lambda c: (-c[0], c[1], c[2]))[:quality.TOP_CONFUSIONS]
    assert [(p["count"], p["consensus"], p["answer"]) for p in shown["pairs"]] == [
        (n, labels[i], labels[j]) for n, i, j in expected]


async def test_the_quality_page_of_a_project_with_a_thousand_labels_stays_a_page(client, requester, new_project,
                                                                                make_user):
    labels = [f"species {i:03d}" for i in range(1000)]
    project = await new_project(labels=labels, redundancy=2, tasks=text_tasks(12))
    people = [await make_user("worker", f"thousand{project['id']}w{i}") for i in range(2)]
    for j, (_, token) in enumerate(people):
        for i in range(12):
            lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(token))).json()
            label = labels[7 * i + (j if i % 3 == 0 else 0)]  # a third of the tasks split between two labels
            r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit",
                                  json={"answer": {"label": label}}, headers=bearer(token))
            assert r.status_code == 201, r.text
    page = html(await client.get(f"/console/projects/{project['id']}/quality", headers=bearer(requester)))
    assert len(page) < 300_000  # the whole matrix: a million cells
    matrix = re.search(r'<table class="confusion" id="confusion">(.*?)</table>', page, re.S).group(1)
    assert matrix.count('<th scope="col" class="col-label">') == 25 and "(other labels)" in matrix
    assert re.search(r"The 24 most used of the project.s 1,000 labels are shown; the other\s+976 are summed", page)
    assert f"GET /api/projects/{project['id']}/quality" in page
    confusions = re.search(r'<ol class="confusions" id="confusions"[^>]*>(.*?)</ol>', page, re.S).group(1)
    assert confusions.count("<li>") == 4  # tasks 0, 3, 6, 9: one answer each way off the consensus
    assert re.search(r'<tr data-label-name="species 007">', page) and 'data-label-name="species 002"' not in page
    assert re.search(r"<summary>984 labels are in no answer and no consensus yet</summary>", page)
    report = (await client.get(f"/api/projects/{project['id']}/quality", headers=bearer(requester))).json()
    assert len(report["confusion"]["labels"]) == 1000  # the API keeps it whole


async def test_the_quality_pages_label_distribution_draws_bars_for_the_most_used_and_lists_the_rest(
        client, requester, new_project, make_user):
    """Every label in use was a table row with two bars (about 570 bytes a label of 100 characters), and every cell
    of the confusion matrix named its two labels in a title, zeros too: a 1,000-label project's page was 743 kB of
    them. Now the 25 most used labels have bars and the others in use are listed with their counts, folded; an
    empty cell of the matrix has no title."""
    labels = [f"label {i:02d} " + "x" * 91 for i in range(40)]
    project = await new_project(labels=labels, tasks=text_tasks(40 + 10))
    _, token = await make_user("worker", f"spread{project['id']}")
    for i in range(50):  # label i once; labels 0-9 twice (the most used)
        lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(token))).json()
        r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit",
                              json={"answer": {"label": labels[i % 40]}}, headers=bearer(token))
        assert r.status_code == 201, r.text
    page = html(await client.get(f"/console/projects/{project['id']}/quality", headers=bearer(requester)))
    barred = re.findall(r'<tr data-label-name="label (\d\d) x+">', page)
    assert barred == [f"{i:02d}" for i in range(25)]  # the ten used twice, then the first 15 in the project's order
    more = re.search(r'<details class="more-labels" id="more-labels">(.*?)</details>', page, re.S).group(1)
    assert "<summary>15 more labels are in answers or a consensus, each less than those above</summary>" in more
    assert re.findall(r"<tr><th scope=\"row\">label (\d\d) x+</th><td>1</td><td>1</td></tr>", more) == [
        f"{i}" for i in range(25, 40)]
    matrix = re.search(r'<table class="confusion" id="confusion">(.*?)</table>', page, re.S).group(1)
    cells = re.findall(r"<td class=\"heat-\d[^\"]*\"( title=\"[^\"]*\")?>(\d+)</td>", matrix)
    assert len(cells) == 25 * 25 and all(bool(title) == (count != "0") for title, count in cells)
    assert sum(count != "0" for _, count in cells) == 25  # the diagonal: one answer per task, its own consensus


async def test_the_quality_page_says_why_alpha_is_missing(client, requester, new_project):
    # Krippendorff's alpha showed "–" on a boxes, entities or demonstration project (and on a project without two
    # answers to a task) beside "Alpha and kappa: 1 is perfect agreement", with no word of why.
    boxes = await new_project(task_type="bounding_box", labels=["car"])
    page = html(await client.get(f"/console/projects/{boxes['id']}/quality", headers=bearer(requester)))
    assert re.search(r"alpha is measured on label and ranking projects: for\s+bounding boxes, the pairwise", page)
    labels = await new_project(tasks=text_tasks(2))
    page = html(await client.get(f"/console/projects/{labels['id']}/quality", headers=bearer(requester)))
    assert "Alpha needs tasks with two answers or more: none yet." in page


async def test_the_quality_pages_worker_table_comes_a_page_at_a_time(client, requester, new_project, make_user):
    """A project with thousands of workers put every one in the worker table (2,000 workers: a 2 MB page); now 100
    rows a page, most answers first, with links on and back, and the API's report still names every worker."""
    project = await new_project(tasks=text_tasks(106))
    for i in range(105):
        _, token = await make_user("worker", f"crowd{project['id']}w{i:03d}")
        for _ in range(1 if i else 2):  # the first worker answers twice: the top row
            lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(token))).json()
            r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit",
                                  json={"answer": {"label": "pos"}}, headers=bearer(token))
            assert r.status_code == 201, r.text
    base = f"/console/projects/{project['id']}/quality"
    page = html(await client.get(base, headers=bearer(requester)))
    rows = re.findall(r'<tr data-worker-id="\d+" data-username="([^"]+)">', page)
    assert len(rows) == 100 and rows[0] == f"crowd{project['id']}w000"
    assert re.search(r"Workers 1–100 of 105, most answers first", page) and 'id="previous-workers"' not in page
    following = re.search(r'<a href="\?cursor=([^"#]+)#workers-heading" id="next-workers">', page).group(1)
    second = html(await client.get(f"{base}?cursor={following}", headers=bearer(requester)))
    more = re.findall(r'<tr data-worker-id="\d+" data-username="([^"]+)">', second)
    assert len(more) == 5 and not set(more) & set(rows)
    assert re.search(r"Workers 101–105 of 105", second) and 'id="next-workers"' not in second
    assert re.search(r'<a href="\?#workers-heading" id="previous-workers">', second)
    bad = await client.get(f"{base}?cursor=nonsense", headers=bearer(requester))
    assert bad.status_code == 400 and "cursor" in bad.text
    other = await new_project(tasks=text_tasks(1))  # its worker table is another list: the cursor is refused there
    bad = await client.get(f"/console/projects/{other['id']}/quality?cursor={following}", headers=bearer(requester))
    assert bad.status_code == 400 and "another list" in bad.text
    report = (await client.get(f"/api/projects/{project['id']}/quality", headers=bearer(requester))).json()
    assert len(report["workers"]) == 105


async def test_the_results_page_carries_the_start_of_each_task_not_all_of_it(client, requester, new_project,
                                                                            make_user):
    """A row carried its task's whole data (every field, a text up to 8 MiB) and its consensus twice with every span:
    one task of a 1,000,000-character text with 20,000 spans made a 2.9 MB results page (DOM of 40,000 elements,
    6 s to draw). Now a row carries the fields its view draws, texts cut to 2,000 characters and the spans in them."""
    import json

    text = "Ada Lovelace met Charles Babbage. " * 3000  # 102,000 characters
    wide = {f"field{i}": "x" * 50 for i in range(2000)}  # data fields no row shows
    project = await new_project(task_type="named_entities", labels=["PER", "ORG"],
                                tasks=[{"data": {"text": text, **wide}}])
    _, worker = await make_user("worker", f"spanner{project['id']}")
    spans = [{"start": 34 * i, "end": 34 * i + 12, "label": "PER"} for i in range(3000)]
    lease = (await client.post(f"/api/projects/{project['id']}/next", headers=bearer(worker))).json()
    r = await client.post(f"/api/assignments/{lease['assignment_id']}/submit", json={"answer": {"spans": spans}},
                          headers=bearer(worker))
    assert r.status_code == 201, r.text
    page = html(await client.get(f"/console/projects/{project['id']}/results", headers=bearer(requester)))
    assert len(page) < 60_000, len(page)
    payload = json.loads(re.search(r'<script type="application/json" id="results-data">(.*?)</script>', page,
                                   re.S).group(1))
    row = payload["rows"][0]
    assert row["data"] == {"text": text[:2000]} and "crowd" not in row
    assert row["answer"]["spans"] == [s for s in spans if s["start"] < 2000][:200]
    assert len(row["answer"]["spans"]) == 59  # 0, 34, ... 1,972
    whole = (await client.get(f"/api/projects/{project['id']}/results", headers=bearer(requester))).json()
    assert len(whole["data"][0]["answer"]["spans"]) == 3000  # the API keeps the whole answer


def test_the_import_page_has_a_gold_example_for_every_task_type():
    """The import page names a gold answer's shape for a CSV gold cell that is not JSON: every task type has one."""
    import json

    from labeling import tasktypes
    from labeling.console import import_

    for spec in tasktypes.REGISTRY.values():
        example = json.loads(import_.gold_example(spec, ["pos", "neg"]))
        assert isinstance(example, dict) and example, spec.name


async def test_the_overview_names_who_is_in_the_pool_and_says_when_nobody_is(client, requester, new_project,
                                                                             make_user):
    # "Workers: listed workers and teams" was all the overview said of a pool, also of one that lists nobody, where
    # no worker can get a task.
    project = await new_project(tasks=text_tasks(2))
    url = f"/console/projects/{project['id']}"

    def pool_line(page: str) -> str:
        cell = re.search(r'id="overview-pool">(.*?)</dd>', page, re.S).group(1)
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()

    assert pool_line(html(await client.get(url, headers=bearer(requester)))) == "every worker"
    r = await client.put(f"{url.replace('/console', '/api')}/pool", headers=bearer(requester),
                         json={"all_workers": False, "workers": [], "teams": []})
    assert r.status_code == 200, r.text
    page = html(await client.get(url, headers=bearer(requester)))
    assert pool_line(page) == "nobody listed: no worker can get its tasks (you still can). List workers or teams"
    assert f'href="{url}/settings#f-workers"' in page
    names = [(await make_user("worker", f"pool-w{i}"))[0]["username"] for i in range(7)]
    team = await client.post("/api/teams", headers=bearer(requester), json={"name": "crew", "members": names[:1]})
    assert team.status_code == 201, team.text
    r = await client.put(f"{url.replace('/console', '/api')}/pool", headers=bearer(requester),
                         json={"all_workers": False, "workers": names, "teams": [team.json()["id"]]})
    assert r.status_code == 200, r.text
    assert pool_line(html(await client.get(url, headers=bearer(requester)))) == (
        "team crew; 7 listed workers: pool-w0, pool-w1, pool-w2, pool-w3, pool-w4 and 2 more")
