"""Generate the README's rule index from the rule and detector docstrings.

    python -m pretrain_doctor.docs.rule_index --write README.md   # update in place
    python -m pretrain_doctor.docs.rule_index --check README.md   # exit 1 if stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

START = "<!-- rule-index:start -->"
END = "<!-- rule-index:end -->"


def index_markdown() -> str:
    from ..explain import all_checks

    lines = ["| code | slug | severity | what it catches |", "| --- | --- | --- | --- |"]
    for check in all_checks():
        summary = check.summary().replace("|", "\\|")
        lines.append(f"| {check.code} | `{check.slug}` | {check.severity} | {summary} |")
    return "\n".join(lines)


def with_index(text: str) -> str:
    """`text` with the block between the markers replaced by the current index."""
    if START not in text or END not in text:
        raise ValueError(f"the README lacks the markers {START} ... {END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{index_markdown()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="rewrite the index inside this file")
    group.add_argument("--check", type=Path, help="exit 1 if the index in this file is stale")
    args = parser.parse_args(argv)
    target = args.write or args.check
    current = target.read_text(encoding="utf-8")
    updated = with_index(current)
    if args.write:
        target.write_text(updated, encoding="utf-8")
        return 0
    if updated != current:
        print(f"{target}: the rule index is stale; run `make rule-index`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
