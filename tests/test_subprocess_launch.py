"""A Python file that runs the training launch through subprocess or os.system (config/subprocess_launch.py)."""
from __future__ import annotations

from pathlib import Path

from pretrain_doctor.check.engine import check_paths
from pretrain_doctor.config.loader import is_launch_script_path, load_document
from pretrain_doctor.config.subprocess_launch import subprocess_launch
from pretrain_doctor.settings import CheckOptions

# held-out review 134, D 08 (an llm-foundry fork's scripts/local.py, the YAML path shortened)
LOCAL_PY = """\
import subprocess

subprocess.run(['composer', '--version'])

#subprocess.run(['composer', 'scripts/train/train.py', 'old.yaml', 'max_duration=20ba'])
subprocess.run(['composer', 'scripts/train/train.py','mpt-125m.yaml', 'data_local=/tmp/c4',
                'max_duration=10ba', 'eval_interval=0', 'save_folder=mpt-125m'])
"""


def test_the_one_training_command_stands_on_its_calls_line() -> None:
    launch = subprocess_launch(LOCAL_PY)
    assert launch is not None
    lines = launch.splitlines()
    assert lines[5].startswith("composer scripts/train/train.py mpt-125m.yaml data_local=/tmp/c4 max_duration=10ba")
    assert [line for number, line in enumerate(lines) if line and number != 5] == []  # `--version`, the comment: gone


def test_strings_lists_and_computed_words() -> None:
    shell = subprocess_launch("import os\nos.system('torchrun --nproc_per_node 8 train.py --lr 3e-4')\n")
    assert shell is not None and shell.splitlines()[1] == "torchrun --nproc_per_node 8 train.py --lr 3e-4"
    # a word the program computes is an unset variable: its value unknown, never a guess
    computed = subprocess_launch("from subprocess import run\nrun(['python', 'train.py', '--lr', str(lr), '--bf16'])\n")
    assert computed is not None and computed.splitlines()[1] == "python train.py --lr ${str_lr} --bf16"
    assert load_document_from(computed).unevaluated.get("--lr") is not None


def load_document_from(shell: str):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.sh"
        path.write_text(shell, encoding="utf-8")
        return load_document(path)


def test_no_launch_two_launches_or_no_literal_program_is_none() -> None:
    assert subprocess_launch("import subprocess\nsubprocess.run(['git', 'rev-parse', 'HEAD'])\n") is None
    assert subprocess_launch("import subprocess\nsubprocess.run(['python', 'evaluate.py', '--ckpt', 'x'])\n") is None
    two = "import os\nos.system('python train.py --lr 1')\nos.system('python train.py --lr 2')\n"
    assert subprocess_launch(two) is None  # a sweep, not the run
    assert subprocess_launch("import subprocess\nsubprocess.run([launcher, 'train.py'])\n") is None
    assert subprocess_launch("import subprocess\nsubprocess.run(['python', 'train.py'\n") is None  # not Python


def test_a_folder_checks_the_yaml_through_the_python_launch(tmp_path: Path) -> None:
    (tmp_path / "local.py").write_text(LOCAL_PY, encoding="utf-8")
    (tmp_path / "mpt-125m.yaml").write_text(
        "max_seq_len: 2048\nmodel:\n  name: mpt_causal_lm\n  d_model: 768\n  n_heads: 12\n  n_layers: 12\n"
        "  max_seq_len: ${max_seq_len}\n  vocab_size: 50368\noptimizer:\n  name: decoupled_adamw\n  lr: 6.0e-4\n"
        "scheduler:\n  name: cosine_with_warmup\n  t_warmup: 100ba\nmax_duration: 4800ba\n"
        "global_train_batch_size: 256\ndevice_train_microbatch_size: 16\nprecision: amp_bf16\n", encoding="utf-8")
    assert is_launch_script_path(tmp_path / "local.py")
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    roles = {Path(result.path).name: result.role for result in report.files}
    assert roles["mpt-125m.yaml"] == "companion"
    [launched] = [result for result in report.files if Path(result.path).name == "local.py"]
    assert launched.dialect == "llmfoundry"
    # the command line's `max_duration=10ba` over the file's 4800ba: the 100-batch warmup outlasts the run
    assert [f for f in report.findings if f.code == "PD105" and "only 10 optimizer steps" in f.message]
    assert not [f for f in report.findings if f.code == "PD801"]  # the 4,800-batch run without saving is not this one
