"""The data checks that judge documents one at a time (PDD103-PDD107): counts, a bounded
length histogram, a bounded table of sources. Each counts training documents only (the
`--eval` documents are for the overlap check)."""

from __future__ import annotations

from collections import Counter
from typing import Optional

import numpy as np

from ..rule import Finding
from .check import DataCheck, DataOptions, Place, first_place, percent
from .model import Document
from .stats import Estimate, RatioSums, ratio


class Truncation(DataCheck):
    """More than 10% of documents are longer than the sequence length, and will be cut.

    ## What it does
    Tokenizes every training document with `--tokenizer` (special tokens included, as the
    trainer would) and counts those longer than `--seq-len`. Fires when more than 10% of
    documents are; the message also gives the share of all tokens past the cut. It runs
    only when documents are not packed (`--packing` off): packed sequences are cut at
    sequence boundaries and lose nothing.

    ## Why is this bad?
    A per-document pipeline (`truncation=True, max_length=seq_len`) throws away every token
    past the limit. On a corpus of long documents that can be most of the text, and always
    the same part of it (the ends: conclusions, answers, code after its imports), so the
    model never learns it and the token budget you computed is not the one you train on.

    ## Example
    A corpus of 4,000-token articles checked with `--seq-len 1024 --tokenizer tok/`:
    `92.0% (920 of 1,000) documents are longer than 1,024 tokens; 71.3% of all tokens are
    past the cut`.

    ## Use instead
    Pack documents into full sequences (concatenate with an EOS between documents, then cut
    every `seq_len` tokens), split long documents into `seq_len` chunks, or raise `--seq-len`.

    ## References
    - https://huggingface.co/docs/transformers/pad_truncation
    """

    code = "PDD103"
    slug = "truncation"
    severity = "warning"
    needs = ("tokenizer", "seq_len", "unpacked")
    threshold = 0.10

    def __init__(self, options: Optional[DataOptions] = None) -> None:
        super().__init__(options)
        self.documents = 0
        self.truncated = 0
        self.tokens = 0
        self.tokens_cut = 0
        self.cut = RatioSums()  # tokens past the cut over tokens, per document (its interval when sampled)
        self.first: Optional[Place] = None

    def add(self, doc: Document) -> None:
        if doc.split != "train" or doc.tokens is None:
            return
        total, limit = doc.tokens.total, self.options.seq_len or 0
        self.documents += 1
        self.tokens += total
        self.cut.add(max(total - limit, 0), total)
        if total > limit:
            self.truncated += 1
            self.tokens_cut += total - limit
            if self.first is None:
                self.first = Place.of(doc)

    def merge(self, other: "Truncation") -> None:
        self.documents += other.documents
        self.truncated += other.truncated
        self.tokens += other.tokens
        self.tokens_cut += other.tokens_cut
        self.cut.merge(other.cut)
        self.first = first_place(self.first, other.first)

    def rate(self) -> float:
        return self.truncated / self.documents if self.documents else 0.0

    def estimates(self) -> dict[str, Estimate]:
        return {"tokens_past_the_cut": self.cut.estimate(self.population)}

    def stats(self) -> dict:
        return {"documents": self.documents, "truncated": self.truncated, "rate": self.rate(),
                "tokens_past_the_cut": self.tokens_cut, "seq_len": self.options.seq_len}

    def findings(self) -> list[Finding]:
        if self.rate() <= self.threshold:
            return []
        lost = self.tokens_cut / self.tokens if self.tokens else 0.0
        return [self.finding(
            f"{self.share(self.truncated, self.documents, 'documents')} are longer than the sequence length, "
            f"{self.options.seq_len:,} tokens; {self.estimated(self.cut.estimate(self.population), f'{100 * lost:.1f}%')} "
            "of all tokens are past the cut",
            self.first, hint="pack documents into full sequences, split long documents into seq-len chunks, "
                             "or raise the sequence length")]


class PaddingWaste(DataCheck):
    """More than 30% of the tokens in a batch would be padding at the configured padding.

    ## What it does
    Builds the histogram of document lengths in tokens (capped at `--seq-len`, as
    truncation would) and computes the share of padding in a batch:

    - `--padding max_length`: every sequence is `seq_len` long, so the waste is
      `1 - mean(min(length, seq_len)) / seq_len`.
    - `--padding longest`: a batch is padded to its longest sequence. Batches are
      `--batch-size` documents drawn at random (a shuffled dataloader; default 8, the
      Hugging Face Trainer's `per_device_train_batch_size`), so the waste is
      `1 - mean length / E[longest of batch-size lengths]`, the expectation taken exactly
      over the length histogram. It does not depend on the order of the corpus, and shards
      merge to the same number.

    Fires when the waste is above 30%.

    ## Why is this bad?
    Padding tokens cost the same compute as real ones and teach nothing: at 60% padding,
    more than half of every step is spent on nothing, and a tokens-per-second figure that
    counts them overstates how much text the model has seen.

    ## Example
    Tweets of about 40 tokens padded to `max_length` 2048: `98.0% of tokens would be
    padding`. Padded to the longest of batches of 8 they waste about 35%.

    ## Use instead
    Pack documents into full sequences, pad to the longest of each batch
    (`padding="longest"`, `DataCollatorWithPadding`) rather than to `max_length`, or group
    documents of similar length (`group_by_length=True`).

    ## References
    - https://huggingface.co/docs/transformers/pad_truncation
    - https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.group_by_length
    """

    code = "PDD104"
    slug = "padding-waste"
    severity = "warning"
    needs = ("tokenizer", "padding", "unpacked")
    threshold = 0.30
    exact_up_to = 4096  # lengths counted exactly up to here, in relative buckets above (no --seq-len cap)

    def __init__(self, options: Optional[DataOptions] = None) -> None:
        super().__init__(options)
        # length (capped at seq_len) -> documents: at most 4,096 + 256 entries per doubling of length
        self.lengths: Counter[int] = Counter()

    @classmethod
    def missing(cls, options: DataOptions) -> list[str]:
        lacking = super().missing(options)
        if options.padding == "max_length" and options.seq_len is None:
            lacking.append("--seq-len N (the length padding=max_length pads to)")
        return lacking

    def add(self, doc: Document) -> None:
        if doc.split != "train" or doc.tokens is None:
            return
        limit = self.options.seq_len
        length = doc.tokens.total if limit is None else min(doc.tokens.total, limit)
        if length > self.exact_up_to:  # 256 buckets per doubling above it: < 0.4% off, the table stays small
            step = 1 << (length.bit_length() - 9)
            length = length // step * step
        self.lengths[length] += 1

    def merge(self, other: "PaddingWaste") -> None:
        self.lengths.update(other.lengths)

    def waste(self) -> float:
        """The expected share of padding among the tokens of a batch."""
        lengths = np.array(sorted(self.lengths), dtype=np.float64)
        counts = np.array([self.lengths[int(n)] for n in lengths], dtype=np.float64)
        return self._waste(lengths, counts)

    def estimates(self) -> dict[str, Estimate]:
        """The waste with its 95% interval, for a sample: at max_length a ratio (padding over
        seq_len per document); padded to the longest of a batch (not a ratio of per-document
        sums), the 2.5th-97.5th percentiles of 400 bootstrap resamples of the length histogram."""
        lengths = np.array(sorted(self.lengths), dtype=np.float64)
        counts = np.array([self.lengths[int(n)] for n in lengths], dtype=np.int64)
        documents = int(counts.sum())
        if not documents:
            return {}
        if self.options.padding == "max_length":
            seq_len = float(self.options.seq_len or 0)
            per_doc = np.repeat(lengths, counts)
            return {"waste": ratio(seq_len - per_doc, np.full(documents, seq_len), self.population)}
        rng = np.random.default_rng(0)
        resampled = [self._waste(lengths, rng.multinomial(documents, counts / documents).astype(np.float64))
                     for _ in range(400)]
        low, high = np.percentile(resampled, [2.5, 97.5])
        value = self._waste(lengths, counts.astype(np.float64))
        return {"waste": Estimate(value, min(float(low), value), max(float(high), value), documents, "bootstrap")}

    def _waste(self, lengths, counts) -> float:
        documents = float(counts.sum())
        if not documents:
            return 0.0
        mean = float(lengths @ counts) / documents
        if self.options.padding == "max_length":
            padded = float(self.options.seq_len or 0)
        else:  # E[max of B iid draws] = sum over lengths of l * (F(l)^B - F(l-)^B)
            below_or_at = np.cumsum(counts) / documents
            below = np.concatenate(([0.0], below_or_at[:-1]))
            batch = self.options.batch_size
            padded = float(lengths @ (below_or_at ** batch - below ** batch))
        return 1.0 - mean / padded if padded > 0 else 0.0

    def stats(self) -> dict:
        return {"documents": sum(self.lengths.values()), "padding": self.options.padding,
                "batch_size": self.options.batch_size if self.options.padding == "longest" else None,
                "waste": self.waste()}

    def findings(self) -> list[Finding]:
        waste = self.waste()
        if round(waste, 9) <= self.threshold:  # exactly at the limit does not fire, float noise aside
            return []
        if self.options.padding == "max_length":
            how = f"padded to max_length {self.options.seq_len:,}"
            hint = "pad to the longest of each batch (padding='longest') or pack documents into full sequences"
        else:
            how = f"padded to the longest of random batches of {self.options.batch_size} (--batch-size)"
            hint = "pack documents into full sequences, or group documents of similar length (group_by_length)"
        if self.sampled:
            waste_text = f"an estimated {self.estimates()['waste']} (from {sum(self.lengths.values()):,} sampled documents)"
        else:
            waste_text = f"{100 * waste:.1f}%"
        return [self.finding(f"{waste_text} of the tokens of a batch would be padding, {how}", None, hint=hint)]


class UnknownTokens(DataCheck):
    """The tokenizer maps more than 0.1% of tokens to its unknown token, or more than 1% to byte fallback.

    ## What it does
    Tokenizes every training document with `--tokenizer` and counts the unknown token
    (`<unk>`, `[UNK]`: the model's `unk_token`) and, for tokenizers with byte fallback
    (Llama, Mistral, Gemma: `byte_fallback: true`), the `<0x..>` byte tokens that stand in
    for characters missing from the vocabulary. Fires when unknown tokens are above 0.1% of
    all tokens, or byte tokens above 1%. A byte-level BPE (GPT-2, Llama 3) has neither, so
    the check never fires for it.

    ## Why is this bad?
    Every unknown token erases what it replaced: the model cannot read or write that text.
    Heavy byte fallback means the tokenizer does not fit the corpus (another language or
    script, unusual symbols): sequences get several times longer, and the per-token
    statistics the vocabulary was built for do not hold.

    ## Example
    Chinese text with an English SentencePiece tokenizer: `unknown tokens 0.0%, byte-fallback
    tokens 38.2% (12,345 of 32,317)`. Text with accented letters and a WordPiece vocabulary
    built without them: `unknown tokens 2.4%`.

    ## Use instead
    Use a tokenizer trained on text like this corpus (or extend the vocabulary and train the
    new embeddings), normalise the text (Unicode NFKC) before tokenizing, or remove the
    documents in scripts the tokenizer does not cover.

    ## References
    - https://github.com/google/sentencepiece#byte-fallback
    - https://huggingface.co/docs/tokenizers/api/models
    """

    code = "PDD105"
    slug = "unknown-tokens"
    severity = "warning"
    needs = ("tokenizer",)
    unknown_threshold = 0.001
    byte_fallback_threshold = 0.01

    def __init__(self, options: Optional[DataOptions] = None) -> None:
        super().__init__(options)
        self.tokens = 0
        self.unknown = 0
        self.byte_fallback = 0
        # per-document sums behind the rates' intervals when the documents are a sample
        self.unknown_sums = RatioSums()
        self.byte_sums = RatioSums()
        self.first: Optional[Place] = None

    def add(self, doc: Document) -> None:
        if doc.split != "train" or doc.tokens is None:
            return
        total, unknown, byte_fallback = doc.tokens
        self.tokens += total
        self.unknown += unknown
        self.byte_fallback += byte_fallback
        self.unknown_sums.add(unknown, total)
        self.byte_sums.add(byte_fallback, total)
        if (unknown or byte_fallback) and self.first is None:
            self.first = Place.of(doc)

    def merge(self, other: "UnknownTokens") -> None:
        self.tokens += other.tokens
        self.unknown += other.unknown
        self.byte_fallback += other.byte_fallback
        self.unknown_sums.merge(other.unknown_sums)
        self.byte_sums.merge(other.byte_sums)
        self.first = first_place(self.first, other.first)

    def estimates(self) -> dict[str, Estimate]:
        return {"unknown": self.unknown_sums.estimate(self.population),
                "byte_fallback": self.byte_sums.estimate(self.population)}

    def stats(self) -> dict:
        share = (lambda n: n / self.tokens if self.tokens else 0.0)
        return {"tokens": self.tokens, "unknown": self.unknown, "byte_fallback": self.byte_fallback,
                "unknown_rate": share(self.unknown), "byte_fallback_rate": share(self.byte_fallback)}

    def findings(self) -> list[Finding]:
        if not self.tokens:
            return []
        over_unknown = self.unknown / self.tokens > self.unknown_threshold
        over_bytes = self.byte_fallback / self.tokens > self.byte_fallback_threshold
        if not (over_unknown or over_bytes):
            return []
        if self.sampled:
            rates = self.estimates()
            measured = (f"an estimated {rates['unknown']} of tokens are the unknown token and {rates['byte_fallback']} "
                        f"byte-fallback tokens (from {self.tokens:,} tokens of {self.unknown_sums.n:,} sampled documents)")
        else:
            measured = (f"{percent(self.unknown, self.tokens, 'tokens')} are the unknown token and "
                        f"{percent(self.byte_fallback, self.tokens)} byte-fallback tokens")
        return [self.finding(
            f"{measured} with this tokenizer (limits 0.1% and 1%)",
            self.first, hint="use a tokenizer trained on text like this corpus, normalise the text (NFKC), "
                             "or drop the documents it cannot encode")]


class EmptyOrTinyDocuments(DataCheck):
    """The corpus holds empty or near-empty documents.

    ## What it does
    Counts training documents that are empty (nothing but white space) or tiny: fewer than
    5 words (white-space separated) and under 64 characters, such as "Click here",
    "Page 2 of 7" or a lone title. Fires (info) when there is any, pointing at the first.

    ## Why is this bad?
    An empty document trains on nothing but its special tokens (an EOS after an EOS); tiny
    ones are boilerplate left by extraction. Both waste steps and padding, and a pile of
    them teaches the model to end documents at once. Many of them in a plain-text corpus
    often mean documents were split at every line rather than at blank lines.

    ## Example
    A JSONL corpus where 3% of `text` fields are `""` or `"Subscribe to our newsletter"`:
    `305 empty documents (3.1%) and 12 tiny ones (0.1%; fewer than 5 words)`.

    ## Use instead
    Filter them out before tokenizing (a minimum of words or characters, as C4 and Gopher
    rules do). For plain text whose documents are separated by blank lines, read it with
    `--text-unit paragraph`.

    ## References
    - https://arxiv.org/abs/1910.10683
    - https://arxiv.org/abs/2112.11446
    """

    code = "PDD106"
    slug = "empty-or-tiny-documents"
    severity = "info"
    tiny_chars = 64

    def __init__(self, options: Optional[DataOptions] = None) -> None:
        super().__init__(options)
        self.documents = 0
        self.empty = 0
        self.tiny = 0
        self.first: Optional[Place] = None

    def add(self, doc: Document) -> None:
        if doc.split != "train":
            return
        self.documents += 1
        text = doc.text
        if len(text) >= self.tiny_chars and not text[:self.tiny_chars].isspace():
            return  # the common case, decided without splitting a long document
        stripped = text.strip()
        if not stripped:
            self.empty += 1
        elif len(stripped) < self.tiny_chars and len(stripped.split(None, self.options.min_words)) < self.options.min_words:
            self.tiny += 1
        else:
            return
        if self.first is None:
            self.first = Place.of(doc)

    def merge(self, other: "EmptyOrTinyDocuments") -> None:
        self.documents += other.documents
        self.empty += other.empty
        self.tiny += other.tiny
        self.first = first_place(self.first, other.first)

    def stats(self) -> dict:
        return {"documents": self.documents, "empty": self.empty, "tiny": self.tiny}

    def findings(self) -> list[Finding]:
        if not (self.empty or self.tiny):
            return []
        return [self.finding(
            f"{self.share(self.empty, self.documents, 'documents')} are empty and {self.share(self.tiny, self.documents)} "
            f"tiny (fewer than {self.options.min_words} words and {self.tiny_chars} characters)",
            self.first, hint="filter them out before tokenizing; for plain text with documents separated by blank "
                             "lines, read it with --text-unit paragraph")]


class DomainImbalance(DataCheck):
    """One source holds more than half of the corpus's tokens.

    ## What it does
    With `--source-field F` (the documents' source or domain label, such as the Pile's
    `meta.pile_set_name`), sums the tokens of each source (characters when no `--tokenizer`
    is given) and fires (info) when the largest holds more than 50% of the total and there
    are at least two sources. The stats list each source's share. A field with more than
    10,000 distinct values is not a source label: the check says so and stops counting.

    ## Why is this bad?
    The mixture is a hyperparameter: a model trained on 85% web crawl and 2% code learns
    little code, however good the code is, and a source that dominates by accident (one
    huge dump next to curated sets) sets the model's style. Mixtures are chosen on purpose
    (the Pile, Dolma and DoReMi re-weight sources); this shows what the raw files give.

    ## Example
    `source 'web' holds 84.0% of tokens (limit 50%); shares: web 84.0%, wiki 9.0%,
    books 7.0%`.

    ## Use instead
    Sample sources to the mixture you want (up- or down-weight per source, or set
    interleave probabilities), or confirm the mixture is intended and ignore PDD107.

    ## References
    - https://arxiv.org/abs/2101.00027
    - https://arxiv.org/abs/2305.10429
    """

    code = "PDD107"
    slug = "domain-imbalance"
    severity = "info"
    needs = ("source_field",)
    max_sources = 10_000
    no_source = "(no source)"

    def __init__(self, options: Optional[DataOptions] = None) -> None:
        super().__init__(options)
        self.amounts: Optional[Counter[str]] = Counter()  # None once there are too many sources
        self.squares: Counter[str] = Counter()  # per source, sum of amount^2: the shares' intervals
        self.documents = 0
        self.unit = "tokens" if self.options.tokenizer is not None else "characters"

    def add(self, doc: Document) -> None:
        if doc.split != "train" or self.amounts is None:
            return
        amount = doc.tokens.total if doc.tokens is not None else len(doc.text)
        source = doc.source if doc.source is not None else self.no_source
        self.amounts[source] += amount
        self.squares[source] += amount * amount
        self.documents += 1
        if len(self.amounts) > self.max_sources:
            self.amounts = None
            self.squares = Counter()

    def merge(self, other: "DomainImbalance") -> None:
        if self.amounts is None or other.amounts is None:
            self.amounts = None
            self.squares = Counter()
            return
        self.amounts.update(other.amounts)
        self.squares.update(other.squares)
        self.documents += other.documents
        if len(self.amounts) > self.max_sources:
            self.amounts = None
            self.squares = Counter()

    def shares(self) -> list[tuple[str, float]]:
        """(source, share of the total) from the largest down."""
        if not self.amounts:
            return []
        total = sum(self.amounts.values()) or 1
        return [(source, amount / total) for source, amount in
                sorted(self.amounts.items(), key=lambda item: (-item[1], item[0]))]

    def share_estimate(self, source: str) -> Estimate:
        """A source's share with its interval: a ratio over documents (its amount, or 0, over the amount)."""
        amount, square = self.amounts[source], self.squares[source]
        sums = RatioSums(self.documents, amount, sum(self.amounts.values()), square,
                         sum(self.squares.values()), square)
        return sums.estimate(self.population)

    def estimates(self) -> dict[str, Estimate]:
        shares = self.shares()
        return {"largest_share": self.share_estimate(shares[0][0])} if shares and self.amounts else {}

    def stats(self) -> dict:
        if self.amounts is None:
            return {"sources": f"more than {self.max_sources:,}", "unit": self.unit}
        return {"sources": len(self.amounts), "unit": self.unit, "shares": dict(self.shares()[:20])}

    def findings(self) -> list[Finding]:
        if self.amounts is None:
            return [self.finding(f"--source-field {self.options.source_field!r} has more than {self.max_sources:,} "
                                 "distinct values: not a source label, so no shares were computed", None,
                                 hint="name the field that holds the source or domain of each document")]
        shares = self.shares()
        if len(shares) < 2 or shares[0][1] <= self.options.max_source_share:
            return []
        listed = ", ".join(f"{source} {100 * share:.1f}%" for source, share in shares[:5])
        more = f" and {len(shares) - 5} more" if len(shares) > 5 else ""
        largest = self.estimated(self.share_estimate(shares[0][0]), f"{100 * shares[0][1]:.1f}%")
        sampled = f" (from {self.documents:,} sampled documents)" if self.sampled else ""
        return [self.finding(
            f"source {shares[0][0]!r} holds {largest} of {self.unit}{sampled} "
            f"(limit {100 * self.options.max_source_share:.0f}%); shares: {listed}{more}", None,
            hint="sample sources to the mixture you want, or confirm it is intended and ignore PDD107")]
