"""Generated corpora whose duplicate, near-duplicate, overlap, truncation and padding rates are known.

Tiny and fast: documents are words drawn from a made-up vocabulary, so two independent
documents share almost no 5-word shingle, and every planted relation is known exactly.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from pretrain_doctor.data.model import Document


def _vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    return sorted(words)


@dataclass
class Corpus:
    """Train (and eval) documents with the rates planted in them."""

    train: list[Document]
    eval: list[Document] = field(default_factory=list)
    exact_copies: int = 0  # train documents that are a copy of an earlier one
    near_copies: int = 0  # train documents with a few words changed from another
    eval_exact: int = 0  # eval documents copied whole into train
    eval_passage: int = 0  # eval documents sharing a 20-word passage with a train document
    lengths: list[int] = field(default_factory=list)  # words per train document

    @property
    def exact_rate(self) -> float:
        return self.exact_copies / len(self.train)

    @property
    def near_rate(self) -> float:
        return self.near_copies / len(self.train)

    def truncation_rate(self, seq_len: int) -> float:
        """Share of documents longer than seq_len words (one token per word)."""
        return sum(n > seq_len for n in self.lengths) / len(self.lengths)

    def padding_waste(self, seq_len: int) -> float:
        """Share of tokens that are padding when every document is padded to seq_len (max_length)."""
        real = sum(min(n, seq_len) for n in self.lengths)
        return 1 - real / (seq_len * len(self.lengths))

    def write_jsonl(self, path: Path, docs: Optional[list[Document]] = None) -> Path:
        with open(path, "w", encoding="utf-8") as out:
            for doc in self.train if docs is None else docs:
                out.write(json.dumps({"text": doc.text}) + "\n")
        return path


def generate(documents: int = 2000, *, exact_rate: float = 0.03, near_rate: float = 0.08, eval_docs: int = 0,
             eval_exact: int = 0, eval_passage: int = 0, min_words: int = 40, max_words: int = 400,
             seed: int = 0, path: str = "train.jsonl") -> Corpus:
    """A shuffled corpus of `documents` train documents: round(exact_rate * n) exact copies (some
    with changed case and spacing), round(near_rate * n) near copies (one word replaced in
    a document of at least 150 words: 5-shingle Jaccard >= 0.93), the rest unique."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)

    def text(n: int) -> list[str]:
        return rng.choices(vocab, k=n)

    n_exact = round(exact_rate * documents)
    n_near = round(near_rate * documents)
    originals = [text(rng.randint(min_words, max_words)) for _ in range(documents - n_exact - n_near)]
    long_ones = [w for w in originals if len(w) >= 150]
    near_sources = rng.sample(long_ones, n_near)
    words_of: list[list[str]] = list(originals)
    texts = [" ".join(w) for w in originals]
    for source in near_sources:
        changed = list(source)
        changed[rng.randrange(len(changed))] = rng.choice(vocab)
        words_of.append(changed)
        texts.append(" ".join(changed))
    for _ in range(n_exact):
        source = rng.choice(originals)
        words_of.append(source)
        copy = " ".join(source)
        texts.append(copy.upper() if rng.random() < 0.3 else copy.replace(" ", "  ", 3))
    order = list(range(len(texts)))
    rng.shuffle(order)
    train = [Document(texts[i], path, line + 1) for line, i in enumerate(order)]
    lengths = [len(words_of[i]) for i in order]

    evals = []
    picked = rng.sample(originals, eval_exact + eval_passage)
    for words in picked[:eval_exact]:
        evals.append(" ".join(words))
    for words in picked[eval_exact:]:
        start = rng.randrange(0, len(words) - 20)
        evals.append(" ".join(text(30) + words[start:start + 20] + text(30)))
    evals += [" ".join(text(rng.randint(min_words, 120))) for _ in range(eval_docs - len(evals))]
    eval_set = [Document(t, "eval.jsonl", i + 1, split="eval") for i, t in enumerate(evals)]
    return Corpus(train, eval_set, n_exact, n_near, eval_exact, eval_passage, lengths)
