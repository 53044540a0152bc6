"""Import boundaries are performance requirements (architecture.md): the static commands and
`import pretrain_doctor` never import torch, transformers or tensorboard, not even indirectly.

Checked the way the spec states it: `python -X importtime ...` lists every module imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ready_config_folders

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("torch", "transformers", "tensorboard", "lightning", "pytorch_lightning")
# Every rule fixture at once: all dialects, all rules, tokenizer and model-config readers.
ALL_RULE_FIXTURES = ROOT / "fixtures" / "rules"


# `-X importtime` does not list modules loaded through importlib.import_module (rules,
# dialects), only what they import in turn; sys.modules at exit is the complete list.
# The command ends with os._exit (no atexit handlers), so the list is written there too.
RUNNER = """\
import atexit, os, runpy, sys
report, sys.argv = sys.argv[1], ["pretrain-doctor", *sys.argv[2:]]
def dump():
    open(report, "w").write("\\n".join(sorted(sys.modules)))
hard_exit = os._exit
os._exit = lambda status: (dump(), hard_exit(status))
atexit.register(dump)
runpy.run_module("pretrain_doctor", run_name="__main__") if sys.argv[1:] else __import__("pretrain_doctor")
"""


def imported_modules(*args: str, tmp_path: Path) -> set[str]:
    """Every module a run imports: the `-X importtime` list (as architecture.md states the
    requirement) joined with sys.modules at exit."""
    listing = tmp_path / "sys-modules.txt"
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", RUNNER, str(listing), *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    modules = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    modules |= set(listing.read_text().split())
    assert "pretrain_doctor" in modules
    return modules


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ["check", "--fail-on", "never", "fixtures/rules/PD105/bad.yaml"],
        ["check", "--fail-on", "never", "--format", "sarif", str(ALL_RULE_FIXTURES)],
        ["check", "--fail-on", "never", "--tokenizer", "fixtures/tokenizers/llama3-like",
         "--model-config", "fixtures/models/llama3-tiny/config.json", "fixtures/rules/PD502/good-eos-agree.yaml"],
        ["plan", "fixtures/rules/PD105/bad.yaml", "--format", "json"],
        ["rules"],
        ["explain", "PD105"],
        ["data", "--isolated", "--fail-on", "never", "--tokenizer", "fixtures/tokenizers/llama-like", "--seq-len", "64",
         "--padding", "longest", "--source-field", "source", "fixtures/corpus/tiny-stories.jsonl"],
    ],
    ids=["check-one", "check-all-fixtures", "check-tokenizer-and-model-files", "plan", "rules", "explain", "data"],
)
def test_static_commands_import_no_torch(command, tmp_path):
    modules = imported_modules(*command, tmp_path=tmp_path)
    assert heavy(modules) == []
    if command[0] == "check":
        assert "pretrain_doctor.builtin_rules.pd105_warmup_exceeds_training" in modules
    if command[0] == "data":
        assert {"pretrain_doctor.data.per_document", "tokenizers"} <= modules


@pytest.mark.slow
def test_check_of_real_configs_imports_no_torch(shared_dir, tmp_path):
    folders = [str(p) for p in ready_config_folders()]
    modules = imported_modules("check", "--fail-on", "never", *folders, tmp_path=tmp_path)
    assert heavy(modules) == []


@pytest.mark.slow
def test_import_pretrain_doctor_is_light(tmp_path):
    modules = imported_modules(tmp_path=tmp_path)
    assert heavy(modules) == []
    # Not even the CLI stack: `import pretrain_doctor` is for `attach`, which loads lazily.
    assert not {"typer", "pydantic", "yaml"} & {m.split(".")[0] for m in modules}


def test_the_heavy_check_would_notice():
    """The parser sees a forbidden module when there is one (guards against a vacuous pass)."""
    assert heavy({"torch._C", "pretrain_doctor", "transformers.models"}) == ["torch._C", "transformers.models"]
