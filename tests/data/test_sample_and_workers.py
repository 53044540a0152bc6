"""`data --sample N` and `data --workers N` from the command line."""

from __future__ import annotations

import json

import pytest

from pretrain_doctor.data import sampling

from .corpora import generate
from .test_command import cli, report


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    corpus = generate(1200, exact_rate=0.03, near_rate=0.08, eval_docs=40, eval_exact=2, eval_passage=2, seed=41)
    train = corpus.write_jsonl(folder / "train.jsonl")
    evals = corpus.write_jsonl(folder / "eval.jsonl", corpus.eval)
    shards = folder / "shards"
    shards.mkdir()
    for i in range(3):
        corpus.write_jsonl(shards / f"part-{i}.jsonl", corpus.train[i * 400:(i + 1) * 400])
    return train, evals, shards


def test_sample_seeks_documents_and_reports_intervals(capsys, files, monkeypatch):
    monkeypatch.setattr(sampling, "SMALL_CORPUS", 0)  # seek even in this small file
    train, evals, _ = files
    code, out, err = cli(capsys, train, "--eval", evals, "--sample", "300", "--seed", "3", "--format", "json")
    data = json.loads(out)
    sample = data["stats"]["sample"]
    assert 300 <= sample["documents"] < 320 and sample["population"] is None  # seeked: no population correction
    empty = sample["rates"]["PDD106.empty"]
    assert empty["method"] == "wilson" and empty["low"] <= empty["value"] <= empty["high"]
    assert "judged from a sample of" in err and "seeked at random offsets, seed 3" in err
    # PDD101 still read every document: its exact count is that of the whole file.
    assert data["stats"]["checks"]["PDD101"]["documents"] == 1200
    assert "PDD101 read every document" in err


def test_sample_without_pdd101_reads_only_the_sample(capsys, files, monkeypatch):
    monkeypatch.setattr(sampling, "SMALL_CORPUS", 0)
    train, _, _ = files
    _, data = report(capsys, train, "--sample", "200", "--ignore", "PDD101")
    assert "PDD101" not in data["stats"]["checks"]
    assert data["stats"]["bytes"] < train.stat().st_size / 3


def test_sample_and_workers_do_not_go_together(capsys, files):
    train, _, _ = files
    code, _, err = cli(capsys, train, "--sample", "10", "--workers", "2")
    assert code == 2 and "--sample" in err


@pytest.mark.slow
def test_workers_give_the_local_report(capsys, files):
    _, evals, shards = files
    _, local = report(capsys, shards, "--eval", evals, "--no-progress")
    _, mapped = report(capsys, shards, "--eval", evals, "--workers", "2")
    assert mapped["findings"] == local["findings"] and mapped["files"] == local["files"]
    assert mapped["stats"]["checks"] == local["stats"]["checks"]
    assert {f["code"] for f in local["findings"]} == {"PDD101", "PDD102"}
