"""DeepSpeed adapter: "auto" companions, batch arithmetic, schedules, clipping default."""

from __future__ import annotations

import pytest

from pretrain_doctor.config.loader import load_document
from pretrain_doctor.dialects import get_dialect
from pretrain_doctor.dialects.versions import TrainerVersions

from .helpers import detected, findings, notes, plan_of, write

RUN = """{
  "train_batch_size": 64,
  "train_micro_batch_size_per_gpu": 4,
  "gradient_accumulation_steps": 2,
  "optimizer": {"type": "AdamW", "params": {"lr": 1e-4, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1}},
  "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_num_steps": 100, "total_num_steps": 1000, "warmup_max_lr": 1e-4}},
  "gradient_clipping": 1.0,
  "fp16": {"enabled": true, "initial_scale_power": 16},
  "zero_optimization": {"stage": 2}
}
"""


def test_recognised(tmp_path) -> None:
    assert detected(write(tmp_path, "ds.json", RUN)) == "deepspeed"
    # NeoX files hold DeepSpeed blocks too, but belong to neox.
    assert detected(write(tmp_path, "neox.json", RUN.replace('"gradient_clipping"', '"num_layers": 2, "hidden_size": 8, "gradient_clipping"'))) == "neox"


def test_plan_values(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "ds.json", RUN))
    assert plan.optimizer.lr == pytest.approx(1e-4) and plan.optimizer.betas == (0.9, 0.95)
    assert plan.schedule.kind == "linear" and plan.schedule.warmup_steps == 100 and plan.schedule.decay_steps == 1000
    assert plan.parallel.zero_stage == 2 and plan.precision.compute == "fp16" and plan.precision.initial_scale_power == 16
    # what the model learns is the training script's (held-out review 124, B 10: a ResNet-50's JSON as a language model)
    assert plan.objective.kind is None and "training script" in plan.unknown["objective.kind"]


def test_zero_offload_keys_of_the_releases_before_the_pydantic_config_are_keys(tmp_path) -> None:
    # held-out review 75, B 11 (the SC21 ZeRO-Infinity JSON): `cpu_offload_params` (0.3.13-0.6) was "no key of any
    # version"; a slip of it is still said
    old = plan_of(write(tmp_path, "ds.json", RUN.replace('{"stage": 2}', '{"stage": 3, "cpu_offload_params": true}')))
    assert not [n for n in notes(old, "ignored-key") if "cpu_offload_params" in n.message]
    slip = plan_of(write(tmp_path, "ds2.json", RUN.replace('{"stage": 2}', '{"stage": 3, "cpu_ofload_params": true}')))
    assert [n for n in notes(slip, "ignored-key") if "cpu_ofload_params" in n.message]


def test_auto_batch_settings_make_a_companion(tmp_path) -> None:
    doc = load_document(write(tmp_path, "z3.json", '{"zero_optimization": {"stage": 3}, "train_batch_size": "auto", '
                                                   '"train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto"}'))
    assert "auto" in get_dialect("deepspeed").companion_reason(doc)
    assert get_dialect("deepspeed").companion_reason(load_document(write(tmp_path, "ds.json", RUN))) is None


def test_stated_batch_arithmetic_is_left_to_pd402(tmp_path) -> None:
    path = write(tmp_path, "ds.json", RUN.replace('"train_batch_size": 64', '"train_batch_size": 60'))
    plan = plan_of(path)
    assert notes(plan, "inconsistent") == []  # no second report of the same assertion
    assert plan.parallel.deepspeed_config == str(path)
    assert findings(plan, "PD402")  # 60 is not a multiple of 4 × 2
    assert findings(plan_of(write(tmp_path, "ok.json", RUN), world_size=8), "PD402") == []


def test_train_batch_size_without_ga_must_divide(tmp_path) -> None:
    text = '{"train_batch_size": 30, "train_micro_batch_size_per_gpu": 4, "optimizer": {"type": "Adam", "params": {"lr": 0.001}}}'
    found = notes(plan_of(write(tmp_path, "ds.json", text)), "inconsistent")
    assert found and found[0].data["stated"] == 30 and found[0].data["derived"] == 4
    fine = '{"train_batch_size": 32, "train_micro_batch_size_per_gpu": 4, "optimizer": {"type": "Adam", "params": {"lr": 0.001}}}'
    plan = plan_of(write(tmp_path, "ok.json", fine), world_size=2)
    assert notes(plan, "inconsistent") == [] and plan.batch.grad_accum == 4  # 32 / (4 × 2)


def test_no_scheduler_means_constant_and_no_clipping_means_off(tmp_path) -> None:
    text = '{"train_batch_size": 32, "train_micro_batch_size_per_gpu": 4, "optimizer": {"type": "Adam", "params": {"lr": 0.001}}}'
    plan = plan_of(write(tmp_path, "ds.json", text))
    assert plan.schedule.kind == "constant" and plan.schedule.warmup_steps == 0
    assert plan.clipping.max_norm == 0.0 and plan.clipping.enabled is False
    assert plan.optimizer.family == "adamw"  # FusedAdam runs in adam_w_mode by default
    assert plan.batch.grad_accum is None  # depends on the world size


# fmengine's configs/llama.json (eth-easl/fmengine@ec00888, held-out review 7 B 26 / A 27), reduced: DeepSpeed's own
# blocks plus GPT-NeoX schedule words, passed to `deepspeed.initialize` by fmengine's cli/train.py.
FMENGINE = """{
    "train_micro_batch_size_per_gpu": 8,
    "train_batch_size": 32,
    "gradient_clipping": 1.0,
    "lr-decay-style": "cosine",
    "warmup": 0.1,
    "precision": "bfloat16",
    "bf16": {"enabled": true},
    "zero_optimization": {"stage": 0},
    "optimizer": {"type": "Adam", "params": {"lr": 1e-5, "betas": [0.9, 0.95], "eps": 1.0e-6}},
    "scheduler": {"type": "WarmupLR", "params": {"warmup_min_lr": 1e-6, "warmup_max_lr": 5e-5, "warmup_num_steps": 50}},
    "min_lr": 5e-7
}
"""


def test_neox_schedule_words_in_a_deepspeed_json_are_deepspeed_and_reported_once(tmp_path) -> None:
    path = write(tmp_path, "llama.json", FMENGINE)
    assert detected(path) == "deepspeed"  # was neox: a cosine schedule DeepSpeed never reads
    plan = plan_of(path)
    # WarmupLR warms up from warmup_min_lr to warmup_max_lr over 50 steps, then holds it.
    assert plan.schedule.kind == "constant" and plan.schedule.warmup_steps == 50
    assert plan.optimizer.lr == pytest.approx(5e-5) and plan.schedule.min_lr is None
    assert plan.reading is None  # the NeoX words are explained, not a fork's keys
    (ignored,) = findings(plan, "PD002")
    assert ignored.severity == "warning" and "`lr-decay-style`, `warmup`, `precision`, `min_lr`" in ignored.message
    assert "WarmupLR" in ignored.message


def test_neox_schedule_words_without_a_scheduler_block_mean_a_constant_lr(tmp_path) -> None:
    text = FMENGINE.replace('"scheduler": {"type": "WarmupLR", "params": {"warmup_min_lr": 1e-6, "warmup_max_lr": 5e-5, '
                            '"warmup_num_steps": 50}},\n', "")
    plan = plan_of(write(tmp_path, "7b.json", text))
    assert plan.dialect == "deepspeed" and plan.schedule.kind == "constant" and plan.schedule.warmup_steps == 0
    assert plan.optimizer.lr == pytest.approx(1e-5)
    (ignored,) = findings(plan, "PD002")
    assert "constant lr (no `scheduler` block)" in ignored.message


def test_a_neox_training_file_with_deepspeed_blocks_stays_neox(tmp_path) -> None:
    # A NeoX file names its run (`train_iters`, `lr_decay_iters`): its schedule words are NeoX's.
    text = FMENGINE.replace('"min_lr": 5e-7', '"min_lr": 5e-7, "train_iters": 1000, "lr_decay_iters": 1000')
    assert detected(write(tmp_path, "neox.json", text)) == "neox"


def test_a_zero_setting_at_the_top_level_is_reported_as_ignored(tmp_path) -> None:
    # fmengine configs/7b.json (held-out review 7 A 27): `offload_optimizer` beside, not inside, zero_optimization.
    text = RUN.replace('"gradient_clipping": 1.0,', '"gradient_clipping": 1.0,\n  "offload_optimizer": {"device": "cpu", '
                       '"pin_memory": true},')
    plan = plan_of(write(tmp_path, "ds.json", text))
    (ignored,) = findings(plan, "PD002")
    assert ignored.severity == "warning" and "`offload_optimizer` is a `zero_optimization` setting" in ignored.message
    assert "nothing is offloaded to cpu" in ignored.message and not plan.parallel.cpu_offload
    assert plan.reading is None and "offload_optimizer" not in plan.foreign_keys
    # held-out review 133, B 11: `memory_efficient_linear: true` at the top level, DeepSpeed's own default: an info
    default = plan_of(write(tmp_path / "b", "ds.json", RUN.replace('"gradient_clipping": 1.0,',
                                                                   '"gradient_clipping": 1.0,\n  "memory_efficient_linear": true,')))
    (same,) = findings(default, "PD002")
    assert same.severity == "info" and "nothing changes" in same.message


def test_warmup_cosine_lr_with_warmup_decay_params_stops_deepspeed_at_start(tmp_path) -> None:
    # llm-training-pipeline's ds_config_sft.json (held-out review 8, case 51): WarmupCosineLR takes ratios
    # (total_num_steps, warmup_min_ratio, warmup_num_steps, cos_min_ratio, warmup_type); the engine calls
    # scheduler(optimizer, **params), so `warmup_min_lr`/`warmup_max_lr` are a TypeError before training.
    cosine = '"scheduler": {"type": "WarmupCosineLR", "params": {"warmup_min_lr": 0, "warmup_max_lr": 2e-5, ' \
             '"warmup_num_steps": 100, "total_num_steps": 3000}}'
    text = RUN.replace(RUN.splitlines()[5].rstrip(","), cosine)
    plan = plan_of(write(tmp_path, "ds.json", text))
    [finding] = findings(plan, "PD002")
    assert finding.severity == "error" and finding.key == "scheduler.params.warmup_min_lr"
    assert "`warmup_min_lr`, `warmup_max_lr`" in finding.message and "cos_min_ratio" in finding.message
    assert plan.schedule.kind is None and "refuses" in plan.unknown["schedule.kind"]  # no working cosine shown
    assert plan.schedule.min_lr is None and plan.optimizer.lr == pytest.approx(1e-4)
    # The same block beside an HF run (the Trainer hands the JSON's scheduler to DeepSpeed): one error as well.
    write(tmp_path, "hf/ds.json", text)
    hf = plan_of(write(tmp_path, "hf/train.yaml", "model_name_or_path: gpt2\nlearning_rate: 1.0e-4\n"
                                                   "lr_scheduler_type: cosine\ndeepspeed: ds.json\n"))
    assert [f.severity for f in findings(hf, "PD002")] == ["error"] and hf.schedule.kind is None
    # Its own parameters are fine.
    good = cosine.replace('"warmup_min_lr": 0, "warmup_max_lr": 2e-5', '"warmup_min_ratio": 0, "cos_min_ratio": 0.1')
    ok = plan_of(write(tmp_path, "ok.json", RUN.replace(RUN.splitlines()[5].rstrip(","), good)))
    assert findings(ok, "PD002") == [] and ok.schedule.kind == "cosine"


def test_a_json_template_with_placeholders_is_skipped_in_a_folder_and_an_error_when_named(tmp_path) -> None:
    # Held-out review 38, B 25 (Megatron-DeepSpeed's ds_config_gpt_TEMPLATE.json, filled in by the script's sed):
    # "invalid JSON" made the folder check exit 2
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    template = tmp_path / "ds_config_gpt_TEMPLATE.json"
    template.write_text('{\n  "train_batch_size" : CONFIG_BATCH_SIZE,\n  "zero_optimization": {"stage": ZERO_STAGE}\n}\n')
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    assert not report.errors and [(f.role, "CONFIG_BATCH_SIZE" in (f.note or "")) for f in report.files] == [("skipped", True)]
    named = check_paths([template], CheckOptions(use_settings=False))
    assert [e.line for e in named.errors] == [2]
    broken = tmp_path / "sub" / "broken.json"
    broken.parent.mkdir()
    broken.write_text('{"train_batch_size": 8,,}\n')  # no placeholder: still an input error in a folder
    assert check_paths([broken.parent], CheckOptions(use_settings=False)).errors


def test_a_git_lfs_pointer_is_said_to_be_one(tmp_path) -> None:
    # Held-out review 41, A 15: a DeepSpeed JSON kept in Git LFS, the checkout holding its pointer: "invalid JSON"
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    pointer = tmp_path / "ds_z3_config.json"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146\nsize 1210\n")
    walked = check_paths([tmp_path], CheckOptions(use_settings=False))
    assert not walked.errors and "Git LFS pointer" in walked.files[0].note
    named = check_paths([pointer], CheckOptions(use_settings=False))
    assert [("Git LFS pointer" in e.message) for e in named.errors] == [True]


def test_the_json_optimizer_block_is_what_an_hf_run_trains_with(tmp_path) -> None:
    # held-out review 49, A 04: TrainingArguments `optim: adamw_hf` beside a DeepSpeed `optimizer` block
    write(tmp_path, "ds.json", '{"optimizer": {"type": "Adam", "params": {"lr": "auto", "adam_w_mode": false}},'
                               ' "zero_optimization": {"stage": 3}, "gradient_clipping": "auto"}')
    config = write(tmp_path, "args.json", '{"output_dir": "o", "learning_rate": 1e-5, "optim": "adamw_hf",'
                                          ' "per_device_train_batch_size": 2, "deepspeed": "ds.json"}')
    plan = plan_of(config)
    assert plan.optimizer.name == "DeepSpeed Adam" and plan.optimizer.family == "adam"  # adam_w_mode off: L2 Adam
    assert plan.sources["optimizer.name"].file.endswith("ds.json") and plan.optimizer.lr == 1e-5  # `auto`: the Trainer's


@pytest.mark.parametrize("scheduler, version, lr, warned", [
    ("WarmupDecayLR", None, 1e-3, "at every release"),  # its __init__ passes 0.001 at every release
    ("WarmupLR", None, 2e-5, "before 0.17.2"),  # 0.17.2 (#7360) keeps the optimizer's lr
    ("WarmupLR", "0.16.9", 1e-3, "at deepspeed 0.16.9"),
    ("WarmupLR", "0.17.2", 2e-5, None),
])
def test_a_warmup_scheduler_without_warmup_max_lr_runs_at_deepspeeds_default(
        tmp_path, scheduler, version, lr, warned) -> None:
    config = write(tmp_path, "ds.json", '{"train_batch_size": 8, "train_micro_batch_size_per_gpu": 8,'
                   ' "optimizer": {"type": "AdamW", "params": {"lr": 2e-5}},'
                   f' "scheduler": {{"type": "{scheduler}", "params": {{"warmup_num_steps": 100}}}}}}')
    given = TrainerVersions(given={"deepspeed": version} if version else {}, detect_installed=False)
    plan = plan_of(config, trainer_versions=given)
    assert plan.optimizer.lr == lr
    said = [n for n in notes(plan, "ignored-key") if "warmup_max_lr" in n.message]
    assert [n.data["severity"] for n in said] == (["warning"] if warned else [])
    assert not warned or (warned in said[0].message and "(2e-05)" in said[0].message)


def test_an_hf_run_fills_only_an_auto_warmup_max_lr(tmp_path) -> None:
    # transformers' HfTrainerDeepSpeedConfig.fill_match fills `auto` values; an absent one stays DeepSpeed's default
    write(tmp_path, "ds.json", '{"optimizer": {"type": "AdamW", "params": {"lr": "auto"}}, "zero_optimization":'
                               ' {"stage": 2}, "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_num_steps":'
                               ' "auto", "total_num_steps": "auto"}}}')
    config = write(tmp_path, "args.json", '{"output_dir": "o", "learning_rate": 2e-5, "deepspeed": "ds.json",'
                                          ' "per_device_train_batch_size": 2}')
    plan = plan_of(config)
    assert plan.optimizer.lr == 1e-3 and plan.sources["optimizer.lr"].file.endswith("ds.json")
    write(tmp_path, "ds.json", '{"optimizer": {"type": "AdamW", "params": {"lr": "auto"}}, "scheduler": {"type":'
                               ' "WarmupDecayLR", "params": {"warmup_max_lr": "auto", "total_num_steps": "auto"}}}')
    assert plan_of(config).optimizer.lr == 2e-5


def test_the_world_size_comes_from_a_deepspeed_launch_beside_the_json(tmp_path) -> None:
    # held-out review 60, A 15: `deepspeed --include localhost:4,5,6,7 train.py --deepspeed_config ds.json` starts 4
    # ranks, and DeepSpeed asserts 8 == 1 × 1 × 4 at start-up
    config = write(tmp_path, "ds.json", '{"train_batch_size": 8, "train_micro_batch_size_per_gpu": 1,'
                                        ' "gradient_accumulation_steps": 1, "zero_optimization": {"stage": 3}}')
    write(tmp_path, "train.sh", "deepspeed --include localhost:4,5,6,7 train.py --deepspeed_config ds.json --env_conf $1\n")
    write(tmp_path, "eval.sh", "python eval.py --ckpt out\n")  # names no JSON: not read
    plan = plan_of(config)
    assert plan.parallel.world_size == 4 and plan.sources["parallel.world_size"].file.endswith("train.sh")
    assert [f.severity for f in findings(plan, "PD402")] == ["error"]
    write(tmp_path, "train8.sh", "deepspeed --num_gpus 8 train.py --deepspeed_config ds.json\n")
    assert plan_of(config).parallel.world_size is None  # two launches that disagree say nothing
    assert plan_of(config, world_size=8).parallel.world_size == 8  # --world-size wins


def test_a_torchrun_launch_beside_the_json_gives_its_world_size(tmp_path) -> None:
    # held-out review 86, B 02: `torchrun --nproc_per_node=4 train/pretrain.py --deepspeed_config $DS`, a program that
    # initialises DeepSpeed itself on 4 ranks: 256 = 16 × 4 × 4 holds, no "pass --world-size"
    config = write(tmp_path, "ds_config_pretrain.json", '{"train_batch_size": 256, "train_micro_batch_size_per_gpu": 16,'
                                                        ' "gradient_accumulation_steps": 4}')
    write(tmp_path, "run.sh", "DS=./configs/ds_config_pretrain.json\n"
                              "torchrun --nproc_per_node=4 --nnodes=1 train/pretrain.py --deepspeed_config \"$DS\"\n")
    plan = plan_of(config)
    assert plan.parallel.world_size == 4 and findings(plan, "PD402") == []


def test_a_launchs_pipeline_flag_splits_its_ranks(tmp_path) -> None:
    # held-out review 58, A 10: `deepspeed --num_gpus 4 ds_train.py --deepspeed_config ds_config.yml
    # --pipeline_parallel_size 2`: 512 = 16 × 16 × 2 data-parallel ranks holds
    config = write(tmp_path, "ds.json", '{"train_batch_size": 512, "train_micro_batch_size_per_gpu": 16,'
                                        ' "gradient_accumulation_steps": 16}')
    write(tmp_path, "run.sh", "deepspeed --num_gpus 4 ds_train.py --deepspeed_config ds.json --pipeline_parallel_size 2\n")
    plan = plan_of(config)
    assert (plan.parallel.world_size, plan.parallel.pipeline, plan.derived.data_parallel.value) == (4, 2, 2)
    assert findings(plan, "PD402") == []
    write(tmp_path, "run.sh", "deepspeed --num_gpus 4 ds_train.py --deepspeed_config ds.json --expert_parallel 2\n")
    assert plan_of(config).parallel.world_size is None  # a parallelism not read here: the launch is not used


def test_a_deepspeed_config_written_as_yaml_with_a_data_path_is_deepspeeds(tmp_path) -> None:
    # held-out review 89, D 01 (gdGPT's ds_config_pp.yml): DeepSpeed's keys in YAML beside the program's own
    # (`from_scratch`, `model_path`, `data_path`); one generic `data_path` made it GPT-NeoX, judged as pretraining
    config = write(tmp_path, "ds_config_pp.yml", "train_micro_batch_size_per_gpu: 1\ntrain_batch_size: 128\n"
                   "optimizer:\n  type: AdamW\n  params:\n    lr: 1.0e-5\nfp16:\n  enabled: true\n"
                   "gradient_clipping: 2.0\nfrom_scratch: false\nmodel_path: ./bloomz\ndata_path: ./dataset.json\n")
    assert detected(config) == "deepspeed"
    assert plan_of(config).optimizer.lr == 1e-5


@pytest.mark.parametrize("block, stops", [('"bf16": true', True), ('"fp16": false', True),
                                          ('"bf16": {"enabled": true}', False), ('"bf16": {"enabled": "auto"}', False)])
def test_a_precision_setting_written_as_a_bare_value_stops_deepspeed(tmp_path, block, stops) -> None:
    # held-out review 118, A 21 (quansun's ds_config.json): `"bf16": true`, DeepSpeed's parser `.get`s `enabled` from it
    text = '{"train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 8, ' + block + \
           ', "zero_optimization": {"stage": 2}}'
    plan = plan_of(write(tmp_path, "ds.json", text))
    found = [n for n in notes(plan, "ignored-key") if "is no block" in n.message]
    assert [n.data["severity"] for n in found] == (["error"] if stops else [])


def test_scheduler_step_counts_written_as_numbers_must_match_the_trainers(tmp_path) -> None:
    # held-out review 124, A 05: `total_num_steps: 10000` (and `warmup_num_steps`) written as numbers under the HF
    # Trainer: transformers' trainer_config_finalize fill_match()es them against its own counts and raises ValueError
    write(tmp_path, "ds.json", '{"scheduler": {"type": "WarmupDecayLR", "params": {"warmup_min_lr": 0, '
                               '"warmup_max_lr": "auto", "warmup_num_steps": 100, "total_num_steps": 10000}}}\n')

    def said(flags: str) -> dict:
        launch = write(tmp_path, "run.sh", "deepspeed --num_gpus 8 train.py --deepspeed ds.json --model_name_or_path m "
                       f"--output_dir o --learning_rate 2e-5 {flags}\n")
        return {n.data["key"]: n.data.get("severity") for n in notes(plan_of(launch), "ignored-key")
                if n.data.get("key") in ("total_num_steps", "warmup_num_steps")}

    assert said("--num_train_epochs 3 --warmup_steps 100") == {"total_num_steps": "warning"}  # the data decide
    assert said("--max_steps 500") == {"total_num_steps": "error", "warmup_num_steps": "error"}
    assert said("--max_steps 10000 --warmup_steps 100") == {}
    # a Megatron-DeepSpeed run builds DeepSpeed's scheduler from the JSON as written: no Trainer to match
    megatron = write(tmp_path, "mds.sh", "deepspeed pretrain_gpt.py --deepspeed --deepspeed_config ds.json "
                     "--num-layers 2 --hidden-size 64 --num-attention-heads 2 --train-iters 500 --lr 1e-4\n")
    assert not [n for n in notes(plan_of(megatron), "ignored-key") if n.data.get("key") == "total_num_steps"]
