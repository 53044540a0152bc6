"""`check --baseline OTHER` and `--baseline git:REF` feed PD102 (lr-batch-scaling)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pretrain_doctor.check import check_paths
from pretrain_doctor.cli import main
from pretrain_doctor.errors import UsageError
from pretrain_doctor.settings import CheckOptions

CONFIG = """pretrain_doctor: 1
seed: 1
optimizer: {{family: adamw, lr: 3.0e-4}}
schedule: {{kind: cosine, warmup_steps: 2000}}
batch: {{micro_batch_size: 8, grad_accum: {accum}, data_parallel: 16, seq_len: 2048}}
run: {{max_steps: 100000}}
"""


def _options(baseline: str) -> CheckOptions:
    return CheckOptions(use_settings=False, select=["PD102"], baseline=baseline)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "doctor@example.com")
    _git(tmp_path, "config", "user.name", "doctor")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "train.yaml").write_text(CONFIG.format(accum=4))
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "baseline")
    return tmp_path


def test_baseline_file(tmp_path: Path) -> None:
    (tmp_path / "old.yaml").write_text(CONFIG.format(accum=4))
    (tmp_path / "new.yaml").write_text(CONFIG.format(accum=1))
    report = check_paths([tmp_path / "new.yaml"], _options(str(tmp_path / "old.yaml")))
    assert not report.errors
    assert [f.code for f in report.findings] == ["PD102"]
    assert "old.yaml" in report.findings[0].message


def test_baseline_at_a_git_ref(repo: Path) -> None:
    config = repo / "configs" / "train.yaml"
    config.write_text(CONFIG.format(accum=1))  # the uncommitted edit cuts the batch 4x
    report = check_paths([config], _options("git:HEAD"))
    assert not report.errors
    assert [f.code for f in report.findings] == ["PD102"]
    assert "HEAD:" in report.findings[0].message


def test_unchanged_file_at_git_ref_is_silent(repo: Path) -> None:
    report = check_paths([repo / "configs" / "train.yaml"], _options("git:HEAD"))
    assert not report.errors and report.findings == []


def test_unknown_git_ref_is_an_input_error(repo: Path) -> None:
    report = check_paths([repo / "configs" / "train.yaml"], _options("git:no-such-ref"))
    assert len(report.errors) == 1
    assert "no-such-ref" in report.errors[0].file and "git" in report.errors[0].message


def test_option_like_ref_is_refused(repo: Path) -> None:
    with pytest.raises(UsageError):
        check_paths([repo / "configs" / "train.yaml"], _options("git:--output=/tmp/x"))


def test_cli_baseline_flag(tmp_path: Path, capsys) -> None:
    (tmp_path / "old.yaml").write_text(CONFIG.format(accum=4))
    (tmp_path / "new.yaml").write_text(CONFIG.format(accum=1))
    with pytest.raises(SystemExit) as exit_info:
        main(["check", str(tmp_path / "new.yaml"), "--isolated", "--select", "PD102", "--fail-on", "warning",
              "--baseline", str(tmp_path / "old.yaml")])
    assert exit_info.value.code == 1
    assert "PD102" in capsys.readouterr().out
