"""Round-trip editors: change a config's keys and keep its comments, key order and layout.

YAML through ruamel.yaml's round-trip mode, TOML through tomlkit, JSON through the standard
library (key order kept; JSON has no comments). Each editor applies key edits to the parsed
document, renders it, and `splice` puts only the changed lines back into the original text.
Python (nanoGPT) and shell (Megatron) configs have no editor: their values are code.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from ..config.document import KeyPath
from ..errors import DoctorError
from .splice import splice

EDITABLE_FORMATS = ("yaml", "json", "toml")
MISSING_EXTRA = "check --fix needs the `fix` extra: pip install 'pretrain-doctor[fix]'"


def fix_extra_installed() -> bool:
    """ruamel.yaml and tomlkit, the `fix` extra, are importable."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in ("ruamel", "tomlkit")) and find_spec("ruamel.yaml") is not None


class FixError(DoctorError):
    """An edit that cannot be made on this file (the file is left as it is)."""


class _Editor:
    """Key edits on a parsed document; `text()` is the original with those edits in place."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.data = self._parse(text)
        self.before = self._render()

    # -- the four edits -----------------------------------------------------------------
    def rename(self, path: KeyPath, new_name: str) -> None:
        parent = self._parent(path)
        if new_name in parent:
            raise FixError(f"`{new_name}` is already set")
        self._rename(parent, path[-1], new_name)

    def drop(self, path: KeyPath) -> None:
        del self._parent(path)[path[-1]]

    def set(self, path: KeyPath, value: Any) -> None:
        self._parent(path)[path[-1]] = value

    def add(self, path: KeyPath, value: Any) -> None:
        node = self.data
        for part in path[:-1]:
            if part not in node:
                node[part] = self._new_table()
            node = node[part]
            if not isinstance(node, dict):
                raise FixError(f"`{part}` is not a table")
        node[path[-1]] = value

    def text(self) -> str:
        return splice(self.original, self.before, self._render())

    # -- per format ---------------------------------------------------------------------
    def _parse(self, text: str) -> Any:
        raise NotImplementedError

    def _render(self) -> str:
        raise NotImplementedError

    def _new_table(self) -> Any:
        return {}

    def _rename(self, parent: Any, old: str, new: str) -> None:
        items = list(parent.items())
        parent.clear()
        parent.update((new if k == old else k, v) for k, v in items)

    def _parent(self, path: KeyPath) -> Any:
        node = self.data
        for part in path[:-1]:
            node = node[part]
        if not isinstance(node, (dict, list)) or (isinstance(node, dict) and path[-1] not in node):
            raise FixError(f"no key `{path[-1]}` there")
        return node


class YamlEditor(_Editor):
    def _parse(self, text: str) -> Any:
        try:
            from ruamel.yaml import YAML
            from ruamel.yaml.util import load_yaml_guess_indent
        except ImportError:
            raise FixError(MISSING_EXTRA) from None
        try:
            _, indent, block_seq_indent = load_yaml_guess_indent(text)
            self.yaml = YAML(typ="rt")
            self.yaml.preserve_quotes = True
            self.yaml.width = 1 << 20  # never fold a long line
            self.yaml.indent(mapping=indent or 2, sequence=(indent or 2) + (block_seq_indent or 0),
                             offset=block_seq_indent or 0)
            data = self.yaml.load(text)
        except Exception as exc:  # ruamel's errors have no common base; any of them means: not editable
            raise FixError(f"ruamel.yaml cannot read it round-trip ({type(exc).__name__})") from None
        if not isinstance(data, dict):
            raise FixError("not a mapping")
        return data

    def _render(self) -> str:
        stream = io.StringIO()
        self.yaml.dump(self.data, stream)
        return stream.getvalue()

    def _new_table(self) -> Any:
        from ruamel.yaml.comments import CommentedMap

        return CommentedMap()

    def add(self, path: KeyPath, value: Any) -> None:
        parent = self.data
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        last = list(parent)[-1] if isinstance(parent, dict) and parent else None
        super().add(path, value)
        if last is not None:
            self._move_trailing_comments(parent, last, path[-1])

    @staticmethod
    def _move_trailing_comments(mapping: Any, last: Any, new: Any) -> None:
        """ruamel keeps the comment lines after a mapping's last entry (they open what follows)
        on that entry; a key added after it must go before them, so they move to the new key."""
        token = (mapping.ca.items.get(last) or [None, None, None])[2]
        if token is None or "\n" not in token.value.rstrip("\n"):
            return
        from ruamel.yaml.error import CommentMark
        from ruamel.yaml.tokens import CommentToken

        own, rest = token.value.split("\n", 1)
        token.value = own + "\n"
        mapping.ca.items[new] = [None, None, CommentToken("\n" + rest, CommentMark(0), None), None]

    def _rename(self, parent: Any, old: str, new: str) -> None:
        position = list(parent).index(old)
        comment = parent.ca.items.pop(old, None)  # the end-of-line comment travels with the key
        value = parent.pop(old)
        parent.insert(position, new, value)
        if comment is not None:
            parent.ca.items[new] = comment


class TomlEditor(_Editor):
    def _parse(self, text: str) -> Any:
        try:
            import tomlkit
        except ImportError:
            raise FixError(MISSING_EXTRA) from None
        try:
            return tomlkit.parse(text)
        except Exception as exc:
            raise FixError(f"tomlkit cannot read it ({type(exc).__name__})") from None

    def _render(self) -> str:
        return self.data.as_string()

    def _new_table(self) -> Any:
        import tomlkit

        return tomlkit.table()

    def _rename(self, parent: Any, old: str, new: str) -> None:
        container = getattr(parent, "value", parent)  # a Table wraps its Container
        item = container.item(old)
        # tomlkit has no public rename. `_replace` (in every tomlkit from 0.12, the oldest allowed, to
        # 0.15) swaps the key in place and keeps the item with its comment and spacing; 0.15.3
        # dropped the `_insert_after` used before. tests/fix/test_editors.py runs it on each version.
        container._replace(old, new, item)


class JsonEditor:
    """JSON edited in its text: json.dumps knows one indent and would re-flow every array,
    so each edit replaces exactly the span of a key or value (found by `_spans`)."""

    def __init__(self, text: str) -> None:
        self.original = self.current = text
        try:
            _spans(text)
        except (ValueError, IndexError):
            raise FixError("not a JSON object") from None

    def rename(self, path: KeyPath, new_name: str) -> None:
        parent, member = self._member(path)
        if new_name in parent.members:
            raise FixError(f"`{new_name}` is already set")
        self._replace(member.key_start, member.key_end, json.dumps(new_name))

    def set(self, path: KeyPath, value: Any) -> None:
        _, member = self._member(path)
        self._replace(member.value_start, member.value_end, json.dumps(value))

    def drop(self, path: KeyPath) -> None:
        parent, member = self._member(path)
        names = list(parent.members)
        index = names.index(path[-1])
        if index + 1 < len(names):  # up to the next member: the comma goes, and the line if it was its own
            start, end = member.key_start, parent.members[names[index + 1]].key_start
            own_line = self.current[self._line_start(start):start].strip() == ""
            if own_line and "\n" in self.current[start:end]:
                start, end = self._line_start(start), self._line_start(end)
        elif index > 0:  # the last member: from the end of the one before (its comma) to our end
            start, end = parent.members[names[index - 1]].value_end, member.value_end
        else:
            start, end = parent.open + 1, parent.close
        self._replace(start, end, "")

    def add(self, path: KeyPath, value: Any) -> None:
        spans = _spans(self.current)
        node, depth = spans, 0
        for part in path[:-1]:
            if part not in node.members:
                break  # the rest of the path is created as nested objects
            child = node.members[part].object
            if child is None:
                raise FixError(f"`{part}` is not an object")
            node, depth = child, depth + 1
        self._add_member(node, path[depth:], value)

    def text(self) -> str:
        return self.current

    # -- text surgery -------------------------------------------------------------------
    def _add_member(self, node: "_JsonObject", rest: KeyPath, value: Any) -> None:
        for part in reversed(rest[1:]):
            value = {part: value}
        text = self.current
        names = list(node.members)
        if names:
            last = node.members[names[-1]]
            first = node.members[names[0]]
            line_start = self._line_start(first.key_start)
            pad = text[line_start:first.key_start]
            one_per_line = pad.strip() == "" and line_start > node.open
            newline = "\n" + pad if one_per_line else " "
            step = len(pad) // (node.depth + 1) if one_per_line else 0
            rendered = json.dumps(value, indent=step or None)
            if step:  # a new nested object is indented like its siblings
                rendered = rendered.replace("\n", "\n" + pad)
            insert = f",{newline}{json.dumps(rest[0])}: {rendered}"
            self._replace(last.value_end, last.value_end, insert)
        else:
            self._replace(node.open + 1, node.close, f"{json.dumps(rest[0])}: {json.dumps(value)}")

    def _member(self, path: KeyPath) -> tuple["_JsonObject", "_JsonMember"]:
        node = _spans(self.current)
        for part in path[:-1]:
            member = node.members.get(part)
            if member is None or member.object is None:
                raise FixError(f"no object `{part}` there")
            node = member.object
        if path[-1] not in node.members:
            raise FixError(f"no key `{path[-1]}` there")
        return node, node.members[path[-1]]

    def _line_start(self, index: int) -> int:
        return self.current.rfind("\n", 0, index) + 1

    def _replace(self, start: int, end: int, new: str) -> None:
        self.current = self.current[:start] + new + self.current[end:]


class _JsonMember:
    __slots__ = ("key_start", "key_end", "value_start", "value_end", "object")

    def __init__(self, key_start: int, key_end: int, value_start: int) -> None:
        self.key_start, self.key_end, self.value_start = key_start, key_end, value_start
        self.value_end = value_start
        self.object: "_JsonObject | None" = None


class _JsonObject:
    def __init__(self, open_at: int, depth: int) -> None:
        self.open, self.close, self.depth = open_at, open_at, depth
        self.members: dict[str, _JsonMember] = {}


_SPACE = re.compile(r"[ \t\n\r]*")


def _spans(text: str) -> _JsonObject:
    """Where every member of every object lies in `text` (arrays are skipped over whole)."""
    decoder = json.JSONDecoder()

    def obj(at: int, depth: int) -> _JsonObject:
        node = _JsonObject(at, depth)
        i = _SPACE.match(text, at + 1).end()
        while text[i] != "}":
            key, key_end = json.decoder.scanstring(text, i + 1)
            i = _SPACE.match(text, key_end).end() + 1  # the colon
            value_start = _SPACE.match(text, i).end()
            member = _JsonMember(_key_start(text, key_end), key_end, value_start)
            if text[value_start] == "{":
                member.object = obj(value_start, depth + 1)
                member.value_end = member.object.close + 1
            else:
                member.value_end = decoder.raw_decode(text, value_start)[1]
            node.members[key] = member
            i = _SPACE.match(text, member.value_end).end()
            if text[i] == ",":
                i = _SPACE.match(text, i + 1).end()
        node.close = i
        return node

    return obj(_SPACE.match(text).end(), 0)


def _key_start(text: str, key_end: int) -> int:
    """The opening quote of the string that ends (closing quote included) at `key_end`."""
    i = key_end - 2
    while i >= 0:
        if text[i] == '"':
            backslashes = len(text[:i]) - len(text[:i].rstrip("\\"))
            if backslashes % 2 == 0:
                return i
        i -= 1
    return 0


EDITORS = {"yaml": YamlEditor, "toml": TomlEditor, "json": JsonEditor}


def editor_for(fmt: str, text: str) -> _Editor:
    if fmt not in EDITORS:
        raise FixError(f"{fmt} configs are not edited by --fix")
    return EDITORS[fmt](text)
