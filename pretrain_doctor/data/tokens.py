"""Token counts of documents through a tokenizer.json and the `tokenizers` library (never
transformers): the total (special tokens included, as training sees it), unknown tokens
and byte-fallback tokens. Documents are encoded in batches (the library's own threads)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

from ..errors import UsageError
from .model import Document, TokenCounts

_BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")


class DocumentTokenizer:
    """Counts tokens of documents with the tokenizer at `location` (a folder or a tokenizer.json)."""

    def __init__(self, location: Path) -> None:
        path = location / "tokenizer.json" if location.is_dir() else location
        if not path.is_file():
            raise UsageError(f"{location}: no tokenizer.json there (the data checks read a fast tokenizer's "
                             "tokenizer.json; save one with tokenizer.save_pretrained)")
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise UsageError("--tokenizer needs the tokenizers package: pip install 'pretrain-doctor[data]'") from None
        try:
            self.tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # the library raises its own Exception type for a bad file
            raise UsageError(f"{path}: not a tokenizer.json the tokenizers library reads: {exc}") from None
        # What the file sets for encoding would change the counts: measure whole documents.
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        model = json.loads(path.read_text(encoding="utf-8")).get("model") or {}
        unk = model.get("unk_token")
        self.unknown_id: Optional[int] = self.tokenizer.token_to_id(unk) if isinstance(unk, str) else None
        self.byte_ids = _byte_ids(model) if model.get("byte_fallback") else None
        self.path = path
        # Without offsets (tokenizers >= 0.20): about 15% faster, and counts are all we need.
        self._encode_batch = getattr(self.tokenizer, "encode_batch_fast", self.tokenizer.encode_batch)

    def counts(self, encoding: Any) -> TokenCounts:
        ids = encoding.ids
        unknown = ids.count(self.unknown_id) if self.unknown_id is not None else 0
        byte_fallback = sum(map(self.byte_ids.__contains__, ids)) if self.byte_ids else 0
        return TokenCounts(len(ids), unknown, byte_fallback)

    def measure(self, docs: list[Document]) -> list[Document]:
        """The documents with their token counts (training documents only: eval ones stay as they are)."""
        train = [i for i, doc in enumerate(docs) if doc.split == "train"]
        if not train:
            return docs
        encodings = self._encode_batch([docs[i].text for i in train], add_special_tokens=True)
        measured = list(docs)
        for index, encoding in zip(train, encodings):
            measured[index] = replace(docs[index], tokens=self.counts(encoding))
        return measured


def _byte_ids(model: dict) -> Any:
    """The ids of the `<0x..>` tokens: a range when they are contiguous (they are in Llama's vocab)."""
    vocab = model.get("vocab") or {}
    items = vocab.items() if isinstance(vocab, dict) else ((entry[0], i) for i, entry in enumerate(vocab))
    ids = sorted(index for token, index in items if _BYTE_TOKEN.fullmatch(token))
    if ids and ids[-1] - ids[0] + 1 == len(ids):
        return range(ids[0], ids[-1] + 1)
    return frozenset(ids)
