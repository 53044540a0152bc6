"""Rule fixtures: `fixtures/rules/<CODE>/{bad,good}*.{yaml,yml,json,toml,py,sh}`.

A fixture may start with comment lines that steer its test:
  # check-args: world_size=8 dataset_rows=10000 dialect=hf baseline=rules/PD102/baseline.yaml
  # check-args: trainer_versions=trl=0.18,transformers=4.46
  # expect: error            (bad fixtures: the severity the finding must have)
JSON fixtures take the same lines from a sidecar `<name>.args` file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pretrain_doctor.settings import CheckOptions

RULE_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rules"
SUFFIXES = {".yaml", ".yml", ".json", ".toml", ".py", ".sh"}
_DIRECTIVE = re.compile(r"^\s*#\s*(check-args|expect):\s*(.*?)\s*$")


@dataclass
class RuleCase:
    code: str
    path: Path
    bad: bool
    options: CheckOptions
    expect_severity: str | None = None
    args: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.code}/{self.path.name}"


def _directives(path: Path) -> list[tuple[str, str]]:
    sidecar = path.with_name(path.name + ".args")
    text = sidecar.read_text() if sidecar.exists() else path.read_text()
    found = []
    for line in text.splitlines()[:10]:
        match = _DIRECTIVE.match(line)
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def _options(args: dict) -> CheckOptions:
    options = CheckOptions(use_settings=False)
    for key, value in args.items():
        if key in ("world_size", "dataset_rows"):
            setattr(options, key, int(value))
        elif key in ("tokenizer", "model_config", "accelerate_config"):
            setattr(options, key, RULE_FIXTURES.parent / value)
        elif key == "baseline":  # a config to compare with (PD102), relative to fixtures/
            options.baseline = str(RULE_FIXTURES.parent / value)
        elif key == "dialect":
            options.dialect = value
        elif key == "trainer_versions":  # trainer_versions=trl=0.18,transformers=4.46
            from pretrain_doctor.dialects.versions import parse_assignments

            options.trainer_versions = parse_assignments(value.split(","))
        else:
            raise ValueError(f"unknown check-args key {key!r}")
    return options


def all_cases() -> list[RuleCase]:
    cases = []
    for folder in sorted(p for p in RULE_FIXTURES.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.suffix not in SUFFIXES or not path.name.startswith(("bad", "good")):
                continue
            args, expect = {}, None
            for kind, value in _directives(path):
                if kind == "check-args":
                    args.update(dict(item.split("=", 1) for item in value.split()))
                else:
                    expect = value
            cases.append(RuleCase(folder.name, path, path.name.startswith("bad"), _options(args), expect, args))
    return cases
