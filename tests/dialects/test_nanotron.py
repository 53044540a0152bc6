"""nanotron adapter: sections, batch and world size from `parallelism`, the lr schedule's phases."""

from __future__ import annotations

import pytest

from pretrain_doctor.config.loader import load_document
from pretrain_doctor.dialects import detection

from .helpers import detected, findings, judged, notes, plan_of, reported, write

TINY = """
general: {project: demo, run: r1, seed: 7}
parallelism: {dp: 8, pp: 2, tp: 4, pp_engine: 1f1b, tp_mode: REDUCE_SCATTER}
model:
  dtype: bfloat16
  init_method: {std: 0.02}
  make_vocab_size_divisible_by: 64
  model_config:
    is_llama_config: true
    hidden_size: 1024
    num_hidden_layers: 16
    num_attention_heads: 16
    vocab_size: 50257
tokens: {sequence_length: 2048, train_steps: 10000, micro_batch_size: 4, batch_accumulation_per_replica: 8}
optimizer:
  zero_stage: 1
  weight_decay: 0.1
  clip_grad: 1.0
  accumulate_grad_in_fp32: true
  learning_rate_scheduler:
    learning_rate: 0.0006
    lr_warmup_steps: 500
    lr_warmup_style: linear
    lr_decay_style: cosine
    min_decay_lr: 0.00006
  optimizer_factory: {name: adamW, adam_beta1: 0.9, adam_beta2: 0.95, adam_eps: 1.0e-8, torch_adam_is_fused: true}
data_stages:
- name: stable
  start_training_step: 1
  data:
    seed: 1
    num_loading_workers: 2
    dataset: {dataset_folder: /data/fineweb}
checkpoints: {checkpoints_path: ckpt, checkpoint_interval: 1000}
"""


def test_detected_and_read(tmp_path) -> None:
    path = write(tmp_path, "config.yaml", TINY)
    assert detected(path) == "nanotron"
    plan = plan_of(path)
    assert plan.optimizer.lr == pytest.approx(6e-4) and plan.optimizer.family == "adamw"
    assert plan.optimizer.betas == (0.9, 0.95) and plan.optimizer.eps == pytest.approx(1e-8)
    assert plan.model.kv_heads == 16  # num_key_value_heads defaults to the attention heads
    assert plan.model.embedding_rows == 50304  # 50257 rounded up to a multiple of 64
    assert plan.model.ffn_size == 11008 and plan.sources["model.ffn_size"].note.startswith("nanotron llama")
    assert plan.seed == 7 and plan.parallel.zero_stage == 1
    assert plan.data.train[0].dataset == "/data/fineweb" and plan.debug is False
    assert plan.mode.kind == "pretrain" and plan.objective.kind == "causal_lm"


def test_batch_world_size_and_length(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "config.yaml", TINY))
    assert plan.parallel.world_size == 64  # dp 8 × tp 4 × pp 2
    assert plan.derived.global_batch.value == 4 * 8 * 8
    assert plan.batch.seq_len == 2048 and plan.run.max_steps == 10000
    assert plan.sources["batch.grad_accum"].key == "tokens.batch_accumulation_per_replica"


def test_decay_runs_from_the_end_of_warmup_to_the_end_of_the_run(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "config.yaml", TINY))
    assert plan.schedule.kind == "cosine" and plan.schedule.warmup_steps == 500
    assert plan.schedule.decay_steps is None  # lr_decay_steps defaults to train_steps − warmup: the whole run
    assert plan.derived.decay_steps.value == 10000
    assert plan.schedule.min_lr == pytest.approx(6e-5)


def test_explicit_decay_steps_count_after_the_decay_start(tmp_path) -> None:
    text = TINY.replace("min_decay_lr: 0.00006", "min_decay_lr: 0.00006\n    lr_decay_steps: 4000\n"
                        "    lr_decay_starting_step: 6000")
    plan = plan_of(write(tmp_path, "config.yaml", text))
    assert plan.schedule.decay_steps == 10000  # starts at 6000, lasts 4000
    assert plan.schedule.kind.startswith("wsd")  # flat between warmup and the decay start


def test_a_late_decay_start_without_decay_steps_decays_past_the_run(tmp_path) -> None:
    # Held-out review 37, B 05: Config.__post_init__ fills lr_decay_steps = train_steps - warmup (10000 - 500), counted
    # from lr_decay_starting_step (6000): the cosine ends at 15500, past the 10000-step run
    text = TINY.replace("min_decay_lr: 0.00006", "min_decay_lr: 0.00006\n    lr_decay_starting_step: 6000")
    plan = plan_of(write(tmp_path, "config.yaml", text))
    assert plan.schedule.decay_steps == 15500 and "lr_decay_starting_step" in plan.sources["schedule.decay_steps"].note


def test_min_decay_lr_defaults_to_the_peak_lr(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "config.yaml", TINY.replace("    min_decay_lr: 0.00006\n", "")))
    assert plan.schedule.min_lr == pytest.approx(6e-4)
    assert plan.schedule.kind == "constant"


def test_without_fp32_accumulation_the_weights_train_in_bf16(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "config.yaml", TINY.replace("accumulate_grad_in_fp32: true",
                                                               "accumulate_grad_in_fp32: false")))
    assert plan.precision.compute == "bf16" and plan.precision.params == "bf16" and plan.precision.mixed is False


def test_old_layout_and_checkpoint_init(tmp_path) -> None:
    text = (TINY.replace("  optimizer_factory: {name: adamW, adam_beta1: 0.9, adam_beta2: 0.95, adam_eps: 1.0e-8, "
                         "torch_adam_is_fused: true}\n",
                         "  adam_beta1: 0.9\n  adam_beta2: 0.98\n  adam_eps: 1.0e-6\n  torch_adam_is_fused: true\n")
            .replace("init_method: {std: 0.02}", "init_method: {path: /ckpt/base}"))
    plan = plan_of(write(tmp_path, "config.yaml", text))
    assert plan.optimizer.betas == (0.9, 0.98) and plan.optimizer.family == "adamw"
    assert plan.mode.kind == "full_finetune" and plan.mode.init_from == "/ckpt/base"


def test_dummy_data_is_a_smoke_test_and_typos_are_reported(tmp_path) -> None:
    text = TINY.replace("dataset: {dataset_folder: /data/fineweb}", "dataset: null").replace(
        "micro_batch_size: 4,", "micro_batch_size: 4, sequence_lenght: 1,")
    plan = plan_of(write(tmp_path, "config.yaml", text))
    assert plan.debug is True
    assert [n.data["suggestion"] for n in notes(plan, "ignored-key")] == ["sequence_length"]


def test_starcoder2_family_and_clip_off(tmp_path) -> None:
    text = (TINY.replace("is_llama_config: true", "is_starcoder2_config: true")
            .replace("clip_grad: 1.0", "clip_grad: null"))
    plan = plan_of(write(tmp_path, "config.yaml", text))
    assert plan.model.family == "starcoder2" and plan.model.kv_heads == 1 and plan.model.gated_mlp is False
    assert plan.clipping.max_norm == 0.0


def test_real_tiny_llama(shared_dir) -> None:
    plan = plan_of(shared_dir / "real-configs/nanotron/examples/config_tiny_llama.yaml")
    assert plan.dialect == "nanotron"
    assert plan.optimizer.lr == pytest.approx(3e-4)
    assert plan.schedule.kind == "cosine" and plan.schedule.warmup_steps == 2
    assert plan.schedule.decay_steps == 15 and plan.schedule.min_lr == pytest.approx(1e-5)  # 2 + lr_decay_steps 13
    assert plan.run.max_steps == 2000
    assert plan.derived.global_batch.value == 12  # micro 3 × accumulation 1 × dp 4
    assert plan.batch.seq_len == 4096 and plan.parallel.world_size == 8
    assert plan.mode.kind == "pretrain" and plan.objective.kind == "causal_lm"
    assert plan.debug is True  # dataset: null


def test_example_model_configs_without_assumed_defaults(tmp_path) -> None:
    mamba = TINY.replace("""    is_llama_config: true
    hidden_size: 1024
    num_hidden_layers: 16
    num_attention_heads: 16
""", """    is_mamba_config: true
    d_model: 1536
    num_hidden_layers: 48
""").replace("vocab_size: 50257", "vocab_size: 50277")
    plan = plan_of(write(tmp_path, "mamba.yaml", mamba))
    assert plan.model.family == "mamba" and plan.model.hidden_size == 1536 and plan.model.layers == 48
    assert plan.model.heads is None and plan.model.ffn_size is None and plan.model.position_encoding == "none"
    assert 7.0e8 < plan.derived.parameters.value < 8.0e8  # Mamba-790m's shape: ~6.25·d² per layer
    moe = TINY.replace("is_llama_config: true", "is_llamoe_config: true\n    moe_num_experts: 4\n    num_experts_per_tok: 1")
    plan = plan_of(write(tmp_path, "moe.yaml", moe))
    assert plan.model.family == "llamoe" and plan.model.num_experts == 4 and plan.model.experts_per_token == 1


def test_single_data_section_of_files_before_data_stages(tmp_path) -> None:
    text = TINY.replace("""data_stages:
- name: stable
  start_training_step: 1
  data:
    seed: 1
    num_loading_workers: 2
    dataset: {dataset_folder: /data/fineweb}
""", """data:
  seed: 1
  num_loading_workers: 3
  dataset: {hf_dataset_or_datasets: HuggingFaceH4/testing_alpaca_small, text_column_name: completion}
""")
    plan = plan_of(write(tmp_path, "config.yaml", text))
    assert plan.data.train[0].dataset == "HuggingFaceH4/testing_alpaca_small" and plan.data.num_workers == 3
    assert plan.debug is False and notes(plan, "ignored-key") == []


def test_sections_nanotron_lacks_make_the_dialect_a_guess(tmp_path) -> None:
    foreign = "".join(f"{name}: {{a: 1}}\n" for name in ("trainer", "callbacks", "loggers", "plugins"))
    found = detection(load_document(write(tmp_path, "config.yaml", TINY + foreign)))
    assert found.dialect.name == "nanotron"
    assert "a guess: nanotron reads only 7 of the 11 top-level keys" in found.notice and "`trainer`" in found.notice


def test_real_tiny_llama_uses_only_known_sections(shared_dir) -> None:
    doc = load_document(shared_dir / "real-configs/nanotron/examples/config_tiny_llama.yaml")
    found = detection(doc)
    assert found.dialect.name == "nanotron" and found.notice is None
    assert [key for key in doc.data if key not in found.dialect.keys_read(doc)] == []
    assert notes(plan_of(shared_dir / "real-configs/nanotron/examples/config_tiny_llama.yaml"), "ignored-key") == []


def test_a_ten_step_run_is_a_smoke_test(tmp_path) -> None:
    # examples/doremi/configs/config_280m_llama.yaml (held-out review): `train_steps: 10`, the real length
    # commented out above it; judged as pretraining it got a 20%-warmup warning.
    plan = plan_of(write(tmp_path, "config.yaml", TINY.replace("train_steps: 10000", "train_steps: 10")))
    assert plan.debug is True
    assert plan_of(write(tmp_path, "long.yaml", TINY)).debug is not True


def test_resuming_its_own_checkpoints_is_this_run(tmp_path) -> None:
    # huggingface/nanotron examples/moe/config_llamoe.yaml (swiss-ai fork, held-out review 2): resumes from the
    # folder it saves to, sequence_length 256 over max_position_embeddings 128: every rotation it uses is
    # trained by this config (nanotron's rotary cache grows), so PD601 has nothing to say.
    text = (TINY.replace("checkpoints: {checkpoints_path: ckpt, checkpoint_interval: 1000}",
                         "checkpoints: {checkpoints_path: /fsx/ckpt/, checkpoint_interval: 1000, resume_checkpoint_path: /fsx/ckpt}")
            .replace("    vocab_size: 50257", "    vocab_size: 50257\n    max_position_embeddings: 128\n    rope_scaling: null"))
    plan = plan_of(write(tmp_path, "config_llamoe.yaml", text))
    # auto-resume: the run from its first step (held-out review 37, B 04: an empty resume folder starts from scratch)
    assert plan.mode.resumed is False and plan.mode.init_from is None and findings(plan, "PD601") == []
    other = plan_of(write(tmp_path, "from_hf.yaml", text.replace("resume_checkpoint_path: /fsx/ckpt", "resume_checkpoint_path: /fsx/llama-converted")))
    assert other.mode.init_from == "/fsx/llama-converted"
    assert [f.severity for f in findings(other, "PD601")] == ["warning"]
    assert other.run.start_step is None
    # held-out review 44, B 02: a checkpoint folder named by its step is where the resumed run continues from
    stage = plan_of(write(tmp_path, "decay.yaml", text.replace("resume_checkpoint_path: /fsx/ckpt",
                                                               "resume_checkpoint_path: /fsx/trunk/9000/")))
    assert stage.mode.resumed is True and stage.run.start_step == 9000 and stage.run.max_steps == 10000


def test_bitnet_fork_config_is_llamas_shape(tmp_path) -> None:
    # Held-out review 5, ryanjakecherian/nanotron examples/config_tiny_llama.yaml (bb71090d): `is_bitnet_config`
    # builds LlamaBitNetConfig, Llama's shape with a gated MLP (llama_bitnet.py MLPBitNet.gate_up_proj); the 7B
    # shape was counted with a two-matrix MLP, 5.3B instead of 6.74B.
    text = TINY.replace("is_llama_config: true", "is_bitnet_config: true").replace(
        "    hidden_size: 1024\n    num_hidden_layers: 16\n    num_attention_heads: 16\n    vocab_size: 50257\n",
        "    hidden_size: 4096\n    intermediate_size: 11008\n    num_hidden_layers: 32\n    num_attention_heads: 32\n"
        "    num_key_value_heads: 32\n    tie_word_embeddings: false\n    vocab_size: 32000\n").replace(
        "make_vocab_size_divisible_by: 64", "make_vocab_size_divisible_by: 1")
    plan = plan_of(write(tmp_path, "config.yaml", text))
    assert plan.model.family == "llama" and plan.model.gated_mlp is True
    assert plan.derived.parameters.value == 6_738_149_376


def test_a_file_wholly_in_the_pre_factory_layout_is_not_called_old(tmp_path) -> None:
    # Held-out review 6, zguo0525/nanotron config_mamba.yaml (Mar 2024): Adam settings straight under `optimizer:`
    # are the layout of the nanotron the file targets (before 0.5); the info "is the old layout ... they refuse
    # this file" was judged wrong. A file mixing both layouts is read by no release: one warning.
    old = TINY.replace("  optimizer_factory: {name: adamW, adam_beta1: 0.9, adam_beta2: 0.95, adam_eps: 1.0e-8, "
                       "torch_adam_is_fused: true}\n",
                       "  adam_beta1: 0.9\n  adam_beta2: 0.95\n  adam_eps: 1.0e-8\n  torch_adam_is_fused: true\n")
    plan = plan_of(write(tmp_path, "config.yaml", old))
    assert plan.optimizer.betas == (0.9, 0.95) and "< 0.5" in plan.sources["optimizer.betas"].note
    assert [n for n in notes(plan, "ignored-key") if "adam_beta1" in n.message] == []
    mixed = TINY.replace("  optimizer_factory:", "  adam_beta1: 0.9\n  optimizer_factory:")
    assert "  adam_beta1: 0.9\n" in mixed
    flagged = [n for n in notes(plan_of(write(tmp_path, "mixed.yaml", mixed)), "ignored-key") if "adam_beta1" in n.message]
    assert len(flagged) == 1 and flagged[0].data["severity"] == "warning" and "both" in flagged[0].message


# Held-out review 12, B 02 (loubnabnl/nanotron-smol-cluster@4406dd8 brrr/starcoder2/config_7b_finetune_16k.yaml,
# reduced): the layout of nanotron's first commits (c1df08ed..51912358, src/nanotron/config.py taken from brrr):
# `profile` (ProfileArgs), a top-level `learning_rate_scheduler` (LRSchedulerArgs), `optimizer.learning_rate`.
BRRR = """
general: {name: sc2_7b_16k, kill_switch_path: ./kill_sc2_7b_16k, ignore_sanity_checks: true}
profile:
checkpoints: {checkpoints_path: /ckpt/sc2_7b_16k, checkpoint_interval: 5000}
parallelism: {dp: 54, pp: 1, tp: 4, pp_engine: 1f1b, tp_mode: REDUCE_SCATTER, tp_linear_async_communication: true}
model:
  hf_model_name: bigcode/starcoder2
  make_vocab_size_divisible_by: 128
  init_method: {std: 0.0147}
  dtype: bfloat16
  seed: 1234
tokens: {sequence_length: 16384, train_steps: 14200, micro_batch_size: 1, batch_accumulation_per_replica: 4,
         val_check_interval: 1, limit_val_batches: 1}
optimizer:
  zero_stage: 0
  weight_decay: 0.1
  clip_grad: 1.0
  accumulate_grad_in_fp32: true
  adam_eps: 1.0e-8
  adam_beta1: 0.9
  adam_beta2: 0.95
  torch_adam_is_fused: true
  learning_rate: 2.0e-5
learning_rate_scheduler:
  lr_warmup_steps: 1000
  lr_warmup_style: linear
  lr_decay_steps: 14200
  lr_decay_style: cosine
  min_decay_lr: 2.0e-6
logging: {log_level: info, log_level_replica: info, iteration_step_info_interval: 10}
data:
  seed: 1234
  num_loading_workers: 1
  dataset: {data_prefix: [1.0, /data/stack], index_mapping_dir: null, splits_string: '9998,1,1', skip_warmup: true,
            dataloader_type: single, validation_drop_last: true, eod_mask_loss: false,
            no_seqlen_plus_one_input_tokens: false, pad_samples_to_global_batch_size: false}
"""


def test_the_first_brrr_layout_is_read_where_it_puts_the_schedule(tmp_path) -> None:
    path = write(tmp_path, "config.yaml", BRRR)
    assert detected(path) == "nanotron"
    plan = plan_of(path)
    assert plan.optimizer.lr == pytest.approx(2e-5) and "brrr" in plan.sources["optimizer.lr"].note
    assert plan.schedule.kind == "cosine" and plan.schedule.warmup_steps == 1000
    assert plan.schedule.min_lr == pytest.approx(2e-6) and plan.schedule.decay_steps == 1000 + 14200
    # its keys are that layout's: no "did you mean `profiler`" (dacite strict=True would refuse `profiler`), no fork
    assert notes(plan, "ignored-key") == [] and plan.foreign_keys == []


def test_the_brrr_layout_judged_against_a_release_and_profile_in_a_release_layout(tmp_path) -> None:

    # judged against a release (0.4 reads the schedule under `optimizer:` and `profiler`), the layout's keys are not
    # that release's: unknown to it, `profile` named
    versions = judged("nanotron=0.4")
    plan = plan_of(write(tmp_path, "config.yaml", BRRR), trainer_versions=versions)
    assert {"profile", "learning_rate_scheduler", "optimizer.learning_rate"} <= set(plan.foreign_keys)
    assert "profile" in {n.data.get("key") for n in notes(plan, "ignored-key")}
    # a release-layout file with `profile:` is a near miss of `profiler`, not a fork: still a warning with its rename
    plan = plan_of(write(tmp_path, "release.yaml", TINY + "profile:\n  profiler_export_path: /tmp/prof\n"))
    (note,) = [n for n in notes(plan, "ignored-key") if n.data.get("key") == "profile"]
    assert note.data.get("suggestion") == "profiler" and note.data.get("typo") and plan.reading is None


def test_a_vision_language_forks_text_config_gives_the_language_models_shape(fixtures_dir) -> None:
    # Held-out review 16, B 25 (kisate/nanotron, Idefics3): `model_config.text_config` holds the language model; the
    # Llama defaults (32,000 rows) made pad id 128002 an out-of-bounds error, and Llama 3's list of eos ids a PD002.
    plan = plan_of(fixtures_dir / "rules" / "PD501" / "good-vlm-text-config.yaml", "nanotron")
    assert (plan.model.vocab_size, plan.model.embedding_rows, plan.model.layers) == (128260, 128260, 32)
    assert plan.sources["model.vocab_size"].key == "model.model_config.text_config.vocab_size"
    assert (plan.model.pad_token_id, plan.model.eos_token_id) == (128002, 128001)
    assert findings(plan, "PD002") == [] and findings(plan, "PD501") == []


def test_sequence_length_unlike_the_positions_stops_the_checkouts_trainer(tmp_path) -> None:
    # Held-out review 27 (B 22): 256 against 128 from random weights; nanotron main asserted equality from 2024-04 to
    # 2025-03, the releases before set one to the other and later main ignores the positions.
    text = TINY.replace("    vocab_size: 50257", "    vocab_size: 50257\n    max_position_embeddings: 1024")
    checkout = tmp_path / "repo"
    path = write(checkout / "examples", "config.yaml", text)
    assert not findings(plan_of(path), "PD004")  # no trainer at hand: the releases adjust
    trainer = checkout / "src" / "nanotron"
    trainer.mkdir(parents=True)
    (trainer / "trainer.py").write_text("assert (seq == pos), \"The tokenizer's sequence length does not match the "
                                        "model's maximum position embeddings.\"\n")
    [finding] = findings(plan_of(path), "PD004")
    assert finding.severity == "error" and "`tokens.sequence_length: 2048`" in finding.message
    assert "`max_position_embeddings: 2048`" in finding.hint
    from_weights = text.replace("init_method: {std: 0.02}", "init_method: {path: /ckpt/base}")
    assert not findings(plan_of(write(checkout / "examples", "ft.yaml", from_weights)), "PD004")  # only warns
    (trainer / "trainer.py").write_text("log_rank('the model max_position_embeddings is ignored')\n")
    assert not findings(plan_of(write(checkout / "examples", "new.yaml", text)), "PD004")


_FORK_CONFIG_PY = '''
@dataclass
class DataStatesArgs:
    host_cache_size: int = 16

@dataclass
class CheckpointsArgs:
    checkpoints_path: Path
    checkpoint_interval: int
    datastates: Optional[DataStatesArgs] = None

@dataclass
class Config:
    general: GeneralArgs
    model: ModelArgs
    checkpoints: Optional[CheckpointsArgs] = None
    tokens: Optional[TokensArgs] = None
    optimizer: Optional[OptimizerArgs] = None
    data_stages: Optional[List[DatasetStageArgs]] = None
    parallelism: ParallelismArgs = None
'''


def test_a_key_the_checkouts_config_declares_in_a_section_is_misplaced_at_the_top(tmp_path) -> None:
    # held-out review 29, B 24 (korovod/kenotron): `datastates:` at the top level; the fork's Config takes it under
    # `checkpoints:` and every nanotron loads the YAML with dacite strict=True
    checkout = tmp_path / "kenotron"
    (checkout / "src" / "nanotron" / "config").mkdir(parents=True)
    (checkout / "src" / "nanotron" / "config" / "config.py").write_text(_FORK_CONFIG_PY)
    path = write(checkout / "examples", "config.yaml", TINY + "datastates:\n  host_cache_size: 32\ndoremi: {}\n")
    found = {n.data["key"]: n for n in notes(plan_of(path), "ignored-key")}
    assert found["datastates"].data["severity"] == "error" and found["datastates"].hint == "move it under `checkpoints:`"
    # `doremi` may be a field of a program's own Config subclass (nanotron's doremi example): no error
    assert [key for key, note in found.items() if note.data.get("severity") == "error"] == ["datastates"]
    # without the checkout's source nothing says where the key belongs: no error
    alone = notes(plan_of(write(tmp_path / "alone", "config.yaml", TINY + "datastates: {}\n")), "ignored-key")
    assert alone and all(n.data.get("severity") != "error" for n in alone)


def test_a_forks_gpt3_config_is_xglms_shape_not_llamas(tmp_path) -> None:
    # Held-out review 38, B 05 (swiss-ai/nanotron-multilingual examples/xglm: GPT3Config, which the strict loader picks
    # for its sinusoidal-position keys): read as Llama, gated, rotary and untied, 927M parameters for XGLM-564M
    text = TINY.split("model:")[0] + (
        "model:\n  ddp_bucket_cap_mb: 25\n  dtype: bfloat16\n  init_method:\n    std: 0.02\n  make_vocab_size_divisible_by: 1\n"
        "  model_config:\n    activation_function: gelu\n    hidden_size: 1024\n    intermediate_size: 4096\n"
        "    max_position_embeddings: 2048\n    num_attention_heads: 16\n    num_hidden_layers: 24\n"
        "    vocab_size: 256008\n    sinusoidal_position_embedding: true\n    position_embedding_offset: 2\n"
        "    scale_embedding: true\n") + "optimizer:" + TINY.split("optimizer:", 1)[1]
    plan = plan_of(write(tmp_path, "example_config.yaml", text))
    assert plan.model.family == "gpt3" and plan.model.gated_mlp is False and plan.model.position_encoding == "sinusoidal"
    assert plan.model.tie_embeddings is True and plan.model.kv_heads == 16
    assert abs(plan.derived.parameters.value - 564e6) < 2e6


def test_a_mistral_config_has_a_gated_mlp(tmp_path) -> None:
    # Held-out review 45, B 16 (`is_mistral_config: true`, a 7B with intermediate_size 14336): counted with two MLP
    # matrices, 5.52B instead of 7.4B
    text = TINY.replace("is_llama_config: true", "is_mistral_config: true\n    intermediate_size: 4096")
    plan = plan_of(write(tmp_path, "mistral.yaml", text))
    assert plan.model.family == "mistral" and plan.model.gated_mlp is True and plan.model.position_encoding == "rope"


def test_val_check_interval_leaves_evaluation_unknown(tmp_path) -> None:
    # held-out review 48, B 16: TokensArgs declares it, but nanotron's trainer never calls validation_step
    plan = plan_of(write(tmp_path, "config.yaml", BRRR))
    assert plan.eval.enabled is None and "never runs the validation" in plan.unknown["eval.enabled"]
    assert not findings(plan, "PD702")  # neither "evaluation is off" (a fork may run it) nor on


def test_a_hub_tokenizer_known_here_gives_its_length(tmp_path) -> None:
    # held-out review 49, B 10: 256 embedding rows beside `HuggingFaceTB/cosmo2-tokenizer` (49,152 tokens)
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    small = TINY.replace("vocab_size: 50257", "vocab_size: 256") + \
        "tokenizer: {tokenizer_name_or_path: HuggingFaceTB/cosmo2-tokenizer}\n"
    path = write(tmp_path, "config.yaml", small)
    [finding] = [f for f in check_paths([path], CheckOptions(use_settings=False)).findings if f.code == "PD501"]
    assert finding.severity == "error" and "49152 tokens" in finding.message


_BUILDER = '''\
import os
from nanotron.config import (AdamWOptimizerArgs, CheckpointsArgs, Config, GeneralArgs, LlamaConfig, LRSchedulerArgs,
                             ModelArgs, OptimizerArgs, ParallelismArgs, RandomInit, TokenizerArgs, TokensArgs)

model_config = LlamaConfig(hidden_size=16, intermediate_size=64, num_attention_heads=4, num_hidden_layers=2,
                           num_key_value_heads=4, vocab_size=256, max_position_embeddings=256)
seed = 42
learning_rate = LRSchedulerArgs(learning_rate=3e-4, lr_warmup_steps=2, lr_warmup_style="linear",
                                lr_decay_style="cosine", min_decay_lr=1e-5)
optimizer = OptimizerArgs(zero_stage=0, weight_decay=0.01, clip_grad=1.0, accumulate_grad_in_fp32=True,
                          learning_rate_scheduler=learning_rate,
                          optimizer_factory=AdamWOptimizerArgs(adam_eps=1e-08, adam_beta1=0.9, adam_beta2=0.95,
                                                               torch_adam_is_fused=True))
parallelism = ParallelismArgs(dp=2, pp=1, tp=2, pp_engine="1f1b", tp_mode="REDUCE_SCATTER")
tokens = TokensArgs(sequence_length=256, train_steps=5000, micro_batch_size=2, batch_accumulation_per_replica=4)
checkpoints_path = os.path.dirname(__file__) + "/checkpoints"
config = Config(
    general=GeneralArgs(project="debug", run="tiny_llama", seed=seed),
    checkpoints=CheckpointsArgs(checkpoints_path=checkpoints_path, checkpoint_interval=500),
    parallelism=parallelism,
    model=ModelArgs(init_method=RandomInit(std=0.025), model_config=model_config),
    tokenizer=TokenizerArgs("robot-test/dummy-tokenizer-wordlevel"),
    optimizer=optimizer,
    tokens=tokens,
)
if __name__ == "__main__":
    config.save_as_yaml("config_tiny_llama.yaml")
'''


def test_a_python_builder_is_read_as_the_yaml_it_saves(tmp_path) -> None:
    # held-out review 79, B 14/B 15: nanotron's examples/config_tiny_llama.py style (Config(...) of the argument
    # classes, saved as YAML) was "not a training config of a supported trainer"; read with ast, never run
    path = write(tmp_path, "config_tiny_llama.py", _BUILDER)
    assert detected(path) == "nanotron"
    plan = plan_of(path)
    assert (plan.model.layers, plan.model.hidden_size, plan.model.vocab_size) == (2, 16, 256)
    assert plan.optimizer.lr == 3e-4 and plan.optimizer.betas == (0.9, 0.95) and plan.schedule.warmup_steps == 2
    assert (plan.batch.micro_batch_size, plan.batch.grad_accum, plan.run.max_steps) == (2, 4, 5000)
    assert plan.parallel.world_size == 4 and plan.sources["optimizer.lr"].line == 8
    assert plan.tokenizer.path == "robot-test/dummy-tokenizer-wordlevel"
    # the folder a computed path names still saves checkpoints
    assert plan.checkpoint.enabled is True and plan.checkpoint.interval_steps == 500


def test_a_base_config_beside_partial_configs_merged_over_it_assumes_what_they_set(tmp_path) -> None:
    # held-out review 81, B 14: base_config.yaml with no warmup beside `data_slimpajama.yaml`, whose optimizer section
    # sets `lr_warmup_steps: 100` (a launcher merges them): "no warmup" was a warning on the base alone
    base = write(tmp_path, "base_config.yaml", TINY.replace("    lr_warmup_steps: 500\n", ""))
    assert [f.severity for f in reported(plan_of(base), "PD104")] == ["warning"]
    write(tmp_path, "data_slimpajama.yaml", "tokens:\n  train_steps: 5000\noptimizer:\n  learning_rate_scheduler:\n"
                                            "    lr_warmup_steps: 100\n")
    plan = plan_of(base)
    assert "schedule.warmup_steps" in plan.program.assumed and "data_slimpajama.yaml" in plan.program.assumed_because
    assert [f.severity for f in reported(plan, "PD104")] == ["info"]
