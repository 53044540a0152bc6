"""Megatron-SWIFT launches (`megatron sft|pt|rlhf ...`, ms-swift 3.3+) read as the `swift` dialect with
Megatron-SWIFT's own arguments and defaults per release (megatron_swift_keys.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import detected, findings, judged, notes, plan_of, write

# Reduced from liaumg20030402-glitch/ms-swift my-project/pt/pt_train_27b.sh (fbfd5fb; held-out 112 D 06): continued
# pretraining of Qwen3.5-27B, streaming, TP4, 120k iterations; NNODES left to the cluster's $WORLD_SIZE.
_PT_27B = """
    export NPROC_PER_NODE=8
    export NNODES=$WORLD_SIZE
    megatron pt \\
        --dataset "${DATASETS[@]}" \\
        --split_dataset_ratio 0 \\
        --model /models/Qwen3.5-27B \\
        --output_dir /exps/qwen3_5_27b_cpt_32k \\
        --streaming true \\
        --tuner_type full \\
        --torch_dtype bfloat16 \\
        --tensor_model_parallel_size 4 \\
        --pipeline_model_parallel_size 1 \\
        --context_parallel_size 1 \\
        --micro_batch_size 1 \\
        --global_batch_size 96 \\
        --packing true \\
        --num_train_epochs 1 \\
        --train_iters 120000 \\
        --lr 1e-5 \\
        --lr_warmup_fraction 0.05 \\
        --min_lr 1e-6 \\
        --max_length 8192 \\
        --save_steps 20000
"""
# Reduced from the same fork's my-project/sft/sft_train_397b.sh (held-out 112 D 07): full SFT of the
# Qwen3.5-397B-A17B MoE, TP2 PP6 EP8, packing, 3 epochs, a checkpoint each epoch; no dtype flag.
_SFT_397B = """
    export NPROC_PER_NODE=8
    export NNODES=6
    megatron sft \\
        --dataset /data/med.jsonl \\
        --split_dataset_ratio=0 \\
        --model /models/Qwen3.5-397B-A17B \\
        --tensor_model_parallel_size 2 \\
        --pipeline_model_parallel_size 6 \\
        --expert_model_parallel_size 8 \\
        --micro_batch_size 1 \\
        --global_batch_size 64 \\
        --packing true \\
        --num_train_epochs 3 \\
        --lr 5e-6 \\
        --lr_warmup_fraction 0.05 \\
        --min_lr 5e-7 \\
        --output_dir /exps/qwen_397b \\
        --max_length 32768 \\
        --no_save_optim true \\
        --save_strategy epoch
"""
# ms-swift v3.8.0 examples/megatron/lora/dpo.sh, reduced: the 3.x names (`--load`, `--save`, `--max_epochs`).
_DPO_3X = """
    NPROC_PER_NODE=2 \\
    megatron rlhf \\
        --rlhf_type dpo \\
        --load Qwen3-30B-A3B-Instruct-2507-mcore \\
        --dataset AI-ModelScope/orpo-dpo-mix-40k \\
        --train_type lora \\
        --split_dataset_ratio 0.01 \\
        --micro_batch_size 8 \\
        --global_batch_size 16 \\
        --max_epochs 1 \\
        --lr_warmup_fraction 0.05 \\
        --save megatron_output/Qwen3-30B \\
        --eval_interval 100 \\
        --save_interval 200 \\
        --max_length 2048
"""


def test_continued_pretraining_sample(tmp_path: Path) -> None:
    path = write(tmp_path, "pt_train_27b.sh", _PT_27B)
    assert detected(path) == "swift"
    plan = plan_of(path)
    assert (plan.mode.kind, plan.mode.init_from, plan.objective.kind) == ("pretrain", "/models/Qwen3.5-27B",
                                                                           "causal_lm")
    assert plan.objective.completion_only is False and plan.data.pretraining_text is True
    assert (plan.optimizer.lr, plan.schedule.min_lr, plan.schedule.kind) == (1e-5, 1e-6, "cosine")
    assert plan.schedule.warmup_ratio == 0.05 and plan.optimizer.betas == (0.9, 0.95)
    assert (plan.batch.micro_batch_size, plan.batch.global_batch_size, plan.batch.seq_len) == (1, 96, 8192)
    # a streaming dataset has no length: `--train_iters` stands over `--num_train_epochs` (init_iters)
    assert plan.run.max_steps == 120000 and plan.run.epochs is None
    assert (plan.parallel.tensor, plan.parallel.pipeline, plan.parallel.context) == (4, 1, 1)
    assert (plan.precision.compute, plan.precision.params, plan.precision.mixed) == ("bf16", "fp32", True)
    assert plan.checkpoint.interval_steps == 20000 and plan.eval.enabled is False
    assert plan.data.packing is True and plan.data.document_mask is True
    # NNODES=$WORLD_SIZE: set at launch, so the world size is unknown, not one node's 8
    assert plan.parallel.world_size is None
    assert notes(plan, "ignored-key") == []


def test_moe_sft_sample(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "sft_train_397b.sh", _SFT_397B))
    assert (plan.dialect, plan.mode.kind, plan.objective.completion_only) == ("swift", "full_finetune", True)
    assert (plan.optimizer.lr, plan.schedule.min_lr, plan.schedule.warmup_ratio) == (5e-6, 5e-7, 0.05)
    assert (plan.batch.global_batch_size, plan.run.epochs, plan.batch.seq_len) == (64, 3, 32768)
    assert (plan.parallel.world_size, plan.parallel.tensor, plan.parallel.pipeline) == (48, 2, 6)
    assert plan.derived.data_parallel.value == 4  # 48 / (TP 2 × PP 6 × CP 1), as Megatron computes it
    assert plan.checkpoint.strategy == "epoch" and plan.checkpoint.weights_only is True
    assert plan.precision.compute is None and "precision.compute" in plan.unknown  # the model config's dtype
    assert findings(plan, "PD401") == [] and findings(plan, "PD405") == []


def test_3x_names_and_defaults(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "dpo.sh", _DPO_3X))
    assert (plan.mode.kind, plan.mode.preference_method, plan.objective.kind) == ("preference", "dpo", "preference")
    assert plan.mode.init_from == "Qwen3-30B-A3B-Instruct-2507-mcore"
    assert (plan.run.epochs, plan.checkpoint.interval_steps, plan.eval.interval_steps) == (1, 200, 100)
    assert plan.eval.enabled is True and plan.parallel.world_size == 2
    # lr not given: 3.7+ (the script's `--max_epochs` allows 3.5-3.12) takes 1e-4 for lora, 3.5-3.6 1e-5
    assert plan.optimizer.lr is None and "optimizer.lr" in plan.unknown
    assert "ms-swift=VER" in plan.unknown["optimizer.lr"]


@pytest.mark.parametrize("version, lr", [("3.6.0", 1e-5), ("3.8.0", 1e-4), ("4.2.0", 1e-4)])
def test_lr_default_per_release(tmp_path: Path, version: str, lr: float) -> None:
    script = "NPROC_PER_NODE=8 megatron sft --model Qwen/Qwen2.5-7B --dataset d.jsonl --tuner_type lora " \
             "--train_iters 100\n" if version >= "4" else \
             "NPROC_PER_NODE=8 megatron sft --load q-mcore --dataset d.jsonl --train_type lora --train_iters 100\n"
    plan = plan_of(write(tmp_path, "lora.sh", script), trainer_versions=judged(f"ms-swift={version}"))
    assert plan.optimizer.lr == lr and plan.mode.kind == "lora" and plan.mode.lora_rank == 8


def test_defaults_of_every_release(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "bare.sh", "megatron sft --model Qwen/Qwen2.5-7B --dataset d.jsonl "
                                              "--train_iters 1000\n"))
    assert (plan.batch.micro_batch_size, plan.batch.global_batch_size) == (1, 16)
    assert (plan.schedule.kind, plan.schedule.min_lr, plan.schedule.warmup_steps) == ("cosine", 0.0, 0)
    assert (plan.optimizer.weight_decay, plan.clipping.max_norm, plan.checkpoint.interval_steps) == (0.1, 1.0, 500)
    assert plan.parallel.world_size == 1 and plan.derived.data_parallel.value == 1
    assert plan.batch.seq_len is None and "batch.seq_len" in plan.unknown  # the model's own max length


def test_pt_and_python_module_forms(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "pt.sh", "torchrun --nproc_per_node 4 swift/cli/_megatron/pt.py "
                                            "--model Qwen/Qwen2.5-7B --dataset d.jsonl --train_iters 10 --lr 2e-5\n"))
    assert (plan.dialect, plan.mode.kind, plan.parallel.world_size, plan.optimizer.lr) == ("swift", "pretrain", 4, 2e-5)


def test_unknown_keys(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "typo.sh", "megatron sft --model Qwen/Qwen2.5-7B --dataset d.jsonl "
                                              "--train_iters 10 --learning_rate 1e-5 --global_batch_sise 32\n"))
    said = {n.data.get("key"): n for n in notes(plan, "ignored-key")}
    # a `swift sft` argument: named as such, with Megatron-SWIFT's own key, never suggested from plain swift's keys
    assert said["learning_rate"].data.get("suggestion") == "lr"
    assert said["learning_rate"].data.get("severity") == "error"
    typo = said["global_batch_sise"]
    assert typo.data.get("suggestion") == "global_batch_size"
    # `--learning_rate` sets nothing; with no release named the lr default is not agreed (1e-5 until 3.6, by tuner)
    assert plan.optimizer.lr is None and "optimizer.lr" in plan.unknown


def test_key_of_another_release_is_named(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "old.sh", "megatron sft --load q-mcore --dataset d.jsonl --max_epochs 1 "
                                             "--save out\n"), trainer_versions=judged("ms-swift=4.2.0"))
    messages = " ".join(n.message for n in notes(plan))
    assert "max_epochs" in messages and "num_train_epochs" in messages



def test_model_name_is_the_self_cognition_name_not_the_weights(tmp_path) -> None:
    # Held-out review 123, B 05 (lataudio's megatron_train.sh, reduced): `--model_name swift-robot` beside `--model`;
    # the HF launch reading copied it to `model_name_or_path`, then "an argument of `swift sft`" (an error).
    script = write(tmp_path, "megatron_train.sh", "megatron sft --model Qwen/Qwen3-8B --dataset d.jsonl "
                                                  "--train_type lora --lr 1e-4 --micro_batch_size 1 "
                                                  "--global_batch_size 16 --model_author swift --model_name swift-robot\n")
    plan = plan_of(script)
    assert not [n for n in notes(plan, "ignored-key") if "model_name" in str(n.data.get("key"))]


def test_degrees_beyond_one_node_leave_the_node_count_to_the_caller(tmp_path: Path) -> None:
    # held-out review 132, B 18 (an "8node" Qwen3-235B-A22B launch): NPROC_PER_NODE=8 and no NNODES, the job's
    # environment giving the nodes; tp 4 × cp 16 was judged on one node's 8 GPUs (a false PD405 error)
    launch = ("NPROC_PER_NODE=8 megatron sft --model Qwen/Qwen3-235B-A22B --dataset d.jsonl "
              "--tensor_model_parallel_size 4 --context_parallel_size 16 --train_iters 100\n")
    plan = plan_of(write(tmp_path / "a", "8node.sh", launch))
    assert plan.parallel.world_size is None and "caller's environment" in plan.unknown["parallel.world_size"]
    assert findings(plan, "PD405") == []
    # the script's own NNODES, or degrees one node holds, keep the product and the check
    nodes = plan_of(write(tmp_path / "b", "2node.sh", "NNODES=2 " + launch))
    assert nodes.parallel.world_size == 16 and [f.severity for f in findings(nodes, "PD405")] == ["error"]
    one = plan_of(write(tmp_path / "c", "1node.sh", launch.replace("--context_parallel_size 16", "--context_parallel_size 2")))
    assert one.parallel.world_size == 8 and findings(one, "PD405") == []
