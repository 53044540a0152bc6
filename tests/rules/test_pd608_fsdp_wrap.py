"""PD608: the layer classes FSDP wraps, read from transformers' and accelerate's spellings, against the model's."""

from __future__ import annotations

import pytest

from pretrain_doctor.check.engine import check_paths
from pretrain_doctor.settings import CheckOptions

from ..dialects.helpers import findings, plan_of, write

ACCELERATE = """compute_environment: LOCAL_MACHINE
distributed_type: FSDP
fsdp_config:
  fsdp_auto_wrap_policy: {policy}
  fsdp_sharding_strategy: SHARD_GRAD_OP
  fsdp_transformer_layer_cls_to_wrap: {classes}
mixed_precision: bf16
num_processes: 4
"""
LAUNCH = ("accelerate launch --config_file fsdp_config.yaml train.py --model_name_or_path "
          "meta-llama/Meta-Llama-3.1-8B --output_dir out --learning_rate 2e-5 --warmup_ratio 0.03\n")


@pytest.mark.parametrize(("policy", "classes", "fires"), [
    # held-out review 116, A 25: a Llama-3.1 run under a config left at Qwen2's class
    ("TRANSFORMER_BASED_WRAP", "Qwen2DecoderLayer", True),
    ("TRANSFORMER_BASED_WRAP", "Qwen2DecoderLayer,LlamaDecoderLayer", False),  # the model's own among them
    ("SIZE_BASED_WRAP", "Qwen2DecoderLayer", False),  # the classes are not looked up
    ("TRANSFORMER_BASED_WRAP", "MyBlock", False),  # a class not known here is not judged
])
def test_an_accelerate_configs_wrap_classes(tmp_path, policy, classes, fires) -> None:
    write(tmp_path, "fsdp_config.yaml", ACCELERATE.format(policy=policy, classes=classes))
    report = check_paths([write(tmp_path, "train.sh", LAUNCH)], CheckOptions(use_settings=False))
    found = [f for f in report.findings if f.code == "PD608"]
    assert [f.severity for f in found] == (["error"] if fires else [])
    if fires:
        assert found[0].file.endswith("fsdp_config.yaml") and "`LlamaDecoderLayer`" in found[0].message


def test_transformers_deprecated_flag_and_a_size_based_wrap(tmp_path) -> None:
    # held-out review 116, A 16: `--fsdp "full_shard auto_wrap" --fsdp_transformer_layer_cls_to_wrap
    # 'LlamaDecoderLayer'` for a Mistral model
    launch = ("torchrun --nproc_per_node 4 train.py --model_name_or_path mistralai/Mistral-7B-Instruct-v0.2 "
              "--output_dir out --fsdp \"full_shard auto_wrap\" --fsdp_transformer_layer_cls_to_wrap "
              "'LlamaDecoderLayer' --learning_rate 2e-5\n")
    plan = plan_of(write(tmp_path, "run.sh", launch))
    assert plan.parallel.fsdp_wrap_classes == ["LlamaDecoderLayer"]
    assert [f.severity for f in findings(plan, "PD608")] == ["error"]
    sized = plan_of(write(tmp_path, "sized.sh", launch.replace("auto_wrap", "offload")))
    assert sized.parallel.fsdp_wrap_classes is None and findings(sized, "PD608") == []


def test_an_axolotl_fsdp_config(tmp_path) -> None:
    text = ("base_model: Qwen/Qwen2.5-7B-Instruct\ndatasets:\n  - path: tatsu-lab/alpaca\n    type: alpaca\n"
            "micro_batch_size: 2\nnum_epochs: 1\nlearning_rate: 0.00002\nwarmup_ratio: 0.03\n"
            "fsdp:\n  - full_shard\n  - auto_wrap\nfsdp_config:\n  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP\n"
            "  fsdp_transformer_layer_cls_to_wrap: LlamaDecoderLayer\n")
    plan = plan_of(write(tmp_path, "qwen.yaml", text))
    assert plan.dialect == "axolotl" and [f.severity for f in findings(plan, "PD608")] == ["error"]
    fixed = plan_of(write(tmp_path, "ok.yaml", text.replace("LlamaDecoderLayer", "Qwen2DecoderLayer")))
    assert findings(fixed, "PD608") == []
