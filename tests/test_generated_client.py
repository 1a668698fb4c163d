"""A client generated from the OpenAPI document by a standard generator (openapi-python-client) creates a project,
imports tasks, claims one and submits an answer, against the app the document came from."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import bearer

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
# openapi-python-client 0.29 writes broken code for an operation taking both a JSON array and a multipart body
# (the task import): told that multipart is a type it does not know, it leaves the multipart body out and
# generates the JSON one. README.md, "The OpenAPI document", says the same, and its client.yaml is used here as
# written (with ruff's formatting of the generated code left out: cosmetic, and slow).
README_CONFIG = re.search(r"^printf '(.*?)' > client\.yaml$", README, flags=re.M).group(1).replace("\\n", "\n")
CONFIG = README_CONFIG + "post_hooks: []\n"
# The README's python example after it: its imports must name what the generator writes.
README_IMPORTS = "\n".join(line for line in re.search(r"^```python\n(from labeling_client.*?)^```$", README,
                                                       flags=re.S | re.M).group(1).splitlines()
                           if line.startswith(("from ", "import ")))


def generate(doc: dict, where: Path) -> None:
    """openapi-python-client's `generate`, as a user would run it, into where/labeling_client."""
    (where / "openapi.json").write_text(json.dumps(doc))
    (where / "config.yaml").write_text(CONFIG)
    subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path", str(where / "openapi.json"),
                    "--meta", "none", "--output-path", str(where / "labeling_client"), "--config",
                    str(where / "config.yaml")], check=True, capture_output=True, timeout=300)


async def test_a_generated_client_creates_imports_claims_and_submits(app, client: httpx.AsyncClient, make_user,
                                                                     requester: str, tmp_path: Path,
                                                                     monkeypatch) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    generate(doc, tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    gen = importlib.import_module("labeling_client")
    api = importlib.import_module("labeling_client.api")
    models = importlib.import_module("labeling_client.models")
    for name in ("projects.create_project", "tasks.import_tasks", "queue.next_task", "queue.submit"):
        importlib.import_module(f"labeling_client.api.{name}")
    assert "multipart/form-data: application/x-multipart-left-out" in README_CONFIG
    exec(compile(README_IMPORTS, "README.md", "exec"), {})  # noqa: S102 - the README's own import lines
    worker = (await make_user("worker", "w1"))[1]

    def connect(token: str):  # noqa: ANN202
        c = gen.AuthenticatedClient(base_url="http://testserver", token=token)
        return c.set_async_httpx_client(httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                          base_url="http://testserver", headers=bearer(token)))

    as_requester, as_worker = connect(requester), connect(worker)
    project = await api.projects.create_project.asyncio(client=as_requester, body=models.ProjectCreate(
        name="made by a generated client", task_type=models.TaskType.TEXT_CLASSIFICATION, labels=["pos", "neg"]))
    assert isinstance(project, models.Project), project
    assert project.progress.tasks == 0

    tasks = [models.TaskIn(data=models.TaskInData.from_dict({"text": f"item {i}"}), external_id=f"e{i}")
             for i in range(3)]
    imported = await api.tasks.import_tasks.asyncio(project.id, client=as_requester, body=tasks)
    assert isinstance(imported, models.Imported) and imported.created == 3, imported

    lease = await api.queue.next_task.asyncio(project.id, client=as_worker)
    assert isinstance(lease, models.Lease), lease
    assert lease.task.data["text"].startswith("item ")

    answer = models.SubmitBody(answer=models.SubmitBodyAnswer.from_dict({"label": "pos"}), duration_ms=1200)
    done = await api.queue.submit.asyncio(lease.assignment_id, client=as_worker, body=answer, idempotency_key="k-1")
    assert isinstance(done, models.Submitted), done
    again = await api.queue.submit.asyncio_detailed(lease.assignment_id, client=as_worker, body=answer,
                                                    idempotency_key="k-1")
    assert again.status_code == 201 and again.parsed.annotation_id == done.annotation_id
    assert again.headers["Idempotent-Replayed"] == "true"

    refused = await api.queue.submit.asyncio(lease.assignment_id, client=as_worker, body=models.SubmitBody(
        answer=models.SubmitBodyAnswer.from_dict({"label": "maybe"})))
    assert isinstance(refused, models.Error) and refused.error.field, refused  # errors parse into the Error model


async def test_a_generated_client_reads_every_export_as_bytes(app, client: httpx.AsyncClient, make_user,
                                                              requester: str, new_project, tmp_path: Path,
                                                              monkeypatch) -> None:
    """openapi-python-client reads a response as the first of its media types it knows: it read an export as JSON
    (json.loads of JSON Lines failed: 'Extra data'). With README.md's client.yaml every export is a File of bytes,
    the bytes the API sends."""
    from tests.export.helpers import answer_all

    doc = (await client.get("/api/openapi.json")).json()
    generate(doc, tmp_path)
    for name in [name for name in sys.modules if name.split(".")[0] == "labeling_client"]:
        monkeypatch.delitem(sys.modules, name)  # another test's generated client, if one ran before
    monkeypatch.syspath_prepend(str(tmp_path))
    gen = importlib.import_module("labeling_client")
    importlib.import_module("labeling_client.types")
    export = importlib.import_module("labeling_client.api.export.export")
    models = importlib.import_module("labeling_client.models")
    project = await new_project([{"data": {"text": f"item {i}"}, "external_id": f"e{i}"} for i in range(3)],
                                redundancy=1)
    await answer_all(client, make_user, project["id"], [{"label": "pos"}], "gen")
    as_requester = gen.AuthenticatedClient(base_url="http://testserver", token=requester)
    as_requester.set_async_httpx_client(httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                          base_url="http://testserver", headers=bearer(requester)))
    for fmt, params in (("JSONL", {}), ("CSV", {}), ("JSONL", {"split": "train=0.5,test=0.5"})):
        got = await export.asyncio(project["id"], client=as_requester, format_=getattr(models.ExportFormat, fmt),
                                   **params)
        sent = await client.get(f"/api/projects/{project['id']}/export",
                                params={"format": fmt.lower(), **params}, headers=bearer(requester))
        assert isinstance(got, gen.types.File) and got.payload.read() == sent.content, (fmt, params, got)
