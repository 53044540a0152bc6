"""A README's fenced shell blocks read as the launch they show, when it is named or the run's only launch
(held-out reviews 90 D 10 and 91: the README held the run's only `deepspeed train.py ...` command)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pretrain_doctor.check.engine import check_paths, load_plan
from pretrain_doctor.config.markdown_reader import markdown_launch
from pretrain_doctor.errors import ConfigError
from pretrain_doctor.settings import CheckOptions

README = """# Fine-tuning

Install the requirements first:

```bash
pip install -r requirements.txt
```

Then train (8 GPUs):

```bash
deepspeed --num_gpus 8 train.py \\
    --model_name_or_path <path_to_model> \\
    --learning_rate 3e-3 \\
    --per_device_train_batch_size 4 \\
    --num_train_epochs 3 \\
    --bf16 True
```

Evaluate:

```console
$ python evaluate.py --checkpoint out
accuracy: 0.52
```

```python
trainer.train()
```
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shell_blocks_keep_their_lines_and_columns_and_nothing_else() -> None:
    launch = markdown_launch(README)
    assert launch is not None
    lines = launch.splitlines()
    assert len(lines) <= len(README.splitlines())
    assert lines[13] == "    --learning_rate 3e-3 \\"  # line 14 of the README, as written
    assert lines[12] == "    --model_name_or_path ${path_to_model} \\"  # a placeholder is an unset variable
    assert lines[22] == "  python evaluate.py --checkpoint out"  # the prompt blanked, the column kept
    assert "accuracy" not in launch and "trainer.train" not in launch and "Fine-tuning" not in launch


def test_a_readme_without_a_launch_shows_none() -> None:
    assert markdown_launch("# Title\n\n```bash\npip install -e .\n```\n") is None
    assert markdown_launch("Run `python train.py --lr 1e-3` in prose only.\n") is None


def test_a_named_readme_is_checked_as_its_launch(tmp_path: Path) -> None:
    readme = _write(tmp_path, "README.md", README)
    _, dialect, plan = load_plan(readme)
    assert dialect.name == "hf"
    assert plan.optimizer.lr == pytest.approx(3e-3)
    assert plan.parallel.world_size == 8
    assert plan.sources["optimizer.lr"].line == 14
    report = check_paths([readme], CheckOptions())
    assert not report.errors
    assert [(result.path, result.dialect) for result in report.files] == [(str(readme), "hf")]


def test_a_readme_is_the_launch_of_a_folder_that_has_no_launch_script(tmp_path: Path) -> None:
    readme = _write(tmp_path, "README.md", README)
    _write(tmp_path, "NOTES.md", "# Notes\n\n```bash\npip install flash-attn\n```\n")
    report = check_paths([tmp_path], CheckOptions())
    checked = {result.path for result in report.files}
    assert str(readme) in checked
    assert str(tmp_path / "NOTES.md") not in checked  # no launch in it: not a file of the run


def test_beside_a_launch_script_the_readme_is_left_alone(tmp_path: Path) -> None:
    _write(tmp_path, "README.md", README)
    _write(tmp_path, "train.sh", "deepspeed --num_gpus 8 train.py --model_name_or_path gpt2 --learning_rate 2e-5 "
                                 "--per_device_train_batch_size 4\n")
    report = check_paths([tmp_path], CheckOptions())
    assert str(tmp_path / "README.md") not in {result.path for result in report.files}
    assert all(f.file != str(tmp_path / "README.md") for f in report.findings)


def test_a_named_readme_without_a_launch_is_still_refused_as_a_document(tmp_path: Path) -> None:
    readme = _write(tmp_path, "README.md", "# Title\n\nNothing to run here.\n")
    with pytest.raises(ConfigError, match="a Markdown document whose shell blocks show no single training launch, not a config"):
        load_plan(readme)


def test_a_readme_whose_commands_launch_nothing_read_here_is_not_listed(tmp_path: Path) -> None:
    _write(tmp_path, "README.md", "# Data\n\n```bash\npython prepare_data.py --out data/\n```\n")
    _write(tmp_path, "config.yaml", "model_name_or_path: gpt2\nlearning_rate: 2.0e-5\nper_device_train_batch_size: 4\n")
    report = check_paths([tmp_path], CheckOptions())
    assert str(tmp_path / "README.md") not in {result.path for result in report.files}


def test_a_readme_that_runs_its_program_several_ways_is_no_one_launch() -> None:
    # held-out review 96, A 13: an SFT command, then two DPO runs of the same program: the reader took one of them
    pipeline = ("```\npython3 train_llm.py --sft --model_name sft --epochs 3\n```\n\n"
                "```\npython3 train_llm.py --dpo --pt_model_name sft --epochs 3\n"
                "python3 train_llm.py --dpo --pt_model_name sft --dpo_mmo 1 --epochs 3\n```\n\n"
                "```\npython3 eval_results.py results.csv --metric llm\n```\n")
    assert markdown_launch(pipeline) is None
    single = "```bash\ntorchrun --nproc_per_node 8 train.py --lr 1e-4\npython evaluate.py --ckpt out\n```\n"
    assert markdown_launch(single) is not None  # an evaluation beside it runs no training


_PIPELINE = ("# Runs\n\n```bash\nexport OUT=out\ntorchrun --nproc_per_node 8 train.py --model_name_or_path gpt2 \\\n"
             "    --learning_rate 2e-5 --output_dir $OUT/sft\n"
             "torchrun --nproc_per_node 4 train.py --model_name_or_path gpt2 --learning_rate 1e-5 \\\n"
             "    --output_dir $OUT/second\npython evaluate.py --ckpt $OUT/second\n```\n")


def test_each_launch_of_several_is_one_pick_with_the_others_blanked() -> None:
    from pretrain_doctor.config.markdown_reader import markdown_launches

    assert markdown_launches(_PIPELINE) == [5, 7]  # the lines the commands start on, continuations with them
    second = markdown_launch(_PIPELINE, 7).splitlines()
    assert second[4] == second[5] == ""  # the first launch, both its lines, blanked
    assert second[3] == "export OUT=out" and second[6].startswith("torchrun --nproc_per_node 4")
    assert markdown_launch(_PIPELINE, 6) is None  # a continuation line starts no command


@pytest.mark.parametrize("named", [True, False])
def test_a_readme_of_several_launches_is_checked_launch_by_launch(tmp_path: Path, named: bool) -> None:
    # held-out review 135, B 11: a README block of five launches was refused
    readme = _write(tmp_path, "README.md", _PIPELINE)
    report = check_paths([readme if named else tmp_path], CheckOptions())
    assert not report.errors
    assert [(result.path, result.dialect) for result in report.files] == [
        (f"{readme}::5", "hf"), (f"{readme}::7", "hf")]
    assert {f.file for f in report.findings} <= {str(readme)}  # findings point into the README itself
    assert all(f.line in (5, 6, 7, 8) for f in report.findings)  # each at its launch's lines
    _, _, second = load_plan(f"{readme}::7")
    assert second.optimizer.lr == pytest.approx(1e-5) and second.parallel.world_size == 4


def test_a_readme_of_several_launches_needs_a_pick_where_one_plan_is_asked(tmp_path: Path) -> None:
    readme = _write(tmp_path, "README.md", _PIPELINE)
    with pytest.raises(ConfigError, match=r"2 training launches .*lines 5, 7.*README\.md::LINE"):
        load_plan(readme)
    with pytest.raises(ConfigError, match="no training launch starts on line 6"):
        load_plan(f"{readme}::6")


def test_beside_a_launch_script_a_readme_of_several_launches_is_left_alone(tmp_path: Path) -> None:
    _write(tmp_path, "README.md", _PIPELINE)
    _write(tmp_path, "train.sh", "torchrun --nproc_per_node 8 train.py --model_name_or_path gpt2 --learning_rate 2e-5\n")
    report = check_paths([tmp_path], CheckOptions())
    assert [result.path for result in report.files] == [str(tmp_path / "train.sh")]
