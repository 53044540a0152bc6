"""PDD101 on generated corpora: exact counts, sampled estimates with intervals, shard merges."""

from __future__ import annotations

import pickle

import pytest

from pretrain_doctor.data.dedup import DuplicateDocuments
from pretrain_doctor.data.model import Document

from .corpora import generate


def run(docs, **options) -> DuplicateDocuments:
    check = DuplicateDocuments(**options)
    for doc in docs:
        check.add(doc)
    return check


def sharded(docs, shards: int, **options) -> DuplicateDocuments:
    """One accumulator per contiguous shard, each through pickle (as from a worker), merged in order."""
    size = -(-len(docs) // shards)
    parts = [pickle.loads(pickle.dumps(run(docs[i:i + size], **options))) for i in range(0, len(docs), size)]
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    return merged


@pytest.fixture(scope="module")
def corpus():
    return generate(2000, exact_rate=0.03, near_rate=0.08, seed=3)


def test_exact_rate_is_counted_exactly_on_a_corpus_that_fits(corpus):
    check = run(corpus.train)
    rate = check.exact_rate()
    assert rate.exact and rate.value == pytest.approx(corpus.exact_rate)


def test_near_rate_within_half_a_point_of_the_planted_rate(corpus):
    rate = run(corpus.train).near_rate()
    assert rate.exact
    assert rate.value == pytest.approx(corpus.near_rate, abs=0.005)


def test_findings_name_the_rates_and_point_at_a_document(corpus):
    findings = run(corpus.train).findings()
    assert [f.code for f in findings] == ["PDD101", "PDD101"]
    exact_finding, near_finding = findings
    assert "3.00% of documents are exact duplicates (60 of 2,000 documents" in exact_finding.message
    assert "near duplicates" in near_finding.message and "similarity" in near_finding.message
    for finding in findings:
        assert finding.file == "train.jsonl" and finding.line >= 1 and finding.severity == "warning"


def test_case_and_spacing_do_not_hide_a_copy():
    docs = [Document("The Same text here", "a.txt", 1), Document("the  same\ttext HERE ", "a.txt", 2),
            Document("something else entirely", "a.txt", 3)]
    assert run(docs).exact_rate().value == pytest.approx(1 / 3)


def test_a_clean_corpus_has_no_finding():
    assert run(generate(600, exact_rate=0.0, near_rate=0.0, seed=5).train).findings() == []


def test_empty_documents_are_left_to_pdd106():
    check = run([Document("", "a.txt", 1), Document("  ", "a.txt", 2), Document("x y", "a.txt", 3)])
    assert check.documents == 1 and check.empty == 2 and check.exact_rate().value == 0.0


@pytest.mark.parametrize("budgets", [{}, {"exact_budget": 300, "near_budget": 400}])
def test_shards_merged_give_what_one_pass_gives(corpus, budgets):
    whole = run(corpus.train, **budgets)
    merged = sharded(corpus.train, 3, **budgets)
    assert merged.measurements() == whole.measurements()
    assert [f.as_dict() for f in merged.findings()] == [f.as_dict() for f in whole.findings()]


def test_memory_is_bounded_by_the_budgets(corpus):
    check = run(corpus.train, exact_budget=300, near_budget=400)
    check.exact.flush(), check.near.flush()
    assert check.exact.count.size <= 300 and check.near.count.size <= 400
    assert check.exact.saturated and check.near.saturated
    assert not check.exact_rate().exact


def test_sampled_intervals_contain_the_true_rates_in_95_of_100_seeded_trials():
    """Each trial: a fresh corpus and a fresh hash function (salt); the samples hold about a
    sixth of the distinct texts."""
    covered = {"exact": 0, "near": 0}
    for trial in range(100):
        corpus = generate(1200, exact_rate=0.04, near_rate=0.08, seed=100 + trial, min_words=20, max_words=200)
        check = run(corpus.train, exact_budget=200, near_budget=200, salt=trial)
        covered["exact"] += check.exact_rate().contains(corpus.exact_rate)
        covered["near"] += check.near_rate().contains(corpus.near_rate)
    assert covered["exact"] >= 95, covered
    assert covered["near"] >= 95, covered
