"""PDD103-PDD107 on documents with known rates: what fires, the numbers it reports, and that
shards merged give the very result of one pass (and pickle on the way)."""

from __future__ import annotations

import pickle
import random

import pytest

from pretrain_doctor.data.check import DataOptions
from pretrain_doctor.data.model import Document, TokenCounts
from pretrain_doctor.data.per_document import (DomainImbalance, EmptyOrTinyDocuments, PaddingWaste, Truncation,
                                               UnknownTokens)


def doc(tokens: int = 10, text: str = "a few words in this document", line: int = 1, source=None, unknown=0,
        byte_fallback=0, split="train") -> Document:
    return Document(text, "c.jsonl", line, source, split, TokenCounts(tokens, unknown, byte_fallback))


def fed(cls, options: DataOptions, docs):
    check = cls(options)
    for d in docs:
        check.add(d)
    return check


def sharded(cls, options: DataOptions, docs, shards: int = 3):
    """The same documents through `shards` accumulators, pickled and merged."""
    parts = [fed(cls, options, docs[i::shards]) for i in range(shards)]
    merged = pickle.loads(pickle.dumps(parts[0]))
    for part in parts[1:]:
        merged.merge(pickle.loads(pickle.dumps(part)))
    return merged


def test_truncation_rate_and_tokens_past_the_cut():
    options = DataOptions(seq_len=100, tokenizer="tok")
    docs = [doc(150, line=i + 1) if i % 5 == 0 else doc(80, line=i + 1) for i in range(100)]  # 20% longer
    check = fed(Truncation, options, docs)
    [finding] = check.findings()
    assert check.rate() == pytest.approx(0.20)
    assert finding.message.startswith("20 of 100 documents (20.0%) are longer than the sequence length, 100 tokens")
    assert "10.6% of all tokens are past the cut" in finding.message  # 20*50 / (20*150 + 80*80)
    assert (finding.file, finding.line, finding.severity) == ("c.jsonl", 1, "warning")
    assert sharded(Truncation, options, docs).stats() == check.stats()
    assert sharded(Truncation, options, docs).findings()[0].line == 1


def test_truncation_at_ten_percent_does_not_fire_and_eval_documents_do_not_count():
    options = DataOptions(seq_len=100, tokenizer="tok")
    docs = [doc(150) if i < 10 else doc(50) for i in range(100)] + [doc(500, split="eval")] * 50
    assert fed(Truncation, options, docs).findings() == []


def test_truncation_needs_a_tokenizer_a_length_and_no_packing():
    assert Truncation.missing(DataOptions()) == ["--tokenizer DIR (a tokenizer.json)", "--seq-len N"]
    assert Truncation.missing(DataOptions(tokenizer="t", seq_len=8, packing=True))[0].startswith("no --packing")
    assert Truncation.missing(DataOptions(tokenizer="t", seq_len=8)) == []


def test_padding_waste_at_max_length():
    options = DataOptions(seq_len=100, padding="max_length", tokenizer="tok")
    docs = [doc(40)] * 50 + [doc(200)] * 50  # lengths capped at 100: mean 70, so 30% padding: not above
    assert fed(PaddingWaste, options, docs).waste() == pytest.approx(0.30)
    assert fed(PaddingWaste, options, docs).findings() == []
    docs = [doc(25)] * 100
    [finding] = fed(PaddingWaste, options, docs).findings()
    assert finding.message == "75.0% of the tokens of a batch would be padding, padded to max_length 100"


def test_padding_to_the_longest_is_the_expectation_over_random_batches():
    """Against a simulation of a shuffled dataloader: batches of 4 drawn at random."""
    rng = random.Random(0)
    lengths = [rng.choice([10, 10, 10, 20, 40, 400]) for _ in range(3000)]
    options = DataOptions(seq_len=256, padding="longest", batch_size=4, tokenizer="tok")
    check = fed(PaddingWaste, options, [doc(n) for n in lengths])
    capped = [min(n, 256) for n in lengths]
    real = padded = 0
    for _ in range(20000):
        batch = [rng.choice(capped) for _ in range(4)]
        real, padded = real + sum(batch), padded + 4 * max(batch)
    assert check.waste() == pytest.approx(1 - real / padded, abs=0.01)
    assert check.waste() > 0.30 and "random batches of 4 (--batch-size)" in check.findings()[0].message
    assert sharded(PaddingWaste, options, [doc(n) for n in lengths]).waste() == pytest.approx(check.waste())


def test_padding_to_the_longest_of_equal_lengths_wastes_nothing():
    options = DataOptions(padding="longest", tokenizer="tok")
    assert fed(PaddingWaste, options, [doc(33)] * 10).waste() == pytest.approx(0.0)
    assert PaddingWaste.missing(DataOptions(padding="max_length", tokenizer="t"))[-1].startswith("--seq-len")


def test_unknown_and_byte_fallback_rates():
    options = DataOptions(tokenizer="tok")
    clean = [doc(1000, line=i + 1) for i in range(10)]
    assert fed(UnknownTokens, options, clean).findings() == []
    unknown = clean + [doc(1000, line=11, unknown=20)]  # 20 / 11000 = 0.18%
    [finding] = fed(UnknownTokens, options, unknown).findings()
    assert finding.line == 11 and finding.message.startswith("20 of 11,000 tokens (0.182%) are the unknown token")
    bytes_ = clean + [doc(1000, line=11, byte_fallback=100)]  # 0.9%: under 1%
    assert fed(UnknownTokens, options, bytes_).findings() == []
    bytes_ = clean + [doc(1000, line=11, byte_fallback=200)]  # 1.8%
    assert "200 of 11,000 (1.8%) byte-fallback" in fed(UnknownTokens, options, bytes_).findings()[0].message
    assert sharded(UnknownTokens, options, unknown).stats() == fed(UnknownTokens, options, unknown).stats()


@pytest.mark.parametrize("text, kind", [("", "empty"), ("  \n\t ", "empty"), ("Click here", "tiny"),
                                        ("Page 2 of 7", "tiny"), ("one two three four five", None),
                                        ("x" * 80, None), ("混合中文文本" * 20, None), (" " * 70 + "ok", "tiny")])
def test_empty_and_tiny_documents(text, kind):
    check = fed(EmptyOrTinyDocuments, DataOptions(), [doc(text=text)])
    assert (check.empty, check.tiny) == ((1, 0) if kind == "empty" else (0, 1) if kind == "tiny" else (0, 0))


def test_empty_or_tiny_finding_points_at_the_first_one():
    docs = [doc(text="a real document with many words in it", line=i + 1) for i in range(97)]
    docs += [doc(text="", line=98), doc(text="Menu", line=99), doc(text="", line=100)]
    check = sharded(EmptyOrTinyDocuments, DataOptions(), docs)
    [finding] = check.findings()
    assert (finding.line, finding.severity) == (98, "info")
    assert finding.message.startswith("2 of 100 documents (2.0%) are empty and 1 of 100 (1.0%) tiny")


def test_domain_imbalance_by_tokens_and_by_characters():
    docs = [doc(100, source="web")] * 7 + [doc(100, source="books")] * 2 + [doc(100, source=None)]
    [finding] = fed(DomainImbalance, DataOptions(tokenizer="tok", source_field="src"), docs).findings()
    assert finding.message.startswith("source 'web' holds 70.0% of tokens (limit 50%); shares: web 70.0%, books 20.0%, "
                                      "(no source) 10.0%")
    assert finding.line is None and finding.severity == "info"
    by_chars = fed(DomainImbalance, DataOptions(source_field="src"), [
        Document("x" * 30, "c", 1, "a"), Document("x" * 70, "c", 2, "b")])
    assert by_chars.findings()[0].message.startswith("source 'b' holds 70.0% of characters")


def test_domain_imbalance_balanced_or_single_source_does_not_fire():
    options = DataOptions(source_field="src")
    assert fed(DomainImbalance, options, [doc(source="a"), doc(source="b")]).findings() == []
    assert fed(DomainImbalance, options, [doc(source="a")] * 5).findings() == []


def test_a_source_field_with_too_many_values_is_not_a_label(monkeypatch):
    monkeypatch.setattr(DomainImbalance, "max_sources", 5)
    options = DataOptions(source_field="url")
    docs = [doc(source=f"https://x/{i}") for i in range(8)]
    [finding] = sharded(DomainImbalance, options, docs, shards=2).findings()
    assert "more than 5 distinct values" in finding.message
    assert fed(DomainImbalance, options, docs[:4]).findings() == []


def test_long_lengths_are_bucketed_so_the_histogram_stays_small():
    options = DataOptions(padding="longest", tokenizer="tok")  # no --seq-len: lengths uncapped
    docs = [doc(n) for n in range(1, 200_000, 7)]
    check = fed(PaddingWaste, options, docs)
    assert len(check.lengths) < 4096 + 256 * 6
    rng = random.Random(1)
    lengths = list(range(1, 200_000, 7))
    real = padded = 0
    for _ in range(20000):
        batch = [rng.choice(lengths) for _ in range(8)]
        real, padded = real + sum(batch), padded + 8 * max(batch)
    assert check.waste() == pytest.approx(1 - real / padded, abs=0.01)
