"""The data checks as a map/reduce on a Dask LocalCluster of 2 worker processes: same findings as one pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pretrain_doctor.data.dedup import DuplicateDocuments
from pretrain_doctor.data.model import Document
from pretrain_doctor.data.overlap import TrainEvalOverlap

from .corpora import generate

pytest.importorskip("distributed")


def read_jsonl(path: str):
    """The shard reader the workers import (a module-level function)."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            yield Document(json.loads(line)["text"], path, number)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    corpus = generate(1600, exact_rate=0.03, near_rate=0.08, eval_docs=60, eval_exact=3, eval_passage=4, seed=31)
    folder = tmp_path_factory.mktemp("shards")
    paths = []
    for i in range(4):
        part = corpus.train[i * 400:(i + 1) * 400]
        paths.append(str(corpus.write_jsonl(folder / f"part-{i}.jsonl", part)))
    return corpus, paths


def prototypes(corpus, **budgets):
    return [DuplicateDocuments(**budgets), TrainEvalOverlap(eval_docs=corpus.eval)]


def local_run(corpus, paths, **budgets):
    checks = prototypes(corpus, **budgets)
    for path in paths:
        for doc in read_jsonl(path):
            for check in checks:
                check.add(doc)
    return checks


def outcome(checks):
    return [([f.as_dict() for f in c.findings()], c.measurements()) for c in checks]


@pytest.mark.slow
def test_two_worker_processes_find_what_the_local_run_finds(shards):
    from pretrain_doctor.data.distributed import dask_client, run_on_dask

    corpus, paths = shards
    with dask_client(workers=2) as client:
        full = run_on_dask(client, paths, prototypes(corpus), read_jsonl)
        sampled = run_on_dask(client, paths, prototypes(corpus, exact_budget=150, near_budget=200), read_jsonl)
    assert outcome(full) == outcome(local_run(corpus, paths))
    assert outcome(sampled) == outcome(local_run(corpus, paths, exact_budget=150, near_budget=200))
    assert full[0].findings() and full[1].findings()  # something to agree on


def test_a_missing_scheduler_is_a_usage_error():
    from pretrain_doctor.data.distributed import dask_client
    from pretrain_doctor.errors import UsageError

    with pytest.raises(UsageError, match="--scheduler tcp://127.0.0.1:9"):
        with dask_client(scheduler="tcp://127.0.0.1:9"):
            pass


def test_workers_must_be_a_positive_number():
    from pretrain_doctor.data.distributed import dask_client
    from pretrain_doctor.errors import UsageError

    with pytest.raises(UsageError, match="--workers"):
        with dask_client(workers=0):
            pass
