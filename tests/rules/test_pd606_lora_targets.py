"""PD606: LoRA target lists read from each trainer's spelling, and the architecture told from config.json or a hub id."""

from __future__ import annotations

import pytest

from pretrain_doctor.builtin_rules.pd606_lora_targets_not_in_model import _MODULES
from pretrain_doctor.dialects.shared import lora_target_list
from pretrain_doctor.plan.architecture import architecture
from pretrain_doctor.plan.model import TrainingPlan

from ..dialects.helpers import findings, plan_of, write

AXOLOTL = """
base_model: microsoft/Phi-3.5-mini-instruct
adapter: lora
lora_r: 16
lora_alpha: 32
datasets:
  - path: tatsu-lab/alpaca
    type: alpaca
micro_batch_size: 2
num_epochs: 1
learning_rate: 0.0002
"""


@pytest.mark.parametrize(("value", "expected"), [
    (["q_proj", "v_proj"], ["q_proj", "v_proj"]),
    ("q_proj,v_proj", ["q_proj", "v_proj"]),  # LLaMA-Factory's comma-separated string
    ("q_proj, v_proj ,", ["q_proj", "v_proj"]),
    ("all", None), ("all-linear", None), (["all-linear"], None),
    ("q_proj", None),  # a lone string is a regular expression to PEFT
    ([], None), ([1, 2], None), (None, None),
])
def test_target_lists_as_peft_matches_them(value, expected) -> None:
    assert lora_target_list(value) == expected


def test_axolotl_list_on_phi3_leaves_attention_unadapted(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "a.yml", AXOLOTL + "lora_target_modules: [q_proj, k_proj, v_proj, o_proj]\n"))
    assert plan.mode.lora_targets == ["q_proj", "k_proj", "v_proj", "o_proj"]
    (found,) = findings(plan, "PD606")
    assert found.severity == "warning" and "`qkv_proj`" in found.message and "only `o_proj`" in found.message
    assert found.line == plan.sources["mode.lora_targets"].line == 11


def test_axolotl_all_linear_layers_are_not_judged(tmp_path) -> None:
    text = AXOLOTL + "lora_target_linear: true\nlora_target_modules: [q_proj, v_proj]\n"
    plan = plan_of(write(tmp_path, "a.yml", text))
    assert plan.mode.lora_targets is None and findings(plan, "PD606") == []


def test_trl_list_matching_nothing_is_an_error(tmp_path) -> None:
    text = """
    model_name_or_path: EleutherAI/pythia-410m
    use_peft: true
    lora_r: 16
    lora_target_modules: [q_proj, v_proj]
    learning_rate: 2.0e-4
    per_device_train_batch_size: 4
    output_dir: out
    """
    plan = plan_of(write(tmp_path, "sft.yaml", text), "hf")
    (found,) = findings(plan, "PD606")
    assert found.severity == "error" and "not found in the base model" in found.message


def test_llamafactory_comma_string_on_falcon(tmp_path) -> None:
    text = """
    model_name_or_path: tiiuae/falcon-7b
    stage: sft
    finetuning_type: lora
    lora_target: q_proj,v_proj
    template: falcon
    cutoff_len: 1024
    learning_rate: 1.0e-4
    per_device_train_batch_size: 2
    output_dir: out
    """
    plan = plan_of(write(tmp_path, "lf.yaml", text))
    assert plan.dialect == "llamafactory" and plan.mode.lora_targets == ["q_proj", "v_proj"]
    assert [f.severity for f in findings(plan, "PD606")] == ["error"]


@pytest.mark.parametrize(("name", "family"), [
    ("microsoft/Phi-4-mini-instruct", "phi3"), ("microsoft/phi-4", "phi3"),
    ("unsloth/Phi-3-mini-4k-instruct-bnb-4bit", None), ("unsloth/phi-4", None),  # re-uploads in Llama's layout
    ("/models/Phi-3.5-mini-instruct/", "phi3"),
    ("openai-community/gpt2-medium", "gpt2"), ("EleutherAI/pythia-1.4b-deduped", "gpt_neox"),
    ("Qwen/Qwen-7B-Chat", "qwen"), ("mistralai/Mixtral-8x7B-Instruct-v0.1", None),
    ("Qwen/Qwen2.5-7B-Instruct", "qwen2"), ("meta-llama/Meta-Llama-3-8B", "llama"),
    # Not fixed by the name: another architecture under a similar one, or unknown.
    ("microsoft/Phi-4-multimodal-instruct", None), ("microsoft/Phi-3-small-8k-instruct", None),
    ("tiiuae/Falcon3-7B-Instruct", None), ("Qwen/Qwen3-30B-A3B", None), ("Qwen/Qwen2.5-VL-7B-Instruct", None),
    ("my-org/base", None),
])
def test_architecture_from_a_name(name, family) -> None:
    plan = TrainingPlan(dialect="hf", files=["a.yaml"], model={"name": name})
    found = architecture(plan, _MODULES)
    assert (found[0] if found else None) == family


def test_the_checkpoints_config_outranks_the_name() -> None:
    """A config.json read beside the run decides; a model type not listed is not judged by the name."""
    plan = TrainingPlan(dialect="hf", files=["a.yaml"], model={
        "name": "microsoft/Phi-3-mini-4k-instruct", "family": "phi3_v", "config_path": "ckpt/config.json"})
    assert architecture(plan, _MODULES) is None
    plan.model.family = "phi3"
    assert architecture(plan, _MODULES) == ("phi3", "`ckpt/config.json`")
