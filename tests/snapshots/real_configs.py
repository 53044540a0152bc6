"""Pinned findings for every file of ../shared/real-configs, one snapshot per corpus folder.

Each line is `path:line: CODE severity slug  message` (path relative to real-configs). Every line
was reviewed by hand against the trainer's source or a paper; a finding that cannot be
defended is a bug to fix in the rule or adapter, never a line to accept.

Regenerate one folder after a deliberate change, then review the diff:
    .venv/bin/python -m tests.snapshots.real_configs olmo
"""

from __future__ import annotations

import sys
from pathlib import Path

from pretrain_doctor.check import check_paths
from pretrain_doctor.settings import CheckOptions

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "real-configs"
SNAPSHOTS = Path(__file__).resolve().parent / "real-configs"


def folders() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def render(folder: str) -> str:
    report = check_paths([CORPUS / folder], CheckOptions(use_settings=False))
    lines = []
    for result in sorted(report.files, key=lambda r: r.path):
        rel = Path(result.path).relative_to(CORPUS).as_posix()
        lines.append(f"# {rel} [{result.role}: {result.dialect}]")
    for error in report.errors:
        lines.append(f"ERROR {Path(error.file).relative_to(CORPUS).as_posix()}:{error.line}: {error.message}")
    for f in report.findings:
        rel = Path(f.file).relative_to(CORPUS).as_posix()
        lines.append(f"{rel}:{f.line if f.line is not None else '-'}: {f.code} {f.severity} {f.slug}  {f.message}")
    return "\n".join(lines) + "\n"


def snapshot_path(folder: str) -> Path:
    return SNAPSHOTS / f"{folder}.txt"


def main(argv: list[str]) -> int:
    for folder in argv or folders():
        snapshot_path(folder).write_text(render(folder), encoding="utf-8")
        print(f"wrote {snapshot_path(folder).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
