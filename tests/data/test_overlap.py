"""PDD102 on generated corpora with planted exact and passage overlaps."""

from __future__ import annotations

import pickle

import pytest

from pretrain_doctor.data.model import Document
from pretrain_doctor.data.overlap import TrainEvalOverlap

from .corpora import generate


@pytest.fixture(scope="module")
def corpus():
    return generate(1500, exact_rate=0.02, near_rate=0.02, eval_docs=200, eval_exact=6, eval_passage=9, seed=11)


def run(corpus_, docs=None) -> TrainEvalOverlap:
    check = TrainEvalOverlap(eval_docs=corpus_.eval)
    for doc in corpus_.train if docs is None else docs:
        check.add(doc)
    return check


def test_every_planted_overlap_is_found_and_nothing_else(corpus):
    check = run(corpus)
    assert check.eval_rate().exact
    assert check.eval_rate().value == pytest.approx((6 + 9) / 200)
    (finding,) = check.findings()
    assert finding.code == "PDD102" and finding.severity == "error"
    assert "15 of 200 evaluation documents (7.50%)" in finding.message
    assert "6 as exact copies, 9 by a shared 13-word passage" in finding.message
    assert finding.file == "train.jsonl" and finding.line >= 1


def test_the_finding_points_at_the_training_document_that_holds_the_eval_text(corpus):
    check = run(corpus)
    (finding,) = check.findings()
    train_doc = corpus.train[finding.line - 1]
    eval_line = int(finding.message.split("e.g. eval.jsonl:")[1].split()[0])
    eval_words = corpus.eval[eval_line - 1].text.lower().split()
    assert " ".join(eval_words[30:43]) in " ".join(train_doc.text.lower().split()) or \
        " ".join(eval_words) == " ".join(train_doc.text.lower().split())


def test_no_overlap_no_finding():
    clean = generate(300, eval_docs=50, seed=12)
    assert run(clean).findings() == []
    assert run(clean).train_rate().value == 0.0


def test_eval_documents_read_first_in_the_stream_are_the_eval_set(corpus):
    """The scan reads the --eval files before the training files, through the same add()."""
    streamed = TrainEvalOverlap()
    for doc in list(corpus.eval) + list(corpus.train):
        streamed.add(doc)
    assert streamed.train_docs == len(corpus.train)
    assert [f.as_dict() for f in streamed.findings()] == [f.as_dict() for f in run(corpus).findings()]


def test_shards_merged_give_what_one_pass_gives(corpus):
    whole = run(corpus)
    parts = [pickle.loads(pickle.dumps(run(corpus, corpus.train[i:i + 500]))) for i in range(0, 1500, 500)]
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    assert [f.as_dict() for f in merged.findings()] == [f.as_dict() for f in whole.findings()]
    assert merged.measurements() == whole.measurements()


def test_sampled_training_share_has_a_wilson_interval():
    check = TrainEvalOverlap(eval_docs=[Document("alpha beta gamma", "e.jsonl", 1, split="eval")])
    for i in range(200):
        check.add(Document("alpha beta gamma" if i % 10 == 0 else f"other {i}", "t.jsonl", i + 1))
    rate = check.train_rate(population=1_000_000)
    assert rate.value == pytest.approx(0.1) and rate.low < 0.1 < rate.high and rate.method == "wilson"
