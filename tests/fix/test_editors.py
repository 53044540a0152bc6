"""The round-trip editors on hand-made files with comments and odd layout: only the edited
lines change, byte for byte, and the result loads."""

from __future__ import annotations

import json

import pytest

from pretrain_doctor.config.loader import parse_text
from pretrain_doctor.fix.editors import FixError, editor_for
from pretrain_doctor.fix.resolve import key_path, new_key_path

pytest.importorskip("ruamel.yaml")
pytest.importorskip("tomlkit")

YAML = """\
# A hand-written HF config: 4-space nesting, a flow map, an odd list, quotes, comments.
model_name_or_path:   'gpt2'    # keep the quotes
learning_rate: 2.0e-5
warmup_step: 100        # typo: transformers reads warmup_steps
# the ratio below loses to the steps
warmup_ratio: 0.1       # ignored
optim_args: {betas: [0.9,   0.95], eps: 1.0e-8}
report_to:
-   wandb
-   tensorboard
deepspeed_cfg:
    zero:
        stage: 2      # zero-2
    # offload later
    offload: false
"""


def test_yaml_edits_touch_only_their_lines():
    editor = editor_for("yaml", YAML)
    editor.rename(("warmup_step",), "warmup_steps")
    editor.drop(("warmup_ratio",))
    editor.add(("deepspeed_cfg", "zero", "bucket"), 500)
    editor.set(("optim_args", "eps"), 0.5)
    editor.add(("lr_scheduler_kwargs", "min_lr"), 0.0)
    fixed = editor.text()
    assert fixed == """\
# A hand-written HF config: 4-space nesting, a flow map, an odd list, quotes, comments.
model_name_or_path:   'gpt2'    # keep the quotes
learning_rate: 2.0e-5
warmup_steps: 100       # typo: transformers reads warmup_steps
# the ratio below loses to the steps
optim_args: {betas: [0.9, 0.95], eps: 0.5}
report_to:
-   wandb
-   tensorboard
deepspeed_cfg:
    zero:
        stage: 2      # zero-2
        bucket: 500
    # offload later
    offload: false
lr_scheduler_kwargs:
    min_lr: 0.0
"""
    data = parse_text(fixed, "x.yaml").data
    assert data["warmup_steps"] == 100 and "warmup_ratio" not in data
    assert data["deepspeed_cfg"] == {"zero": {"stage": 2, "bucket": 500}, "offload": False}


TOML = """\
# torchtitan-style, with comments and an inline table
[job]
dump_folder = "./outputs"   # where runs go

[lr_scheduler]
# linear warmup, then decay
warmup_steps = 0    # none!
decay_ratio = 0.8

[training]
steps  =  1000
mixed = { param = "bfloat16", reduce = "float32" }
"""


def test_toml_edits_touch_only_their_lines():
    editor = editor_for("toml", TOML)
    editor.set(("lr_scheduler", "warmup_steps"), 10)
    editor.rename(("training", "steps"), "max_steps")
    editor.drop(("lr_scheduler", "decay_ratio"))
    editor.add(("training", "seed"), 7)
    assert editor.text() == """\
# torchtitan-style, with comments and an inline table
[job]
dump_folder = "./outputs"   # where runs go

[lr_scheduler]
# linear warmup, then decay
warmup_steps = 10    # none!

[training]
max_steps = 1000
mixed = { param = "bfloat16", reduce = "float32" }
seed = 7
"""


JSON = """{
   "train_batch_size": 64,
   "gradient_accumulation_steps": 4,
   "fp16": {"enabled": true, "loss_scale": 0},
   "zero_optimization": {
      "stage": 2,
      "overlap_comm": true
   },
   "betas": [0.9, 0.95]
}
"""


def test_json_edits_keep_indentation_order_and_compact_arrays():
    editor = editor_for("json", JSON)
    editor.rename(("fp16", "loss_scale"), "initial_scale_power")
    editor.drop(("gradient_accumulation_steps",))
    editor.add(("zero_optimization", "reduce_bucket_size"), 500000000)
    editor.add(("gradient_clipping",), 1.0)
    fixed = editor.text()
    assert fixed == """{
   "train_batch_size": 64,
   "fp16": {"enabled": true, "initial_scale_power": 0},
   "zero_optimization": {
      "stage": 2,
      "overlap_comm": true,
      "reduce_bucket_size": 500000000
   },
   "betas": [0.9, 0.95],
   "gradient_clipping": 1.0
}
"""
    assert list(json.loads(fixed)) == ["train_batch_size", "fp16", "zero_optimization", "betas", "gradient_clipping"]


def test_rename_onto_an_existing_key_is_refused():
    for fmt, text in (("yaml", YAML), ("json", JSON)):
        editor = editor_for(fmt, text)
        with pytest.raises(FixError):
            editor.rename(("learning_rate",) if fmt == "yaml" else ("fp16",), "warmup_ratio" if fmt == "yaml" else "betas")


def test_python_and_shell_have_no_editor():
    for fmt in ("python", "shell"):
        with pytest.raises(FixError, match="not edited"):
            editor_for(fmt, "x = 1\n")


def test_dotted_keys_resolve_with_dots_inside_names():
    data = {"model": {"a.b": {"c": 1}}, "list": [{"x": 1}]}
    assert key_path(data, "model.a.b.c") == ("model", "a.b", "c")
    assert key_path(data, "list[0].x") == ("list", 0, "x")
    assert key_path(data, "model.nope") is None
    assert new_key_path(data, "model.new.deep") == ("model", "new", "deep")
    assert new_key_path(data, "model.a.b.c") is None  # already there
