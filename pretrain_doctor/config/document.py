"""A loaded config file: plain data plus the line of every key."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, NamedTuple, Optional

KeyPath = tuple[Any, ...]
# The key of a launch script's `launcher` that says some of its options are words the script leaves to run time
# (`torchrun $DISTRIBUTED_ARGS train.py`): none of them is assumed absent.
UNSEEN_OPTIONS = "<unseen options>"

_SUPPRESSION = re.compile(r"#\s*pretrain-doctor:\s*(ignore|ignore-file)\[([^\]]*)\]")


class Position(NamedTuple):
    line: int  # 1-based
    column: int  # 1-based
    file: Optional[str] = None  # another file's line, in a document merged from several (merge_documents)


class LazyPositions(Mapping[KeyPath, Position]):
    """Positions computed on first use: a folder walk reads many files (tokenizer JSON,
    companions) whose positions no finding ever needs."""

    def __init__(self, compute: Callable[[], dict[KeyPath, Position]]) -> None:
        self._compute = compute
        self._positions: dict[KeyPath, Position] | None = None

    def _loaded(self) -> dict[KeyPath, Position]:
        if self._positions is None:
            self._positions = self._compute()
        return self._positions

    def __getitem__(self, path: KeyPath) -> Position:
        return self._loaded()[path]

    def __iter__(self) -> Iterator[KeyPath]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


class DuplicateKey(NamedTuple):
    """A key one mapping of a YAML file sets twice: the loader keeps the last value, the first is lost."""

    path: KeyPath
    first_line: int
    last_line: int
    same_value: bool
    # The dropped (first) value is null or empty (`lora_target_modules:` left blank, then filled in below).
    dropped_empty: bool = False
    # `false`, then left blank (null): both off where the key is a flag.
    both_off: bool = False
    # The dropped value switches the feature off (`no`, `none`, `false`) and the kept one on (`steps`).
    turned_on: bool = False
    dropped: Any = None  # the dropped value itself


class Suppression(NamedTuple):
    """An inline `# pretrain-doctor: ignore[...]` comment."""

    line: int
    column: int
    file_wide: bool
    codes: tuple[str, ...]
    used: set[str]  # the codes it suppressed, filled as findings are matched (a set of its own each)

    def covers_line(self, line: int | None) -> bool:
        # A comment suppresses its own line and the line below it.
        return self.file_wide or (line is not None and line in (self.line, self.line + 1))


# How `Document.unevaluated` ends the text of a value a program computes itself (a Python program's
# `TrainingArguments(bf16=CONFIG['bf16'])`), set but unknown here, not left to launch time.
COMPUTED = ", computed by the program"


@dataclass
class Document:
    """One config file as data, with positions keyed by path (`("optimizer", "lr")`)."""

    path: str
    format: str  # yaml | json | toml | python | shell
    data: dict[str, Any]
    positions: Mapping[KeyPath, Position]
    text: str = ""
    suppressions: list[Suppression] = field(default_factory=list)
    # Python configs: names whose value is not a literal (calls, imports), with their source;
    # shell scripts: flags whose value the script does not determine, with their text.
    unevaluated: dict[str, str] = field(default_factory=dict)
    # YAML: keys a mapping repeats (the value kept is the last one).
    duplicates: list[DuplicateKey] = field(default_factory=list)

    def position(self, path: KeyPath) -> Position | None:
        """The position of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), 0, -1):
            found = self.positions.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def section(self, key: str) -> "Document":
        """The mapping under the top-level `key` as a document of its own (a wrapper's `train:` or `llamafactory:`
        section holding a trainer's whole config), its positions and repeated keys moved with it."""
        def positions() -> dict[KeyPath, Position]:
            return {path[1:]: where for path, where in self.positions.items() if path[:1] == (key,) and path[1:]}

        return replace(self, data=dict(self.data[key]), positions=LazyPositions(positions),
                       duplicates=[d._replace(path=d.path[1:]) for d in self.duplicates
                                   if d.path[:1] == (key,) and d.path[1:]])

    def get(self, path: KeyPath | str, default: Any = None) -> Any:
        node: Any = self.data
        for part in _as_path(path):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
                node = node[part]
            else:
                return default
        return node

    def has(self, path: KeyPath | str) -> bool:
        marker = object()
        return self.get(path, marker) is not marker

    def walk(self) -> Iterator[tuple[KeyPath, Any]]:
        """Every (path, value) pair, depth first, mappings and sequences included."""
        stack: list[tuple[KeyPath, Any]] = [((), self.data)]
        while stack:
            path, node = stack.pop()
            if path:
                yield path, node
            if isinstance(node, dict):
                stack.extend((path + (k,), v) for k, v in reversed(list(node.items())))
            elif isinstance(node, list):
                stack.extend((path + (i,), v) for i, v in reversed(list(enumerate(node))))


def _as_path(path: KeyPath | str) -> KeyPath:
    return tuple(path.split(".")) if isinstance(path, str) else tuple(path)


def dotted(path: KeyPath) -> str:
    """`("optimizer", "betas", 1)` -> `optimizer.betas[1]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def scan_suppressions(text: str) -> list[Suppression]:
    found = []
    # Lines as the parsers count them: str.splitlines would also split at U+2028 inside a string.
    for number, line in enumerate(text.split("\n"), start=1):
        for match in _SUPPRESSION.finditer(line):
            codes = tuple(c.strip() for c in match.group(2).split(",") if c.strip())
            found.append(
                Suppression(
                    line=number,
                    column=match.start() + 1,
                    file_wide=match.group(1) == "ignore-file",
                    codes=codes,
                    used=set(),
                )
            )
    return found


def merge_documents(docs: list[Document], primary: Document) -> Document:
    """Files of one run merged in the order given, as OmegaConf merges an overlay onto its base (OLMo's
    `base.yaml+model.yaml`): mappings merge key by key, any other value of a later file replaces the earlier one.
    Each position keeps the file it came from; `primary` gives the path, text and suppressions. The repeated keys
    of the other files are theirs to report, not the merged document's."""
    data: dict[str, Any] = {}
    positions: dict[KeyPath, Position] = {}
    for doc in docs:
        _merge_into(data, doc.data)
        positions.update({path: pos if pos.file else pos._replace(file=doc.path) for path, pos in doc.positions.items()})
    return Document(path=primary.path, format=primary.format, data=data, positions=positions, text=primary.text,
                    suppressions=primary.suppressions, unevaluated=dict(primary.unevaluated),
                    duplicates=list(primary.duplicates))


def _merge_into(target: dict[str, Any], overlay: dict[str, Any]) -> None:
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
