"""Text in, token blocks out, with nothing downloaded: the corpus, the tokenizer and the batches.

The corpus is `--data PATH` (text or JSONL, a file or a folder of them), else the config's
dataset when it is a local path, else the built-in generated corpus. The tokenizer is
`--tokenizer` (a folder or tokenizer.json), else the config's tokenizer when it is a local
path, else a byte-level BPE trained here with `tokenizers` and cached under `--out`.

Batches are a pure function of (seed, position): `Batches.batch(k)` is the k-th micro-batch
of this rank, so a checkpoint only has to remember k to resume on the same data.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from ..errors import UsageError
from . import corpus

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

    from ..plan.model import TrainingPlan
    from .spec import RunSpec

TEXT_SUFFIXES = (".txt", ".md", ".text")
JSON_SUFFIXES = (".jsonl", ".json")
# The trained tokenizer's special tokens; ids 0..3 in this order.
PAD, BOS, EOS, MASK = "<pad>", "<s>", "</s>", "<mask>"
SPECIALS = [PAD, BOS, EOS, MASK]


@dataclass
class Corpus:
    documents: list[str]
    origin: str  # what the trainer says about where the text came from


def load_corpus(data: Optional[Path], plan: "TrainingPlan", config_dir: Path) -> Corpus:
    """The training text: `--data`, else a local dataset path in the plan, else the built-in corpus."""
    if data is not None:
        if not data.exists():
            raise UsageError(f"--data {data}: no such file or folder")
        return Corpus(read_documents(data), f"{data} (--data)")
    for split in plan.data.train:
        local = _local_path(split.dataset, config_dir)
        if local is not None:
            documents = read_documents(local)
            if documents:
                return Corpus(documents, f"{local} (the config's dataset)")
    named = ", ".join(s.dataset for s in plan.data.train) or "none"
    if corpus.FIXTURE.is_file():
        return Corpus(read_documents(corpus.FIXTURE),
                      f"{corpus.FIXTURE.name}, the built-in generated corpus (config's dataset: {named}, not local)")
    return Corpus(corpus.stories(), f"the built-in generated corpus (config's dataset: {named}, not local)")


def _local_path(name: str, config_dir: Path) -> Optional[Path]:
    for candidate in (Path(name).expanduser(), config_dir / name):
        try:
            if candidate.exists() and (candidate.is_dir() or candidate.suffix.lower() in TEXT_SUFFIXES + JSON_SUFFIXES):
                return candidate
        except OSError:
            continue
    return None


def read_documents(path: Path) -> list[str]:
    """Documents from a text file (blank-line separated), JSONL (`text` field), or a folder of them."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in TEXT_SUFFIXES + JSON_SUFFIXES)
        return [doc for file in files for doc in read_documents(file)]
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if path.suffix.lower() in JSON_SUFFIXES:
        return _json_documents(raw, path)
    blocks = [block.strip() for block in raw.split("\n\n")]
    return [block for block in blocks if block]


def _json_documents(raw: str, path: Path) -> list[str]:
    try:
        rows = json.loads(raw) if path.suffix.lower() == ".json" else [
            json.loads(line) for line in raw.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if isinstance(rows, dict):
        rows = [rows]
    texts = [_text_of(row) for row in rows]
    return [text for text in texts if text]


def _text_of(row: object) -> Optional[str]:
    if isinstance(row, str):
        return row
    if isinstance(row, dict):
        for key in ("text", "content", "document", "sentence"):
            if isinstance(row.get(key), str):
                return row[key]
        strings = [v for v in row.values() if isinstance(v, str)]
        return " ".join(strings) if strings else None
    return None


# ----------------------------------------------------------------------------- tokenizer
@dataclass
class TokenizerInfo:
    tokenizer: "Tokenizer"
    origin: str
    pad_id: int
    bos_id: Optional[int]
    eos_id: int
    mask_id: Optional[int]

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)


def load_tokenizer(path: Optional[Path], plan: "TrainingPlan", documents: list[str], vocab: int,
                   cache_dir: Path, config_dir: Path) -> TokenizerInfo:
    """`--tokenizer`, else the config's local tokenizer, else one trained on `documents` (cached)."""
    from tokenizers import Tokenizer

    for candidate, why in ((path, "--tokenizer"), (_config_tokenizer(plan, config_dir), "the config's tokenizer")):
        if candidate is None:
            continue
        file = candidate / "tokenizer.json" if candidate.is_dir() else candidate
        if not file.is_file():
            if why == "--tokenizer":
                raise UsageError(f"--tokenizer {candidate}: no tokenizer.json there")
            continue
        try:
            tokenizer = Tokenizer.from_file(str(file))
        except Exception as exc:  # noqa: BLE001 - the tokenizers library raises its own Exception type
            raise UsageError(f"cannot read the tokenizer {file}: {exc}") from None
        return _with_ids(tokenizer, f"{file} ({why})", plan)
    return _with_ids(_trained(documents, vocab, cache_dir), "a byte-level BPE trained on the corpus", plan)


def _config_tokenizer(plan: "TrainingPlan", config_dir: Path) -> Optional[Path]:
    for name in (plan.tokenizer.path, plan.tokenizer.name):
        if name:
            for candidate in (Path(name).expanduser(), config_dir / name):
                if (candidate / "tokenizer.json").is_file() or candidate.name == "tokenizer.json" and candidate.is_file():
                    return candidate
    return None


def _trained(documents: list[str], vocab: int, cache_dir: Path) -> "Tokenizer":
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    digest = hashlib.sha256("\n\0".join(documents).encode("utf-8")).hexdigest()[:16]
    cached = cache_dir / f"tokenizer-bpe{vocab}-{digest}.json"
    if cached.is_file():
        return Tokenizer.from_file(str(cached))
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(documents, trainer=trainer)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = cached.with_suffix(f".tmp-{os.getpid()}")  # torchrun's ranks train it side by side
    tokenizer.save(str(temporary))
    temporary.replace(cached)
    return tokenizer


def _with_ids(tokenizer: "Tokenizer", origin: str, plan: "TrainingPlan") -> TokenizerInfo:
    """Special ids from the tokenizer; a plan whose pad token IS its eos token keeps that (PD503)."""
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    t = plan.tokenizer

    def find(*names: Optional[str]) -> Optional[int]:
        for name in names:
            if name is not None and name in vocab:
                return vocab[name]
        return None

    eos = find(t.eos_token, EOS, "</s>", "<|endoftext|>", "[SEP]", "<eos>")
    bos = find(t.bos_token, BOS, "<s>", "<|begin_of_text|>", "[CLS]", "<bos>")
    pad = find(t.pad_token, PAD, "<pad>", "[PAD]")
    mask = find(MASK, "<mask>", "[MASK]")
    if eos is None:
        eos = 0
    pad_is_eos = (t.pad_token is not None and t.pad_token == t.eos_token) or (
        t.pad_token_id is not None and t.pad_token_id == t.eos_token_id)
    if pad is None or pad_is_eos:
        pad = eos
    return TokenizerInfo(tokenizer, origin, pad_id=pad, bos_id=bos, eos_id=eos, mask_id=mask)


# ----------------------------------------------------------------------------- batches
@dataclass
class Examples:
    """Tokenized examples as fixed-length rows, with the rows' attention mask and labels."""

    input_ids: "torch.Tensor"  # [rows, seq]
    attention_mask: "torch.Tensor"
    labels: "torch.Tensor"  # -100 where no loss is taken
    position_ids: Optional["torch.Tensor"] = None  # restart at each document (packing + document mask)


def build_examples(documents: list[str], info: TokenizerInfo, spec: "RunSpec", label_masking: Optional[str]) -> Examples:
    """Packed blocks (documents joined by EOS) or one padded row per document, as the plan says."""
    import torch

    if spec.objective == "contrastive":
        documents = sentences(documents)
    encoded = [e.ids for e in info.tokenizer.encode_batch(documents, add_special_tokens=False)]
    seq = spec.seq_len
    if spec.objective == "contrastive" or not spec.packing:
        return _padded_rows(encoded, info, spec, label_masking)
    stream: list[int] = []
    starts: list[bool] = []  # where a document begins
    for ids in encoded:
        doc = ([info.bos_id] if info.bos_id is not None and spec.objective == "causal_lm" else []) + ids + [info.eos_id]
        stream.extend(doc)
        starts.extend([True] + [False] * (len(doc) - 1))
    rows = len(stream) // seq
    if rows < 1:
        raise UsageError(f"the corpus has {len(stream)} tokens, fewer than one sequence of {seq}")
    ids = torch.tensor(stream[: rows * seq], dtype=torch.long).view(rows, seq)
    position_ids, labels = None, ids.clone()
    if spec.document_mask:
        position_ids = _document_positions(torch.tensor(starts[: rows * seq]).view(rows, seq))
        # A document's first token is not predicted from the one before it (transformers'
        # DataCollatorWithFlattening does the same): no loss across the boundary either.
        labels[position_ids == 0] = -100
    return Examples(ids, torch.ones_like(ids), labels, position_ids)


def _document_positions(starts: "torch.Tensor") -> "torch.Tensor":
    """Position ids that restart at 0 with each document and at each row (the tail of a document
    cut by the row before is a document of its own in this row): the ids a block-diagonal mask
    is read from, and within the model's position range."""
    import torch

    starts = starts.clone()
    starts[:, 0] = True
    index = torch.arange(starts.shape[1]).expand_as(starts)
    return index - torch.where(starts, index, 0).cummax(-1).values


def sentences(documents: list[str]) -> list[str]:
    """The contrastive objective's examples: the distinct sentences, in order of first appearance
    (SimCSE trains on a million distinct Wikipedia sentences; a sentence twice in one batch is its
    own negative, a false negative no dropout view can separate)."""
    parts = (part.strip() for doc in documents for part in _SENTENCE_END.split(doc))
    return list(dict.fromkeys(part for part in parts if part))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _padded_rows(encoded: list[list[int]], info: TokenizerInfo, spec: "RunSpec",
                 label_masking: Optional[str]) -> Examples:
    import torch

    seq = spec.seq_len
    rows = []
    for ids in encoded:
        if not ids:
            continue
        ids = ids[: seq - 1] + [info.eos_id]
        rows.append(ids)
    if not rows:
        raise UsageError("the corpus has no text to train on")
    input_ids = torch.full((len(rows), seq), info.pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), seq), dtype=torch.long)
    labels = torch.full((len(rows), seq), -100, dtype=torch.long)
    for row, ids in enumerate(rows):
        span = slice(seq - len(ids), seq) if spec.padding_side == "left" else slice(0, len(ids))
        input_ids[row, span] = torch.tensor(ids)
        attention[row, span] = 1
        labels[row, span] = torch.tensor(ids)
    if label_masking == "pad_id":
        # HF DataCollatorForLanguageModeling: every token equal to the pad id loses its label,
        # the real EOS included when pad == eos (PD503: the model never learns to stop).
        labels = input_ids.clone()
        labels[input_ids == info.pad_id] = -100
    return Examples(input_ids, attention, labels)


class Batches:
    """The k-th micro-batch of this rank, as a pure function of the seed and k (an epoch is one
    seeded permutation of the rows), so resuming needs only k."""

    def __init__(self, examples: Examples, micro_batch: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        rows = examples.input_ids.shape[0]
        if rows < micro_batch * world_size:
            raise UsageError(f"the corpus gives {rows} sequences, fewer than one batch of "
                             f"{micro_batch} x {world_size} processes; pass more --data")
        self.examples = examples
        self.micro_batch, self.seed, self.rank, self.world_size = micro_batch, seed, rank, world_size
        self.per_epoch = rows // (micro_batch * world_size)
        self._order: tuple[int, Optional["torch.Tensor"]] = (-1, None)

    def batch(self, k: int) -> dict[str, "torch.Tensor"]:
        import torch

        epoch, within = divmod(k, self.per_epoch)
        if self._order[0] != epoch:
            # modulo 2**63: manual_seed takes a signed 64-bit seed, and configs carry large ones
            # (torchtitan's default is PyTorch's own 67280421310721)
            generator = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % 2**63)
            self._order = (epoch, torch.randperm(self.examples.input_ids.shape[0], generator=generator))
        order = self._order[1]
        assert order is not None
        start = (within * self.world_size + self.rank) * self.micro_batch
        index = order[start: start + self.micro_batch]
        out = {"input_ids": self.examples.input_ids[index], "attention_mask": self.examples.attention_mask[index],
               "labels": self.examples.labels[index]}
        if self.examples.position_ids is not None:
            out["position_ids"] = self.examples.position_ids[index]
        return out
