"""`data --sample N` and `data --workers N` from the command line."""

from __future__ import annotations

import json
import random

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
    # PDD101 counted duplicate pairs among the sampled documents only, and said so.
    duplicates = data["stats"]["checks"]["PDD101"]
    assert duplicates["sampled"] and duplicates["documents"] <= sample["documents"]
    pairs = sample["rates"]["PDD101.exact_pairs_per_document"]
    assert pairs["unit"] == "pairs per document" and pairs["low"] <= pairs["value"] <= pairs["high"]
    assert "PDD101 counted duplicate pairs among the sampled documents" in err
    # read: the eval file, a 256 KiB probe, and per draw its window and the rest of the line it cut
    # (about two mean lines): 300 draws in 1,200 lines is about 3/4 of this small file, never all of it
    assert data["stats"]["bytes"] < 0.85 * (train.stat().st_size + evals.stat().st_size)
    # every sampled finding carries its estimate and interval
    for finding in data["findings"]:
        assert "95% interval" in finding["message"], finding


def test_seeked_findings_point_at_real_lines_or_byte_offsets(capsys, tmp_path, monkeypatch):
    from pretrain_doctor.data import check

    monkeypatch.setattr(sampling, "SMALL_CORPUS", 0)
    lines = [json.dumps({"text": "" if i % 10 == 3 else f"document {i} with enough words to count"})
             for i in range(2000)]
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join(lines) + "\n")
    _, data = report(capsys, train, "--sample", "300", "--select", "PDD106")
    [finding] = data["findings"]
    assert finding["line"] % 10 == 4  # 1-based line of an empty document (i % 10 == 3)
    assert "an estimated" in finding["message"] and "sampled" in finding["message"]
    monkeypatch.setattr(check, "COUNT_LINES_UP_TO", 0)  # too deep to count: the byte offset instead
    _, data = report(capsys, train, "--sample", "300", "--select", "PDD106")
    [finding] = data["findings"]
    assert finding["line"] is None and f"{train} at byte offset" in finding["message"]


def test_sample_without_pdd101_reads_only_the_sample(capsys, files, monkeypatch):
    monkeypatch.setattr(sampling, "SMALL_CORPUS", 0)
    train, _, _ = files
    _, data = report(capsys, train, "--sample", "100", "--ignore", "PDD101")
    assert "PDD101" not in data["stats"]["checks"]
    # the probe (256 KiB of 1.9 MB) and about two mean lines per draw
    assert data["stats"]["bytes"] < train.stat().st_size / 2


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


def test_every_sampled_finding_gives_its_estimate_and_interval(capsys, tmp_path, monkeypatch):
    """PDD103-PDD107 fired on a seeked sample: each message has an estimate and a 95% interval."""
    from .test_memory import WORDS, word_tokenizer

    monkeypatch.setattr(sampling, "SMALL_CORPUS", 0)
    rng = random.Random(4)
    records = []
    for i in range(3000):
        words = 0 if i % 20 == 0 else rng.choice([2, 30, 300])
        text = " ".join(rng.choice(WORDS) for _ in range(words)) + (" 12345" if i % 7 == 0 else "")
        records.append(json.dumps({"text": text, "src": "web" if i % 4 else "books"}))
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join(records) + "\n")
    tokenizer = word_tokenizer(tmp_path / "tokenizer.json")
    _, data = report(capsys, train, "--sample", "400", "--tokenizer", tokenizer, "--seq-len", "64",
                     "--padding", "max_length", "--source-field", "src")
    fired = {f["code"]: f["message"] for f in data["findings"]}
    assert {"PDD103", "PDD104", "PDD105", "PDD106", "PDD107"} <= set(fired), fired
    for code, message in fired.items():
        assert "95% interval" in message and "sampled" in message, (code, message)
    rates = data["stats"]["sample"]["rates"]
    for key in ("PDD103.truncated", "PDD104.waste", "PDD105.unknown", "PDD106.empty", "PDD107.largest_share"):
        assert rates[key]["low"] <= rates[key]["value"] <= rates[key]["high"], key
