"""tools/trainer_keys.py, the generator of dialects/*_keys.py: what it reads from a release's source
and how it turns the releases into KeyChange rows (the script itself needs a git mirror, so it is
not run here; its parts are)."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "trainer_keys.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("trainer_keys_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


SCHEMA = '''
from pydantic import BaseModel, Field, field_validator

class Deprecated(BaseModel):
    old_knob: int | None = None
    gone_knob: int | None = None

    @field_validator("old_knob")
    @classmethod
    def warn(cls, value):
        LOG.warning("old_knob is deprecated, use `new_knob` instead")
        return value

    @field_validator("gone_knob")
    @classmethod
    def refuse(cls, value):
        if value:
            raise DeprecationWarning("`gone_knob` is no longer supported")
        return value

class Offload(BaseModel):
    device: str = "cpu"

class Root(Deprecated):
    new_knob: int = Field(1, alias="legacy_knob")
    offload: Offload | None = None
    items: list[Offload] = []
    _private: int = 0
'''


def test_sections_fields_aliases_and_deprecation_validators(tool) -> None:
    classes = tool.index_classes([SCHEMA])
    sections = tool.sections_from(classes, ["Root"])
    # a rejected field is not read; a list of models is no section; an alias is a key
    assert sections == {"": {"old_knob", "new_knob", "legacy_knob", "offload", "items"}, "offload": {"device"}}
    assert "gone_knob" in tool.sections_from(classes, ["Root"], keep_rejected=True)[""]
    rejected, renamed = tool.rejected_of(classes, ["Root"])
    assert rejected == {"gone_knob"} and renamed == {"old_knob": "new_knob"}


def test_function_parameters_are_keys(tool) -> None:
    source = "def setup(model_name: str, train: TrainArgs = TrainArgs(), *, seed: int = 42):\n    pass\n"
    params = tool.function_params(source, "setup")
    assert list(params) == ["model_name", "train", "seed"]
    classes = tool.index_classes(["class TrainArgs:\n    max_steps: int = 1\n"])
    assert tool.section_classes(params["train"], classes) == ["TrainArgs"]
    assert tool.section_classes(ast.parse("Optional[List[TrainArgs]]", mode="eval").body, classes) == []


def test_changes_name_the_releases_on_each_side(tool) -> None:
    def release(label: str, keys: set[str], train: set[str]):
        return tool.Release(label, f"v{label}"), "abc1234 2025-01-01", tool.Read({"": keys, "train": train})

    releases = [release("0.1", {"a", "old"}, {"lr"}), release("0.2", {"a", "old"}, {"lr"}),
                release("0.3", {"a", "new", "late"}, {"lr", "steps"})]
    rows = tool.changes(releases, {"old": "new"})
    assert rows["old"] == (None, None, "0.3", "0.2", "new", "")
    assert rows["new"] == ("0.3", "0.2", None, None, "old", "")
    assert rows["train.steps"] == ("0.3", "0.2", None, None, None, "")
    assert "a" not in rows and "train.lr" not in rows


def test_deepspeed_dict_reads_follow_the_whole_dict(tool) -> None:
    source = '''
TRAIN_BATCH = "train_batch_size"
class DeepSpeedConfig:
    def _initialize_params(self, param_dict):
        self.batch = get_scalar_param(param_dict, TRAIN_BATCH, 1)
        self.zero = get_zero_config(param_dict)
        self.sub = get_sub(param_dict["sparse_attention"])
def get_zero_config(param_dict):
    if "zero_optimization" in param_dict.keys():
        return param_dict.get("zero_optimization")
    for key in ("tensorboard", "wandb"):
        param_dict.get(key, {})
def get_sub(param_dict):
    return param_dict["mode"]
def get_eigen(param_dict):
    param_dict = param_dict["quantize_training"]
    return param_dict["eigenvalue"]
'''
    tree = ast.parse(source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    method = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                  and node.name == "_initialize_params")
    keys: set[str] = set()
    tool._dict_reads(method, "param_dict", {"TRAIN_BATCH": "train_batch_size"}, functions, keys, set())
    assert keys == {"train_batch_size", "zero_optimization", "tensorboard", "wandb", "sparse_attention"}
    keys = set()
    tool._dict_reads(functions["get_eigen"], "param_dict", {}, functions, keys, set())
    assert keys == {"quantize_training"}  # after the reassignment it is the sub-dict


MEGATRON_ARGUMENTS = '''
def _add_training_args(parser):
    group = parser.add_argument_group(title="training")
    group.add_argument("--micro-batch-size", type=int, default=None)
    group.add_argument("--no-bias-dropout-fusion", action="store_false", dest="bias_dropout_fusion")
    return parser

def _add_transformer_args(parser):
    exclude = ["init_method"]
    factory = ArgumentGroupFactory(TransformerConfig, exclude=exclude)
    factory.build_group(parser, "transformer")
    ArgumentGroupFactory(SchedulerConfig, exclude=["no_weight_decay_cond_type"]).build_group(parser, "sched")
    return parser
'''

CONFIGS = '''
class ModelParallelConfig:
    tensor_model_parallel_size: int = 1
    sequence_parallel: bool = False

class TransformerConfig(ModelParallelConfig):
    num_layers: int = 0
    init_method: Callable = None
    apply_rope_fusion: bool = True
    hidden_size: Optional[int] = field(default=None, metadata={"argparse_meta": {"arg_names": ["--hidden-size", "--d-model"]}})
    _cpu_offloading_context: Optional[object] = field(default=None, init=False)
    PARTS: ClassVar[int] = 2

class SchedulerConfig:
    lr_decay_style: Literal["linear", "cosine"] = "linear"
    no_weight_decay_cond_type: Optional[str] = None
'''


def test_megatron_flags_from_add_argument_and_the_argument_group_factory(tool) -> None:
    classes = {node.name: node for node in ast.walk(ast.parse(CONFIGS)) if isinstance(node, ast.ClassDef)}

    def fields(name: str) -> list:
        node = classes[name]
        inherited = [f for base in node.bases for f in fields(base.id)]
        return inherited + [(n.target.id, n.annotation, n.value) for n in node.body if isinstance(n, ast.AnnAssign)]

    flags = tool.megatron_flags(MEGATRON_ARGUMENTS, fields)
    assert flags == {
        "--micro-batch-size", "--no-bias-dropout-fusion",  # add_argument literals
        "--tensor-model-parallel-size", "--sequence-parallel", "--num-layers", "--lr-decay-style",
        "--no-apply-rope-fusion", "--disable-apply-rope-fusion",  # a bool defaulting to True
        "--hidden-size", "--d-model",  # argparse_meta arg_names
    }  # exclude= (a list or a local variable), init=False and ClassVar fields make no flag
