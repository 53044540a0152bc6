"""The generated key tables (dialects/*_keys.py, tools/trainer_keys.py) of the dialects beyond HF and
torchtitan: a key only some releases read is never a typo under the union of releases, is named with
the release when a version that lacks it is judged, and a real typo still gets "did you mean"."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from pretrain_doctor.dialects.versions import ChangeTable, TrainerVersions, parse_assignments, parse_version

from .helpers import notes, plan_of, write

AXOLOTL = """
    base_model: meta-llama/Llama-3.2-1B
    micro_batch_size: 2
    gradient_accumulation_steps: 4
    sequence_len: 2048
    learning_rate: 2.0e-5
    num_epochs: 1
    relora_steps: 150
    {typo}: 0.1
"""
LLAMAFACTORY = """
    model_name_or_path: Qwen/Qwen2-7B-Instruct
    stage: dpo
    do_train: true
    finetuning_type: lora
    lora_target: all
    dataset: dpo_en_demo
    template: qwen
    cutoff_len: 2048
    output_dir: saves/dpo
    per_device_train_batch_size: 1
    gradient_accumulation_steps: 8
    learning_rate: 5.0e-6
    num_train_epochs: 3.0
    dpo_beta: 0.1
    {typo}: 8
"""
LITGPT = """
    model_name: pythia-160m
    out_dir: out/pythia
    precision: bf16-mixed
    train:
      global_batch_size: 16
      micro_batch_size: 1
      lr_warmup_steps: 100
      epochs: 1
      learning_rate: 0.0003
      {typo}: 10
"""
NANOTRON = """
    general: {{project: demo, run: r1, seed: 7}}
    parallelism: {{dp: 8, pp: 1, tp: 1}}
    model:
      dtype: bfloat16
      model_config: {{is_llama_config: true, hidden_size: 1024, num_hidden_layers: 16, num_attention_heads: 16,
                      vocab_size: 50257}}
    tokens: {{sequence_length: 2048, train_steps: 10000, micro_batch_size: 4, batch_accumulation_per_replica: 8}}
    optimizer:
      zero_stage: 1
      weight_decay: 0.1
      clip_grad: 1.0
      adam_beta1: 0.9
      {typo}: 0.95
      learning_rate_scheduler: {{learning_rate: 0.0006, lr_warmup_steps: 500}}
"""
NEOX = """
    num_layers: 12
    hidden_size: 768
    num_attention_heads: 12
    seq_length: 2048
    train_micro_batch_size_per_gpu: 8
    train_iters: 1000
    optimizer: {{type: Adam, params: {{lr: 0.0006}}}}
    use_mup: true
    {typo}: 0.1
"""
LLMFOUNDRY = """
    variables: {{global_seed: 17}}
    max_seq_len: 2048
    model: {{name: mpt_causal_lm, d_model: 768, n_heads: 12, n_layers: 12, max_seq_len: 2048}}
    optimizer: {{name: decoupled_adamw, lr: 6.0e-4, betas: [0.9, 0.95], eps: 1.0e-8, weight_decay: 0.0}}
    scheduler: {{name: cosine_with_warmup, t_warmup: 100ba, alpha_f: 0.1}}
    max_duration: 4800ba
    global_train_batch_size: 256
    device_train_microbatch_size: 16
    precision: amp_bf16
    train_loader: {{name: text, dataset: {{local: data}}}}
    tp_config: {{tensor_parallel_degree: 2}}
    {typo}: 1
"""
OLMO = """
    run_name: demo
    seed: 6198
    model: {{d_model: 768, n_heads: 12, n_layers: 12, max_sequence_length: 2048}}
    optimizer: {{name: adamw, learning_rate: 6.0e-4, weight_decay: 0.1}}
    scheduler: {{name: cosine_with_warmup, t_warmup: 2000}}
    max_duration: 10000
    global_train_batch_size: 512
    device_train_microbatch_size: 8
    auxiliary_loss_multiplier: 0.0001
    {typo}: 1.0
"""
MEGATRON = """
    torchrun --nproc_per_node 8 pretrain_gpt.py \\
        --num-layers 24 --hidden-size 1024 --num-attention-heads 16 --seq-length 2048 \\
        --micro-batch-size 4 --global-batch-size 256 --train-iters 10000 --lr 3e-4 \\
        --lr-warmup-iters 100 --retro-add-retriever --bf16 \\
        {typo} 100
"""
DEEPSPEED = """
    {{"train_batch_size": 256, "train_micro_batch_size_per_gpu": 8, "gradient_accumulation_steps": 4,
     "optimizer": {{"type": "AdamW", "params": {{"lr": 3e-4}}}},
     "zero_optimization": {{"stage": 3, "zero_quantized_weights": true, "{typo}": true}}}}
"""

# dialect, config, the key of another release, the version that lacks it and what the message says
# of it, a release that reads it, a typo and what it should be.
CASES = {
    "axolotl": (AXOLOTL, "relora_steps", "axolotl=0.12", "axolotl 0.11.0 reads it, 0.12.0 and later do not",
                "`jagged_restart_steps` instead", "axolotl=0.11", "warmup_ratoi", "warmup_ratio"),
    "llamafactory": (LLAMAFACTORY, "dpo_beta", "llamafactory=0.9.1",
                     "llamafactory 0.7.1 reads it, 0.8.0 and later do not", "`pref_beta` instead",
                     "llamafactory=0.7.1", "lora_rnak", "lora_rank"),
    "litgpt": (LITGPT, "train.learning_rate", "litgpt=0.5.4", "litgpt 0.3.1 reads it, 0.4.0 and later do not",
               "`optimizer` instead", "litgpt=0.3.1", "max_setps", "max_steps"),
    "nanotron": (NANOTRON, "optimizer.adam_beta1", "nanotron=0.5", "nanotron 0.4 reads it, 0.5 and later do not",
                 "`optimizer.optimizer_factory.adam_beta1` instead", "nanotron=0.4", "adam_beat2", "adam_beta2"),
    # keys only newer releases read, judged against an older one
    "neox": (NEOX, "use_mup", "neox=1.0", "gpt-neox 2.0 and later read it, 1.0 does not", "", "neox=2.0",
             "attention_dropuot", "attention_dropout"),
    "llmfoundry": (LLMFOUNDRY, "tp_config", "llm-foundry=0.12", "llm-foundry 0.13.0 and later read it, 0.12.0 does not",
                   "", "llm-foundry=0.13", "save_intreval", "save_interval"),
    "deepspeed": (DEEPSPEED, "zero_optimization.zero_quantized_weights", "deepspeed=0.9",
                  "deepspeed 0.10.0 and later read it, 0.9.0 does not", "", "deepspeed=0.10.0", "overlap_com",
                  "overlap_comm"),
    # Megatron-LM: RETRO's flags went with core 0.16 (megatron/training/arguments.py)
    "megatron": (MEGATRON, "--retro-add-retriever", "megatron-core=0.16", "megatron-core 0.15.0 reads it, 0.16.0 and later do not",
                 "", "megatron-core=0.15", "--save-intervall", "--save-interval"),
    "olmo": (OLMO, "auxiliary_loss_multiplier", "olmo=0.4", "ai2-olmo 0.5.0 and later read it, 0.4.0 does not", "",
             "olmo=0.5.1", "max_grad_nrom", "max_grad_norm"),
}


def _judged(assignment: str) -> TrainerVersions:
    return TrainerVersions(parse_assignments([assignment]), detect_installed=False)


def _pd002(plan) -> dict[str, str]:
    return {n.data["key"]: n.message for n in notes(plan, "ignored-key")}


def _config(tmp_path: Path, dialect: str) -> Path:
    text, *_, typo, _ = CASES[dialect]
    suffix = {"neox": ".yml", "deepspeed": ".json", "megatron": ".sh"}.get(dialect, ".yaml")
    return write(tmp_path, f"{dialect}{suffix}", text.format(typo=typo))


def _typo_key(dialect: str) -> str:
    key, typo = CASES[dialect][1], CASES[dialect][6]
    return ".".join(key.split(".")[:-1] + [typo]) if "." in key else typo


@pytest.mark.parametrize("dialect", sorted(CASES))
def test_a_key_of_another_release_is_not_a_typo_under_the_union(tmp_path: Path, dialect: str) -> None:
    plan = plan_of(_config(tmp_path, dialect), dialect)
    # an info note may still name a layout every recent release refuses (nanotron's pre-0.5 optimizer)
    found = {n.data["key"]: n.message for n in notes(plan, "ignored-key") if n.data.get("severity") != "info"}
    key = CASES[dialect][1]
    assert key not in found, found.get(key)
    assert plan.unknown["trainer_version"].startswith("--trainer-version ")


@pytest.mark.parametrize("dialect", sorted(CASES))
def test_a_key_the_judged_release_lacks_names_the_releases(tmp_path: Path, dialect: str) -> None:
    _, key, lacking, when, instead, reading, _, _ = CASES[dialect]
    path = _config(tmp_path, dialect)
    plan = plan_of(path, dialect, trainer_versions=_judged(lacking))
    message = _pd002(plan)[key]
    assert when in message and instead in message, message
    assert plan.trainer_version == lacking.split("=")[1]
    assert key not in _pd002(plan_of(path, dialect, trainer_versions=_judged(reading)))


@pytest.mark.parametrize("dialect", sorted(CASES))
def test_a_real_typo_still_gets_did_you_mean(tmp_path: Path, dialect: str) -> None:
    found = _pd002(plan_of(_config(tmp_path, dialect), dialect))
    meant = CASES[dialect][7]
    assert f"did you mean `{meant}`" in found[_typo_key(dialect)]


def test_neox_keys_are_judged_in_either_spelling(tmp_path: Path) -> None:
    text = NEOX.format(typo="hidden_dropout").replace("use_mup", "use-mup")
    found = _pd002(plan_of(write(tmp_path, "neox.yml", text), "neox", trainer_versions=_judged("neox=1.0")))
    assert "gpt-neox 2.0 and later read it" in found["use-mup"]


@pytest.mark.parametrize("module", ["axolotl", "deepspeed", "litgpt", "llamafactory", "llmfoundry", "megatron",
                                    "nanotron", "neox", "olmo"])
def test_generated_tables_are_consistent(module: str) -> None:
    """Every changed key is in the table's keys, every release it names was read, and a replacement is
    a key some release reads; the docstring names the releases and commits read."""
    table = importlib.import_module(f"pretrain_doctor.dialects.{module}_keys")
    keys = {f"{section}.{key}" if section else key for section, names in table.KEYS.items() for key in names}
    assert table.__doc__ and all(release in table.__doc__ for release in table.RELEASES)
    for key, (since, before, until, last, replacement, _) in table.CHANGES.items():
        assert key in keys
        assert {since, before, until, last} - {None} <= set(table.RELEASES)
        assert (since is None) == (before is None) and (until is None) == (last is None)
        assert replacement is None or replacement in keys
        if since and until:
            assert parse_version(since) < parse_version(until)
    change = ChangeTable(table.TRAINER, table.CHANGES)
    if table.CHANGES:
        key = next(iter(table.CHANGES))
        assert change[key].key == key and change[key].trainer == table.TRAINER and key in change


def test_tables_load_only_for_the_dialect_in_use(tmp_path: Path) -> None:
    """Detection imports every dialect module; the big tables wait until a plan of theirs is built."""
    import subprocess
    import sys

    path = _config(tmp_path, "litgpt")
    script = ("import sys\nfrom pretrain_doctor.check import check_paths\n"
              "from pretrain_doctor.settings import CheckOptions\n"
              f"check_paths([{str(path)!r}], CheckOptions())\n"
              "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.endswith('_keys')))\n")
    loaded = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=120)
    assert "'litgpt_keys'" in loaded.stdout
    for other in ("axolotl_keys", "olmo_keys", "nanotron_keys", "neox_keys", "llmfoundry_keys", "deepspeed_keys"):
        assert other not in loaded.stdout, loaded.stdout


def test_the_installed_trainer_is_judged_when_none_is_given(tmp_path: Path, monkeypatch) -> None:
    """Its version comes from package metadata (versions.installed_version), nothing imported."""
    from pretrain_doctor.check import check_paths
    from pretrain_doctor.dialects import versions
    from pretrain_doctor.settings import CheckOptions

    monkeypatch.setattr(versions, "installed_version", lambda dist: {"axolotl": "0.17.0"}.get(dist))
    path = _config(tmp_path, "axolotl")
    report = check_paths([path], CheckOptions(select=["PD002"], detect_installed_trainers=True))
    messages = " ".join(f.message for f in report.findings)
    assert "`relora_steps` is not a key of axolotl 0.17.0 (installed here)" in messages
    assert "did you mean `warmup_ratio`" in messages
    report = check_paths([path], CheckOptions(select=["PD002"], trainer_versions={"axolotl": "0.11"}))
    assert "relora_steps" not in " ".join(f.message for f in report.findings)


def test_every_dialect_trainer_has_a_distribution_name() -> None:
    assert parse_assignments(["llamafactory=0.9.2", "llm-foundry=0.20", "nanotron=0.5", "neox=2.0", "olmo=0.6",
                              "megatron=0.12", "composer=0.30"]) == {
        "llamafactory": "0.9.2", "llm-foundry": "0.20", "nanotron": "0.5", "gpt-neox": "2.0", "ai2-olmo": "0.6",
        "megatron-core": "0.12", "mosaicml": "0.30"}
