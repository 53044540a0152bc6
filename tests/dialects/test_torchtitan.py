"""torchtitan adapter: JobConfig defaults, flavor table, schedule shapes, continuation."""

from __future__ import annotations

import pytest

from .helpers import detected, findings, notes, plan_of, reported, write

MINIMAL = """
[job]
description = "tiny"

[model]
name = "llama3"
flavor = "8B"

[training]
local_batch_size = 2
steps = 3000

[optimizer]
lr = 3e-4
"""


def test_recognised(tmp_path) -> None:
    assert detected(write(tmp_path, "t.toml", MINIMAL)) == "torchtitan"


def test_job_config_defaults(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "t.toml", MINIMAL))
    assert plan.optimizer.family == "adamw" and plan.optimizer.betas == (0.9, 0.95)
    assert plan.optimizer.eps == pytest.approx(1e-8) and plan.optimizer.weight_decay == pytest.approx(0.1)
    assert plan.schedule.warmup_steps == 200 and plan.schedule.kind == "linear"
    assert plan.clipping.max_norm == 1.0 and plan.batch.seq_len == 2048
    assert plan.optimizer.decay_norm_and_bias and plan.optimizer.decay_embeddings
    assert plan.sources["schedule.warmup_steps"].note == "torchtitan JobConfig default"


def test_flavor_gives_model_size(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "t.toml", MINIMAL))
    assert plan.model.parameters == 8_030_000_000 and plan.model.layers == 32 and plan.model.vocab_size == 128256
    unknown = plan_of(write(tmp_path, "u.toml", MINIMAL.replace('"8B"', '"13B-custom"')))
    assert unknown.model.parameters is None and "model.parameters" in unknown.unknown


def test_decay_ratio_shapes(tmp_path) -> None:
    wsd = plan_of(write(tmp_path, "a.toml", MINIMAL + '\n[lr_scheduler]\ndecay_ratio = 0.2\ndecay_type = "cosine"\n'))
    assert wsd.schedule.kind == "wsd"
    flat = plan_of(write(tmp_path, "b.toml", MINIMAL + "\n[lr_scheduler]\nwarmup_steps = 3_000\ndecay_ratio = 0.0\n"))
    assert flat.schedule.kind == "constant" and flat.schedule.warmup_steps == 3000


def test_decay_ratio_gives_the_length_of_the_wsd_decay(tmp_path) -> None:
    # Held-out review 21, B 04 (eth-easl/torchtitan-mixtera ado_default.toml, reduced): `decay_ratio = 0.1` of 30,000
    # steps is round(30000 × 0.1) = 3000 steps of linear decay after 26,500 stable ones (build_lr_schedulers);
    # the plan showed only `decay_steps 30000 = total_steps`.
    text = MINIMAL.replace("steps = 3000", "steps = 30000") + (
        '\n[lr_scheduler]\nwarmup_steps = 500\ndecay_ratio = 0.1\ndecay_type = "linear"\n')
    plan = plan_of(write(tmp_path, "ado.toml", text))
    s = plan.schedule
    assert (s.kind, s.warmup_steps, s.wsd_decay_steps, s.min_lr_ratio) == ("wsd", 500, 3000, 0)
    assert plan.sources["schedule.wsd_decay_steps"].key == "lr_scheduler.decay_ratio"
    assert plan.sources["schedule.kind"].note == "warmup 500, stable 26500, then linear decay"
    horizon = plan.derived.decay_steps
    assert horizon.value == 30000 and "last 3000" in horizon.formula
    assert findings(plan, "PD107") == []
    # warmup + decay reaching the run's end: torchtitan shortens the decay to the steps after warmup, no stable phase
    plain = plan_of(write(tmp_path, "p.toml", text.replace("decay_ratio = 0.1", "decay_ratio = 0.99")))
    assert plain.schedule.kind == "linear" and plain.schedule.wsd_decay_steps is None


def test_lr_min_is_the_min_lr_factor_of_torchtitan_0_1(tmp_path) -> None:
    # Held-out review 4 (52, llama-mimi's vendored torchtitan): `[lr_scheduler] lr_min = 0.1`, torchtitan 0.1.0's
    # name of min_lr_factor; the plan showed the JobConfig default 0.
    plan = plan_of(write(tmp_path, "m.toml", MINIMAL + "\n[lr_scheduler]\nwarmup_steps = 100\nlr_min = 0.1\n"))
    assert plan.schedule.min_lr_ratio == pytest.approx(0.1) and plan.sources["schedule.min_lr_ratio"].key == "lr_scheduler.lr_min"
    new = plan_of(write(tmp_path, "n.toml", MINIMAL + "\n[lr_scheduler]\nmin_lr_factor = 0.2\nlr_min = 0.1\n"))
    assert new.schedule.min_lr_ratio == pytest.approx(0.2)


def test_pc_layer_fork_scheduler_keys(tmp_path) -> None:
    # ZH-Haoran/PC-Layer-torchtitan (be96014) lr_scheduling.py: `training.lr_scheduler_type = "cosine"` decays from 1
    # to `training.cosine_end_ratio`. Held-out review 11, B 26/27 (gpt2_pc_layer.toml): read as linear decay to 0.
    old = MINIMAL.replace("steps = 3000", 'steps = 3000\nwarmup_steps = 30\nlr_scheduler_type = "cosine"\ncosine_end_ratio = 0.1')
    plan = plan_of(write(tmp_path, "pc.toml", old))
    assert plan.schedule.kind == "cosine" and plan.schedule.min_lr_ratio == pytest.approx(0.1)
    assert plan.sources["schedule.min_lr_ratio"].key == "training.cosine_end_ratio" and plan.schedule.warmup_steps == 30
    wsd = plan_of(write(tmp_path, "w.toml", old.replace('"cosine"', '"wsd"\ndecay_steps = 600')))
    assert wsd.schedule.kind == "wsd" and wsd.schedule.min_lr_ratio == 0


def test_initial_load_path_is_a_continuation(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "t.toml", MINIMAL + '\n[checkpoint]\nenable = true\ninitial_load_path = "hf/llama"\n'))
    assert plan.mode.resumed and plan.mode.init_from == "hf/llama" and plan.checkpoint.enabled


def test_parallel_degrees(tmp_path) -> None:
    text = MINIMAL + "\n[parallelism]\ndata_parallel_shard_degree = 4\ntensor_parallel_degree = 2\n"
    plan = plan_of(write(tmp_path, "t.toml", text))
    assert plan.parallel.tensor == 2 and plan.parallel.data_shard == 4 and plan.batch.data_parallel == 4
    assert plan.derived.global_batch.value == 8  # local 2 × dp 4


def test_typo_in_training_table(tmp_path) -> None:
    found = notes(plan_of(write(tmp_path, "t.toml", MINIMAL.replace("steps = 3000", "stepss = 3000"))), "ignored-key")
    assert found and found[0].data["suggestion"] == "steps"


def test_moe_flavor_states_active_parameters(tmp_path) -> None:
    # DeepSeek-V3: 671B total, 37B per token; the dense formula cannot see its narrow experts or MLA.
    plan = plan_of(write(tmp_path, "d.toml", MINIMAL.replace('"llama3"', '"deepseek_v3"').replace('"8B"', '"671B"')))
    assert plan.derived.parameters.value == 671_000_000_000
    assert plan.derived.active_parameters.value == 37_000_000_000


def test_ten_step_run_is_a_smoke_test(tmp_path) -> None:
    assert plan_of(write(tmp_path, "s.toml", MINIMAL.replace("steps = 3000", "steps = 10"))).debug is True
    assert plan_of(write(tmp_path, "t.toml", MINIMAL)).debug is False


def test_flux_has_no_token_embedding_to_decay(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "f.toml", MINIMAL.replace('"llama3"', '"flux"').replace('"8B"', '"flux-dev"')))
    assert plan.optimizer.decay_norm_and_bias is True and plan.optimizer.decay_embeddings is False


def test_a_forks_validation_switch_is_read(tmp_path) -> None:
    # Held-out review 3, YerevaNN/YNNtitan train_configs/llama3.2_1b.toml: `[validation] enable_valid = true`,
    # `valid_freq = 2000` (the fork's config_manager.py); PD702 said "evaluation is off".
    text = """[model]
name = "llama3"
flavor = "1B"
[optimizer]
name = "AdamW"
lr = 4e-4
[training]
batch_size = 11
seq_len = 2048
warmup_steps = 500
steps = 20000
[validation]
valid_freq = 2000
enable_valid = true
"""
    plan = plan_of(write(tmp_path, "llama3.2_1b.toml", text))
    assert plan.eval.enabled is True and plan.eval.interval_steps == 2000 and findings(plan, "PD702") == []


@pytest.mark.parametrize("switch", ["enable", "enabled"])
def test_validation_switch_of_each_release_is_read(tmp_path, switch) -> None:
    # `validation.enabled` from torchtitan #1362 (2025-07-09) until #1607 renamed it `enable` (2025-08-22); held-out
    # review 37, B 23 (a vendored mid-2025 copy): the plan said evaluation was off
    text = (f"[model]\nname = \"llama3\"\nflavor = \"1B\"\n[optimizer]\nname = \"AdamW\"\nlr = 4e-4\n"
            f"[training]\nseq_len = 2048\nsteps = 20000\n[validation]\n{switch} = true\nfreq = 100\n")
    plan = plan_of(write(tmp_path, "t.toml", text))
    assert plan.eval.enabled is True and plan.eval.interval_steps == 100 and findings(plan, "PD702") == []


def test_a_one_step_smoke_test_gets_no_error_and_says_torchtitan_caps_its_warmup(tmp_path) -> None:
    # Held-out review 5 (53, llm-benchmarking llama3_8b_4gpu.toml): `steps = 1` with warmup 200 gave a PD105 error.
    # torchtitan's build_lr_schedulers warns and caps warmup_steps at the training steps; a 1-step run is a smoke test.
    text = MINIMAL.replace("steps = 3000", "steps = 1") + "\n[lr_scheduler]\nwarmup_steps = 200\n"
    plan = plan_of(write(tmp_path, "bench.toml", text))
    assert plan.debug and plan.schedule.warmup_steps == 1
    assert "200 capped at `training.steps` 1" in plan.sources["schedule.warmup_steps"].note
    (finding,) = findings(plan, "PD105")
    assert finding.severity == "info" and "caps warmup" in finding.message and "smoke-test" in finding.message
    # a real run with a warmup longer than the run: capped, so the whole run is warmup, said at info
    plan = plan_of(write(tmp_path, "long.toml", MINIMAL.replace("steps = 3000", "steps = 150")
                         + "\n[lr_scheduler]\nwarmup_steps = 200\n"))
    assert not plan.debug and plan.schedule.warmup_steps == 150
    assert [f.severity for f in findings(plan, "PD105")] == ["info"]


# RedTachyon/torchtitan llama3_1b.toml at 4c4ed9e (held-out review 7, A 49 / B 48), reduced: HF-style model keys, an
# accumulation and an eval key of no torchtitan release, and a float8 switch only releases before 0.0.2 read.
_DROPPED = """
[job]
description = "Llama 3 1B training"

[model]
name                   = "llama3"
hidden_size            = 2048
num_layers             = 24

[training]
local_batch_size = 8
grad_accum       = 8
seq_len          = 4096
steps            = 2383

[float8]
enable_float8_linear = true
"""


def test_keys_no_release_reads_warn_only_where_the_upstream_source_at_hand_lacks_them(tmp_path) -> None:
    from pretrain_doctor.check import load_plan

    # the checkout's job_config.py at hand is upstream's and has no field for them: torchtitan drops them
    write(tmp_path, "torchtitan/config/job_config.py", "class Model:\n    name: str = 'llama3'\n    flavor: str = ''\n")
    plan = load_plan(write(tmp_path, "llama3_1b.toml", _DROPPED))[2]
    (note,) = [n for n in notes(plan, "ignored-key") if n.data.get("dropped")]
    assert note.data["severity"] == "warning" and note.source.line == 6
    assert note.hint.startswith("use the keys") and note.hint.endswith("comes from `model.flavor`")
    assert note.data["dropped"] == ["model.hidden_size", "model.num_layers", "training.grad_accum",
                                    "float8.enable_float8_linear"]
    assert "drops such keys silently" in note.message and "llama3 debugmodel (6 layers, 256 wide)" in note.message
    assert "no gradient accumulation" in note.message and "no float8" in note.message
    assert plan.reading is None  # torchtitan's own config with keys it drops, not a fork: the plan values hold
    assert plan.model.name == "llama3 debugmodel" and plan.batch.micro_batch_size == 8


def test_keys_no_release_reads_without_the_source_at_hand_are_a_forks_at_info(tmp_path) -> None:
    from pretrain_doctor.check import load_plan

    plan = load_plan(write(tmp_path, "llama3_1b.toml", _DROPPED))[2]
    (note,) = [n for n in notes(plan, "ignored-key") if n.data.get("dropped")]
    assert note.data["severity"] == "info" and "upstream torchtitan up to 0.1.0 would ignore" in note.message
    assert "a fork whose JobConfig defines them reads them" in note.message
    # no advice to drop them: a fork reading them with no default would crash (held-out review 25, B 10)
    assert note.hint.startswith("with upstream torchtitan, use the keys of the torchtitan release you run")
    assert "a fork's config keeps the keys its JobConfig defines" in note.hint
    assert plan.reading is not None and "training.grad_accum" in plan.foreign_keys
    assert "float8.enable_float8_linear" not in plan.foreign_keys  # read by releases before 0.0.2: upstream's key


# Adam-mini's bundled torchtitan copy (zyushun/Adam-mini examples/llama/train_configs/llama2_scaling_law.toml, held-out
# review 8, B 37), reduced: its config_manager.py defines grad_accumulation_steps, val_interval, num_val_batch, resume;
# the file, without that source, was told "no gradient accumulation" (warning) and "evaluation is off".
_ADAM_MINI = """
[job]
dump_folder = "./outputs"
[metrics]
log_freq = 1
wandb_comment = "llama2"
[model]
name = "llama2"
flavor = "271M"
[optimizer]
name = "adam_mini"
lr = 1e-4
[training]
batch_size = 64
seq_len = 512
grad_accumulation_steps = 1
warmup_steps = 2000
steps = 200000
val_interval = 100
num_val_batch = 32
[checkpoint]
resume = false
enable_checkpoint = true
interval_type = "steps"
interval = 50000000
"""


def test_a_forks_own_keys_are_no_warning_and_its_evaluation_is_not_called_off(tmp_path) -> None:
    from pretrain_doctor.check import load_plan

    plan = load_plan(write(tmp_path, "llama2_scaling_law.toml", _ADAM_MINI))[2]
    (note,) = [n for n in notes(plan, "ignored-key") if n.data.get("dropped")]
    assert note.data["severity"] == "info"
    assert set(plan.fork_areas) == {"batch", "eval"}  # `checkpoint.resume` is about loading, not the interval
    assert not reported(plan, "PD702")
    assert [f.severity for f in reported(plan, "PD802")] == ["warning"]  # 50,000,000 > 200,000 steps still holds
    # without an eval key in the file (Adam-mini A 36) the fork's own evaluation default is unknown, not upstream's off
    no_eval = load_plan(write(tmp_path / "b", "llama2_13b.toml", _ADAM_MINI.replace("val_interval = 100\n", "")
                              .replace("num_val_batch = 32\n", "")))[2]
    assert no_eval.eval.enabled is None and not reported(no_eval, "PD702")
    # the fork's accumulation key is read as its name says (held-out review 69, B 07: musictitan's 4 micro-batches)
    four = load_plan(write(tmp_path / "c", "llama2_scaling_law.toml", _ADAM_MINI.replace(
        "grad_accumulation_steps = 1", "grad_accumulation_steps = 4")))[2]
    assert four.batch.grad_accum == 4 and "fork's own key" in four.sources["batch.grad_accum"].note


def test_dropped_keys_softened_where_torchtitan_rejects_them_or_the_checkout_reads_them(tmp_path) -> None:
    from pretrain_doctor.dialects.versions import TrainerVersions

    path = write(tmp_path, "llama3_1b.toml", _DROPPED)
    pinned = plan_of(path, trainer_versions=TrainerVersions({"torchtitan": "0.2.0"}, detect_installed=False))
    (note,) = [n for n in notes(pinned, "ignored-key") if n.data.get("dropped")]
    assert note.data["severity"] == "info" and "stops at start" in note.message
    # a fork's own JobConfig beside the file reads them: its keys, no note
    write(tmp_path, "torchtitan/config/job_config.py",
          "class Model:\n    hidden_size: int = 0\n    num_layers: int = 0\nclass Training:\n    grad_accum: int = 1\n"
          "class Float8:\n    enable_float8_linear: bool = False\n")
    assert not [n for n in notes(plan_of(path), "ignored-key") if n.data.get("dropped")]
    # a table torchtitan lacks, or a custom config module, marks a config torchtitan's tables do not describe
    other = write(tmp_path / "other", "c.toml", _DROPPED + "\n[dataloader]\nnum_workers = 2\n")
    assert not [n for n in notes(plan_of(other), "ignored-key") if n.data.get("dropped")]
    # a fork's new feature (held-out 5, 54: HypexJuice's `model.use_moe`, read by its own JobConfig) is no size,
    # accumulation, evaluation or float8 knob torchtitan has elsewhere: still read as a fork, no warning
    moe = write(tmp_path / "moe", "m.toml", "[job]\n[model]\nname = 'llama3'\nflavor = '8B'\nuse_moe = true\n"
                                           "num_experts = 8\n[training]\nsteps = 100\n[optimizer]\nlr = 3e-4\n")
    assert not [n for n in notes(plan_of(moe), "ignored-key") if n.data.get("dropped")]


def test_an_optimizer_of_a_forks_own_leaves_its_decay_grouping_unknown(tmp_path) -> None:
    # Held-out review 8 (A 36 / B 37): Adam-mini's torchtitan copy runs `optimizer.name = "adam_mini"`, which zeroes
    # decay on norms and biases; PD204 said "weight decay 0.1 is applied to norm weights and biases".
    plan = plan_of(write(tmp_path, "llama2_13b.toml", "[model]\nname = 'llama2'\nflavor = '13B'\n[optimizer]\n"
                                                     "name = 'adam_mini'\nlr = 1e-4\n[training]\nsteps = 10000\n"))
    assert plan.optimizer.name == "adam_mini" and plan.optimizer.decay_norm_and_bias is None
    assert not findings(plan, "PD204")
    upstream = plan_of(write(tmp_path / "b", "c.toml", "[model]\nname = 'llama3'\nflavor = '8B'\n[optimizer]\n"
                                                      "name = 'AdamW'\nlr = 1e-4\n[training]\nsteps = 10000\n"))
    assert upstream.optimizer.decay_norm_and_bias is True and findings(upstream, "PD204")


def test_no_seed_is_pytorchs_fixed_default_not_a_random_one(tmp_path) -> None:
    """torchtitan's set_determinism seeds every rank from rank 0's default-seeded generator when no seed is set
    (distributed/utils.py, v0.1.0 to main): the same at every launch, so PD803 has nothing to say (held-out
    review 10, B 10/11/12/19/20: `[training]` with no `seed`)."""
    plan = plan_of(write(tmp_path, "t.toml", MINIMAL))
    assert plan.seed == 67280421310721 and not plan.seed_is_random
    assert "same at every launch" in plan.sources["seed"].note
    assert reported(plan, "PD803") == []
    seeded = plan_of(write(tmp_path, "s.toml", MINIMAL.replace("steps = 3000", "steps = 3000\nseed = 7")))
    assert seeded.seed == 7


def test_size_from_a_flavor_name_no_release_defines_is_an_assumption(tmp_path) -> None:
    """xffxff/littletitan train_configs/deepseek_moe_16b.toml at add0c24 (held-out review 10, B 20), reduced: the
    fork's own `deepseek-moe-16b` flavor has 4 layers (~2.35B), so "3.7× above the band for a 16B model" rested on
    the name. The size is only assumed: PD101 drops to info and says so. A flavor torchtitan defines stays a fact."""
    text = ('[model]\nname = "moe"\nflavor = "deepseek-moe-16b"\n\n[optimizer]\nname = "AdamW"\nlr = 8e-4\n\n'
            '[training]\nbatch_size = 8\nseq_len = 2048\nwarmup_steps = 2000\nsteps = 10000\n')
    plan = plan_of(write(tmp_path, "fork.toml", text))
    assert plan.derived.parameters.value == 16e9 and "assumed" in plan.derived.parameters.formula
    (finding,) = reported(plan, "PD101")
    assert finding.severity == "info" and "assuming a 16B model, a size read from the name" in finding.message
    known = plan_of(write(tmp_path, "known.toml", MINIMAL.replace("lr = 3e-4", "lr = 3e-3")))
    assert known.derived.size_assumed is None
    assert [f.severity for f in reported(known, "PD101")] == ["warning"]


# Reduced from held-out review 12, B 04 (eminorhan/torchtitan-mae@9006d0b train_configs/demo_mae.toml): the fork's
# config_manager.py defines model.size/img_size/patch_size/mask_ratio and no model.name, model.flavor or
# training.seq_len; train_mae.py pretrains a masked autoencoder on 3D image crops.
FORK_MAE = """
[job]
description = "mae training"

[model]
size = "2B"
img_size = 512
patch_size = 8
mask_ratio = 0.95

[optimizer]
name = "AdamW"
lr = 3e-4

[training]
batch_size = 1
warmup_steps = 1000
max_norm = 1.0
steps = 25000
"""


def test_a_forks_own_model_table_is_no_upstream_default_model(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "demo_mae.toml", FORK_MAE))
    assert plan.dialect == "torchtitan" and plan.model.name is None and plan.model.family is None
    assert plan.objective.kind is None and "`model.img_size`" in plan.unknown["objective.kind"]
    assert plan.batch.seq_len is None and "batch.seq_len" in plan.unknown
    assert plan.model.layers is None and not plan.debug  # not llama3 debugmodel's 6 layers, no smoke test
    assert "mode.kind" in plan.program.assumed
    assert (plan.optimizer.lr, plan.run.max_steps, plan.schedule.warmup_steps) == (3e-4, 25000, 1000)
    # upstream's own `[model]` table without name/flavor still trains llama3 debugmodel at seq 2048
    plan = plan_of(write(tmp_path, "upstream.toml", FORK_MAE.replace(
        'size = "2B"\nimg_size = 512\npatch_size = 8\nmask_ratio = 0.95', 'norm_type = "rmsnorm"')))
    assert (plan.model.name, plan.objective.kind, plan.batch.seq_len) == ("llama3 debugmodel", "causal_lm", 2048)


def test_a_forks_mlm_probability_makes_a_masked_lm(tmp_path) -> None:
    # Held-out review 12, B 06 (eminorhan/torchtitan-mlm@c83c949 train_configs/llama3_1b_n64.toml): the fork's
    # `training.mlm_probability` (config_manager.py, default 0.3) masks what train.py feeds the model.
    text = MINIMAL.replace("steps = 3000", "steps = 3000\nseq_len = 16384\nmlm_probability = 0.3")
    plan = plan_of(write(tmp_path, "mlm.toml", text))
    assert (plan.objective.kind, plan.objective.mlm_probability) == ("masked_lm", 0.3)
    assert plan.sources["objective.kind"].key == "training.mlm_probability" and plan.batch.seq_len == 16384
    assert plan_of(write(tmp_path, "clm.toml", MINIMAL)).objective.kind == "causal_lm"


# Held-out review 14, B 09 and B 10 (lynnl0927/torchtitan-tpu-time-slicing-poc, reduced from
# afm_pt_moe_24b_lora.toml and afmv7_3b.toml): 20-step TPU smoke tests with `max_norm = 0.0` and the fork's own
# `[lora]` table (afm_pt_moe/model/args.py: "When use_lora=True, all base model parameters are frozen").
_SMOKE = """
[model]
name = "afm_pt_moe_tpu"
flavor = "24b-lora"

[optimizer]
name = "AdamW"
lr = 3e-4

[lr_scheduler]
warmup_steps = 10

[training]
local_batch_size = 4
seq_len = 8192
max_norm = 0.0
steps = 20

[lora]
use_lora = {use}
force_lora_parameter_ddp = true
lora_rank = 16
"""


def test_a_forks_own_lora_switch_makes_the_run_kind_an_assumption(tmp_path) -> None:
    # The LoRA run got PD205 "clipping off for pretraining" as a warning (PD205 leaves LoRA alone).
    lora = plan_of(write(tmp_path, "lora.toml", _SMOKE.format(use="true")), "torchtitan")
    assert lora.mode.kind == "pretrain" and "mode.kind" in lora.program.assumed
    assert "`lora.use_lora`" in lora.sources["mode.kind"].note
    assert reported(lora, "PD205") == []
    long = plan_of(write(tmp_path, "long.toml", _SMOKE.format(use="true").replace("steps = 20", "steps = 20000")),
                   "torchtitan")
    assert [(f.severity, "assuming every weight trains" in f.message) for f in reported(long, "PD205")] == [("info", True)]
    # `use_lora = false` trains every weight: a rank and a DDP setting of the adapters beside it switch nothing on.
    full = plan_of(write(tmp_path, "full.toml", _SMOKE.format(use="false")), "torchtitan")
    assert "mode.kind" not in full.program.assumed


def test_clipping_off_in_a_smoke_test_is_an_info(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "full.toml", _SMOKE.format(use="false")), "torchtitan")
    assert plan.debug
    [said] = reported(plan, "PD205")
    assert said.severity == "info" and "smoke-test" in said.message
    long = plan_of(write(tmp_path, "long.toml", _SMOKE.format(use="false").replace("steps = 20", "steps = 20000")),
                   "torchtitan")
    assert not long.debug and [f.severity for f in reported(long, "PD205")] == ["warning"]


def test_an_moe_familys_unknown_flavor_leaves_the_active_size_unknown(tmp_path) -> None:
    # Held-out review 15, B 12 (a torchtitan fork's deepseek_v3 `10B` flavor: 64 routed experts, top-6, ~9.7B in all
    # and ~1.6B active): the name gives the total only; judged as a dense 10B, PD101 used the wrong size.
    plan = plan_of(write(tmp_path, "ds.toml", '[model]\nname = "deepseek_v3"\nflavor = "10B"\n\n[optimizer]\n'
                                              'name = "AdamW"\nlr = 2.2e-4\n\n[training]\nlocal_batch_size = 2\n'
                                              'seq_len = 4096\nsteps = 1000\n'))
    assert plan.derived.parameters.value == 10e9 and not plan.derived.active_parameters.known
    assert plan.derived.active_parameters.missing == ("--model-config",)
    assert findings(plan, "PD101") == []


def test_a_job_described_as_debug_is_a_debug_config(tmp_path) -> None:
    # Held-out review 18, B 12 (LambdaLabsML/torchtitan qwen3_30b_a3b-8xb200-32k.toml): 1,000-step throughput runs
    # keep upstream's `description = "... debug model training"` and checkpointing off on purpose: PD801 warned.
    text = MINIMAL.replace('description = "tiny"', 'description = "Qwen 3 MoE debug model training"') \
        + "[checkpoint]\nenable = false\n"
    plan = plan_of(write(tmp_path, "bench.toml", text))
    assert plan.debug and plan.sources["debug"].key == "job.description" and findings(plan, "PD801") == []


def test_an_initial_load_path_with_checkpointing_off_is_never_loaded(tmp_path) -> None:
    # hicann/torchtitan-npu's deepseek_v32 671B config (held-out review 26, B 02), reduced: CheckpointManager.load
    # returns at once when checkpointing is off, so the released weights are never loaded; min_lr_factor 1 keeps the
    # peak lr after warmup
    text = """
[model]
name = "llama3"
flavor = "8B"
[training]
local_batch_size = 1
seq_len = 4096
steps = 1000
[lr_scheduler]
warmup_steps = 200
decay_ratio = 0.8
decay_type = "cosine"
min_lr_factor = 1
[checkpoint]
enable = false
initial_load_path = "/data/model/llama3-8b"
"""
    plan = plan_of(write(tmp_path, "train.toml", text))
    assert plan.mode.init_from is None and not plan.mode.resumed
    [found] = [f for f in findings(plan, "PD002") if "initial_load_path" in f.message]
    assert found.severity == "warning" and "randomly initialised weights" in found.message
    assert plan.schedule.kind == "constant_with_warmup"
    enabled = plan_of(write(tmp_path, "enabled.toml", text.replace("enable = false", "enable = true")))
    assert enabled.mode.init_from == "/data/model/llama3-8b"


def test_training_on_torchtitans_test_set_is_cheap_to_repeat(tmp_path) -> None:
    # held-out review 29, B 12: a 3,000-step MI300 throughput run on c4_test with checkpointing off (PD801 warned)
    off = MINIMAL.replace("steps = 3000\n", "steps = 3000\ndataset = \"c4_test\"\n") + "\n[checkpoint]\nenable = false\n"
    plan = plan_of(write(tmp_path, "t.toml", off))
    assert "2,000-document test set" in plan.derived.cheap_to_repeat
    [finding] = findings(plan, "PD801")
    assert finding.severity == "info" and "c4_test" in finding.message
    real = plan_of(write(tmp_path, "c4.toml", off.replace('"c4_test"', '"c4"').replace("local_batch_size = 2",
                                                                                        "local_batch_size = 8")))
    assert real.derived.cheap_to_repeat is None and findings(real, "PD801")[0].severity == "warning"


def test_a_from_scratch_run_of_under_an_hour_a_gpu_loses_little_without_checkpoints(tmp_path) -> None:
    # held-out review 57, B 05: torchtitan's Llama-3-8B preset, 1,000 steps of 6 × 2048 tokens a GPU (about 20 minutes
    # of an H100) with checkpointing off, a throughput run; PD801 warned
    off = MINIMAL.replace("steps = 3000", "steps = 1000\nseq_len = 2048\nlocal_batch_size = 6").replace(
        "local_batch_size = 2\n", "") + "\n[checkpoint]\nenable_checkpoint = false\n"
    plan = plan_of(write(tmp_path, "t.toml", off))
    [finding] = findings(plan, "PD801")
    assert finding.severity == "info" and "under an hour of one GPU" in finding.message
    # tensor parallelism divides each GPU's share (review 50, B 07: TP 8 on one node)
    wide = plan_of(write(tmp_path, "tp.toml", off.replace("local_batch_size = 6", "local_batch_size = 48")
                         + "\n[parallelism]\ntensor_parallel_degree = 8\n"))
    assert findings(wide, "PD801")[0].severity == "info"
    # a fork's fine-tune keeps no trained weights without checkpoints (review 51, B 17: `model.enable_finetune`)
    tuned = plan_of(write(tmp_path, "ft.toml", off.replace('flavor = "8B"', 'flavor = "8B"\nenable_finetune = true\n'
                                                          "model_files = ['model-00001-of-00004.safetensors']")))
    assert tuned.mode.kind == "full_finetune" and tuned.mode.init_from == "model-00001-of-00004.safetensors"
    assert findings(tuned, "PD801")[0].severity == "warning"


def test_training_dtype_bfloat16_is_full_bf16(tmp_path) -> None:
    # Held-out review 29, B 10: `[training] dtype = "bfloat16"` (torchtitan since 2025-09-16, "without an extra copy
    # of fp32 weights") was read as mixed precision over fp32 weights, and PD302 stayed silent.
    plan = plan_of(write(tmp_path, "t.toml", MINIMAL.replace("steps = 3000", 'steps = 3000\ndtype = "bfloat16"')))
    assert (plan.precision.params, plan.precision.compute, plan.precision.mixed) == ("bf16", "bf16", False)
    assert plan.sources["precision.params"].line == 11
    assert [f.severity for f in findings(plan, "PD302")] == ["warning"]
    mixed = plan_of(write(tmp_path, "m.toml", MINIMAL)).precision
    assert (mixed.params, mixed.mixed) == ("fp32", True)
    # review 18, B 12: a throughput sweep's "debug model training" wants no trained model: info
    sweep = MINIMAL.replace('"tiny"', '"Qwen 3 MoE debug model training"').replace("steps = 3000", 'steps = 1000\ndtype = "bfloat16"')
    assert [f.severity for f in findings(plan_of(write(tmp_path, "s.toml", sweep)), "PD302")] == ["info"]


def test_the_float8_converter_computes_the_linear_layers_in_fp8(tmp_path) -> None:
    # held-out review 31, B 08 (torchtitan-amd's llama4_17bx16e.toml): `converters = ["float8"]` was read as plain
    # bf16, and a dropped fork key with "fp8" in its name made the notice say "there is no float8"
    text = '[model]\nname = "llama3"\nflavor = "8B"\nconverters = ["float8"]\nuse_turbo_fp8_gemm = true\n' \
           '[training]\nsteps = 100\n'
    plan = plan_of(write(tmp_path, "llama3_8b.toml", text), "torchtitan")
    assert plan.precision.compute == "fp8" and plan.precision.params == "fp32" and plan.precision.mixed is True
    assert plan.sources["precision.compute"].key == "model.converters"
    assert all("no float8" not in n.message for n in notes(plan, "ignored-key"))
    plain = plan_of(write(tmp_path, "plain.toml", text.replace('converters = ["float8"]\n', "")), "torchtitan")
    assert plain.precision.compute == "bf16"
    # held-out review 77, B 09: the older `[float8] enable_float8_linear = true` (torchtitan before 0.0.2)
    old = plan_of(write(tmp_path, "old.toml", text.replace('converters = ["float8"]\n', "")
                        + "[float8]\nenable_float8_linear = true\n"), "torchtitan")
    assert old.precision.compute == "fp8" and old.sources["precision.compute"].key == "float8.enable_float8_linear"


def test_a_forks_grpo_section_is_reinforcement_learning_of_a_pretrained_policy(tmp_path) -> None:
    # Held-out review 38, B 24 (NousResearch/torchtitan grpo/configs/qwen25-7b-math.toml): judged as pretraining from
    # scratch, its lr 1e-6 was "120× below the band" and its 10-step warmup "shorter than 2/(1−β2)"
    text = ("[model]\nname = \"qwen2\"\nflavor = \"7B\"\n[optimizer]\nname = \"AdamW\"\nlr = 1e-6\n"
            "[lr_scheduler]\nwarmup_steps = 10\n[training]\nsteps = 1000\nseq_len = 32768\n"
            "[grpo]\nnum_generations = 8\n[checkpoint]\nenable = true\ninitial_load_path = \"/ckpt/qwen_2-5_7b\"\n")
    plan = plan_of(write(tmp_path, "qwen25-7b-math.toml", text))
    assert plan.mode.kind == "online_rl" and plan.mode.rl_method == "grpo" and plan.mode.init_from == "/ckpt/qwen_2-5_7b"
    assert findings(plan, "PD101") == [] and findings(plan, "PD106") == [] and findings(plan, "PD201") == []


def test_an_optimizer_stepping_in_backward_leaves_nothing_to_clip(tmp_path) -> None:
    # OptimizersInBackwardContainer steps each parameter in its grad hook, before train_step's clip_grad_norm_
    # (held-out review 38, B 07: `early_step_in_backward = true` beside `max_norm = 1.0`, shown as clipped at 1.0)
    text = ("[model]\nname = \"llama3\"\nflavor = \"8B\"\n[optimizer]\nname = \"AdamW\"\nlr = 3e-4\n"
            "early_step_in_backward = true\n[training]\nsteps = 1000\nmax_norm = 1.0\n")
    plan = plan_of(write(tmp_path, "t.toml", text))
    assert plan.clipping.max_norm == 0.0 and "in backward" in plan.sources["clipping.max_norm"].note
    assert plan_of(write(tmp_path, "u.toml", text.replace("early_step_in_backward = true\n", ""))).clipping.max_norm == 1.0


def test_an_async_mode_checkpointmanager_does_not_know_stops_a_checkpointing_run(tmp_path) -> None:
    # Held-out review 39, B 07 (`async_mode = "aync"` with checkpointing on): ValueError at start-up
    text = ("[model]\nname = \"llama3\"\nflavor = \"1B\"\n[optimizer]\nname = \"AdamW\"\nlr = 3e-4\n"
            "[training]\nsteps = 1000\n[checkpoint]\nenable = true\nasync_mode = \"aync\"\n")
    [note] = [n for n in notes(plan_of(write(tmp_path, "t.toml", text)), "ignored-key")
              if n.data["key"] == "checkpoint.async_mode"]
    assert note.data["severity"] == "error" and note.hint == '`async_mode = "async"`'
    off = text.replace("enable = true", "enable = false")  # the manager returns before it reads the mode
    assert not [n for n in notes(plan_of(write(tmp_path, "u.toml", off)), "ignored-key")
                if n.data["key"] == "checkpoint.async_mode"]


def test_an_older_releases_key_is_no_fork_evidence(tmp_path) -> None:
    # Held-out review 41, B 03 (`checkpoint.interval_type = "steps"`, a key of torchtitan before 0.0.2, beside a fork's
    # masked-LM keys): the reading took it for the fork's, and PD801 on a 500k-step run spoke only at info
    text = ("[model]\nname = \"llama3\"\nflavor = \"1B\"\nmask_token = 0\n[optimizer]\nname = \"AdamW\"\nlr = 3e-4\n"
            "[training]\nsteps = 500000\nmlm_probability = 0.3\n"
            "[checkpoint]\nenable_checkpoint = false\ninterval_type = \"steps\"\ninterval = 500\n")
    plan = plan_of(write(tmp_path, "t.toml", text))
    assert "checkpoint.interval_type" not in plan.foreign_keys
    assert [f.severity for f in reported(plan, "PD801")] == ["warning"]


def test_a_file_of_a_release_without_validation_says_nothing_of_evaluation(tmp_path) -> None:
    # held-out review 50, B 07-08: torchtitan evaluated nothing before 0.2.0 (#1362): "evaluation is off" told the
    # author of a `[checkpoint] enable_checkpoint` preset of no switch there is
    path = write(tmp_path, "llama3_8b.toml", """
        [model]
        name = "llama3"
        flavor = "8B"
        [optimizer]
        name = "AdamW"
        lr = 3e-4
        [training]
        batch_size = 1
        seq_len = 8192
        steps = 1000
        [checkpoint]
        enable_checkpoint = false
        """)
    plan = plan_of(path)
    assert plan.eval.enabled is None and "before its validation" in plan.unknown["eval.enabled"]
    assert not findings(plan, "PD702")


def test_an_sft_run_loading_only_the_model_starts_from_trained_weights(tmp_path) -> None:
    """Held-out review 56, B 08: `initial_load_model_only = true` written out in a run whose model names an SFT: the
    weights come from the checkpoint folder's step-0, so the pretraining-from-scratch rules stay silent."""
    text = (MINIMAL.replace('name = "llama3"', 'name = "qwen3_5_hybrid_diffusion_sft"')
            + "\n[checkpoint]\nenable = true\nfolder = \"checkpoints\"\ninitial_load_model_only = true\n")
    plan = plan_of(write(tmp_path, "sft.toml", text), dialect="torchtitan")
    assert plan.mode.init_from and not plan.mode.from_scratch
    pretrain = plan_of(write(tmp_path, "pt.toml", text.replace("qwen3_5_hybrid_diffusion_sft", "llama3")),
                       dialect="torchtitan")
    assert pretrain.mode.from_scratch  # the key alone is its default: no evidence of trained weights


def test_a_forks_init_path_starts_from_those_weights(tmp_path) -> None:
    # held-out review 60, B 04: JiuYanLian (a renamed torchtitan) loads `model.init_path = "Qwen/Qwen2.5-7B"` before
    # training; read as from scratch, PD106 judged its warmup as a pretraining warmup
    text = MINIMAL.replace('flavor = "8B"', 'flavor = "8B"\ninit_path = "Qwen/Qwen2.5-7B"')
    plan = plan_of(write(tmp_path, "qwen.toml", text))
    assert plan.mode.init_from == "Qwen/Qwen2.5-7B" and plan.sources["mode.init_from"].key == "model.init_path"
    assert plan_of(write(tmp_path, "plain.toml", MINIMAL)).mode.init_from is None



@pytest.mark.parametrize("reshard, pipeline, full", [
    (None, 1, True), ('"always"', 1, True), ('"never"', 1, False), (None, 2, False), ('"always"', 2, True),
])
def test_reshard_after_forward_decides_full_sharding(tmp_path, reshard, pipeline, full) -> None:
    # torchtitan's parallelize: "never" keeps the gathered parameters to the backward, "default" does so under PP
    # (held-out review 65, B 03: `fsdp_reshard_after_forward = "never"` was shown as full sharding)
    text = MINIMAL + f"\n[parallelism]\ndata_parallel_shard_degree = 8\npipeline_parallel_degree = {pipeline}\n"
    if reshard is not None:
        text += f"fsdp_reshard_after_forward = {reshard}\n"
    plan = plan_of(write(tmp_path, "t.toml", text))
    assert plan.parallel.fsdp is True and plan.parallel.full_shard is full


def test_a_seed_checkpoint_config_trains_nothing(tmp_path) -> None:
    # held-out review 66, B 02: `create_seed_checkpoint = true` in a debug TOML: train.py saves step 0 and exits
    plan = plan_of(write(tmp_path, "t.toml", MINIMAL + "\n[checkpoint]\nenable = true\ncreate_seed_checkpoint = true\n"))
    [note] = notes(plan, "ignored-key")
    assert note.data["severity"] == "warning" and "trains nothing" in note.message and plan.debug is True
    assert notes(plan_of(write(tmp_path, "u.toml", MINIMAL + "\n[checkpoint]\ncreate_seed_checkpoint = false\n")),
                 "ignored-key") == []


def test_a_launch_scripts_seed_checkpoint_step_is_not_its_training_run(tmp_path) -> None:
    # held-out review 112, C 03/C 11 (flame's train_flame.sh): an optional one-GPU `--checkpoint.create_seed_checkpoint`
    # step before the same command on eight GPUs; the seed step, one flag longer, was taken for the run
    flags = ("  --job.config_file flame/models/fla.toml \\\n  --training.batch_size 4 \\\n"
             "  --training.seq_len 16384 \\\n  --training.steps 95368 \\\n  --checkpoint.keep_latest_k 25")
    script = write(tmp_path, "train_flame.sh",
                   f'if [[ -n "${{SEED_CKPT}}" ]]; then\nNNODE=1 NGPU=1 bash train.sh \\\n{flags} \\\n'
                   f'  --checkpoint.create_seed_checkpoint\nfi\n\nNNODE=1 NGPU=8 bash train.sh \\\n{flags}\n')
    plan = plan_of(script)
    assert plan.parallel.world_size == 8 and not notes(plan, "ignored-key")
    assert "create_seed_checkpoint" not in str(plan.sources.get("debug"))


def test_pytorchs_betas_in_the_optimizer_table(tmp_path) -> None:
    # held-out review 72, B 03: `[optimizer] betas = [0.9, 0.95]` on the 0.2.0 schema, which takes beta1/beta2 and
    # refuses unknown fields at start: a warning with no release known, an error where 0.2.0 or later is judged
    from pretrain_doctor.dialects.versions import TrainerVersions

    text = '[model]\nname = "llama3"\nflavor = "8B"\n[optimizer]\nname = "AdamW"\nlr = 3e-4\nbetas = [0.9, 0.95]\n' \
           '[training]\nsteps = 1000\n'
    path = write(tmp_path, "mot.toml", text)
    [note] = [n for n in notes(plan_of(path), "ignored-key") if n.data.get("key") == "optimizer.betas"]
    assert note.data["severity"] == "warning" and "beta1" in note.message
    judged = plan_of(path, trainer_versions=TrainerVersions({"torchtitan": "0.2.0"}, detect_installed=False))
    assert [n.data["severity"] for n in notes(judged, "ignored-key") if n.data.get("key") == "optimizer.betas"] == ["error"]


def test_a_key_of_torchtitans_argparse_era_is_not_unknown(tmp_path) -> None:
    # Held-out review 121, C 21 (kimoyerr/plm-train, torchtitan pinned at 1ceaa4e 2024-05): `enable_loss_parallel`,
    # renamed `disable_loss_parallel` in 2024-12, was "not a key of any version of this trainer known here".
    text = MINIMAL.replace("steps = 3000\n", "steps = 3000\nenable_loss_parallel = true\n")
    plan = plan_of(write(tmp_path, "t.toml", text))
    assert not [n for n in notes(plan, "ignored-key") if "any version" in n.message]


def test_a_forks_accumulation_key_alone_is_read(tmp_path) -> None:
    # held-out review 125, C 17 (s1ghhh/torchtitan's llama3_3b_dropped.toml): `training.gradient_accumulation_steps = 4`,
    # the file's one key no release reads, was left out: the global batch 4× too small
    text = MINIMAL.replace("steps = 3000", "steps = 3000\ngradient_accumulation_steps = 4")
    plan = plan_of(write(tmp_path, "fork.toml", text), world_size=8)
    assert plan.batch.grad_accum == 4 and plan.derived.global_batch.value == 2 * 4 * 8


def test_a_yaml_of_generic_sections_is_a_projects_own_not_torchtitan(tmp_path) -> None:
    # held-out review 134, A 14 (smolLM's configs/pretrain.yaml, reduced): `model`/`training`/`optimizer` sections with
    # `training.seq_len` were read as torchtitan (score 53), its defaults then judged (PD801 "checkpointing is off"
    # beside the file's own `checkpoint.save_every_steps`); a YAML must show a key or table only torchtitan has
    own = ("model:\n  d_model: 1536\n  n_layers: 24\ntraining:\n  micro_batch_size: 48\n  seq_len: 2048\n"
           "optimizer:\n  lr: 0.0003\n  weight_decay: 0.1\ncheckpoint:\n  save_every_steps: 500\n")
    assert detected(write(tmp_path, "pretrain.yaml", own)) != "torchtitan"
    assert detected(write(tmp_path, "titan.yaml", own + "parallelism:\n  data_parallel_shard_degree: -1\n")) == "torchtitan"
    assert detected(write(tmp_path, "pretrain.toml", "[model]\nname = 'llama3'\n[training]\nseq_len = 2048\n"
                          "[optimizer]\nlr = 3e-4\n")) == "torchtitan"
