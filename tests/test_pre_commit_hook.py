"""The pre-commit hooks in .pre-commit-hooks.yaml: `check --skip-non-configs` (the mode they run
in), which files they take, and pre-commit itself running them from this repository against a
temporary git repository, offline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from .conftest import FIXTURES, ROOT
from .test_cli import cli, write

MANIFEST = ROOT / ".pre-commit-hooks.yaml"
BAD = FIXTURES / "demo" / "pretrain-gpt2.yaml"  # PD601 error: seq_len 2048 > 1024 positions
GOOD = FIXTURES / "rules" / "PD601" / "good.yaml"  # infos only
WORKFLOW = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
MKDOCS_WITH_TAG = "site_name: x\nextra:\n  emoji: !!python/name:material.extensions.emoji.twemoji\n"


def _hooks() -> dict[str, dict]:
    return {hook["id"]: hook for hook in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))}


# -- check --skip-non-configs ---------------------------------------------------------------

def test_named_non_configs_are_exit_2_without_the_flag_and_skipped_with_it(tmp_path, capsys) -> None:
    workflow = write(tmp_path / "ci.yml", WORKFLOW)
    mkdocs = write(tmp_path / "mkdocs.yml", MKDOCS_WITH_TAG)
    assert cli(capsys, "check", str(workflow))[0] == 2
    assert cli(capsys, "check", str(mkdocs))[0] == 2
    code, out, err = cli(capsys, "check", "--skip-non-configs", str(workflow), str(mkdocs))
    assert code == 0, out + err
    assert "skipped: " + str(workflow) + " (not a training config" in out
    assert re.search(r"skipped: .*mkdocs\.yml \(not read: .*tag.*\(line 3\)\)", out)


def test_a_data_file_found_in_a_folder_is_skipped_and_named_is_exit_2(tmp_path, capsys) -> None:
    # held-out review 58, B 21: a nanoGPT fork's schedule (a JSON list of events) beside its config made the folder's
    # check exit 2; a file of data that is no mapping is no training config when a folder walk finds it
    write(tmp_path / "run" / "train.py", "learning_rate = 6e-4\nmax_iters = 1000\nn_layer = 2\nn_head = 2\n"
          "n_embd = 64\nbatch_size = 4\nblock_size = 64\n")
    events = write(tmp_path / "run" / "schedule.json", '[{"name": "set_lr", "value": 0.001}]\n')
    code, out, err = cli(capsys, "check", str(tmp_path / "run"))
    assert code in (0, 1), out + err
    assert re.search(r"skipped: .*schedule\.json \(not read: .*not a list", out)
    assert cli(capsys, "check", str(events))[0] == 2


def test_skip_non_configs_still_fails_on_the_configs_it_reads(tmp_path, capsys) -> None:
    workflow = write(tmp_path / "ci.yml", WORKFLOW)
    code, out, _ = cli(capsys, "check", "--skip-non-configs", str(workflow), str(BAD), str(GOOD))
    assert code == 1
    assert "PD601 error" in out and "2 files, 1 skipped" in out


def test_skip_non_configs_keeps_a_readable_configs_errors(tmp_path, capsys) -> None:
    """Only files that do not parse are skipped: a training config with a bad value is still checked, the value
    reported as an error at its line (since 95f3703 a bad value is a PD002 error, not a refusal of the file)."""
    broken = write(tmp_path / "train.yaml", "pretrain_doctor: 1\noptimizer: {lr: fast}\n")
    code, out, _ = cli(capsys, "check", "--skip-non-configs", str(broken))
    assert code == 1 and "skipped" not in out
    assert re.search(r"train\.yaml:2:\d+: PD002 error", out)


# -- the manifest -----------------------------------------------------------------------------

def test_manifest_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = load_manifest(str(MANIFEST))
    assert {hook["id"] for hook in hooks} == {"pretrain-doctor", "pretrain-doctor-scripts"}
    for hook in hooks:
        assert hook["entry"] == "pretrain-doctor check --skip-non-configs"
        assert hook["language"] == "python"


@pytest.mark.parametrize(("path", "taken"), [
    ("train.yaml", True), ("configs/sft/recipe.yml", True), ("ds_config.json", True), ("litgpt.toml", True),
    (".github/workflows/ci.yml", False), (".pre-commit-config.yaml", False), ("web/package.json", False),
    ("tok/tokenizer.json", False), ("tok/tokenizer_config.json", False), ("pyproject.toml", False),
    ("config/train_gpt2.py", False), ("README.md", False),
])
def test_main_hook_takes_configs_and_leaves_known_non_configs(path: str, taken: bool) -> None:
    hook = _hooks()["pretrain-doctor"]
    matched = bool(re.search(hook["files"], path)) and not re.search(hook["exclude"], path)
    assert matched is taken


def test_scripts_hook_takes_python_and_shell() -> None:
    hook = _hooks()["pretrain-doctor-scripts"]
    assert re.search(hook["files"], "config/train_gpt2.py")
    assert re.search(hook["files"], "examples/pretrain_gpt.sh")
    assert not re.search(hook["files"], "train.yaml")


# -- pre-commit running the hook from this repository -----------------------------------------

def _offline_env(home: Path) -> dict[str, str]:
    """pre-commit builds the hook's venv with `pip install .` from a clone of this repository.
    Offline, pip gets no index and installs the package alone (no dependencies, no build
    isolation); its dependencies come from the test venv through PYTHONPATH. A user's pre-commit
    installs them from the index as usual."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUALENV_", "PRE_COMMIT"))}
    env.update(
        PRE_COMMIT_HOME=str(home / "cache"), VIRTUALENV_OVERRIDE_APP_DATA=str(home / "virtualenv"),
        PIP_NO_INDEX="1", PIP_NO_DEPS="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONPATH=sysconfig.get_paths()["purelib"],
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
    )
    return env


@pytest.mark.slow
def test_pre_commit_runs_the_hook_from_this_repository(tmp_path) -> None:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("the checkout is not a git repository")
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    shutil.copy(BAD, repo / "bad.yaml")
    shutil.copy(GOOD, repo / "good.yaml")
    write(repo / ".github" / "workflows" / "ci.yml", WORKFLOW)
    write(repo / "mkdocs.yml", MKDOCS_WITH_TAG)
    write(repo / "package.json", '{"name": "web"}\n')
    env = _offline_env(tmp_path)

    def pre_commit(*files: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "pretrain-doctor", "--files", *files],
            cwd=repo, env=env, capture_output=True, text=True, timeout=600)

    failing = pre_commit("bad.yaml", "good.yaml", ".github/workflows/ci.yml")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert re.search(r"pretrain-doctor check\.+Failed", failing.stdout)
    assert "bad.yaml:26:3: PD601 error seq-len-exceeds-positions" in failing.stdout
    assert "ci.yml" not in failing.stdout.split("Failed", 1)[1]  # excluded by the manifest, never named

    passing = pre_commit("good.yaml", "mkdocs.yml", "package.json")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert re.search(r"pretrain-doctor check\.+Passed", passing.stdout)
