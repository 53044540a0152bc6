"""Put a re-serialised edit back into the original text, line by line.

A round-trip library re-emits the whole file in its own layout (ruamel.yaml re-indents
sequences and normalises flow spacing; `json.dumps` knows one indent). So the file is
emitted twice, before and after the edit; only the lines that differ between those two
replace the matching lines of the original, re-indented to the original's indentation.
Every other line, comments and odd layout included, stays byte for byte.
"""

from __future__ import annotations

from difflib import SequenceMatcher


def splice(original: str, before: str, after: str) -> str:
    """`original` with the change `before` -> `after` applied (both are one library's rendering)."""
    if original == before:
        return after
    old, new, base = original.splitlines(True), before.splitlines(True), after.splitlines(True)
    to_original = _line_map(new, old)
    edits = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, new, base, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        lo, hi = _original_range(i1, i2, to_original, len(old))
        indents = _indent_map(new, old, to_original, i1, i2)
        lines = [_reindent(line, indents) for line in base[j1:j2]]
        # A fix never deletes a comment line (ruff: a fix that drops comments is not safe).
        kept = [line for line in old[lo:hi] if _is_comment(line) and _norm(line) not in map(_norm, lines)]
        edits.append((lo, hi, kept + lines))
    for lo, hi, lines in sorted(edits, reverse=True):
        old[lo:hi] = lines
    text = "".join(old)
    if original.endswith("\n") and not text.endswith("\n"):
        text += "\n"
    return text


def _norm(line: str) -> str:
    return "".join(line.split())


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _line_map(rendered: list[str], original: list[str]) -> dict[int, int]:
    """Rendered line -> original line, for lines equal up to whitespace (re-indented, re-spaced)."""
    matcher = SequenceMatcher(None, [_norm(x) for x in rendered], [_norm(x) for x in original], autojunk=False)
    mapping = {}
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            mapping[a + k] = b + k
    return mapping


def _original_range(i1: int, i2: int, to_original: dict[int, int], length: int) -> tuple[int, int]:
    """The original lines that rendered lines [i1, i2) stand for (an empty range: where to insert)."""
    before = [to_original[i] for i in range(i1 - 1, -1, -1) if i in to_original][:1]
    after = [to_original[i] for i in range(i2, max(to_original, default=-1) + 1) if i in to_original][:1]
    lo = before[0] + 1 if before else 0
    hi = after[0] if after else length
    if i1 == i2:  # an insertion goes right after the line it follows
        return lo, lo
    # Lines of the hunk that are in the original bound it exactly (not the blank lines around them).
    lo = to_original.get(i1, lo)
    hi = to_original[i2 - 1] + 1 if i2 - 1 in to_original else hi
    return lo, max(lo, hi)


def _indent_map(rendered: list[str], original: list[str], to_original: dict[int, int], i1: int, i2: int
                ) -> dict[int, int]:
    """Rendered indentation -> original indentation, from the nearest mapped lines around the hunk."""
    indents: dict[int, int] = {}
    nearby = [*range(i1 - 1, -1, -1), *range(i2, len(rendered))]
    for i in nearby:
        if i in to_original and rendered[i].strip():
            indents.setdefault(_indent(rendered[i]), _indent(original[to_original[i]]))
    return indents


def _reindent(line: str, indents: dict[int, int]) -> str:
    depth = _indent(line)
    if not line.strip() or depth in indents:
        return " " * indents.get(depth, depth) + line.lstrip(" ") if line.strip() else line
    lower = [d for d in indents if d < depth]
    if not lower:
        return line
    nearest = max(lower)
    return " " * (indents[nearest] + depth - nearest) + line.lstrip(" ")
