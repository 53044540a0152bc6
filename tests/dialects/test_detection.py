"""Dialect detection never guesses silently: scores per dialect, close calls and poor fits
are notices in the report, a file no dialect reads is named as such, `--help` lists them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar, Optional

import pytest

import pretrain_doctor.dialects as dialects
from pretrain_doctor.cli import main
from pretrain_doctor.config.loader import load_document
from pretrain_doctor.dialects import DIALECT_MODULES, Detection, detection, dialect_names
from pretrain_doctor.dialects.base import Dialect

from .helpers import write

# OLMo-shaped (model.d_model, scheduler.t_warmup, max_duration, batch keys) but mostly keys
# that no supported trainer reads: whichever dialect wins, it reads few of them.
LOOKALIKE = """
    model: {d_model: 512, n_layers: 8, n_heads: 8}
    optimizer: {learning_rate: 3.0e-4}
    scheduler: {name: cosine_with_warmup, t_warmup: 100}
    max_duration: 1000
    global_train_batch_size: 64
    device_train_microbatch_size: 8
    house_loader: {name: text}
    house_eval_loader: {name: text}
    house_algorithms: {clip: 1.0}
    house_callbacks: {speed: {}}
    house_fsdp: {strategy: full}
    house_logging: {every: 10}
    house_profiler: {enabled: false}
"""
HF_CONFIG = """
    model_name_or_path: gpt2
    output_dir: out
    learning_rate: 2.0e-5
    per_device_train_batch_size: 8
    num_train_epochs: 1
"""
ACCELERATE = """
    compute_environment: LOCAL_MACHINE
    distributed_type: MULTI_GPU
    num_processes: 8
    mixed_precision: bf16
"""


class _Stub(Dialect):
    """A dialect with a fixed score and key list, to pin detection's arithmetic."""

    summary: ClassVar[str] = "stub"

    def __init__(self, name: str, score: int, known: Optional[set[str]]) -> None:
        self.name = name  # type: ignore[misc]
        self._score = score
        self.known_keys = frozenset(known) if known is not None else None  # type: ignore[misc]

    def score(self, doc) -> int:
        return self._score


@pytest.fixture
def doc(tmp_path):
    return load_document(write(tmp_path, "train.yaml", "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n"))


def _detect_with(monkeypatch, doc, *stubs: _Stub) -> Detection:
    monkeypatch.setattr(dialects, "all_dialects", lambda: stubs)
    return detection(doc)


def test_every_dialect_module_is_named_as_its_dialect() -> None:
    # `--help` and the "supported" list read DIALECT_MODULES without importing the adapters.
    assert dialect_names() == list(DIALECT_MODULES)


def test_a_clear_winner_that_reads_the_file_has_no_notice(monkeypatch, doc) -> None:
    found = _detect_with(monkeypatch, doc, _Stub("one", 80, set("abcde")), _Stub("two", 40, set("ab")))
    assert found.dialect.name == "one" and found.scores == {"one": 80, "two": 40}
    assert found.notice is None


def test_a_close_call_names_both_dialects_and_what_each_reads(monkeypatch, doc) -> None:
    found = _detect_with(monkeypatch, doc, _Stub("one", 80, set("abcd")), _Stub("two", 75, set("abcde")))
    assert found.dialect.name == "one"
    assert "close call over two (score 75)" in found.notice
    assert "one reads 4 of the 5 top-level keys, two reads 5 of the 5" in found.notice


def test_close_scores_are_no_close_call_when_the_winner_reads_more_keys(monkeypatch, doc) -> None:
    found = _detect_with(monkeypatch, doc, _Stub("one", 80, set("abcde")), _Stub("two", 75, set("ab")))
    assert found.notice is None


def test_a_winner_that_reads_few_keys_is_a_guess(monkeypatch, doc) -> None:
    found = _detect_with(monkeypatch, doc, _Stub("one", 80, {"a"}))
    assert "a guess: one reads only 1 of the 5 top-level keys (not `b`, `c`, `d`, `e`)" in found.notice


def test_no_dialect_means_no_winner(monkeypatch, doc) -> None:
    found = _detect_with(monkeypatch, doc, _Stub("one", 0, None))
    assert found == Detection(None, {})


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_a_lookalike_config_is_read_with_a_notice_in_text_json_and_plan(tmp_path, capsys) -> None:
    path = write(tmp_path, "house.yaml", LOOKALIKE)
    _, out, _ = cli(capsys, "check", str(path), "--fail-on", "never")
    assert f"{path}: notice: read as " in out and "a guess" in out and "`house_loader`" in out
    _, out, _ = cli(capsys, "check", str(path), "--format", "json", "--fail-on", "never")
    (entry,) = json.loads(out)["files"]
    assert "a guess" in entry["notices"][0]
    code, out, err = cli(capsys, "plan", str(path))
    assert code == 0 and out.startswith("notice: read as ") and "a guess" in out.splitlines()[0]


def test_a_file_no_dialect_reads_names_the_supported_trainers(tmp_path, capsys) -> None:
    path = write(tmp_path, "notes.yaml", "title: my notes\nitems: [1, 2]\n")
    code, out, err = cli(capsys, "check", str(path))
    assert code == 2
    assert f"not a training config of a supported trainer (supported: {', '.join(DIALECT_MODULES)})" in out + err
    code, _, err = cli(capsys, "plan", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not a training config of a supported trainer" in err


def test_a_launch_of_a_program_whose_flags_name_no_training_setting_says_it_is_its_own(tmp_path, capsys) -> None:
    # nanotron's train_tiny_llama.sh (held-out 7, 42): its YAML is written at run time by another script.
    path = write(tmp_path, "train_tiny_llama.sh", "torchrun --nproc_per_node=8 run_train.py --config-file $CONFIG\n")
    code, out, err = cli(capsys, "plan", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "`run_train.py` is a program with its own arguments" in err and "supported:" in err


@pytest.mark.parametrize("command", ["check", "plan"])
def test_help_lists_every_dialect(capsys, command) -> None:
    code, out, _ = cli(capsys, command, "--help")
    flat = " ".join(out.split())
    assert code == 0 and ", ".join(DIALECT_MODULES) in flat


def test_folder_summary_names_skipped_and_companion_files(tmp_path, capsys) -> None:
    write(tmp_path, "run/train.yaml", HF_CONFIG)
    write(tmp_path, "run/notes.yaml", "title: my notes\n")
    write(tmp_path, "launch/accelerate.yaml", ACCELERATE)
    _, out, _ = cli(capsys, "check", str(tmp_path), "--fail-on", "never")
    assert "in 1 file, 1 companion file read, 1 skipped." in out
    assert f"  companion: {tmp_path / 'launch' / 'accelerate.yaml'} (accelerate launcher config" in out
    assert f"  skipped: {tmp_path / 'run' / 'notes.yaml'} (not a training config of a supported trainer)" in out


def test_a_folder_walk_reads_launch_scripts_named_without_a_suffix(tmp_path, capsys) -> None:
    # `submit_deepspeed`, a bash script under no `.sh` name (held-out review 101): read as the launch it is; other
    # files without a suffix (a LICENSE, a script of another shell-less language) stay unopened past their first line
    write(tmp_path, "submit_deepspeed", "#!/usr/bin/env bash\ndeepspeed train.py --model_name_or_path m "
                                        "--output_dir out --learning_rate 2e-5 --per_device_train_batch_size 4\n")
    write(tmp_path, "LICENSE", "MIT License\n")
    write(tmp_path, "serve", "#!/usr/bin/env python\nprint('hi')\n")
    _, out, _ = cli(capsys, "check", str(tmp_path), "--fail-on", "never")
    assert "in 1 file." in out and "submit_deepspeed" in out and "LICENSE" not in out and "serve" not in out
    # ... and with no `#!`, whose first statement launches training (held-out review 121, A 22/A 23: `runfile`,
    # `bash_train`, each an `accelerate launch ... train.py` line; the folder walk passed them by, `check FILE` read
    # them as YAML, "a config must be a mapping")
    runfile = write(tmp_path, "runfile", "accelerate launch --config_file fsdp.yaml train.py \\\n"
                                         "--model_name_or_path m --output_dir out --learning_rate 2e-5\n")
    _, out, _ = cli(capsys, "check", str(tmp_path), "--fail-on", "never")
    assert "in 2 files." in out and "runfile" in out
    _, out, _ = cli(capsys, "check", str(runfile), "--fail-on", "never")
    assert "mapping" not in out and "runfile" in out



def test_a_folder_walk_reads_a_job_script_named_for_its_cluster(tmp_path, capsys) -> None:
    # held-out review 136, D 08: `launch_cpt_astrosage2.frontier`, a Slurm job script named for OLCF's Frontier, was
    # passed by ("no config files found"); a file of a known other kind is never opened, a suffix's `#!` alone counts
    write(tmp_path, "launch_cpt.frontier", "#!/bin/bash\n#SBATCH -N 4\nsrun python train.py --model_name_or_path m "
                                           "--output_dir out --learning_rate 2e-5 --per_device_train_batch_size 4\n")
    write(tmp_path, "notes.txt", "#!/bin/bash\ntorchrun train.py --lr 1e-3\n")
    write(tmp_path, "run.polaris", "torchrun train.py --learning_rate 1e-3\n")  # no `#!`: a suffix is no proof
    _, out, _ = cli(capsys, "check", str(tmp_path), "--fail-on", "never")
    assert "in 1 file." in out and "launch_cpt.frontier" in out
    assert "notes.txt" not in out and "run.polaris" not in out


def test_an_accelerate_config_found_beside_a_config_is_reported_as_read(tmp_path, capsys) -> None:
    config = write(tmp_path, "train.yaml", HF_CONFIG)
    accelerate = write(tmp_path, "accelerate.yaml", ACCELERATE)
    _, out, _ = cli(capsys, "check", str(config), "--fail-on", "never")
    assert f"{config}: notice: read the accelerate config beside it, {accelerate}" in out
    # Named on the command line, it is no surprise: no notice.
    _, out, _ = cli(capsys, "check", str(config), "--accelerate-config", str(accelerate), "--fail-on", "never")
    assert "notice:" not in out


# open-instruct's own finetune.py arguments (configs/train_configs/sft/tulu2_7b_lora.yaml, reduced): HF-like
# names, but `use_lora`, `lora_rank`, `with_tracking`, `checkpointing_steps` are its FlatArguments, not HF's.
OPEN_INSTRUCT = """
    model_name_or_path: meta-llama/Llama-2-7b-hf
    use_lora: true
    lora_rank: 64
    use_slow_tokenizer: true
    dataset_name: allenai/tulu-v2-sft-mixture
    per_device_train_batch_size: 1
    learning_rate: 1.0e-04
    warmup_ratio: 0.03
    num_train_epochs: 5
    output_dir: output/tulu_v2_7b_lora/
    with_tracking: true
    checkpointing_steps: epoch
"""


def test_a_guessed_dialect_does_not_judge_the_files_key_names(tmp_path, capsys) -> None:
    path = write(tmp_path, "tulu2_7b_lora.yaml", OPEN_INSTRUCT)
    _, out, _ = cli(capsys, "check", str(path), "--fail-on", "never", "--format", "json")
    report = json.loads(out)
    assert "a guess" in report["files"][0]["notices"][0] and "not judged (PD002)" in report["files"][0]["notices"][0]
    assert [f for f in report["findings"] if f["code"] == "PD002"] == []
    # A typo in a file hf explains is still reported (`lora_rank` is not one: local_rank, its old "did you
    # mean", is set by the launcher, never a config; held-out review 4).
    plain = write(tmp_path, "sft.yaml", HF_CONFIG + "    warmup_step: 100\n")
    _, out, _ = cli(capsys, "check", str(plain), "--fail-on", "never", "--format", "json")
    assert [f["code"] for f in json.loads(out)["findings"]].count("PD002") == 1


# Reduced from held-out review 13, B 30 (geodesic-research's `configs/pa_warm_start/sft_120b_1bmix_32k_v1.yaml`, a
# Megatron-Bridge ConfigContainer override): read as litgpt, a guess, with litgpt's 100-step warmup where the file
# says `scheduler.lr_warmup_fraction: 0.10`. Its sections are ConfigContainer's, its fields Megatron's
# (NVIDIA-NeMo/Megatron-Bridge src/megatron/bridge/training/config.py).
MEGATRON_BRIDGE = """\
scheduler:
  lr_decay_style: cosine
  lr_warmup_iters: 0
  lr_warmup_fraction: 0.10
train:
  train_iters: 474
  global_batch_size: 64
  micro_batch_size: 1
optimizer:
  lr: 5.0e-06
  adam_beta2: 0.95
ddp:
  overlap_grad_reduce: true
"""


def test_a_megatron_bridge_override_is_said_to_be_one_not_read_as_litgpt(tmp_path, capsys) -> None:
    path = write(tmp_path, "sft_120b.yaml", MEGATRON_BRIDGE)
    assert detection(load_document(path)).dialect is None
    code, out, err = cli(capsys, "check", str(path))
    assert code == 2 and "a Megatron-Bridge ConfigContainer override" in out + err and "litgpt (score" not in out + err
    code, _, err = cli(capsys, "plan", str(path))
    assert code == 2 and "a Megatron-Bridge ConfigContainer override" in err


def test_a_litgpt_config_with_its_own_train_section_stays_litgpt(tmp_path) -> None:
    # litgpt's TrainArgs has `lr_warmup_fraction` too, and its files have no `scheduler` section
    path = write(tmp_path, "pretrain.yaml", """\
        model_name: pythia-14m
        train:
          global_batch_size: 64
          micro_batch_size: 1
          lr_warmup_fraction: 0.1
          max_tokens: 1000000
        optimizer:
          class_path: torch.optim.AdamW
          init_args:
            lr: 0.0004
        """)
    assert detection(load_document(path)).dialect.name == "litgpt"


def test_a_launch_of_an_olmo_core_program_is_refused_by_name(tmp_path, capsys) -> None:
    # Held-out review 30, B 03 (an OLMo-core SLURM job, `torchrun ... train.py llama3-1B ...`): refused with "pass
    # --dialect NAME if it is one", and `--dialect olmo` misread it as OLMo's TrainConfig. The program's source,
    # here in 3.12-only f-string syntax, is read as text for its imports.
    write(tmp_path, "train.py", 'from olmo_core.train import prepare_training_environment\nprint(f"{"x"}")\n')
    job = write(tmp_path, "train.job", "#!/bin/bash\ntorchrun --nproc_per_node=4 train.py llama3-1B "
                                       "train_module.optim.lr=3e-4 trainer.max_duration.value=1000\n")
    code, out, err = cli(capsys, "check", str(job))
    assert code == 2 and "`train.py` trains with OLMo-core" in out + err and "--dialect NAME" not in out + err


def test_a_hydra_composition_is_a_projects_own_config_not_a_guessed_trainers(tmp_path, capsys) -> None:
    # held-out review 92, C 03: a Lightning experiment composed with Hydra `defaults:` was guessed as litgpt (it has
    # `seed`, `train`, `optimizer`), and plan showed litgpt's warmup and micro-batch for the file's
    path = write(tmp_path, "base.yaml", """\
        # @package _global_
        defaults:
          - override /trainer: default
          - override /optimizer: adamw-apex
        task:
          _target_: train.tasks.seq.SequenceLMModel
        seed: 1111
        trainer:
          devices: 8
          max_steps: 800000
        datamodule:
          batch_size: 16
        train:
          global_batch_size: 256
          optimizer:
            lr: 8e-4
        callbacks:
          model_checkpoint:
            save_last: true
        """)
    assert detection(load_document(path)).dialect is None
    code, _, err = cli(capsys, "plan", str(path))
    assert code == 2 and "a Hydra config" in err and "litgpt" not in err.split("supported:")[0]


def test_a_hydra_config_that_only_quiets_hydras_logging_composes_nothing(tmp_path) -> None:
    # held-out review 117, C 17: a nanoGPT fork's flat config ending in `defaults: [_self_, override
    # hydra/job_logging: disabled, ...]`, refused as a composition of other files
    text = ("out_dir: out\neval_interval: 1\neval_iters: 200\ngradient_accumulation_steps: 1\nbatch_size: 64\n"
            "block_size: 128\nn_layer: 2\nlearning_rate: 6e-4\nmax_iters: 40000\nlr_decay_iters: 40000\n"
            "warmup_iters: 20\nmin_lr: 6e-5\ndefaults:\n  - _self_\n  - override hydra/job_logging: disabled\n"
            "  - override hydra/hydra_logging: disabled\n")
    from pretrain_doctor.dialects import hydra_composition

    alone = load_document(write(tmp_path, "config.yaml", text))
    assert not hydra_composition(alone) and detection(alone).dialect is not None
    composed = text.replace("  - _self_\n", "  - _self_\n  - override /optimizer: adamw\n")
    assert hydra_composition(load_document(write(tmp_path, "composed.yaml", composed)))


def test_torchtune_recipes_and_their_launches_are_named_not_guessed(tmp_path, capsys) -> None:
    # held-out review 94, D 12: a torchtune LoRA config guessed as HF (its defaults, a PD104 info), and the README's
    # `tune run ... --config 8B_lora.yaml` read as an HF program's launch
    config = write(tmp_path, "8B_lora.yaml", """\
        model:
          _component_: torchtune.models.llama3_1.lora_llama3_1_8b
          lora_rank: 8
        tokenizer:
          _component_: torchtune.models.llama3.llama3_tokenizer
        optimizer:
          _component_: torch.optim.AdamW
          lr: 3e-4
        lr_scheduler:
          _component_: torchtune.modules.get_cosine_schedule_with_warmup
          num_warmup_steps: 100
        batch_size: 2
        epochs: 1
        gradient_accumulation_steps: 8
        """)
    launch = write(tmp_path, "run.sh", "tune run --nproc_per_node 4 lora_finetune_distributed.py --config 8B_lora.yaml\n")
    assert detection(load_document(config)).dialect is None
    assert detection(load_document(launch)).dialect is None
    code, _, err = cli(capsys, "plan", str(config))
    assert code == 2 and "torchtune recipe config" in err
    code, _, err = cli(capsys, "plan", str(launch))
    assert code == 2 and "runs a torchtune recipe" in err


def test_a_projects_own_names_for_lr_and_batch_are_no_guessed_trainers(tmp_path) -> None:
    # held-out review 97, C 11: a Lightning trainer's YAML (`lr`, `batch_size`, `gradient_accum`, `epochs` beside
    # `weight_decay`, `warmup_ratio`, `max_grad_norm`) was guessed as HF, its micro-batch and precision transformers'
    own = write(tmp_path, "pretrain.yaml", """\
        model_name: allenai/OLMo-7B-hf
        batch_size: 2
        gradient_accum: 4
        lr: 0.0001
        weight_decay: 0.0001
        epochs: 1
        warmup_ratio: 0.15
        max_grad_norm: 0.5
        seed: 42
        output_dir: ./outputs
        """)
    assert detection(load_document(own)).dialect is None
    # D 12: a project's YAML with DeepSpeed's batch names among its own settings was guessed as DeepSpeed
    deepspeed_named = write(tmp_path, "6B_tokens.yaml", """\
        train_micro_batch_size_per_gpu: 4
        gradient_accumulation_steps: 1
        learning_rate: 0.0002
        weight_decay: 0.1
        max_steps: 30600
        warmup_steps: 300
        bf16: true
        save_interval: 2000
        """)
    assert detection(load_document(deepspeed_named)).dialect is None
    # TrainingArguments' own names beside a program's extra `batch_size` stay HF
    hf = write(tmp_path, "sft.yaml", "learning_rate: 2.0e-5\nper_device_train_batch_size: 4\nbatch_size: 4\nlr: 1\n"
                                      "output_dir: out\n")
    assert detection(load_document(hf)).dialect.name == "hf"


def test_a_deepspeed_json_a_launch_ran_with_is_its_companion(tmp_path, capsys) -> None:
    # held-out review 104, A 12: `accelerate launch --config_file acc.yaml --num_processes 2 run.py cfg.yaml`, the
    # accelerate file naming ds.json with its own batch values: checked alone again, without the launch's 2 processes,
    # it asked for --world-size
    write(tmp_path, "ds.json", '{"train_batch_size": 16, "train_micro_batch_size_per_gpu": 1, '
                               '"gradient_accumulation_steps": 8, "zero_optimization": {"stage": 2}}\n')
    write(tmp_path, "acc.yaml", "compute_environment: LOCAL_MACHINE\ndeepspeed_config:\n  deepspeed_config_file: ds.json\n"
                                "  zero3_init_flag: false\ndistributed_type: DEEPSPEED\nmachine_rank: 0\n"
                                "main_training_function: main\nnum_machines: 1\nnum_processes: 2\n")
    write(tmp_path, "cfg.yaml", "model_name_or_path: m\noutput_dir: o\nlearning_rate: 5e-7\n"
                                "per_device_train_batch_size: 1\ngradient_accumulation_steps: 8\n")
    write(tmp_path, "train.sh", "accelerate launch --config_file acc.yaml --num_processes 2 run.py cfg.yaml\n")
    _, out, _ = cli(capsys, "check", str(tmp_path), "--fail-on", "never")
    assert f"  companion: {tmp_path / 'ds.json'} (read with the launch script" in out and "--world-size" not in out
