"""torchtitan's Python recipes (`def llama3_8b() -> Trainer.Config`), read with `ast` into the TOML layout the
torchtitan dialect reads: values, their lines, the `FILE.py::RECIPE` pick, and what stays unknown."""

from __future__ import annotations

import pytest

from pretrain_doctor.check.engine import CheckOptions, check_paths
from pretrain_doctor.config.loader import load_document
from pretrain_doctor.config.torchtitan_recipe import is_torchtitan_recipe_module, recipe_names
from pretrain_doctor.errors import ConfigError

from .helpers import detected, findings, judged, plan_of, write

# A reduced upstream-style registry (torchtitan/models/llama3/config_registry.py at b5bcd76): the family is the
# folder `model_registry` is imported from.
REGISTRY = "torchtitan/models/llama3/config_registry.py"
IMPORTS = """
from torchtitan.components.checkpointer import CheckpointManager
from torchtitan.components.optimizer import default_adamw, LRSchedulersContainer
from torchtitan.components.validate import Validator
from torchtitan.config import CompileConfig, DebugConfig, ParallelismConfig, TrainingConfig
from torchtitan.distributed.activation_checkpoint import SelectiveAC
from torchtitan.trainer import Trainer

from . import model_registry
"""
LLAMA3_8B = IMPORTS + """

def llama3_8b() -> Trainer.Config:
    model_spec = model_registry("8B")
    return Trainer.Config(
        hf_assets_path="./assets/hf/Llama-3.1-8B",
        model_spec=model_spec,
        optimizer=default_adamw(lr=3e-4),
        lr_scheduler=LRSchedulersContainer.Config(warmup_steps=50, decay_ratio=0.2, decay_type="cosine"),
        training=TrainingConfig(
            num_tokens_per_microbatch_per_dp_rank=2 * 8192,
            max_context_length=8192,
            steps=1000,
        ),
        parallelism=ParallelismConfig(data_parallel_shard_degree=4, tensor_parallel_degree=2),
        checkpoint=CheckpointManager.Config(enable=True, interval=250),
        activation_checkpoint=SelectiveAC.Config(),
        compile=CompileConfig(enable=True),
        validator=Validator.Config(enable=True, freq=500, steps=20),
    )
"""


def _line(text: str, fragment: str) -> int:
    """The 1-based line of the file `write` makes from `text` that holds `fragment`."""
    lines = text.lstrip().splitlines()
    return next(i for i, line in enumerate(lines, 1) if fragment in line)


def test_a_recipe_is_read_into_the_job_config_tables(tmp_path) -> None:
    doc = load_document(write(tmp_path, REGISTRY, LLAMA3_8B))
    assert doc.format == "python" and doc.data["recipe"] == "llama3_8b"
    assert doc.data["model"] == {"name": "llama3", "flavor": "8B", "hf_assets_path": "./assets/hf/Llama-3.1-8B"}
    assert doc.data["optimizer"] == {"name": "AdamW", "lr": 3e-4}
    assert doc.data["training"] == {"seq_len": 8192, "steps": 1000, "local_batch_size": 2}
    assert doc.data["lr_scheduler"] == {"warmup_steps": 50, "decay_ratio": 0.2, "decay_type": "cosine"}
    assert doc.data["checkpoint"] == {"enable": True, "interval": 250}
    assert doc.data["validation"] == {"enable": True, "freq": 500, "steps": 20}
    assert doc.data["activation_checkpoint"] == {"mode": "selective"} and doc.data["compile"] == {"enable": True}
    assert doc.position(("training", "steps")).line == _line(LLAMA3_8B, "steps=1000")
    assert doc.unevaluated == {}


def test_an_unknown_call_leaves_its_key_unevaluated(tmp_path) -> None:
    doc = load_document(write(tmp_path, REGISTRY, LLAMA3_8B.replace("steps=1000,", "steps=steps_for_budget(),")))
    assert "steps" not in doc.data["training"] and "steps_for_budget()" in doc.unevaluated["training.steps"]


def test_a_module_of_one_recipe_is_read_as_that_recipe(tmp_path) -> None:
    path = write(tmp_path, REGISTRY, LLAMA3_8B)
    assert detected(path) == "torchtitan"
    plan = plan_of(path)
    assert plan.model.parameters == 8_030_000_000 and plan.model.layers == 32
    assert plan.optimizer.lr == pytest.approx(3e-4) and plan.optimizer.family == "adamw"
    assert plan.schedule.warmup_steps == 50 and plan.run.max_steps == 1000 and plan.schedule.kind == "wsd"
    assert plan.batch.seq_len == 8192 and plan.batch.micro_batch_size == 2  # 16,384 tokens in 8,192-token rows
    assert plan.checkpoint.enabled is True and plan.checkpoint.interval_steps == 250
    assert plan.parallel.data_shard == 4 and plan.parallel.tensor == 2
    assert plan.eval.enabled is True and plan.eval.interval_steps == 500
    # each value points at the keyword that wrote it
    assert plan.sources["optimizer.lr"].line == _line(LLAMA3_8B, "default_adamw(lr=3e-4)")
    assert plan.sources["batch.micro_batch_size"].line == _line(LLAMA3_8B, "num_tokens_per_microbatch_per_dp_rank")
    assert plan.sources["parallel.tensor"].line == _line(LLAMA3_8B, "tensor_parallel_degree=2")
    doc = load_document(path)
    assert doc.data["recipe"] == "llama3_8b"
    assert doc.data["activation_checkpoint"] == {"mode": "selective"} and doc.data["compile"] == {"enable": True}


def test_no_unknown_key_finding_on_the_names_the_reader_maps(tmp_path) -> None:
    # `checkpoint.enable` and `debug.seed` are no keys of torchtitan 0.1.0's TOML tables (version tables in
    # torchtitan_keys.py); in a recipe they are the reader's names for what the Python sets, not keys to judge
    text = LLAMA3_8B.replace("        validator=", "        debug=DebugConfig(seed=7),\n        validator=")
    plan = plan_of(write(tmp_path, REGISTRY, text), trainer_versions=judged("torchtitan=0.1.0"))
    assert plan.seed == 7 and plan.checkpoint.enabled is True
    assert findings(plan, "PD002") == []
    toml = plan_of(write(tmp_path, "job.toml", """
        [model]
        name = "llama3"
        flavor = "8B"
        [training]
        steps = 1000
        [optimizer]
        lr = 3e-4
        [checkpoint]
        enable = true
        [debug]
        seed = 7
        """), trainer_versions=judged("torchtitan=0.1.0"))
    assert findings(toml, "PD002")  # the same names, judged where they are a file's keys


SEVERAL = LLAMA3_8B + """

def llama3_8b_long() -> Trainer.Config:
    config = llama3_8b()
    config.training.steps = 100
    config.parallelism.tensor_parallel_degree = 4
    return config
"""


def test_several_recipes_are_refused_without_a_pick_and_read_with_one(tmp_path) -> None:
    path = write(tmp_path, REGISTRY, SEVERAL)
    assert recipe_names(SEVERAL) == ["llama3_8b", "llama3_8b_long"]
    with pytest.raises(ConfigError) as refused:
        load_document(path)
    assert refused.value.skippable
    assert "`llama3_8b`, `llama3_8b_long`" in refused.value.message
    assert "`config_registry.py::RECIPE`" in refused.value.message
    picked = load_document(f"{path}::llama3_8b")
    assert picked.data["recipe"] == "llama3_8b" and picked.path == str(path)
    assert picked.data["training"]["steps"] == 1000 and picked.data["parallelism"]["tensor_parallel_degree"] == 2
    with pytest.raises(ConfigError) as wrong:
        load_document(f"{path}::llama3_9b")
    assert not getattr(wrong.value, "skippable", False) and "no recipe `llama3_9b`" in wrong.value.message


def test_the_refusal_lists_eight_recipes_at_most(tmp_path) -> None:
    text = IMPORTS + "".join(f"\n\ndef r{i}() -> Trainer.Config:\n    return Trainer.Config()\n" for i in range(10))
    with pytest.raises(ConfigError) as refused:
        load_document(write(tmp_path, "many.py", text))
    assert "`r7`, …" in refused.value.message and "`r8`" not in refused.value.message


def test_a_derived_recipe_changes_what_its_base_sets(tmp_path) -> None:
    path = write(tmp_path, REGISTRY, SEVERAL)
    plan = plan_of(f"{path}::llama3_8b_long")  # type: ignore[arg-type]
    assert plan.run.max_steps == 100 and plan.sources["run.max_steps"].line == _line(SEVERAL, ".steps = 100")
    assert plan.parallel.tensor == 4 and plan.parallel.data_shard == 4
    assert plan.optimizer.lr == pytest.approx(3e-4)  # the base recipe's
    assert plan.sources["optimizer.lr"].line == _line(SEVERAL, "default_adamw(lr=3e-4)")


def test_arithmetic_reads_what_the_recipe_set_before(tmp_path) -> None:
    text = LLAMA3_8B + """

def llama3_8b_twice() -> Trainer.Config:
    config = llama3_8b()
    config.training.steps *= 2
    config.lr_scheduler.warmup_steps = config.training.steps // 10
    return config
"""
    doc = load_document(f"{write(tmp_path, REGISTRY, text)}::llama3_8b_twice")
    assert doc.data["training"]["steps"] == 2000 and doc.data["lr_scheduler"]["warmup_steps"] == 200
    assert doc.position(("training", "steps")).line == _line(text, "steps *= 2")


HELPER = IMPORTS + """

def _base() -> Trainer.Config:
    return Trainer.Config()


def _pretrain_config(flavor: str, *, max_context_length: int, tokens: int, lr: float = 1e-4) -> Trainer.Config:
    return Trainer.Config(
        model_spec=model_registry(flavor),
        optimizer=default_adamw(lr=lr),
        training=TrainingConfig(
            num_tokens_per_microbatch_per_dp_rank=tokens,
            max_context_length=max_context_length,
            steps=2000,
        ),
    )


def llama3_70b() -> Trainer.Config:
    return _pretrain_config(
        "70B",
        max_context_length=4096,
        tokens=3 * 4096,
    )
"""


def test_a_helper_with_parameters_is_no_recipe_and_its_arguments_are_bound(tmp_path) -> None:
    assert recipe_names(HELPER) == ["llama3_70b"]
    plan = plan_of(write(tmp_path, REGISTRY, HELPER))
    assert plan.model.parameters == 70_600_000_000
    assert plan.batch.seq_len == 4096 and plan.batch.micro_batch_size == 3 and plan.run.max_steps == 2000
    assert plan.optimizer.lr == pytest.approx(1e-4)  # the helper's default
    # the value points where the recipe passes it, not at the helper's keyword
    assert plan.sources["batch.seq_len"].line == _line(HELPER, "max_context_length=4096")


def test_a_token_budget_that_is_no_whole_number_of_rows_leaves_the_batch_unknown(tmp_path) -> None:
    plan = plan_of(write(tmp_path, REGISTRY, HELPER.replace("tokens=3 * 4096", "tokens=5000")))
    assert plan.batch.micro_batch_size is None and "batch.micro_batch_size" in plan.unknown
    assert "5000" in plan.unknown["batch.micro_batch_size"]


def test_defaults_are_the_recipe_eras_with_their_class(tmp_path) -> None:
    text = HELPER.replace("num_tokens_per_microbatch_per_dp_rank=tokens,\n", "")
    plan = plan_of(write(tmp_path, REGISTRY, text))
    assert plan.batch.micro_batch_size == 4  # TrainingConfig's 16,384 tokens in 4,096-token rows
    assert "16,384 / max_context_length 4,096" in plan.sources["batch.micro_batch_size"].note
    assert plan.schedule.warmup_steps == 200 and "LRSchedulersContainer.Config" in plan.sources["schedule.warmup_steps"].note
    assert plan.checkpoint.enabled is False and "CheckpointManager.Config" in plan.sources["checkpoint.enabled"].note
    assert plan.optimizer.eps == pytest.approx(1e-8) and "default_adamw" in plan.sources["optimizer.eps"].note


UNKNOWN_CALL = LLAMA3_8B.replace("steps=1000,", "steps=steps_for_budget(),")


def test_an_unknown_call_leaves_its_value_unknown(tmp_path) -> None:
    plan = plan_of(write(tmp_path, REGISTRY, UNKNOWN_CALL))
    assert plan.run.max_steps is None and "steps_for_budget()" in plan.unknown["run.max_steps"]
    assert plan.batch.seq_len == 8192  # its neighbours are read


def test_parameter_groups_of_their_own_leave_the_optimizer_unknown(tmp_path) -> None:
    text = LLAMA3_8B.replace("optimizer=default_adamw(lr=3e-4),", """optimizer=OptimizersContainer.Config(
            param_groups=[ParamGroupConfig(pattern=r".*", optimizer_name="AdamW", optimizer_kwargs={"lr": 1e-3})],
        ),""")
    path = write(tmp_path, REGISTRY, text)
    doc = load_document(path)
    assert "param_groups" not in doc.data.get("optimizer", {}) and "parameter groups" in doc.unevaluated["optimizer"]
    plan = plan_of(path)
    assert plan.optimizer.lr is None and "parameter groups" in plan.unknown["optimizer.lr"]


def test_a_branch_leaves_what_it_sets_unknown(tmp_path) -> None:
    text = SEVERAL.replace("    config.training.steps = 100\n",
                           "    if LONG:\n        config.training.steps = 100\n")
    plan = plan_of(f"{write(tmp_path, REGISTRY, text)}::llama3_8b_long")  # type: ignore[arg-type]
    assert plan.run.max_steps is None and "`if` block" in plan.unknown["run.max_steps"]
    assert plan.parallel.tensor == 4


IMPORTED_BASE = """
from torchtitan.models.qwen3 import model_registry
from torchtitan.models.qwen3.config_registry import qwen3_debugmodel
from torchtitan.trainer import Trainer


def qwen3_debugmodel_fsdp2() -> Trainer.Config:
    config = qwen3_debugmodel()
    config.model_spec = model_registry("0.6B")
    config.parallelism.data_parallel_shard_degree = 2
    config.checkpoint.enable = False
    return config
"""


def test_a_recipe_built_on_an_imported_one_knows_only_what_it_sets(tmp_path) -> None:
    assert is_torchtitan_recipe_module(IMPORTED_BASE)
    plan = plan_of(write(tmp_path, "qwen3_npu.py", IMPORTED_BASE))
    assert plan.model.name == "qwen3 0.6B" and plan.model.parameters == 600_000_000
    assert plan.parallel.data_shard == 2 and plan.checkpoint.enabled is False
    for field in ("optimizer.lr", "run.max_steps", "batch.seq_len", "schedule.warmup_steps", "batch.micro_batch_size",
                  "parallel.tensor", "eval.enabled"):
        assert field in plan.unknown and "torchtitan.models.qwen3.config_registry" in plan.unknown[field], field


def test_check_names_one_recipe_and_reports_on_the_file(tmp_path) -> None:
    path = write(tmp_path, REGISTRY, SEVERAL.replace("enable=True, interval=250", "interval=250"))
    report = check_paths([f"{path}::llama3_8b"], CheckOptions(use_settings=False))
    assert not report.errors and report.files[0].dialect == "torchtitan"
    [no_checkpoints] = [f for f in report.findings if f.code == "PD801"]
    assert no_checkpoints.file == str(path)
    assert "CheckpointManager.Config(enable=True" in (no_checkpoints.hint or "")  # the recipe's keywords, not TOML
    walked = check_paths([tmp_path], CheckOptions(use_settings=False))
    [skipped] = [f for f in walked.files if f.path == str(path)]
    assert skipped.role == "skipped" and "::RECIPE" in (skipped.note or "")


def test_functions_calling_each_other_many_times_over_end_unknown(tmp_path) -> None:
    # each level calls the next four times, eight deep: 4**8 calls were every one evaluated
    levels = "".join(f"\n\ndef f{i}():\n" + "".join(f"    {name} = f{i + 1}()\n" for name in "abcd") + "    return d\n"
                     for i in range(8))
    text = IMPORTS + levels + """

def f8():
    return 1


def looped() -> Trainer.Config:
    return Trainer.Config(training=TrainingConfig(steps=f0()), model_spec=model_registry("8B"))
"""
    doc = load_document(write(tmp_path, REGISTRY, text))
    assert "more than 256 calls" in doc.unevaluated["training.steps"] and doc.data["model"]["flavor"] == "8B"


def test_a_launch_of_a_recipe_at_hand_reads_it_under_the_command_line(tmp_path) -> None:
    # held-out review 134, C 10 (an Ascend fork's run_train.sh, reduced): `torchrun ... -m ascend_titan.train --module
    # M --config FUNCTION` was refused, the recipe module beside it refused as one of several
    write(tmp_path, REGISTRY, LLAMA3_8B + LLAMA3_8B.replace(IMPORTS, "").replace("def llama3_8b", "def llama3_70b"))
    launch = write(tmp_path, "run.sh", "torchrun --nproc_per_node=8 -m torchtitan.train --module llama3 "
                                       "--config llama3_8b --training.steps 200 \\\n"
                                       "    --training.max_context_length 4096 "
                                       "--training.num_tokens_per_microbatch_per_dp_rank 8192\n")
    assert detected(launch) == "torchtitan"
    plan = plan_of(launch)
    assert plan.optimizer.lr == 3e-4 and plan.schedule.warmup_steps == 50  # the recipe's
    assert plan.run.max_steps == 200 and plan.batch.seq_len == 4096  # the command line's, today's names mapped
    assert plan.batch.micro_batch_size == 2  # 8,192 tokens of 4,096-token sequences
    assert plan.parallel.world_size == 8 and plan.sources["optimizer.lr"].file.endswith("config_registry.py")
    # a budget that is no whole number of sequences leaves the batch unknown
    odd = plan_of(write(tmp_path, "odd.sh", launch.read_text().replace("8192\n", "5000\n")))
    assert odd.batch.micro_batch_size is None and "5000" in odd.unknown["batch.micro_batch_size"]
    # a folder check reads the registry through the launch, not alone
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    roles = {result.path.rsplit("/", 1)[-1]: result.role for result in report.files}
    assert roles["config_registry.py"] == "companion"


def test_the_rl_experiments_trainer_is_no_job_config_launch(tmp_path) -> None:
    # held-out review 134, C 08: `python -m torchtitan.experiments.rl.train --module ...tmax --config rl_grpo_...` is
    # GRPO with generators of its own; read as a job config launch it was planned as pretraining
    rl = write(tmp_path, "launch.sh", "exec python -m torchtitan.experiments.rl.train --module x.examples.tmax "
                                      "--config rl_grpo_qwen3_5_9b --num-generators 1\n")
    assert detected(rl) != "torchtitan"
    trainer = write(tmp_path, "train.sh", "python -m torchtitan.train --module llama3 --config llama3_debugmodel\n")
    assert detected(trainer) == "torchtitan"


def test_a_recipe_returning_a_helpers_trainer_config_is_a_recipe(tmp_path) -> None:
    # held-out review 137, C 10 (a DeepSeek V4.1 debug registry): public recipes with defaulted parameters return a
    # private helper's `Trainer.Config`; refused as "none that takes no argument"
    text = IMPORTS + """

def _debug_config(*, seq_len: int | None, steps: int) -> Trainer.Config:
    return Trainer.Config(
        model_spec=model_registry("debugmodel"),
        optimizer=default_adamw(lr=8e-4),
        training=TrainingConfig(max_context_length=seq_len or 2048, steps=steps),
    )


def debugmodel(seq_len: int | None = 2048):
    return _debug_config(seq_len=seq_len, steps=10)


def debugmodel_long(seq_len: int | None = 8192):
    return _debug_config(seq_len=seq_len, steps=20)
"""
    assert recipe_names(text) == ["debugmodel", "debugmodel_long"]
    plan = plan_of(f"{write(tmp_path, REGISTRY, text)}::debugmodel_long")
    assert plan.run.max_steps == 20 and plan.optimizer.lr == pytest.approx(8e-4)
