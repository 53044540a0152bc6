"""Trainer-specific branches of the PD2–PD4 rules that fixtures in the native schema cannot reach
(they depend on the dialect that built the plan and on the trainer version)."""

from __future__ import annotations

import pytest

from pretrain_doctor.plan.model import TrainingPlan
from pretrain_doctor.registry import load_rules

RULES = load_rules().rules


def findings(code: str, plan: TrainingPlan) -> list:
    return list(RULES[code]().check(plan))


def batch_plan(dialect: str, world: int | None, **batch) -> TrainingPlan:
    return TrainingPlan(dialect=dialect, files=["train.yaml"], batch=batch,
                        parallel={"world_size": world} if world else {})


@pytest.mark.parametrize(
    ("dialect", "severity", "phrase"),
    [("litgpt", "warning", "floors it and trains with 96 samples"),
     ("axolotl", "warning", "floors it"),
     ("torchtitan", "error", "refuses to start")],
)
def test_pd401_severity_follows_what_the_trainer_does(dialect, severity, phrase) -> None:
    plan = batch_plan(dialect, 8, global_batch_size=100, micro_batch_size=4)
    [finding] = findings("PD401", plan)
    assert finding.severity == severity and phrase in finding.message


def test_pd401_litgpt_zero_accumulation_is_an_error() -> None:
    plan = batch_plan("litgpt", 8, global_batch_size=20, micro_batch_size=4)
    [finding] = findings("PD401", plan)
    assert finding.severity == "error" and "0 accumulation steps" in finding.message


def test_pd401_olmo_only_needs_the_rank_split_to_be_even() -> None:
    assert not findings("PD401", batch_plan("olmo", 8, global_batch_size=40, micro_batch_size=3))
    [finding] = findings("PD401", batch_plan("olmo", 8, global_batch_size=36, micro_batch_size=3))
    assert finding.severity == "warning" and "trains with 32 samples" in finding.message


def test_pd401_nanogpt_is_silent_without_world_size() -> None:
    plan = batch_plan("nanogpt", None, micro_batch_size=12, grad_accum=40, grad_accum_is_global=True)
    assert not findings("PD401", plan)


def hf_plan(version: str | None, **sections) -> TrainingPlan:
    return TrainingPlan(dialect="hf", files=["sft.yaml"], trainer_version=version, **sections)


@pytest.mark.parametrize(("version", "fires"), [("4.44.2", True), ("4.46.0", False), (None, False)])
def test_pd403_hf_trainer_version_decides(version, fires) -> None:
    plan = hf_plan(version, mode={"kind": "full_finetune"}, batch={"micro_batch_size": 2, "grad_accum": 8})
    assert bool(findings("PD403", plan)) is fires


def test_pd403_litgpt_finetune_averages_per_micro_batch_but_pretraining_is_packed() -> None:
    finetune = TrainingPlan(dialect="litgpt", mode={"kind": "full_finetune"}, batch={"grad_accum": 4})
    pretrain = TrainingPlan(dialect="litgpt", mode={"kind": "pretrain"}, batch={"grad_accum": 4})
    assert findings("PD403", finetune) and not findings("PD403", pretrain)
    # litgpt's loop averages per micro-batch by design (held-out review 118, C 11/C 12): an info; transformers before
    # 4.46 did so by a bug its later releases fix: a warning
    assert [f.severity for f in findings("PD403", finetune)] == ["info"]
    old_hf = hf_plan("4.44.2", mode={"kind": "full_finetune"}, batch={"micro_batch_size": 2, "grad_accum": 8})
    assert [f.severity for f in findings("PD403", old_hf)] == ["warning"]


@pytest.mark.parametrize(("version", "model", "severity"),
                         [("4.44.2", "Qwen/Qwen2.5-0.5B", "warning"), ("4.51.0", "Qwen/Qwen2.5-0.5B", None),
                          ("4.44.2", "gpt2", None), (None, "Qwen/Qwen2.5-0.5B", None)])
def test_pd204_warns_only_for_transformers_releases_with_the_norm_decay_bug(version, model, severity) -> None:
    plan = hf_plan(version, model={"name": model}, mode={"kind": "full_finetune"},
                   optimizer={"family": "adamw", "weight_decay": 0.1})
    found = findings("PD204", plan)
    assert [f.severity for f in found] == ([severity] if severity else [])


def test_pd204_is_silent_for_lora_unless_a_norm_or_the_embedding_trains() -> None:
    # Held-out review 4 (13, llm-foundry dbrx-lora-ft.yaml): LoRA on Wqkv with DecoupledLionW, wd 0.01; the norms
    # are frozen and the optimizer skips parameters with no gradient, so no decay reaches them.
    sections = dict(optimizer={"family": "lion", "weight_decay": 0.01, "decay_norm_and_bias": True})
    lora = TrainingPlan(dialect="llmfoundry", mode={"kind": "lora", "lora_rank": 64}, **sections)
    assert findings("PD204", lora) == []
    saved = TrainingPlan(dialect="llmfoundry", mode={"kind": "lora", "modules_to_save": ["norm_f"]}, **sections)
    assert [f.severity for f in findings("PD204", saved)] == ["info"]
    full = TrainingPlan(dialect="llmfoundry", mode={"kind": "full_finetune"}, **sections)
    assert [f.severity for f in findings("PD204", full)] == ["info"]


def test_pd206_reports_adapter_notes_tagged_for_it() -> None:
    plan = TrainingPlan(dialect="hf", files=["sft.yaml"], notes=[
        {"kind": "ignored-key", "message": "`max_grad_norm` is ignored under ds.json", "data": {"code": "PD206"},
         "source": {"file": "sft.yaml", "line": 7, "key": "max_grad_norm"}},
        {"kind": "ignored-key", "message": "unrelated", "data": {}},
    ])
    [finding] = findings("PD206", plan)
    assert (finding.line, finding.key, finding.severity) == (7, "max_grad_norm", "warning")


def test_pd402_applies_to_the_deepspeed_dialect() -> None:
    plan = TrainingPlan(dialect="deepspeed", files=["ds.json"], parallel={"world_size": 8},
                        batch={"global_batch_size": 256, "micro_batch_size": 4, "grad_accum": 4})
    [finding] = findings("PD402", plan)
    assert "= 128" in finding.message


def test_hf_fsdp_options_reach_the_plan(tmp_path) -> None:
    from pretrain_doctor.check import load_plan

    config = tmp_path / "sft.yaml"
    config.write_text("model_name_or_path: gpt2\noutput_dir: out\nper_device_train_batch_size: 4\n"
                      "fsdp: full_shard auto_wrap offload\nmax_grad_norm: null\n")
    _, _, plan = load_plan(config)
    assert (plan.parallel.fsdp, plan.parallel.full_shard, plan.parallel.cpu_offload) == (True, True, True)
    assert plan.clipping.max_norm == 0 and plan.sources["clipping.max_norm"].line == 5


def test_pd303_points_at_the_component_an_adapter_recorded(tmp_path) -> None:
    from pretrain_doctor.config.loader import load_document
    from pretrain_doctor.plan.builder import PlanBuilder
    from pretrain_doctor.plan.model import Source

    config = tmp_path / "sft.yaml"
    config.write_text("bf16: true\ndeepspeed: ds.json\n")
    builder = PlanBuilder("hf", [load_document(config)])
    builder.set("precision.declared_by.trainer", "bf16", Source(file=str(config), line=1, key="bf16"))
    builder.set("precision.declared_by.deepspeed", "fp16", Source(file="ds.json", line=3, key="fp16.enabled"))
    [finding] = findings("PD303", builder.build())
    assert (finding.file, finding.line, finding.key) == ("ds.json", 3, "fp16.enabled")


@pytest.mark.parametrize(("objective", "method"), [("preference", {"preference_method": "kto"}),
                                                    ("online_rl", {"rl_method": "rloo"})])
def test_pd103_adapters_on_a_preference_or_rl_objective_are_not_judged_as_lora_sft(objective, method) -> None:
    # A TRL KTO / RLOO script whose program wraps the policy in QLoRA: mode.kind says "qlora", the objective says
    # what trains it (the Zephyr QLoRA recipes' 5e-6 / 3e-6 are below the LoRA SFT floor and right for these losses).
    plan = TrainingPlan(dialect="hf", files=["train.sh"], objective={"kind": objective},
                        mode={"kind": "qlora", "lora_rank": 128, "init_from": "alignment-handbook/zephyr-7b-sft-qlora",
                              **method},
                        optimizer={"lr": 5e-6})
    assert findings("PD103", plan) == []
    plan.optimizer.lr = 1e-3  # above the preference adapter band at rank 128: still said, for a preference loss
    assert [f.code for f in findings("PD103", plan)] == ([] if objective == "online_rl" else ["PD103"])


@pytest.mark.parametrize(("dialect", "phrase"), [
    ("torchtitan", "`[checkpoint] enable = true`"), ("megatron", "`--save DIR --save-interval 500`"),
    ("litgpt", "`train.save_interval: 500`"), ("hf", "`save_strategy: steps`"),
])
def test_pd801_hints_the_keys_of_the_trainer_that_reads_the_file(dialect, phrase) -> None:
    # Held-out review 15, B 11: a torchtitan file was told to set HF's `save_strategy`.
    plan = TrainingPlan(dialect=dialect, files=["train.yaml"], checkpoint={"enabled": False}, run={"max_steps": 5000})
    [finding] = findings("PD801", plan)
    assert phrase in finding.hint and finding.severity == "warning"


@pytest.mark.parametrize(("steps", "severity"), [(1_000, "info"), (30_000, "info"), (143_000, "warning")])
def test_pd801_a_short_from_scratch_run_loses_little(steps, severity) -> None:
    # under an hour of one GPU a process (1.4e18 FLOPs) loses little; 143,000 steps take hours however small each
    # is (held-out review 37, B 24: a 49M model, 8 × 2048 tokens a step)
    plan = TrainingPlan(dialect="neox", files=["49M.yml"], checkpoint={"enabled": False}, run={"max_steps": steps},
                        model={"parameters": 49_000_000}, batch={"micro_batch_size": 8, "seq_len": 2048})
    [finding] = findings("PD801", plan)
    assert finding.severity == severity


@pytest.mark.parametrize(("dialect", "phrase"), [
    ("nanotron", "no validation loop"), ("llmfoundry", "`eval_loader`"), ("megatron", "--eval-interval"),
    ("hf", "`eval_strategy: steps`"), ("axolotl", "`val_set_size: 0.05`"), ("llamafactory", "`val_size: 0.05`"),
])
def test_pd702_hints_how_the_trainer_evaluates(dialect, phrase) -> None:
    # Held-out review 15, B 23/B 24: nanotron has no validation loop, so "evaluate every few hundred steps" could
    # not be acted on there.
    # Held-out review 21, A 09: axolotl's config check refuses HF's `eval_steps` beside its `evals_per_epoch`.
    plan = TrainingPlan(dialect=dialect, files=["train.yaml"], eval={"enabled": False})
    [finding] = findings("PD702", plan)
    assert phrase in finding.hint


def test_pd702_says_olmo_evaluates_at_its_last_step() -> None:
    # Held-out review 23, B 10: an OLMo run of 306 steps with `eval_interval: 5000` was said never to evaluate; OLMo's
    # loop evaluates at its last step.
    plan = TrainingPlan(dialect="olmo", files=["c.yaml"], eval={"enabled": True, "interval_steps": 5000},
                        run={"max_steps": 306})
    [finding] = findings("PD702", plan)
    assert "at the last step (OLMo's loop evaluates there)" in finding.message



def test_pd205_names_the_clipping_key_of_the_trainer_the_config_is_for(tmp_path) -> None:
    # held-out review 27, A 10: an llm-foundry run was told `max_grad_norm`/`gradient_clipping`, keys Composer ignores
    from pretrain_doctor.builtin_rules.pd205_grad_clipping_disabled import GradClippingDisabled
    from pretrain_doctor.plan.model import TrainingPlan

    base = {"mode": {"kind": "pretrain"}, "clipping": {"max_norm": 0}, "optimizer": {"family": "adamw", "lr": 3e-4}}
    [foundry] = GradClippingDisabled().check(TrainingPlan.model_validate({**base, "dialect": "llmfoundry"}))
    assert "clipping_threshold: 1.0" in foundry.hint and "max_grad_norm" not in foundry.hint
    [megatron] = GradClippingDisabled().check(TrainingPlan.model_validate({**base, "dialect": "megatron"}))
    assert "--clip-grad 1.0" in megatron.hint


def test_pd202_names_where_olmo_takes_its_eps() -> None:
    # held-out review 34, B 03: an OLMo 0.3 fork (build_optimizer passes eps=1e-5, OptimizerConfig has no `eps`) was
    # told to set eps, a key its strict loader refuses
    plan = TrainingPlan(dialect="olmo", files=["c.yaml"], mode={"kind": "pretrain"},
                        optimizer={"family": "adamw", "lr": 4e-4, "eps": 1e-5}, model={"parameters": 1_200_000_000})
    [finding] = findings("PD202", plan)
    assert "`optimizer.eps` from OLMo 0.4 on" in finding.hint and "0.3 and earlier" in finding.hint


def test_pd703_shuffling_turned_off_at_launch_is_a_choice() -> None:
    # held-out review 57, B 11: Composer's `train_loader.dataset.shuffle=False` over the YAML's `shuffle: true`, the
    # shards written from OLMo's shuffled loader; the same switch in the file stays a warning
    from pretrain_doctor.plan.model import Source

    plan = TrainingPlan(dialect="llmfoundry", files=["mpt-1b.yaml"], data={"shuffle": False})
    assert [f.severity for f in findings("PD703", plan)] == ["warning"]
    plan.sources["data.shuffle"] = Source(file="run.sh", line=38, key="train_loader.dataset.shuffle",
                                          note="command-line override")
    [finding] = findings("PD703", plan)
    assert finding.severity == "info" and "turns shuffling off on purpose" in finding.message


def test_pd607_a_forks_own_head_layout_is_only_an_info() -> None:
    # held-out review 58, B 15: nanoGPT-Kraken's 16 heads in splits of 4 (`n_heads_in_split`) on a width of 644 build
    plan = TrainingPlan(dialect="nanogpt", files=["kraken.py"],
                        model={"hidden_size": 644, "heads": 16, "heads_asserted": True})
    assert [f.severity for f in findings("PD607", plan)] == ["error"]
    plan.foreign_keys = ["n_heads_in_split", "ffn_expansion", "is_split"]
    [finding] = findings("PD607", plan)
    assert finding.severity == "info" and "`n_heads_in_split`, `is_split`" in finding.message


def test_pd107_a_wsd_decay_that_ends_before_the_run_at_lr_zero() -> None:
    # held-out review 58, B 24: nanotron's 1-sqrt decay ends at step 600,000 of 732,000, at lr 0
    def plan(dialect: str, end: int, floor: float) -> TrainingPlan:
        return TrainingPlan(dialect=dialect, files=["config.yaml"], optimizer={"family": "adamw", "lr": 3e-3},
                            schedule={"kind": "wsd (1-sqrt decay)", "decay_steps": end, "min_lr": floor},
                            run={"max_steps": 732_000}, batch={"global_batch_size": 256, "seq_len": 2048})
    [finding] = findings("PD107", plan("nanotron", 600_000, 0.0))
    assert finding.severity == "warning" and "the last 132,000 steps (18% of the run)" in finding.message
    assert findings("PD107", plan("nanotron", 720_000, 0.0)) == []  # within a tenth of the run
    assert findings("PD107", plan("nanotron", 600_000, 3e-4)) == []  # a tail at a tenth of the peak keeps training
    assert findings("PD107", plan("torchtitan", 600_000, 0.0)) == []  # its WSD horizon means another thing


def test_pd206_an_adapter_runs_ignored_clip_is_a_warning() -> None:
    # held-out review 59, A 13: a LoRA SFT under an inline DeepSpeed block without `gradient_clipping`
    from pretrain_doctor.plan.model import Source

    def plan(kind: str) -> TrainingPlan:
        built = TrainingPlan(dialect="llamafactory", files=["sft.yaml"], mode={"kind": kind},
                             clipping={"max_norm": 1.0, "ignored_by": "deepspeed"})
        built.sources["clipping.max_norm"] = Source(file="sft.yaml", line=26, key="max_grad_norm")
        return built

    # a written clip lost from a full fine-tune is a warning too since held-out review 100, B 25: the run trains on
    assert [f.severity for f in findings("PD206", plan("full_finetune"))] == ["warning"]
    assert [f.severity for f in findings("PD206", plan("lora"))] == ["warning"]


def test_pd401_megatron_asserts_the_split() -> None:
    # held-out review 59, B 04: `--global-batch-size 1 --micro-batch-size 1` on 2 data-parallel ranks; Megatron's
    # micro-batch calculator asserts before training
    plan = TrainingPlan(dialect="megatron", files=["run.sh"], batch={"global_batch_size": 1, "micro_batch_size": 1},
                        parallel={"world_size": 2})
    [finding] = findings("PD401", plan)
    assert finding.severity == "error" and "megatron refuses to start" in finding.message


def test_pd303_an_own_programs_unstated_precision_is_no_declaration() -> None:
    # held-out review 60, A 11: a reward-model script's own YAML (read as a fork of hf) sets no precision, the script
    # hard-codes bf16; the DeepSpeed JSON's bf16 against transformers' default fp32 was a false error
    from pretrain_doctor.plan.model import Source

    def plan(reading) -> TrainingPlan:
        return TrainingPlan(dialect="hf", files=["rm.yaml"], reading=reading,
                            precision={"compute": "fp32", "declared_by": {"trainer": "fp32", "deepspeed": "bf16"}})
    assert [f.severity for f in findings("PD303", plan(None))] == ["error"]
    assert findings("PD303", plan("read as a fork of hf (or a version not known here): the dialect is a guess")) == []
    stated = plan("read as a fork of hf: the dialect is a guess")
    stated.precision.fp16_enabled = True
    stated.sources["precision.fp16_enabled"] = Source(file="rm.yaml", line=3, key="fp16")
    stated.precision.declared_by = {"trainer": "fp16", "deepspeed": "bf16"}
    assert [f.code for f in findings("PD303", stated)] == ["PD303"]


@pytest.mark.parametrize(("name", "severity"), [("small-NoWarmup-SmallEmb-Pile.yml", "info"),
                                                ("gpt_no_warmup.yaml", "info"), ("gpt-warmup0.yaml", "info"),
                                                ("gpt-warmup00500.yaml", "warning"), ("small.yml", "warning")])
def test_pd104_a_file_named_for_no_warmup_is_an_ablation(name, severity) -> None:
    # held-out review 118, C 20 (BlinkDL's `small-NoWarmup-SmallEmb-Pile.yml`): no warmup is the experiment
    plan = TrainingPlan(dialect="neox", files=[f"configs/{name}"], mode={"kind": "pretrain"},
                        optimizer={"family": "adamw", "lr": 6e-4}, schedule={"kind": "cosine", "warmup_steps": 0},
                        model={"layers": 24, "hidden_size": 2048, "heads": 16},
                        batch={"global_batch_size": 512, "seq_len": 2048}, run={"max_steps": 300000})
    assert [f.severity for f in findings("PD104", plan)] == [severity]
