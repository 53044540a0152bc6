"""VS Code's launch.json read as the launch script it is (held-out review 43, A 26: refused as invalid JSON)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pretrain_doctor.check.engine import check_paths
from pretrain_doctor.config.loader import load_document
from pretrain_doctor.config.vscode_reader import strip_json_comments
from pretrain_doctor.errors import ConfigError
from pretrain_doctor.settings import CheckOptions

from .dialects.helpers import plan_of

LAUNCH = """{
    // Use IntelliSense to learn about possible attributes.
    "version": "0.2.0",
    "configurations": [
        {"name": "Current File", "type": "debugpy", "request": "launch", "program": "${file}"},
        {
            "name": "train",
            "type": "debugpy",
            "request": "launch",
            "module": "accelerate.commands.launch",
            "args": [
                "--num_processes", "4",
                "${workspaceFolder}/train.py",
                "recipes/sft.yaml",
                "--learning_rate=${input:lr}", /* asked for at launch */
                "--num_train_epochs", "3",
                "--output_dir", "out dir",
            ], // other args come after train.py
            "env": {"WANDB_MODE": "offline",},
        },
    ],
}
"""
RECIPE = ("model_name_or_path: Qwen/Qwen2.5-1.5B\nlearning_rate: 2.0e-5\nper_device_train_batch_size: 4\n"
          "bf16: true\nwarmup_ratio: 0.1\nlr_scheduler_type: cosine\n")


def _workspace(tmp_path: Path, launch: str = LAUNCH) -> Path:
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "launch.json").write_text(launch)
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "sft.yaml").write_text(RECIPE)
    return tmp_path / ".vscode" / "launch.json"


def test_comments_and_trailing_commas_become_spaces_in_place() -> None:
    text = '{"a": "x // not a comment", // one\n "b": [1, 2,], /* two\n */ "c": 3,}'
    plain = strip_json_comments(text)
    assert len(plain) == len(text) and plain.count("\n") == text.count("\n")
    assert plain.replace(" ", "") == '{"a":"x//notacomment",\n"b":[1,2],\n"c":3}'


def test_the_training_configuration_is_the_run_with_its_lines(tmp_path: Path) -> None:
    launch = _workspace(tmp_path)
    plan = plan_of(launch)
    assert plan.dialect == "hf"
    assert plan.program.path == str(tmp_path.resolve() / "train.py")
    assert plan.program.config == str(tmp_path.resolve() / "recipes" / "sft.yaml")
    assert plan.run.epochs == 3 and plan.sources["run.epochs"].line == 16  # the line launch.json writes "3" on
    assert plan.parallel.world_size == 4
    # `${input:lr}` is asked for when the debugger starts: the lr is the launch's, not the recipe's 2e-5
    assert plan.optimizer.lr is None and "input_lr" in plan.unknown["optimizer.lr"]
    assert plan.schedule.kind == "cosine" and plan.sources["schedule.kind"].file.endswith("sft.yaml")


def test_a_folder_check_reads_the_recipe_through_the_launch(tmp_path: Path) -> None:
    _workspace(tmp_path)
    report = check_paths([tmp_path / ".vscode" / "launch.json", tmp_path / "recipes"], CheckOptions(use_settings=False))
    assert [f.role for f in report.files if f.path.endswith("launch.json")] == ["config"]
    [recipe] = [f for f in report.files if f.path.endswith("sft.yaml")]
    assert recipe.role == "config"  # an HF program may take arguments of its own: the recipe is still checked
    assert not [f for f in report.findings if f.key == "learning_rate"]  # set on the launch's command line


def test_without_a_training_configuration_it_is_skipped_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "launch.json").write_text('{"configurations": [{"type": "debugpy", "program": "${file}"}]}')
    (tmp_path / "notes.yaml").write_text("title: x\n")
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    assert {f.role for f in report.files} == {"skipped"} and not report.findings


def test_only_launch_json_may_carry_comments(tmp_path: Path) -> None:
    # DeepSpeed and HfArgumentParser read their JSON with json.load: a comment there stops the run
    (tmp_path / "ds.json").write_text('{\n  // ZeRO-2\n  "zero_optimization": {"stage": 2}\n}\n')
    with pytest.raises(ConfigError, match="invalid JSON") as raised:
        load_document(tmp_path / "ds.json")
    assert raised.value.line == 2
    (tmp_path / "launch.json").write_text('{\n  "configurations": [\n    {"type": "debugpy" "program": "t.py"}\n  ]\n}\n')
    with pytest.raises(ConfigError, match="as VS Code reads it") as raised:
        load_document(tmp_path / "launch.json")
    assert raised.value.line == 3


def test_a_file_on_one_line_keeps_its_configurations_apart(tmp_path: Path) -> None:
    (tmp_path / "launch.json").write_text(
        '{"configurations": [{"type": "debugpy", "program": "${file}"}, {"type": "debugpy", "program": "train.py", '
        '"args": ["--learning_rate", "3e-4", "--max_steps", "1000", "--output_dir", "o"]}]}')
    plan = plan_of(tmp_path / "launch.json")
    assert plan.optimizer.lr == 3e-4 and plan.run.max_steps == 1000
