"""LLaMA-Factory YAML: stage and finetuning_type decide the run, HF keys keep their meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import assert_trains_only, detected, findings, judged, notes, plan_of, write


_LORA_SFT = """
    model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct
    stage: sft
    do_train: true
    finetuning_type: lora
    lora_rank: 8
    lora_target: all
    dataset: identity,alpaca_en_demo
    template: llama3
    cutoff_len: 1024
    output_dir: saves/llama3-8b/lora/sft
    per_device_train_batch_size: 2
    gradient_accumulation_steps: 4
    learning_rate: 1.0e-4
    num_train_epochs: 3.0
    lr_scheduler_type: cosine
    warmup_ratio: 0.1
    bf16: true
"""


def test_without_a_precision_flag_an_adapter_computes_in_the_inferred_dtype_and_a_full_tune_in_fp32(tmp_path) -> None:
    # held-out review 25, A 09: LLaMA-Factory loads the model in the dtype infer_optim_dtype picks (bf16 where the
    # device has it) and upcasts only the trainable parameters; the plan said fp32 for a LoRA
    lora = plan_of(write(tmp_path, "lora.yaml", _LORA_SFT.replace("    bf16: true\n", "")))
    assert lora.precision.compute == "bf16" and lora.precision.mixed is None
    assert "inferred by LLaMA-Factory" in lora.sources["precision.compute"].note
    assert not findings(lora, "PD302")  # the adapters are upcast: no pure-bf16 finding
    full = plan_of(write(tmp_path, "full.yaml", _LORA_SFT.replace("    bf16: true\n", "").replace(
        "finetuning_type: lora", "finetuning_type: full")))
    assert full.precision.compute == "fp32"


def test_an_awq_checkpoint_without_a_precision_flag_computes_in_fp16(tmp_path) -> None:
    # held-out review 30, A 14: `bf16: false` is no flag; an AWQ checkpoint is stored in fp16, which
    # infer_optim_dtype keeps
    text = _LORA_SFT.replace("    bf16: true\n", "    bf16: false\n").replace(
        "model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct", "model_name_or_path: Qwen/Qwen2.5-32B-Instruct-AWQ")
    plan = plan_of(write(tmp_path, "awq.yaml", text))
    assert plan.precision.compute == "fp16" and "AWQ/GPTQ" in plan.sources["precision.compute"].note


@pytest.fixture
def real(shared_dir: Path) -> Path:
    return shared_dir / "real-configs" / "llamafactory" / "examples"


# --- the corpus samples: lr, schedule, batch, run kind, objective ------------------------

def test_lora_pretrain_sample(real: Path) -> None:
    plan = plan_of(real / "train_lora" / "qwen3_lora_pretrain.yaml")
    assert plan.dialect == "llamafactory"
    assert plan.mode.kind == "lora" and plan.mode.lora_rank == 8 and plan.mode.lora_alpha == 16  # rank × 2
    assert plan.mode.init_from == "Qwen/Qwen3-4B-Instruct-2507"
    assert plan.objective.kind == "causal_lm" and plan.objective.completion_only is False
    assert plan.optimizer.lr == pytest.approx(1e-4)
    assert plan.schedule.kind == "cosine" and plan.schedule.warmup_ratio == pytest.approx(0.1)
    assert (plan.batch.micro_batch_size, plan.batch.grad_accum, plan.batch.seq_len) == (1, 8, 2048)
    assert plan.run.epochs == 3.0 and plan.run.max_steps is None
    # stage pt packs by default (hparams/parser.py), concatenating texts with no document mask
    assert plan.data.packing is True and plan.data.document_mask is False and plan.data.pretraining_text is True
    assert plan.precision.compute == "bf16" and plan.precision.mixed is True


def test_lora_dpo_sample(real: Path) -> None:
    plan = plan_of(real / "train_lora" / "qwen3_lora_dpo.yaml")
    assert plan.mode.kind == "preference" and plan.mode.preference_method == "dpo"  # pref_loss: sigmoid
    assert plan.mode.lora_rank == 8  # the adapter is what trains
    assert plan.objective.kind == "preference"
    assert plan.optimizer.lr == pytest.approx(5e-6)
    assert plan.schedule.kind == "cosine" and plan.schedule.warmup_ratio == pytest.approx(0.1)
    assert (plan.batch.micro_batch_size, plan.batch.grad_accum, plan.batch.seq_len) == (1, 8, 2048)
    assert plan.run.epochs == 3.0
    assert plan.data.packing is False
    assert not notes(plan, "ignored-key")


def test_galore_full_sft_sample(real: Path) -> None:
    plan = plan_of(real / "extras" / "galore" / "llama3_full_sft.yaml")
    assert plan.mode.kind == "full_finetune"
    assert plan.objective.kind == "causal_lm" and plan.objective.completion_only is True  # train_on_prompt: false
    assert plan.optimizer.lr == pytest.approx(1e-5)
    assert plan.optimizer.name == "galore_adamw_torch" and plan.optimizer.family == "adamw"
    assert plan.schedule.kind == "cosine" and plan.schedule.warmup_ratio == pytest.approx(0.1)
    assert (plan.batch.micro_batch_size, plan.batch.grad_accum, plan.batch.seq_len) == (1, 1, 2048)
    assert plan.run.epochs == 3.0
    # pure_bf16: weights and updates in bf16, no autocast
    assert (plan.precision.compute, plan.precision.params, plan.precision.mixed) == ("bf16", "bf16", False)
    assert [d.dataset for d in plan.data.train] == ["identity", "alpaca_en_demo"]


def test_awq_checkpoint_sample_is_qlora(real: Path) -> None:
    plan = plan_of(real / "train_qlora" / "llama3_lora_sft_awq.yaml")
    assert plan.mode.kind == "qlora" and plan.mode.lora_rank == 8
    assert plan.sources["mode.kind"].key == "model_name_or_path"
    assert plan.optimizer.lr == pytest.approx(1e-4)
    assert (plan.batch.micro_batch_size, plan.batch.grad_accum, plan.batch.seq_len) == (1, 8, 2048)
    assert plan.objective.completion_only is True


def test_samples_get_no_did_you_mean(real: Path) -> None:
    for path in sorted(real.rglob("*.yaml")):
        assert detected(path) == "llamafactory", path
        plan = plan_of(path)
        assert not findings(plan, "PD002"), path


# --- detection ---------------------------------------------------------------------------

def test_detected_over_hf(tmp_path: Path) -> None:
    assert detected(write(tmp_path, "sft.yaml", _LORA_SFT)) == "llamafactory"


def test_defaults_stage_sft_and_lora_detected_by_own_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "bare.yaml", """
        model_name_or_path: Qwen/Qwen2.5-7B
        template: qwen
        lora_target: q_proj,v_proj
        dataset: alpaca_en_demo
        per_device_train_batch_size: 4
        learning_rate: 2.0e-4
    """)
    assert detected(path) == "llamafactory"
    plan = plan_of(path)
    # FinetuningArguments: stage "sft", finetuning_type "lora", lora_rank 8; DataArguments: cutoff_len 2048
    assert plan.mode.kind == "lora" and plan.mode.lora_rank == 8
    assert plan.objective.completion_only is True
    assert plan.batch.seq_len == 2048 and "LLaMA-Factory" in plan.sources["batch.seq_len"].note


def test_plain_hf_file_stays_hf(tmp_path: Path) -> None:
    path = write(tmp_path, "hf.yaml", """
        model_name_or_path: gpt2
        output_dir: out
        per_device_train_batch_size: 8
        learning_rate: 5.0e-5
        max_seq_length: 1024
    """)
    assert detected(path) == "hf"


# --- mapping -------------------------------------------------------------------------------

def test_quantization_bit_makes_qlora(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "q.yaml", _LORA_SFT + "    quantization_bit: 4\n"))
    assert plan.mode.kind == "qlora" and plan.sources["mode.kind"].key == "quantization_bit"


@pytest.mark.parametrize("loss, method", [("orpo", "orpo"), ("simpo", "simpo"), ("sigmoid", "dpo"), ("ipo", "ipo")])
def test_pref_loss_names_the_method(tmp_path: Path, loss: str, method: str) -> None:
    text = _LORA_SFT.replace("stage: sft", "stage: dpo") + f"    pref_beta: 0.1\n    pref_loss: {loss}\n"
    plan = plan_of(write(tmp_path, "dpo.yaml", text))
    assert plan.mode.kind == "preference" and plan.mode.preference_method == method


@pytest.mark.parametrize("stage, method", [("kto", "kto"), ("rm", "reward_model")])
def test_other_preference_stages(tmp_path: Path, stage: str, method: str) -> None:
    plan = plan_of(write(tmp_path, f"{stage}.yaml", _LORA_SFT.replace("stage: sft", f"stage: {stage}")))
    assert plan.objective.kind == "preference" and plan.mode.preference_method == method


def test_ppo_stage_is_online_rl(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "ppo.yaml", _LORA_SFT.replace("stage: sft", "stage: ppo")))
    assert plan.mode.kind == plan.objective.kind == "online_rl" and plan.mode.rl_method == "ppo"
    assert plan.mode.preference_method is None and plan.mode.lora_rank is not None


def test_full_sft_is_a_full_finetune_and_freeze_a_partial_one(tmp_path: Path) -> None:
    full = plan_of(write(tmp_path, "full.yaml", _LORA_SFT.replace("finetuning_type: lora", "finetuning_type: full")))
    assert full.mode.kind == "full_finetune" and full.mode.lora_rank is None
    # held-out review 51, A 03: `freeze` trains the last layers (or LLaMA-Pro's added blocks), the rest stays frozen
    freeze = plan_of(write(tmp_path, "freeze.yaml", _LORA_SFT.replace(
        "finetuning_type: lora", "finetuning_type: freeze\n    use_llama_pro: true\n    freeze_trainable_layers: 8")))
    assert freeze.mode.kind == "partial_finetune" and freeze.mode.lora_rank is None
    assert freeze.mode.trains_only.startswith("the 8 blocks LLaMA-Pro adds")


def test_full_pt_is_continued_pretraining(tmp_path: Path) -> None:
    text = _LORA_SFT.replace("stage: sft", "stage: pt").replace("finetuning_type: lora", "finetuning_type: full")
    plan = plan_of(write(tmp_path, "pt.yaml", text))
    assert plan.mode.kind == "pretrain" and plan.mode.init_from == "meta-llama/Meta-Llama-3-8B-Instruct"
    assert not plan.mode.from_scratch
    scratch = plan_of(write(tmp_path, "scratch.yaml", text + "    train_from_scratch: true\n"))
    assert scratch.mode.from_scratch


def test_packing_defaults_and_neat_packing(tmp_path: Path) -> None:
    sft = plan_of(write(tmp_path, "sft.yaml", _LORA_SFT))
    assert sft.data.packing is False
    packed = plan_of(write(tmp_path, "packed.yaml", _LORA_SFT + "    packing: true\n"))
    assert packed.data.packing is True and packed.data.document_mask is False
    assert findings(packed, "PD510")[0].severity == "warning"
    neat = plan_of(write(tmp_path, "neat.yaml", _LORA_SFT + "    neat_packing: true\n"))
    assert neat.data.packing is True and neat.data.document_mask is True
    assert not findings(neat, "PD510")
    unpacked_pt = plan_of(write(tmp_path, "pt.yaml", _LORA_SFT.replace("stage: sft", "stage: pt") + "    packing: false\n"))
    assert unpacked_pt.data.packing is False


def test_cutoff_len_not_generation_max_length(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "gen.yaml", _LORA_SFT + "    max_length: 512\n"))
    assert plan.batch.seq_len == 1024


def test_train_on_prompt_turns_off_completion_only(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "prompt.yaml", _LORA_SFT + "    train_on_prompt: true\n"))
    assert plan.objective.completion_only is False


def test_lora_alpha_and_additional_target(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "alpha.yaml", _LORA_SFT + "    lora_alpha: 32\n    additional_target: embed_tokens,lm_head\n"))
    assert plan.mode.lora_alpha == 32 and plan.mode.modules_to_save == ["embed_tokens", "lm_head"]


def test_other_trainers_spellings_are_reported(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "trl.yaml", _LORA_SFT + "    lora_r: 16\n    max_seq_length: 4096\n"))
    found = {n.data["key"]: n.data["suggestion"] for n in notes(plan, "ignored-key")}
    assert found == {"lora_r": "lora_rank", "max_seq_length": "cutoff_len"}
    assert plan.batch.seq_len == 1024
    assert {n.data.get("severity") for n in notes(plan, "ignored-key")} == {None}  # the rule's warning


def test_other_trainers_spellings_in_a_forks_file_or_with_extra_args_are_infos(tmp_path: Path) -> None:
    # held-out review 69, A 07: AHN's LLaMA-Factory fork reads its own `loss_type kl` (beside `ahn_implementation`),
    # launched with ALLOW_EXTRA_ARGS=1: not refused, so not a warning
    fork = plan_of(write(tmp_path, "fork.yaml", _LORA_SFT + "    loss_type: kl\n    ahn_implementation: GatedDeltaNet\n"))
    [loss] = [n for n in notes(fork, "ignored-key") if n.data["key"] == "loss_type"]
    assert loss.data["severity"] == "info" and "`ahn_implementation`" in loss.message
    script = write(tmp_path, "run.sh", "export ALLOW_EXTRA_ARGS=1\nllamafactory-cli train --stage sft --do_train "
                   "--model_name_or_path m --finetuning_type lora --dataset d --template qwen --output_dir o "
                   "--loss_type kl\n")
    [loss] = [n for n in notes(plan_of(script), "ignored-key") if n.data["key"] == "loss_type"]
    assert loss.data["severity"] == "info" and "ALLOW_EXTRA_ARGS" in loss.message


def test_typo_of_own_key_gets_did_you_mean(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "typo.yaml", _LORA_SFT + "    lora_dropuot: 0.05\n"))
    assert [n.data["suggestion"] for n in notes(plan, "ignored-key")] == ["lora_dropout"]


def test_a_flag_written_with_yamls_colon_is_named_for_what_it_is(tmp_path: Path) -> None:
    # held-out review 124, B 08: `--image_max_pixels: 200704` on a `llamafactory-cli train` command line was "did you
    # mean `image_max_pixels`?", the one it is; argparse leaves `--image_max_pixels:` unknown and LLaMA-Factory stops
    script = write(tmp_path, "run.sh", "llamafactory-cli train --stage=sft --do_train=true --model_name_or_path=m \\\n"
                   "  --image_max_pixels: 200704 --finetuning_type=lora --dataset=d --template=qwen2_vl "
                   "--output_dir=o\n")
    [colon] = [n for n in notes(plan_of(script), "ignored-key") if n.data["key"] == "image_max_pixels:"]
    assert "written with YAML's colon" in colon.message and colon.hint == "drop the colon: `--image_max_pixels value`"
    assert colon.source.line == 2


def test_optimizer_switches(tmp_path: Path) -> None:
    muon = plan_of(write(tmp_path, "muon.yaml", _LORA_SFT.replace("lora", "full", 1) + "    use_muon: true\n"))
    assert muon.optimizer.family == "muon"
    paged = plan_of(write(tmp_path, "paged.yaml", _LORA_SFT + "    optim: paged_adamw_8bit\n"))
    assert paged.optimizer.family == "adamw_8bit"


def test_deepspeed_companion_is_merged(tmp_path: Path) -> None:
    write(tmp_path, "examples/deepspeed/ds_z3_config.json", """
        {"train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto",
         "gradient_accumulation_steps": "auto", "gradient_clipping": "auto",
         "zero_optimization": {"stage": 3}, "bf16": {"enabled": "auto"}}
    """)
    path = write(tmp_path, "examples/train_full/llama3_full_sft.yaml",
                 _LORA_SFT.replace("finetuning_type: lora", "finetuning_type: full")
                 + "    deepspeed: examples/deepspeed/ds_z3_config.json\n")
    plan = plan_of(path)
    assert plan.parallel.zero_stage == 3
    assert plan.parallel.deepspeed_config.endswith("ds_z3_config.json")


def test_files_that_do_not_train_are_companions(tmp_path: Path) -> None:
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    write(tmp_path, "lf/predict.yaml", _LORA_SFT.replace("do_train: true", "do_predict: true\n    predict_with_generate: true"))
    write(tmp_path, "lf/merge.yaml", """
        model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct
        adapter_name_or_path: saves/llama3-8b/lora/sft
        template: llama3
        finetuning_type: lora
        export_dir: output/llama3_lora_sft
        export_size: 5
    """)
    write(tmp_path, "lf/train.yaml", _LORA_SFT)
    report = check_paths([tmp_path / "lf"], CheckOptions(use_settings=False))
    roles = {Path(f.path).name: (f.dialect, f.role) for f in report.files}
    assert roles == {"predict.yaml": ("llamafactory", "companion"), "merge.yaml": ("llamafactory", "companion"),
                     "train.yaml": ("llamafactory", "config")}
    assert {Path(f.file).name for f in report.findings} <= {"train.yaml"}


def test_hf_key_renamed_in_the_judged_transformers_release(tmp_path: Path) -> None:

    path = write(tmp_path, "old.yaml", _LORA_SFT + "    evaluation_strategy: steps\n")
    assert not notes(plan_of(path), "ignored-key")  # a key of transformers 4.40: no guess without a version
    versions = judged("transformers=4.51")
    found = notes(plan_of(path, trainer_versions=versions), "ignored-key")
    assert [n.data["key"] for n in found] == ["evaluation_strategy"] and "eval_strategy" in found[0].message


_V1_LORA = """
    model: Qwen/Qwen3-4B
    model_class: llm
    peft_config:
      name: lora
      r: 16
      lora_alpha: 32
      target_modules: all
    dist_config:
      name: fsdp2
    train_dataset: data/v1_sft_demo.yaml
    output_dir: ./outputs/test_lora
    micro_batch_size: 2
    global_batch_size: 32
    cutoff_len: 4096
    learning_rate: 1.0e-4
    max_steps: 500
"""


def test_v1_lora_sft(tmp_path: Path) -> None:
    path = write(tmp_path, "train_lora_sft.yaml", _V1_LORA)
    assert detected(path) == "llamafactory"
    plan = plan_of(path)
    assert plan.mode.kind == "lora" and plan.mode.lora_rank == 16 and plan.mode.lora_alpha == 32
    assert plan.objective.kind == "causal_lm"
    assert plan.optimizer.lr == pytest.approx(1e-4) and plan.optimizer.weight_decay == 0.01  # torch AdamW default
    assert plan.schedule.kind == "constant"  # no lr_scheduler_config
    # no warmup, and none v1 offers; no evaluation loop either: nothing to suggest (held-out review 124, B 14/15)
    assert plan.schedule.warmup_steps is None and "offers no warmup" in plan.unknown["schedule.warmup_steps"]
    assert plan.eval.enabled is None and "evaluates nothing" in plan.unknown["eval.enabled"]
    assert not findings(plan, "PD104") and not findings(plan, "PD702")
    assert (plan.batch.micro_batch_size, plan.batch.global_batch_size, plan.batch.seq_len) == (2, 32, 4096)
    assert plan.run.max_steps == 500 and plan.checkpoint.enabled is False
    assert plan.parallel.fsdp is True and plan.precision.compute == "bf16"
    assert not notes(plan, "ignored-key")


def test_v1_variants(tmp_path: Path) -> None:
    qlora = plan_of(write(tmp_path, "q.yaml", _V1_LORA + "    quant_config: {name: bnb, quantization_bit: 4}\n"))
    assert qlora.mode.kind == "qlora"
    dpo = plan_of(write(tmp_path, "dpo.yaml", _V1_LORA.replace("v1_sft_demo", "v1_dpo_demo")))
    assert dpo.mode.kind == "preference" and dpo.mode.preference_method == "dpo" and dpo.mode.lora_rank == 16
    muon = plan_of(write(tmp_path, "muon.yaml", _V1_LORA.replace("name: lora", "name: freeze")
                         + "    optim_config: {name: muon, wd: 0.05}\n    save_steps: 100\n"))
    assert muon.mode.kind == "full_finetune" and muon.optimizer.family == "muon"
    assert muon.optimizer.weight_decay == 0.05 and muon.checkpoint.interval_steps == 100
    typo = plan_of(write(tmp_path, "typo.yaml", _V1_LORA + "    micro_batch_sise: 4\n"))
    assert [n.data["suggestion"] for n in notes(typo, "ignored-key")] == ["micro_batch_size"]


def test_v1_file_without_train_dataset_is_a_companion(tmp_path: Path) -> None:
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    write(tmp_path, "v1/sample.yaml", """
        model: Qwen/Qwen3-4B
        model_class: llm
        sample_backend: hf
        max_new_tokens: 128
    """)
    report = check_paths([tmp_path / "v1"], CheckOptions(use_settings=False))
    assert [(f.dialect, f.role) for f in report.files] == [("llamafactory", "companion")]


def test_a_yaml_with_model_and_the_batch_sizes_alone_is_not_a_v1_config(tmp_path: Path) -> None:
    # the TinyLlama-style lit-gpt fork's YAML (held-out review 65, B 09): `model:` and the two batch sizes, no v1 key
    tinyllama = write(tmp_path, "pt.yaml", """
        model: tiny_LLaMA_0_3b
        global_batch_size: 1024
        micro_batch_size: 16
        learning_rate: 0.0005
        max_step: 12500
    """)
    assert detected(tinyllama) != "llamafactory"
    assert detected(write(tmp_path, "v1.yaml", _V1_LORA)) == "llamafactory"


def test_an_exponent_without_a_dot_is_a_string_before_omegaconf(tmp_path: Path) -> None:
    # issues #4014/#4149: `learning_rate: 1e-4` reached TrainingArguments as "1e-4" until 0.9.4 read YAML with OmegaConf
    path = write(tmp_path, "sft.yaml", _LORA_SFT.replace("learning_rate: 1.0e-4", "learning_rate: 1e-4"))
    old_release = judged("llamafactory=0.8.3")
    [old] = notes(plan_of(path, trainer_versions=old_release), "ignored-key")
    assert old.data["severity"] == "error" and "TypeError" in old.message
    assert "`learning_rate: 1e-4` is a string to YAML 1.1" in old.message
    assert old.hint == "write `learning_rate: 1.0e-4`, a float to every YAML loader"
    assert notes(plan_of(path, trainer_versions=judged("llamafactory=0.9.4")), "ignored-key") == []
    # an unknown release is judged as the newest, which reads a float (held-out review 92, B 01: a 0.9.4 fork's file)
    assert notes(plan_of(path), "ignored-key") == []
    assert notes(plan_of(write(tmp_path, "dot.yaml", _LORA_SFT), trainer_versions=old_release), "ignored-key") == []
    # an anchor before a number is no part of it (held-out review 74, A 08: `&learning_rate 1.0e-4` was "a string")
    anchored = _LORA_SFT.replace("learning_rate: 1.0e-4", "learning_rate: &lr 1.0e-4")
    assert "&lr" in anchored
    assert notes(plan_of(write(tmp_path, "anchor.yaml", anchored), trainer_versions=old_release), "ignored-key") == []
    marked = plan_of(write(tmp_path, "anchor1e.yaml", anchored.replace("&lr 1.0e-4", "&lr 1e-4")),
                     trainer_versions=old_release)
    assert [n.hint for n in notes(marked, "ignored-key")] == ["write `learning_rate: 1.0e-4`, a float to every YAML loader"]


def test_loader_workers_matter_only_when_streaming(tmp_path: Path) -> None:
    tokenized_once = plan_of(write(tmp_path, "once.yaml", _LORA_SFT))
    assert tokenized_once.data.num_workers == 0 and tokenized_once.data.prepared_per_batch is False
    assert not findings(tokenized_once, "PD704")
    streamed = plan_of(write(tmp_path, "stream.yaml", _LORA_SFT + "    streaming: true\n    max_steps: 1000\n"))
    assert streamed.data.prepared_per_batch is True and findings(streamed, "PD704")


def test_installed_transformers_outside_llamafactorys_range_is_not_judged(tmp_path: Path, monkeypatch) -> None:
    from pretrain_doctor.dialects import trainer_source, versions

    monkeypatch.setattr(trainer_source, "installed_fields", lambda dist, version: None)  # no source parsing
    path = write(tmp_path, "sft.yaml", _LORA_SFT + "    overwrite_output_dir: true\n    evaluation_strategy: steps\n")
    monkeypatch.setattr(versions, "installed_version", lambda dist: "5.24.0" if dist == "transformers" else None)
    assert not notes(plan_of(path, trainer_versions=versions.TrainerVersions()), "ignored-key")
    monkeypatch.setattr(versions, "installed_version", lambda dist: "4.57.1" if dist == "transformers" else None)
    found = notes(plan_of(path, trainer_versions=versions.TrainerVersions()), "ignored-key")
    # LLaMA-Factory declares overwrite_output_dir itself; evaluation_strategy went in transformers 4.51
    assert [n.data["key"] for n in found] == ["evaluation_strategy"]
    # before LLaMA-Factory 0.9.4 declared it, transformers 4.x read it (held-out review 29, A 01: 0.9.1 pinned)
    pinned = judged("llamafactory=0.9.1")
    assert not notes(plan_of(path, trainer_versions=pinned), "ignored-key")
    # a key LLaMA-Factory added that transformers never read is still judged against its release
    trust = write(tmp_path, "trust.yaml", _LORA_SFT + "    trust_remote_code: true\n")
    assert [n.data["key"] for n in notes(plan_of(trust, trainer_versions=pinned), "ignored-key")] == ["trust_remote_code"]


def test_a_launch_script_of_src_train_py_is_read_as_llamafactory(tmp_path) -> None:
    # Held-out review 4 (06, 360-LLaMA-Factory 360-example.sh): `deepspeed src/train.py --stage dpo ...` was read
    # as HF: the DPO stage was lost (causal_lm, full fine-tune). Its `--sequence_parallel_size` is the fork's own
    # flag, a whole word more than upstream's `sequence_parallel`: no "did you mean".
    script = write(tmp_path, "360-example.sh", """\
        deepspeed --hostfile=hostfile.1mac src/train.py \\
            --stage dpo \\
            --do_train \\
            --model_name_or_path Qwen/Qwen2.5-7B \\
            --dataset dpo_toy \\
            --template qwen \\
            --finetuning_type full \\
            --pref_beta 0.1 \\
            --output_dir output/debug \\
            --cutoff_len 32768 \\
            --per_device_train_batch_size 1 \\
            --gradient_accumulation_steps 4 \\
            --lr_scheduler_type cosine \\
            --learning_rate 1e-6 \\
            --num_train_epochs 10 \\
            --bf16 True \\
            --sequence_parallel_size 8
        """)
    assert detected(script) == "llamafactory"
    plan = plan_of(script)
    assert plan.mode.kind == "preference" and plan.mode.preference_method == "dpo"
    assert plan.optimizer.lr == 1e-6 and plan.batch.grad_accum == 4 and plan.batch.seq_len == 32768
    assert plan.sources["optimizer.lr"].line == 14
    # 360-LLaMA-Factory's key, which the plan reads: no ignored-key note (held-out review 124, B 17)
    assert notes(plan, "ignored-key") == [] and plan.parallel.context == 8
    hf = write(tmp_path, "hf.sh", "torchrun train.py --model_name_or_path m --learning_rate 2e-5 --output_dir o "
               "--per_device_train_batch_size 4\n")
    assert detected(hf) == "hf"


def test_cutoff_len_beyond_the_models_positions_is_reported_when_the_model_config_is_known(tmp_path) -> None:
    # Held-out review 3 (08, AI4MED llama3_8b_instruct_lora_pretrain.yaml): cutoff_len 8196 > Llama-3's 8192
    # positions, with stage pt packing every block to 8196; a miss when the model folder is not on disk.
    write(tmp_path, "model/config.json", '{"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32, '
          '"num_attention_heads": 32, "max_position_embeddings": 8192, "rope_theta": 500000.0, "vocab_size": 128256}')
    config = write(tmp_path, "pt.yaml", "model_name_or_path: ./model\nstage: pt\ndo_train: true\nfinetuning_type: lora\n"
                   "lora_target: all\ndataset: c4_demo\ncutoff_len: 8196\ntemplate: llama3\noutput_dir: out\n"
                   "per_device_train_batch_size: 1\ngradient_accumulation_steps: 8\nlearning_rate: 1.0e-4\n")
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    report = check_paths([config], CheckOptions(use_settings=False))
    [pd601] = [f for f in report.findings if f.code == "PD601"]
    assert pd601.severity == "warning" and "8196 exceeds max_position_embeddings 8192" in pd601.message
    assert pd601.key == "cutoff_len"


def test_a_llamafactory_cli_script_and_a_comment_that_cuts_its_continuation(tmp_path) -> None:
    # Held-out review 5 (31/32, ScaleBench): `llamafactory-cli train --stage sft ...` scripts were "not a training
    # config"; in Qwen2.5-VL.sh a `#--...` line inside the `\` continuation ends the command in bash.
    script = write(tmp_path, "Qwen2.5-VL.sh", """\
        CUDA_VISIBLE_DEVICES=0 llamafactory-cli train \\
            --stage sft \\
            --do_train True \\
            --model_name_or_path Qwen/Qwen2.5-VL-7B-Instruct \\
            #--model_name_or_path Qwen/Qwen2.5-VL-32B-Instruct \\
            --finetuning_type lora \\
            --template qwen2_vl \\
            --learning_rate 2e-05 \\
            --per_device_train_batch_size 4 \\
            --gradient_accumulation_steps 16 \\
            --output_dir out \\
            --lora_rank 32
        """)
    assert detected(script) == "llamafactory"
    plan = plan_of(script)
    assert plan.mode.kind == "lora" and plan.optimizer.lr == 2e-5 and plan.batch.grad_accum == 16
    [cut] = findings(plan, "PD002")
    assert cut.severity == "error" and cut.line == 5 and "--finetuning_type" in cut.message


def test_cutoff_len_default_follows_the_version_or_the_era_its_script_dates_it_to(tmp_path) -> None:
    """`cutoff_len` defaulted to 1024 until 0.9.1 (2048 since, hiyouga/LLaMA-Factory 1e6f965). HuangXinzhe/
    llm_fine_tuning lora_finetuning.sh at 5c31d43 (held-out review 10, A 02), reduced: a 2024-03 script running
    `src/train_bash.py` (removed in 0.7.1) was shown 0.9.6's 2048; its era's default is 1024."""
    flags = ("    --stage sft \\\n    --do_train \\\n    --model_name_or_path Qwen/Qwen1.5-1.8B \\\n"
             "    --finetuning_type lora \\\n    --output_dir out \\\n    --learning_rate 5e-5\n")
    old = write(tmp_path, "old.sh", "deepspeed --num_gpus 8 ./LLaMA-Factory/src/train_bash.py \\\n" + flags)
    unknown = judged()
    plan = plan_of(old, trainer_versions=unknown)
    assert plan.batch.seq_len == 1024 and "train_bash.py" in plan.sources["batch.seq_len"].note
    new = write(tmp_path, "new.sh", "deepspeed --num_gpus 8 src/train.py \\\n" + flags)
    plan = plan_of(new, trainer_versions=unknown)
    assert plan.batch.seq_len == 2048 and "1024 before 0.9.1" in plan.sources["batch.seq_len"].note
    for version, length in (("0.8.3", 1024), ("0.9.0", 1024), ("0.9.1", 2048)):
        plan = plan_of(new, trainer_versions=judged(f"llamafactory={version}"))
        assert plan.batch.seq_len == length and version in plan.sources["batch.seq_len"].note


def test_llamafactory_cli_train_file_with_dotlist_overrides(tmp_path) -> None:
    # Reduced from held-out review 11, A 27 (MachinePhoenix/GeoReasoning@0488acf scripts_raft/run_coldstart.sh):
    # LLaMA-Factory's read_args loads the YAML/JSON after `train` and merges OmegaConf.from_cli(argv[2:]) over it.
    script = """\
        FORCE_TORCHRUN=1 llamafactory-cli train base/gemma3_full_sft.yaml \\
            model_name_or_path=google/gemma-3-4b-it \\
            num_train_epochs=1 \\
            per_device_train_batch_size=16 \\
            gradient_accumulation_steps=2 \\
            learning_rate=1e-5
        """
    path = write(tmp_path, "run.sh", script)
    assert detected(path) == "llamafactory"
    plan = plan_of(path)  # the base file is not at hand: what the words leave open is the file's
    assert plan.optimizer.lr == pytest.approx(1e-5) and plan.sources["optimizer.lr"].line == 6
    assert (plan.batch.micro_batch_size, plan.batch.grad_accum, plan.run.epochs) == (16, 2, 1)
    assert "schedule.warmup_ratio" in plan.unknown and "mode.kind" in plan.program.assumed
    assert not findings(plan, "PD104")
    # the base file at hand: the words override it, the rest points into it
    write(tmp_path, "base/gemma3_full_sft.yaml", """\
        model_name_or_path: google/gemma-3-4b-pt
        stage: sft
        do_train: true
        finetuning_type: full
        learning_rate: 1.0e-4
        warmup_ratio: 0.1
        bf16: true
        """)
    plan = plan_of(path)
    assert plan.mode.kind == "full_finetune" and plan.optimizer.lr == pytest.approx(1e-5)
    assert plan.model.name == "google/gemma-3-4b-it" and plan.schedule.warmup_ratio == pytest.approx(0.1)
    assert plan.sources["schedule.warmup_ratio"].file.endswith("gemma3_full_sft.yaml")


def test_a_fork_stage_in_a_src_train_py_script_is_llamafactory_with_unknown_objective(tmp_path) -> None:
    # Reduced from held-out review 13, A 02 (Javkonline/AMoPO@d8caba0 run_amopo/run_bash_accelerate.sh):
    # `accelerate launch src/train.py --stage amopo --template qwen --finetuning_type full ...` was read as generic
    # HF (causal LM). src/train.py is LLaMA-Factory's run_exp; `amopo` is no upstream stage (FinetuningArguments.stage
    # is Literal["pt", "sft", "rm", "ppo", "dpo", "kto"], tuner.py raises "Unknown task"): the fork's own loss.
    script = write(tmp_path, "run_bash_accelerate.sh", """\
        accelerate launch --num_machines 1 --num_processes 2 \\
        src/train.py \\
        --stage amopo \\
        --model_name_or_path Qwen/Qwen2.5-0.5B-Instruct \\
        --do_train \\
        --dataset help_steer2 \\
        --template qwen \\
        --finetuning_type full \\
        --pref_beta 0.8 \\
        --pref_loss simpo \\
        --per_device_train_batch_size 1 \\
        --learning_rate 3e-7 \\
        --num_train_epochs 3.0
        """)
    assert detected(script) == "llamafactory"
    plan = plan_of(script)
    assert plan.objective.kind is None and "amopo" in plan.unknown["objective.kind"]
    assert plan.mode.kind == "full_finetune" and plan.optimizer.lr == 3e-7
    # Neither the stage nor the template: generic HF flags stay HF.
    plain = write(tmp_path, "plain.sh", "accelerate launch train.py --stage amopo --finetuning_type full "
                                        "--model_name_or_path m --learning_rate 1e-5\n")
    assert detected(plain) != "llamafactory"


def test_a_fork_stage_in_a_yaml_leaves_the_objective_unknown(tmp_path) -> None:
    # Reduced from held-out review 13, A 03 (Javkonline/AMoPO@d8caba0 examples/train_lora/llama3_lora_rmopo.yaml):
    # `stage: rmopo` (the fork's preference stage) was reported as causal-LM SFT.
    path = write(tmp_path, "llama3_lora_rmopo.yaml", """
        model_name_or_path: meta-llama/Llama-3.2-1B-Instruct
        stage: rmopo
        do_train: true
        finetuning_type: full
        lora_target: all
        pref_beta: 0.1
        pref_loss: simpo
        dataset: help_steer2
        template: llama3
        cutoff_len: 1024
        learning_rate: 5.0e-6
    """)
    assert detected(path) == "llamafactory"
    plan = plan_of(path)
    assert plan.objective.kind is None and "rmopo" in plan.unknown["objective.kind"]
    assert plan.objective.completion_only is None and plan.mode.kind == "full_finetune"


def test_stage_pt_from_weights_is_labelled_continued_pretraining(tmp_path) -> None:
    # Reduced from held-out review 13, A 26 (EricZhang1412/loopllama-cpt@21df274 deepspeed_cpt.sh): `--stage pt
    # --model_name_or_path models/Llama-3.2-1B` is continued pretraining: the plan's `pretrain` from init_from,
    # the source naming it (as litgpt's `pretrain --initial_checkpoint_dir`), not the finetuning_type.
    script = write(tmp_path, "deepspeed_cpt.sh", """\
        deepspeed --num_gpus=8 --module llamafactory.launcher \\
          --stage pt \\
          --model_name_or_path models/Llama-3.2-1B \\
          --dataset slimpajama_train_6B \\
          --finetuning_type full \\
          --do_train \\
          --max_steps 30720 \\
          --learning_rate 1.0e-5
        """)
    plan = plan_of(script)
    assert plan.mode.kind == "pretrain" and plan.mode.init_from == "models/Llama-3.2-1B" and not plan.mode.from_scratch
    assert plan.sources["mode.kind"].key == "stage" and "continued pretraining" in plan.sources["mode.kind"].note


# InfiniteVL examples/train_linear/train_config_distill_stage1.yaml (hustvl/InfiniteVL@8cc1542, held-out review 14,
# A 29), reduced: the fork's `finetuning_type: customize` runs `_setup_distill_tuning` (model/adapter.py), which
# trains only the parameters `distill_weights` names. It was read as a full fine-tune of the 3B model (PD103 info).
_INFINITEVL = """\
    model_name_or_path: Qwen/Qwen2.5-VL-3B-Instruct
    stage: dt
    do_train: true
    finetuning_type: customize
    dataset: mllm_demo
    template: qwen2_vl
    cutoff_len: 8096
    output_dir: ./output/qwen2.5vl_distill
    per_device_train_batch_size: 1
    gradient_accumulation_steps: 8
    learning_rate: 2.0e-4
    num_train_epochs: 1.0
    lr_scheduler_type: cosine
    bf16: true
    distill_stage: stage1
    distill_weights: ["q_proj", "k_proj", "v_proj"]
    """


def test_a_forks_own_finetuning_type_trains_what_its_code_selects(tmp_path: Path) -> None:
    assert_trains_only(plan_of(write(tmp_path, "distill.yaml", _INFINITEVL)), "`finetuning_type: customize`",
                       "mode.trains_only", 4)
    # upstream's own types keep their reading
    full = plan_of(write(tmp_path, "full.yaml", _INFINITEVL.replace("customize", "full")))
    assert full.mode.kind == "full_finetune" and full.mode.trains_only is None


def test_a_broken_value_feeding_several_fields_is_one_finding(tmp_path) -> None:
    # sun-hailong/TVC (held-out review 27, A 05): `model_name_or_path: [Qwen2-VL-72B-Instruct]`, a YAML list, feeds the
    # model, the tokenizer and the starting weights; one PD002 error, not three
    text = _LORA_SFT.replace("model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct",
                             "model_name_or_path: [Qwen2-VL-72B-Instruct]")
    plan = plan_of(write(tmp_path, "sft.yaml", text))
    assert [f.severity for f in findings(plan, "PD002") if "model_name_or_path" in f.message] == ["error"]


def test_a_config_with_training_settings_and_no_do_train_is_read_and_reported(tmp_path) -> None:
    # held-out review 32, A 12 (a gemma3n LoRA debug config): no `do_train` beside lr, max_steps and accumulation
    # was filed as a companion ("No problems found"); LLaMA-Factory trains nothing without it
    from pretrain_doctor.dialects import get_dialect
    from pretrain_doctor.config.loader import load_document

    text = _LORA_SFT.replace("    do_train: true\n", "") + "    gradient_accumulation_steps: 8\n"
    path = write(tmp_path, "debug_lora.yaml", text)
    assert get_dialect("llamafactory").companion_reason(load_document(path)) is None
    (note,) = notes(plan_of(path), "ignored-key")
    assert note.data["severity"] == "error" and "trains nothing" in note.message
    predict = write(tmp_path, "predict.yaml", _LORA_SFT.replace("    do_train: true\n", "    do_predict: true\n"))
    assert "does not train" in get_dialect("llamafactory").companion_reason(load_document(predict))
    # held-out review 53, A 06: an explicit `do_train: false` beside four training settings is the same mistake
    said = write(tmp_path, "said.yaml", text.replace("    stage: sft\n", "    stage: sft\n    do_train: false\n")
                 + "    warmup_ratio: 0.1\n    lr_scheduler_type: cosine\n")
    assert get_dialect("llamafactory").companion_reason(load_document(said)) is None
    (note,) = notes(plan_of(said), "ignored-key")
    assert note.message.startswith("`do_train` is false") and note.data["severity"] == "error"
    # held-out review 106, B 10: a section of a wrapper's own (`trainer: {distributed_backend: deepspeed}`), the file
    # run by that wrapper's CLI: maybe not through `llamafactory-cli train`, an info
    wrapped = write(tmp_path, "smoke.yaml", text + "    trainer:\n      distributed_backend: deepspeed\n")
    (note,) = [n for n in notes(plan_of(wrapped), "ignored-key") if n.data.get("key") == "do_train"]
    assert note.data["severity"] == "info" and "`trainer:` section" in note.message


_MAVEN = """\
model_name_or_path: /root/autodl-tmp/Qwen3-4B-Base/
stage: sft
dataset: maven_sft
dataset_dir: data/processed/maven_sft.jsonl
output_dir: /root/autodl-tmp/qwen-4b-mypretrain
per_device_train_batch_size: 4
gradient_accumulation_steps: 8
learning_rate: 2.0e-5
num_train_epochs: 1
save_steps: 10
bf16: true
"""


def test_an_sft_file_with_no_switch_at_all_trains_nothing_and_a_file_for_dataset_dir_stops_it(tmp_path) -> None:
    # held-out review 112, D 10 (a fork's configs/pretrain_maven.yaml): no do_train, do_eval or do_predict beside lr,
    # accumulation, epochs, batch and save_steps was refused as a serving companion; `dataset_dir` names a .jsonl
    from pretrain_doctor.dialects import get_dialect
    from pretrain_doctor.config.loader import load_document

    path = write(tmp_path, "pretrain_maven.yaml", _MAVEN)
    assert get_dialect("llamafactory").companion_reason(load_document(path)) is None
    errors = {n.data["key"]: n for n in notes(plan_of(path), "ignored-key") if n.data.get("severity") == "error"}
    assert set(errors) == {"do_train", "dataset_dir"} and "dataset_info.json" in errors["dataset_dir"].message
    folder = write(tmp_path, "ok.yaml", "do_train: true\n" + _MAVEN.replace("processed/maven_sft.jsonl", "processed"))
    assert not notes(plan_of(folder), "ignored-key")


def test_lora_alphas_default_is_the_releases_that_run_the_file(tmp_path) -> None:
    # held-out review 113 (llmtuner 0.1.8 forks): `lora_alpha` defaulted to 32.0 through 0.2.2 and to lora_rank × 2
    # from 0.3.0; a `src/train_bash.py` launch (0.7.0 or before) may run either
    path = write(tmp_path, "sft.yaml", _LORA_SFT)
    plan = plan_of(path)
    assert plan.mode.lora_alpha == 16.0 and "from 0.3.0" in plan.sources["mode.lora_alpha"].note
    assert plan_of(path, trainer_versions=_judged("0.2.0")).mode.lora_alpha == 32.0
    launch = write(tmp_path, "run.sh", "deepspeed src/train_bash.py --stage sft --do_train --model_name_or_path m "
                                       "--finetuning_type lora --lora_rank 8 --output_dir o --learning_rate 1e-4\n")
    old = plan_of(launch)
    assert old.mode.lora_alpha is None and "32 before 0.3.0" in old.unknown["mode.lora_alpha"]


def test_an_unquoted_no_strategy_is_a_boolean_that_stops_the_run(tmp_path) -> None:
    # held-out review 114, B 12 (a fork's Qwen3-Omni STT yaml): `evaluation_strategy: no` is YAML 1.1's false, which
    # IntervalStrategy refuses at start-up; it was read as evaluation on ("evaluates once per epoch")
    plan = plan_of(write(tmp_path, "stt.yaml", _LORA_SFT + "    evaluation_strategy: no\n    eval_steps: 500\n"))
    (note,) = [n for n in notes(plan, "ignored-key") if n.data.get("key") == "evaluation_strategy"]
    assert note.data["severity"] == "error" and "not a valid IntervalStrategy" in note.message
    assert plan.eval.enabled is False and not findings(plan, "PD003")
    quoted = plan_of(write(tmp_path, "q.yaml", _LORA_SFT + '    evaluation_strategy: "no"\n    save_strategy: "no"\n'))
    assert not notes(quoted, "ignored-key") and quoted.checkpoint.enabled is False


def test_a_forks_own_finetuning_type_without_warmup_is_not_said_to_disturb_pretrained_weights(tmp_path) -> None:
    # held-out review 114, B 14 (BiTA's llmtuner fork, `finetuning_type pt2`: prompt tokens over a frozen 70B model)
    text = _LORA_SFT.replace("finetuning_type: lora", "finetuning_type: pt2").replace("    warmup_ratio: 0.1\n", "")
    plan = plan_of(write(tmp_path, "pt2.yaml", text))
    assert plan.mode.kind == "partial_finetune"
    [finding] = findings(plan, "PD104")
    assert "pretrained weights" not in finding.message and "noisiest" in finding.message


def _judged(release: str):

    return judged(f"llamafactory={release}")


def test_flash_attn_switch_stops_the_run_from_0_7_and_is_a_warning_when_the_release_is_unknown(tmp_path: Path) -> None:
    path = write(tmp_path, "fa.yaml", _LORA_SFT + "    flash_attn: true\n")
    [unknown] = notes(plan_of(path), "ignored-key")
    assert unknown.data["severity"] == "warning" and "before 0.7.0" in unknown.message
    [judged] = notes(plan_of(path, trainer_versions=_judged("0.9.2")), "ignored-key")
    assert judged.data["severity"] == "error" and "Unknown attention type" in judged.message
    assert not notes(plan_of(path, trainer_versions=_judged("0.6.3")), "ignored-key")  # a switch then
    # a launch's bare `--flash_attn`, the switch as the releases before 0.7.0 wrote it: an info (held-out review 132,
    # B 14: a 0.5.1 fork's launch); a later release's parser refuses it at start-up
    launch = write(tmp_path, "run.sh", "torchrun --nproc_per_node 8 LF_train.py --stage pt --do_train "
                   "--model_name_or_path microsoft/phi-2 --dataset wiki_demo --finetuning_type full --output_dir out "
                   "--learning_rate 1e-5 --flash_attn --cutoff_len 512\n")
    [bare] = notes(plan_of(launch), "ignored-key")
    assert bare.data["severity"] == "info" and "refuses it at start-up" in bare.message


def test_a_template_of_the_named_era_dates_a_flash_attn_switch(tmp_path: Path) -> None:
    # held-out review 48, A 07: `template: qwen2_vl` was first registered in 0.9.0, long after the switch became a name
    path = write(tmp_path, "fa.yaml", _LORA_SFT.replace("template: llama3", "template: qwen2_vl") + "    flash_attn: true\n")
    [dated] = [n for n in notes(plan_of(path), "ignored-key") if n.data.get("key") != "template"]
    assert dated.data["severity"] == "error" and "template `qwen2_vl`" in dated.message


@pytest.mark.parametrize("value, release, severity", [
    ("fa2", None, None), ("sdpa", "0.7.1", None), ("disabled", "0.9.0", None),
    ("off", "0.8.2", None),  # quoted below: the name before 0.8.3
    ("off", "0.9.0", "error"), ("off", None, "info"), ("disabled", "0.8.2", "error"), ("flash", None, "error"),
    # held-out review 116, B 11: `fa3` is a name from 0.9.4 on; `fa4`, which a fork added, no release's: an info
    ("fa3", None, None), ("fa3", "0.9.4", None), ("fa3", "0.9.3", "error"), ("fa4", None, "info"),
    ("fa4", "0.9.5", "error"),
])
def test_flash_attn_names_follow_the_release(tmp_path: Path, value: str, release, severity) -> None:
    path = write(tmp_path, "fa.yaml", _LORA_SFT + f"    flash_attn: '{value}'\n")
    context = {"trainer_versions": _judged(release)} if release else {}
    found = [n.data["severity"] for n in notes(plan_of(path, **context), "ignored-key")]
    assert found == ([severity] if severity else [])


def test_a_forks_model_config_beside_the_yaml_sizes_the_model(tmp_path: Path) -> None:
    # held-out review 116, B 01: `config_name_or_path: /public/.../small_moe.json` (a fork's key, the file copied
    # beside) with `train_from_scratch`: sized as the 671B model `model_name_or_path` names, PD101 then judged 8.6e-4
    (tmp_path / "small.json").write_text('{"model_type": "llama", "hidden_size": 1024, "num_hidden_layers": 12, '
                                         '"num_attention_heads": 16, "intermediate_size": 4096, "vocab_size": 32000}')
    text = _LORA_SFT.replace("finetuning_type: lora", "finetuning_type: full") + \
        "    config_name_or_path: /public/someone/configs/small.json\n"
    from pretrain_doctor.check.engine import load_plan
    from pretrain_doctor.settings import CheckOptions

    _, _, plan = load_plan(write(tmp_path, "pt.yaml", text), CheckOptions(use_settings=False))
    assert plan.model.config_path.endswith("small.json") and (plan.model.layers, plan.model.hidden_size) == (12, 1024)


def test_a_count_given_as_a_mapping_stops_the_run(tmp_path: Path) -> None:
    path = write(tmp_path, "ms.yaml", _LORA_SFT + "    max_samples:\n      alpaca_en_demo: 1000\n")
    [note] = notes(plan_of(path), "ignored-key")
    assert note.data["key"] == "max_samples" and note.data["severity"] == "error" and "mapping" in note.message
    assert not notes(plan_of(write(tmp_path, "ok.yaml", _LORA_SFT + "    max_samples: 1000\n")), "ignored-key")


def test_max_samples_bounds_the_rows_of_an_epoch_based_run(tmp_path: Path) -> None:
    # held-out review 125, B 11/B 12: `--max_samples 100` left in real runs; the loader keeps the first N rows of each
    # dataset, and `val_size` is held out of those
    plan = plan_of(write(tmp_path, "cap.yaml", _LORA_SFT + "    max_samples: 100\n    val_size: 0.1\n"))
    # identity (a bundled demo of 91 rows) and alpaca_en_demo cut to 100, 10% held out
    assert plan.data.max_rows == 100 and plan.run.dataset_rows == 171
    assert plan.sources["run.dataset_rows"].note.startswith("at most: the first 100 rows of each of the 2 datasets")
    [finding] = findings(plan, "PD705")
    assert finding.severity == "warning" and "at most 65 optimizer steps" in finding.message  # 3 × 171 / 8, one GPU
    # the demo sets alone under the examples' cap of 1,000: nothing is cut, nothing said
    demos = plan_of(write(tmp_path, "demo.yaml", _LORA_SFT + "    max_samples: 1000\n"))
    assert demos.data.max_rows is None and not findings(demos, "PD705")
    # pretraining text is cut into blocks, and a saved tokenized dataset is loaded whole: no bound on the rows
    pretrain = plan_of(write(tmp_path, "pt.yaml", _LORA_SFT.replace("stage: sft", "stage: pt") + "    max_samples: 100\n"))
    assert pretrain.data.max_rows == 100 and pretrain.run.dataset_rows is None
    assert "optimizer steps" not in findings(pretrain, "PD705")[0].message
    saved = plan_of(write(tmp_path, "tok.yaml", _LORA_SFT + "    max_samples: 100\n    tokenized_path: cache/tok\n"))
    assert saved.run.dataset_rows is None


def test_a_run_saved_under_a_debug_folder_is_a_test_run(tmp_path: Path) -> None:
    # held-out review 124, B 07: `max_samples: 100` in a run whose output_dir ends in `debug`
    text = _LORA_SFT.replace("saves/llama3-8b/lora/sft", "output/Qwen2.5-VL-7B-Instruct-add-token/debug")
    plan = plan_of(write(tmp_path, "train.yaml", text + "    max_samples: 100\n"))
    assert plan.debug and plan.sources["debug"].note == "the output folder says 'debug': a test run"
    assert plan.sources["debug"].line is not None and not findings(plan, "PD705")
    assert not plan_of(write(tmp_path, "real.yaml", _LORA_SFT.replace("lora/sft", "lora/sft_gsm8k_test"))).debug


def test_max_samples_with_streaming_stops_the_run(tmp_path: Path) -> None:
    # DataArguments.__post_init__: "`max_samples` is incompatible with `streaming`." (0.2.0 to today)
    plan = plan_of(write(tmp_path, "s.yaml", _LORA_SFT + "    max_samples: 100\n    streaming: true\n"))
    [note] = notes(plan, "mutually-exclusive")
    assert note.data["keys"] == ["max_samples", "streaming"] and "refuses to start" in note.message
    assert plan.data.max_rows is None and findings(plan, "PD003")


def test_a_deepspeed_launch_counts_its_processes(tmp_path: Path) -> None:
    # Held-out review 37, A 23: `deepspeed --num_gpus 8 ./LLaMA-Factory/src/train_bash.py --stage sft ...`
    script = write(tmp_path, "lora.sh", "deepspeed --num_gpus 8 src/train_bash.py --stage sft --do_train "
                                        "--finetuning_type lora --template qwen --per_device_train_batch_size 8 "
                                        "--gradient_accumulation_steps 2 --learning_rate 5e-5\n")
    plan = plan_of(script)
    assert plan.dialect == "llamafactory" and plan.parallel.world_size == 8 and plan.derived.global_batch.value == 128


def test_a_folder_checks_the_yaml_through_the_script_that_launches_it(tmp_path: Path) -> None:
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    write(tmp_path, "sft.yaml", _LORA_SFT)
    write(tmp_path, "train.sh", "llamafactory-cli train sft.yaml learning_rate=5e-5\n")
    report = check_paths([tmp_path], CheckOptions(use_settings=False))
    assert {f.path.rsplit("/", 1)[-1]: f.role for f in report.files} == {"train.sh": "config", "sft.yaml": "companion"}
    assert plan_of(tmp_path / "train.sh").program.config == str(tmp_path / "sft.yaml")


def test_a_job_wrappers_llamafactory_section_is_read_as_the_config(tmp_path: Path) -> None:
    # Held-out review 38, A 23 (`backend: llamafactory`, container and Slurm sections, the LLaMA-Factory config under
    # `llamafactory:` "dumped as-is for llamafactory-cli"): refused as no training config
    import textwrap

    nested = textwrap.indent(textwrap.dedent(_LORA_SFT).strip(), "  ")
    path = write(tmp_path, "long-context.yaml", f"backend: llamafactory\nslurm:\n  num_nodes: 2\nllamafactory:\n{nested}\n")
    assert detected(path) == "llamafactory"
    plan = plan_of(path)
    assert plan.mode.kind == "lora" and plan.optimizer.lr == 1e-4 and plan.batch.seq_len == 1024
    assert plan.sources["optimizer.lr"].line == 17  # its line in the wrapper (the 13th of the section, after 4)


def test_a_forks_own_finetuning_type_on_the_old_entry_point_is_still_llamafactory(tmp_path: Path) -> None:
    # Held-out review 38, A 22 (MoE-LPR: `deepspeed src/train_bash.py --stage pt --finetuning_type moe ...`): read as
    # plain HF, its cutoff_len, stage and finetuning_type unread
    script = write(tmp_path, "stage1.sh", "deepspeed --num_gpus 4 src/train_bash.py --stage pt --finetuning_type moe "
                                          "--model_name_or_path Qwen/Qwen1.5-1.8B --do_train --cutoff_len 1024 "
                                          "--per_device_train_batch_size 16 --learning_rate 5e-5\n")
    assert detected(script) == "llamafactory"
    plan = plan_of(script)
    assert plan.mode.kind == "partial_finetune" and "`finetuning_type: moe`" in plan.mode.trains_only
    assert plan.batch.seq_len == 1024 and plan.parallel.world_size == 4


def test_a_flash_attn_switch_on_the_train_bash_entry_point_is_no_finding(tmp_path: Path) -> None:
    # Held-out review 39, A 23 (a March 2024 course script: `src/train_bash.py ... --flash_attn`): train_bash.py dates the
    # run to LLaMA-Factory 0.7.0 or before, when flash_attn was a switch (a name only in 0.7.0 itself)
    old = write(tmp_path, "run.sh", "deepspeed --num_gpus 8 src/train_bash.py --stage sft --do_train --finetuning_type lora "
                                    "--template qwen --flash_attn --learning_rate 5e-5\n")
    assert not [n for n in notes(plan_of(old), "ignored-key") if n.data.get("key") == "flash_attn"]
    # held-out review 103, B 12: `--flash_attn $flash_attn` with `flash_attn=0`: string_to_bool's False
    zero = write(tmp_path, "zero.sh", 'flash_attn=0\ndeepspeed src/train_bash.py --stage sft --do_train '
                                      '--finetuning_type lora --template qwen --flash_attn $flash_attn\n')
    assert not [n for n in notes(plan_of(zero), "ignored-key") if n.data.get("key") == "flash_attn"]
    new = write(tmp_path, "new.sh", "llamafactory-cli train --stage sft --do_train --finetuning_type lora "
                                    "--template qwen --flash_attn --learning_rate 5e-5\n")
    flagged = [n for n in notes(plan_of(new, trainer_versions=_judged("0.9.2")), "ignored-key")
               if n.data.get("key") == "flash_attn"]
    assert flagged and "argument parser refuses it" in flagged[0].message


def test_an_unknown_template_is_an_error_only_against_the_checkout_at_hand(tmp_path: Path) -> None:
    # Held-out reviews 39, A 23 and 48, A 08 (`--template qwen2`: "Template qwen2 does not exist."); forks register
    # their own (SkyThought's `qwen25`, A 05-07), so without the checkout it is an info
    config = _LORA_SFT.replace("template: llama3", "template: qwen2")
    alone = write(tmp_path / "alone", "sft.yaml", config)
    [info] = [n for n in notes(plan_of(alone), "ignored-key") if n.data.get("key") == "template"]
    assert info.data["severity"] == "info" and "only a fork that registers it" in info.message
    write(tmp_path / "repo", "src/llamafactory/data/template.py", 'register_template(\n    name="qwen",\n)\n')
    upstream = write(tmp_path / "repo", "examples/sft.yaml", config)
    [note] = [n for n in notes(plan_of(upstream), "ignored-key") if n.data.get("key") == "template"]
    assert note.data["severity"] == "error" and note.hint == "`template: qwen`"
    write(tmp_path / "fork", "src/llamafactory/data/template.py", 'register_template(\n    name="qwen2",\n)\n')
    assert not [n for n in notes(plan_of(write(tmp_path / "fork", "examples/sft.yaml", config)), "ignored-key")
                if n.data.get("key") == "template"]
    # a dataset format taken for a template (held-out review 74, A 04: `template: sharegpt`): no fork registers it
    shared = write(tmp_path / "fmt", "sft.yaml", _LORA_SFT.replace("template: llama3", "template: sharegpt"))
    [format_note] = [n for n in notes(plan_of(shared), "ignored-key") if n.data.get("key") == "template"]
    assert format_note.data["severity"] == "warning" and "dataset format" in format_note.message


def test_a_flag_after_the_yaml_stops_the_launch(tmp_path: Path) -> None:
    # held-out review 76, A 01: `llamafactory-cli train sft.yaml --dataset-dir=../data` was "did you mean
    # `dataset_dir`?"; read_args keeps `--dataset-dir` as an OmegaConf key (0.9.3+), which parse_dict refuses
    write(tmp_path, "sft.yaml", _LORA_SFT)
    plan = plan_of(write(tmp_path, "run.sh", "llamafactory-cli train sft.yaml --dataset-dir=../data\n"))
    [stop] = [n for n in notes(plan, "ignored-key") if "--dataset-dir" in n.message]
    assert stop.data["severity"] == "error" and "`dataset_dir=...`" in stop.hint
    assert not [n for n in notes(plan, "ignored-key") if "did you mean" in n.message]
    fine = plan_of(write(tmp_path, "ok.sh", "llamafactory-cli train sft.yaml dataset_dir=../data\n"))
    assert not [n for n in notes(fine, "ignored-key") if "dataset" in n.message]
    dropped = plan_of(write(tmp_path, "extra.sh", "export ALLOW_EXTRA_ARGS=1\nllamafactory-cli train sft.yaml --report_to wandb\n"))
    assert [n.data["severity"] for n in notes(dropped, "ignored-key") if "--report_to" in n.message] == ["warning"]


def test_an_eval_dataset_left_to_launch_time_is_given(tmp_path: Path) -> None:
    # held-out review 51, A 17: `--do_eval True --eval_dataset "cleaned_grade${GRADE}_validation"` read as no eval data
    script = write(tmp_path, "grade.sh", """
        llamafactory-cli train \\
          --stage sft --do_train True --model_name_or_path meta-llama/Llama-3.2-3B --finetuning_type lora \\
          --template llama3 --dataset "grade${GRADE}_train" --output_dir out --learning_rate 1.0e-5 \\
          --do_eval True --eval_dataset "grade${GRADE}_validation" --eval_strategy epoch
        """)
    assert not [n for n in notes(plan_of(script), "mutually-exclusive") if "asks for evaluation" in n.message]


def test_a_blank_eval_dataset_is_one_the_launch_fills(tmp_path: Path) -> None:
    # held-out review 118, B 15: `dataset: ""` and `eval_dataset: ""  # set ... when --dataset is provided`, with
    # `eval_strategy: steps`: a template of a file, not an evaluation without data
    blank = _LORA_SFT.replace("dataset: identity,alpaca_en_demo", 'dataset: ""') + \
        '    eval_dataset: ""\n    eval_strategy: steps\n    eval_steps: 3\n'
    assert not [n for n in notes(plan_of(write(tmp_path, "blank.yaml", blank)), "mutually-exclusive")
                if "asks for evaluation" in n.message]
    unset = _LORA_SFT + "    eval_strategy: steps\n    eval_steps: 3\n"
    assert [n for n in notes(plan_of(write(tmp_path, "unset.yaml", unset)), "mutually-exclusive")
            if "asks for evaluation" in n.message]


def test_a_template_launch_with_a_quoted_placeholder_dir(tmp_path: Path) -> None:
    # DICE's pipeline.sh (held-out review 65, A 22): `DICE_DIR="<provide the absolute path to dice dir>"`, one word
    # wherever it is used; `--num_processes 8` over the accelerate YAML's 4; the DeepSpeed JSON found by its name
    write(tmp_path, "single_config.yaml", "compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_GPU\n"
                                          "mixed_precision: bf16\nnum_machines: 1\nnum_processes: 4\n")
    write(tmp_path, "ds_z3_config.json", '{"train_micro_batch_size_per_gpu": "auto", "zero_optimization": {"stage": 3}}')
    plan = plan_of(write(tmp_path, "pipeline.sh", """
        DICE_DIR="<provide the absolute path to dice dir>"
        LF_DIR=$DICE_DIR/llama-factory
        accelerate launch --config_file $LF_DIR/examples/accelerate/single_config.yaml --num_processes 8 \\
            $LF_DIR/src/train_bash.py --stage dpo --do_train --model_name_or_path meta-llama/Meta-Llama-3-8B-Instruct \\
            --finetuning_type full --template llama3 --per_device_train_batch_size 1 --gradient_accumulation_steps 4 \\
            --learning_rate 5e-7 --max_steps 300 --bf16 --deepspeed $LF_DIR/examples/deepspeed/ds_z3_config.json
    """))
    assert plan.parallel.world_size == 8 and plan.sources["parallel.world_size"].key == "launcher.num_processes"
    assert plan.parallel.zero_stage == 3


def test_an_old_launch_without_stage_or_finetuning_type_takes_llamafactorys_defaults(tmp_path: Path) -> None:
    # a 0.6.3 script (held-out review 66, A 08): `src/train_bash.py` with LLaMA-Factory's own flags, no `--stage`
    # (sft) and no `--finetuning_type` (lora), 4-bit: QLoRA, once read as a plain HF full fine-tune
    script = write(tmp_path, "seb.sh", """
        python src/train_bash.py --bf16 --dataset skyguide --do_train --template openchat \\
            --lora_target q_proj,v_proj --model_name_or_path beowolx/CodeNinja-1.0-OpenChat-7B \\
            --num_train_epochs 10 --output_dir out --quantization_bit 4
    """)
    assert detected(script) == "llamafactory"
    plan = plan_of(script)
    assert plan.mode.kind == "qlora" and plan.mode.lora_targets == ["q_proj", "v_proj"]
    # a generic `src/train.py` with one such flag stays an HF program
    assert detected(write(tmp_path, "other.sh", "python src/train.py --template x --model_name_or_path gpt2 "
                                                "--output_dir out --do_train\n")) != "llamafactory"


def test_a_quantization_method_llamafactory_does_not_know_leaves_the_model_whole(tmp_path: Path) -> None:
    # held-out review 66, A 17: `quantization_method: bitsandbytes` (LLaMA-Factory's is `bnb`): no quantization
    # ... from 0.9.3, whose QuantizationMethod spells it `bnb`; before, `bitsandbytes` was the name
    qlora = _LORA_SFT + "    quantization_bit: 4\n"
    assert plan_of(write(tmp_path, "a.yaml", qlora)).mode.kind == "qlora"
    named = write(tmp_path, "b.yaml", qlora + "    quantization_method: bitsandbytes\n")
    plan = plan_of(named, trainer_versions=judged("llamafactory=0.9.4"))
    [note] = notes(plan, "ignored-key")
    assert plan.mode.kind == "lora" and note.data["severity"] == "warning" and "loads unquantized" in note.message
    assert plan_of(named, trainer_versions=judged("llamafactory=0.9.2")).mode.kind == "qlora"
    unknown = plan_of(named)  # the release unknown: the old name, said at info
    assert unknown.mode.kind == "qlora" and [n.data["severity"] for n in notes(unknown, "ignored-key")] == ["info"]
    bnb_on_old = plan_of(write(tmp_path, "c.yaml", qlora + "    quantization_method: bnb\n"),
                         trainer_versions=judged("llamafactory=0.9.2"))
    assert bnb_on_old.mode.kind == "lora"
    assert plan_of(write(tmp_path, "d.yaml", qlora + "    quantization_method: hqq\n")).mode.kind == "qlora"
    # on the command line 0.9.3+ refuses the old name (argparse choices; held-out review 121, B 25 said "loads whole")
    launch = write(tmp_path, "train.sh", "llamafactory-cli train --stage sft --do_train --model_name_or_path m "
                   "--finetuning_type lora --quantization_bit 4 --quantization_method bitsandbytes --template qwen "
                   "--dataset d --output_dir out\n")
    [refused] = [n for n in notes(plan_of(launch, trainer_versions=judged("llamafactory=0.9.4")), "ignored-key")
                 if n.data["key"] == "quantization_method"]
    assert refused.data["severity"] == "error" and "invalid choice" in refused.message
    [said] = [n for n in notes(plan_of(launch), "ignored-key") if n.data["key"] == "quantization_method"]
    assert said.data["severity"] == "info" and "right for those releases" in said.message


def test_packing_packs_nothing_in_a_pairwise_stage(tmp_path: Path) -> None:
    # held-out review 69, A 15: `packing: true` in a DPO run; LLaMA-Factory packs only pt and sft data, so no packed
    # examples attend to each other (no PD510)
    text = _LORA_SFT.replace("stage: sft", "stage: dpo") + "    pref_beta: 0.1\n    packing: true\n"
    plan = plan_of(write(tmp_path, "dpo.yaml", text))
    assert plan.data.packing is False and not findings(plan, "PD510")
    assert [n.data["severity"] for n in notes(plan, "ignored-key") if n.data["key"] == "packing"] == ["info"]
    sft = plan_of(write(tmp_path, "sft.yaml", _LORA_SFT + "    packing: true\n"))
    assert sft.data.packing is True and findings(sft, "PD510")


def test_sequence_parallelism_of_the_360_fork_is_context_parallelism(tmp_path: Path) -> None:
    # held-out review 70, A 06: 360-LLaMA-Factory's `--sequence_parallel_size 8` on 8 GPUs splits each sequence over
    # all of them: one replica, 1 sequence a step, not 8
    plan = plan_of(write(tmp_path, "sp.yaml", _LORA_SFT + "    sequence_parallel_size: 8\n"), world_size=8)
    assert plan.parallel.context == 8 and plan.derived.data_parallel.value == 1


@pytest.mark.parametrize("model, template, fires", [
    ("Qwen/Qwen2.5-1.5B-Instruct", "qwen2_vl", "error"),
    ("Qwen/Qwen1.5-0.5B", "qwen2_vl", "error"),
    ("/models/qwen2.5-1.5b-instruct", "qwen2_vl", "warning"),
    ("Qwen/Qwen2-VL-7B-Instruct", "qwen2_vl", None),
    ("/data/ckpt/qwen2_5_omni_sft", "qwen2_vl", None),
    ("Qwen/Qwen2.5-1.5B-Instruct", "qwen", None),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "qwen2_vl", None),
])
def test_a_qwen_vision_template_on_a_text_only_qwen_model_stops_preprocessing(tmp_path, model, template, fires):
    # held-out review 78, A 10: `template: qwen2_vl` for Qwen2.5-1.5B: no processor, and the Qwen2VL plugin reads its
    # image processor for every example (AttributeError); only a name that is Qwen's and says nothing of vision; an
    # error where the Hub's own `Qwen/` name says so (review 109, B 14: Qwen/Qwen1.5-0.5B), a warning for a folder
    text = _LORA_SFT.replace("meta-llama/Meta-Llama-3-8B-Instruct", model).replace("template: llama3",
                                                                                  f"template: {template}")
    found = [n for n in notes(plan_of(write(tmp_path, "sft.yaml", text)), "ignored-key") if "vision-language" in n.message]
    assert [n.data["severity"] for n in found] == ([fires] if fires else [])
    # `stage: pt` tokenizes raw text: no template's plugin runs (held-out review 105, B 13)
    pretraining = plan_of(write(tmp_path, "pt.yaml", text.replace("stage: sft", "stage: pt")))
    assert not [n for n in notes(pretraining, "ignored-key") if "vision-language" in n.message]


def test_an_export_config_and_the_script_that_launches_it_are_named_for_what_they_are(tmp_path) -> None:
    # held-out review 78, A 10: train.sh, whose `llamafactory-cli train qwen2.5_lora_sft.yaml` names (by its name
    # beside) a merge config, was itself called "LLaMA-Factory export/merge config"
    from pretrain_doctor.config.loader import load_document
    from pretrain_doctor.dialects.llamafactory import DIALECT

    export = write(tmp_path, "qwen2.5_lora_sft.yaml", "model_name_or_path: Qwen/Qwen2.5-1.5B-Instruct\n"
                                                        "adapter_name_or_path: saves/lora\ntemplate: qwen\n"
                                                        "finetuning_type: lora\nexport_dir: models/merged\n")
    script = write(tmp_path, "train.sh", "llamafactory-cli train examples/train_lora/qwen2.5_lora_sft.yaml\n")
    assert DIALECT.companion_reason(load_document(export)).startswith("LLaMA-Factory export/merge config")
    assert DIALECT.companion_reason(load_document(script)).startswith(
        "a launch script whose qwen2.5_lora_sft.yaml is a LLaMA-Factory export/merge config")


def test_a_misspelt_key_stops_upstream_llamafactory_at_start(tmp_path) -> None:
    # held-out review 79, A 01: `per_device_trxain_batch_size`: HfArgumentParser.parse_dict refuses keys its
    # dataclasses lack ("Some keys are not used by the HfArgumentParser"), an error; a file with keys of its own
    # besides (a fork's) or a launch with ALLOW_EXTRA_ARGS keeps the warning
    slip = _LORA_SFT.replace("per_device_train_batch_size", "per_device_trxain_batch_size")
    [finding] = [f for f in findings(plan_of(write(tmp_path, "a.yaml", slip)), "PD002") if "did you mean" in f.message]
    assert finding.severity == "error" and "Some keys are not used by the HfArgumentParser" in finding.message
    fork = slip + "    my_fork_reward_scale: 2.0\n"
    [finding] = [f for f in findings(plan_of(write(tmp_path, "b.yaml", fork)), "PD002") if "did you mean" in f.message]
    assert finding.severity == "warning"


@pytest.mark.parametrize("model, template, severity", [
    ("Qwen/Qwen2.5-14B-Instruct-AWQ", "llama3", "warning"),
    ("/models/qwen/Qwen3-0.6B", "llama3", "warning"),
    # held-out reviews 101 B 01 and 100 B 15: the template's stop token is new to a tokenizer whose embedding table
    # has no spare row (Llama 2/3, resize_vocab off): the first forward pass indexes past it
    ("meta-llama/Meta-Llama-3-8B-Instruct", "qwen", "error"),
    ("/models/meta-llama/Llama-2-70b-hf", "llama3", "error"),
    ("google/gemma-2-9b-it", "llama3", "error"),  # held-out review 104, B 07: 256,000 tokens in 256,000 rows
    ("meta-llama/Meta-Llama-3-8B-Instruct", "llama3", None),  # its own template, its own <|eot_id|>
    ("Qwen/Qwen3-8B", "qwen", None),  # the family's older template: no finding here
    # two families named, R1's chat format on a Qwen base: DeepSeek's (held-out review 124, B 17; was not judged)
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "llama3", "warning"),
    ("/data/ckpt/my-sft-model", "llama3", None),
    ("Qwen/Qwen2.5-7B", "default", None),
    # a local copy named for an R1 distillation: R1's chat format may be its own (held-out review 127, B 11)
    ("/root/autodl-tmp/LLaMA-Factory/r1-qwen7b", "deepseek3", None),
    ("/models/qwen2.5-7b-distill", "llama3", None),
])
def test_a_template_of_another_model_family(tmp_path, model, template, severity) -> None:
    # held-out reviews 79 A 04, 82 A 16/A 17, 83 A 09: `template: llama3` on Qwen models
    text = _LORA_SFT.replace("meta-llama/Meta-Llama-3-8B-Instruct", model).replace("template: llama3",
                                                                                  f"template: {template}")
    found = [n for n in notes(plan_of(write(tmp_path, "sft.yaml", text)), "ignored-key") if n.data.get("key") == "template"]
    assert [n.data["severity"] for n in found] == ([severity] if severity else [])
    if severity == "error":  # with the table resized, the new row exists: the format is what remains
        resized = plan_of(write(tmp_path, "resized.yaml", text + "    resize_vocab: true\n"))
        assert [n.data["severity"] for n in notes(resized, "ignored-key") if n.data.get("key") == "template"] == (
            [] if "llama-2" in model.lower() else ["warning"])


def test_a_preference_beta_in_an_sft_stage_is_a_forks_own_knob(tmp_path) -> None:
    # held-out review 100, B 18: `alpha: 1.0`, `beta: 10.0` of a patched SFT loss: "not a key, LLaMA-Factory reads
    # `pref_beta`" was a warning, and its fix would have dropped the fork's setting for one SFT never reads
    [note] = [n for n in notes(plan_of(write(tmp_path, "sft.yaml", _LORA_SFT + "    beta: 10.0\n")), "ignored-key")
              if n.data.get("key") == "beta"]
    assert note.data["severity"] == "info" and "reads no `pref_beta` either" in note.message
    assert "suggestion" not in note.data
    # in a preference stage it is the slip it looks like
    dpo = _LORA_SFT.replace("stage: sft", "stage: dpo") + "    beta: 0.1\n"
    [slip] = [n for n in notes(plan_of(write(tmp_path, "dpo.yaml", dpo)), "ignored-key") if n.data.get("key") == "beta"]
    assert slip.data.get("severity") is None and slip.data["suggestion"] == "pref_beta"


def test_a_warmup_steps_below_one_is_read_by_the_release(tmp_path) -> None:
    # held-out review 110, B 11/B 12/B 14/B 16: `warmup_steps: 0.1` read as a 10% ratio; LLaMA-Factory 0.9.4 and before
    # run transformers 4.x, which count it in steps (no warmup); 0.9.5 allows transformers 5, where it is a share
    path = write(tmp_path, "sft.yaml", _LORA_SFT + "    warmup_steps: 0.1\n")
    unknown = plan_of(path, trainer_versions=judged())
    assert "schedule.warmup_steps" in unknown.unknown and unknown.schedule.warmup_ratio is None
    old = plan_of(path, trainer_versions=judged("llamafactory=0.9.3"))
    assert old.schedule.warmup_steps == 0
    new = plan_of(path, trainer_versions=judged("llamafactory=0.9.5"))
    assert new.schedule.warmup_ratio == pytest.approx(0.1)


def test_an_eval_dataset_beside_a_val_size_stops_the_run(tmp_path: Path) -> None:
    # held-out review 111, B 05: `eval_dataset: aime` with `val_size: 0.1`; DataArguments.__post_init__ raises "Cannot
    # specify `val_size` if `eval_dataset` is not None." (0.8.3 to today); the check said "No problems found"
    base = _LORA_SFT + "    eval_dataset: alpaca_en_demo\n    eval_strategy: steps\n"
    [stop] = findings(plan_of(write(tmp_path, "both.yaml", base + "    val_size: 0.1\n")), "PD003")
    assert stop.severity == "error" and "Cannot specify `val_size`" in stop.message
    assert not findings(plan_of(write(tmp_path, "eval_only.yaml", base + "    val_size: 0\n")), "PD003")
    forked = plan_of(write(tmp_path, "fork.yaml", base + "    val_size: 0.1\n    my_fork_ratio: 3\n"))
    [soft] = findings(forked, "PD003")
    assert soft.severity == "info" and "`my_fork_ratio`" in soft.message


@pytest.mark.parametrize("model, template, fires", [
    ("Qwen/Qwen3-4B-Instruct-2507", "qwen3", True),
    ("/models/Qwen3-30B-A3B-Instruct-2507", "qwen3", True),
    ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3", True),
    ("Qwen/Qwen3-VL-8B-Instruct", "qwen3_vl", True),
    ("Qwen/Qwen3-4B-Instruct-2507", "qwen3_nothink", False),  # the twin LLaMA-Factory pairs it with
    ("Qwen/Qwen3-8B", "qwen3", False),  # a hybrid model that thinks by default
    ("Qwen/Qwen3-4B-Thinking-2507", "qwen3", False),
    ("Qwen/Qwen3-VL-8B-Thinking", "qwen3_vl", False),
    ("Qwen/Qwen3-VL-8B-Instruct", "qwen3", False),  # another mismatch: not this note's
])
def test_a_reasoning_template_on_a_qwen3_model_that_never_thinks(tmp_path, model, template, fires) -> None:
    # LlamaFactory#8832 and #9392: `template: qwen3` on Qwen3-*-Instruct-2507 trains an empty <think> block before
    # every answer (ReasoningTemplate.encode_oneturn, in the loss with enable_thinking on)
    text = _LORA_SFT.replace("meta-llama/Meta-Llama-3-8B-Instruct", model).replace("template: llama3",
                                                                                  f"template: {template}")

    def thinking_notes(yaml: str, name: str) -> list:
        return [n for n in notes(plan_of(write(tmp_path, name, yaml)), "ignored-key")
                if n.data.get("key") == "template" and "reasoning template" in n.message]

    found = thinking_notes(text, "sft.yaml")
    assert [n.data["severity"] for n in found] == (["info"] if fires else [])
    if fires:
        assert "_nothink" in found[0].hint
        assert thinking_notes(text + "    enable_thinking: false\n", "off.yaml") == []  # out of the loss
        assert thinking_notes(text.replace("stage: sft", "stage: pt"), "pt.yaml") == []  # raw text, no template


def test_a_command_lines_unique_prefix_is_the_argument_it_begins(tmp_path: Path) -> None:
    # Held-out review 123, B 09 (Sailor-1.8B notebook launch): `--lora_r 16` is argparse's unique prefix of
    # `--lora_rank`; it was "refused" (a warning) and the rank read as the default 8.
    launch = write(tmp_path, "run.sh", "accelerate launch src/train.py --stage sft --do_train --model_name_or_path m "
                   "--finetuning_type lora --lora_r 16 --template qwen --dataset d --output_dir out\n")
    plan = plan_of(launch)
    assert plan.mode.lora_rank == 16 and not [n for n in notes(plan, "ignored-key") if n.data.get("key") == "lora_r"]


def test_an_abbreviation_beside_its_option_and_hfargumentparsers_negation_are_read(tmp_path: Path) -> None:
    # held-out review 132, B 08 (a LLaMA-Factory 0.5.1 PPO launch): `--logging_steps 2 ... --logging_step 2` and
    # `--no_ignore_pad_token_for_loss` (HfArgumentParser's `--no_` flag of a bool defaulting to True) were both
    # "not a key this trainer reads"
    launch = ("deepspeed src/train_bash.py --stage sft --do_train --model_name_or_path m --template default "
              "--dataset d --output_dir out --logging_steps 2 --no_ignore_pad_token_for_loss FIRST \\\n  SECOND\n")
    both = plan_of(write(tmp_path / "a", "run.sh", launch.replace("FIRST", "--learning_rate 1e-5").replace(
        "SECOND", "--logging_step 2 --learning_rat 3e-5")))
    assert not notes(both, "ignored-key") and both.optimizer.lr == 3e-5  # argparse keeps the later one
    earlier = plan_of(write(tmp_path / "b", "run.sh", launch.replace("FIRST", "--learning_rat 3e-5").replace(
        "SECOND", "--learning_rate 1e-5")))
    assert not notes(earlier, "ignored-key") and earlier.optimizer.lr == 1e-5


def test_an_argument_later_than_train_bash_py_stops_its_launch(tmp_path: Path) -> None:
    # held-out review 124, B 01: `--model_max_length 100` (an argument from 0.9.0) on a `src/train_bash.py` launch,
    # which only releases up to 0.7.0 have: their HfArgumentParser refuses it; judged against every release, it passed.
    # Review 125, B 11/B 13/B 14: vendored checkouts backport arguments (`pref_loss`, `video_fps`): the checkout decides
    launch = ("deepspeed --num_gpus 4 src/train_bash.py --deepspeed ds.json --stage sft --do_train "
              "--model_name_or_path yi --dataset d --template yi --finetuning_type lora --output_dir out \\\n"
              "  --model_max_length 100 --learning_rate 5e-5\n")
    [later] = notes(plan_of(write(tmp_path / "alone", "run.sh", launch)), "ignored-key")
    assert later.data["severity"] == "info" and "0.9.0 and later read it" in later.message and later.source.line == 2
    hparams = tmp_path / "repo" / "src" / "llmtuner" / "hparams"
    write(hparams, "model_args.py", "class ModelArguments:\n    model_name_or_path: str = None\n")
    [later] = notes(plan_of(write(tmp_path / "repo" / "scripts", "run.sh", launch)), "ignored-key")
    assert later.data["severity"] == "error" and "do not define it either" in later.message
    write(hparams, "data_args.py", "class DataArguments:\n    model_max_length: int = 1024\n")
    assert notes(plan_of(tmp_path / "repo" / "scripts" / "run.sh"), "ignored-key") == []
    # the same argument on `src/train.py` (0.7.1 on) is read; beside a fork's own argument, nothing
    assert notes(plan_of(write(tmp_path, "new.sh", launch.replace("train_bash.py", "train.py"))), "ignored-key") == []
    fork = plan_of(write(tmp_path / "alone", "fork.sh", launch.replace("--learning_rate", "--my_own_knob 3 --learning_rate")))
    assert "model_max_length" not in {n.data["key"] for n in notes(fork, "ignored-key")}


def test_a_v1_launch_through_exec_takes_its_world_size_from_nproc_per_node(tmp_path: Path) -> None:
    # held-out review 124, B 14: `export USE_V1=1 NPROC_PER_NODE=16` then `exec .../llamafactory-cli sft FILE`: skipped
    # as no training config, and `exec` read as the launcher; llamafactory-cli starts torchrun with NPROC_PER_NODE
    write(tmp_path, "v1.yaml", _V1_LORA)
    launch = write(tmp_path, "run.sh", "export USE_V1=1\nexport NPROC_PER_NODE=16\nexport FORCE_TORCHRUN=1\n"
                   "exec /envs/x/bin/llamafactory-cli sft v1.yaml\n")
    assert detected(launch) == "llamafactory"
    plan = plan_of(launch)
    assert plan.parallel.world_size == 16 and plan.sources["parallel.world_size"].line == 2
    assert plan.mode.lora_rank == 16


def test_no_finetuning_type_under_a_full_runs_output_trains_lora(tmp_path: Path) -> None:
    # held-out review 124, B 23: `stage: pt` of Qwen2-7B with `output_dir: saves/.../full/pretrain` and no
    # `finetuning_type`: LLaMA-Factory's default LoRA (rank 8) trains, not the model the paths name
    text = ("model_name_or_path: Qwen/Qwen2-7B\nstage: pt\ndo_train: true\ndataset: wiki\ncutoff_len: 4096\n"
            "output_dir: saves/qwen2-7b/full/pretrain\nlearning_rate: 1.0e-4\n")
    [meant] = [n for n in notes(plan_of(write(tmp_path, "pt.yaml", text)), "ignored-key")
               if n.data.get("key") == "finetuning_type"]
    assert meant.data["severity"] == "warning" and meant.source.line == 6 and "LoRA" in meant.message
    # stated, or a LoRA output: nothing to say
    assert not notes(plan_of(write(tmp_path, "full.yaml", text + "finetuning_type: full\n")), "ignored-key")
    lora = text.replace("/full/", "/lora/")
    assert not notes(plan_of(write(tmp_path, "lora.yaml", lora)), "ignored-key")
    # `fullset` is no such word
    assert not notes(plan_of(write(tmp_path, "set.yaml", text.replace("/full/", "/fullset/"))), "ignored-key")


def test_an_r1_distill_model_is_deepseeks_chat_format_whatever_its_base(tmp_path: Path) -> None:
    # held-out review 124, B 17/B 18: `template: qwen` on DeepSeek-R1-Distill-Qwen-32B (R1's `<｜User｜>` format, a
    # Qwen base): the name carries two families, and nothing was said
    text = _LORA_SFT.replace("meta-llama/Meta-Llama-3-8B-Instruct", "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B")
    [other] = [n for n in notes(plan_of(write(tmp_path, "r1.yaml", text.replace("template: llama3", "template: qwen"))),
                                "ignored-key") if n.data.get("key") == "template"]
    assert other.data["severity"] == "warning" and "`deepseekr1`" in other.hint
    fitting = text.replace("template: llama3", "template: deepseekr1")
    assert not [n for n in notes(plan_of(write(tmp_path, "ok.yaml", fitting)), "ignored-key") if n.data.get("key") == "template"]


def test_a_slip_beside_a_forks_own_template_is_the_forks_argument(tmp_path: Path) -> None:
    # held-out review 125, B 12 (EPO-GEC's vendored LLaMA-Factory 0.6.1): `--val_dataset` with `--template cgec`, a
    # template no release registers: the fork's data/loader.py reads its `val_dataset`; "did you mean `eval_dataset`?"
    # was an error
    launch = ("accelerate launch src/train_bash.py --stage sft --do_train --model_name_or_path Qwen/Qwen2-7B "
              "--dataset d --val_dataset v --template {template} --finetuning_type lora --output_dir o\n")
    [fork] = notes(plan_of(write(tmp_path, "fork.sh", launch.format(template="cgec"))), "ignored-key")
    assert fork.data["severity"] == "info" and "`template: cgec`" in fork.message and "suggestion" not in fork.data
    [stock] = notes(plan_of(write(tmp_path, "stock.sh", launch.format(template="qwen"))), "ignored-key")
    assert stock.data["severity"] == "error" and stock.data["suggestion"] == "eval_dataset"


def test_pure_bf16_over_a_quantized_base_keeps_the_adapters_fp32(tmp_path: Path) -> None:
    # held-out review 125, B 02/B 03: `pure_bf16` with `quantization_bit: 4`: PEFT creates the adapters in fp32 and casts
    # them to the base's dtype only where it is a float; pure_bf16 only skips the upcast: no "pure bf16" warning
    qlora = _LORA_SFT + "    quantization_bit: 4\n    pure_bf16: true\n"
    plan = plan_of(write(tmp_path, "q.yaml", qlora))
    assert (plan.mode.kind, plan.precision.params, plan.precision.compute) == ("qlora", "fp32", "bf16")
    assert not findings(plan, "PD302")
    # over a bf16 base the adapters are cast to bf16: pure bf16 it is
    plan = plan_of(write(tmp_path, "l.yaml", _LORA_SFT + "    pure_bf16: true\n"))
    assert plan.precision.params == "bf16"


def test_pure_bf16_under_badam_updates_fp32_copies(tmp_path: Path) -> None:
    # held-out review 126, B 16: `use_badam: true` with `pure_bf16`: BAdam's BlockOptimizer updates fp32 copies of the
    # active block (LLaMA-Factory's own BAdam example sets pure_bf16): no "pure bf16, no master copy" warning
    text = _LORA_SFT.replace("finetuning_type: lora", "finetuning_type: full") + "    use_badam: true\n    pure_bf16: true\n"
    plan = plan_of(write(tmp_path, "badam.yaml", text))
    assert plan.precision.params == "fp32" and not findings(plan, "PD302")


@pytest.mark.parametrize("model, extra, fires", [
    ("unsloth/llama-3-8b-bnb-4bit", "", True),  # held-out review 127, B 14
    ("meta-llama/Meta-Llama-3-70B", "", True),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "", False),  # the chat tokens were trained
    ("meta-llama/Llama-3.1-8B", "", False),
    ("meta-llama/Meta-Llama-3-8B", "    additional_target: embed_tokens,lm_head\n", False),
    ("meta-llama/Meta-Llama-3-8B", "    finetuning_type: full\n", False),
])
def test_the_llama3_template_on_a_base_llama3_under_lora(tmp_path, model, extra, fires) -> None:
    text = _LORA_SFT.replace("meta-llama/Meta-Llama-3-8B-Instruct", model)
    if "finetuning_type: full" in extra:
        text, extra = text.replace("finetuning_type: lora", "finetuning_type: full"), ""
    found = findings(plan_of(write(tmp_path, "sft.yaml", text + extra)), "PD506")
    assert [f.severity for f in found] == (["warning"] if fires else [])
