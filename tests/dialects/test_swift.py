"""ms-swift launches: `swift sft|pt|rlhf ...` read as the run, with ms-swift's defaults per release.

The scripts are shaped after ms-swift's own examples (modelscope/ms-swift v3.12.6 examples/train/: full/train.sh,
lora_sft.sh, multi-node/torchrun/train.sh, rlhf/dpo/lora.sh, grpo/internal/*.sh, pretrain/train.sh; v2.6.1
examples/pytorch/llm/scripts/*/sft.sh for the 2.x spelling)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pretrain_doctor.config.loader import load_document
from pretrain_doctor.dialects import detection, not_supported_message

from .helpers import detected, findings, judged, notes, plan_of, write

# examples/train/lora_sft.sh (v3.12.6), on one GPU
_LORA_SFT = """
    CUDA_VISIBLE_DEVICES=0 \\
    swift sft \\
        --model Qwen/Qwen2.5-7B-Instruct \\
        --train_type lora \\
        --dataset 'AI-ModelScope/alpaca-gpt4-data-zh#500' \\
                  'AI-ModelScope/alpaca-gpt4-data-en#500' \\
        --torch_dtype bfloat16 \\
        --num_train_epochs 1 \\
        --per_device_train_batch_size 1 \\
        --learning_rate 1e-4 \\
        --lora_rank 8 \\
        --lora_alpha 32 \\
        --target_modules all-linear \\
        --gradient_accumulation_steps 16 \\
        --eval_steps 50 \\
        --save_steps 50 \\
        --save_total_limit 2 \\
        --logging_steps 5 \\
        --max_length 2048 \\
        --warmup_ratio 0.05
"""

# examples/train/multi-node/torchrun/train.sh's shape: two nodes of 8, the launch in the environment
_MULTI_NODE_FULL = """
    nnodes=2
    nproc_per_node=8

    CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7 \\
    NNODES=$nnodes \\
    NODE_RANK=0 \\
    NPROC_PER_NODE=$nproc_per_node \\
    swift sft \\
        --model Qwen/Qwen2.5-7B \\
        --train_type full \\
        --dataset 'swift/self-cognition#500' \\
        --torch_dtype bfloat16 \\
        --per_device_train_batch_size 1 \\
        --max_length 8192 \\
        --deepspeed zero3
"""


def test_lora_sft_plan(tmp_path: Path) -> None:
    path = write(tmp_path, "lora_sft.sh", _LORA_SFT)
    assert detected(path) == "swift"
    plan = plan_of(path)
    assert plan.mode.kind == "lora" and (plan.mode.lora_rank, plan.mode.lora_alpha) == (8, 32.0)
    assert plan.mode.lora_targets is None  # all-linear
    assert plan.objective.kind == "causal_lm" and plan.objective.completion_only is True
    assert plan.optimizer.lr == pytest.approx(1e-4) and plan.sources["optimizer.lr"].line == 10
    assert (plan.batch.micro_batch_size, plan.batch.grad_accum, plan.batch.seq_len) == (1, 16, 2048)
    assert plan.run.epochs == 1.0 and plan.schedule.warmup_ratio == pytest.approx(0.05)
    # ms-swift's own defaults: cosine, weight decay 0.1 (transformers': linear, 0)
    assert plan.schedule.kind == "cosine" and plan.optimizer.weight_decay == pytest.approx(0.1)
    assert "ms-swift" in plan.sources["schedule.kind"].note
    assert plan.precision.compute == "bf16" and plan.precision.params is None  # adapters: PEFT keeps them fp32
    # no NPROC_PER_NODE/NNODES: `swift` runs one process (swift/cli/main.py)
    assert plan.parallel.world_size == 1


def test_uv_run_wraps_swift_and_its_prefixed_variables_reach_it(tmp_path: Path) -> None:
    # held-out review 124, B 05: `NPROC_PER_NODE=7 uv run swift sft ...`: `uv` read as the launcher, the world size
    # left unknown
    path = write(tmp_path, "train.sh", "NPROC_PER_NODE=7 \\\nuv run --no-sync swift sft --model Qwen/Qwen2.5-7B "
                 "--train_type full --learning_rate 1e-5\n")
    plan = plan_of(path)
    assert plan.dialect == "swift" and plan.parallel.world_size == 7 and plan.sources["parallel.world_size"].line == 1


def test_the_console_scripts_module_run_with_python_is_swift(tmp_path: Path) -> None:
    # held-out review 116, B 13: `"${PY}" -m swift.cli.main sft --external_plugins a.py b.py ...`, read as an HF
    # Trainer program `a.py` (ms-swift's defaults lost); a computed accumulation that a test may reset
    # (`[ "${GRAD_ACCUM}" -lt 1 ] && GRAD_ACCUM=1`) is the script's to tell, not 1
    path = write(tmp_path, "sft.sh", 'N=$(awk -F, \'{print NF}\' <<<"${CUDA_VISIBLE_DEVICES}")\n'
                                     'GRAD_ACCUM=$((16 / N))\n[ "${GRAD_ACCUM}" -lt 1 ] && GRAD_ACCUM=1\n'
                                     '"${PY}" -m swift.cli.main sft \\\n    --external_plugins a.py b.py \\\n'
                                     '    --model Qwen/Qwen3.5-9B --tuner_type lora --learning_rate 1e-4 \\\n'
                                     '    --gradient_accumulation_steps "${GRAD_ACCUM}"\n')
    assert detected(path) == "swift"
    plan = plan_of(path)
    assert plan.model.name == "Qwen/Qwen3.5-9B" and plan.mode.kind == "lora" and plan.batch.grad_accum is None
    assert plan.optimizer.weight_decay == pytest.approx(0.1)  # ms-swift's default, not transformers' 0


def test_a_forks_entry_script_taking_ms_swifts_flags_is_swift(tmp_path: Path) -> None:
    # held-out review 116, B 17: `NPROC_PER_NODE=2 python train.py --pipeline rlhf --rlhf_type opsd --train_type lora
    # ...`, a fork's entry into ms-swift's pipelines, read as an HF Trainer program; `python` starts one process,
    # and `$(expr 16 / $nproc)` is arithmetic
    path = write(tmp_path, "opsd.sh", "nproc=2\nNPROC_PER_NODE=$nproc \\\npython train.py --pipeline rlhf "
                                      "--rlhf_type opsd --model Qwen/Qwen2.5-7B-Instruct --train_type lora "
                                      "--attn_impl flash_attn --learning_rate 1e-4 "
                                      "--gradient_accumulation_steps $(expr 16 / $nproc)\n")
    assert detected(path) == "swift"
    plan = plan_of(path)
    assert plan.mode.preference_method == "opsd" and plan.model.name == "Qwen/Qwen2.5-7B-Instruct"
    assert (plan.batch.grad_accum, plan.parallel.world_size) == (8, 1)
    plain = write(tmp_path, "hf.sh", "python train.py --model_name_or_path m --attn_impl sdpa --learning_rate 1e-4\n")
    assert detected(plain) != "swift"  # one of ms-swift's flags says nothing


def test_world_size_from_the_environment_and_the_deepspeed_preset(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "train.sh", _MULTI_NODE_FULL), trainer_versions=judged("ms-swift=3.8.0"))
    assert plan.parallel.world_size == 16 and plan.sources["parallel.world_size"].key == "NPROC_PER_NODE"
    assert plan.mode.kind == "full_finetune" and plan.mode.lora_rank is None
    # lr: 1e-5 for full (TrainArguments.__post_init__); accumulation ceil(16 / 1 / 16) = 1
    assert plan.optimizer.lr == pytest.approx(1e-5) and "ms-swift" in plan.sources["optimizer.lr"].note
    assert plan.batch.grad_accum == 1
    assert plan.batch.seq_len == 8192
    assert (plan.parallel.zero_stage, plan.parallel.deepspeed_config) == (3, "zero3")
    # bf16 weights, but DeepSpeed keeps fp32 master weights: no pure-bf16 finding
    assert plan.precision.params == "bf16" and plan.precision.mixed is True
    assert not findings(plan, "PD302")


def test_grad_accum_is_computed_from_the_world_size(tmp_path: Path) -> None:
    text = _MULTI_NODE_FULL.replace("NNODES=$nnodes \\\n", "").replace("nproc_per_node=8", "nproc_per_node=4")
    text = "# ms-swift>=3.5\n" + text  # the examples' own note of the releases they need
    plan = plan_of(write(tmp_path, "four.sh", text))
    assert plan.parallel.world_size == 4 and plan.batch.grad_accum == 4  # ceil(16 / 1 / 4)
    assert "ms-swift>=3.5" in plan.sources["batch.grad_accum"].note
    unset = plan_of(write(tmp_path, "unset.sh", text.replace("NPROC_PER_NODE=$nproc_per_node \\\n",
                                                            "NPROC_PER_NODE=$GPUS \\\n")))
    assert unset.parallel.world_size is None and unset.batch.grad_accum is None  # left to the caller


@pytest.mark.parametrize("version, accum", [("3.1.0", 1), ("3.8.0", 8), ("2.6.1", 8)])
def test_grad_accum_default_per_release(tmp_path: Path, version: str, accum: int) -> None:
    # 3.0.0-3.2.1 kept transformers' 1; 2.x and 3.2.2+ compute ceil(16 / batch / world)
    script = "NPROC_PER_NODE=2 swift sft --model Qwen/Qwen2.5-7B --dataset d --torch_dtype bfloat16\n"
    plan = plan_of(write(tmp_path, "a.sh", script), trainer_versions=judged(f"ms-swift={version}"))
    assert plan.batch.grad_accum == accum
    assert plan.trainer_version == version


def test_unknown_release_leaves_disagreeing_defaults_unknown(tmp_path: Path) -> None:
    # `--model` exists from 3.0 on: epochs 3 and warmup 0 agree there, accumulation (1 before 3.2.2) does not
    plan = plan_of(write(tmp_path, "a.sh", "swift sft --model Qwen/Qwen2.5-7B --dataset d --torch_dtype bfloat16\n"))
    assert plan.run.epochs == 3.0 and plan.schedule.warmup_ratio == 0.0
    assert plan.batch.grad_accum is None and "changed between releases" in plan.unknown["batch.grad_accum"]
    assert plan.optimizer.betas is None and "optimizer.betas" in plan.unknown
    assert plan.batch.seq_len is None  # 3.x+: the model's own max length
    assert plan.optimizer.lr == pytest.approx(1e-4)  # lora, every release


def test_a_2x_script_is_read_with_2x_defaults(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "v2.sh", """
        # v2.6.1 examples/pytorch/llm/scripts/qwen_7b_chat/lora_ddp_ds/sft.sh's spelling
        NPROC_PER_NODE=2 \\
        swift sft \\
            --model_type qwen-7b-chat \\
            --sft_type lora \\
            --dataset blossom-math-zh \\
            --batch_size 2 \\
            --dtype bf16 \\
            --lora_target_modules ALL \\
            --deepspeed default-zero2
    """))
    assert plan.mode.kind == "lora" and plan.mode.init_from == "qwen-7b-chat"
    assert (plan.batch.micro_batch_size, plan.batch.grad_accum, plan.batch.seq_len) == (2, 4, 2048)
    assert plan.run.epochs == 1 and plan.schedule.warmup_ratio == pytest.approx(0.05)
    assert plan.parallel.zero_stage == 2
    assert "before 3.0.0" in plan.sources["batch.seq_len"].note


def test_qlora_needs_a_quant_method(tmp_path: Path) -> None:
    base = "swift sft --model Qwen/Qwen2.5-7B-Instruct --dataset d --quant_bits 4"
    assert plan_of(write(tmp_path, "q.sh", base + " --quant_method bnb\n")).mode.kind == "qlora"
    # 3.x quant_args.py: bits without a method quantize nothing
    assert plan_of(write(tmp_path, "n.sh", base + "\n")).mode.kind == "lora"
    assert plan_of(write(tmp_path, "awq.sh", "swift sft --model Qwen/Qwen2.5-7B-Instruct-AWQ --dataset d\n"
                         )).mode.kind == "qlora"


def test_pt_is_continued_pretraining(tmp_path: Path) -> None:
    # examples/train/pretrain/train.sh
    plan = plan_of(write(tmp_path, "pt.sh", "swift pt --model Qwen/Qwen2.5-7B --train_type full --dataset "
                                            "swift/chinese-c4 --streaming true --torch_dtype bfloat16\n"))
    assert plan.mode.kind == "pretrain" and plan.mode.init_from == "Qwen/Qwen2.5-7B"
    assert plan.objective.completion_only is False and plan.data.pretraining_text is True


@pytest.mark.parametrize("rlhf, kind, method", [
    ("--rlhf_type dpo", "preference", "dpo"), ("", "preference", "dpo"), ("--rlhf_type kto", "preference", "kto"),
    ("--rlhf_type orpo", "preference", "orpo"), ("--rlhf_type rm", "preference", "reward_model"),
    ("--rlhf_type grpo", "online_rl", "grpo")])
def test_rlhf_type_names_the_method(tmp_path: Path, rlhf: str, kind: str, method: str) -> None:
    # examples/train/rlhf/dpo/lora.sh, grpo/internal/*.sh
    plan = plan_of(write(tmp_path, "r.sh", f"NPROC_PER_NODE=4 swift rlhf {rlhf} --model Qwen/Qwen2.5-7B-Instruct "
                                           "--train_type lora --dataset d --torch_dtype bfloat16\n"))
    assert plan.objective.kind == kind and plan.mode.kind == kind
    assert (plan.mode.preference_method if kind == "preference" else plan.mode.rl_method) == method
    assert plan.mode.lora_rank == 8  # the adapter is what trains
    if method == "grpo":
        assert plan.batch.grad_accum == 1  # rlhf_args.py: GRPO's default accumulation


def test_python_entry_and_torchrun(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "t.sh", "torchrun --nproc_per_node 4 swift/cli/sft.py --model Qwen/Qwen2.5-7B "
                                           "--dataset d --train_type full --torch_dtype bfloat16\n"))
    assert plan.dialect == "swift" and plan.parallel.world_size == 4 and plan.mode.kind == "full_finetune"


def test_a_plugin_path_is_not_the_program(tmp_path: Path) -> None:
    # grpo/internal/rloo.sh: `--external_plugins examples/train/grpo/plugin/plugin.py`
    path = write(tmp_path, "g.sh", "NPROC_PER_NODE=8 swift rlhf --rlhf_type grpo --model Qwen/Qwen2.5-VL-3B-Instruct "
                                   "--external_plugins examples/train/grpo/plugin/plugin.py --dataset d\n")
    assert detected(path) == "swift"


@pytest.mark.parametrize("command", ["infer --adapters output/checkpoint-100", "export --adapters x --merge_lora true",
                                     "deploy --model Qwen/Qwen2.5-7B-Instruct", "eval --model m --eval_backend Native",
                                     "app --model m"])
def test_non_training_subcommands_are_no_launch(tmp_path: Path, command: str) -> None:
    path = write(tmp_path, "infer.sh", f"CUDA_VISIBLE_DEVICES=0 swift {command} --max_new_tokens 2048\n")
    doc = load_document(path)
    assert detection(doc).dialect is None
    assert "not a training config" in not_supported_message(doc)


def test_megatron_swift_is_read_with_its_own_arguments(tmp_path: Path) -> None:
    """`megatron sft` (test_megatron_swift.py) is this dialect, read with Megatron-SWIFT's keys, not `swift sft`'s."""
    path = write(tmp_path, "m.sh", "NPROC_PER_NODE=8 megatron sft --model Qwen/Qwen2.5-7B --dataset d "
                                   "--tensor_model_parallel_size 2 --micro_batch_size 1 --global_batch_size 16\n")
    assert detected(path) == "swift"
    plan = plan_of(path)
    assert (plan.parallel.tensor, plan.batch.global_batch_size, plan.derived.data_parallel.value) == (2, 16, 4)


def test_keys_of_another_release_are_renames(tmp_path: Path) -> None:
    path = write(tmp_path, "r.sh", "swift sft --model Qwen/Qwen2.5-7B --dataset d --sft_type full\n")
    plan = plan_of(path, trainer_versions=judged("ms-swift=3.8.0"))
    [note] = notes(plan, "ignored-key")
    assert "`sft_type`" in note.message and "train_type" in note.message and "did you mean" not in note.message
    mixed = plan_of(path)  # no release given: `--model` (3.0+) beside `--sft_type` (2.x)
    [both] = [n for n in notes(mixed, "ignored-key") if "no release reads both" in n.message]
    # every release stops on an argument it does not read (held-out review 113, D 05: ValueError remaining_argv)
    assert both.data["severity"] == "error" and "remaining_argv" in both.message
    tolerated = write(tmp_path, "t.sh", "swift sft --model Qwen/Qwen2.5-7B --dataset d --sft_type full "
                                        "--ignore_args_error true\n")
    [soft] = [n for n in notes(plan_of(tolerated), "ignored-key") if "no release reads both" in n.message]
    assert soft.data["severity"] == "warning"


def test_healthy_script_gets_no_warning(tmp_path: Path) -> None:
    from pretrain_doctor.check.engine import check_paths

    path = write(tmp_path, "lora_sft.sh", _LORA_SFT)
    report = check_paths([path])
    assert [f for f in report.findings if f.severity in ("warning", "error")] == []


def test_torchrun_launching_the_installed_swift_is_a_swift_run_on_its_processes(tmp_path: Path) -> None:
    # held-out review 101, D 16: `torchrun --nproc_per_node=4 $(which swift) sft ...` was refused; torchrun, not
    # NPROC_PER_NODE, starts the processes
    script = write(tmp_path, "run.sh", 'NPROC="${NPROC:-4}"\ntorchrun --nproc_per_node="${NPROC}" --master_port=29501 \\\n'
                                       '    $(which swift) sft --model Qwen/Qwen3-VL-32B-Instruct --train_type lora \\\n'
                                       '    --dataset data.jsonl --learning_rate 1e-4 --per_device_train_batch_size 1\n')
    assert detected(script) == "swift"
    plan = plan_of(script)
    assert plan.parallel.world_size == 4 and plan.mode.kind == "lora"


@pytest.mark.parametrize("folder", ['$(uv run python -c "import swift; print(swift.__path__[0])")',
                                    '"${SWIFT_DIR}"', "$SWIFT_DIR"])
def test_torchrun_running_the_cli_module_of_the_installed_package_is_swift(tmp_path: Path, folder: str) -> None:
    # held-out review 135, B 04: the folder of swift/cli/sft.py asked of python; with a single ms-swift flag the
    # launch was read as an HF Trainer program
    script = write(tmp_path, "sft.sh", 'SWIFT_DIR=$(python -c "import swift, os; print(os.path.dirname(swift.__file__))")\n'
                                       f"python -m torch.distributed.run --nproc_per_node=4 {folder}/cli/sft.py \\\n"
                                       "    --model Qwen/Qwen2.5-7B-Instruct --train_type lora --learning_rate 1e-4\n")
    assert detected(script) == "swift"
    assert plan_of(script).parallel.world_size == 4


def test_a_cli_folder_of_another_package_is_not_swift(tmp_path: Path) -> None:
    script = write(tmp_path, "sft.sh", 'ROOT=$(python -c "import mypkg; print(mypkg.__path__[0])")\n'
                                       "torchrun --nproc_per_node=4 $ROOT/cli/sft.py --model_name_or_path m "
                                       "--learning_rate 1e-4 --output_dir o\n")
    assert detected(script) != "swift"


def test_a_swift_program_found_in_one_of_two_places_with_its_flags_in_a_bash_array(tmp_path):
    # held-out review 110, D 10: `SWIFT_BIN` is an environment's swift, else `$(command -v swift 2>/dev/null || true)`;
    # the flags sit in an array run as `"${SWIFT_BIN}" "${SWIFT_ARGS[@]}"` (refused: the merged SWIFT_BIN was unknown)
    script = write(tmp_path, "run_sft.sh", 'SWIFT_BIN="${SWIFT_BIN:-/data3/envs/ms-swift/bin/swift}"\n'
                                           'if [[ ! -x "${SWIFT_BIN}" ]]; then\n'
                                           '    SWIFT_BIN="$(command -v swift 2>/dev/null || true)"\nfi\n'
                                           'SWIFT_ARGS=(\n    sft\n    --model /data/Qwen3-embedding-4B\n'
                                           '    --train_type full\n    --learning_rate 8e-6\n)\n'
                                           'NPROC_PER_NODE=4 "${SWIFT_BIN}" "${SWIFT_ARGS[@]}"\n')
    assert detected(script) == "swift"
    plan = plan_of(script)
    assert plan.optimizer.lr == 8e-6 and plan.mode.kind == "full_finetune" and plan.parallel.world_size == 4


def test_two_different_programs_left_by_undecided_branches_stay_unknown(tmp_path):
    script = write(tmp_path, "run.sh", 'BIN=/env/bin/swift\nif [[ -n "$X" ]]; then\n    BIN=/env/bin/megatron\nfi\n'
                                       '"${BIN}" sft --model /data/Qwen3-4B --learning_rate 8e-6\n')
    assert detected(script) != "swift"


# The shape of a ms-swift 4.x config file (`swift sft FILE`, `swift rlhf FILE`; held-out review 103, D 09/D 10): the
# arguments as keys, `ENV:` popped into the environment (swift/cli/main.py parse_yaml_args)
_CONFIG_FILE = """
model: Qwen/Qwen2.5-Omni-3B
torch_dtype: bfloat16
attn_impl: flash_attn
external_plugins:
  - examples/custom/register.py
loss_type: retention_loss
ENV:
  NPROC_PER_NODE: 2
dataset: train.jsonl
max_length: 32768
tuner_type: lora
lora_rank: 16
lora_alpha: 32
deepspeed: zero2
num_train_epochs: 10
learning_rate: 1.0e-4
per_device_train_batch_size: 1
gradient_accumulation_steps: 8
"""


def test_a_config_file_is_read_as_the_launch_it_feeds(tmp_path: Path) -> None:
    path = write(tmp_path, "sft.yaml", _CONFIG_FILE)
    assert detected(path) == "swift"
    plan = plan_of(path)
    # a LoRA SFT (a custom loss is no preference method), ms-swift's defaults, the world size from `ENV:`
    assert plan.mode.kind == "lora" and plan.mode.lora_rank == 16 and plan.objective.kind == "causal_lm"
    assert plan.optimizer.lr == pytest.approx(1e-4) and plan.sources["optimizer.lr"].line == 16
    assert plan.schedule.kind == "cosine" and plan.optimizer.weight_decay == pytest.approx(0.1)
    assert "the file's `" in plan.sources["schedule.kind"].note
    assert plan.parallel.world_size == 2 and plan.sources["parallel.world_size"].key == "ENV.NPROC_PER_NODE"
    assert "`swift sft` assumed" in plan.program.assumed["objective.completion_only"]
    assert not [n for n in notes(plan, "ignored-key") if n.data.get("key") in ("ENV", "external_plugins")]
    dpo = plan_of(write(tmp_path, "dpo.yaml", _CONFIG_FILE.replace("loss_type: retention_loss", "rlhf_type: dpo")
                        .replace("  NPROC_PER_NODE: 2\n", "  WANDB_MODE: offline\n")))
    assert dpo.mode.kind == "preference" and dpo.mode.preference_method == "dpo"
    assert dpo.parallel.world_size is None  # the launch's NPROC_PER_NODE decides


def test_a_launch_hands_swift_its_config_file_by_position_or_flag(tmp_path: Path) -> None:
    write(tmp_path, "sft.yaml", _CONFIG_FILE)
    for launch in ("NPROC_PER_NODE=4 swift sft sft.yaml\n", "NPROC_PER_NODE=4 swift sft --config sft.yaml\n"):
        plan = plan_of(write(tmp_path, "run.sh", launch))
        assert plan.optimizer.lr == pytest.approx(1e-4) and plan.mode.lora_rank == 16
        assert plan.parallel.world_size == 4


def test_an_hf_or_llamafactory_file_with_a_swift_word_is_not_swift(tmp_path: Path) -> None:
    hf = write(tmp_path, "hf.yaml", "model_name_or_path: m\nattn_impl: sdpa\ntruncation_strategy: delete\n"
                                    "learning_rate: 1e-5\n")
    assert detected(hf) != "swift"
    lf = write(tmp_path, "lf.yaml", "model: m\nstage: sft\nfinetuning_type: lora\nattn_impl: sdpa\nlazy_tokenize: true\n")
    assert detected(lf) != "swift"


def test_words_the_script_fills_at_run_time_leave_the_defaults_unknown(tmp_path: Path) -> None:
    # held-out review 104, D 14: `mapfile -t SPAN < <(span_args)` then `swift rlhf ... "${SPAN[@]}"`, the array giving
    # the epochs and the save and eval strategies; and a `--val_dataset` path the script computes evaluates
    script = write(tmp_path, "train.sh", 'ROOT="$(pwd)"\nmapfile -t SPAN < <(span_args)\n'
                                         'swift rlhf --rlhf_type kto --model Qwen/Qwen3-0.6B --tuner_type lora \\\n'
                                         '    --val_dataset "${ROOT}/val.jsonl" --learning_rate 2e-5 "${SPAN[@]}"\n')
    plan = plan_of(script)
    assert plan.run.epochs is None and "${SPAN[@]}" in plan.unknown["run.epochs"]
    assert plan.eval.enabled is True and plan.sources["eval.enabled"].key == "val_dataset"
    assert plan.optimizer.lr == pytest.approx(2e-5)


def test_a_flags_value_and_a_resume_array_leave_the_defaults_known(tmp_path: Path) -> None:
    # held-out review 105, D 11: `--report_to "${REPORT_TO_ARGS[@]}"` (read -a from a string) is the flag's value, and
    # `RESUME_ARGS=(--resume_from_checkpoint "$CKPT")` holds no setting with a default: ms-swift's defaults stand
    script = write(tmp_path, "run.sh", 'REPORT_TO=${REPORT_TO:-tensorboard mlflow}\n'
                                       'read -r -a REPORT_TO_ARGS <<< "$REPORT_TO"\nRESUME_ARGS=()\n'
                                       'if [ -n "$CKPT" ]; then\n  RESUME_ARGS=(--resume_from_checkpoint "$CKPT")\nfi\n'
                                       'swift rlhf --rlhf_type dpo --model Qwen/Qwen3-8B --tuner_type lora \\\n'
                                       '  --report_to "${REPORT_TO_ARGS[@]}" \\\n  "${RESUME_ARGS[@]}"\n')
    plan = plan_of(script)
    assert plan.mode.lora_rank == 8
    assert "not seen" not in plan.unknown.get("run.epochs", "")


def test_minus_one_is_no_limit(tmp_path: Path) -> None:
    # held-out review 105, D 04: ms-swift 2.0.3's `--max_length -1` and `--save_total_limit -1` (argument.py maps
    # both to None) were errors, "no value the trainer can run with"
    plan = plan_of(write(tmp_path, "run.sh", "swift sft --model_type qwen-7b-chat --sft_type full --max_length -1 "
                                             "--save_total_limit -1 --learning_rate 1e-5\n"))
    assert plan.batch.seq_len is None and "no limit" in plan.unknown["batch.seq_len"]
    assert plan.checkpoint.keep_last == 0
    assert not [n for n in notes(plan, "ignored-key") if n.data.get("severity") == "error"]


def test_a_config_named_from_the_scripts_folder_is_read_and_config_is_no_key(tmp_path: Path) -> None:
    # held-out review 107, D 02: `swift sft --config "$CONFIG_FILE"` with CONFIG_FILE="${SCRIPT_DIR}/train_config.yaml"
    # warned that `--config` is no key ("did you mean `config`?") and read none of the YAML
    write(tmp_path, "train_config.yaml", _CONFIG_FILE)
    script = write(tmp_path, "train_ray.sh", 'SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"\n'
                   'CONFIG_FILE="${SCRIPT_DIR}/train_config.yaml"\nswift sft --config "$CONFIG_FILE"\n')
    plan = plan_of(script)
    assert plan.optimizer.lr == pytest.approx(1e-4) and plan.mode.lora_rank == 16
    assert not notes(plan, "ignored-key")


def test_keys_of_4x_mixins_beside_their_trainers_are_read(tmp_path: Path) -> None:
    # held-out review 107, D 18: `--sleep_level` (GRPOArgumentsMixin, swift/rlhf_trainers/args_mixin.py in 4.x) and
    # `--device_groups` (RayArguments) were judged "read by 3.12.6 and before, not 4.0.0"
    path = write(tmp_path, "gkd.sh", "swift rlhf --rlhf_type gkd --model Qwen/Qwen3-1.7B --teacher_model "
                 "Qwen/Qwen3-8B --dataset d --use_vllm true --vllm_mode colocate --sleep_level 1\n")
    plan = plan_of(path, trainer_versions=judged("ms-swift=4.0.0"))
    assert not [n for n in notes(plan, "ignored-key") if n.data.get("key") == "sleep_level"]


def test_fsdp_keeps_fp32_master_weights_of_a_bf16_model(tmp_path: Path) -> None:
    # held-out review 109, D 15: a full GKD run with `--torch_dtype bfloat16 --fsdp fsdp2`: accelerate's FSDP upcasts
    # the parameters under bf16 mixed precision, no pure-bf16 training
    launch = ("NPROC_PER_NODE=4 swift rlhf --rlhf_type gkd --model Qwen/Qwen2.5-VL-3B-Instruct --teacher_model "
              "Qwen/Qwen2.5-VL-7B-Instruct --train_type full --torch_dtype bfloat16 --dataset d --fsdp fsdp2\n")
    plan = plan_of(write(tmp_path, "gkd.sh", launch))
    assert plan.parallel.fsdp is True and plan.precision.mixed is True and not findings(plan, "PD302")
    unsharded = plan_of(write(tmp_path, "plain.sh", launch.replace(" --fsdp fsdp2", "")))
    assert [f.severity for f in findings(unsharded, "PD302")] == ["warning"]


def test_flags_are_read_as_hf_argument_parser_takes_them(tmp_path: Path) -> None:
    # held-out review 109, D 08: `--lr-scheduler-type constant` (the dashed alias), `--no_load_from_cache_file` (a
    # boolean field off) and `--column` (argparse's unique prefix of `--columns`) were "ignored keys"
    path = write(tmp_path, "r.sh", "swift sft --model Qwen/Qwen3-4B --dataset d --train_type full "
                                   "--lr-scheduler-type constant --no_load_from_cache_file --column q\n")
    plan = plan_of(path, trainer_versions=judged("ms-swift=3.8.0"))
    assert plan.schedule.kind == "constant"
    assert not notes(plan, "ignored-key")


def test_a_save_interval_below_one_is_a_share_of_the_run(tmp_path: Path) -> None:
    # held-out review 110, D 04: `--save_steps 0.1`, which transformers reads as every tenth of the run, was an error
    plan = plan_of(write(tmp_path, "s.sh", "swift sft --model Qwen/Qwen3-4B --dataset d --save_steps 0.1\n"))
    assert plan.checkpoint.interval_fraction == pytest.approx(0.1)
    assert not [n for n in notes(plan, "ignored-key") if n.data.get("severity") == "error"]


def test_a_library_module_run_as_a_script_stops_on_its_relative_imports(tmp_path) -> None:
    # held-out review 118, B 19 (pihang/swift swift/llm/DPO.sh, ms-swift 2.5): `python swift/llm/rlhf.py` was read as
    # a program's own arguments (pretraining from scratch); ms-swift's run, and it cannot start
    script = write(tmp_path, "DPO.sh", """\
        NPROC_PER_NODE=2 \\
        python swift/llm/rlhf.py \\
            --rlhf_type dpo \\
            --model_type qwen2-0_5b-instruct \\
            --sft_type lora \\
            --lora_rank 8 \\
            --learning_rate 5e-5 \\
            --num_train_epochs 3
        """)
    assert detected(script) == "swift"
    plan = plan_of(script)
    assert plan.mode.kind == "preference" and plan.mode.preference_method == "dpo" and plan.mode.lora_rank == 8
    [stop] = [n for n in notes(plan, "ignored-key") if "library module" in n.message]
    assert stop.data["severity"] == "error" and "swift rlhf" in stop.hint
    cli = plan_of(write(tmp_path, "cli.sh", script.read_text().replace("swift/llm/rlhf.py", "swift/cli/rlhf.py")))
    assert not [n for n in notes(cli, "ignored-key") if "library module" in n.message]


def test_a_val_dataset_added_when_a_file_exists_leaves_evaluation_unknown(tmp_path: Path) -> None:
    # Held-out review 120, B 07 (cvat2qwen3vl train_swift.sh, reduced): `--val_dataset` joins the command only when the
    # file exists at launch; "evaluation is off" was wrong (the repository's own data step always writes it).
    script = write(tmp_path, "train_swift.sh", """\
        VAL_DATASET="${VAL_DATASET:-./output/swift/val.jsonl}"
        TRAIN_CMD=(
            swift sft
            --model Qwen/Qwen3-VL-8B-Instruct
            --dataset ./output/swift/train.jsonl
            --tuner_type lora
            --learning_rate 1e-4
            --eval_steps 500
        )
        if [ -f "${VAL_DATASET}" ]; then
            TRAIN_CMD+=(--val_dataset "${VAL_DATASET}")
        fi
        "${TRAIN_CMD[@]}"
        """)
    plan = plan_of(script, trainer_versions=judged("ms-swift=4.2.0"))
    assert plan.eval.enabled is None and "--val_dataset" in plan.unknown["eval.enabled"]
    assert findings(plan, "PD702") == []


def test_flags_given_a_required_variable_are_unknown_not_the_defaults(tmp_path: Path) -> None:
    # Held-out review 122, B 22 (a paper's train_sft.sh, reduced): `--learning_rate "$LEARNING_RATE"` with
    # `LEARNING_RATE="${LEARNING_RATE:?...}"` read as ms-swift's 1e-4 and no warmup (PD104 said so).
    script = write(tmp_path, "train_sft.sh", """\
        LEARNING_RATE="${LEARNING_RATE:?set via paper-disclosed learning rate}"
        WARMUP_RATIO="${WARMUP_RATIO:?set warmup ratio}"
        LORA_RANK="${LORA_RANK:?set via paper-disclosed LoRA rank}"
        swift sft --model Qwen/Qwen2.5-32B-Instruct --train_type lora --dataset d.jsonl \\
            --learning_rate "$LEARNING_RATE" --lora_rank "$LORA_RANK" --warmup_ratio "$WARMUP_RATIO"
        """)
    plan = plan_of(script)
    assert plan.optimizer.lr is None and "LEARNING_RATE" in plan.unknown["optimizer.lr"]
    assert plan.mode.lora_rank is None and plan.schedule.warmup_ratio is None
    assert findings(plan, "PD104") == []


def test_a_swift_command_the_cli_does_not_have_is_named_in_the_refusal(tmp_path: Path) -> None:
    # held-out review 125, B 16: `swift llm train ... --external_plugins plugin.py` was read as an HF program `plugin.py`
    # (then as an HF launch); ms-swift's CLI has no `llm` command: the launch stops at once
    from pretrain_doctor.config.loader import load_document
    from pretrain_doctor.dialects import not_supported_message

    path = write(tmp_path, "run.sh", "swift llm train --model_name_or_path Qwen/Qwen2.5-VL-7B-Instruct "
                 "--external_plugins plugin.py --learning_rate 1e-6 --per_device_train_batch_size 1\n")
    assert detected(path) is None
    assert "`swift llm` is no command of ms-swift's CLI" in not_supported_message(load_document(path))
    # its other commands train nothing either way, and `swift sft` stays swift's
    assert detected(write(tmp_path, "sft.sh", "swift sft --model Qwen/Qwen2.5-7B --train_type lora\n")) == "swift"


def test_target_modules_written_with_commas_adapt_only_the_last(tmp_path) -> None:
    # held-out review 128, B 13: `--target_modules 'q_proj', 'k_proj', ..., 'down_proj'`: the shell keeps the commas
    script = ("swift sft --model Qwen/Qwen2.5-7B-Instruct --train_type lora --dataset d.jsonl "
              "--target_modules 'q_proj', 'k_proj', 'down_proj' --learning_rate 1e-4\n")
    [finding] = findings(plan_of(write(tmp_path, "sft.sh", script)), "PD606")
    assert finding.severity == "warning" and "only `down_proj`" in finding.message
    assert findings(plan_of(write(tmp_path, "ok.sh", script.replace("',", "'"))), "PD606") == []
