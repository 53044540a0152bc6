"""GPT-NeoX adapter: `-`/`_` keys, warmup fraction, split, fp16 quirks, multi-file merge."""

from __future__ import annotations

import pytest

from pretrain_doctor.check.engine import check_paths
from pretrain_doctor.config.loader import load_document
from pretrain_doctor.dialects import BuildContext, get_dialect
from pretrain_doctor.settings import CheckOptions

from .helpers import detected, findings, notes, plan_of, reported, write

MODEL = """{
  "num-layers": 6,
  "hidden-size": 512,
  "num_attention_heads": 8,
  "seq-length": 2048,
  "pos_emb": "rotary",
  "no_weight_tying": True,
}
"""
TRAINING = """{
  "optimizer": {"type": "Adam", "params": {"lr": 0.0006, "betas": [0.9, 0.95], "eps": 1.0e-8,}},
  "train_micro_batch_size_per_gpu": 4,
  "train-iters": 10000,
  "lr_decay_iters": 10000,
  "warmup": 0.01,
  "split": "949,50,1",
  "fp16": {"enabled": True, "type": "bfloat16"},
}
"""


def _one_file(tmp_path, extra: str = ""):
    body = MODEL.rstrip().rstrip("}") + TRAINING.strip().lstrip("{").rstrip("}") + extra + "}\n"
    return write(tmp_path, "run.yml", body)


def test_dash_and_underscore_keys_are_the_same(tmp_path) -> None:
    plan = plan_of(_one_file(tmp_path))
    assert plan.model.layers == 6 and plan.model.hidden_size == 512 and plan.batch.seq_len == 2048
    assert plan.run.max_steps == 10000
    assert plan.sources["run.max_steps"].key == "train-iters"


def test_warmup_is_a_fraction_of_the_decay_horizon(tmp_path) -> None:
    plan = plan_of(_one_file(tmp_path))
    assert plan.schedule.warmup_ratio == 0.01 and plan.derived.warmup_steps.value == 100
    assert "warmup ×" in plan.sources["schedule.warmup_ratio"].note
    # AnnealingLR's warmup_iter = warmup × num_iters is a float: 0.001 × 1,500 is 1.5 iterations, 0.1% of the
    # run, not 1 step (0.067%); the same truncation as Megatron's --lr-warmup-fraction (held-out review 10, B 03)
    path = _one_file(tmp_path)
    path.write_text(path.read_text().replace('"warmup": 0.01', '"warmup": 0.001').replace('10000', '1500'))
    short = plan_of(path)
    assert short.run.max_steps == 1500 and short.schedule.warmup_ratio == 0.001
    assert not any("below 0.1%" in f.message for f in findings(short, "PD106"))


def test_split_gives_the_validation_fraction(tmp_path) -> None:
    plan = plan_of(_one_file(tmp_path))
    assert plan.data.val_fraction == pytest.approx(50 / 1000)
    assert plan.eval.enabled is True


def test_explicit_data_paths_are_read_whole_and_split_is_not(tmp_path) -> None:
    # With train_data_paths NeoX loads each role's prefixes whole and never reads `split`
    # (megatron/data/data_utils.py, build_train_valid_test_data_iterators); held-out review 12, B 12.
    plan = plan_of(_one_file(tmp_path, '"train_data_paths": ["data/a_text_document", "data/b_text_document"],'
                                       ' "test_data_paths": ["data/test_text_document"],'))
    assert [(s.dataset, s.split) for s in plan.data.train] == [("data/a_text_document", None), ("data/b_text_document", None)]
    assert [s.dataset for s in plan.data.eval] == ["data/test_text_document"]
    assert plan.data.val_fraction is None and plan.eval.enabled is False  # no validation files: no validation
    assert not findings(plan, "PD701")
    [off] = findings(plan, "PD702")  # its hint in NeoX's own keys (held-out review 18, B 22 got HF's)
    assert "valid_data_paths" in off.hint and "eval_strategy" not in off.hint
    preference = plan_of(_one_file(tmp_path, '"pos_train_data_paths": ["data/chosen"], "neg_train_data_paths": ["data/rejected"],'
                                             ' "pos_valid_data_paths": ["data/chosen"], "neg_valid_data_paths": ["data/rejected_v"],'))
    assert preference.eval.enabled is True and preference.data.val_fraction is None
    [finding] = findings(preference, "PD701")
    assert "data/chosen" in finding.message
    # Held-out review 17, B 22 (a StableLM-JP NeoX config): three training prefixes validated on as they are were
    # three errors; training is unharmed, only its eval loss is meaningless: one warning naming all three.
    same = plan_of(_one_file(tmp_path, '"train_data_paths": ["data/a", "data/b", "data/c"],'
                                       ' "valid_data_paths": ["data/a", "data/b", "data/c"],'))
    [finding] = findings(same, "PD701")
    assert finding.severity == "info" and "3 of the training datasets" in finding.message
    assert "FLOPs" in finding.message  # a 19M model's 10,000 steps: cheap to repeat (held-out review 54, B 09)
    from pretrain_doctor.plan.model import TrainingPlan

    long = TrainingPlan.model_validate({**same.model_dump(), "run": {"max_steps": 10**7}})
    [finding] = findings(long, "PD701")
    assert finding.severity == "warning"


def test_fp16_type_bfloat16_trains_in_bf16(tmp_path) -> None:
    # Held-out review 4 (Pythia 1B.yml): NeoX 1.0/2.0 arguments.py derives precision from `fp16.type`,
    # so the run is bf16, not "fp16 with a key DeepSpeed ignores". Only NeoX main after #787 ignores it: info.
    plan = plan_of(_one_file(tmp_path))
    [note] = notes(plan, "ignored-key")
    assert note.data["key"] == "fp16.type" and note.data["severity"] == "info"
    # the hint keeps the block where it is what picks bf16 (held-out reviews 27, B 04 and 28, B 20: 2022 forks)
    assert "keep it" in note.hint and "drop" not in note.hint
    assert "2.0" in note.message and "#787" in note.message
    assert plan.precision.compute == "bf16" and plan.precision.fp16_enabled is False
    assert plan.sources["precision.compute"].key == "fp16.type"
    other = plan_of(write(tmp_path, "fp32type.yml", _one_file(tmp_path).read_text().replace('"bfloat16"', '"fp32"')))
    assert other.precision.compute == "fp16" and "severity" not in notes(other, "ignored-key")[0].data


def test_lr_decay_iters_longer_than_train_iters_is_reported_once(tmp_path) -> None:
    path = _one_file(tmp_path)
    path.write_text(path.read_text().replace('"lr_decay_iters": 10000', '"lr_decay_iters": 20000'))
    plan = plan_of(path)
    assert plan.schedule.decay_steps == 20000
    assert plan.derived.warmup_steps.value == 200  # the fraction applies to lr_decay_iters
    # PD107 judges the horizon; the adapter adds no PD004 note that would say it again.
    assert not notes(plan, "inconsistent")
    assert findings(plan, "PD107") and not findings(plan, "PD004")


def test_bf16_block_without_precision_is_a_conflict(tmp_path) -> None:
    path = _one_file(tmp_path, '"bf16": {"enabled": True},\n')
    path.write_text(path.read_text().replace(', "type": "bfloat16"', ''))  # fp16.type: bfloat16 would agree
    plan = plan_of(path)
    assert plan.precision.declared_by == {"neox_precision": "fp16", "neox_bf16": "bf16"}
    assert findings(plan, "PD303")


def test_a_bf16_block_alone_on_an_attention_free_model_declares_no_conflict(tmp_path) -> None:
    # held-out review 32, B 12 (an RWKV config on a NeoX fork): no attention path uses the fp32 params NeoX derives;
    # DeepSpeed casts the model to bf16 and it trains as the block says
    path = _one_file(tmp_path, '"bf16": {"enabled": True},\n"attention_config": [[["rwkv"], 6]],\n')
    path.write_text(path.read_text().replace('"fp16": {"enabled": True, "type": "bfloat16"},', ''))
    plan = plan_of(path)
    assert plan.precision.compute == "bf16" and not plan.precision.declared_by and not findings(plan, "PD303")
    # an attention model: NeoX before #1311 (2024-11) fails at start there (held-out review 26, B 11: fp32 rotary
    # tables beside bf16 q/k); since, the block alone makes bf16 (held-out review 34, B 15): an info that says both
    path.write_text(path.read_text().replace('"attention_config": [[["rwkv"], 6]],', ''))
    attention = plan_of(path)
    assert attention.precision.compute == "bf16" and not attention.precision.declared_by
    [finding] = findings(attention, "PD303")
    assert finding.severity == "info" and "#1311" in finding.message and "`precision: bfloat16`" in finding.hint


def test_model_fragment_and_local_setup_are_companions(tmp_path) -> None:
    neox = get_dialect("neox")
    fragment = load_document(write(tmp_path, "model.yml", MODEL))
    setup = load_document(write(tmp_path, "local_setup.yml", '{"data_path": "data/x", "save": "ckpt", "load": "ckpt"}\n'))
    assert detected(write(tmp_path, "model2.yml", MODEL)) == "neox"
    assert "fragment" in neox.companion_reason(fragment)
    assert "local_setup" in neox.companion_reason(setup)
    assert neox.companion_reason(load_document(_one_file(tmp_path))) is None
    # a fork's own key or two (`s3_path`) beside many setup keys, and the launcher's `no_ssh_check`, leave it a
    # paths file (held-out review 68, B 08: skipped as no training config)
    fork = load_document(write(tmp_path, "train-polyglot.yml", '{"train_data_paths": ["a"], "valid_data_paths": ["b"], '
                               '"data_impl": "s3", "s3_path": "s3://x", "save": "ckpt", "launcher": "slurm", '
                               '"deepspeed_slurm": true, "no_ssh_check": true}\n'))
    assert "local_setup" in neox.companion_reason(fork)
    few = load_document(write(tmp_path, "few.yml", '{"data_path": "data/x", "save": "ckpt", "s3_path": "s3://x"}\n'))
    assert neox.companion_reason(few) is None  # two setup keys say too little beside a key of unknown meaning


def test_a_folder_of_one_runs_fragments_is_checked_as_that_run(tmp_path) -> None:
    # held-out review 116, C 16 (a Pythia-70M run split over pythia-base.yml, pythia-70M.yml,
    # pythia-70M-performance.yml and openwebtext2.yml, merged by deepy.py): two refused, one read as DeepSpeed's
    write(tmp_path, "model.yml", MODEL)
    write(tmp_path, "base.yml", '{"optimizer": {"type": "Adam", "params": {"lr": 0.001}}, "min_lr": 0.0001,\n'
                                '"lr-decay-style": "cosine", "checkpoint-factor": 1000, "weight-decay": 0.1}\n')
    write(tmp_path, "performance.yml", '{"pipe-parallel-size": 2, "model-parallel-size": 1,\n'
                                       '"zero_optimization": {"stage": 0}, "train_micro_batch_size_per_gpu": 16}\n')
    write(tmp_path, "data.yml", '{"train-data-paths": ["d/x"], "save": "ckpt", "train-iters": 7680,\n'
                                '"lr-decay-iters": 7680, "warmup": 0.18}\n')
    assert detected(tmp_path / "performance.yml") == "neox"
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    [checked] = [f for f in report.files if f.role == "config"]
    assert checked.path.endswith("model.yml") and checked.dialect == "neox"
    plan = plan_of(tmp_path / "model.yml")
    assert (plan.model.layers, plan.optimizer.lr, plan.run.max_steps, plan.parallel.pipeline) == (6, 0.001, 7680, 2)
    assert plan.batch.micro_batch_size == 16 and plan.schedule.kind == "cosine"
    # two model sizes side by side (`num-layers` in both): which one runs is unknown, nothing merged
    write(tmp_path, "model-160M.yml", MODEL.replace('"num-layers": 6', '"num-layers": 12'))
    assert plan_of(tmp_path / "model.yml").optimizer.lr is None


def test_merge_builds_one_plan_from_several_files(tmp_path) -> None:
    model = write(tmp_path, "model.yml", MODEL)
    training = write(tmp_path, "train.yml", TRAINING)
    setup = write(tmp_path, "setup.yml", '{"data_path": "data/x", "save": "ckpt", "load": "ckpt"}\n')
    docs = [load_document(p) for p in (model, training, setup)]
    plan = get_dialect("neox").build_plan(docs, BuildContext(load=load_document))
    assert plan.model.layers == 6 and plan.optimizer.lr == pytest.approx(6e-4)
    assert plan.sources["optimizer.lr"].file == str(training)
    assert plan.mode.resumed is False  # load == save: the auto-resume pattern of local_setup.yml
    report = check_paths([model, training, setup], CheckOptions(merge=True, use_settings=False))
    assert report.errors == [] and len(report.files) == 1 and report.files[0].dialect == "neox"


def test_duplicate_keys_across_merged_files(tmp_path) -> None:
    first = write(tmp_path, "a.yml", MODEL)
    second = write(tmp_path, "b.yml", TRAINING.replace('"train-iters"', '"num_layers": 4, "train-iters"'))
    plan = get_dialect("neox").build_plan([load_document(first), load_document(second)], BuildContext())
    dupes = notes(plan, "mutually-exclusive")
    assert len(dupes) == 1 and dupes[0].data["keys"] == ["num_layers"]


def test_load_different_from_save_is_a_resumed_run(tmp_path) -> None:
    plan = plan_of(_one_file(tmp_path, '"load": "/old/run", "save": "/new/run",\n'))
    assert plan.mode.resumed and plan.mode.init_from == "/old/run"


def test_finetune_flag_is_an_assumed_fine_tune(tmp_path) -> None:
    # neox_args `finetune`: weights only, a fresh optimizer, iteration 0; continued pretraining reads the same.
    # Held-out review 11, B 18 (GeodesicResearch/geodesic-gpt-neox ga_midtraining_N_128.yml: `finetune: true`
    # for an annealing-mix midtraining stage at lr 2.25e-4) got PD103's fine-tune lr warning as a fact.
    plan = plan_of(_one_file(tmp_path, '"load": "/base", "finetune": true,\n'))
    assert plan.mode.kind == "full_finetune" and plan.mode.init_from == "/base" and not plan.mode.resumed
    assert "mode.kind" in plan.program.assumed and "finetune" in plan.program.assumed_because
    big = (MODEL.replace('"num-layers": 6', '"num-layers": 32').replace('"hidden-size": 512', '"hidden-size": 4096')
           .rstrip().rstrip("}") + TRAINING.replace("0.0006", "0.000225").strip().lstrip("{").rstrip("}")
           + '"load": "/base", "finetune": true,\n}\n')
    said = reported(plan_of(write(tmp_path, "big.yml", big)), "PD103")
    assert said and all(f.severity == "info" and "assuming a fine-tune" in f.message for f in said)


def test_finetune_flag_with_load_in_a_file_not_read_is_an_assumed_fine_tune(tmp_path) -> None:
    # Held-out review 14, B 40 (Lisennlp/gpt-neox-j configs/gpt2_large.yml, reduced): `finetune: true` in the model
    # file, `load` (converted GPT-2 Large) in the local_setup.yml it is launched with (`deepy.py train.py -d configs
    # gpt2_large.yml local_setup.yml`). Checked alone it was read as pretraining from scratch: a PD104 warning
    # ("from-scratch runs often spike"), PD101/PD201/PD203 infos on pretraining premises, and a hint naming
    # `warmup_steps`, which NeoX does not have (only the fraction `warmup`).
    body = MODEL.replace('"num-layers": 6', '"num-layers": 36').replace('"hidden-size": 512', '"hidden-size": 1280')
    body = body.rstrip().rstrip("}") + TRAINING.replace("0.0006", "0.000001").replace("0.95]", "0.995]").replace(
        '"warmup": 0.01', '"warmup": 0.0').strip().lstrip("{").rstrip("}") + '"weight-decay": 0.0, "finetune": true,\n}\n'
    plan = plan_of(write(tmp_path, "gpt2_large.yml", body))
    assert plan.mode.kind == "full_finetune" and "mode.kind" in plan.program.assumed
    assert "local_setup.yml" in plan.program.assumed_because
    for code in ("PD101", "PD201", "PD203"):
        assert reported(plan, code) == [], code
    [warmup] = reported(plan, "PD104")
    assert warmup.severity == "info" and "`warmup: 0.03`" in warmup.hint and "warmup_ratio" not in warmup.hint
    # The paths file read too, naming no `load`: NeoX loads nothing (training.py: `if neox_args.load is not None`).
    # (at a pretraining lr: 1e-6 from scratch takes steps too small for a missing warmup to matter, an info)
    scratch = plan_of(write(tmp_path, "scratch.yml", body.replace('"finetune": true', '"finetune": true, "save": "/out"')
                            .replace("0.000001", "0.0003")))
    assert scratch.mode.kind == "pretrain" and "mode.kind" not in scratch.program.assumed
    [warning] = reported(scratch, "PD104")
    assert warning.severity == "warning" and "(e.g. `warmup: 0.01`)" in warning.hint


def test_no_load_optim_is_assumed_continued_pretraining(tmp_path) -> None:
    # neox_args `no_load_optim`: the weights without the optimizer state, a fresh optimizer on trained weights.
    plan = plan_of(_one_file(tmp_path, '"load": "/base", "save": "/base", "no_load_optim": true,\n'))
    assert plan.mode.kind == "pretrain" and plan.mode.init_from == "/base" and not plan.mode.resumed
    assert "mode.kind" in plan.program.assumed


def test_iteration_offset_resumes_an_earlier_stage(tmp_path) -> None:
    # tilde-nlp's NeoX fork (checkpointing.py at 374a5c6): `iteration_offset` counts iterations from the checkpoint
    # the previous stage left in `load`, loaded with its optimizer state. Held-out review 11, B 11 (30B_SOTA_U1_1.yml,
    # the stage after a 2000-iteration warmup stage, `load` = `save`, warmup 0) got PD104's from-scratch warning.
    body = '"load": "/ckpt", "save": "/ckpt", "iteration_offset": 2000, "override_lr_scheduler": true,\n'
    text = _one_file(tmp_path, body).read_text().replace('"warmup": 0.01', '"warmup": 0')
    plan = plan_of(write(tmp_path, "stage2.yml", text))
    assert plan.schedule.warmup_ratio == 0
    assert plan.mode.resumed and plan.mode.init_from == "/ckpt" and plan.mode.kind == "pretrain"
    assert findings(plan, "PD104") == []
    fresh = plan_of(_one_file(tmp_path, '"load": "/ckpt", "save": "/ckpt",\n'))
    assert not fresh.mode.resumed  # load == save alone: the auto-resume pattern, a fresh run


def test_typo_in_either_spelling(tmp_path) -> None:
    plan = plan_of(_one_file(tmp_path, '"lr-decay-iter": 5,\n"gradient_clipings": 1.0,\n'))
    suggestions = sorted(n.data["suggestion"] for n in notes(plan, "ignored-key") if "suggestion" in n.data)
    assert suggestions == ["gradient_clipping", "lr-decay-iters"]


def test_moe_defaults_to_one_expert_per_token(tmp_path) -> None:
    # neox_args `moe_top_k` defaults to 1: the 125M-dmoe config is ~160M active, not 8 experts' worth.
    plan = plan_of(_one_file(tmp_path, '"moe_num_experts": 8,'))
    assert plan.model.num_experts == 8 and plan.model.experts_per_token == 1
    dense = plan_of(_one_file(tmp_path, '"moe_num_experts": 1,'))
    assert plan.derived.active_parameters.value == pytest.approx(dense.derived.parameters.value)
    assert plan.derived.parameters.value > 2 * plan.derived.active_parameters.value


def test_redundant_fp16_key_is_an_info_note(tmp_path) -> None:
    body = _one_file(tmp_path).read_text().replace('"type": "bfloat16"', '"fp16": True')
    plan = plan_of(write(tmp_path, "redundant.yml", body))
    [note] = notes(plan, "ignored-key")
    assert note.data["key"] == "fp16.fp16" and note.data["severity"] == "info"


def test_an_unknown_key_beside_its_only_close_key_is_no_typo(tmp_path) -> None:
    # Held-out review 3 TEST (StableLM-2-12B, Stability's gpt-neox fork): `use_bias_in_qk_norm` beside
    # `use_bias_in_norms` got "did you mean `use_bias_in_norms`?" at warning; the rename sets that key twice.
    plan = plan_of(_one_file(tmp_path, '  "use_bias_in_norms": false,\n  "use_bias_in_qk_norm": false,\n'))
    [note] = [n for n in notes(plan, "ignored-key") if n.data["key"] == "use_bias_in_qk_norm"]
    assert note.data["severity"] == "info" and not note.data.get("typo") and "no slip" in note.message
    plan = plan_of(_one_file(tmp_path, '  "use_bias_in_qk_norm": false,\n'))
    [note] = [n for n in notes(plan, "ignored-key") if n.data["key"] == "use_bias_in_qk_norm"]
    # alone it is no slip either: a whole word (`qk_`) more than the nearest known key is a fork's own key
    assert not note.data.get("typo") and note.data["severity"] == "info" and "`use_bias_in_norms`" in note.message


def test_a_value_no_release_accepts_marks_a_fork_whose_key_for_it_is_its_own(tmp_path) -> None:
    # Held-out review 5 (21, LIVIA's NeoX fork 160M_allmods.yml): `norm: crmsnorm` with `crms_norm_epsilon`, read by the
    # fork's neox_args.py and norms.py; PD002 warned "did you mean `rms_norm_epsilon`", a rename that breaks the fork.
    text = MODEL.rstrip().rstrip("}").rstrip().rstrip(",") + ',\n  "norm": "crmsnorm",\n  "crms_norm_epsilon": 1.0e-8\n}\n'
    plan = plan_of(write(tmp_path, "160M.yml", text), "neox")
    ignored = [n for n in notes(plan, "ignored-key") if n.data.get("key") == "crms_norm_epsilon"]
    assert len(ignored) == 1 and not ignored[0].data.get("typo") and "fork's own key" in ignored[0].message
    assert "norm: crmsnorm" in plan.foreign_keys
    # an upstream value: the near key stays a slip
    plan = plan_of(write(tmp_path, "up.yml", text.replace("crmsnorm", "rmsnorm")), "neox")
    assert [n.data.get("suggestion") for n in notes(plan, "ignored-key") if n.data.get("key") == "crms_norm_epsilon"] \
        == ["rms_norm_epsilon"]


def test_gated_intermediate_size_is_scaled_by_two_thirds(tmp_path) -> None:
    # Upstream ParallelMLP (0d4bdb96 on): each gated branch is int(intermediate_size × 2/3) // 2 rounded up to 256;
    # GPT-NeoX's configs/llama2/7B.yml writes 32768 for Llama-2-7B's 11008 (this read 16384 before).
    plan = plan_of(_one_file(tmp_path, '"intermediate_size": 32768, "activation": "swiglu",\n'))
    assert plan.model.gated_mlp and plan.model.ffn_size == 11008
    # tilde-nlp's 30B_SOTA_U1_1.yml (held-out review 11, B 11): 64512 → 21504, a 29B model, not 41B.
    assert plan_of(_one_file(tmp_path, '"intermediate_size": 64512, "activation": "swiglu",\n')).model.ffn_size == 21504
    assert plan_of(_one_file(tmp_path, '"intermediate_size": 5120, "activation": "silu",\n')).model.ffn_size == 5120


def test_geodesic_fork_takes_an_explicit_intermediate_size_as_the_branch_width(tmp_path) -> None:
    # GeodesicResearch/geodesic-gpt-neox (385e662, with norm_placement and use_separate_qk_norms): "When
    # intermediate_size is explicitly set, use it directly". Held-out review 11, B 19 (configs/olmo3/olmo3_7b.yml).
    body = '"intermediate_size": 11008, "activation": "swiglu", "norm_placement": "olmo3", "use_separate_qk_norms": true,\n'
    assert plan_of(_one_file(tmp_path, body)).model.ffn_size == 11008


def test_train_impl_kto_and_dpo_are_preference_runs_rm_no_causal_lm(tmp_path) -> None:
    # Reduced from held-out review 12, B 12 (biancaganescu/gpt-neox-pythia@77691bf post-training/configs/
    # llama3-8b-kto.yml): `train_impl: kto` (neox_args.py; megatron/training.py's KTO loss against a reference
    # model) on `finetune: true` weights was read as a causal-LM full fine-tune.
    base = """\
        {
          "num_layers": 32, "hidden_size": 4096, "num_attention_heads": 32, "seq_length": 1024,
          "train_micro_batch_size_per_gpu": 32, "train_iters": 477,
          "optimizer": {"type": "Adam", "params": {"lr": 1.0e-5}},
          "train_impl": "IMPL",
          "load": "checkpoints/neox_converted/llama3-8b-instruct",
          "finetune": true
        }
        """
    plan = plan_of(write(tmp_path, "kto.yml", base.replace("IMPL", "kto")), dialect="neox")
    assert (plan.mode.kind, plan.mode.preference_method, plan.objective.kind) == ("preference", "kto", "preference")
    assert plan.sources["mode.kind"].key == "train_impl" and "mode.kind" not in plan.program.assumed
    assert plan.mode.init_from == "checkpoints/neox_converted/llama3-8b-instruct"
    plan = plan_of(write(tmp_path, "rm.yml", base.replace("IMPL", "rm")), dialect="neox")
    assert plan.objective.kind is None and "reward model" in plan.unknown["objective.kind"]
    plan = plan_of(write(tmp_path, "sft.yml", base.replace("IMPL", "normal")), dialect="neox")
    assert (plan.mode.kind, plan.objective.kind) == ("full_finetune", "causal_lm")


@pytest.mark.parametrize(("extra", "world"), [
    ('"num_gpus": 1,', 1),  # held-out review 21, B 11: a global batch of 4 sequences
    ('"num_gpus": 8, "num_nodes": 2,', 16),
    ('"num_gpus": 8, "hostfile": "/mock_path",', 8),  # upstream's placeholder: DeepSpeed trains on this host
    ('"num_gpus": 8, "hostfile": "/job/hostfile",', None),  # every host of a real hostfile: unknown
    ('"global_num_gpus": 4, "hostfile": "/job/hostfile",', 4),  # stated: NeoX derives the batch from it (review 25, B 20)
    ("", None),
])
def test_the_launchers_gpu_and_node_counts_give_the_world_size(tmp_path, extra, world) -> None:
    plan = plan_of(_one_file(tmp_path, extra))
    assert plan.parallel.world_size == world
    if world is not None:
        assert plan.derived.global_batch.value == 4 * world


def test_a_deepy_launch_script_is_read_through_the_files_it_names(tmp_path) -> None:
    # Held-out review 22, B 07 (llm-jp/gpt-neox scripts/1.3B/2node-dp16-tp1-pp1.sh): `python ./deepy.py train.py
    # --hostfile ... -d configs 1-3B.yml multi-node/...yml`, run from the checkout's root, was refused as "not a
    # training config".
    write(tmp_path / "configs", "model.yml", MODEL)
    write(tmp_path / "configs" / "multi-node", "train.yml", TRAINING)
    script = write(tmp_path / "scripts" / "1.3B", "run.sh", (
        "#!/bin/bash\nsource .env/bin/activate\npython ./deepy.py train.py \\\n  --hostfile scripts/1.3B/hostfile \\\n"
        "  -d configs model.yml multi-node/train.yml \\\n  &> outputs/logs/run.log\n"))
    assert detected(script) == "neox"
    plan = plan_of(script)
    assert [p.rsplit("/", 1)[-1] for p in plan.files] == ["model.yml", "train.yml"]
    assert plan.model.layers == 6 and plan.optimizer.lr == 0.0006 and plan.run.max_steps == 10000
    assert plan.sources["optimizer.lr"].file.endswith("configs/multi-node/train.yml")
    # held-out review 30, B 19 (`python ./deepy.py train.py -d configs a.yml b.yml`, no `--` flag at all) and B 18
    # (a tools/create_run_specific_config.py command before it): both were refused
    bare = write(tmp_path / "scripts", "bare.sh", "python ./deepy.py train.py -d configs model.yml multi-node/train.yml")
    after_tool = write(tmp_path / "scripts", "tool.sh", "python3 tools/create_run_specific_config.py --run x\n"
                                                        "python3 deepy.py train.py -d configs model.yml multi-node/train.yml\n")
    assert detected(bare) == detected(after_tool) == "neox" and plan_of(after_tool).optimizer.lr == 0.0006
    # a file it names that is not at hand: no reading at all
    (tmp_path / "configs" / "model.yml").unlink()
    assert detected(script) is None


def test_a_folder_reports_a_finding_on_a_launched_yaml_once(tmp_path, monkeypatch) -> None:
    # Held-out review 37, B 24 (`python ./deepy.py train-times.py 49M.yml` beside 49M.yml, checked as `.`): the
    # script's plan named the YAML by its absolute path, the folder walk by its relative one: each finding twice
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    _one_file(tmp_path)
    write(tmp_path, "train_script.sh", "python ./deepy.py train.py run.yml\n")
    monkeypatch.chdir(tmp_path)
    report = check_paths(["."], CheckOptions(use_settings=False))
    identities = [(f.file, f.line, f.code) for f in report.findings]
    assert report.findings and len(identities) == len(set(identities)) and all(not f.file.startswith("/")
                                                                              for f in report.findings)


def test_a_llama_mlp_type_is_gated_with_three_matrices(tmp_path) -> None:
    # Held-out review 30, B 17 (SLOP's NeoX of 2024: `"mlp_type": "llama"`, `"activation": "silu"`, intermediate 7680
    # for hidden 2816): LLaMAParallelMLP's w1/w3/w2, counted as a two-matrix MLP (450M for 580M).
    given = plan_of(_one_file(tmp_path, '"mlp_type": "llama", "activation": "silu", "intermediate-size": 1536,'))
    assert given.model.gated_mlp and given.model.ffn_size == 1536
    assert given.derived.parameters.value == 6 * (4 * 512 ** 2 + 3 * 512 * 1536)
    # without intermediate-size: int(2 × 4 × 512 / 3) = 1365, rounded up to 256 = 1536
    assert plan_of(_one_file(tmp_path, '"mlp_type": "llama",')).model.ffn_size == 1536


def test_a_later_dashed_duplicate_escapes_neoxs_check(tmp_path) -> None:
    # NeoXArgs.from_ymls checks the later file's key as written against keys stored with `_`: a later `vocab-file`
    # silently replaces the earlier value (held-out review 40, B 04: the same value in both, a run that starts)
    first = write(tmp_path, "a.yml", MODEL.replace('"num-layers": 6', '"num-layers": 6, "vocab-file": "t.json"'))
    same = write(tmp_path, "b.yml", TRAINING.replace('"train-iters"', '"vocab-file": "t.json", "train-iters"'))
    other = write(tmp_path, "c.yml", TRAINING.replace('"train-iters"', '"vocab-file": "u.json", "train-iters"'))
    assert notes(get_dialect("neox").build_plan([load_document(first), load_document(same)], BuildContext()),
                 "mutually-exclusive") == []
    [replaced] = notes(get_dialect("neox").build_plan([load_document(first), load_document(other)], BuildContext()),
                       "mutually-exclusive")
    assert replaced.data["severity"] == "info" and "silently replaces" in replaced.message


def test_a_vocab_file_without_a_tokenizer_type_stops_the_default_tokenizer(tmp_path) -> None:
    # Held-out review 44, B 23 (a GSLM run: `deepy.py train.py configs/1-3B.yml scripts/gslm/dataset.yml`, the two
    # files copied beside the script, `vocab_file: data/tokenizer.json` and no tokenizer_type): GPT2BPETokenizer asserts
    # a merge_file at start. The script's files, copied beside it, were not found and the script was skipped.
    write(tmp_path, "1-3B.yml", MODEL)
    write(tmp_path, "dataset.yml", TRAINING.replace('"train-iters"', '"vocab_file": "data/tokenizer.json", "train-iters"'))
    script = write(tmp_path, "1node.sh", "python ./deepy.py train.py configs/1-3B.yml scripts/gslm/dataset.yml\n")
    plan = plan_of(script)
    [stops] = [n for n in notes(plan, "ignored-key") if n.data.get("key") == "vocab_file"]
    assert stops.data["severity"] == "error" and "GPT2BPETokenizer" in stops.message
    alone = plan_of(tmp_path / "dataset.yml", dialect="neox")  # another file of the run may set tokenizer_type
    assert [n.data["severity"] for n in notes(alone, "ignored-key") if n.data.get("key") == "vocab_file"] == ["info"]
    typed = write(tmp_path / "t", "dataset.yml", TRAINING.replace(
        '"train-iters"', '"vocab_file": "data/tokenizer.json", "tokenizer_type": "HFTokenizer", "train-iters"'))
    assert not [n for n in notes(plan_of(typed, dialect="neox"), "ignored-key") if n.data.get("key") == "vocab_file"]


def test_eval_tasks_without_validation_data_leave_evaluation_unknown(tmp_path) -> None:
    # Held-out review 45, B 01 (a fork running its lm-eval `eval_tasks` every eval_interval on a `split: 100,0,0`
    # run): PD702 said evaluation was off
    path = _one_file(tmp_path, '  "eval_tasks": ["mmlu"],\n')
    path.write_text(path.read_text().replace('"949,50,1"', '"100,0,0"'))
    plan = plan_of(path, dialect="neox")
    assert plan.eval.enabled is None and "eval.enabled" in plan.unknown and findings(plan, "PD702") == []
    path.write_text(path.read_text().replace('  "eval_tasks": ["mmlu"],\n', ""))
    assert plan_of(path, dialect="neox").eval.enabled is False


def test_finetune_over_the_runs_own_checkpoint_folder(tmp_path) -> None:
    # Held-out review 47, B 17 (`finetune: true`, `load` = `save`): every restart loads only the weights, at iteration 0
    # with a fresh optimizer; what the first launch loads (a base checkpoint put there, or nothing) stays assumed
    path = _one_file(tmp_path, '  "finetune": true, "load": "ckpt/run", "save": "ckpt/run/",\n')
    plan = plan_of(path, dialect="neox")
    assert plan.mode.kind == "full_finetune" and "mode.kind" in plan.program.assumed
    [restarts] = [f for f in findings(plan, "PD003") if "finetune" in f.message]
    assert restarts.severity == "warning" and restarts.fix is None


def test_the_one_setup_file_beside_a_config_without_data_is_merged(tmp_path) -> None:
    # held-out review 48, B 08: `deepy.py pretrain_gpt2.py -d configs extra-small-opt.yml hellomouse-pile-mixed-local.yml`
    # recorded in notes.txt; the setup file's data paths were never read and it was skipped
    config = _one_file(tmp_path)
    write(tmp_path, "local-setup.yml", """{
      "train-data-paths": ["data/chat_text_document", "data/pile_text_document"],
      "valid-data-paths": ["data/chat_text_document", "data/pile_text_document"],
      "weight_by_num_documents": false,
      "vocab-file": "data/gpt2-vocab.json",
      "merge-file": "data/gpt2-merges.txt",
      "save": "checkpoints",
    }
    """)
    plan = plan_of(config)
    assert [entry.dataset for entry in plan.data.train] == ["data/chat_text_document", "data/pile_text_document"]
    assert plan.data.val_fraction is None and plan.eval.enabled is True  # `split` unread beside explicit paths
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    [run] = [f for f in report.files if f.path.endswith("run.yml")]
    assert any("local-setup.yml" in notice for notice in run.notices)
    assert [f.code for f in report.findings if f.file.endswith("local-setup.yml")] == ["PD701"]  # eval on train data
    write(tmp_path, "cluster-setup.yml", '{"train-data-paths": ["a"], "vocab-file": "v.json", "save": "c"}\n')
    assert not plan_of(config).data.train  # two setup files: which one is deepy.py's is unknown


def test_onebitadam_without_a_deepspeed_scheduler_runs_at_a_constant_lr(tmp_path) -> None:
    """Held-out review 56, B 21: NeoX builds no lr scheduler for OneBitAdam (training.py get_learning_rate_scheduler),
    so without a DeepSpeed `scheduler` block the lr stays at its peak: no warmup, no decay."""
    body = (MODEL.rstrip().rstrip("}") + TRAINING.strip().lstrip("{").rstrip("}")
            .replace('"type": "Adam"', '"type": "OneBitAdam"') + "}\n")
    plan = plan_of(write(tmp_path, "onebit.yml", body))
    assert plan.schedule.kind == "constant" and plan.schedule.warmup_steps == 0
    [note] = [n for n in plan.notes if "OneBitAdam" in n.message]
    assert note.data["severity"] == "warning"
    scheduled = body.replace('"split"', '"scheduler": {"type": "WarmupDecayLR", "params": {"warmup_num_steps": 100}},'
                                        ' "split"')
    assert not [n for n in plan_of(write(tmp_path, "s.yml", scheduled)).notes if "OneBitAdam" in n.message]


def test_checkpoints_need_a_save_folder(tmp_path) -> None:
    # held-out review 57, B 09/10: `checkpoint-factor` without `save` saves nothing in that file alone, but NeoX's split
    # configs (local_setup.yml) may give the folder: unknown, not on; with `save` it is on, with neither off
    interval = plan_of(_one_file(tmp_path / "a", '  "checkpoint-factor": 1000,\n'))
    assert interval.checkpoint.enabled is None and "`save`" in interval.unknown["checkpoint.enabled"]
    assert findings(interval, "PD801") == []
    saved = plan_of(_one_file(tmp_path / "b", '  "checkpoint-factor": 1000,\n  "save": "checkpoints",\n'))
    assert saved.checkpoint.enabled is True and saved.sources["checkpoint.enabled"].key == "save"
    assert plan_of(_one_file(tmp_path / "c")).checkpoint.enabled is False


@pytest.mark.parametrize("value, encoding, scaled, said", [
    # savanna (held-out review 61, B 14): RoPE, positions divided by 16: 2,048 tokens past 128 positions is no overrun
    ("rotary_linear_scaled", "rope", True, []),
    ("xpos_special", None, None, ["warning"]),  # a fork's own value: no learned table assumed, the encoding asked for
])
def test_a_forks_own_position_encoding_is_no_learned_table(tmp_path, value, encoding, scaled, said) -> None:
    config = _one_file(tmp_path, '  "rotary_emb_scaling_factor": 16,\n  "max_position_embeddings": 128,\n')
    plan = plan_of(write(tmp_path, "fork.yml", config.read_text().replace('"rotary"', f'"{value}"')))
    assert plan.model.position_encoding == encoding and plan.model.rope_scaling == scaled
    found = findings(plan, "PD601")
    assert [f.severity for f in found] == said and all("--model-config" in f.hint for f in found)


def test_a_savanna_warmstart_is_a_new_run_from_the_loaded_weights(tmp_path) -> None:
    # Held-out review 61, B 14: `load` with `warmstart: true` and `iteration: 0` was read as a resumed run
    config = _one_file(tmp_path, '  "load": "ckpt/40b",\n  "save": "ckpt/128k",\n  "warmstart": True,\n'
                                 '  "iteration": 0,\n')
    plan = plan_of(config)
    assert plan.mode.resumed is not True and plan.mode.init_from == "ckpt/40b" and "mode.kind" in plan.program.assumed


def test_a_forks_dump_of_its_merged_arguments_is_no_config(tmp_path) -> None:
    # neox-LLAMA2 (held-out review 66, B 04): `megatron_config.json`, rewritten at every launch from the YAML
    write(tmp_path, "megatron_config.json", '{"num_layers": 2, "hidden_size": 64, "num_attention_heads": 4, '
                                            '"seq_length": 128, "train_micro_batch_size_per_gpu": 1, '
                                            '"train_iters": 100, "optimizer": {"type": "Adam", "params": {"lr": 1e-4}}}')
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    assert [(r.role, r.dialect) for r in report.files] == [("companion", "neox")]


def test_a_run_that_keeps_no_weights_and_never_evaluates_is_a_benchmark(tmp_path) -> None:
    # held-out review 70, B 06: a 200-iteration sweep whose setup file beside it has `save` commented out and whose
    # eval interval is past the run: nothing kept but logs (no PD106/PD801/PD802 warnings); with `save` it is a run
    from .helpers import reported

    config = write(tmp_path / "a", "run.yml", MODEL.rstrip().rstrip("}") + TRAINING.strip().lstrip("{").rstrip("}")
                   .replace('"train-iters": 10000', '"train-iters": 200')
                   .replace('"lr_decay_iters": 10000', '"lr_decay_iters": 200')
                   + '  "checkpoint_factor": 450,\n  "eval_interval": 1800,\n}\n')
    write(tmp_path / "a", "local_setup.yml", '{"data_path": "data/enwik8_text_document", "vocab_file": "v.json",\n'
                                             '  # "save": "checkpoints",\n  "merge_file": "m.txt", "log_dir": "logs"}\n')
    plan = plan_of(config)
    assert plan.checkpoint.enabled is False and plan.debug
    # `save` merely absent from the setup file: a launcher may pass it (savanna's `--checkpoint_path`)
    write(tmp_path / "b", "local_setup.yml", '{"data_path": "data/enwik8_text_document", "log_dir": "logs"}\n')
    absent = write(tmp_path / "b", "run.yml", config.read_text())
    assert plan_of(absent).checkpoint.enabled is None and not plan_of(absent).debug
    assert not [f for f in reported(plan, "PD106") + reported(plan, "PD802") + reported(plan, "PD801")
                if f.severity != "info"]
    write(tmp_path / "a", "local_setup.yml", '{"data_path": "data/enwik8_text_document", "save": "ckpt", '
                                             '"load": "ckpt", "log_dir": "logs"}\n')
    plan = plan_of(config)
    assert plan.checkpoint.enabled is True and not plan.debug


def test_include_launching_fewer_gpus_than_global_num_gpus_fails_deepspeeds_batch_check(tmp_path) -> None:
    # held-out review 70, B 07: `include: localhost:0` (one process) under `global_num_gpus: 8` and train_batch_size
    # 1024 = 32 × 4 × 8: NeoX's own check passes, DeepSpeed's on a world of 1 does not
    from pretrain_doctor.dialects.neox import _included_gpus

    assert _included_gpus("localhost:0") == 1 and _included_gpus("node1:0,1,2,3@node2:0,1") == 6
    assert _included_gpus("node1@node2") is None
    config = _one_file(tmp_path, '"gradient_accumulation_steps": 4, "global_num_gpus": 8, "train_batch_size": 1024,'
                                 ' "include": "localhost:0",\n')
    config.write_text(config.read_text().replace('"train_micro_batch_size_per_gpu": 4', '"train_micro_batch_size_per_gpu": 32'))
    [stops] = [n for n in notes(plan_of(config), "other") if n.data.get("code") == "PD402"]
    assert stops.data["severity"] == "error" and "1024 ≠ 32 × 4 × 1 = 128" in stops.message
    config.write_text(config.read_text().replace('"localhost:0"', '"localhost:0,1,2,3,4,5,6,7"'))
    assert not [n for n in notes(plan_of(config), "other") if n.data.get("code") == "PD402"]


def test_a_forks_warmup_iters_and_decay_lr_to_are_read_as_their_names_say(tmp_path) -> None:
    # held-out review 71, B 11 (EleutherAI's math-lm NeoX for Llemma): `warmup_iters: 500` and `decay_lr_to: 0.033`,
    # keys no upstream release has, were read as upstream's default 1% warmup and a floor of 0
    fork = TRAINING.replace('"warmup": 0.01,', '"warmup_iters": 500,\n  "decay_lr_to": 0.033,')
    path = write(tmp_path, "llemma.yml", MODEL.rstrip().rstrip("}") + fork.strip().lstrip("{"))
    plan = plan_of(path)
    assert plan.schedule.warmup_steps == 500 and plan.schedule.min_lr_ratio == 0.033 and plan.schedule.min_lr is None
    assert "fork's own key" in plan.sources["schedule.warmup_steps"].note


def test_keep_last_n_checkpoints_bounds_the_disk_frequent_saves_take(tmp_path) -> None:
    # held-out review 138, C 10 (Latxa's Llama-2 70B continued pretraining, reduced): `checkpoint_factor: 10` over
    # 10,000 steps with `keep_last_n_checkpoints: 2`, told every checkpoint was kept (958 TB)
    big = MODEL.replace('"num-layers": 6', '"num-layers": 80').replace('"hidden-size": 512', '"hidden-size": 8192')
    body = big.rstrip().rstrip("}") + TRAINING.strip().lstrip("{").rstrip("}") + (
        '"save": "checkpoints", "checkpoint_factor": 10, "keep_last_n_checkpoints": 2,\n}\n')
    plan = plan_of(write(tmp_path, "run.yml", body))
    assert plan.checkpoint.keep_last == 2
    [often] = [f for f in findings(plan, "PD802") if "large share" in f.message]
    assert "the last 2 kept take" in often.message and "all kept" not in often.message
