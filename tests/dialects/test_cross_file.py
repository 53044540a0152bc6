"""Files referenced by an HF config: the DeepSpeed JSON, the accelerate launcher config, and `--merge`."""

from __future__ import annotations

from typer.testing import CliRunner

from pretrain_doctor.cli import app
from pretrain_doctor.errors import UsageError
from pretrain_doctor.dialects.shared import resolve_interpolations
from pretrain_doctor.config.loader import load_document

from .helpers import findings, judged, plan_of, write

HF = """
model_name_or_path: meta-llama/Llama-3.2-1B
per_device_train_batch_size: 4
gradient_accumulation_steps: 2
learning_rate: 2.0e-5
output_dir: out
bf16: true
"""
ACCELERATE = """
compute_environment: LOCAL_MACHINE
distributed_type: DEEPSPEED
deepspeed_config:
  zero_stage: 3
mixed_precision: fp16
num_processes: 8
"""


def test_hf_deepspeed_json_lacking_clipping(tmp_path) -> None:
    write(tmp_path, "ds.json", '{"zero_optimization": {"stage": 2}, "fp16": {"enabled": true}}')
    plan = plan_of(write(tmp_path, "sft.yaml", HF + "deepspeed: ds.json\n"), dialect="hf")
    assert plan.clipping.ignored_by == "deepspeed"  # max_grad_norm defaults to 1.0 and is dropped
    assert len(findings(plan, "PD206")) == 1
    assert plan.precision.declared_by == {"trainer": "bf16", "deepspeed": "fp16"}
    assert findings(plan, "PD303")


def test_the_deepspeed_jsons_loss_scaling_is_the_fp16_runs(tmp_path) -> None:
    # Held-out review 13 A 14 (bitnet158's ds_config.json beside an HF Trainer script): DeepSpeed's engine scales
    # the fp16 loss as its fp16 block says, so a static `loss_scale: 1.0` there is the run's (PD304).
    fp16 = HF.replace("bf16: true", "fp16: true")
    write(tmp_path, "ds.json", '{"gradient_clipping": 1.0, "fp16": {"enabled": "auto", "loss_scale": 1.0, '
          '"min_loss_scale": 1}}')
    plan = plan_of(write(tmp_path, "fp16.yaml", fp16 + "deepspeed: ds.json\n"), dialect="hf")
    assert plan.precision.loss_scale == 1.0 and plan.precision.min_loss_scale == 1
    [static] = findings(plan, "PD304")
    assert "static loss scale 1" in static.message and static.file.endswith("ds.json")
    # a bf16 run never uses the fp16 block; a block switched off says nothing either
    assert not findings(plan_of(write(tmp_path, "bf16.yaml", HF + "deepspeed: ds.json\n"), dialect="hf"), "PD304")
    write(tmp_path, "off.json", '{"gradient_clipping": 1.0, "fp16": {"enabled": false, "loss_scale": 1.0}}')
    assert plan_of(write(tmp_path, "off.yaml", fp16 + "deepspeed: off.json\n"), dialect="hf").precision.loss_scale is None


def test_a_scheduler_in_the_deepspeed_json_replaces_lr_scheduler_type(tmp_path) -> None:
    # Held-out reviews 3 and 4 (a Qwen-VL-style finetune script and a Firefly config): the JSON's WarmupLR
    # replaces the Trainer's cosine (transformers builds no scheduler then): warm up, then a constant lr.
    write(tmp_path, "ds.json", '{"gradient_clipping": 1.0, "scheduler": {"type": "WarmupLR", "params": '
          '{"warmup_min_lr": "auto", "warmup_max_lr": "auto", "warmup_num_steps": "auto"}}}')
    plan = plan_of(write(tmp_path, "sft.yaml", HF + "deepspeed: ds.json\nlr_scheduler_type: cosine\nwarmup_ratio: 0.03\n"),
                   dialect="hf")
    assert plan.schedule.kind == "constant_with_warmup" and plan.schedule.warmup_ratio == 0.03
    [ignored] = [f for f in findings(plan, "PD002") if "lr_scheduler_type" in f.message]
    assert "WarmupLR" in ignored.message and ignored.severity == "warning"
    # a constant lr with no warmup to give is the same constant after WarmupLR's least 2 steps (held-out review
    # 68, A 16): an info; a warmup the Trainer's `constant` would skip is a change again
    constant = HF + "deepspeed: ds.json\nlr_scheduler_type: constant\n"
    for extra, severity in (("warmup_steps: 0\n", "info"), ("warmup_steps: 200\n", "warning"),
                            ("warmup_ratio: 0.03\n", "warning")):
        plan = plan_of(write(tmp_path, "c.yaml", constant + extra), dialect="hf")
        [ignored] = [f for f in findings(plan, "PD002") if "lr_scheduler_type" in f.message]
        assert ignored.severity == severity, extra
    # a cosine under WarmupDecayLR decays over the run all the same: only the curve differs (held-out review 115, A 08)
    write(tmp_path, "decay.json", '{"scheduler": {"type": "WarmupDecayLR", "params": {"warmup_num_steps": "auto", '
          '"total_num_steps": "auto", "warmup_max_lr": "auto"}}}')
    plan = plan_of(write(tmp_path, "d.yaml", HF + "deepspeed: decay.json\nlr_scheduler_type: cosine\n"), dialect="hf")
    [ignored] = [f for f in findings(plan, "PD002") if "lr_scheduler_type" in f.message]
    assert ignored.severity == "info" and "only the curve's shape differs" in ignored.message


def test_a_scheduler_deepspeed_refuses_leaves_the_warmup_unknown(tmp_path) -> None:
    # Held-out review 53, A 17: WarmupCosineLR given WarmupDecayLR's warmup_min_lr: the run stops at start-up, so
    # "no warmup" (PD104) is no fact of it
    write(tmp_path, "ds.json", '{"gradient_clipping": 1.0, "scheduler": {"type": "WarmupCosineLR", "params": '
          '{"warmup_min_lr": 0, "warmup_max_lr": 5e-6, "warmup_num_steps": "auto", "total_num_steps": "auto"}}}')
    plan = plan_of(write(tmp_path, "sft.yaml", HF + "deepspeed: ds.json\nwarmup_ratio: 0.05\n"), dialect="hf")
    assert "schedule.warmup_steps" in plan.unknown and not findings(plan, "PD104")


def test_a_deepspeed_scheduler_with_its_own_warmup_and_none_at_all(tmp_path) -> None:
    write(tmp_path, "ds.json", '{"scheduler": {"type": "WarmupDecayLR", "params": {"warmup_num_steps": 500, '
          '"total_num_steps": "auto"}}}')
    plan = plan_of(write(tmp_path, "a.yaml", HF + "deepspeed: ds.json\nwarmup_ratio: 0.1\n"), dialect="hf")
    assert plan.schedule.kind == "linear" and plan.schedule.warmup_steps == 500
    assert not [f for f in findings(plan, "PD002") if "lr_scheduler_type" in f.message]
    write(tmp_path, "plain.json", '{"gradient_clipping": 1.0}')
    plan = plan_of(write(tmp_path, "b.yaml", HF + "deepspeed: plain.json\nlr_scheduler_type: cosine\n"), dialect="hf")
    assert plan.schedule.kind == "cosine"


def test_a_deepspeed_scheduler_without_its_required_step_count_stops_the_run(tmp_path) -> None:
    # held-out review 69, A 25: WarmupDecayLR with warmup settings and no `total_num_steps`, which its __init__
    # requires and transformers fills only where written "auto": a TypeError at deepspeed.initialize
    write(tmp_path, "ds.json", '{"scheduler": {"type": "WarmupDecayLR", "params": {"warmup_min_lr": 0, '
          '"warmup_max_lr": 1e-5, "warmup_num_steps": 100}}}')
    plan = plan_of(write(tmp_path, "a.yaml", HF + "deepspeed: ds.json\n"), dialect="hf")
    [stops] = [f for f in findings(plan, "PD002") if "total_num_steps" in f.message]
    assert stops.severity == "error" and "schedule.kind" in plan.unknown and not findings(plan, "PD104")


def test_accelerate_config_flag_gives_world_size(tmp_path) -> None:
    acc = write(tmp_path, "launch/zero3.yaml", ACCELERATE)
    plan = plan_of(write(tmp_path, "sft.yaml", HF), dialect="hf", accelerate_config=acc)
    assert plan.parallel.world_size == 8 and plan.parallel.zero_stage == 3
    assert plan.sources["parallel.world_size"].note == "--accelerate-config"
    assert plan.derived.global_batch.value == 64
    # TrainingArguments writes its bf16 over ACCELERATE_MIXED_PRECISION: the run trains in bf16 and nothing fails
    # (held-out review 44, A 03: an error that the components disagree)
    assert plan.precision.compute == "bf16" and "accelerate" not in (plan.precision.declared_by or {})
    [conflict] = findings(plan, "PD303")
    assert conflict.severity == "info" and "gives way" in conflict.message


def test_world_size_flag_beats_accelerate(tmp_path) -> None:
    acc = write(tmp_path, "zero3.yaml", ACCELERATE)
    plan = plan_of(write(tmp_path, "sft.yaml", HF), dialect="hf", accelerate_config=acc, world_size=2)
    assert plan.parallel.world_size == 2


def test_accelerate_config_found_beside(tmp_path) -> None:
    write(tmp_path, "accelerate.yaml", ACCELERATE)
    plan = plan_of(write(tmp_path, "sft.yaml", HF), dialect="hf")
    assert plan.parallel.world_size == 8


def test_an_accelerate_config_beside_a_config_launched_with_plain_python_is_not_the_runs(tmp_path) -> None:
    # held-out review 77, A 11: test.sh's one live line starts the program with `python`, the accelerate launch
    # beside it commented out: no accelerate config is read, and the world size is not the YAML's 8
    write(tmp_path, "accelerate.yaml", ACCELERATE)
    config = write(tmp_path, "sft.yaml", HF)
    write(tmp_path, "test.sh", "# accelerate launch --config_file accelerate.yaml run_sft.py sft.yaml\n"
                               "python scripts/run_sft.py training_configs/sft.yaml\n")
    assert plan_of(config, dialect="hf").parallel.world_size is None
    write(tmp_path, "test.sh", "accelerate launch --config_file accelerate.yaml scripts/run_sft.py sft.yaml\n")
    assert plan_of(config, dialect="hf").parallel.world_size == 8


def test_an_accelerate_config_beside_is_not_read_by_a_launch_naming_no_config_file(tmp_path) -> None:
    # held-out review 86, B 13: `accelerate launch --num_processes 8 --mixed_precision bf16 train.py ...` reads the
    # machine's default config; the ZeRO-3 YAML beside it is no part of the run
    write(tmp_path, "accelerate.yaml", ACCELERATE)
    config = write(tmp_path, "sft.yaml", HF)
    write(tmp_path, "train.sh", "accelerate launch --num_processes 8 --mixed_precision bf16 train.py sft.yaml\n")
    plan = plan_of(config, dialect="hf")
    assert plan.parallel.zero_stage is None and not findings(plan, "PD303")
    write(tmp_path, "train.sh", "accelerate launch --config_file $ACC train.py sft.yaml\n")  # maybe this one
    assert plan_of(config, dialect="hf").parallel.zero_stage == 3


def test_accelerate_plugin_block_is_matched_on_the_keys_the_plugin_reads(tmp_path) -> None:
    # held-out review 86, B 13: a DeepSpeed JSON's `train_micro_batch_size_per_gpu: 2` written into the plugin block
    # is never read (the plugin builds its config with `auto`); its `gradient_accumulation_steps: 2` is
    write(tmp_path, "accelerate.yaml", ACCELERATE.replace("  zero_stage: 3\n", "  zero_stage: 3\n"
                                                           "  train_micro_batch_size_per_gpu: 2\n"))
    plan = plan_of(write(tmp_path, "sft.yaml", HF), dialect="hf")
    assert not any("train_micro_batch_size_per_gpu" in f.message for f in findings(plan, "PD402"))
    write(tmp_path, "accelerate.yaml", ACCELERATE.replace("  zero_stage: 3\n", "  zero_stage: 3\n"
                                                           "  gradient_accumulation_steps: 4\n"))
    assert "`gradient_accumulation_steps` 4 against" in findings(plan_of(tmp_path / "sft.yaml", dialect="hf"),
                                                                 "PD402")[0].message


def test_interpolation_keeps_unknown_references() -> None:
    from pretrain_doctor.config.document import Document

    doc = Document(path="x.yaml", format="yaml", data={"a": 3, "b": "${a}", "c": "run-${a}", "d": "${nope}"},
                   positions={}, text="${")
    data = resolve_interpolations(doc).data
    assert data == {"a": 3, "b": 3, "c": "run-3", "d": "${nope}"}


def test_cli_merge_flag(tmp_path) -> None:
    model = write(tmp_path, "model.yml", '{"num_layers": 2, "hidden_size": 64, "num_attention_heads": 2, "seq_length": 128}\n')
    train = write(tmp_path, "train.yml", '{"optimizer": {"type": "Adam", "params": {"lr": 0.001}}, '
                                         '"train_micro_batch_size_per_gpu": 4, "train_iters": 1000, "gradient_clipping": 1.0}\n')
    runner = CliRunner()
    merged = runner.invoke(app, ["check", str(model), str(train), "--merge", "--format", "json", "--isolated"])
    assert merged.exit_code in (0, 1), merged.output
    assert '"dialect": "neox"' in merged.output and "merged with" in merged.output
    assert '"files": 1' in merged.output
    separate = runner.invoke(app, ["check", str(model), str(train), "--format", "json", "--isolated"])
    assert '"role": "companion"' in separate.output  # the model fragment alone is a companion
    assert load_document(model).data["num_layers"] == 2


def test_merge_overlays_a_model_file_onto_its_base(tmp_path) -> None:
    # held-out review 58, B 10: OLMo's `base-c4-t5.yaml+models/150m.yaml`, merged in that order by the fork; `--merge`
    # kept the base's 2,500 steps and micro-batch 128, and warned that the warmup was the whole run
    from pretrain_doctor.check.engine import load_merged_plan

    base = write(tmp_path, "base.yaml", "model:\n  d_model: 512\n  n_heads: 8\n  n_layers: 8\n"
                 "  max_sequence_length: 512\noptimizer:\n  name: adamw\n  learning_rate: 1.0e-3\n"
                 "scheduler:\n  name: cosine_with_warmup\n  t_warmup: 2500\nmax_duration: 2500\n"
                 "global_train_batch_size: 256\ndevice_train_microbatch_size: 128\nsave_interval: 5000\n"
                 "data:\n  paths: [a.npy]\n")
    model = write(tmp_path, "models/150m.yaml", "max_duration: 25000\ndevice_train_microbatch_size: 32\n"
                  "model:\n  d_model: 1024\n  n_heads: 16\n  n_layers: 12\n")
    primary, rest, dialect, plan = load_merged_plan([base, model])
    assert dialect.name == "olmo" and rest == []
    assert plan.run.max_steps == 25000 and plan.batch.micro_batch_size == 32 and plan.model.hidden_size == 1024
    assert plan.model.heads == 16 and plan.optimizer.lr == 1e-3  # the base's keys the overlay leaves alone
    assert plan.sources["run.max_steps"].file == str(model) and plan.sources["optimizer.lr"].file == str(base)
    assert not findings(plan, "PD105") and not findings(plan, "PD802")


def test_plan_takes_the_same_cross_file_flags_as_check(tmp_path) -> None:
    import json

    model = write(tmp_path, "model.yml", '{"num_layers": 2, "hidden_size": 64, "num_attention_heads": 2, "seq_length": 128}\n')
    train = write(tmp_path, "train.yml", '{"optimizer": {"type": "Adam", "params": {"lr": 0.001}}, '
                                         '"train_micro_batch_size_per_gpu": 4, "train_iters": 1000}\n')
    runner = CliRunner()
    merged = runner.invoke(app, ["plan", str(model), str(train), "--merge", "--format", "json"])
    assert merged.exit_code == 0, merged.output
    plan = json.loads(merged.output)
    assert plan["dialect"] == "neox" and plan["model"]["layers"] == 2 and plan["optimizer"]["lr"] == 0.001
    refused = runner.invoke(app, ["plan", str(model), str(train)])
    assert isinstance(refused.exception, UsageError) and "--merge" in str(refused.exception)  # main() exits 2

    acc = write(tmp_path, "launch/zero3.yaml", ACCELERATE)
    launched = runner.invoke(app, ["plan", str(write(tmp_path, "sft.yaml", HF)), "--dialect", "hf",
                                   "--accelerate-config", str(acc), "--format", "json"])
    assert launched.exit_code == 0, launched.output
    assert json.loads(launched.output)["parallel"]["world_size"] == 8


def test_unusable_deepspeed_reference_is_not_a_crash(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "sft.yaml", HF + f"deepspeed: {'x' * 5000}.json\n"), dialect="hf")
    assert plan.parallel.deepspeed_config is None


def test_deepspeed_values_that_disagree_with_the_trainers_arguments(tmp_path) -> None:
    # transformers' trainer_config_process compares every non-"auto" value with TrainingArguments and
    # trainer_config_finalize raises on a mismatch (held-out review 44, A 13: micro batch 4 against 12)
    write(tmp_path, "ds.json", '{"train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": "auto",'
                               ' "optimizer": {"type": "AdamW", "params": {"lr": "auto", "weight_decay": 0.001}}}')
    body = HF.replace("batch_size: 4", "batch_size: 12") + "deepspeed: ds.json\nweight_decay: 0.0001\n"
    [mismatch] = findings(plan_of(write(tmp_path, "a.yaml", body), dialect="hf"), "PD402")
    assert mismatch.severity == "error" and "per_device_train_batch_size" in mismatch.message
    assert "weight_decay" in mismatch.message and "gradient_accumulation_steps" not in mismatch.message
    agreeing = body.replace("per_device_train_batch_size: 12", "per_device_train_batch_size: 4").replace(
        "weight_decay: 0.0001", "weight_decay: 0.001")
    assert findings(plan_of(write(tmp_path, "b.yaml", agreeing), dialect="hf"), "PD402") == []
    # TRL's PPO trainer builds its own Accelerator and checks nothing: the JSON's values train, a warning (held-out
    # review 122, B 16: an error "the Trainer refuses to start")
    ppo = body + "num_ppo_epochs: 4\ntotal_episodes: 20000\n"
    [trained] = findings(plan_of(write(tmp_path, "ppo.yaml", ppo), dialect="hf"), "PD402")
    assert trained.severity == "warning" and "own Accelerator" in trained.message


def test_a_deepspeed_json_of_the_era_before_auto_values_is_judged_by_release(tmp_path) -> None:
    # held-out review 112, A 05 (T5-XXL, 2021): a JSON with no "auto" and no batch keys, its optimizer's eps 1e-8 against
    # `adam_epsilon` 1e-6, run on transformers 4.3, whose init_deepspeed kept the JSON's optimizer without a check and
    # wrote `max_grad_norm` into it as `gradient_clipping`: PD402 said the run stops, PD206 that nothing is clipped
    write(tmp_path, "ds.json", '{"fp16": {"enabled": true}, "zero_optimization": {"stage": 2, "cpu_offload": true}, '
                               '"optimizer": {"type": "Adam", "params": {"lr": 3e-5, "eps": 1e-8}}}')
    path = write(tmp_path, "a.yaml", HF + "deepspeed: ds.json\nlearning_rate: 3.0e-5\nadam_epsilon: 1.0e-6\n")
    [mismatch] = findings(plan_of(path, dialect="hf"), "PD402")
    assert mismatch.severity == "warning" and "earlier releases" in mismatch.message
    old = plan_of(path, dialect="hf", trainer_versions=judged("transformers=4.3.0"))
    assert findings(old, "PD402") == [] and findings(old, "PD206") == []
    recent = plan_of(path, dialect="hf", trainer_versions=judged("transformers=4.40.0"))
    assert [f.severity for f in findings(recent, "PD402")] == ["error"] and findings(recent, "PD206")


def test_a_deepspeed_json_block_inside_accelerates_deepspeed_config(tmp_path) -> None:
    # Held-out review 44, A 25 (`deepspeed_config: {zero_optimization: {stage: 3, offload_param: {device: nvme}}}`):
    # the plugin reads only its own keys, so the run gets its default ZeRO-2 and no offload
    nested = ("compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\nnum_processes: 8\n"
              "deepspeed_config:\n  zero_optimization:\n    stage: 3\n    offload_param: {device: nvme}\n"
              "  zero3_init_flag: true\n")
    acc = write(tmp_path, "zero3.yaml", nested)
    plan = plan_of(write(tmp_path, "sft.yaml", HF), dialect="hf", accelerate_config=acc)
    assert plan.parallel.zero_stage == 2 and not plan.parallel.cpu_offload
    [ignored] = [f for f in findings(plan, "PD002") if f.key == "deepspeed_config.zero_optimization"]
    assert ignored.severity == "warning" and "instead of the stage 3" in ignored.message
    # held-out review 38, A 12: a stage-2 block under the default stage 2 loses nothing the run relies on
    same = write(tmp_path, "zero2.yaml", nested.replace("stage: 3\n    offload_param: {device: nvme}", "stage: 2"))
    plan = plan_of(write(tmp_path, "b.yaml", HF), dialect="hf", accelerate_config=same)
    assert [f.severity for f in findings(plan, "PD002") if f.key == "deepspeed_config.zero_optimization"] == ["info"]
    # held-out review 98, A 20: DeepSpeed's offload sections straight in the block, beside the plugin's `zero_stage: 3`
    direct = write(tmp_path, "disk.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                   "num_processes: 2\ndeepspeed_config:\n  zero_stage: 3\n  offload_optimizer:\n    device: disk\n"
                   "  offload_param:\n    device: disk\n")
    plan = plan_of(write(tmp_path, "c.yaml", HF), dialect="hf", accelerate_config=direct)
    [lost] = [f for f in findings(plan, "PD002") if f.key == "deepspeed_config.offload_optimizer"]
    assert lost.severity == "warning" and "no optimizer offload, though the block offloads it to disk" in lost.message
    # held-out review 136, B 13: `accelerate launch` sets every key of the block on its arguments, so a launch
    # option written there (`main_process_port`) is read as that option
    port = write(tmp_path, "port.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                 "num_processes: 2\ndeepspeed_config:\n  zero_stage: 2\n  main_process_port: 29502\n")
    plan = plan_of(write(tmp_path, "d.yaml", HF), dialect="hf", accelerate_config=port)
    assert [f for f in findings(plan, "PD002") if f.key and f.key.startswith("deepspeed_config.")] == []


def test_the_deepspeed_json_an_accelerate_config_names_is_the_runs(tmp_path) -> None:
    # Held-out review 46, A 24/A 25 (`deepspeed_config: {deepspeed_config_file: .../deepspeed_zero2.json}` beside a
    # handbook recipe): the Trainer checks that JSON against its arguments as one `deepspeed:` names (accumulation 8
    # against 16: ValueError at start-up), and its precision is the run's
    write(tmp_path, "ds.json", '{"gradient_accumulation_steps": 8, "fp16": {"enabled": true},'
                               ' "zero_optimization": {"stage": 2}}')
    acc = write(tmp_path, "zero2.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                                        "num_processes: 2\ndeepspeed_config:\n  deepspeed_config_file: /cluster/ds.json\n")
    plan = plan_of(write(tmp_path, "kto.yaml", HF.replace("accumulation_steps: 2", "accumulation_steps: 16")),
                   dialect="hf", accelerate_config=acc)
    assert plan.parallel.zero_stage == 2 and plan.parallel.deepspeed_config.endswith("ds.json")
    [mismatch] = findings(plan, "PD402")
    assert mismatch.severity == "error" and "gradient_accumulation_steps" in mismatch.message
    assert findings(plan, "PD303")  # the JSON's fp16 against the Trainer's bf16


def test_accelerates_deepspeed_plugin_precision_against_a_trainer_that_sets_none(tmp_path) -> None:
    # Held-out review 46, A 08 (alignment-handbook's zero3 accelerate config, `mixed_precision: bf16`, beside a recipe
    # without `bf16: true`): the plugin's DeepSpeed config enables bf16, and the Trainer refuses it at start-up
    acc = write(tmp_path, "zero3.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                                        "mixed_precision: bf16\nnum_processes: 8\ndeepspeed_config:\n  zero_stage: 3\n")
    plan = plan_of(write(tmp_path, "sft.yaml", HF.replace("bf16: true\n", "torch_dtype: bfloat16\n")),
                   dialect="hf", accelerate_config=acc, trainer_versions=judged("trl=0.18"))
    [refused] = findings(plan, "PD303")
    assert refused.severity == "error" and "bf16.enabled=True" in refused.message
    # TRL's ModelConfig key, its release unknown: from 0.19 the config turns bf16 on itself, so refused only before
    # (held-out review 85); an info, as every TRL since June 2025 turns it on (held-out review 127, A 01: a recipe
    # pinning trl>=0.21, judged wrong as a warning)
    plan = plan_of(tmp_path / "sft.yaml", dialect="hf", accelerate_config=acc, trainer_versions=judged())
    [unsure] = findings(plan, "PD303")
    assert unsure.severity == "info" and "before TRL 0.19" in unsure.message
    assert findings(plan_of(write(tmp_path, "ok.yaml", HF), dialect="hf", accelerate_config=acc), "PD303") == []


def test_the_deepspeed_plugins_own_keys_against_the_trainers_arguments(tmp_path) -> None:
    # Held-out review 47, A 01 (accelerate `deepspeed_config: {gradient_clipping: 0.3}` against `max_grad_norm: 0.5`):
    # the plugin writes its keys into the DeepSpeed config it builds, and the Trainer refuses the mismatch
    acc = write(tmp_path, "zero1.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                                        "num_processes: 4\ndeepspeed_config:\n  zero_stage: 1\n  gradient_clipping: 0.3\n")
    plan = plan_of(write(tmp_path, "sft.yaml", HF + "max_grad_norm: 0.5\n"), dialect="hf", accelerate_config=acc)
    [mismatch] = findings(plan, "PD402")
    assert mismatch.severity == "error" and "max_grad_norm" in mismatch.message
    same = plan_of(write(tmp_path, "ok.yaml", HF + "max_grad_norm: 0.3\n"), dialect="hf", accelerate_config=acc)
    assert findings(same, "PD402") == []


def test_the_accelerate_config_beside_a_config_is_looked_for_again_when_the_folder_changes(tmp_path) -> None:
    """The per-folder cache is keyed by the folder's files and their mtimes: a long-lived process (the monitor, an
    editor's linter) sees an accelerate config written after the first check."""
    path = write(tmp_path, "sft.yaml", HF)
    assert plan_of(path, dialect="hf").parallel.world_size is None
    write(tmp_path, "zero3.yaml", ACCELERATE)
    assert plan_of(path, dialect="hf").parallel.world_size == 8


def test_a_file_that_inherits_its_base_is_read_over_it(tmp_path) -> None:
    # held-out review 119, A 07 (QwenMath2026's dpo.yaml: `inherit: base`): LoRA and bf16 live in base.yaml; read alone
    # the DPO file was full-model tuning at 5e-5, a PD103 warning
    write(tmp_path, "base.yaml", """\
        model:
          name: Qwen/Qwen2.5-0.5B-Instruct
        lora:
          r: 8
          lora_alpha: 32
          target_modules: [q_proj, v_proj]
        training:
          bf16: true
          learning_rate: 1.0e-4
          num_train_epochs: 3
          per_device_train_batch_size: 4
          gradient_accumulation_steps: 4
          lr_scheduler_type: cosine
          warmup_ratio: 0.05
          save_steps: 500
        """)
    dpo = write(tmp_path, "dpo.yaml", """\
        inherit: base
        dpo:
          beta: 0.1
        training:
          learning_rate: 5.0e-5
          num_train_epochs: 2
        """)
    from pretrain_doctor.check import check_paths, load_plan
    from pretrain_doctor.settings import CheckOptions

    plan = load_plan(dpo, CheckOptions(use_settings=False))[2]
    assert plan.mode.lora_rank == 8 and plan.sources["mode.lora_rank"].file.endswith("base.yaml")
    assert plan.optimizer.lr == 5e-5 and plan.sources["optimizer.lr"].file.endswith("dpo.yaml")
    assert plan.run.epochs == 2 and plan.precision.bf16_enabled
    found = check_paths([dpo], CheckOptions(use_settings=False)).findings
    assert not [f for f in found if f.code == "PD103" or "inherit" in f.message]
    # a base not at hand: the file as it is
    alone = write(tmp_path, "other/dpo.yaml", (tmp_path / "base.yaml").read_text().replace("lora:", "inherit: missing\nx:"))
    assert load_plan(alone, CheckOptions(use_settings=False))[2].mode.lora_rank is None


def test_a_program_that_computes_its_precision_flag_meets_accelerates_deepspeed_bf16(tmp_path) -> None:
    # held-out review 129, A 12: `DPOConfig(bf16=args.bf16)` under accelerate's DeepSpeed plugin with bf16; a flag
    # the program computes is no flag left off, so no start-up mismatch is claimed
    acc = write(tmp_path, "zero3.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                "deepspeed_config:\n  zero_stage: 3\nmixed_precision: bf16\nnum_processes: 8\n")
    program = write(tmp_path, "dpo.py", "from trl import DPOConfig, DPOTrainer\nfrom my_flags import precision\n\n"
                    "if __name__ == '__main__':\n"
                    "    args = DPOConfig(output_dir='out', learning_rate=1e-6, bf16=precision())\n"
                    "    DPOTrainer(None, args=args).train()\n")
    plan = plan_of(program, accelerate_config=acc)
    assert findings(plan, "PD303") == [] and plan.precision.compute == "bf16"


def test_a_fixed_deepspeed_warmup_beside_the_trainers_warmup_ratio(tmp_path) -> None:
    # held-out review 130, B 06: WarmupLR's `warmup_num_steps: 2500` beside `--warmup_ratio 0.01`; transformers'
    # trainer_config_finalize compares it with get_warmup_steps() = ceil(0.01 × steps) and raises ValueError
    write(tmp_path, "ds.json", '{"scheduler": {"type": "WarmupLR", "params": {"warmup_min_lr": "auto", '
          '"warmup_max_lr": "auto", "warmup_num_steps": 2500}}}')
    plan = plan_of(write(tmp_path, "a.yaml", HF + "deepspeed: ds.json\nwarmup_ratio: 0.01\n"), dialect="hf")
    [mismatch] = [f for f in findings(plan, "PD002") if "warmup_num_steps" in f.message]
    assert mismatch.severity == "warning" and "ceil(0.01" in mismatch.message
    known = plan_of(write(tmp_path, "b.yaml", HF + "deepspeed: ds.json\nwarmup_ratio: 0.01\nmax_steps: 10000\n"),
                    dialect="hf")
    assert [f.severity for f in findings(known, "PD002") if "warmup_num_steps" in f.message] == ["error"]
    # ... and where they agree (ceil(0.25 × 10,000) = 2,500) nothing is said
    agree = plan_of(write(tmp_path, "c.yaml", HF + "deepspeed: ds.json\nwarmup_ratio: 0.25\nmax_steps: 10000\n"),
                    dialect="hf")
    assert not [f for f in findings(agree, "PD002") if "warmup_num_steps" in f.message]
