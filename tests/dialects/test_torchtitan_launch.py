"""torchtitan launch scripts: the TOML they name, with their `--section.key` overrides over it."""

from __future__ import annotations

import pytest

from .helpers import detected, notes, plan_of, write

_TOML = """\
[job]
dump_folder = "./outputs"

[model]
name = "llama3"
flavor = "8B"

[optimizer]
name = "AdamW"
lr = 3e-4

[lr_scheduler]
warmup_steps = 200

[training]
local_batch_size = 1
seq_len = 8192
steps = 1000
compile = false

[checkpoint]
enable = true
interval = 500
"""


def test_run_train_sh_with_config_file_in_the_environment(tmp_path) -> None:
    # torchtitan's README: `CONFIG_FILE="./train_configs/llama3_8b.toml" ./run_train.sh`, overrides after it
    write(tmp_path, "train_configs/llama3_8b.toml", _TOML)
    script = write(tmp_path, "launch.sh", 'CONFIG_FILE="./train_configs/llama3_8b.toml" NGPU=4 ./run_train.sh \\\n'
                                          '    --training.steps 3000 --optimizer.lr 1e-4 --training.compile\n')
    assert detected(script) == "torchtitan"
    plan = plan_of(script)
    assert plan.run.max_steps == 3000 and plan.sources["run.max_steps"].line == 2
    assert plan.optimizer.lr == pytest.approx(1e-4) and plan.model.name == "llama3 8B"
    # what the command line leaves alone is the TOML's, pointing into it
    assert plan.batch.seq_len == 8192 and plan.sources["batch.seq_len"].file.endswith("llama3_8b.toml")
    assert plan.parallel.world_size == 4 and plan.sources["parallel.world_size"].key == "NGPU"
    assert plan.program.config.endswith("llama3_8b.toml")


def test_a_fork_wrapper_with_job_config_file(tmp_path) -> None:
    # held-out review 103, C 08 (flame's scripts/*.sh): `bash train.sh --job.config_file ... --training.* ...`, every
    # setting of the run on the command line, `NNODE` (flame's spelling) and `NGPU` in front of it
    write(tmp_path, "flame/models/fla.toml", _TOML)
    script = write(tmp_path, "run_1b.sh", "NNODE=2 NGPU=8 LOG_RANK=0 bash train.sh \\\n"
                                          "  --job.config_file flame/models/fla.toml \\\n"
                                          "  --optimizer.lr 4e-4 \\\n  --lr_scheduler.warmup_steps 477 \\\n"
                                          "  --training.local_batch_size 2 \\\n  --training.steps 47684\n")
    plan = plan_of(script)
    assert (plan.optimizer.lr, plan.schedule.warmup_steps, plan.run.max_steps) == (4e-4, 477, 47684)
    assert plan.batch.micro_batch_size == 2 and plan.parallel.world_size == 16


def test_the_config_not_at_hand_leaves_its_settings_unknown(tmp_path) -> None:
    script = write(tmp_path, "run.sh", "NGPU=8 ./run_train.sh --job.config_file missing.toml --training.steps 10 "
                                       "--optimizer.lr 1e-4\n")
    plan = plan_of(script)
    assert plan.run.max_steps == 10 and plan.batch.seq_len is None
    assert "missing.toml" in plan.unknown["batch.seq_len"]


def test_a_value_left_to_launch_time_is_unknown(tmp_path) -> None:
    write(tmp_path, "fla.toml", _TOML)
    plan = plan_of(write(tmp_path, "run.sh", 'lr=$1\nNGPU=1 bash train.sh --job.config_file fla.toml '
                                             '--optimizer.lr $lr --training.steps 500\n'))
    assert plan.optimizer.lr is None and "launch-time value" in plan.unknown["optimizer.lr"]


def test_a_folder_checks_the_toml_through_its_launch(tmp_path) -> None:
    from pretrain_doctor.check.engine import check_paths

    write(tmp_path, "fla.toml", _TOML)
    write(tmp_path, "run.sh", "NGPU=8 bash train.sh --job.config_file fla.toml --training.steps 500 "
                              "--optimizer.lr 1e-4\n")
    report = check_paths([tmp_path])
    roles = {result.path.rsplit("/", 1)[-1]: result.role for result in report.files}
    assert roles["fla.toml"] == "companion"
    # one plan, the launch's: a finding on a key the TOML sets points into it, once
    assert len({(f.code, f.file, f.line) for f in report.findings}) == len(report.findings)


def test_one_dotted_flag_is_no_torchtitan_launch(tmp_path) -> None:
    script = write(tmp_path, "run.sh", "bash train.sh --training.steps 10 --lr 1e-4\n")
    assert detected(script) != "torchtitan"
    assert not [n for n in notes(plan_of(write(tmp_path, "ok.sh", "NGPU=8 ./run_train.sh --training.steps 10 "
                                                                  "--optimizer.lr 1e-4\n")), "ignored-key")
                if "environment" in n.message]


def test_fork_keys_the_command_line_passes_are_the_forks_own(tmp_path) -> None:
    # torchtitan's parser refuses `--training.varlen` unless the program's JobConfig has it: the fork defines them,
    # so what upstream would do with them is no finding (held-out review 103, C 10: flame's keys)
    fork = "[training]\ncontext_len = 2048\nvarlen = false\nskip_nan_inf = true\ngradient_accumulation_steps = 4\n"
    write(tmp_path, "fork.toml", _TOML.replace("[training]\n", fork, 1))
    plan = plan_of(write(tmp_path, "run.sh", "NGPU=8 bash train.sh --job.config_file fork.toml --training.varlen "
                                             "--training.context_len 4096 --training.steps 500\n"))
    assert not [n for n in notes(plan, "ignored-key") if n.data.get("dropped")]
    assert plan.batch.grad_accum == 4  # the fork's own accumulation key, read as its name says


def test_a_launch_of_a_python_recipe_leaves_what_the_recipe_sets_unknown(tmp_path) -> None:
    # held-out review 134, C 12 (torchtitan-zephon's run_training_smoke.sh, reduced): today's run_train.sh runs the
    # function `CONFIG` of module `MODULE` (no TOML); the TOML era's defaults were judged (a 200-step warmup "capped"
    # at 2, the debugmodel flavor, batch 8 × 2048) where the recipe sets its own
    script = write(tmp_path, "smoke.sh", "NGPU=2 MODULE=llama3 CONFIG=llama3_debugmodel ./run_train.sh \\\n"
                                         "    --checkpoint.enable --checkpoint.interval 1 --training.steps 2 \\\n"
                                         "    --optimizer.lr 1e-3\n")
    assert detected(script) == "torchtitan"
    plan = plan_of(script)
    assert plan.run.max_steps == 2 and plan.optimizer.lr == 1e-3 and plan.parallel.world_size == 2
    for field in ("schedule.warmup_steps", "batch.micro_batch_size", "batch.seq_len", "model.layers", "model.name"):
        assert "`llama3.llama3_debugmodel`, the Python recipe" in plan.unknown[field], field
    # the same launch with a TOML keeps the job config's reading
    write(tmp_path, "train_configs/llama3_8b.toml", _TOML)
    toml = plan_of(write(tmp_path, "toml.sh", "CONFIG_FILE=./train_configs/llama3_8b.toml NGPU=2 ./run_train.sh \\\n"
                                              "    --training.steps 2 --optimizer.lr 1e-3\n"))
    assert toml.schedule.warmup_steps == 2 and toml.model.layers == 32
