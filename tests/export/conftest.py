"""Export tests load what they export with the real readers (datasets, pycocotools, nltk), offline."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Callable

import pytest

from labeling import cli

# datasets must never reach for a hub: set before it is first imported.
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture
def load(tmp_path: Path) -> Callable:
    """datasets.load_dataset with its cache in the test's folder."""
    import datasets

    datasets.disable_progress_bars()

    def run(*args: object, **kwargs: object):  # noqa: ANN202
        return datasets.load_dataset(*args, cache_dir=str(tmp_path / "hf-cache"), **kwargs)

    return run


@pytest.fixture
def read_conll(monkeypatch: pytest.MonkeyPatch) -> Callable:
    """read_conll(path) -> its sentences, each a list of (token, tag), as nltk's ConllCorpusReader reads a CoNLL file
    of two columns (a word and its tag, which nltk calls pos); nltk reads only under its data paths, so the file's
    folder is made one for the test."""
    import nltk
    from nltk.corpus.reader import ConllCorpusReader

    def run(path: Path) -> list[list[tuple[str, str]]]:
        monkeypatch.setattr(nltk.data, "path", [*nltk.data.path, str(path.parent)])
        reader = ConllCorpusReader(str(path.parent), [path.name], columntypes=("words", "pos"), encoding="utf-8")
        return [list(sentence) for sentence in reader.tagged_sents()]

    return run


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, settings) -> Callable:  # noqa: ANN001
    """run_cli(*argv) -> exit status: the `labeling` command in a thread (it runs its own event loop)."""
    monkeypatch.setenv("LABELING_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LABELING_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("LABELING_SECRET_KEY", settings.secret_key)
    monkeypatch.delenv("LABELING_ADMIN_TOKEN", raising=False)

    async def run(*argv: str) -> int:
        return await asyncio.to_thread(cli.main, list(argv))

    return run
