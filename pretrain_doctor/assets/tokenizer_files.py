"""Read a tokenizer from its files on disk, the way transformers would, without transformers.

A tokenizer folder as `save_pretrained` writes it holds `tokenizer.json` (the fast
tokenizer: vocab, added tokens, pre/post-processors), `tokenizer_config.json` (special
tokens, `added_tokens_decoder`, `chat_template`, `padding_side`, `model_max_length`,
`add_bos_token`), `special_tokens_map.json`, `added_tokens.json` and, for slow tokenizers,
`vocab.json` / `vocab.txt`, or a SentencePiece `tokenizer.model` (Llama-2-era folders ship
only that; reading it needs the optional `sentencepiece` package, without which the
vocabulary stays unknown). A bare `tokenizer.json` (OLMo ships them so) is read alone.

Everything is plain JSON, so checking a config never imports transformers or torch.
Ids and tokens follow transformers' conventions: `len()` is `len(tokenizer)` (added
tokens included) and a token's id is the same one `convert_tokens_to_ids` returns.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Optional

from ..errors import ConfigError

TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"
ADDED_TOKENS = "added_tokens.json"
SENTENCEPIECE_MODEL = "tokenizer.model"
VOCAB_FILES = ("vocab.json", "vocab.txt", SENTENCEPIECE_MODEL)
TOKENIZER_FILES = (TOKENIZER_JSON, TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP, ADDED_TOKENS, *VOCAB_FILES)
ROLES = ("bos", "eos", "pad", "unk")
# transformers' VERY_LARGE_INTEGER: what `model_max_length` says when nobody set it.
MODEL_MAX_LENGTH_SENTINEL = 1e6

# Names conventional for each role, used only when no file declares the role
# (a bare tokenizer.json such as OLMo's): they let a message name the token meant.
CONVENTIONAL_NAMES = {
    "eos": ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|eot_id|>", "<|im_end|>", "[SEP]", "<|end|>"),
    "bos": ("<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>", "[CLS]"),
    "pad": ("<|padding|>", "<pad>", "<|pad|>", "[PAD]", "<|finetune_right_pad_id|>"),
    "unk": ("<unk>", "[UNK]", "<|unk|>"),
}


class AddedToken(NamedTuple):
    id: int
    content: str
    special: bool


class TokenizerFiles:
    """What a tokenizer's files say: vocabulary, added tokens, special tokens and settings. A plain class: a
    dataclass costs ~0.3 ms to define on every `check`, which reads a tokenizer only when one is named."""

    def __init__(self, location: Path, files: Optional[dict[str, Path]] = None, vocab: Optional[dict[str, int]] = None,
                 added: Optional[dict[int, AddedToken]] = None, config: Optional[dict[str, Any]] = None,
                 special_map: Optional[dict[str, Any]] = None, tokenizer_json: Optional[dict[str, Any]] = None) -> None:
        self.location = location  # the folder, or the bare tokenizer.json
        self.files = files or {}  # file name -> path actually read
        self.vocab = vocab or {}  # the model's own vocabulary
        self.added = added or {}
        self.config = config or {}  # tokenizer_config.json
        self.special_map = special_map or {}  # special_tokens_map.json
        self.tokenizer_json = tokenizer_json or {}
        self._by_id: dict[int, str] = {index: token for token, index in self.vocab.items()}
        self._added_ids: dict[str, int] = {}
        for index, token in self.added.items():
            self._by_id[index] = token.content
            self._added_ids.setdefault(token.content, index)

    def __repr__(self) -> str:
        return f"TokenizerFiles({str(self.location)!r}, {len(self.vocab)} vocab, {len(self.added)} added)"

    # -- size -------------------------------------------------------------------------
    def __len__(self) -> int:
        """`len(tokenizer)`: distinct ids of the vocabulary and the added tokens."""
        return len(self._by_id)

    @property
    def max_id(self) -> Optional[int]:
        return max(self._by_id) if self._by_id else None

    @property
    def rows_needed(self) -> int:
        """Embedding rows every id needs: max(len, highest id + 1) (ids may have holes)."""
        return max(len(self), (self.max_id or -1) + 1)

    @property
    def vocabulary_known(self) -> bool:
        """Whether a vocabulary file was read: without one, the length and which tokens
        exist are unknown (only the added tokens and the declared specials are)."""
        return bool(self.vocab)

    @property
    def unread_vocabulary(self) -> Optional[str]:
        """What would supply the vocabulary when a file holds it that could not be read."""
        if not self.vocab and SENTENCEPIECE_MODEL in self.files:
            return "the sentencepiece package (to read tokenizer.model)"
        return None

    @property
    def base_vocab_size(self) -> int:
        """The model vocabulary alone (`tokenizer.vocab_size`), added tokens excluded."""
        return len(self.vocab)

    # -- ids and tokens ---------------------------------------------------------------
    def id_to_token(self, index: int) -> Optional[str]:
        return self._by_id.get(index)

    def token_to_id(self, token: str) -> Optional[int]:
        """An added token's id wins over the vocabulary's, as in transformers."""
        return self._added_ids.get(token, self.vocab.get(token))

    def describe_id(self, index: int) -> str:
        """`42 (`<|endoftext|>`)` for messages; says when the id is outside the vocabulary."""
        token = self.id_to_token(index)
        return f"{index} (`{token}`)" if token is not None else f"{index} (not in the tokenizer)"

    # -- special tokens ---------------------------------------------------------------
    def declared(self, role: str) -> Optional[str]:
        """The token a file declares for `role` (bos/eos/pad/unk), or None."""
        for source in (self.config, self.special_map):
            if f"{role}_token" in source:
                return _token_content(source[f"{role}_token"])
        return None

    def role_token(self, role: str) -> Optional[str]:
        """The declared token for `role`, or a conventional special token present here."""
        declared = self.declared(role)
        if declared is not None:
            return declared
        for name in CONVENTIONAL_NAMES.get(role, ()):
            if name in self.special_tokens:
                return name
        return None

    def role_id(self, role: str) -> Optional[int]:
        token = self.role_token(role)
        return None if token is None else self.token_to_id(token)

    @cached_property
    def special_tokens(self) -> set[str]:
        """Tokens marked special in any file, plus every declared role token."""
        found = {t.content for t in self.added.values() if t.special}
        for source in (self.config, self.special_map):
            for key, value in source.items():
                if key.endswith("_token") and value is not None:
                    content = _token_content(value)
                    if content:
                        found.add(content)
            for extra in source.get("additional_special_tokens") or ():
                content = _token_content(extra)
                if content:
                    found.add(content)
        return found

    def is_special(self, token: str) -> bool:
        return token in self.special_tokens

    def roles_of(self, token: str) -> list[str]:
        """The roles (bos/eos/pad/unk) whose declared or conventional token is `token`."""
        return [role for role in ROLES if self.role_token(role) == token]

    # -- settings ---------------------------------------------------------------------
    @property
    def padding_side(self) -> Optional[str]:
        side = self.config.get("padding_side")
        if side is None:
            direction = (self.tokenizer_json.get("padding") or {}).get("direction")
            side = {"Left": "left", "Right": "right"}.get(direction)
        return side if side in ("left", "right") else None

    @property
    def model_max_length(self) -> Optional[float]:
        value = self.config.get("model_max_length")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    @property
    def chat_template(self) -> Optional[str]:
        template = self.config.get("chat_template")
        if template is None and "chat_template.jinja" in self.files:
            template = self.files["chat_template.jinja"].read_text(encoding="utf-8")
        if isinstance(template, list):  # several named templates: the default one
            named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
            template = named.get("default") or next(iter(named.values()), None)
        return template if isinstance(template, str) else None

    @property
    def adds_bos(self) -> Optional[bool]:
        """Whether encoding a text prepends the BOS (`add_bos_token` or the post-processor)."""
        flag = self.config.get("add_bos_token")
        if isinstance(flag, bool):
            return flag
        if not self.tokenizer_json:
            return None
        bos = self.role_token("bos")
        first = _first_added_special(self.tokenizer_json.get("post_processor"))
        return first is not None and bos is not None and first == bos

    @property
    def returns_attention_mask(self) -> Optional[bool]:
        names = self.config.get("model_input_names")
        if isinstance(names, list):
            return "attention_mask" in names
        return None

    @property
    def model_type(self) -> Optional[str]:
        """BPE, WordPiece, Unigram or WordLevel (from tokenizer.json)."""
        model = self.tokenizer_json.get("model") or {}
        return model.get("type")

    @property
    def is_sentencepiece_style(self) -> bool:
        """A Metaspace (`▁`) pre-tokenizer: a word's tokens depend on what precedes it."""
        import json

        text = json.dumps([self.tokenizer_json.get("pre_tokenizer"), self.tokenizer_json.get("normalizer")],
                          ensure_ascii=False)
        return "Metaspace" in text or "\u2581" in text or (self.model_type == "Unigram")

    def file_for(self, key: str) -> Optional[Path]:
        """The file a setting was read from, for provenance."""
        if key == "chat_template" and "chat_template" not in self.config and "chat_template.jinja" in self.files:
            return self.files["chat_template.jinja"]
        if key in self.config:
            return self.files.get(TOKENIZER_CONFIG)
        if key in self.special_map:
            return self.files.get(SPECIAL_TOKENS_MAP)
        return self.files.get(TOKENIZER_JSON) or self.files.get(TOKENIZER_CONFIG)

    def encode(self, text: str) -> Optional[list[int]]:
        """Token ids of `text` without special tokens, via the `tokenizers` library when installed."""
        backend = _backend(str(self.files.get(TOKENIZER_JSON))) if TOKENIZER_JSON in self.files else None
        return None if backend is None else backend.encode(text, add_special_tokens=False).ids


def load_tokenizer_files(location: str | Path) -> TokenizerFiles:
    """Read the tokenizer at `location` (a folder, or a tokenizer JSON file). Cached per path and mtime."""
    path = Path(location).resolve()
    if not path.exists():
        raise ConfigError(f"tokenizer not found: {location}", str(location))
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in _candidate_files(path))
    return _load_cached(str(path), stamp)


def is_tokenizer_location(path: Path) -> bool:
    """A folder holding tokenizer files, or a tokenizer JSON file."""
    if path.is_dir():
        return any((path / name).is_file() for name in TOKENIZER_FILES)
    return path.is_file() and path.suffix == ".json" and _looks_like_tokenizer_json(path)


@lru_cache(maxsize=16)
def _load_cached(path: str, _stamp: tuple) -> TokenizerFiles:
    location = Path(path)
    files = {p.name if location.is_dir() else TOKENIZER_JSON: p for p in _candidate_files(location)}
    if not files:
        raise ConfigError(f"no tokenizer files ({', '.join(TOKENIZER_FILES)}) in {location}", str(location))
    tokenizer_json = _read_json(files[TOKENIZER_JSON]) if TOKENIZER_JSON in files else {}
    config = _read_json(files[TOKENIZER_CONFIG]) if TOKENIZER_CONFIG in files else {}
    special_map = _read_json(files[SPECIAL_TOKENS_MAP]) if SPECIAL_TOKENS_MAP in files else {}
    vocab = _model_vocab(tokenizer_json) if tokenizer_json else _slow_vocab(files)
    added = _added_tokens(tokenizer_json, config, files, special_map)
    return TokenizerFiles(location, files, vocab, added, config, special_map, tokenizer_json)


def _candidate_files(location: Path) -> list[Path]:
    if location.is_file():
        return [location]
    names = (*TOKENIZER_FILES, "chat_template.jinja")
    return [location / name for name in names if (location / name).is_file()]


def _read_json(path: Path) -> Any:
    import json  # only when the files are there: the decoder is ~6 M instructions of every `check` start

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {path.name}: {exc}", str(path)) from None


def _looks_like_tokenizer_json(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return '"model"' in head or '"added_tokens"' in head or '"truncation"' in head


def _model_vocab(tokenizer_json: dict) -> dict[str, int]:
    vocab = (tokenizer_json.get("model") or {}).get("vocab")
    if isinstance(vocab, dict):  # BPE, WordPiece, WordLevel
        if all(type(index) is int for index in vocab.values()):
            return vocab  # JSON keys are strings: no copy of a 50k-entry table (~20 ms)
        return {str(token): int(index) for token, index in vocab.items()}
    if isinstance(vocab, list):  # Unigram: [[piece, score], ...], the id is the position
        return {str(entry[0]): index for index, entry in enumerate(vocab)}
    return {}


def _slow_vocab(files: dict[str, Path]) -> dict[str, int]:
    if "vocab.json" in files:
        data = _read_json(files["vocab.json"])
        return {str(token): int(index) for token, index in data.items()} if isinstance(data, dict) else {}
    if "vocab.txt" in files:
        lines = files["vocab.txt"].read_text(encoding="utf-8").splitlines()
        return {line: index for index, line in enumerate(lines) if line}
    if SENTENCEPIECE_MODEL in files:
        return _sentencepiece_vocab(files[SENTENCEPIECE_MODEL])
    return {}


def _sentencepiece_vocab(path: Path) -> dict[str, int]:
    """The pieces of a SentencePiece model, each at its id; {} without `sentencepiece`."""
    try:
        import sentencepiece
    except ImportError:
        return {}
    try:
        processor = sentencepiece.SentencePieceProcessor(model_file=str(path))
    except (OSError, RuntimeError) as exc:  # RuntimeError: "could not parse ModelProto"
        raise ConfigError(f"cannot read {path.name}: {exc}", str(path)) from None
    return {processor.id_to_piece(index): index for index in range(processor.get_piece_size())}


def _added_tokens(tokenizer_json: dict, config: dict, files: dict[str, Path], special_map: dict) -> dict[int, AddedToken]:
    added: dict[int, AddedToken] = {}
    for entry in tokenizer_json.get("added_tokens") or ():
        added[int(entry["id"])] = AddedToken(int(entry["id"]), str(entry["content"]), bool(entry.get("special")))
    for index, entry in (config.get("added_tokens_decoder") or {}).items():
        if isinstance(entry, dict) and "content" in entry:
            added[int(index)] = AddedToken(int(index), str(entry["content"]), bool(entry.get("special")))
    if ADDED_TOKENS in files:
        extra = _read_json(files[ADDED_TOKENS])
        declared = set(_declared_contents(config) | _declared_contents(special_map))
        for content, index in (extra or {}).items():
            added.setdefault(int(index), AddedToken(int(index), str(content), content in declared))
    return added


def _declared_contents(source: dict) -> set[str]:
    found = {_token_content(v) for k, v in source.items() if k.endswith("_token") and v is not None}
    found |= {_token_content(v) for v in source.get("additional_special_tokens") or ()}
    return {c for c in found if c}


def _token_content(value: Any) -> Optional[str]:
    if isinstance(value, dict):  # {"content": "<s>", "lstrip": false, ...}
        value = value.get("content")
    return value if isinstance(value, str) else None


def _first_added_special(processor: Any) -> Optional[str]:
    """The special token a post-processor puts before a single sequence, if any."""
    if not isinstance(processor, dict):
        return None
    kind = processor.get("type")
    if kind == "Sequence":
        for inner in processor.get("processors") or ():
            found = _first_added_special(inner)
            if found is not None:
                return found
        return None
    if kind == "TemplateProcessing":
        single = processor.get("single") or []
        first = single[0] if single else {}
        special = first.get("SpecialToken") if isinstance(first, dict) else None
        return special.get("id") if isinstance(special, dict) else None
    if kind in ("BertProcessing", "RobertaProcessing"):
        cls = processor.get("cls")
        return cls[0] if isinstance(cls, list) and cls else None
    return None


@lru_cache(maxsize=8)
def _backend(path: str) -> Any:
    try:
        from tokenizers import Tokenizer  # optional: only to encode probe strings
    except ImportError:
        return None
    return Tokenizer.from_file(path)
