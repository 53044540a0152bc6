"""llm-foundry / Composer YAML: time strings, ${variables}, decoupled weight decay, the model section."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pretrain_doctor.check.engine import check_paths
from pretrain_doctor.dialects.llmfoundry import ComposerTime, parse_time
from pretrain_doctor.plan.reading import judge_reading
from pretrain_doctor.settings import CheckOptions

from .helpers import detected, findings, judged, notes, plan_of, reported, write


_PRETRAIN = """
    variables:
      max_seq_len: 1024
      global_seed: 7
    max_seq_len: ${variables.max_seq_len}
    model:
      name: mpt_causal_lm
      d_model: 768
      n_heads: 12
      n_layers: 12
      max_seq_len: ${variables.max_seq_len}
    tokenizer:
      name: EleutherAI/gpt-neox-20b
    train_loader:
      name: text
      dataset:
        local: ./c4
        split: train
        shuffle: true
        max_seq_len: ${variables.max_seq_len}
      drop_last: true
      num_workers: 8
    eval_loader:
      name: text
      dataset: {local: ./c4, split: val, shuffle: false, max_seq_len: 1024}
    scheduler:
      name: cosine_with_warmup
      t_warmup: 100ba
      alpha_f: 0.1
    optimizer:
      name: decoupled_adamw
      lr: 6.0e-4
      betas: [0.9, 0.95]
      eps: 1.0e-08
      weight_decay: 0.0
    algorithms:
      gradient_clipping:
        clipping_type: norm
        clipping_threshold: 1.0
    max_duration: 4800ba
    eval_interval: 500ba
    global_train_batch_size: 256
    seed: ${variables.global_seed}
    device_train_microbatch_size: 16
    precision: amp_bf16
"""


@pytest.fixture
def real(shared_dir: Path) -> Path:
    return shared_dir / "real-configs" / "llm-foundry" / "scripts" / "train" / "yamls"


def _variant(tmp_path: Path, name: str, old: str, new: str):
    assert old in _PRETRAIN
    return plan_of(write(tmp_path, name, _PRETRAIN.replace(old, new)))


# --- the corpus samples: lr, schedule, batch, run kind, objective ------------------------

def test_gpt2_small_sample(real: Path) -> None:
    plan = plan_of(real / "pretrain" / "gpt2-small.yaml")
    assert plan.dialect == "llmfoundry"
    assert plan.mode.kind == "pretrain" and plan.mode.from_scratch  # hf_causal_lm with pretrained: false
    assert plan.objective.kind == "causal_lm" and plan.data.pretraining_text is True
    assert plan.optimizer.lr == pytest.approx(6e-4) and plan.optimizer.family == "adamw"
    assert plan.optimizer.betas == (0.9, 0.95) and plan.optimizer.weight_decay == 0
    assert plan.schedule.kind == "cosine" and plan.schedule.warmup_steps == 100
    assert plan.schedule.decay_steps == 33696 and plan.schedule.min_lr_ratio == pytest.approx(0.1)
    assert plan.run.max_steps == 33696
    assert (plan.batch.global_batch_size, plan.batch.micro_batch_size, plan.batch.seq_len) == (256, 4, 2048)
    assert plan.model.name == "gpt2" and plan.model.max_positions == 2048  # config_overrides.n_positions
    assert plan.derived.total_tokens.value == 33696 * 256 * 2048
    assert plan.clipping.max_norm == 1.0
    assert plan.seed == 17  # ${variables.global_seed}


def test_mpt_1b_sample(real: Path) -> None:
    plan = plan_of(real / "pretrain" / "mpt-1b.yaml")
    assert plan.mode.kind == "pretrain" and plan.mode.from_scratch
    assert plan.optimizer.lr == pytest.approx(2e-4)
    assert plan.schedule.kind == "cosine" and plan.schedule.warmup_steps == 100 and plan.schedule.decay_steps == 24800
    assert plan.schedule.min_lr == pytest.approx(2e-5)
    assert plan.run.max_steps == 24800
    assert (plan.batch.global_batch_size, plan.batch.micro_batch_size, plan.batch.seq_len) == (512, 4, 2048)
    assert (plan.model.hidden_size, plan.model.layers, plan.model.heads) == (2048, 24, 16)
    assert plan.model.vocab_size == 50368 and plan.model.ffn_size == 8192 and plan.model.max_positions == 2048
    assert plan.eval.interval_steps == 2000  # `eval_interval: 2000ba`, once a raw pydantic error
    assert plan.precision.compute == "bf16" and plan.precision.mixed is True
    assert plan.parallel.fsdp is True and plan.parallel.full_shard is True


def test_dolly_sft_sample_is_not_olmo(real: Path) -> None:
    path = real / "finetune" / "mpt-7b_dolly_sft.yaml"
    assert detected(path) == "llmfoundry"
    plan = plan_of(path)
    assert plan.mode.kind == "full_finetune" and plan.mode.init_from == "mosaicml/mpt-7b"
    assert plan.objective.kind == "causal_lm" and plan.objective.completion_only is True
    assert plan.optimizer.lr == pytest.approx(5e-6) and plan.optimizer.betas == (0.9, 0.999)
    assert plan.schedule.kind == "linear" and plan.schedule.warmup_steps == 50
    assert plan.schedule.min_lr_ratio == 0
    assert plan.run.epochs == 2 and plan.run.max_steps is None
    assert (plan.batch.global_batch_size, plan.batch.micro_batch_size, plan.batch.seq_len) == (48, 8, 2048)
    assert plan.eval.strategy == "epoch"
    assert plan.checkpoint.enabled is False  # save_folder is commented out


def test_samples_load_with_no_error(real: Path) -> None:
    report = check_paths([real], CheckOptions(use_settings=False))
    assert report.errors == [] and len(report.files) == 3
    assert {f.dialect for f in report.files} == {"llmfoundry"}


# --- Composer time strings ----------------------------------------------------------------

@pytest.mark.parametrize("text, value, unit", [
    ("4800ba", 4800, "batches"), ("1ep", 1, "epochs"), ("2e9tok", 2e9, "tokens"), ("1000sp", 1000, "samples"),
    ("0.05dur", 0.05, "duration"), ("500BA", 500, "batches"), ("10iter", 10, "iterations"), ("1h30m", 0, "seconds"),
])
def test_time_strings(text: str, value: float, unit: str) -> None:
    assert parse_time(text) == ComposerTime(value, unit)


def test_bare_numbers_take_the_default_unit_and_junk_is_no_time() -> None:
    assert parse_time(3) == ComposerTime(3, "epochs")
    assert parse_time(3, "batches") == ComposerTime(3, "batches")
    for junk in ("fast", "ba", "-5ba", "", None, True, [1]):
        assert parse_time(junk) is None


def test_token_duration_becomes_steps(tmp_path: Path) -> None:
    plan = _variant(tmp_path, "tok.yaml", "max_duration: 4800ba", "max_duration: 2.62144e9tok")
    assert plan.run.max_tokens == 2.62144e9
    assert plan.run.max_steps == 10_000  # 2.62144e9 / (256 × 1024)
    assert plan.schedule.decay_steps == 10_000


def test_sample_duration_and_fraction_warmup(tmp_path: Path) -> None:
    text = _PRETRAIN.replace("max_duration: 4800ba", "max_duration: 1280000sp").replace("t_warmup: 100ba", "t_warmup: 0.02dur")
    plan = plan_of(write(tmp_path, "sp.yaml", text))
    assert plan.run.max_steps == 5000 and plan.schedule.warmup_steps == 100


def test_epoch_warmup_in_an_epoch_run_is_a_ratio(tmp_path: Path) -> None:
    text = _PRETRAIN.replace("max_duration: 4800ba", "max_duration: 4ep").replace("t_warmup: 100ba", "t_warmup: 1ep")
    plan = plan_of(write(tmp_path, "ep.yaml", text))
    assert plan.run.epochs == 4 and plan.schedule.warmup_ratio == 0.25 and plan.schedule.warmup_steps is None


def test_duration_warmup_with_max_duration_set_at_launch_is_a_ratio(tmp_path: Path) -> None:
    # Composer's `dur` is a fraction of max_duration, whatever that is; held-out review 11, B 15 (MNikdan/llm-foundry-acdc
    # yamls/acdc_levanter/llama125m_acdc_vanilla.yaml: `max_duration: #TODO`, `t_warmup: 0.01dur`) read as no warmup.
    text = _PRETRAIN.replace("max_duration: 4800ba", "max_duration:").replace("t_warmup: 100ba", "t_warmup: 0.01dur")
    plan = plan_of(write(tmp_path, "todo.yaml", text))
    assert plan.run.max_steps is None and plan.schedule.warmup_ratio == 0.01 and plan.schedule.warmup_steps is None


def test_integer_max_duration_is_epochs(tmp_path: Path) -> None:
    plan = _variant(tmp_path, "int.yaml", "max_duration: 4800ba", "max_duration: 2")
    assert plan.run.epochs == 2 and plan.run.max_steps is None


@pytest.mark.parametrize("key, value", [("eval_interval", "0.1dur"), ("eval_interval", "1ep"), ("max_duration", "forever"),
                                        ("max_duration", "2h"), ("eval_interval", "${oc.env:EVAL}")])
def test_odd_times_never_raise(tmp_path: Path, key: str, value: str) -> None:
    plan = plan_of(write(tmp_path, "odd.yaml", "\n".join(
        line if not line.startswith(f"    {key}:") else f"    {key}: '{value}'" for line in _PRETRAIN.splitlines())))
    assert plan.dialect == "llmfoundry"
    if value == "0.1dur":
        assert plan.eval.interval_fraction == 0.1
    if value == "1ep":
        assert plan.eval.strategy == "epoch" and plan.eval.interval_steps is None


def test_t_max_shorter_than_the_run(tmp_path: Path) -> None:
    plan = _variant(tmp_path, "tmax.yaml", "  alpha_f: 0.1", "  alpha_f: 0.1\n      t_max: 4000ba")
    assert plan.schedule.decay_steps == 4000 and plan.run.max_steps == 4800


# --- the rest of the mapping ----------------------------------------------------------------

def test_variables_are_resolved(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "vars.yaml", _PRETRAIN))
    assert plan.batch.seq_len == 1024 and plan.model.max_positions == 1024 and plan.seed == 7
    assert plan.eval.interval_steps == 500 and [d.split for d in plan.data.eval] == ["val"]


def test_decoupled_weight_decay_is_divided_by_the_lr(tmp_path: Path) -> None:
    plan = _variant(tmp_path, "wd.yaml", "weight_decay: 0.0", "weight_decay: 6.0e-5")
    assert plan.optimizer.weight_decay == pytest.approx(0.1)  # 6e-5 per step at the peak lr 6e-4
    assert "decoupled" in plan.sources["optimizer.weight_decay"].note
    assert plan.optimizer.decay_norm_and_bias is True and plan.optimizer.decay_embeddings is True
    assert not findings(plan, "PD203")


def test_lion_defaults(tmp_path: Path) -> None:
    text = _PRETRAIN.replace("name: decoupled_adamw\n      lr: 6.0e-4\n      betas: [0.9, 0.95]\n", "name: decoupled_lionw\n")
    plan = plan_of(write(tmp_path, "lion.yaml", text))
    assert plan.optimizer.family == "lion" and plan.optimizer.lr == pytest.approx(1e-4)
    assert plan.optimizer.betas == (0.9, 0.99)


def test_no_gradient_clipping_algorithm_means_no_clipping(tmp_path: Path) -> None:
    text = _PRETRAIN.replace("""    algorithms:
      gradient_clipping:
        clipping_type: norm
        clipping_threshold: 1.0
""", "")
    plan = plan_of(write(tmp_path, "noclip.yaml", text))
    assert plan.clipping.max_norm == 0.0


def test_auto_microbatch_is_unknown(tmp_path: Path) -> None:
    plan = _variant(tmp_path, "auto.yaml", "device_train_microbatch_size: 16", "device_train_microbatch_size: auto")
    assert plan.batch.micro_batch_size is None and "batch.micro_batch_size" in plan.unknown


def test_unknown_top_level_key_stops_llm_foundry(tmp_path: Path) -> None:
    text = _PRETRAIN.replace("max_duration: 4800ba", "max_duration: 4800ba\n    max_duraton: 9600ba\n    my_flag: 1")
    path = write(tmp_path, "typo.yaml", text)
    plan = plan_of(path, trainer_versions=judged("llm-foundry=0.20"))
    found = {n.data["key"]: n.data.get("suggestion") for n in notes(plan, "ignored-key")}
    assert found == {"max_duraton": "max_duration", "my_flag": None}
    assert "llm-foundry 0.20 (from --trainer-version) refuses" in notes(plan, "ignored-key")[0].message
    assert "Unused parameters" in notes(plan, "ignored-key")[0].message
    # With no version known, a file with a `variables:` section is judged as written for llm-foundry >= 0.10 ...
    unknown = plan_of(path, trainer_versions=judged())
    assert [n.data["key"] for n in notes(unknown, "ignored-key")] == ["max_duraton", "my_flag"]
    assert "llm-foundry 0.10 and later refuse" in notes(unknown, "ignored-key")[1].message
    # ... one without may be a pre-0.10 config whose `my_flag` is a top-level variable; a misspelling is wrong in any.
    old = write(tmp_path, "old.yaml", text.replace("variables:", "vars:").replace("${variables.", "${vars."))
    plan = plan_of(old, "llmfoundry", trainer_versions=judged())
    assert [n.data["key"] for n in notes(plan, "ignored-key")] == ["max_duraton"]


# Reduced from princeton-nlp/LLM-Shearing llmshearing/configs/llama2/3b.yaml (pins llm-foundry==0.3.0): top-level
# keys used as `${...}` variables, which llm-foundry popped (0.8 and before) or moved under `variables:` (0.9).
_OLD_STYLE = """
    data_local: /data/llama-dedup
    data_remote: # blank: files must be present in data_local
    tokenizer_name: meta-llama/Llama-2-7b-hf
    max_seq_len: 4096
    global_seed: 17
    model:
      name: mosaic_llama2_3b
      d_model: 2560
      n_heads: 20
      n_layers: 32
    train_loader:
      name: text
      dataset:
        local: ${data_local}
        remote: ${data_remote}
        split: train
        max_seq_len: ${max_seq_len}
    optimizer: {name: decoupled_adamw, lr: 1.0e-4, betas: [0.9, 0.95], weight_decay: 0.0}
    scheduler: {name: cosine_with_warmup, t_warmup: 100ba, alpha_f: 0.1}
    max_duration: 800ba
    global_train_batch_size: 32
    seed: ${global_seed}
"""


@pytest.mark.parametrize("version, keys", [
    (None, []),
    ("0.3.0", []),
    ("0.10.0", ["data_local", "data_remote", "tokenizer_name", "global_seed"]),
])
def test_top_level_variables_of_old_configs(tmp_path: Path, version, keys) -> None:
    versions = judged(f"llm-foundry={version}") if version else judged()
    plan = plan_of(write(tmp_path, "3b.yaml", _OLD_STYLE), "llmfoundry", trainer_versions=versions)
    assert [n.data["key"] for n in notes(plan, "ignored-key")] == keys
    assert plan.seed == 17 and plan.batch.seq_len == 4096


def test_a_key_the_file_sets_is_no_rename_target(tmp_path: Path) -> None:
    # finetune/mpt-30b-instruct.yaml (held-out review): `icl_max_seq_len` beside `max_seq_len` was told
    # to become `max_seq_len`; TrainConfig's key for it is `icl_seq_len`.
    plan = _variant(tmp_path, "icl.yaml", "max_duration: 4800ba", "max_duration: 4800ba\n    icl_max_seq_len: 2048")
    assert [n.data.get("suggestion") for n in notes(plan, "ignored-key")] == ["icl_seq_len"]


def test_a_variable_only_commented_out_sections_use_is_no_typo(tmp_path: Path) -> None:
    # Held-out review 113, C 17 (a fork's mpt-30b-instruct yaml at llm-foundry 0.3.0): upstream's `icl_max_seq_len`
    # feeds the commented-out `icl_tasks`; before 0.10 an unused key only warns, and `icl_seq_len` is not what was meant.
    body = _OLD_STYLE + "    icl_max_seq_len: 2048\n    # icl_tasks:\n    # - max_seq_len: ${icl_max_seq_len}\n"
    assert notes(plan_of(write(tmp_path, "icl.yaml", body), "llmfoundry"), "ignored-key") == []
    later = plan_of(write(tmp_path, "icl10.yaml", body), "llmfoundry", trainer_versions=judged("llm-foundry=0.10.0"))
    variable = [n for n in notes(later, "ignored-key") if n.data["key"] == "icl_max_seq_len"]
    assert variable and "suggestion" not in variable[0].data and "variables:" in variable[0].hint


def test_optimizer_key_typo(tmp_path: Path) -> None:
    plan = _variant(tmp_path, "opt.yaml", "weight_decay: 0.0", "weight_decay: 0.0\n      bettas: [0.9, 0.99]")
    assert [n.data["suggestion"] for n in notes(plan, "ignored-key")] == ["betas"]


# Reduced from held-out review 29, A 08 (a fork's pretrain/llama-350m.yaml): the shape sits beside the model's name
# instead of under `config_overrides`.
_MISPLACED_SHAPE = """
    variables: {max_seq_len: 512}
    max_seq_len: ${variables.max_seq_len}
    model:
      name: hf_causal_lm
      pretrained_model_name_or_path: meta-llama/Llama-2-7b-hf
      pretrained: false
      hidden_size: 1024
      num_hidden_layers: 24
      intermediate_size: 4096
      master_weights_dtype: bf16
    train_loader: {name: text, dataset: {local: ./c4, split: train}}
    optimizer: {name: decoupled_adamw, lr: 6.0e-4, betas: [0.9, 0.95], weight_decay: 0.0}
    scheduler: {name: cosine_with_warmup, t_warmup: 100ba, alpha_f: 0.1}
    max_duration: 4800ba
    global_train_batch_size: 256
"""


def test_hf_causal_lm_keys_it_does_not_take(tmp_path: Path) -> None:
    path = write(tmp_path, "llama-350m.yaml", _MISPLACED_SHAPE)
    [note] = notes(plan_of(path, trainer_versions=judged()), "ignored-key")
    assert "`hidden_size`, `num_hidden_layers`, `intermediate_size`, which hf_causal_lm" in note.message
    assert "0.10 and later stops at start-up" in note.message and note.data.get("severity") is None  # a warning
    assert note.hint.startswith("move the model's settings under `model.config_overrides`")
    plan = plan_of(path, trainer_versions=judged())
    assert plan.model.parameters is None and "model.parameters" in plan.unknown  # not the name's 7B
    v20 = judged("llm-foundry=0.20")
    assert notes(plan_of(path, trainer_versions=v20), "ignored-key")[0].data["severity"] == "error"
    v8 = judged("llm-foundry=0.8")
    old = notes(plan_of(path, trainer_versions=v8), "ignored-key")[0]
    assert "llm-foundry 0.8 (from --trainer-version) reads the section as a config and ignores them" in old.message
    # under config_overrides they are the model's shape: nothing to say
    fixed = _MISPLACED_SHAPE.replace("      hidden_size", "      config_overrides:\n        hidden_size").replace(
        "      num_hidden_layers", "        num_hidden_layers").replace("      intermediate_size", "        intermediate_size")
    assert not notes(plan_of(write(tmp_path, "fixed.yaml", fixed), trainer_versions=v20), "ignored-key")
    # a fork whose ComposerHFCausalLM takes **kwargs reads them itself
    source = tmp_path / "fork" / "llmfoundry" / "models" / "hf"
    source.mkdir(parents=True)
    (source / "hf_causal_lm.py").write_text("class ComposerHFCausalLM:\n    def __init__(self, tokenizer, **kwargs):\n"
                                            "        pass\n")
    forked = write(tmp_path / "fork" / "yamls", "llama-350m.yaml", _MISPLACED_SHAPE)
    assert not notes(plan_of(forked, trainer_versions=v20), "ignored-key")


def test_mpt_max_seq_len_beside_the_name_is_an_info(tmp_path: Path) -> None:
    # held-out review 55, B 12: before 0.10 the copy of the loader's length is ignored, but MPT's own config holds
    # its longest sequence and its forward stops on a longer batch: nothing is lost silently
    mpt = """
        max_seq_len: 2048
        model:
          name: hf_causal_lm
          pretrained: true
          pretrained_model_name_or_path: NAME
          max_seq_len: ${max_seq_len}
        train_loader: {name: finetuning, dataset: {hf_name: garage-bAInd/Open-Platypus, split: train}}
        optimizer: {name: decoupled_adamw, lr: 1.0e-5}
        max_duration: 2ep
        global_train_batch_size: 32
    """
    v8 = judged("llm-foundry=0.8")
    [note] = notes(plan_of(write(tmp_path, "mpt.yaml", mpt.replace("NAME", "mosaicml/mpt-7b")), trainer_versions=v8),
                   "ignored-key")
    assert note.data["severity"] == "info" and "MPT's own config keeps its `max_seq_len`" in note.message
    [llama] = notes(plan_of(write(tmp_path, "llama.yaml", mpt.replace("NAME", "meta-llama/Llama-2-7b-hf")),
                            trainer_versions=v8), "ignored-key")
    assert llama.data.get("severity") is None  # a llama's config has no such limit: a warning
    v20 = judged("llm-foundry=0.20")
    stops = notes(plan_of(write(tmp_path, "mpt.yaml", mpt.replace("NAME", "mosaicml/mpt-7b")), trainer_versions=v20),
                  "ignored-key")
    assert stops[0].data["severity"] == "error"  # from 0.10 the unexpected keyword stops the run


def test_finetuning_with_lora_and_packing(tmp_path: Path) -> None:
    path = write(tmp_path, "lora.yaml", """
        max_seq_len: 2048
        model:
          name: hf_causal_lm
          pretrained_model_name_or_path: meta-llama/Llama-3.1-8B
          peft_config:
            peft_type: LORA
            r: 16
            lora_alpha: 32
          config_overrides:
            attn_config:
              attn_uses_sequence_id: true
        tokenizer: {name: meta-llama/Llama-3.1-8B}
        train_loader:
          name: finetuning
          dataset:
            hf_name: mosaicml/dolly_hhrlhf
            split: train
            shuffle: true
            packing_ratio: auto
            target_prompts: all
        scheduler: {name: constant_with_warmup, t_warmup: 10ba}
        optimizer: {name: decoupled_adamw, lr: 1.0e-4}
        max_duration: 1ep
        global_train_batch_size: 16
        device_train_microbatch_size: 2
        precision: amp_fp16
    """)
    assert detected(path) == "llmfoundry"
    plan = plan_of(path)
    assert plan.mode.kind == "lora" and plan.mode.lora_rank == 16 and plan.mode.lora_alpha == 32
    assert plan.objective.completion_only is False  # target_prompts: all
    assert plan.data.packing is True and plan.data.document_mask is True
    assert plan.schedule.kind == "constant" and plan.precision.compute == "fp16"
    assert plan.optimizer.weight_decay == pytest.approx(1e-5 / 1e-4)  # DecoupledAdamW default 1e-5


def test_olmo_files_stay_olmo(tmp_path: Path) -> None:
    path = write(tmp_path, "olmo.yaml", """
        model: {d_model: 768, n_layers: 12, n_heads: 12, max_sequence_length: 1024}
        optimizer: {name: adamw, learning_rate: 6.0e-4}
        scheduler: {name: cosine_with_warmup, t_warmup: 2000}
        max_duration: 10000
        global_train_batch_size: 512
        device_train_microbatch_size: 8
        data: {paths: [a.npy]}
    """)
    assert detected(path) == "olmo"


def test_mcli_run_file_nests_the_config_under_parameters(tmp_path: Path) -> None:
    nested = "\n".join("      " + line[4:] if line.strip() else line for line in _PRETRAIN.strip("\n").splitlines())
    path = write(tmp_path, "mcli-run.yaml", f"""
    name: mpt-125m
    image: mosaicml/llm-foundry:latest
    command: |
      composer train/train.py /mnt/config/parameters.yaml
    compute:
      gpus: 8
    parameters:
{nested}
    """)
    assert detected(path) == "llmfoundry"
    plan = plan_of(path)
    assert plan.optimizer.lr == pytest.approx(6e-4) and plan.run.max_steps == 4800 and plan.batch.seq_len == 1024
    assert plan.parallel.world_size == 8 and plan.sources["parallel.world_size"].note == "mcli compute.gpus"
    assert plan.sources["optimizer.lr"].line == 38  # the line in the run file
    assert plan_of(path, world_size=16).parallel.world_size == 16


def test_an_mcli_run_spec_whose_command_launches_a_yaml_is_that_launch(tmp_path: Path) -> None:
    # held-out reviews 43 B 13 and 48 B 13: refused, and the YAML judged alone as a 24,800-step run with no checkpoints
    write(tmp_path, "mpt-1b.yaml", _PRETRAIN)
    spec = write(tmp_path, "mosaic_gpt_1b.yaml", """
    name: mosaic-gpt-1b-gpus-8
    image: mosaicml/composer:0.13.5
    gpu_num: 8
    integrations:
    - integration_type: git_repo
      git_repo: someone/llm-foundry
    command: |
      cd llm-foundry/scripts
      composer train/train.py train/yamls/pretrain/mpt-1b.yaml \\
        max_duration=100ba \\
        save_folder=./ckpt
    parameters: {}
    """)
    plan = plan_of(spec)
    assert plan.dialect == "llmfoundry" and plan.run.max_steps == 100
    assert plan.sources["run.max_steps"].file.endswith("mosaic_gpt_1b.yaml") and plan.sources["run.max_steps"].line == 10
    assert plan.checkpoint.enabled is True and plan.parallel.world_size == 8
    assert plan.optimizer.lr == pytest.approx(6e-4)  # the rest is the YAML's
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    assert {Path(f.path).name: f.role for f in report.files} == {"mosaic_gpt_1b.yaml": "config", "mpt-1b.yaml": "companion"}


def test_checkpoints_from_save_folder_or_hf_checkpointer(tmp_path: Path) -> None:
    saved = _variant(tmp_path, "save.yaml", "precision: amp_bf16", "precision: amp_bf16\n    save_folder: ./ckpt\n    save_interval: 1200ba")
    assert saved.checkpoint.enabled is True and saved.checkpoint.interval_steps == 1200
    default = _variant(tmp_path, "default.yaml", "precision: amp_bf16", "precision: amp_bf16\n    save_folder: ./ckpt")
    assert default.checkpoint.interval_steps == 1000  # TrainConfig save_interval '1000ba'
    hf = _variant(tmp_path, "hf.yaml", "precision: amp_bf16",
                  "precision: amp_bf16\n    callbacks:\n      hf_checkpointer: {save_folder: ./hf, save_interval: 0.25dur}")
    assert hf.checkpoint.enabled is True and hf.checkpoint.interval_fraction == 0.25
    final_only = _variant(tmp_path, "final.yaml", "precision: amp_bf16",
                          "precision: amp_bf16\n    callbacks:\n      hf_checkpointer: {save_folder: ./hf, save_interval: 1dur}")
    assert final_only.checkpoint.enabled is False
    assert findings(final_only, "PD801")


def test_a_composer_bert_recipe_is_masked_lm(tmp_path) -> None:
    # Held-out review 3 (HazyResearch/m2 bert/yamls/pretrain/monarch-mixer-pretrain-786dim-80m-parameters.yaml,
    # a mosaicml/examples BERT recipe): plan said objective causal_lm for a masked-LM pretraining run.
    text = """max_seq_len: 128
tokenizer_name: bert-base-uncased
mlm_probability: 0.30
model:
  name: bert
  pretrained_model_name: ${tokenizer_name}
train_loader:
  name: text
  dataset:
    split: train
    max_seq_len: ${max_seq_len}
    mlm_probability: ${mlm_probability}
scheduler:
  name: linear_decay_with_warmup
  t_warmup: 0.06dur
optimizer:
  name: decoupled_adamw
  lr: 8.0e-4
max_duration: 70000ba
global_train_batch_size: 4096
"""
    path = write(tmp_path, "monarch-mixer-pretrain.yaml", text)
    assert detected(path) == "llmfoundry"
    plan = plan_of(path)
    assert plan.objective.kind == "masked_lm" and plan.objective.mlm_probability == pytest.approx(0.3)
    assert plan.sources["objective.kind"].line == 12 and plan.mode.kind == "pretrain"
    gpt = plan_of(write(tmp_path, "gpt.yaml", text.replace("name: bert", "name: mpt_causal_lm").replace(
        "    mlm_probability: ${mlm_probability}\n", "").replace("mlm_probability: 0.30\n", "")))
    assert gpt.objective.kind == "causal_lm"


# LLM-Shearing llmshearing/scripts/continue_pretrain.sh (held-out review 2, reduced): a Composer launch of a YAML
# of the same checkout, named by the absolute cluster path, with OmegaConf `key=value` overrides.
_COMPOSER_LAUNCH = """
PROJ_DIR=/scratch/user/LLM-Shearing
TRAIN_SCRIPT=${PROJ_DIR}/llmshearing/train.py
config_file=${PROJ_DIR}/llmshearing/configs/llama2/1.3b.yaml
lr=1e-4
composer $TRAIN_SCRIPT \\
    $config_file \\
    max_duration=48000ba \\
    scheduler.t_warmup=1440ba \\
    optimizer.lr=${lr} \\
    model.path=/scratch/user/out/pruned-rank0.pt \\
    train_loader.num_workers=0
"""


def test_composer_launch_reads_its_yaml_with_the_overrides(tmp_path: Path) -> None:
    write(tmp_path, "llmshearing/configs/llama2/1.3b.yaml", _PRETRAIN)
    script = write(tmp_path, "llmshearing/scripts/continue_pretrain.sh", _COMPOSER_LAUNCH)
    assert detected(script) == "llmfoundry"
    plan = plan_of(script)
    assert plan.optimizer.lr == pytest.approx(1e-4) and plan.run.max_steps == 48000
    assert plan.schedule.warmup_steps == 1440 and plan.mode.init_from == "/scratch/user/out/pruned-rank0.pt"
    assert plan.optimizer.betas == (0.9, 0.95)  # from the YAML
    lr = plan.sources["optimizer.lr"]
    assert lr.file == str(script) and lr.line == 9 and lr.note == "command-line override"
    assert plan.sources["optimizer.betas"].file.endswith("1.3b.yaml")
    [found] = findings(plan, "PD704")
    assert found.file == str(script)  # the override sets the workers to 0, not the YAML's 8


def test_composer_launch_without_its_yaml_says_so(tmp_path: Path) -> None:
    from pretrain_doctor.errors import ConfigError

    script = write(tmp_path, "continue_pretrain.sh", _COMPOSER_LAUNCH)
    with pytest.raises(ConfigError, match="YAML it trains with, `/scratch/user/LLM-Shearing/llmshearing/configs/llama2/"
                                          "1.3b.yaml`, is not found.*5 command-line overrides"):
        plan_of(script)


def test_composer_launch_naming_its_yaml_by_a_script_argument_takes_the_one_file_that_fits(tmp_path: Path) -> None:
    """Held-out review 53, B 19: `composer train/train.py "train/yamls/pretrain/mpt-${MODEL_SIZE}.yaml" ...` with
    `MODEL_SIZE=$1`, and mpt-1b.yaml beside the script; two candidates decide nothing."""
    from pretrain_doctor.errors import ConfigError

    write(tmp_path, "mpt-1b.yaml", _PRETRAIN)
    launch = ('MODEL_SIZE=$1\ncomposer -n 8 train/train.py "train/yamls/pretrain/mpt-${MODEL_SIZE}.yaml" '
              "max_duration=100ba optimizer.lr=0.0001\n")
    plan = plan_of(write(tmp_path, "ds_gaudi.sh", launch))
    assert plan.run.max_steps == 100 and plan.optimizer.lr == pytest.approx(1e-4)
    write(tmp_path, "mpt-3b.yaml", _PRETRAIN)
    with pytest.raises(ConfigError, match="is not found"):
        plan_of(write(tmp_path, "ds_gaudi2.sh", launch))


# Held-out review 23, A 23 (jiaryang/llm-foundry-script pretrain_mpt.sh), reduced: the command line is built in a
# string from the script's own folder, known only at run time, and run with `eval`.
_COMPOSER_EVAL_LAUNCH = """
script_path=$(realpath $0)
curr_dir=$(dirname ${script_path})
MODEL=${MODEL:-mpt-1b}
run_cmd="composer"
run_cmd+=" \\
	${curr_dir}/train/train.py \\
	${curr_dir}/train/yamls/pretrain/${MODEL}.yaml \\
	max_duration=15ba eval_interval=0"
eval "${run_cmd}"
"""


def test_composer_launch_from_the_scripts_own_folder_finds_its_yaml(tmp_path: Path) -> None:
    from pretrain_doctor.errors import ConfigError

    script = write(tmp_path, "pretrain_mpt.sh", _COMPOSER_EVAL_LAUNCH)
    assert detected(script) == "llmfoundry"  # was: not a training config of a supported trainer
    with pytest.raises(ConfigError, match=r"YAML it trains with, `\$\(dirname \$\{script_path\}\)/train/yamls/pretrain/"
                                          r"mpt-1b.yaml`, is not found.*2 command-line overrides"):
        plan_of(script)
    write(tmp_path, "train/yamls/pretrain/mpt-1b.yaml", _PRETRAIN)
    assert plan_of(script).run.max_steps == 15


def test_composer_launch_in_a_folder_walk(tmp_path: Path) -> None:
    """Found in a folder: a script whose YAML is elsewhere is skipped with the reason (exit 0, as a file no
    dialect reads); beside its YAML, a finding the YAML already got on its own is not repeated."""
    alone = tmp_path / "alone"
    write(alone, "continue_pretrain.sh", _COMPOSER_LAUNCH)
    report = check_paths([alone], CheckOptions(use_settings=False))
    assert report.errors == [] and [f.role for f in report.files] == ["skipped"]
    assert "YAML it trains with" in report.files[0].note
    both = tmp_path / "both"
    write(both, "llmshearing/configs/llama2/1.3b.yaml", _PRETRAIN)
    write(both, "llmshearing/scripts/continue_pretrain.sh", _COMPOSER_LAUNCH)
    report = check_paths([both], CheckOptions(use_settings=False))
    keys = [(f.file, f.line, f.code, f.message) for f in report.findings]
    assert len(keys) == len(set(keys)) and any(f.file.endswith(".sh") for f in report.findings)
    # the YAML is the run the script launches, its overrides over it: checked through the script, not alone too
    # (held-out review 39, B 14: "checkpointing is off for a 24,800-step run" on a YAML the script gives
    # `save_folder=mpt-1b max_duration=100ba`)
    assert {f.path.rsplit("/", 1)[-1]: f.role for f in report.files} == {"continue_pretrain.sh": "config",
                                                                         "1.3b.yaml": "companion"}


ZEPHYR_SFT = """\
max_seq_len: 2048
knowledge_distillation:
  teacher_name_or_path: HuggingFaceH4/mistral-7b-sft-beta
model:
  name: hf_causal_lm
  pretrained_model_name_or_path: robertgshaw2/mistral-sft-50sparse-fp16-v0
  pretrained: true
train_loader:
  name: chat_text
  dataset:
    hf_name: HuggingFaceH4/ultrachat_200k
    split: train_sft
    max_seq_len: ${max_seq_len}
scheduler:
  name: cosine_with_warmup
  t_warmup: 5ba
optimizer:
  name: decoupled_adamw
  lr: 2.0e-5
  betas: [0.9, 0.95]
  weight_decay: 0.0
max_duration: 1ep
global_train_batch_size: 128
device_train_microbatch_size: 8
precision: amp_bf16
"""


def test_a_forks_own_loader_on_pretrained_weights_fine_tunes_them(tmp_path: Path) -> None:
    # Held-out review 8 (A 15, B 14, B 16, zephyr-training): `chat_text` / `packed_chat` on ultrachat's train_sft
    # from `pretrained: true` weights read as pretraining: PD205 warned "clipping off for pretraining", PD203 said
    # "weight decay 0 for adamw pretraining". llm-foundry registers `text` and `finetuning`; another loader on
    # pretrained weights fine-tunes them (read from chat words, assumed without them).
    from .helpers import plan_of, reported, write

    plan = plan_of(write(tmp_path, "sft.yaml", ZEPHYR_SFT), "llmfoundry")
    assert plan.mode.kind == "full_finetune" and plan.program.assumed == {}
    assert plan.mode.init_from == "robertgshaw2/mistral-sft-50sparse-fp16-v0" and plan.data.pretraining_text is False
    assert reported(plan, "PD203") == [] and reported(plan, "PD205") == []
    # a neutral loader and dataset name: the fine-tune is assumed, so rules judging the run kind say less
    neutral = ZEPHYR_SFT.replace("chat_text", "my_loader").replace("ultrachat_200k", "corpus").replace("train_sft", "train")
    plan = plan_of(write(tmp_path, "neutral.yaml", neutral), "llmfoundry")
    assert plan.mode.kind == "full_finetune" and "mode.kind" in plan.program.assumed
    assert "assumed" in plan.sources["mode.kind"].note
    # llm-foundry's own `text` loader on pretrained weights stays continued pretraining; no weights: from scratch
    text = plan_of(write(tmp_path, "text.yaml", neutral.replace("my_loader", "text")), "llmfoundry")
    assert text.mode.kind == "pretrain" and text.mode.init_from and text.program.assumed == {}
    scratch = plan_of(write(tmp_path, "scratch.yaml", ZEPHYR_SFT.replace("pretrained: true", "pretrained: false")), "llmfoundry")
    assert scratch.mode.kind == "pretrain" and scratch.mode.init_from is None
    assert [f.severity for f in reported(scratch, "PD203")] == ["info"]


def test_config_overrides_that_resize_the_named_model_make_its_size_an_assumption(tmp_path: Path) -> None:
    """superagi/llm-foundry-os scripts/train/yamls/pretrain/mistralSmall.yaml at 7521bd9 (held-out review 10, B 30),
    reduced: `Mistral-7B-v0.1` with `config_overrides` of 24 layers of 3216 (~2.7B) was planned as 7B "from the
    name". The size is only assumed now; an override that does not resize it (attention settings) leaves the name."""
    text = """
        max_seq_len: 2048
        model:
          name: hf_causal_lm
          pretrained_model_name_or_path: mistralai/Mistral-7B-v0.1
          config_overrides:
            hidden_size: 3216
            num_hidden_layers: 24
          pretrained: false
        tokenizer: {name: meta-llama/Llama-2-7b-hf}
        train_loader: {name: text, dataset: {local: data, split: train}}
        scheduler: {name: cosine_with_warmup, t_warmup: 100ba}
        optimizer: {name: decoupled_adamw, lr: 1.0e-4}
        max_duration: 1ep
        global_train_batch_size: 1024
    """
    plan = plan_of(write(tmp_path, "small.yaml", text))
    assert plan.derived.parameters.value == 7e9 and plan.unknown["model.parameters"] == "--model-config"
    assert plan.derived.size_assumed == "a 7B model, a size read from the name 'mistralai/Mistral-7B-v0.1'"
    # Held-out review 16, A 16 (superagi/llm-foundry, the same file at a later commit): with the MLP width and the
    # heads overridden too, the shape is the built model's: ~2.5B without the embeddings (vocabulary unknown).
    resized = text.replace("num_hidden_layers: 24\n", "num_hidden_layers: 24\n            intermediate_size: 8000\n"
                                                        "            num_attention_heads: 24\n"
                                                        "            num_key_value_heads: 8\n")
    plan = plan_of(write(tmp_path, "resized.yaml", resized))
    assert plan.model.gated_mlp and plan.derived.parameters.value == 2_514_345_984
    assert "embeddings not counted" in plan.derived.parameters.formula
    # held-out review 57, B 13: with the vocabulary and `tie_word_embeddings: false` the output layer counts again
    untied = resized.replace("intermediate_size: 8000\n", "intermediate_size: 8000\n            vocab_size: 32000\n"
                             "            tie_word_embeddings: false\n")
    plan = plan_of(write(tmp_path, "untied.yaml", untied))
    assert plan.model.tie_embeddings is False
    assert plan.derived.parameters.value == 2_514_345_984 + 2 * 32000 * 3216
    same = plan_of(write(tmp_path, "same.yaml", text.replace("hidden_size: 3216", "sliding_window: 1024")
                                                    .replace("num_hidden_layers: 24", "rope_theta: 10000")))
    assert same.derived.parameters.value == 7e9 and same.derived.size_assumed is None


def test_zero_decay_is_hinted_in_the_decoupled_optimizers_units(tmp_path: Path) -> None:
    # Held-out review 15, A 10: `weight_decay: 0.1` for Composer's DecoupledAdamW (decay not scaled by the lr) would
    # shrink every weight by 10% a step; AdamW's 0.1 is 0.1 × lr there.
    plan = plan_of(write(tmp_path, "p.yaml", _PRETRAIN), "llmfoundry")
    [finding] = findings(plan, "PD203")
    assert "`weight_decay: 6e-05`" in finding.hint and "0.1 × lr 0.0006" in finding.hint


def test_eval_interval_0_turns_evaluation_off(tmp_path: Path) -> None:
    # Held-out review 15, A 10/A 11: Composer's interval scheduler never fires for 0 (utils/misc.py), not even at the
    # end, so an eval_loader with `eval_interval: 0` evaluates nothing.
    plan = plan_of(write(tmp_path, "e.yaml", _PRETRAIN.replace("eval_interval: 500ba", "eval_interval: 0")), "llmfoundry")
    assert plan.eval.enabled is False and plan.sources["eval.enabled"].key == "eval_interval"
    assert [f.code for f in findings(plan, "PD702")] == ["PD702"]


def test_llmfoundry_splits_a_ranks_batch_itself_and_reads_a_forks_train_config(tmp_path: Path) -> None:
    # Held-out review 15, A 13 (Tangshengku/llm-foundry@a638064 scripts/train/yamls/pretrain/qwen2.5-3.yaml): a global
    # batch of 1 with `device_train_microbatch_size: 64` trains at 1 on one GPU (the micro-batch is lowered to the
    # rank's batch), and the fork's own TrainConfig declares `timing_file`.
    folder = tmp_path / "scripts" / "train" / "yamls"
    folder.mkdir(parents=True)
    text = _PRETRAIN.replace("global_train_batch_size: 256", "global_train_batch_size: 1\n    timing_file: /tmp/t.txt")
    config = write(folder, "q.yaml", text)
    plan = plan_of(config, "llmfoundry")
    assert findings(plan, "PD401") == []
    assert [n.data.get("key") for n in notes(plan, "ignored-key")] == ["timing_file"]
    utils = tmp_path / "llmfoundry" / "utils"
    utils.mkdir(parents=True)
    (utils / "config_utils.py").write_text("from dataclasses import dataclass\n\n@dataclass\nclass TrainConfig:\n"
                                           "    model: dict\n    timing_file: str = ''\n")
    assert notes(plan_of(config, "llmfoundry"), "ignored-key") == []


def test_an_eval_interval_past_the_run_still_evaluates_once_at_fit_end(tmp_path: Path) -> None:
    # Held-out review 16, A 18: Composer's `eval_at_fit_end` (default on) evaluates when training ends, whatever
    # the interval; and a pretraining run of at most 100 batches is a smoke test, which PD702 leaves alone.
    text = """
        max_seq_len: 2048
        model: {name: mpt_causal_lm, d_model: 768, n_heads: 12, n_layers: 12, max_seq_len: 2048, vocab_size: 50368}
        train_loader: {name: text, dataset: {local: data, split: train}}
        eval_loader: {name: text, dataset: {local: data, split: val}}
        scheduler: {name: cosine_with_warmup, t_warmup: 10ba}
        optimizer: {name: decoupled_adamw, lr: 6.0e-4, betas: [0.9, 0.95]}
        max_duration: {duration}
        eval_interval: 500ba
        global_train_batch_size: 256
    """
    plan = plan_of(write(tmp_path, "long.yaml", text.replace("{duration}", "400ba")))
    (found,) = findings(plan, "PD702")
    assert "once, when training ends (Composer's eval_at_fit_end)" in found.message and not plan.debug
    smoke = plan_of(write(tmp_path, "smoke.yaml", text.replace("{duration}", "30ba")))
    assert smoke.debug and findings(smoke, "PD702") == []
    assert smoke.sources["debug"].note == "30-batch pretraining run: a smoke test"


def test_omegaconf_required_values_are_unknown_not_bad_values(tmp_path: Path) -> None:
    # Held-out review 19, A 05 (a muP llm-foundry template): `???` is OmegaConf's MISSING, given on the command line;
    # eight of them were PD002 errors ("no value the trainer can run with") and two `???` splits a PD701 warning.
    text = """
        max_seq_len: 2048
        model:
          name: mpt_causal_lm
          d_model: ???
          n_heads: ???
          n_layers: ???
          max_seq_len: 2048
          vocab_size: 50368
        load_path: ???
        train_loader:
          name: text
          num_workers: ???
          dataset:
            local: ???
            split: ???
        eval_loader:
          name: text
          dataset:
            local: ???
            split: ???
        scheduler: {name: cosine_with_warmup, t_warmup: 100ba}
        optimizer:
          name: decoupled_adamw
          lr: ???
          betas: [0.9, 0.95]
        max_duration: 4800ba
        global_train_batch_size: 256
    """
    plan = plan_of(write(tmp_path, "mup.yaml", text))
    assert findings(plan, "PD002") == [] and findings(plan, "PD701") == []
    assert plan.optimizer.lr is None and "OmegaConf's MISSING" in plan.unknown["optimizer.lr"]
    assert not plan.mode.resumed and plan.mode.init_from is None


def test_modernberts_stableadamw_clips_its_updates_and_its_filter_keeps_norms_undecayed(tmp_path: Path) -> None:
    # Held-out review 21, A 11/A 12 (ModernBERT's Composer trainer, main.py): `decoupled_stableadamw` clips each
    # update by its RMS and the trainer tells users to set gradient clipping to 0 with it (no PD205), and
    # `filter_bias_norm_wd: true` puts norms and biases in a group without decay (PD204 names the embedding only).
    text = """
        max_seq_len: 1024
        model:
          name: flex_bert
          model_config: {vocab_size: 50368, num_hidden_layers: 22, hidden_size: 768, num_attention_heads: 12}
        train_loader: {name: text, dataset: {local: data, split: train}}
        scheduler: {name: warmup_stable_decay, t_warmup: 3_000_000_000tok}
        optimizer:
          name: decoupled_stableadamw
          lr: 8e-4
          betas: [0.9, 0.98]
          weight_decay: 1.0e-5
          filter_bias_norm_wd: {filter}
        max_duration: 1_719_000_000_000tok
        global_train_batch_size: 4608
    """
    plan = plan_of(write(tmp_path, "modernbert.yaml", text.replace("{filter}", "true")))
    assert plan.clipping.enabled is False and findings(plan, "PD205") == []
    assert plan.optimizer.decay_norm_and_bias is False and plan.optimizer.decay_embeddings is True
    (decay,) = findings(plan, "PD204")
    assert "embedding" in decay.message and "norm" not in decay.message
    unfiltered = plan_of(write(tmp_path, "unfiltered.yaml", text.replace("{filter}", "false")))
    assert unfiltered.optimizer.decay_norm_and_bias is True


def test_a_templates_blank_warmup_and_model_are_set_at_launch_not_absent(tmp_path) -> None:
    # neuralmagic/upstream-llm-foundry llama2_7b_dolma.yaml (held-out review 27, A 10), reduced: `t_warmup: # TODO`
    # and `${model_name_or_path}` blank, filled by the launch script: no "missing warmup" on a run from scratch
    text = """
model_name_or_path: #TODO
max_duration: 10000ba
global_train_batch_size: 256
device_train_microbatch_size: 4
max_seq_len: 4096
model:
  name: hf_causal_lm
  pretrained: true
  pretrained_model_name_or_path: ${model_name_or_path}
train_loader:
  name: text
scheduler:
  name: cosine_with_warmup
  t_warmup: # TODO
  alpha_f: 0.1
optimizer:
  name: decoupled_adamw
  lr: 1.0e-4
  betas: [0.9, 0.95]
  weight_decay: 0.0
"""
    plan = plan_of(write(tmp_path, "llama2_7b_dolma.yaml", text))
    assert "blank in the file" in plan.unknown["schedule.warmup_steps"]
    assert "named at launch" in plan.mode.init_from and not plan.mode.from_scratch  # `pretrained: true` loads weights
    assert findings(plan, "PD104") == []



# ModernBERT's yamls/main/modernbert-base.yaml (held-out review 29, A 09), reduced: its own Composer main.py builds a
# FlexBERT from `model_config` over bert-base-uncased, ramps the batch over 50B tokens, and holds the lr after warmup.
MODERNBERT = """
max_seq_len: 1024
model:
  name: flex_bert
  pretrained_model_name: bert-base-uncased
  model_config:
    vocab_size: 50368
    num_hidden_layers: 22
    hidden_size: 768
    intermediate_size: 1152
    num_attention_heads: 12
    mlp_layer: glu
train_loader:
  name: text
  dataset:
    local: data
    split: train
    max_seq_len: ${max_seq_len}
  sequence_packing: true
  batch_size_warmup_min_size: 96
  batch_size_warmup_tokens: 50_000_000_000tok
scheduler:
  name: warmup_stable_decay
  t_warmup: 3_000_000_000tok
  alpha_f: 0.00
  t_decay: 0tok
optimizer: {name: decoupled_stableadamw, lr: 8e-4, betas: [0.9, 0.98], weight_decay: 1.0e-5}
max_duration: 1_719_000_000_000tok
global_train_batch_size: 4608
device_train_microbatch_size: 96
precision: amp_bf16
"""


def test_a_modernbert_config_reads_its_bert_shape_batch_ramp_and_stable_schedule(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "modernbert-base.yaml", MODERNBERT), "llmfoundry")
    m = plan.model
    assert (m.family, m.layers, m.hidden_size, m.ffn_size, m.gated_mlp, m.vocab_size) == ("bert", 22, 768, 1152, True, 50368)
    # 22 x (4 x 768² attention + 3 x 768 x 1152 GLU) + 50368 x 768 tied: ModernBERT-base's 149M
    assert plan.derived.parameters.value == 22 * (4 * 768 ** 2 + 3 * 768 * 1152) + 50368 * 768
    # 3B tokens at the full 4608 x 1024 batch would be 636 steps; the batch starts at 96, so the steps are more
    assert plan.schedule.warmup_steps is None and "batch grows from 96" in plan.unknown["schedule.warmup_steps"]
    # `t_decay: 0tok`: warmup, then the peak lr to the end (src/scheduler.py WarmupStableDecayScheduler)
    assert plan.schedule.kind == "constant" and plan.derived.decay_steps.value is None
    wsd = plan_of(write(tmp_path, "wsd.yaml", MODERNBERT.replace("t_decay: 0tok", "t_decay: 0.1dur")), "llmfoundry")
    assert wsd.schedule.kind == "wsd" and wsd.schedule.wsd_decay_steps == 36_431  # 10% of 364,304 steps
    # unset, ModernBERT main.py's default 0.1dur; an unlisted shape key keeps bert-base-uncased's value
    default = plan_of(write(tmp_path, "default.yaml", MODERNBERT.replace("  t_decay: 0tok\n", "").replace(
        "    intermediate_size: 1152\n", "")), "llmfoundry")
    assert default.schedule.wsd_decay_steps == 36_431 and default.model.ffn_size == 3072


def test_modernberts_decoder_learns_the_next_token_whatever_its_loaders_mlm_probability(tmp_path: Path) -> None:
    # held-out review 31, A 16 (Ettin's decoder_mini.yaml on bert24): `flex_gpt` with `causal_mask: true` trains on
    # the shifted inputs; `mlm_probability: 0.0` only turns the text loader's masking off (PD511 said "a copy task")
    text = MODERNBERT.replace("    split: train\n", "    split: train\n    mlm_probability: 0.0\n")
    decoder = plan_of(write(tmp_path, "decoder.yaml", text.replace("name: flex_bert", "name: flex_gpt").replace(
        "    mlp_layer: glu\n", "    mlp_layer: glu\n    causal_mask: true\n")), "llmfoundry")
    assert decoder.objective.kind == "causal_lm" and decoder.sources["objective.kind"].key == "model.model_config.causal_mask"
    assert findings(decoder, "PD511") == []
    encoder = plan_of(write(tmp_path, "encoder.yaml", text), "llmfoundry")
    assert encoder.objective.kind == "masked_lm" and [f.severity for f in findings(encoder, "PD511")] == ["error"]


def test_the_bert_main_py_reads_its_own_top_level_keys_and_pads_the_vocabulary(tmp_path: Path) -> None:
    # held-out review 31, A 15 (ModernBERT's flex-bert-rope-base.yaml): its Composer main.py reads
    # `global_eval_batch_size` and `device_eval_microbatch_size` (llm-foundry's TrainConfig has neither, and PD002
    # proposed renames that would have set `global_train_batch_size` twice), and pads 30522 rows to 30528
    text = MODERNBERT.replace("    vocab_size: 50368\n", "    vocab_size: 30522\n") + (
        "global_eval_batch_size: 256\ndevice_eval_microbatch_size: 64\ndata_local: data\nsave_intervall: 1000ba\n"
        "global_train_batch_sise: 8\n")  # a slip of a key the file sets is its own key: renaming would set it twice
    plan = plan_of(write(tmp_path, "flex-bert.yaml", text), "llmfoundry")
    assert [n.data["key"] for n in notes(plan, "ignored-key")] == ["save_intervall"]
    assert "did you mean `save_interval`" in notes(plan, "ignored-key")[0].message
    assert (plan.model.vocab_size, plan.model.embedding_rows) == (30522, 30528) and findings(plan, "PD507") == []


def test_top_level_keys_of_a_forks_own_train_py_make_it_read_as_a_fork(tmp_path: Path) -> None:
    # held-out review 32, A 01/A 23 (tahoebio/mosaicfm): its own scripts/train.py requires `valid_loader` beside its
    # `vocabulary` and `collator` sections; PD002 warned "did you mean `eval_loader`?", which would break the start
    from pretrain_doctor.check import load_plan

    text = ("max_seq_len: 1024\nvocabulary: {local: vocab.json}\ncollator: {mlm_probability: 0.5}\n"
            "model: {name: mosaicfm, d_model: 512, n_layers: 12}\n"
            "train_loader: {name: text, dataset: {local: data, split: train}}\n"
            "valid_loader: {name: text, dataset: {local: data, split: valid}}\n"
            "optimizer: {name: decoupled_adamw, lr: 3.0e-4}\nscheduler: {name: cosine_with_warmup, t_warmup: 0.05dur}\n"
            "max_duration: 1000ba\nglobal_train_batch_size: 256\nprecision: amp_bf16\n")
    plan = load_plan(write(tmp_path, "mosaicfm.yaml", text))[2]
    assert plan.dialect == "llmfoundry" and plan.reading is not None
    assert {"vocabulary", "collator", "valid_loader"} <= set(plan.foreign_keys)
    # the fork's own `valid_loader`, no near miss of `eval_loader`: nothing to report (held-out reviews 116-125:
    # such "likely the fork's own key" infos were judged wrong wherever the fork reads the key)
    assert reported(plan, "PD002") == []
    # an upstream config of before 0.10 keeps its variables at the top level and interpolates them: not a fork
    upstream = ("data_local: ./my-copy-c4\ndata_remote: null\nglobal_seed: 17\nmax_seq_len: 2048\nseed: ${global_seed}\n"
                "model:\n  name: mpt_causal_lm\n  d_model: 2048\n  n_layers: 24\n  max_seq_len: ${max_seq_len}\n"
                "train_loader:\n  name: text\n  dataset:\n    local: ${data_local}\n    remote: ${data_remote}\n"
                "optimizer: {name: decoupled_adamw, lr: 2.0e-4}\nmax_duration: 24800ba\nglobal_train_batch_size: 512\n")
    assert load_plan(write(tmp_path, "mpt-1b.yaml", upstream))[2].reading is None


def test_megablocks_experts_are_read(tmp_path: Path) -> None:
    # Held-out review 33, A 11 (llm-foundry's testing-moe.yaml): `ffn_type: mb_dmoe` with 4 experts, top-2, was
    # counted as a dense model (6.64M, active the same; 6.84M in all, 6.71M active)
    moe = _PRETRAIN.replace("      n_layers: 12\n", "      n_layers: 12\n      ffn_config:\n        ffn_type: mb_dmoe\n"
                            "        moe_num_experts: 4\n        moe_top_k: 2\n")
    plan = plan_of(write(tmp_path, "moe.yaml", moe))
    dense = plan_of(write(tmp_path, "dense.yaml", _PRETRAIN))
    assert plan.model.num_experts == 4 and plan.model.experts_per_token == 2
    assert plan.sources["model.num_experts"].key == "model.ffn_config.moe_num_experts"
    assert plan.derived.parameters.value > plan.derived.active_parameters.value > dense.derived.parameters.value
    assert dense.model.num_experts is None


def test_mosaic_gpt_the_forerunner_of_mpt_is_sized(tmp_path: Path) -> None:
    # Held-out review 35, A 20 (a fork of mosaicml/examples, llm/yamls/mosaic_gpt/125m.yaml): the model was left
    # unsized, so PD801 judged a 124M, 6e16-FLOP run as a large one (a warning)
    text = _PRETRAIN.replace("name: mpt_causal_lm", "name: mosaic_gpt\n      mlp_ratio: 4\n      vocab_size: 50368")
    plan = plan_of(write(tmp_path, "125m.yaml", text))
    assert plan.model.name == "mosaic_gpt" and plan.model.ffn_size == 3072 and plan.model.tie_embeddings
    assert plan.derived.parameters.value == pytest.approx(123.6e6, rel=0.01)


def test_a_mup_optimizer_is_not_judged_by_the_lr_band(tmp_path: Path) -> None:
    # Held-out review 20, A 12 (mosaicml/examples 125m_mup.yaml): `mup_decoupled_adamw` at lr 0.06 is muP's base-width
    # lr; once the model was sized (review 35) PD101 called it "60× above the band" (an error)
    text = _PRETRAIN.replace("name: decoupled_adamw", "name: mup_decoupled_adamw").replace("lr: 6.0e-4", "lr: 6.0e-2")
    plan = plan_of(write(tmp_path, "mup.yaml", text))
    assert plan.optimizer.mup and plan.optimizer.family == "adamw" and findings(plan, "PD101") == []
    assert plan_of(write(tmp_path, "plain.yaml", text.replace("mup_decoupled_adamw", "decoupled_adamw"))).optimizer.mup \
        in (None, False)


def _sft_from(tmp_path: Path, load: str) -> object:
    text = (_PRETRAIN.replace("name: text\n      dataset:\n        local: ./c4", "name: finetuning\n      dataset:\n"
                              "        hf_name: json", 1).replace("max_duration: 4800ba", "max_duration: 1ep")
            + f"    save_folder: ./output/sft\n{load}")
    return plan_of(write(tmp_path, "sft.yaml", text))


def test_a_full_state_load_past_max_duration_trains_no_step(tmp_path: Path) -> None:
    # Held-out review 37, B 13: a 1-epoch SFT loading a pretraining run's `ep3-ba59181-rank0.pt` whole
    [note] = notes(_sft_from(tmp_path, "    load_path: ckpt/ep3-ba59181-rank0.pt\n"), "inconsistent")
    assert note.data["severity"] == "error" and "before its first step" in note.message
    [earlier] = notes(_sft_from(tmp_path, "    load_path: ckpt/ep0-ba900-rank0.pt\n"), "inconsistent")
    assert "severity" not in earlier.data and "optimizer moments" in earlier.message  # a fine-tune carrying pretraining state
    weights_only = "    load_path: ckpt/ep3-ba59181-rank0.pt\n    load_weights_only: true\n"
    own = "    load_path: ./output/sft/ep0-ba900-rank0.pt\n"  # resuming its own run
    assert not notes(_sft_from(tmp_path, weights_only), "inconsistent") and not notes(_sft_from(tmp_path, own), "inconsistent")


def test_attn_implementation_is_an_argument_from_0_20_only(tmp_path: Path) -> None:
    # llm-foundry #1801 (0.20.0) added it; llm-foundry 0.8.0 ignored it and ran eager attention (held-out review 38,
    # B 20: Minerva-7B's `attn_implementation: flash_attention_2`)

    body = textwrap.dedent(_PRETRAIN).replace("  name: mpt_causal_lm\n  d_model: 768\n  n_heads: 12\n  n_layers: 12\n"
                                              "  max_seq_len: ${variables.max_seq_len}\n",
                                              "  name: hf_causal_lm\n  pretrained_model_name_or_path: mistralai/"
                                              "Mistral-7B-v0.1\n  attn_implementation: flash_attention_2\n")
    path = write(tmp_path, "m.yaml", body)
    [old] = [n for n in notes(plan_of(path, trainer_versions=judged("llm-foundry=0.8.0")), "ignored-key")
             if n.data["key"] == "model.attn_implementation"]
    assert "ignores them" in old.message and "use_flash_attention_2" in old.hint
    assert not notes(plan_of(path, trainer_versions=judged("llm-foundry=0.20.0")), "ignored-key")
    assert not notes(plan_of(path), "ignored-key")  # no release known: some take it


def test_a_top_level_key_near_no_trainconfig_field_is_likely_a_forks_own(tmp_path: Path) -> None:
    # Held-out review 40, B 14/B 15 (IST-DASLab's llm-foundry fork: `timing_file`, `is_prune`, `target` in its own
    # TrainConfig): warnings that upstream refuses to start. A typo of a field stays a warning with its rename.
    body = textwrap.dedent(_PRETRAIN)
    fork = notes(plan_of(write(tmp_path, "fork.yaml", body + "timing_file: /nfs/timing.txt\n")), "ignored-key")
    assert [(n.data["key"], n.data.get("severity")) for n in fork] == [("timing_file", "info")]
    typo = notes(plan_of(write(tmp_path, "typo.yaml", body + "save_intervall: 500ba\n")), "ignored-key")
    assert [(n.data["key"], n.data.get("suggestion"), n.data.get("severity")) for n in typo] == [
        ("save_intervall", "save_interval", None)]


def test_a_repeated_key_stops_an_omegaconf_loader(tmp_path: Path) -> None:
    # Held-out review 41, B 09 (`streams:` twice under train_loader.dataset): llm-foundry's om.load refuses it
    # ("found duplicate key"); PyYAML's last-one-wins made it "nothing is lost" at info
    body = textwrap.dedent(_PRETRAIN).replace("    split: train\n", "    split: train\n    split: train\n", 1)
    report = check_paths([write(tmp_path, "dup.yaml", body)], CheckOptions(use_settings=False))
    [repeated] = [f for f in report.findings if f.code == "PD002" and "set twice" in f.message]
    assert repeated.severity == "error" and "OmegaConf" in repeated.message


def test_a_scheduler_left_to_launch_and_model_keys_the_file_interpolates(tmp_path: Path) -> None:
    # Held-out review 42, B 16 (a muP sweep template: `scheduler: {name: ???}`, `model._mup_config` read through
    # `${model._mup_config...}` interpolations, `disable_biases: false`): "no warmup" and "remove them" at warning
    body = textwrap.dedent(_PRETRAIN).replace("  name: cosine_with_warmup\n  t_warmup: 100ba\n", "  name: ???\n")
    body = body.replace("  name: mpt_causal_lm\n  d_model: 768\n  n_heads: 12\n  n_layers: 12\n"
                        "  max_seq_len: ${variables.max_seq_len}\n",
                        "  name: hf_causal_lm\n  pretrained_model_name_or_path: gpt2\n  pretrained: false\n"
                        "  disable_biases: false\n  _mup_config:\n    d_model_base: 256\n"
                        "  config_overrides:\n    n_embd: ${model._mup_config.d_model_base}\n").replace("variables:\n", "vars:\n")
    body = body.replace("${variables.", "${vars.")
    plan = plan_of(write(tmp_path, "mup.yaml", body))
    assert plan.schedule.kind is None and "schedule.warmup_steps" in plan.unknown and findings(plan, "PD104") == []
    assert not [n for n in notes(plan, "ignored-key") if str(n.data.get("key", "")).startswith("model.")]


def test_loaders_elsewhere_leave_the_order_unknown(tmp_path: Path) -> None:
    # Held-out review 44, B 08 (a fork's `dataloaders:` list whose train loader shuffles): PD703 "read in a fixed
    # order" from StreamingTextDataset's default, for a loader the file does not configure under that name
    body = textwrap.dedent(_PRETRAIN)
    start, end = body.index("train_loader:"), body.index("eval_loader:")
    forked = body[:start] + "dataloaders:\n  - name: train_loader_docs\n    dataset: {local: ./c4, shuffle: true}\n" \
        + body[end:]
    plan = plan_of(write(tmp_path, "fork.yaml", forked))
    assert plan.data.shuffle is None and "data.shuffle" in plan.unknown and findings(plan, "PD703") == []
    # ... nor is evaluation off (its evaluators come from the same list), and a model key its vendored model class
    # reads (`model.loss`) is upstream's TypeError only at info once the file reads as a fork
    no_eval = forked[:forked.index("eval_loader:")] + "url_trie: /data/trie.pkl\n"
    model = no_eval[no_eval.index("model:\n"):no_eval.index("tokenizer:\n")]
    fork = plan_of(write(tmp_path, "fork2.yaml", no_eval.replace(
        model, "model:\n  name: hf_causal_lm\n  pretrained_model_name_or_path: gpt2\n  loss: {type: lm}\n")),
        dialect="llmfoundry")
    judge_reading(fork)
    assert "eval.enabled" in fork.unknown and findings(fork, "PD702") == []
    [model_key] = [f for f in findings(fork, "PD002") if f.key == "model.loss"]
    assert model_key.severity == "info" and "fork" in model_key.message
    unshuffled = body.replace("    shuffle: true\n", "", 1)
    assert findings(plan_of(write(tmp_path, "upstream.yaml", unshuffled)), "PD703")  # upstream's default: no shuffle


def test_a_wrappers_file_is_read_through_its_train_section(tmp_path: Path) -> None:
    # held-out review 69, B 14/15: a platform's JSON that keeps the llm-foundry YAML under `train` beside its own
    # `convert_data`/`generate` steps: refused as no training config; now read from that section, lines and all
    import json

    import yaml

    config = yaml.safe_load(textwrap.dedent(_PRETRAIN).replace("${variables.max_seq_len}", "1024")
                            .replace("${variables.global_seed}", "7"))
    wrapper = {"weights_filename": "weights.pt", "convert_data": {"split": "train"}, "train": config,
               "generate": {"max_new_tokens": 64}}
    path = tmp_path / "model_config.json"
    path.write_text(json.dumps(wrapper, indent=2))
    report = check_paths([path], CheckOptions(use_settings=False))
    [result] = report.files
    assert result.dialect == "llmfoundry" and any("`train` section" in n for n in result.notices)
    [zero_wd] = [f for f in report.findings if f.code == "PD203"]
    assert zero_wd.line == next(n for n, line in enumerate(path.read_text().splitlines(), 1) if '"weight_decay"' in line)
    # a section that is no trainer's config leaves the file refused, as before
    path.write_text(json.dumps({"train": {"epochs": 1, "a": 1, "b": 2, "c": 3, "d": 4}, "generate": {}}))
    [refused] = check_paths([path], CheckOptions(use_settings=False)).errors
    assert "not a training config" in refused.message


def test_a_variable_set_at_the_top_level_is_never_used_or_refused(tmp_path: Path) -> None:
    # Held-out review 120, D 04 (junethai-mendel/llm-foundry's launch: `composer train.py tiny-llama-1b.yaml
    # data_local=my-copy-c4` over `variables.data_local`): the legacy spelling of the file's own variable, no fork's
    # field (it was an info "a fork's TrainConfig may declare it"). 0.10+ refuses it; earlier releases keep the
    # file's value for `${variables.data_local}`.
    body = textwrap.dedent(_PRETRAIN).replace("  global_seed: 7\n", "  global_seed: 7\n  data_local:\n", 1)
    body = body.replace("local: ./c4\n", "local: ${variables.data_local}\n", 1) + "data_local: ./my-copy-c4\n"
    path = write(tmp_path, "pre.yaml", body)
    [note] = [n for n in notes(plan_of(path), "ignored-key") if n.data.get("key") == "data_local"]
    assert note.data["severity"] == "warning" and "never used" in note.message
    [strict] = [n for n in notes(plan_of(path, trainer_versions=judged("llm-foundry=0.10.0")), "ignored-key")
                if n.data.get("key") == "data_local"]
    assert strict.data["severity"] == "error" and "refuses to start" in strict.message
