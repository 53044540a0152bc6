"""An interval of 0 is read as its trainer reads it, never a refusal of the whole file (held-out review 11, A 21)."""

from __future__ import annotations

from .helpers import findings, plan_of, write

# Reduced from held-out review 11, A 21 (spirlness/litgpt_project@705ce38 configs/kaggle_t4_ddp.yaml): a litgpt
# fork's file (`checkpointing:`, `optimization:` are its own sections) whose run_train.py reads `eval.interval`
# with default 0 and 0 as "no periodic eval".
FORK = """\
    out_dir: ./checkpoints
    precision: 16-mixed
    train:
      global_batch_size: 128
      micro_batch_size: 4
      max_tokens: 1000000000
      save_interval: 250
    eval:
      interval: 0
      final_validation: false
    checkpointing:
      upload_to_hf: false
    optimization:
      compile: false
    """

UPSTREAM = """\
    checkpoint_dir: checkpoints/meta-llama/Llama-2-7b-hf
    out_dir: out/finetune/lora
    precision: bf16-true
    train:
      global_batch_size: 16
      micro_batch_size: 1
      epochs: 1
      save_interval: {save}
    eval:
      interval: {interval}
    """


def test_a_litgpt_forks_eval_interval_0_is_eval_off(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "kaggle_t4_ddp.yaml", FORK), "litgpt")
    assert plan.eval.enabled is False and plan.eval.interval_steps is None
    assert plan.sources["eval.enabled"].line == 9 and "fork" in plan.sources["eval.enabled"].note
    assert "eval.enabled" in plan.program.assumed
    assert plan.checkpoint.interval_steps == 250 and plan.checkpoint.enabled is True


def test_upstream_litgpt_divides_by_its_interval_so_0_is_an_error_at_the_line(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "lora.yaml", UPSTREAM.format(save=100, interval=0)), "litgpt")
    assert plan.eval.interval_steps is None and "eval.interval_steps" in plan.unknown
    (finding,) = [f for f in findings(plan, "PD002") if "ZeroDivisionError" in f.message]
    assert finding.severity == "error" and finding.line == 10


def test_litgpt_save_interval_null_saves_no_periodic_checkpoint(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "lora.yaml", UPSTREAM.format(save="null", interval=50)), "litgpt")
    assert plan.checkpoint.enabled is False and plan.sources["checkpoint.enabled"].line == 8
    assert plan.eval.interval_steps == 50


def test_hf_eval_steps_0_is_logging_steps_and_save_steps_0_saves_at_no_step(tmp_path) -> None:
    # transformers TrainingArguments.__post_init__: `eval_steps is None or == 0` takes logging_steps;
    # DefaultFlowCallback saves only while `save_steps > 0`.
    plan = plan_of(write(tmp_path, "train.yaml", """\
        model_name_or_path: gpt2
        output_dir: out
        num_train_epochs: 1
        learning_rate: 1.0e-5
        eval_strategy: steps
        eval_steps: 0
        logging_steps: 20
        save_steps: 0
        """), "hf")
    assert plan.eval.enabled is True and plan.eval.interval_steps == 20
    assert plan.sources["eval.interval_steps"].key == "logging_steps"
    assert plan.checkpoint.enabled is False and plan.sources["checkpoint.enabled"].line == 8


def test_megatron_eval_interval_0_is_eval_off(tmp_path) -> None:
    # training.py: `if args.eval_interval and iteration % args.eval_interval == 0`.
    plan = plan_of(write(tmp_path, "run.sh", """\
        #!/bin/bash
        torchrun pretrain_gpt.py --num-layers 2 --hidden-size 64 --num-attention-heads 2 --seq-length 128 \\
          --max-position-embeddings 128 --micro-batch-size 2 --global-batch-size 8 --lr 1e-4 --train-iters 100 \\
          --eval-interval 0 --data-path x --save-interval 50 --save ck
        """), "megatron")
    assert plan.eval.enabled is False and plan.eval.interval_steps is None
