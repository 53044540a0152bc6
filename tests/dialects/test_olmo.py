"""OLMo adapter: durations with units, stop_at, token-unit schedules, interpolation, defaults."""

from __future__ import annotations

import pytest

from pretrain_doctor.dialects.shared import Duration, parse_duration

from .helpers import detected, findings, judged, notes, plan_of, write

BASE = """
run_name: tiny
model:
  d_model: 256
  n_heads: 8
  n_layers: 8
  max_sequence_length: 1024
optimizer:
  name: adamw
  learning_rate: 6.0e-4
scheduler:
  t_warmup: 100
global_train_batch_size: 512
device_train_microbatch_size: 8
"""


@pytest.mark.parametrize("raw, expected", [
    (739_328, Duration(739_328, "steps")),
    ("4e12T", Duration(4e12, "tokens")),
    ("50e9T", Duration(50e9, "tokens")),
    ("1ep", Duration(1, "epochs")),
    ("2_000", Duration(2000, "steps")),
    ("soon", None),
    (0, None),
])
def test_durations_with_units(raw, expected) -> None:
    assert parse_duration(raw) == expected


def test_recognised(tmp_path) -> None:
    assert detected(write(tmp_path, "c.yaml", BASE + "max_duration: 1000\n")) == "olmo"


def test_token_duration_becomes_steps(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "c.yaml", BASE + 'max_duration: "1048576000T"\n'))
    assert plan.run.max_tokens == 1_048_576_000
    assert plan.run.max_steps == 2000  # 1,048,576,000 / (512 × 1024)
    assert plan.schedule.decay_steps == 2000  # the schedule spans max_duration


def test_stop_at_stops_early_but_schedule_spans_max_duration(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "c.yaml", BASE + "max_duration: 10000\nstop_at: 4000\n"))
    assert plan.run.max_steps == 4000
    assert plan.schedule.decay_steps == 10000


def test_a_stop_at_no_corpus_reaches_only_caps_an_epoch_run(tmp_path) -> None:
    # Held-out review 12, B 22 (TianjinYellow/OlmoClean@cb9dd0c configs/official-1124/OLMo2-7B-stage1-our.yaml):
    # `max_duration: 1ep` with `stop_at: 1000000000`, read as a stated 1e9-step run. train.py loops over the epochs
    # and breaks at stop_at: the run is the shorter, here the epoch, whose length needs the dataset's size.
    plan = plan_of(write(tmp_path, "c.yaml", BASE + "max_duration: 1ep\nstop_at: 1000000000\n"))
    assert plan.run.max_steps is None and plan.run.epochs == 1
    assert "`stop_at: 1000000000` only caps it" in plan.unknown["run.max_steps"]
    assert not plan.derived.total_steps.known
    # 9e7 steps of 4096 × 4096 tokens are 1.5e15 tokens, more than any corpus holds; 1e6 steps are a run's length
    big = BASE.replace("max_sequence_length: 1024", "max_sequence_length: 4096").replace(
        "global_train_batch_size: 512", "global_train_batch_size: 4096")
    assert plan_of(write(tmp_path, "d.yaml", big + "max_duration: 1ep\nstop_at: 1000000\n")).run.max_steps == 1000000
    assert plan_of(write(tmp_path, "e.yaml", big + "max_duration: 1ep\nstop_at: 90000000\n")).run.max_steps is None
    # OLMo's tiny configs: `max_duration: 1ep` and `stop_at: 406_934`, the run's intended length
    plan = plan_of(write(tmp_path, "f.yaml", BASE + "max_duration: 1ep\nstop_at: 406_934\n"))
    assert plan.run.max_steps == 406_934 and plan.sources["run.max_steps"].key == "stop_at"
    # ... but the scheduler's horizon is the epoch's steps (Trainer.max_steps), not stop_at (held-out review 29, B 06)
    assert plan.schedule.decay_steps is None and "--dataset-rows" in plan.unknown["schedule.decay_steps"]
    assert plan.derived.decay_steps.value is None


def test_stop_at_inconsistent_with_token_duration(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "c.yaml", BASE + 'max_duration: "1048576000T"\nstop_at: 3000\n'))
    found = notes(plan, "inconsistent")
    assert len(found) == 1 and found[0].data["derived"] == 2000 and found[0].data["stated"] == 3000
    assert found[0].source.line == BASE.count("\n") + 1  # points at stop_at


def test_stop_at_within_slack_is_fine(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "c.yaml", BASE + 'max_duration: "1048576000T"\nstop_at: 2010\n'))
    assert notes(plan, "inconsistent") == []
    # train.py runs to stop_at, past the schedule's 2,000 steps (held-out review 65, B 05: `round(...) + 10`)
    assert plan.run.max_steps == 2010 and plan.schedule.decay_steps == 2000


def test_scheduler_in_token_units(tmp_path) -> None:
    text = BASE.replace("  t_warmup: 100\n", "  units: tokens\n  t_warmup: 52428800\n  t_max: 2e9\n")
    plan = plan_of(write(tmp_path, "c.yaml", text + "max_duration: 1000\n"))
    assert plan.schedule.warmup_steps == 100  # 52,428,800 tokens / 524,288 per step
    assert plan.schedule.decay_steps == 3815  # ceil(2e9 / 524,288)


def test_interpolation_resolved_against_the_file(tmp_path) -> None:
    text = BASE.replace("learning_rate: 6.0e-4", "learning_rate: ${base_lr}") + "base_lr: 3.0e-4\nmax_duration: 100\n"
    plan = plan_of(write(tmp_path, "c.yaml", text))
    assert plan.optimizer.lr == pytest.approx(3e-4)


def test_unresolvable_interpolation_is_unknown_not_default(tmp_path) -> None:
    text = BASE.replace("learning_rate: 6.0e-4", "learning_rate: ${oc.env:LR}") + "max_duration: 100\n"
    plan = plan_of(write(tmp_path, "c.yaml", text))
    assert plan.optimizer.lr is None
    assert "optimizer.lr" in plan.unknown


def test_load_path_marks_a_resumed_stage(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "c.yaml", BASE + "max_duration: 100\nload_path: /ckpt/step1000\n"))
    assert plan.mode.resumed and plan.mode.init_from == "/ckpt/step1000"
    assert not plan.mode.from_scratch


def test_trainer_defaults_when_left_out(tmp_path) -> None:
    text = "model:\n  d_model: 64\n  n_layers: 2\noptimizer:\n  learning_rate: 1e-3\nscheduler:\n  t_warmup: 10\n"
    plan = plan_of(write(tmp_path, "c.yaml", text))
    assert plan.optimizer.family == "lion"  # OptimizerConfig.name defaults to lionw
    assert plan.optimizer.eps == pytest.approx(1e-5)
    assert plan.batch.global_batch_size == 512 and plan.batch.micro_batch_size == 16
    assert plan.run.max_steps == 10000  # max_duration default
    assert plan.sources["optimizer.eps"].note == "OLMo TrainConfig default"
    assert plan.clipping.max_norm is None  # OLMo does not clip unless told


def test_mlp_hidden_size_swiglu_halves(tmp_path) -> None:
    text = BASE + "max_duration: 10\n"
    text = text.replace("  n_layers: 8\n", "  n_layers: 8\n  mlp_hidden_size: 2048\n  activation_type: swiglu\n")
    plan = plan_of(write(tmp_path, "c.yaml", text))
    assert plan.model.ffn_size == 1024 and plan.model.gated_mlp


def test_reference_cycles_do_not_hang_or_crash(tmp_path) -> None:
    text = BASE + "max_duration: 100\nloop: ${loop}\nnest:\n  inner: ${nest}\n"
    plan = plan_of(write(tmp_path, "c.yaml", text))
    assert plan.optimizer.lr == pytest.approx(6e-4)


def test_stage_one_with_explicit_horizon_is_continued_by_an_anneal(tmp_path) -> None:
    staged = BASE.replace("  t_warmup: 100\n", "  t_warmup: 100\n  t_max: 5000\n") + "max_duration: 4000\n"
    by_name = plan_of(write(tmp_path, "a.yaml", staged.replace("run_name: tiny", "run_name: OLMo2-1B-stage1")))
    by_file = plan_of(write(tmp_path, "OLMo2-13B-stage1.yaml", staged))
    assert by_name.schedule.continued_by_anneal and by_file.schedule.continued_by_anneal
    assert plan_of(write(tmp_path, "b.yaml", staged)).schedule.continued_by_anneal is None
    # stage 10, or a stage-1 name without its own horizon, is not the truncated-cosine design
    assert plan_of(write(tmp_path, "run-stage10.yaml", staged)).schedule.continued_by_anneal is None
    no_horizon = BASE.replace("run_name: tiny", "run_name: x-stage1") + "max_duration: 4000\n"
    assert plan_of(write(tmp_path, "c.yaml", no_horizon)).schedule.continued_by_anneal is None


def test_reset_trainer_state_marks_a_stage_loaded_at_launch(tmp_path) -> None:
    # allenai/OLMoE configs/ablations/olmoe-8x1b-newhp-newds-final-anneal.yml: `load_path: null` in the file,
    # the checkpoint given at launch; no warmup on purpose (t_warmup: 0), so no from-scratch warmup advice.
    text = BASE.replace("t_warmup: 100", "t_warmup: 0\n  name: linear_with_warmup") + (
        "max_duration: 100e9T\nreset_trainer_state: true\nreset_optimizer_state: false\nload_path: null\n")
    plan = plan_of(write(tmp_path, "anneal.yml", text))
    assert plan.mode.resumed and not plan.mode.from_scratch and "mode.init_from" in plan.unknown
    assert findings(plan, "PD104") == []
    fresh = plan_of(write(tmp_path, "fresh.yml", text.replace("reset_trainer_state: true", "reset_trainer_state: false")))
    assert fresh.mode.from_scratch and [f.code for f in findings(fresh, "PD104")] == ["PD104"]


def test_olmoe_experts_count_in_the_model_size(tmp_path) -> None:
    # allenai/OLMoE configs/OLMoE-1B-7B-0924.yml: 64 experts, 8 per token; 6.9B parameters, 1.3B active.
    text = """
    model:
      d_model: 2048
      n_heads: 16
      n_layers: 16
      mlp_ratio: 1
      block_type: moe
      vocab_size: 50280
      embedding_size: 50304
      weight_tying: false
      moe_top_k: 8
      moe_num_experts: 64
    optimizer: {name: adamw, learning_rate: 4.0e-4}
    """
    plan = plan_of(write(tmp_path, "olmoe.yml", text))
    assert plan.model.num_experts == 64 and plan.model.experts_per_token == 8
    assert plan.derived.parameters.value == pytest.approx(6.9e9, rel=0.01)
    assert plan.derived.active_parameters.value == pytest.approx(1.28e9, rel=0.01)
    unstated = plan_of(write(tmp_path, "moe.yml", text.replace("      moe_top_k: 8\n", "")))
    assert "model.experts_per_token" in unstated.unknown  # OLMoE's default is not assumed


# OLMoE olmoe-8x1b-newhp-newds-cx5-fine1-docmask.yml (held-out review 2, reduced): affine RMSNorm, both decays
# chosen. OLMo-7B-0724 chooses the same but has non-affine norms and no biases: nothing for the norm flag to decay.
DECAY = """
model:
  d_model: 2048
  n_heads: 16
  n_layers: 16
  max_sequence_length: 4096
  include_bias: false
  layer_norm_type: rms
  layer_norm_with_affine: {affine}
  bias_for_layer_norm: false
optimizer:
  name: adamw
  learning_rate: 4.0e-4
  weight_decay: 0.1
  decay_norm_and_bias: true
  decay_embeddings: true
scheduler:
  name: cosine_with_warmup
  t_warmup: 2000
max_duration: 100000
global_train_batch_size: 1024
device_train_microbatch_size: 4
"""


def test_chosen_norm_decay_is_named_beside_embedding_decay_when_norms_have_weights(tmp_path) -> None:
    olmoe = plan_of(write(tmp_path, "olmoe.yml", DECAY.format(affine="true")), "olmo")
    [found] = findings(olmoe, "PD204")
    assert "the embedding" in found.message and "norm weights" in found.message
    plain = plan_of(write(tmp_path, "olmo0724.yml", DECAY.format(affine="false")), "olmo")
    assert plain.optimizer.decay_norm_and_bias is False
    assert plain.sources["optimizer.decay_norm_and_bias"].note == "no norm weights or biases to decay"
    [found] = findings(plain, "PD204")
    assert "norm" not in found.message


def test_no_loader_workers_on_memory_mapped_data_is_no_finding(tmp_path) -> None:
    # Held-out review 5 (kaistAI's OLMo fork, OLMo-1B.yaml `data.num_workers: 0`, as upstream's OLMo-1B.yaml):
    # data.paths are token arrays the MemMapDataset slices; a custom_dataset class may do real work per batch.

    text = BASE + "data:\n  num_workers: 0\n  paths: [a.npy]\n"
    plan = plan_of(write(tmp_path, "c.yaml", text))
    assert plan.data.prepared_per_batch is False and findings(plan, "PD704") == []
    custom = plan_of(write(tmp_path, "d.yaml", text + "  custom_dataset: {name: my.Dataset}\n"))
    assert custom.data.prepared_per_batch is None and findings(custom, "PD704")


def test_load_path_with_reset_trainer_state_is_continued_pretraining_not_a_resume(tmp_path) -> None:
    # Held-out review 4 (38, Knowledge-Entropy ..._738k_resuscitation.yaml): `load_path` with
    # `reset_optimizer_state: true` and `reset_trainer_state: true` loads only the weights; the step and the
    # schedule restart. The plan said `mode.resumed True`.
    text = BASE + "reset_optimizer_state: true\nreset_trainer_state: true\nload_path: checkpoints/pretrained_1B/738020\n"
    plan = plan_of(write(tmp_path, "resuscitation.yaml", text))
    assert not plan.mode.resumed and plan.mode.init_from == "checkpoints/pretrained_1B/738020"
    assert plan.sources["mode.resumed"].key == "reset_trainer_state" and not plan.mode.from_scratch
    resumed = plan_of(write(tmp_path, "resume.yaml", BASE + "load_path: checkpoints/run/step1000\n"))
    assert resumed.mode.resumed and resumed.mode.init_from == "checkpoints/run/step1000"


def test_constant_scheduler_has_no_warmup_and_no_floor(tmp_path) -> None:
    # Held-out review 5 (47, thepowerfuldeez/OLMo OLMo-300M.yaml): `scheduler: {name: constant}` was planned with
    # SchedulerConfig's t_warmup 100 and alpha_f 0.1; ConstantScheduler.get_lr returns the initial lr at every step.
    base = BASE.replace("scheduler:\n  t_warmup: 100\n", "")
    plan = plan_of(write(tmp_path, "c.yaml", base + "max_duration: 1000\nscheduler:\n  name: constant\n"))
    assert plan.schedule.kind == "constant" and plan.schedule.warmup_steps == 0
    assert plan.schedule.min_lr is None and plan.schedule.min_lr_ratio is None
    assert plan.sources["schedule.warmup_steps"].line == 14 and not notes(plan, "ignored-key")
    # A t_warmup written beside it is not read (PD002); constant_with_warmup reads it, and no alpha_f.
    plan = plan_of(write(tmp_path, "d.yaml", base + "max_duration: 1000\nscheduler:\n  name: constant\n  t_warmup: 50\n"))
    assert plan.schedule.warmup_steps == 0 and [f.line for f in findings(plan, "PD002")] == [15]
    assert [f.severity for f in findings(plan, "PD002")] == ["warning"]
    # `t_warmup: 0` is what ConstantScheduler does anyway: an info (held-out review 10, PD002's own rule)
    plan = plan_of(write(tmp_path, "z.yaml", base + "max_duration: 1000\nscheduler:\n  name: constant\n  t_warmup: 0\n"))
    assert [f.severity for f in findings(plan, "PD002")] == ["info"]
    plan = plan_of(write(tmp_path, "e.yaml", base + "max_duration: 1000\nscheduler:\n  name: constant_with_warmup\n"
                                                     "  t_warmup: 50\n  alpha_f: 0.1\n"))
    assert plan.schedule.warmup_steps == 50 and plan.schedule.min_lr is None
    assert [n.data["key"] for n in notes(plan, "ignored-key")] == ["scheduler.alpha_f"]


def test_a_decay_key_beside_a_named_constant_scheduler_is_a_leftover_info(tmp_path) -> None:
    # Held-out review 16, B 07 (kaistAI/factual-knowledge-acquisition OLMo-7B-bsize.yaml): `name: constant` with the
    # template's `alpha_f: 0.1`: the author chose no decay (the sibling config decays), so the unread key is a
    # leftover, an info whose hint does not ask for a decaying scheduler.
    base = BASE.replace("scheduler:\n  t_warmup: 100\n", "")
    plan = plan_of(write(tmp_path, "c.yaml", base + "max_duration: 1000\nscheduler:\n  name: constant\n  alpha_f: 0.1\n"))
    (found,) = findings(plan, "PD002")
    assert found.severity == "info" and "as `name: constant` asks" in found.message
    assert found.hint.startswith("drop `scheduler.alpha_f`")


def test_fsdp_without_distributed_strategy_is_only_assumed_without_a_version(tmp_path) -> None:
    # Held-out review 8 (A 43 / B 44: GeneLLM's OLMo-1B.yaml, `fsdp:` and `ddp:` sections, no distributed_strategy):
    # that fork's olmo/config.py defaults to DDP; OLMo's releases default to FSDP except 0.4.0 (None).
    text = ("model:\n  d_model: 2048\n  n_heads: 16\n  n_layers: 1\n  max_sequence_length: 2048\n  vocab_size: 50280\n"
            "optimizer:\n  name: adamw\n  learning_rate: 4.0e-4\nscheduler:\n  name: cosine_with_warmup\n"
            "  t_warmup: 2000\nmax_duration: 739_328\nglobal_train_batch_size: 2\ndevice_train_microbatch_size: 8\n"
            "fsdp:\n  wrapping_strategy: null\n  precision: mixed\nddp:\n  grad_sync_mode: batch\n")
    path = write(tmp_path, "OLMo-1B.yaml", text)
    plan = plan_of(path, trainer_versions=judged())
    assert plan.parallel.full_shard is True and plan.sources["parallel.fsdp"].note.startswith("assumed")
    (finding,) = findings(plan, "PD404")
    assert finding.severity == "info" and "a fork's TrainConfig may default to DDP" in finding.message
    v04 = plan_of(path, trainer_versions=judged("ai2-olmo=0.4.0"))
    assert not v04.parallel.fsdp and not findings(v04, "PD404")
    v06 = plan_of(path, trainer_versions=judged("ai2-olmo=0.6.0"))
    assert v06.parallel.full_shard is True and "may default" not in findings(v06, "PD404")[0].message
    # the file's own strategy is no assumption
    own = plan_of(write(tmp_path / "b", "c.yaml", text + "distributed_strategy: fsdp\n"),
                  trainer_versions=judged())
    assert "may default" not in findings(own, "PD404")[0].message
    # A file that reads as a fork (keys no OLMo release has) whose strategy is only the releases' default says
    # nothing: GeneLLM-main configs/official/OLMoE.yaml at e318204 (held-out review 10, B 09), reduced, runs DDP,
    # its TrainConfig's default. An info resting on an assumption a fork may change is one level softer: silence.
    from pretrain_doctor.plan.reading import judge_reading

    fork = plan_of(write(tmp_path / "f", "OLMoE.yaml", text + "ancestor_path: ckpt/teacher\ndistll: true\n"),
                   trainer_versions=judged())
    judge_reading(fork)  # as `check` does
    assert fork.reading is not None and fork.parallel.full_shard is True and not findings(fork, "PD404")
    stated = plan_of(write(tmp_path / "g", "OLMoE.yaml", text + "ancestor_path: ckpt/teacher\ndistll: true\n"
                                                               "distributed_strategy: fsdp\n"),
                     trainer_versions=judged())
    assert len(findings(stated, "PD404")) == 1


def test_load_path_with_a_fresh_optimizer_is_a_new_stage_not_a_resume(tmp_path) -> None:
    # Held-out review 15, B 06 (sunnytqin/OLMo@223abb9 experiment_scripts/OLMo2-1B-sft.yaml): `load_path` with
    # `reset_optimizer_state: true` (and `restore_dataloader: false`, which restarts the step at 0) starts a new
    # stage on the weights whose warmup matters; the plan said `mode.resumed True`.
    text = BASE + "reset_optimizer_state: true\nrestore_dataloader: false\nload_path: ckpt/stage1/step3000\n"
    plan = plan_of(write(tmp_path, "sft.yaml", text))
    assert not plan.mode.resumed and plan.mode.init_from == "ckpt/stage1/step3000"
    assert plan.sources["mode.resumed"].key == "reset_optimizer_state"
    without_warmup = plan_of(write(tmp_path, "sft0.yaml", text.replace("t_warmup: 100", "t_warmup: 0")))
    assert [f.severity for f in findings(without_warmup, "PD104")] == ["info"]


def test_a_stop_at_past_a_schedule_in_steps_is_the_runs_length(tmp_path) -> None:
    # Held-out review 18, B 09 (a LLaMA2-162M OLMo fork config): `max_duration: 15360` (steps) with `stop_at: 406934`.
    # Trainer.fit stops at `stop_at` (it falls back to max_steps only when None): the schedule ends at 15,360 and the
    # run goes on at the minimum lr, which PD107 says; PD004's "it never triggers" was the opposite of what happens.
    base = BASE.replace("scheduler:\n  t_warmup: 100\n", "")
    plan = plan_of(write(tmp_path, "c.yaml", base + "max_duration: 15360\nstop_at: 406934\nscheduler:\n"
                                                     "  name: cosine_with_warmup\n  t_warmup: 100\n"))
    assert plan.run.max_steps == 406934 and "until `stop_at`" in plan.sources["run.max_steps"].note
    assert findings(plan, "PD004") == [] and [f.code for f in findings(plan, "PD107")] == ["PD107"]


def test_a_negative_eval_interval_turns_evaluation_off(tmp_path) -> None:
    # Held-out review 21, B 20: OLMo evaluates only `if self.cfg.eval_interval > 0` (a plain int): -1 is "no
    # evaluation", not a value no release accepts (which made the file read as a fork's).
    plan = plan_of(write(tmp_path, "c.yaml", BASE + "max_duration: 1000\neval_interval: -1\n"))
    assert plan.eval.enabled is False and plan.sources["eval.enabled"].note == "eval_interval <= 0: no evaluation"
    assert "eval_interval" not in (plan.reading or "")  # no fork evidence
    assert plan_of(write(tmp_path, "d.yaml", BASE + "max_duration: 1000\neval_interval: 500\n")).eval.interval_steps == 500


def test_a_key_no_trainconfig_has_is_said_to_stop_upstreams_loader(tmp_path) -> None:
    # Held-out review 21, B 20: `tokenizer.name_or_path` (OLMo's field is `identifier`) stops OLMo's structured
    # OmegaConf merge at start; said at info, as a fork's TrainConfig may define it. Many such keys: a fork's own.
    plan = plan_of(write(tmp_path, "c.yaml", BASE + "max_duration: 1000\ntokenizer:\n  name_or_path: Qwen/Qwen2.5-0.5B\n"))
    (note,) = notes(plan, "ignored-key")
    assert note.data["key"] == "tokenizer.name_or_path" and "ConfigKeyError" in note.message
    assert note.data["severity"] == "info"
    # keep a fork's own key first: removing it turns the fork's experiment into its baseline (held-out review 34, B 05)
    assert note.hint.startswith("keep it where the fork this config is for defines it")
    fork = plan_of(write(tmp_path, "f.yaml", BASE + "max_duration: 1000\nmy_a: 1\nmy_b: 2\n"))
    assert notes(fork, "ignored-key") == []
    # the checkout's own olmo/config.py declares the field: a fork's, nothing to say (held-out review 27, B 14)
    checkout = tmp_path / "checkout"
    write(checkout, "olmo/config.py", "@dataclass\nclass ModelConfig(BaseConfig):\n    block_loops: int = 1\n")
    own = plan_of(write(checkout, "configs/official/OLMo-small.yaml",
                        BASE + "max_duration: 1000\nmodel:\n  d_model: 768\n  block_loops: 2\n"))
    assert notes(own, "ignored-key") == []


def test_a_later_stage_with_its_checkpoint_given_at_launch_is_no_from_scratch_run(tmp_path) -> None:
    # Held-out review 24, B 17 (OLMo2-1B-stage2-seed42.yaml): `load_path: null` for the stage-1 checkpoint given at
    # launch, `t_warmup: 0` at stage 1's last lr; PD104 warned of a from-scratch start.
    stage2 = BASE.replace("run_name: tiny", "run_name: OLMo2-1B-stage2-seed42").replace("t_warmup: 100", "t_warmup: 0")
    plan = plan_of(write(tmp_path, "c.yaml", stage2 + "max_duration: 1000\nload_path: null\n"))
    assert not plan.starting_point_known and findings(plan, "PD104") == []
    first = BASE.replace("t_warmup: 100", "t_warmup: 0")
    assert findings(plan_of(write(tmp_path, "d.yaml", first + "max_duration: 1000\nload_path: null\n")), "PD104")


def test_a_launch_script_reads_its_config_with_the_overrides_over_it(tmp_path) -> None:
    # Held-out review 37, B 21: `torchrun --nproc_per_node=8 scripts/train.py configs/x.yaml --load_path=...`
    write(tmp_path, "configs/x.yaml", BASE)
    script = write(tmp_path, "train.sh", "torchrun --nproc_per_node=8 scripts/train.py configs/x.yaml "
                                         "--load_path=/ckpt/latest-unsharded/ --optimizer.learning_rate=3e-4\n")
    assert detected(script) == "olmo"
    plan = plan_of(script)
    assert plan.mode.resumed is True and plan.mode.init_from == "/ckpt/latest-unsharded/"
    assert plan.optimizer.lr == 3e-4 and plan.sources["optimizer.lr"].file.endswith("train.sh")
    assert plan.batch.global_batch_size == 512 and plan.sources["batch.global_batch_size"].file.endswith("x.yaml")
    assert plan.parallel.world_size == 8 and plan.program.config == str(tmp_path / "configs/x.yaml")


def test_a_folder_checks_the_config_through_its_launch_script(tmp_path) -> None:
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    write(tmp_path, "x.yaml", BASE)
    write(tmp_path, "train.sh", "torchrun --nproc_per_node=8 scripts/train.py x.yaml --load_path=/ckpt/latest/\n")
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    roles = {f.path.rsplit("/", 1)[-1]: f.role for f in report.files}
    assert roles == {"train.sh": "config", "x.yaml": "companion"}
    alone = check_paths([tmp_path / "x.yaml"], CheckOptions(use_settings=False))  # named on its own: checked alone
    assert [f.role for f in alone.files] == ["config"]


def test_a_slurm_launch_is_read_and_a_warmup_no_run_ends_is_said_as_such(tmp_path) -> None:
    # Held-out review 38, B 16: `run_tulu-7B.slurm` (not walked before: no `.sh`) fine-tunes OLMo-7B from
    # `--load_path`; its YAML counts the schedule in tokens over `max_sequence_length: 2`, a 2.6e9-step warmup
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    write(tmp_path, "x.yaml", BASE.replace("max_sequence_length: 1024", "max_sequence_length: 2").replace(
        "  t_warmup: 100\n", "  units: tokens\n  t_warmup: 1.0e11\n  t_max: 3e12\n") + "max_duration: 2ep\n")
    write(tmp_path, "run.slurm", "#!/bin/bash\n#SBATCH -N 1\ntorchrun --nproc_per_node=1 scripts/train.py x.yaml "
                                 "--reset_trainer_state --reset_optimizer_state --load_path=/ckpt/step558223/\n")
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    assert {f.path.rsplit("/", 1)[-1]: f.role for f in report.files} == {"run.slurm": "config", "x.yaml": "companion"}
    [decay] = [f for f in report.findings if f.code == "PD107"]
    assert "stays near 0" in decay.message and "near its peak" not in decay.message
    assert not [f for f in report.findings if f.code in ("PD202", "PD106")]  # a fine-tune from a checkpoint


def test_a_forks_renamed_entry_point_is_an_olmo_launch_too(tmp_path) -> None:
    # Held-out review 43, B 22 (`torchrun scripts/train_llama.py configs/llama-1B-t5.yaml
    # --optimizer.learning_rate=0.0005 --LLR.num_grad_steps=0 ...`): refused as "a program with its own arguments"
    write(tmp_path, "configs/x.yaml", BASE)
    script = write(tmp_path, "LLR.sh", "torchrun --nproc_per_node=8 scripts/train_llama.py configs/x.yaml "
                                       "--optimizer.learning_rate=0.0005 --LLR.num_grad_steps=0\n")
    assert detected(script) == "olmo" and plan_of(script).optimizer.lr == 5e-4
    other = write(tmp_path, "other.sh", "torchrun scripts/finetune.py configs/x.yaml --optimizer.learning_rate=0.0005\n")
    assert detected(other) != "olmo"  # only train*.py under scripts/ is OLMo's entry point


def test_a_launch_naming_its_config_at_launch_time_reads_the_one_beside(tmp_path) -> None:
    # SparsityAndCoD's train_script.sh (held-out review 66, B 24): `scripts/train_torchrun.py configs/$config.yaml`
    # with dotted overrides, `--optimizer.no_decay_norm_and_bias=true` over the YAML's `decay_norm_and_bias: true`
    write(tmp_path, "adamw-1B.yaml", BASE.replace("  learning_rate: 6.0e-4\n", "  learning_rate: 6.0e-4\n"
                                                  "  decay_norm_and_bias: true\n") + "max_duration: 1000\n")
    script = write(tmp_path, "train_script.sh", """
        config=$1
        learning_rate=$4
        torchrun --nproc-per-node=8 scripts/train_torchrun.py configs/$config.yaml \\
            --optimizer.learning_rate=$learning_rate --optimizer.no_decay_norm_and_bias=true \\
            --scheduler.t_warmup=1000
    """)
    plan = plan_of(script)
    assert plan.dialect == "olmo" and plan.schedule.warmup_steps == 1000
    assert plan.optimizer.decay_norm_and_bias is False and plan.optimizer.decay_embeddings is False
    assert plan.optimizer.lr is None and "$4" in plan.unknown["optimizer.lr"]
    # two OLMo configs beside: which one the launch names is unknown
    write(tmp_path, "other.yaml", BASE + "max_duration: 2000\n")
    assert detected(script) != "olmo"


def test_a_forks_moe_config_section_sizes_the_experts(tmp_path) -> None:
    # SparsityAndCoD's OLMoE-style fork (held-out review 66, B 09): 32 SwiGLU experts of 1536, top 4, a shared MLP
    text = BASE.replace("  max_sequence_length: 1024\n", "  max_sequence_length: 1024\n  block_type: moe\n"
                        "  moe_config:\n    top_k: 4\n    num_experts: 32\n    hidden_size: 1536\n"
                        "    shared_mlp:\n      hidden_size: 1536\n")
    plan = plan_of(write(tmp_path, "moe.yaml", text + "max_duration: 1000\n"))
    assert (plan.model.num_experts, plan.model.experts_per_token) == (32, 4)
    assert plan.model.expert_ffn_size == 1536 and plan.model.shared_expert_ffn_size == 1536
    assert plan.derived.parameters.value > 10 * plan.derived.active_parameters.value / 3


def test_a_dry_run_trains_no_step(tmp_path) -> None:
    # held-out review 78, B 04: `dry_run: true` left on; scripts/train.py logs "Dry run complete" and never calls
    # trainer.fit(): said once, and the config is judged as a debug one
    plan = plan_of(write(tmp_path, "olmo.yaml", "dry_run: true\n" + BASE))
    [note] = [n for n in notes(plan, "ignored-key") if n.data.get("key") == "dry_run"]
    assert note.data["severity"] == "warning" and note.source.line == 1 and plan.debug is True
    assert plan_of(write(tmp_path, "real.yaml", "dry_run: false\n" + BASE)).debug is not True


def test_a_train_script_handed_a_yaml_olmo_does_not_read_is_not_olmos(tmp_path) -> None:
    # held-out review 82, A 02: `accelerate launch scripts/train_grpo.py configs/grpo.yaml --run_name x` was read as an
    # OLMo launch (scripts/train*.py) with the HF config's keys judged as OLMo's; HF's launch reading takes it
    from pretrain_doctor.check.engine import load_plan_detected

    write(tmp_path, "configs/grpo.yaml", "model_name_or_path: Qwen/Qwen2.5-7B\nper_device_train_batch_size: 4\n"
                                         "learning_rate: 5.0e-6\nnum_generations: 4\noutput_dir: out\n")
    script = write(tmp_path, "run.slurm", "accelerate launch scripts/train_grpo.py configs/grpo.yaml --run_name x\n")
    assert load_plan_detected(script)[2].dialect == "hf"
    olmo = write(tmp_path, "olmo.sh", "torchrun scripts/train.py configs/olmo.yaml --run_name=x\n")
    write(tmp_path, "configs/olmo.yaml", BASE)
    assert load_plan_detected(olmo)[2].dialect == "olmo"


def test_under_ddp_only_the_unsharded_interval_saves(tmp_path) -> None:
    # held-out review 103, C 16: train.py writes sharded checkpoints under FSDP only; a DDP run saves every
    # `save_interval_unsharded` (20,000), its `save_interval: 2000` dead
    text = BASE + "save_interval: 2000\nsave_interval_unsharded: 20000\n"
    assert plan_of(write(tmp_path, "fsdp.yaml", text)).checkpoint.interval_steps == 2000
    plan = plan_of(write(tmp_path, "ddp.yaml", text + "distributed_strategy: ddp\n"))
    assert plan.checkpoint.interval_steps == 20000 and "unsharded checkpoints only" in plan.sources[
        "checkpoint.interval_steps"].note


def test_stop_after_ends_the_run_that_many_steps_past_its_start(tmp_path) -> None:
    # Held-out review 113, C 09 (an OLMo-2 1B run continued from step 2500 with `stop_after: 500`): Trainer.fit stops
    # at `global_step + stop_after`, not at max_duration's end; from scratch that is `stop_after` (or a lower stop_at)
    scratch = plan_of(write(tmp_path, "a.yaml", BASE + "max_duration: 100000\nstop_after: 500\n"))
    assert scratch.run.max_steps == 500 and scratch.sources["run.max_steps"].key == "stop_after"
    both = plan_of(write(tmp_path, "b.yaml", BASE + "max_duration: 100000\nstop_after: 500\nstop_at: 300\n"))
    assert both.run.max_steps == 300
    resumed = plan_of(write(tmp_path, "c.yaml", BASE + "max_duration: 100000\nstop_after: 500\nload_path: ckpt/step2500\n"))
    assert resumed.run.max_steps is None and "past the step" in resumed.unknown["run.max_steps"]
