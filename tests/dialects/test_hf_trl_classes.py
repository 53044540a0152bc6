"""TRL online-RL configs (GRPOConfig, RLOOConfig, PPOConfig, OnlineDPOConfig) are read as online RL,
not as DPO, although they share `beta`/`loss_type`/`max_prompt_length` with DPOConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import findings, judged, notes, plan_of, reported, write

BASE = """
model_name_or_path: Qwen/Qwen2.5-7B-Instruct
output_dir: out
per_device_train_batch_size: 4
learning_rate: 3.0e-6
bf16: true
beta: 0.04
"""


@pytest.mark.parametrize("extra, method, key", [
    ("num_generations: 8\nloss_type: dr_grpo\nmax_prompt_length: 512\n", "grpo", "num_generations"),
    ("rloo_k: 4\n", "rloo", "rloo_k"),
    ("num_ppo_epochs: 4\nvf_coef: 0.1\nreward_model_path: rm\n", "ppo", "vf_coef"),
    ("judge: pair_rm\nmax_new_tokens: 64\n", "online_dpo", "judge"),
    ("use_vllm: true\nvllm_mode: colocate\n", "grpo", "use_vllm"),
    # held-out review 73, A 07: a GRPO recipe carrying OnlineDPOConfig's `max_new_tokens` beside its own keys
    ("max_new_tokens: 8129\nnum_generations: 16\n", "grpo", "num_generations"),
    ("max_new_tokens: 64\n", "online_dpo", "max_new_tokens"),
])
def test_online_rl_class_is_read_from_its_keys(tmp_path: Path, extra: str, method: str, key: str) -> None:
    plan = plan_of(write(tmp_path, "c.yaml", BASE + extra))
    assert plan.mode.kind == plan.objective.kind == "online_rl"
    assert plan.mode.rl_method == method and plan.mode.preference_method is None
    assert plan.sources["mode.rl_method"].key == key


def test_a_generation_length_alone_is_no_online_run(tmp_path: Path) -> None:
    # held-out review 127, A 12: qlora.py's `--max_new_tokens 32` (Seq2SeqTrainer's generation at evaluation), with no
    # preference `beta`, read as online DPO
    plan = plan_of(write(tmp_path, "c.yaml", BASE.replace("beta: 0.04\n", "") + "max_new_tokens: 32\n"))
    assert plan.mode.kind != "online_rl" and plan.mode.rl_method is None


def test_dpo_keys_alone_stay_dpo(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "c.yaml", BASE + "loss_type: sigmoid\nmax_prompt_length: 512\n"))
    assert plan.mode.kind == "preference" and plan.mode.preference_method == "sigmoid"
    assert findings(plan, "PD103") == []  # 3e-6: inside the DPO band
    hot = plan_of(write(tmp_path, "d.yaml", BASE.replace("3.0e-6", "2.0e-5")))
    assert [f.code for f in findings(hot, "PD103")] == ["PD103"]


def test_a_shared_generation_key_alone_in_an_offline_methods_file_is_no_online_run(tmp_path: Path) -> None:
    # held-out review 61, A 21: `src/configs/dpo/Qwen2.5-7B-Instruct.yaml` carries GRPO's `log_completions`, which
    # DPOConfig drops: a DPO run, not GRPO
    plan = plan_of(write(tmp_path, "configs/dpo/qwen.yaml", BASE + "log_completions: true\n"))
    assert plan.mode.kind == "preference" and plan.mode.rl_method is None
    assert plan_of(write(tmp_path, "configs/x/qwen.yaml", BASE + "log_completions: true\n")).mode.rl_method == "grpo"
    marked = plan_of(write(tmp_path, "configs/dpo/grpo.yaml", BASE + "num_generations: 8\n"))
    assert marked.mode.rl_method == "grpo"  # a GRPO-only key decides, wherever the file lies


@pytest.mark.parametrize("loss", ["nll", "dft"])
def test_sftconfigs_own_loss_type_is_no_preference_loss(tmp_path: Path, loss: str) -> None:
    # held-out review 63, A 04: TRL 0.26's SFTConfig `loss_type: nll` (its default) read as preference tuning
    plan = plan_of(write(tmp_path, "sft.yaml", BASE.replace("beta: 0.04\n", "") + f"loss_type: {loss}\n"))
    assert plan.mode.kind == "full_finetune" and plan.mode.preference_method is None


def test_grpo_is_not_judged_by_the_dpo_lr_band(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "c.yaml", BASE.replace("3.0e-6", "2.0e-5") + "num_generations: 16\n"))
    assert plan.mode.rl_method == "grpo" and findings(plan, "PD103") == []


def test_path_names_the_trainer_only_as_a_whole_word(tmp_path: Path) -> None:
    plain = BASE.replace("beta: 0.04\n", "")
    assert plan_of(write(tmp_path, "recipes/grpo/config.yaml", plain)).mode.rl_method == "grpo"
    assert plan_of(write(tmp_path, "xpo/online.yaml", plain + "judge: pair_rm\n")).mode.rl_method == "xpo"
    assert plan_of(write(tmp_path, "support/config.yaml", plain)).mode.kind == "full_finetune"


def test_grpo_lr_default_is_trl_s(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "c.yaml", BASE.replace("learning_rate: 3.0e-6\n", "") + "num_generations: 8\n"))
    assert plan.optimizer.lr == 1e-6 and "GRPOConfig" in plan.sources["optimizer.lr"].note


def test_grpo_with_peft_keeps_the_adapter_rank(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "c.yaml", BASE + "num_generations: 8\nuse_peft: true\nlora_r: 32\n"))
    assert plan.mode.kind == "online_rl" and plan.mode.lora_rank == 32


GRPO = ("model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\nlearning_rate: 1.0e-6\nper_device_train_batch_size: 4\n"
        "gradient_accumulation_steps: 2\nnum_generations: 8\ngeneration_batch_size: 64\nreward_funcs: [accuracy]\n")


def test_grpo_sampling_is_read_with_trl_defaults(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "grpo.yaml", GRPO.replace("num_generations: 8\n", "")))
    assert plan.batch.generations == 8 and "GRPOConfig default" in plan.sources["batch.generations"].note
    assert plan.batch.generation_batch_size == 64 and plan.eval.micro_batch_size == 8


def test_grpo_sampling_follows_the_judged_trl(tmp_path: Path) -> None:
    path = write(tmp_path, "grpo.yaml", GRPO)
    # 0.15-0.16 group the completions of one step; generation_batch_size is no key of theirs
    old = plan_of(path, trainer_versions=judged("trl=0.16.0"))
    assert old.batch.steps_per_generation == 1 and old.batch.generation_batch_size is None
    # 0.14 samples num_generations for each prompt with no constraint: nothing read
    assert plan_of(path, trainer_versions=judged("trl=0.14.0")).batch.generations is None


def test_a_launched_program_of_its_own_keeps_num_generations_as_an_assumption(tmp_path: Path) -> None:
    """Held-out review 48, A 18: wd1's diffusion GRPO (run_train.py on TRL 0.16) has its own generation_batch_size."""
    config = write(tmp_path, "train.yaml", GRPO)
    script = write(tmp_path, "run.sh", f"accelerate launch --num_processes 4 run_train.py --config {config.name}\n")
    plan = plan_of(script, dialect="hf")
    assert plan.batch.generations == 8 and plan.batch.generation_batch_size is None
    assert "batch.generations" in plan.program.assumed
    # held-out review 61, A 12: a program of its own may run a trainer of its own, which checks nothing: an info
    sixteen = GRPO.replace("generation_batch_size: 64\n", "").replace("num_generations: 8", "num_generations: 16")
    write(tmp_path, "odd.yaml", sixteen)
    odd = plan_of(write(tmp_path, "run3.sh", "accelerate launch --num_processes 7 grpo_cache.py --config odd.yaml\n"),
                  dialect="hf")
    assert [f.severity for f in reported(odd, "PD406")] == ["info"]
    opened = plan_of(write(tmp_path, "run2.sh", f"accelerate launch src/open_r1/grpo.py --config {config.name}\n"),
                     dialect="hf")
    assert opened.batch.generation_batch_size == 64 and "batch.generations" not in opened.program.assumed


def test_a_launch_naming_trl_keys_of_two_eras_warns_of_the_older_one(tmp_path: Path) -> None:
    """Held-out review 53, A 20: the YAML's `vllm_device: auto` (gone in TRL 0.18) under a command line's
    `--vllm_mode server` (new in 0.18): the TRL that reads the newer key stops at the older one."""
    write(tmp_path, "grpo.yaml", GRPO.replace("generation_batch_size: 64\n", "") + "use_vllm: true\nvllm_device: auto\n")
    script = write(tmp_path, "run.sh", "accelerate launch --num_processes 4 FedGRPO.py --config grpo.yaml "
                   "--vllm_mode server\n")
    plan = plan_of(script, dialect="hf")
    [note] = [n for n in plan.notes if n.data.get("key") == "vllm_device"]
    # TrlParser drops an undeclared key before 0.19 and stops at it since (#3543): 0.18 runs without it, an info
    # (held-out review 66, A 15: `vllm_max_model_len` beside `vllm_mode` on TRL 0.18)
    assert note.data["severity"] == "info" and "`vllm_mode` needs TRL 0.18" in note.message
    assert "TRL 0.18 drops it silently" in note.message and "stops at it from 0.19 on" in note.message
    # one era only: nothing to say
    older = plan_of(write(tmp_path, "run2.sh", "accelerate launch FedGRPO.py --config grpo.yaml\n"), dialect="hf")
    assert not [n for n in older.notes if n.data.get("key") == "vllm_device"]


def test_weights_loaded_in_bf16_on_plain_multi_gpu_train_in_pure_bf16(tmp_path: Path) -> None:
    # held-out review 61, A 06: a GRPO recipe with `torch_dtype: bfloat16` and `bf16: true` beside an accelerate
    # MULTI_GPU config: AdamW updates bf16 weights (DeepSpeed's bf16 engine and FSDP keep an fp32 copy)
    from pretrain_doctor.check.engine import load_plan

    config = write(tmp_path, "run/config_demo.yaml", BASE + "torch_dtype: bfloat16\nnum_generations: 8\n")
    assert [f.severity for f in findings(load_plan(config)[2], "PD302")] == []  # launched how: unknown
    accelerate = "compute_environment: LOCAL_MACHINE\ndistributed_type: {}\nmixed_precision: bf16\nnum_processes: 2\n"
    write(tmp_path, "run/multi.yaml", accelerate.format("MULTI_GPU"))
    plan = load_plan(config)[2]
    assert plan.precision.params == "bf16" and plan.precision.mixed is False
    [finding] = findings(plan, "PD302")
    assert finding.severity == "warning" and "drop `torch_dtype`" in finding.hint
    write(tmp_path, "run/multi.yaml", accelerate.format("DEEPSPEED") + "deepspeed_config:\n  zero_stage: 2\n")
    assert findings(load_plan(config)[2], "PD302") == []
    # fp16 weights under bf16 autocast (held-out review 70, A 12): fp16 weights, no fp32 copy, no loss scaling
    write(tmp_path, "run/multi.yaml", accelerate.format("MULTI_GPU"))
    fp16 = write(tmp_path, "run/config_fp16.yaml", BASE + "torch_dtype: float16\nnum_generations: 8\n")
    plan = load_plan(fp16)[2]
    assert plan.precision.compute == "bf16" and plan.precision.params == "fp16"
    assert "fp16" in findings(plan, "PD302")[0].message


def test_grpo_through_adapters_launched_by_a_script_is_not_asked_for_a_held_out_loss(tmp_path: Path) -> None:
    # held-out review 63, A 10: `accelerate launch train.py ./configs/grpo.yaml` with `use_peft: true`: the plan's run
    # kind is the adapters', its method GRPO; PD702 spoke on the script though not on the YAML
    write(tmp_path, "grpo.yaml", GRPO + "use_peft: true\nlora_r: 64\n")
    plan = plan_of(write(tmp_path, "train.sh", "accelerate launch train.py grpo.yaml\n"), dialect="hf")
    assert plan.mode.rl_method == "grpo" and findings(plan, "PD702") == []


def test_an_eval_interval_set_twice_where_the_run_does_not_evaluate_is_an_info(tmp_path: Path) -> None:
    # held-out review 64, A 08: `eval_steps` twice beside `eval_strategy: "no"`: the dropped value times nothing
    from pretrain_doctor.check import check_paths
    from pretrain_doctor.settings import CheckOptions

    text = BASE + 'eval_strategy: "no"\neval_steps: 50\nnum_train_epochs: 1\neval_steps: 100\n'
    report = check_paths([write(tmp_path, "a.yaml", text)], CheckOptions(use_settings=False))
    [twice] = [f for f in report.findings if "set twice" in f.message]
    assert twice.severity == "info" and "evaluation is off" in twice.message
    # where it evaluates, the dropped interval changes how often, not a step of training (held-out review 117, D 09)
    report = check_paths([write(tmp_path, "b.yaml", text.replace('"no"', "steps"))], CheckOptions(use_settings=False))
    [often] = [f for f in report.findings if "set twice" in f.message]
    assert often.severity == "info" and "how often the run evaluates" in often.message
    # held-out review 81, A 12: `save_total_limit` twice keeps 3 checkpoints where 5 were meant, training unchanged
    report = check_paths([write(tmp_path, "c.yaml", BASE + "save_total_limit: 5\nsave_total_limit: 3\n")],
                         CheckOptions(use_settings=False))
    [twice] = [f for f in report.findings if "set twice" in f.message]
    assert twice.severity == "info" and "how many checkpoints stay on disk" in twice.message
    # held-out review 108, D 11: `--output_dir` twice, the later path the one meant: where it writes, not how it trains
    launch = write(tmp_path, "d.sh", "torchrun train.py --model_name_or_path m/x --output_dir out "
                                     "--learning_rate 1e-5 --output_dir out/run1\n")
    report = check_paths([launch], CheckOptions(use_settings=False))
    [twice] = [f for f in report.findings if "given twice" in f.message]
    assert twice.severity == "info" and "where the run writes" in twice.message
    # held-out review 113, D 02: the later value written earlier, in a variable the command expands after its own
    # flags (`extra_args="--save_strategy steps ..."`): an override the script means
    override = write(tmp_path, "e.sh", 'extra_args="--save_strategy steps --save_steps 50"\n'
                                       "torchrun train.py --model_name_or_path m/x --output_dir out \\\n"
                                       "    --save_strategy epoch --learning_rate 1e-5 ${extra_args}\n")
    report = check_paths([override], CheckOptions(use_settings=False))
    [twice] = [f for f in report.findings if "given twice" in f.message]
    assert twice.severity == "info" and "an override it means" in twice.message


def test_an_sft_files_trl_keys_leave_its_precision_to_the_release(tmp_path: Path) -> None:
    # held-out review 64, A 14: SFTConfig reads `max_length` from TRL 0.16 (held-out review 85, A 01: not 0.20), and
    # from 0.19 turns bf16 on when fp16 is unset: beside an accelerate DeepSpeed plugin with `mixed_precision: bf16`,
    # a ValueError before 0.19 only (an info that says so: review 127, A 01), none at a judged 0.19
    from pretrain_doctor.check.engine import load_plan
    from pretrain_doctor.settings import CheckOptions

    body = "model_name_or_path: Qwen/Qwen2.5-7B-Instruct\noutput_dir: o\nlearning_rate: 2.0e-5\n" \
           "per_device_train_batch_size: 4\n"
    write(tmp_path, "run/zero3.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                                      "deepspeed_config:\n  zero_stage: 3\nmixed_precision: bf16\nnum_processes: 2\n")

    def plugin_notes(plan) -> list:
        return [n.data.get("severity") for n in plan.notes if n.data.get("code") == "PD303"]

    plan = load_plan(write(tmp_path, "run/sft.yaml", body + "max_length: 8192\n"))[2]
    assert plan.precision.compute is None and plugin_notes(plan) == ["info"]
    new = load_plan(tmp_path / "run/sft.yaml", CheckOptions(trainer_versions=(("trl", "0.19.0"),)))[2]
    assert new.precision.bf16_enabled is True and plugin_notes(new) == []
    # `max_seq_length` (until 0.20) pins no release either; at a judged 0.18 the mismatch stands (review 46, A 08)
    write(tmp_path, "run/sft.yaml", body + "max_seq_length: 1024\n")
    assert plugin_notes(load_plan(tmp_path / "run/sft.yaml")[2]) == ["info"]
    old = load_plan(tmp_path / "run/sft.yaml", CheckOptions(trainer_versions=(("trl", "0.18.0"),)))[2]
    assert plugin_notes(old) == ["error"]


def test_a_launch_beside_that_omits_the_config_leaves_its_precision_to_the_program(tmp_path: Path) -> None:
    # held-out review 68, A 03: `accelerate launch --config_file=$DEEPSPEED train.py --dataset_path ...` never hands
    # the JSON beside it over; train.py reads it itself and sets `bf16=True`: no certain ValueError, an info
    from pretrain_doctor.check.engine import load_plan

    write(tmp_path, "run/zero3.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                                      "deepspeed_config:\n  zero_stage: 3\nmixed_precision: bf16\nnum_processes: 8\n")
    config = write(tmp_path, "run/cpt_config.json", '{"model_name_or_path": "CohereLabs/aya-expanse-32b", '
                                                    '"output_dir": "o", "learning_rate": 1e-5, "max_steps": 200}')

    def plugin_severities(plan) -> list:
        return [n.data.get("severity") for n in load_plan(config)[2].notes if n.data.get("code") == "PD303"]

    assert plugin_severities(config) == ["error"]  # nothing says the program reads the JSON its own way
    write(tmp_path, "run/train_all.sh", 'CONFIG="cpt_config.json"\nDEEPSPEED="zero3.yaml"\n'
                                        'accelerate launch --config_file=$DEEPSPEED train.py --dataset_path d.jsonl\n')
    assert plugin_severities(config) == ["info"]
    write(tmp_path, "run/train_all.sh", 'accelerate launch --config_file zero3.yaml train.py cpt_config.json\n')
    assert plugin_severities(config) == ["error"]  # the launch hands it over: the Trainer's bf16 is the file's


def test_a_config_checked_alone_takes_the_process_count_its_launch_script_gives(tmp_path: Path) -> None:
    # open-r1 GRPO (held-out review 66, A 14): `accelerate launch --num_processes=7` (the 8th GPU serves vLLM) over
    # an accelerate YAML of 8 processes; the YAML checked alone judged 1 × 8 × 8 completions against 7 generations
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    write(tmp_path, "zero2.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                                  "deepspeed_config:\n  zero_stage: 2\nmixed_precision: bf16\nnum_machines: 1\n"
                                  "num_processes: 8\n")
    write(tmp_path, "grpo.yaml", "model_name_or_path: Qwen/Qwen2.5-7B-Instruct\nlearning_rate: 1.0e-6\n"
                                 "per_device_train_batch_size: 1\ngradient_accumulation_steps: 8\nnum_generations: 7\n"
                                 "use_vllm: true\nreward_funcs: [accuracy]\nbf16: true\n")
    alone = check_paths([tmp_path / "grpo.yaml"], CheckOptions(use_settings=False))
    [pd406] = [f for f in alone.findings if f.code == "PD406"]  # 8 processes: 64 % 7
    # ... an info since held-out review 98, A 23 (14 generations, 7 processes): the YAML's 8 processes, less the one
    # vLLM takes, divide
    assert pd406.severity == "info" and "with 7 processes, the launch that leaves one GPU to vLLM" in pd406.message
    write(tmp_path, "run.sh", "accelerate launch --config_file zero2.yaml --num_processes=7 src/open_r1/grpo.py "
                              "--config grpo.yaml\n")
    launched = check_paths([tmp_path], CheckOptions(use_settings=False))
    assert not [f for f in launched.findings if f.code == "PD406"]
    [result] = [r for r in launched.files if r.path.endswith("grpo.yaml")]
    assert any("world size 7 that" in notice for notice in result.notices)
    six_generations = tmp_path.parent / "pd406-six-generations"
    write(six_generations, "zero2.yaml", (tmp_path / "zero2.yaml").read_text())
    write(six_generations, "grpo.yaml", (tmp_path / "grpo.yaml").read_text().replace("num_generations: 7",
                                                                                    "num_generations: 6"))
    [six] = [f for f in check_paths([six_generations / "grpo.yaml"], CheckOptions(use_settings=False)).findings
             if f.code == "PD406"]
    assert six.severity == "warning"  # 64 % 6 and 56 % 6: no launch of these processes divides


def test_reward_weights_one_short_of_the_reward_funcs(tmp_path: Path) -> None:
    # an open-r1 fork (held-out review 66, A 11): three reward functions, two weights: GRPOTrainer stops at start
    recipe = GRPO.replace("reward_funcs: [accuracy]\n", "reward_funcs: [accuracy, tag_count, entropy]\n")
    [note] = notes(plan_of(write(tmp_path, "a.yaml", recipe + "reward_weights: [1.0, 0.5]\n")), "mutually-exclusive")
    assert note.data["severity"] == "warning" and "Number of reward weights (2)" in note.message
    assert notes(plan_of(write(tmp_path, "b.yaml", recipe + "reward_weights: [1.0, 0.5, 0.1]\n")),
                 "mutually-exclusive") == []


def test_a_default_finding_the_launch_script_already_said_is_not_repeated_for_its_config(tmp_path: Path) -> None:
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    write(tmp_path, "grpo.yaml", GRPO + "max_steps: 500\n")
    write(tmp_path, "train.sh", "accelerate launch --num_processes 4 src/open_r1/grpo.py --config grpo.yaml\n")
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    assert [Path(f.file).name for f in report.findings if f.code == "PD802"] == ["train.sh"]


def test_max_length_is_no_key_of_the_group_relative_class(tmp_path: Path) -> None:
    # held-out review 68, A 12: open-r1's GRPO recipe with `max_length: 16384` and no `max_completion_length`; no
    # GRPOConfig declares it, so it was not the sequence length (completions stayed at 256)
    from pretrain_doctor.check.engine import load_plan

    body = "model_name_or_path: Qwen/Qwen2.5-7B-Instruct\noutput_dir: o\nlearning_rate: 1.0e-6\n" \
           "num_generations: 7\nper_device_train_batch_size: 2\nmax_prompt_length: 2048\n"
    plan = load_plan(write(tmp_path, "grpo/a.yaml", body + "max_length: 16384\n"))[2]
    assert plan.mode.rl_method == "grpo" and plan.batch.seq_len is None
    [note] = [n for n in plan.notes if n.data.get("key") == "max_length"]
    assert "GRPOConfig" in note.message and note.data["severity"] == "info"
    # held-out review 136, B 13: the program's source is not at hand, and a fork's own dataclass may declare it
    assert "unless the program's own arguments declare it" in note.message
    plan = load_plan(write(tmp_path, "grpo/b.yaml", body + "max_completion_length: 1024\n"))[2]
    assert plan.batch.seq_len == 3072 and not [n for n in plan.notes if n.data.get("key") == "max_length"]
    # a DPO file's `max_length` is its sequence, as before
    dpo = "model_name_or_path: m\noutput_dir: o\nlearning_rate: 5.0e-7\nbeta: 0.1\nmax_prompt_length: 512\n"
    assert load_plan(write(tmp_path, "dpo/c.yaml", dpo + "max_length: 1024\n"))[2].batch.seq_len == 1024
