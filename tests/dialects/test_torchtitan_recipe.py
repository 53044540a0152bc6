"""torchtitan's Python recipes (`def llama3_8b() -> Trainer.Config`), read with `ast` into the TOML layout the
torchtitan dialect reads: values, their lines, the `FILE.py::RECIPE` pick, and what stays unknown."""

from __future__ import annotations

import pytest

from pretrain_doctor.config.loader import load_document
from pretrain_doctor.config.torchtitan_recipe import recipe_names
from pretrain_doctor.errors import ConfigError

from .helpers import write

# A reduced upstream-style registry (torchtitan/models/llama3/config_registry.py at b5bcd76): the family is the
# folder `model_registry` is imported from.
REGISTRY = "torchtitan/models/llama3/config_registry.py"
IMPORTS = """
from torchtitan.components.checkpointer import CheckpointManager
from torchtitan.components.optimizer import default_adamw, LRSchedulersContainer
from torchtitan.components.validate import Validator
from torchtitan.config import CompileConfig, DebugConfig, ParallelismConfig, TrainingConfig
from torchtitan.distributed.activation_checkpoint import SelectiveAC
from torchtitan.trainer import Trainer

from . import model_registry
"""

LLAMA3_8B = IMPORTS + """

def llama3_8b() -> Trainer.Config:
    model_spec = model_registry("8B")
    return Trainer.Config(
        hf_assets_path="./assets/hf/Llama-3.1-8B",
        model_spec=model_spec,
        optimizer=default_adamw(lr=3e-4),
        lr_scheduler=LRSchedulersContainer.Config(warmup_steps=50, decay_ratio=0.2, decay_type="cosine"),
        training=TrainingConfig(
            num_tokens_per_microbatch_per_dp_rank=2 * 8192,
            max_context_length=8192,
            steps=1000,
        ),
        parallelism=ParallelismConfig(data_parallel_shard_degree=4, tensor_parallel_degree=2),
        checkpoint=CheckpointManager.Config(enable=True, interval=250),
        activation_checkpoint=SelectiveAC.Config(),
        compile=CompileConfig(enable=True),
        validator=Validator.Config(enable=True, freq=500, steps=20),
    )
"""

def _line(text: str, fragment: str) -> int:
    """The 1-based line of the file `write` makes from `text` that holds `fragment`."""
    lines = text.lstrip().splitlines()
    return next(i for i, line in enumerate(lines, 1) if fragment in line)



def test_a_recipe_is_read_into_the_job_config_tables(tmp_path) -> None:
    doc = load_document(write(tmp_path, REGISTRY, LLAMA3_8B))
    assert doc.format == "python" and doc.data["recipe"] == "llama3_8b"
    assert doc.data["model"] == {"name": "llama3", "flavor": "8B", "hf_assets_path": "./assets/hf/Llama-3.1-8B"}
    assert doc.data["optimizer"] == {"name": "AdamW", "lr": 3e-4}
    assert doc.data["training"] == {"seq_len": 8192, "steps": 1000, "local_batch_size": 2}
    assert doc.data["lr_scheduler"] == {"warmup_steps": 50, "decay_ratio": 0.2, "decay_type": "cosine"}
    assert doc.data["checkpoint"] == {"enable": True, "interval": 250}
    assert doc.data["validation"] == {"enable": True, "freq": 500, "steps": 20}
    assert doc.data["activation_checkpoint"] == {"mode": "selective"} and doc.data["compile"] == {"enable": True}
    assert doc.position(("training", "steps")).line == _line(LLAMA3_8B, "steps=1000")
    assert doc.unevaluated == {}



def test_an_unknown_call_leaves_its_key_unevaluated(tmp_path) -> None:
    doc = load_document(write(tmp_path, REGISTRY, LLAMA3_8B.replace("steps=1000,", "steps=steps_for_budget(),")))
    assert "steps" not in doc.data["training"] and "steps_for_budget()" in doc.unevaluated["training.steps"]



SEVERAL = LLAMA3_8B + """

def llama3_8b_long() -> Trainer.Config:
    config = llama3_8b()
    config.training.steps = 100
    config.parallelism.tensor_parallel_degree = 4
    return config
"""

def test_several_recipes_are_refused_without_a_pick_and_read_with_one(tmp_path) -> None:
    path = write(tmp_path, REGISTRY, SEVERAL)
    assert recipe_names(SEVERAL) == ["llama3_8b", "llama3_8b_long"]
    with pytest.raises(ConfigError) as refused:
        load_document(path)
    assert refused.value.skippable
    assert "`llama3_8b`, `llama3_8b_long`" in refused.value.message
    assert "`config_registry.py::RECIPE`" in refused.value.message
    picked = load_document(f"{path}::llama3_8b")
    assert picked.data["recipe"] == "llama3_8b" and picked.path == str(path)
    assert picked.data["training"]["steps"] == 1000 and picked.data["parallelism"]["tensor_parallel_degree"] == 2
    with pytest.raises(ConfigError) as wrong:
        load_document(f"{path}::llama3_9b")
    assert not getattr(wrong.value, "skippable", False) and "no recipe `llama3_9b`" in wrong.value.message



def test_the_refusal_lists_eight_recipes_at_most(tmp_path) -> None:
    text = IMPORTS + "".join(f"\n\ndef r{i}() -> Trainer.Config:\n    return Trainer.Config()\n" for i in range(10))
    with pytest.raises(ConfigError) as refused:
        load_document(write(tmp_path, "many.py", text))
    assert "`r7`, …" in refused.value.message and "`r8`" not in refused.value.message
