"""axolotl adapter: modes, batch_size vs GA, eval without a split, DeepSpeed JSON merge (PD206)."""

from __future__ import annotations

import pytest

from .helpers import detected, findings, judged, notes, plan_of, write

BASE = """
base_model: NousResearch/Meta-Llama-3-8B
datasets:
  - path: tatsu-lab/alpaca
    type: alpaca
val_set_size: 0.05
sequence_len: 2048
micro_batch_size: 2
gradient_accumulation_steps: 4
num_epochs: 2
learning_rate: 0.0002
bf16: auto
"""


def test_recognised(tmp_path) -> None:
    assert detected(write(tmp_path, "a.yml", BASE)) == "axolotl"


def test_defaults_and_values(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "a.yml", BASE))
    assert plan.mode.kind == "full_finetune" and plan.mode.init_from == "NousResearch/Meta-Llama-3-8B"
    assert plan.schedule.kind == "cosine" and plan.schedule.warmup_ratio == pytest.approx(0.03)
    # axolotl loads the model in bf16 and nothing keeps an fp32 copy without DeepSpeed or FSDP
    assert plan.precision.compute == "bf16" and plan.precision.params == "bf16" and plan.precision.mixed is False
    assert plan.batch.micro_batch_size == 2 and plan.batch.grad_accum == 4
    assert plan.data.val_fraction == pytest.approx(0.05) and plan.eval.enabled


def test_adapter_and_rl_modes(tmp_path) -> None:
    assert plan_of(write(tmp_path, "l.yml", BASE + "adapter: lora\nlora_r: 16\n")).mode.kind == "lora"
    assert plan_of(write(tmp_path, "q.yml", BASE + "adapter: qlora\nload_in_4bit: true\n")).mode.kind == "qlora"
    dpo = plan_of(write(tmp_path, "d.yml", BASE + "rl: dpo\nadapter: lora\n"))
    assert dpo.mode.kind == "preference" and dpo.mode.preference_method == "dpo" and dpo.objective.kind == "preference"
    grpo = plan_of(write(tmp_path, "g.yml", BASE + "rl: grpo\nadapter: lora\n"))
    assert grpo.mode.kind == grpo.objective.kind == "online_rl" and grpo.mode.rl_method == "grpo"
    assert grpo.mode.preference_method is None


@pytest.mark.parametrize("extra, pure", [
    ("", True),                                                     # full fine-tune: bf16 weights, no fp32 copy
    ("bf16: true\n", True),
    ("adapter: lora\nlora_r: 16\n", False),                        # PEFT keeps the adapters in fp32
    ("deepspeed: deepspeed_configs/zero1.json\n", False),          # the bf16 engine keeps fp32 master weights
    ("fsdp:\n  - full_shard\nfsdp_config:\n  fsdp_offload_params: false\n", False),  # accelerate upcasts
    ("fsdp_version: 2\n", False),
    ("optimizer: adamw_anyprecision\n", False),                    # Kahan summation is on offer there
])
def test_bf16_full_finetune_trains_bf16_weights(tmp_path, extra, pure) -> None:
    # Held-out reviews 69 A 05, 71 A 15, 72 A 17: `cfg.torch_dtype = torch.bfloat16` loads the model in bf16 and the
    # Trainer's autocast keeps no fp32 copy, so AdamW updates bf16 weights unless DeepSpeed or FSDP hold one.
    text = BASE.replace("bf16: auto\n", "") if extra.startswith("bf16") else BASE
    plan = plan_of(write(tmp_path, "a.yml", text + extra))
    assert (plan.precision.params == "bf16" and plan.precision.mixed is False) is pure
    assert [f.severity for f in findings(plan, "PD302")] == (["warning"] if pure else [])


@pytest.mark.parametrize("name, text", [
    ("train.sh", "accelerate launch -m axolotl.cli.train a.yml --deepspeed ds_z2.json\n"),
    ("README.md", "torchrun --nproc_per_node 8 -m axolotl.cli.train a.yml --deepspeed ../ds.json\n"),
    ("ds_z2.json", '{"zero_optimization": {"stage": 2}, "bf16": {"enabled": "auto"}}'),
])
def test_launch_beside_may_shard_the_bf16_run(tmp_path, name, text) -> None:
    # held-out review 56, A 09: the README passes a DeepSpeed JSON, copied beside the YAML, on the command line
    write(tmp_path, name, text)
    plan = plan_of(write(tmp_path / "sft", "a.yml", BASE))
    assert plan.precision.mixed is True and not findings(plan, "PD302")


def test_bf16_full_finetune_too_big_for_one_gpu_is_only_likely_pure(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "a.yml", BASE.replace("Meta-Llama-3-8B", "Qwen2.5-32B")))
    [finding] = findings(plan, "PD302")
    assert finding.severity == "info" and "unless the launch adds `--deepspeed`" in finding.message


def test_reinit_weights_is_from_scratch(tmp_path) -> None:
    text = BASE.replace("datasets:\n  - path: tatsu-lab/alpaca\n    type: alpaca\n",
                        "pretraining_dataset:\n  - path: allenai/c4\n    type: pretrain\n")
    plan = plan_of(write(tmp_path, "p.yml", text + "reinit_weights: true\n"))
    assert plan.mode.kind == "pretrain" and plan.mode.from_scratch


def test_default_betas_point_at_the_optimizer_line(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "a.yml", BASE + "optimizer: adamw_torch_fused\n"))
    assert plan.optimizer.betas == (0.9, 0.999)
    source = plan.sources["optimizer.betas"]
    assert source.key == "optimizer" and source.line == 12 and source.note == "transformers default"
    stated = plan_of(write(tmp_path, "b.yml", BASE + "adam_beta2: 0.95\n"))
    assert stated.optimizer.betas == (0.9, 0.95) and stated.sources["optimizer.betas"].key == "adam_beta2"


def test_batch_size_with_gradient_accumulation(tmp_path) -> None:
    found = notes(plan_of(write(tmp_path, "a.yml", BASE + "batch_size: 16\n")), "mutually-exclusive")
    assert found and set(found[0].data["keys"]) == {"batch_size", "gradient_accumulation_steps"}
    alone = plan_of(write(tmp_path, "b.yml", BASE.replace("gradient_accumulation_steps: 4\n", "batch_size: 16\n")))
    assert alone.batch.grad_accum == 8 and notes(alone, "mutually-exclusive") == []


def test_eval_steps_without_validation_split(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "a.yml", BASE.replace("val_set_size: 0.05", "val_set_size: 0") + "eval_steps: 50\n"))
    assert plan.eval.enabled is False
    assert notes(plan, "mutually-exclusive")


def test_load_in_8bit_implies_fp16(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "a.yml", BASE.replace("bf16: auto\n", "bf16: false\nload_in_8bit: true\n")))
    assert plan.precision.compute == "fp16"


def test_bf16_left_out_is_auto_from_0_5(tmp_path) -> None:
    # Held-out review 33, A 24: a Qwen2.5-32B full fine-tune without `bf16`, beside a DeepSpeed JSON with bf16 on,
    # was read as fp32 and the pair as a precision conflict (PD303 error). AxolotlInputConfig's `bf16` defaults to
    # "auto", and the default reaches the run from 0.5.0 on (601b77bc9); `bf16:` left blank is None, off.

    path = write(tmp_path, "a.yml", BASE.replace("bf16: auto\n", ""))
    for version, compute in ((None, "bf16"), ("0.5.0", "bf16"), ("0.12.0", "bf16"), ("0.4.0", "fp32")):
        versions = judged(f"axolotl={version}") if version else judged()
        plan = plan_of(path, trainer_versions=versions)
        assert plan.precision.compute == compute, version
        if compute == "bf16":
            assert "default since 0.5" in plan.sources["precision.compute"].note
    blank = plan_of(write(tmp_path, "b.yml", BASE.replace("bf16: auto\n", "bf16:\n")))
    assert blank.precision.compute == "fp32"
    ds = tmp_path / "ds.json"
    ds.write_text('{"bf16": {"enabled": true}, "zero_optimization": {"stage": 3}}', encoding="utf-8")
    zero3 = plan_of(write(tmp_path, "c.yml", BASE.replace("bf16: auto\n", f"deepspeed: {ds}\n")))
    assert findings(zero3, "PD303") == []


def test_deepspeed_json_without_clipping_ignores_max_grad_norm(tmp_path) -> None:
    write(tmp_path, "deepspeed_configs/zero2.json", '{"zero_optimization": {"stage": 2}, "bf16": {"enabled": "auto"}}')
    config = write(tmp_path, "examples/model/a.yml", BASE + "deepspeed: deepspeed_configs/zero2.json\nmax_grad_norm: 1.0\n")
    plan = plan_of(config)
    assert plan.clipping.ignored_by == "deepspeed" and plan.clipping.max_norm == 1.0
    assert plan.sources["clipping.ignored_by"].file == str(tmp_path / "deepspeed_configs" / "zero2.json")
    assert len(findings(plan, "PD206")) == 1
    assert plan.parallel.zero_stage == 2
    assert str(tmp_path / "deepspeed_configs" / "zero2.json") in plan.files


def test_deepspeed_json_with_clipping_is_fine(tmp_path) -> None:
    write(tmp_path, "ds.json", '{"zero_optimization": {"stage": 3}, "gradient_clipping": "auto"}')
    plan = plan_of(write(tmp_path, "a.yml", BASE + "deepspeed: ds.json\n"))
    assert plan.clipping.ignored_by is None and findings(plan, "PD206") == []
    assert plan.parallel.zero_stage == 3


def test_missing_deepspeed_json_is_noted_not_fatal(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "a.yml", BASE + "deepspeed: nowhere/zero3.json\n"))
    assert [n.data["code"] for n in notes(plan, "other")] == ["deepspeed-not-found"]


def test_deepspeed_json_copied_beside_the_config_is_read_by_name(tmp_path) -> None:
    # Held-out review 3 DEV: a config copied out of its repository with its DeepSpeed JSON, whose
    # `deepspeed: examples/deepspeed/ds_z3_config.json` points into the repository it came from.
    write(tmp_path, "ds_z3_config.json", '{"zero_optimization": {"stage": 3}}')
    plan = plan_of(write(tmp_path, "a.yml", BASE + "deepspeed: examples/deepspeed/ds_z3_config.json\n"))
    assert plan.parallel.zero_stage == 3 and plan.clipping.ignored_by == "deepspeed"
    assert [n.data["code"] for n in notes(plan, "other")] == ["deepspeed-by-name"]


def test_the_path_as_written_wins_over_a_same_named_file_beside(tmp_path) -> None:
    write(tmp_path, "ds.json", '{"zero_optimization": {"stage": 1}}')
    write(tmp_path, "cfg/ds.json", '{"zero_optimization": {"stage": 2}, "gradient_clipping": 1.0}')
    plan = plan_of(write(tmp_path, "a.yml", BASE + "deepspeed: cfg/ds.json\n"))
    assert plan.parallel.zero_stage == 2 and notes(plan, "other") == []


def test_keys_of_axolotl_0_4_are_not_typos(tmp_path) -> None:
    # Held-out review 3 (axolotl-mdel examples/aurora/lora.yml, late 2023): `eval_table_max_new_tokens`, read and
    # documented by axolotl 0.3.0 and 0.4.0, got "did you mean `eval_max_new_tokens`?"; a real typo still does.
    old = "base_model: aurora-m/aurora-m-v0.1\nmicro_batch_size: 1\nsequence_len: 4096\n" \
          "eval_table_size:\neval_table_max_new_tokens: 128\nxpos_rope: false\n"
    assert notes(plan_of(write(tmp_path, "lora.yml", old)), "ignored-key") == []
    typo = old.replace("eval_table_max_new_tokens", "eval_max_new_token")
    assert [n.data.get("suggestion") for n in notes(plan_of(write(tmp_path, "typo.yml", typo)), "ignored-key")] == [
        "eval_max_new_tokens"]


def test_constant_schedule_drops_the_default_warmup(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "c.yml", BASE + "lr_scheduler: constant\n"))
    assert plan.schedule.warmup_ratio == 0 and "ignored" in plan.sources["schedule.warmup_ratio"].note
    assert not [n for n in notes(plan, "ignored-key") if n.data.get("warmup_ignored")]  # nothing written to ignore
    written = plan_of(write(tmp_path, "w.yml", BASE + "lr_scheduler: constant\nwarmup_steps: 10\n"))
    assert written.schedule.warmup_steps == 0
    assert [n.data["key"] for n in notes(written, "ignored-key") if n.data.get("warmup_ignored")] == ["warmup_steps"]


# axolotl v0.18 examples/gpt-oss/gpt-oss-120b-fft-fsdp2-offload.yaml and examples/ebft (reduced): the
# schema's nested models (fsdp_config without the `fsdp_` prefix, trl, vllm, dataset entries) are read,
# and their keys are not judged as top-level typos.
NESTED_0_18 = BASE + """
rl: ebft
adapter: lora
lora_r: 16
trl:
  num_generations: 4
  max_completion_length: 256
  use_vllm: true
  scale_rewards: true
  loss_type: grpo
vllm:
  gpu_memory_utilization: 0.5
fsdp_version: 2
fsdp_config:
  offload_params: true
  state_dict_type: SHARDED_STATE_DICT
  reshard_after_forward: true
  cpu_ram_efficient_loading: true
"""


def test_nested_sections_of_the_current_schema(tmp_path) -> None:

    versions = judged("axolotl=0.18.0")
    plan = plan_of(write(tmp_path, "n.yml", NESTED_0_18), trainer_versions=versions)
    assert notes(plan, "ignored-key") == []
    assert plan.parallel.fsdp and plan.parallel.cpu_offload and plan.parallel.full_shard
    assert plan.mode.kind == "online_rl" and plan.mode.rl_method == "ebft" and plan.mode.lora_rank == 16


def test_a_forks_own_switch_naming_a_training_mode_makes_the_run_kind_an_assumption(tmp_path):
    # Held-out review 8 (B 59, an axolotl fork's replicate.yaml): `eagle_training: true` wraps the model in
    # EagleAugmentedModel(freeze_model=True), only the draft layer trains; the plan said full_finetune outright.
    # A fork's own key, switched on, whose name says what trains makes "every weight trains" an assumption.
    from .helpers import plan_of, reported, write

    base = ("base_model: meta-llama/Meta-Llama-3-8B-Instruct\nlearning_rate: 1.0e-3\nmicro_batch_size: 4\n"
            "gradient_accumulation_steps: 1\nnum_epochs: 5\noptimizer: adamw_torch\nlr_scheduler: cosine\n"
            "datasets:\n  - path: data.jsonl\n    type: alpaca\n")
    eagle = plan_of(write(tmp_path, "replicate.yaml", base + "eagle_training: true\nnum_eagle_layers: 1\n"
                          "hidden_state_loss_coef: 0.1\nlm_loss_coef: 1.0\n"), "axolotl")
    assert eagle.mode.kind == "full_finetune" and eagle.program.assumed == {"mode.kind": "every weight trains"}
    assert "`eagle_training`" in eagle.sources["mode.kind"].note
    (pd103,) = reported(eagle, "PD103")
    assert pd103.severity == "info" and "assuming every weight trains: the file's own keys" in pd103.message
    plain = plan_of(write(tmp_path / "p", "plain.yaml", base), "axolotl")
    assert plain.program.assumed == {} and [f.severity for f in reported(plain, "PD103")] == ["warning"]
    off = plan_of(write(tmp_path / "o", "off.yaml", base + "eagle_training: false\nlm_loss_coef: 1.0\n"), "axolotl")
    assert off.program.assumed == {}


def test_bf16_auto_beside_fp16_is_never_both(tmp_path) -> None:
    # Held-out review 14 (A 11, DataSet_PIPE's axolotl_config.yaml, axolotl from git main, T4): `bf16: auto` with
    # `fp16: true` was read as both on (PD303 error). axolotl's resolve_dtype turns auto off beside fp16 from 0.9.1
    # (3dd9c3bf3); before, auto became bf16 on GPUs with it and turned fp16 off there. Never both.

    path = write(tmp_path, "a.yml", BASE + "fp16: true\nadapter: lora\nload_in_4bit: true\n")
    for version in (None, "0.12.0", "0.9.1", "0.8.0"):
        versions = judged(f"axolotl={version}") if version else judged()
        plan = plan_of(path, trainer_versions=versions)
        assert not (plan.precision.fp16_enabled and plan.precision.bf16_enabled), version
        assert findings(plan, "PD303") == [], version
        old = version == "0.8.0"
        assert plan.precision.compute == ("bf16" if old else "fp16") and plan.precision.mixed, version
        assert "0.9.1" in plan.sources["precision.compute"].note
    # explicit `bf16: true` beside `fp16: true` is still the file contradicting itself
    both = plan_of(write(tmp_path, "b.yml", BASE.replace("bf16: auto", "bf16: true") + "fp16: true\n"))
    assert [f.code for f in findings(both, "PD303")] == ["PD303"]


def test_lr_without_learning_rate_stops_axolotls_config_check(tmp_path) -> None:
    # Held-out review 21, A 07 (1478387600/Vako axolotl.yaml): `lr: 2e-4` and no `learning_rate`, which axolotl's
    # schema requires; the file was read as a fork and nothing was said.
    plan = plan_of(write(tmp_path, "a.yml", BASE.replace("learning_rate: 0.0002", "lr: 0.0002")))
    (said,) = findings(plan, "PD002")
    assert said.severity == "warning" and "requires" in said.message and "`learning_rate`" in said.hint
    forked = plan_of(write(tmp_path, "b.yml", BASE.replace("learning_rate: 0.0002", "lr: 0.0002\nepochs: 3\n")))
    assert [f.severity for f in findings(forked, "PD002") if "`lr`" in f.message] == ["info"]
    assert [f for f in findings(plan_of(write(tmp_path, "c.yml", BASE)), "PD002")] == []


def test_the_default_optimizer_follows_the_release(tmp_path) -> None:
    # axolotl 0.8.0 (#2425, 2025-03) made adamw_torch_fused the default; before it, adamw_hf (held-out review 38, A 02)

    path = write(tmp_path, "a.yml", "base_model: Qwen/Qwen2.5-0.5B\nmicro_batch_size: 2\nnum_epochs: 1\n"
                                    "learning_rate: 0.0002\n")
    assert plan_of(path).optimizer.name == "adamw_torch_fused"
    assert plan_of(path, trainer_versions=judged("axolotl=0.6.0")).optimizer.name == "adamw_hf"
    assert plan_of(path, trainer_versions=judged("axolotl=0.8.0")).optimizer.name == "adamw_torch_fused"


def test_flash_attention_on_a_float32_model_stops_the_first_step(tmp_path) -> None:
    # Held-out review 47, A 04 and A 23 (`bf16: false`, `fp16: false`, `flash_attention: true`): the model loads in
    # float32 and FlashAttention's kernels refuse it
    body = BASE.replace("bf16: auto\n", "") + "bf16: false\nfp16: false\nflash_attention: true\n"
    [stops] = [f for f in findings(plan_of(write(tmp_path, "a.yml", body)), "PD303") if "FlashAttention" in f.message]
    assert stops.severity == "error"
    for fine in ("bf16: true", "bf16: auto"):
        plan = plan_of(write(tmp_path, "b.yml", body.replace("bf16: false", fine)))
        assert not [f for f in findings(plan, "PD303") if "FlashAttention" in f.message], fine


def test_a_deepspeed_key_naming_an_accelerate_yaml_stops_the_run(tmp_path) -> None:
    # held-out review 49, A 16: axolotl's `deepspeed: configs/zero2.yaml` is json.load'ed by transformers
    write(tmp_path, "configs/zero2.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
          "num_processes: 2\ndeepspeed_config:\n  zero_stage: 2\n  gradient_clipping: auto\n")
    config = write(tmp_path, "configs/axolotl.yaml", "base_model: Qwen/Qwen3-1.7B\nadapter: qlora\nload_in_4bit: true\n"
                   "micro_batch_size: 2\nnum_epochs: 1\nlearning_rate: 2e-4\nsequence_len: 2048\n"
                   "datasets:\n  - path: d\n    type: chat_template\ndeepspeed: configs/zero2.yaml\n")
    plan = plan_of(config)
    [refused] = [n for n in notes(plan, "ignored-key") if n.data.get("key") == "deepspeed"]
    assert refused.data["severity"] == "error" and "accelerate launcher config" in refused.message
    assert plan.parallel.world_size is None  # the file is the DeepSpeed reference, not the launcher config beside it
    assert not findings(plan, "PD206")  # no claim about a clip the file was never read for


def test_a_blank_beta_is_not_passed_on_and_its_default_holds(tmp_path) -> None:
    """Held-out review 55, A 09/10: `adam_beta1:` left blank beside `adam_beta2: 0.95`; axolotl passes a beta only
    when it is set (`if self.cfg.adam_beta1:`), so the run uses (0.9, 0.95), and nothing is invalid."""
    path = write(tmp_path, "qlora.yml", "base_model: meta-llama/Meta-Llama-3-8B\nadapter: qlora\nload_in_4bit: true\n"
                 "datasets:\n  - path: tatsu-lab/alpaca\n    type: alpaca\nmicro_batch_size: 2\nnum_epochs: 1\n"
                 "learning_rate: 0.0002\noptimizer: adamw_torch\nadam_beta1:\nadam_beta2: 0.95\n")
    plan = plan_of(path)
    assert plan.optimizer.betas == (0.9, 0.95) and plan.sources["optimizer.betas"].key == "adam_beta2"
    assert "optimizer.betas" not in plan.unknown


def test_rows_of_sliced_splits(tmp_path) -> None:
    # held-out review 57, A 10: every dataset a slice of rows, so the run's rows are known (at most their sum)
    from pretrain_doctor.dialects.shared import sliced_rows

    assert [sliced_rows(s) for s in ("train[0:100]", "train[:500]", "20240806filtered[10:110]", "train[:10%]",
                                     "train", None)] == [100, 500, 100, None, None, None]
    text = ("base_model: google/gemma-2-2b\ndatasets:\n  - path: a/b\n    split: train[0:100]\n    type: alpaca\n"
            "  - path: c/d\n    split: train[:300]\n    type: alpaca\nval_set_size: 0.1\nmicro_batch_size: 1\n"
            "num_epochs: 1\nlearning_rate: 2.0e-5\n")
    plan = plan_of(write(tmp_path, "a.yml", text))
    assert plan.run.dataset_rows == 360 and "split slices" in plan.sources["run.dataset_rows"].note
    whole = plan_of(write(tmp_path, "b.yml", text.replace("train[:300]", "train")))
    assert whole.run.dataset_rows is None  # one dataset loaded whole: the rows are not known


def test_a_dataset_type_no_release_tokenizes(tmp_path) -> None:
    # held-out reviews 57, A 10 (`type: chat`) and 52, A 04 (`type: json`): preprocessing stops, an error; not judged
    # for a preference run (its own loaders) nor in a fork's checkout, which may add strategies
    text = ("base_model: google/gemma-2-2b\ndatasets:\n  - path: a/b\n    type: chat\nmicro_batch_size: 1\n"
            "num_epochs: 1\nlearning_rate: 2.0e-5\n")
    [note] = notes(plan_of(write(tmp_path, "a.yml", text)), "ignored-key")
    assert note.data["severity"] == "error" and "`chat`" in note.message and note.data["key"] == "datasets[0].type"
    assert not notes(plan_of(write(tmp_path, "dpo.yml", text + "rl: dpo\n")), "ignored-key")
    (tmp_path / "fork" / "src" / "axolotl" / "prompt_strategies").mkdir(parents=True)
    (tmp_path / "fork" / "src" / "axolotl" / "prompt_strategies" / "__init__.py").write_text("def load(): pass\n")
    assert not notes(plan_of(write(tmp_path / "fork" / "examples", "a.yml", text)), "ignored-key")


@pytest.mark.parametrize("version, severity", [(None, "info"), ("0.5.0", "error"), ("0.4.0", None)])
def test_sharegpt_datasets_are_refused_from_0_5(tmp_path, version, severity) -> None:
    # held-out review 75, A 07: "`type: sharegpt.*` is deprecated. Please use `type: chat_template` instead."
    text = ("base_model: Qwen/Qwen2.5-14B\nadapter: qlora\nload_in_4bit: true\nlora_r: 16\ndatasets:\n"
            "  - path: a/b\n    type: sharegpt\n    conversation: chatml\nmicro_batch_size: 1\nnum_epochs: 1\n"
            "learning_rate: 2.0e-4\n")
    plan = plan_of(write(tmp_path, "a.yml", text), trainer_versions=judged(f"axolotl={version}") if version else judged())
    said = [n.data["severity"] for n in notes(plan, "ignored-key") if "sharegpt" in n.message]
    assert said == ([severity] if severity else [])


@pytest.mark.parametrize("version, severity, kind", [(None, "info", "qlora"), ("0.13.0", "warning", "lora"),
                                                     ("0.12.0", None, "qlora")])
def test_lora_with_load_in_4bit_quantizes_only_before_0_13(tmp_path, version, severity, kind) -> None:
    # held-out review 76, A 05: from 0.13 only `adapter: qlora` builds a 4-bit config; the base loads unquantized
    plan = plan_of(write(tmp_path, "a.yml", BASE + "adapter: lora\nload_in_4bit: true\nlora_r: 16\n"),
                   trainer_versions=judged(f"axolotl={version}") if version else judged())
    said = [n.data["severity"] for n in notes(plan, "ignored-key") if "load_in_4bit" in n.message]
    assert said == ([severity] if severity else []) and plan.mode.kind == kind


def test_packing_with_eager_attention(tmp_path) -> None:
    # held-out review 57, A 11: `sample_packing` with `eager_attention: true` and no flash/sdp attention; before 0.18
    # the packed examples attend to each other (axolotl's own check warns), from 0.18 eager masks them
    text = ("base_model: google/gemma-3-27b-it\nadapter: lora\nlora_r: 16\ndatasets:\n  - path: a/b\n"
            "    type: chat_template\nsample_packing: true\neager_attention: true\nmicro_batch_size: 1\n"
            "num_epochs: 1\nlearning_rate: 2.0e-4\n")
    plan = plan_of(write(tmp_path, "a.yml", text))
    assert plan.data.document_mask is False and findings(plan, "PD510")[0].severity == "warning"
    assert plan_of(write(tmp_path, "new.yml", text), trainer_versions=judged("axolotl=0.18.0")).data.document_mask
    flash = plan_of(write(tmp_path, "fa.yml", text + "flash_attention: true\n"))
    assert flash.data.document_mask is None and not findings(flash, "PD510")
    # no attention backend at all: axolotl warns at every release (held-out review 66, A 13)
    bare = plan_of(write(tmp_path, "bare.yml", text.replace("eager_attention: true\n", "")))
    assert bare.data.document_mask is False and "no attention backend" in bare.sources["data.document_mask"].note
    sdpa = plan_of(write(tmp_path, "sdpa.yml", text.replace("eager_attention: true\n", "attn_implementation: sdpa\n")))
    assert sdpa.data.document_mask is None


def test_the_judged_axolotl_release_is_not_taken_for_transformers(tmp_path) -> None:
    # held-out review 61, A 02: `--trainer-version axolotl=0.15` made PD403 say "transformers 0.15 (< 4.46)"
    plan = plan_of(write(tmp_path, "a.yml", BASE), trainer_versions=judged("axolotl=0.15"))
    assert plan.trainer_version == "0.15" and findings(plan, "PD403") == []


@pytest.mark.parametrize("version, kind, severity", [
    # held-out review 132, B 04: from 0.4.0 the config validation refuses it (ValueError "load_in_8bit and load_in_4bit
    # are not supported without setting an adapter"), at every release since
    (None, "mutually-exclusive", "error"),
    ("0.12", "mutually-exclusive", "error"),
    ("0.13", "mutually-exclusive", "error"),
    ("0.4", "mutually-exclusive", "error"),
    ("0.3", "ignored-key", "warning"),  # `load_in_4bit=cfg.load_in_4bit and cfg.adapter is not None` (review 86, A 12)
])
def test_a_quantized_load_without_an_adapter(tmp_path, version, kind, severity) -> None:
    # held-out review 62, A 14: `peft_type: lora` and `target_modules` (no axolotl keys) in place of `adapter: qlora`
    config = write(tmp_path, "a.yml", BASE + "load_in_4bit: true\n")
    plan = plan_of(config, trainer_versions=judged(f"axolotl={version}") if version else judged())
    [note] = [n for n in notes(plan) if "load_in_4bit" in n.message]
    assert (note.kind, note.data["severity"]) == (kind, severity)
    assert ("mode.kind" in plan.program.assumed) is (kind != "ignored-key")
    assert not [n for n in notes(plan_of(write(tmp_path, "b.yml", BASE + "load_in_4bit: true\nadapter: qlora\n")))
                if "load_in_4bit" in n.message]
    assert not [n for n in notes(plan_of(write(tmp_path, "c.yml", BASE + "load_in_4bit: true\ninference: true\n")))
                if "load_in_4bit" in n.message]  # the validator lets an inference config through


def test_a_dataset_type_whose_module_is_beside_the_config_is_the_users_own(tmp_path) -> None:
    # held-out review 69, A 04: `type: customgemma2` beside customgemma2.py, the prompt strategy the user copies into
    # axolotl's prompt_strategies: no "unhandled prompt tokenization strategy" error; a type with no module stays one
    path = write(tmp_path, "own/gemmy.yaml", BASE.replace("type: alpaca", "type: customgemma2"))
    assert [f.severity for f in findings(plan_of(path), "PD002") if "customgemma2" in f.message] == ["error"]
    write(tmp_path, "own/customgemma2.py", "def load(tokenizer, cfg, ds_cfg=None):\n    return None\n")
    assert not [f for f in findings(plan_of(path), "PD002") if "customgemma2" in f.message]


def test_a_dataset_without_a_type_stops_unless_tokenized(tmp_path) -> None:
    # held-out review 77, A 05: alpaca sets without `type:` stop preprocessing ("unhandled prompt tokenization
    # strategy: None"); a path that says it is tokenized, an RL run and `skip_prepare_dataset` are not judged
    untyped = BASE.replace("    type: alpaca\n", "")
    [finding] = [f for f in findings(plan_of(write(tmp_path, "a.yml", untyped)), "PD002") if "no `type`" in f.message]
    assert finding.severity == "warning" and finding.key == "datasets[0]"
    tokenized = untyped.replace("path: tatsu-lab/alpaca", "path: ./data/tokenized_corpus")
    for name, text in (("b.yml", tokenized), ("c.yml", untyped + "skip_prepare_dataset: true\n")):
        assert not [f for f in findings(plan_of(write(tmp_path, name, text)), "PD002") if "no `type`" in f.message]


def test_packed_raw_text_through_lora_is_an_info(tmp_path) -> None:
    # held-out review 82, A 18: `type: completion` with `sample_packing: true` and no flash attention, through LoRA:
    # raw text packed as pretraining packs it, the cross-sample attention worth knowing only
    text = BASE.replace("type: alpaca", "type: completion") + "sample_packing: true\nadapter: lora\nlora_r: 8\n"
    assert [f.severity for f in findings(plan_of(write(tmp_path, "a.yml", text)), "PD510")] == ["info"]
    chat = BASE + "sample_packing: true\nadapter: lora\nlora_r: 8\n"
    assert [f.severity for f in findings(plan_of(write(tmp_path, "b.yml", chat)), "PD510")] == ["warning"]


def test_axolotl_03_keeps_a_packed_llamas_examples_apart(tmp_path) -> None:
    # held-out review 89, B 01 (a Vicuna-7B Medusa run at axolotl 0.3.0, no flash attention): 0.3 replaces Llama's
    # `_expand_mask` with a block-diagonal mask whenever it packs; 0.4 on pins a transformers that no longer calls it
    text = BASE.replace("NousResearch/Meta-Llama-3-8B", "lmsys/vicuna-7b-v1.3") + "sample_packing: true\n"
    old = plan_of(write(tmp_path, "a.yml", text), trainer_versions=judged("axolotl=0.3.0"))
    assert old.data.document_mask is True and findings(old, "PD510") == []
    unknown = plan_of(write(tmp_path, "b.yml", text), trainer_versions=judged())
    assert unknown.data.document_mask is None and "0.3 patches" in unknown.unknown["data.document_mask"]
    newer = plan_of(write(tmp_path, "c.yml", text), trainer_versions=judged("axolotl=0.4.0"))
    assert newer.data.document_mask is False and findings(newer, "PD510")


def test_an_adapter_other_than_lora_trains_its_own_weights(tmp_path) -> None:
    # held-out review 89, B 15 (a fork's `adapter: ia3` on Pythia-1.4B at lr 3e-3): not a full fine-tune
    plan = plan_of(write(tmp_path, "ia3.yml", BASE + "adapter: ia3\nlearning_rate: 3e-3\n"))
    assert plan.mode.kind == "partial_finetune" and "ia3" in plan.mode.trains_only
    assert findings(plan, "PD103") == []


def test_eval_datasets_is_not_axolotls_name_for_held_out_sets(tmp_path) -> None:
    # held-out review 91, B 12: `eval_datasets:` (axolotl reads `test_datasets`) beside `val_set_size: 0`
    text = BASE.replace("val_set_size: 0.05", "val_set_size: 0") + "eval_datasets:\n  - path: a/b\n    type: alpaca\n"
    [note] = [n for n in notes(plan_of(write(tmp_path, "a.yml", text))) if n.data.get("key") == "eval_datasets"]
    assert note.data["severity"] == "warning" and "`test_datasets`" in note.message and "evaluates nothing" in note.message
    renamed = text.replace("eval_datasets:", "test_datasets:")
    assert not [n for n in notes(plan_of(write(tmp_path, "b.yml", renamed))) if n.data.get("key") == "eval_datasets"]


def test_a_template_of_auto_placeholders_is_filled_at_launch(tmp_path) -> None:
    # held-out review 105, B 01/B 02: TrueFoundry's config-base.yaml sets `load_in_4bit`, `lora_modules_to_save`,
    # `datasets`, `optimizer`, `resume_from_checkpoint` to `auto`, which its launcher replaces: no errors on the word
    text = ("base_model: Qwen/Qwen2.5-7B\nadapter: qlora\nload_in_4bit: auto\nlora_modules_to_save: auto\n"
            "datasets: auto\noptimizer: auto\nresume_from_checkpoint: auto\nbf16: auto\nlearning_rate: 0.0002\n"
            "micro_batch_size: 1\ngradient_accumulation_steps: 4\n")
    plan = plan_of(write(tmp_path, "config-base.yaml", text))
    assert plan.mode.kind == "qlora" and not plan.mode.resumed
    assert not [n for n in notes(plan, "ignored-key") if n.data.get("severity") == "error"]
    # one `auto` is the word itself: axolotl refuses it
    one = plan_of(write(tmp_path, "one.yaml", "base_model: m\nadapter: qlora\nload_in_4bit: false\ndatasets:\n"
                                              "  - path: d\nlearning_rate: 0.0002\n"))
    assert [n for n in notes(one, "ignored-key") if n.data.get("severity") == "error"]


def test_an_emptied_fsdp_list_beside_its_config_is_no_fsdp(tmp_path) -> None:
    # held-out review 106, B 01/B 02: `fsdp:` left empty above a full `fsdp_config:`, no `fsdp_version`: axolotl passes
    # FSDP to the Trainer only for a non-empty `fsdp` list, so the run is plain DDP (PD404 on a sharding it does not do)
    base = ("base_model: Qwen/Qwen2.5-0.5B\ndatasets:\n  - path: d\nmicro_batch_size: 4\nlearning_rate: 0.0001\n"
            "fsdp_config:\n  fsdp_sharding_strategy: FULL_SHARD\n  fsdp_offload_params: false\n")
    assert plan_of(write(tmp_path, "off.yaml", base + "fsdp:\n")).parallel.fsdp is not True
    assert plan_of(write(tmp_path, "on.yaml", base + "fsdp:\n  - full_shard\n")).parallel.fsdp is True
    assert plan_of(write(tmp_path, "v2.yaml", base + "fsdp_version: 2\n")).parallel.fsdp is True


def test_an_adapter_name_in_another_case_stops_the_run(tmp_path) -> None:
    # held-out review 132, B 04: `adapter: qLora` (under a key misspelt `adapeter`): axolotl compares names exactly
    plan = plan_of(write(tmp_path, "a.yml", BASE + "adapter: qLora\nload_in_4bit: true\n"))
    [note] = [n for n in notes(plan) if n.data.get("key") == "adapter"]
    assert note.data["severity"] == "error" and "`qlora`" in note.message and plan.mode.kind == "qlora"
    assert not [n for n in notes(plan_of(write(tmp_path, "b.yml", BASE + "adapter: qlora\nload_in_4bit: true\n")))
                if n.data.get("key") == "adapter"]
