"""The console entry point ends the process with os._exit after flushing: nothing the
command printed or wrote may be lost, and the exit code is the command's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "fixtures" / "rules" / "PD105" / "bad.yaml"
GOOD = ROOT / "fixtures" / "rules" / "PD105" / "good.yaml"


def command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pretrain_doctor", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_findings_exit_1_with_the_whole_report_flushed():
    result = command("check", "--format", "json", str(BAD))
    assert result.returncode == 1
    report = json.loads(result.stdout)  # complete: a lost buffer would not parse
    assert "PD105" in [f["code"] for f in report["findings"]]


def test_clean_config_exits_0_and_report_file_is_complete(tmp_path):
    target = tmp_path / "report.sarif"
    result = command("check", "--format", "sarif", "--output", str(target), str(GOOD))
    assert result.returncode == 0
    assert json.loads(target.read_text())["version"] == "2.1.0"


def test_unreadable_input_exits_2_naming_the_file(tmp_path):
    result = command("check", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    assert "missing.yaml: no such file" in result.stdout and "Traceback" not in result.stderr


@pytest.mark.parametrize(("code", "status", "stderr"), [(None, 0, ""), (3, 3, ""), ("bye", 1, "bye\n")])
def test_exit_codes_read_like_sys_exit(code, status, stderr):
    script = f"from pretrain_doctor.__main__ import _exit_now; print('out', end=''); _exit_now({code!r})"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (status, "out", stderr)
