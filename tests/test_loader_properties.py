"""Property tests of the config loaders (hypothesis).

1. Whatever the bytes, `load_document` either returns a Document or raises `ConfigError`.
2. For generated configs in every format, the position recorded for a key path points at a
   line that contains that key, and (YAML, JSON) every mapping key in the data has one.
"""

from __future__ import annotations

import json
import keyword
import math
import os
import typing
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pretrain_doctor.config import Document, load_document
from pretrain_doctor.errors import ConfigError

SUFFIXES = (".yaml", ".json", ".toml", ".py")
# PD_PROPERTY_EXAMPLES=5000 for a deeper search than the suite's quick one.
PROPERTY_SETTINGS = settings(max_examples=int(os.environ.get("PD_PROPERTY_EXAMPLES", "150")), deadline=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Keys are spelled the same in every format (no quoting or escaping), so "the line contains
# the key" is a plain substring test. Keywords of the formats are left out.
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "inf", "nan", "y", "n", "none", "import", "lambda"}
keys = st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True).filter(
    lambda k: k.lower() not in _RESERVED and not keyword.iskeyword(k))
scalars = st.one_of(
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64).filter(lambda x: not math.isnan(x)),
    st.booleans(),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
)
leaf_lists = st.lists(scalars, max_size=4)
sections = st.dictionaries(keys, st.one_of(scalars, leaf_lists), max_size=6)
configs = st.dictionaries(keys, st.one_of(scalars, leaf_lists, sections), min_size=1, max_size=8)
deep_configs = st.recursive(st.one_of(scalars, leaf_lists),
                            lambda children: st.dictionaries(keys, children, min_size=1, max_size=4),
                            max_leaves=25).filter(lambda value: isinstance(value, dict))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("loader-properties")


def load_text(folder: Path, suffix: str, content: str | bytes) -> Document:
    path = folder / f"config{suffix}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return load_document(path)


def loads_or_refuses(folder: Path, suffix: str, content: str | bytes) -> Document | None:
    """The property: a Document or a ConfigError, never anything else."""
    try:
        return load_text(folder, suffix, content)
    except ConfigError:
        return None


# -- 1. never anything but ConfigError --------------------------------------------------

@PROPERTY_SETTINGS
@given(suffix=st.sampled_from(SUFFIXES), content=st.text(max_size=400))
def test_any_text_loads_or_is_refused(scratch, suffix, content):
    loads_or_refuses(scratch, suffix, content)


@PROPERTY_SETTINGS
@given(suffix=st.sampled_from(SUFFIXES), content=st.binary(max_size=400))
def test_any_bytes_load_or_are_refused(scratch, suffix, content):
    loads_or_refuses(scratch, suffix, content)


_SYNTAX = list("{}[]:,=\"'#&*!|>-?%@`\\\n\t ") + ["---", "<<", "!!python/name:os.system", "\x00", "\ufeff"]


@PROPERTY_SETTINGS
@given(data=st.data(), config=configs, suffix=st.sampled_from(SUFFIXES))
def test_mutated_configs_load_or_are_refused(scratch, data, config, suffix):
    """Near-valid text (a real dump with a few syntax characters spliced in) finds parser edges."""
    text = dump(config, suffix)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.sampled_from(_SYNTAX)) + text[at:]
    loads_or_refuses(scratch, suffix, text)


# -- 2. positions point at their key ----------------------------------------------------

def dump(config: dict, suffix: str, *, flow: bool = False) -> str:
    if suffix == ".yaml":
        return yaml.safe_dump(config, default_flow_style=flow, allow_unicode=True, sort_keys=False)
    if suffix == ".json":
        return json.dumps(config, indent=None if flow else 2, ensure_ascii=False)
    if suffix == ".toml":
        return toml_dump(config)
    return python_dump(config)


def toml_dump(config: dict) -> str:
    """Top-level values first, then one `[table]` per nested mapping (two levels deep)."""
    lines = [f"{key} = {toml_value(value)}" for key, value in config.items() if not isinstance(value, dict)]
    for key, value in config.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{inner} = {toml_value(item)}" for inner, item in value.items()]
    return "\n".join(lines) + "\n"


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # no control characters are generated
    return repr(value)


def python_dump(config: dict) -> str:
    return "".join(f"{key} = {value!r}\n" for key, value in config.items())


def assert_positions_point_at_keys(doc: Document, text: str) -> None:
    # YAML breaks lines at U+2028/U+2029 too, as str.splitlines does; TOML, JSON and Python only at "\n" (a
    # string value holding U+2028 stays on its line there)
    lines = text.splitlines() if doc.format == "yaml" else text.split("\n")
    for path, position in doc.positions.items():
        assert 1 <= position.line <= len(lines), (path, position)
        assert position.column >= 1
        key = path[-1]
        if isinstance(key, str):
            assert key in lines[position.line - 1], (path, position, lines[position.line - 1])


def mapping_key_paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from mapping_key_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from mapping_key_paths(value, prefix + (index,))


@PROPERTY_SETTINGS
@given(config=st.one_of(configs, deep_configs), suffix=st.sampled_from((".yaml", ".json")), flow=st.booleans())
def test_yaml_and_json_positions(scratch, config, suffix, flow):
    text = dump(config, suffix, flow=flow)
    doc = load_text(scratch, suffix, text)
    assert_positions_point_at_keys(doc, text)
    for path in mapping_key_paths(doc.data):
        assert path in doc.positions, path
    if suffix == ".json":
        assert doc.data == config


@PROPERTY_SETTINGS
@given(config=configs)
def test_toml_positions_and_values(scratch, config):
    text = toml_dump(config)
    doc = load_text(scratch, ".toml", text)
    assert doc.data == config
    assert_positions_point_at_keys(doc, text)
    for key in config:
        assert (key,) in doc.positions


@PROPERTY_SETTINGS
@given(config=configs)
def test_python_positions_and_values(scratch, config):
    text = python_dump(config)
    doc = load_text(scratch, ".py", text)
    assert doc.data == config
    assert_positions_point_at_keys(doc, text)
    assert set(doc.positions) == {(key,) for key in config}


def test_yaml_positions_follow_anchors_and_merges(scratch):
    """A merged key has no line of its own; the keys written out do."""
    text = "base: &base\n  lr: 1.0e-3\n  wd: 0.1\nrun:\n  <<: *base\n  wd: 0.0\n"
    doc = load_text(scratch, ".yaml", text)
    assert doc.data["run"] == {"wd": 0.0, "lr": 1.0e-3}
    assert doc.position(("run", "wd")).line == 6
    assert doc.position(("base", "lr")).line == 2
    assert_positions_point_at_keys(doc, text)


# -- 3. the whole check on structured configs: errors are ConfigErrors, rules never crash --

def _value_strategy(annotation):
    """Values of the plan field's own type (constraints ignored: out-of-range values must be
    refused with a ConfigError, in-range ones must reach every rule)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args and typing.get_origin(annotation) is not tuple:
        annotation = args[0]
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(-2, 10**7)
    if annotation is float:
        return st.one_of(st.floats(-1.0, 1e13, allow_nan=False), st.integers(0, 1000))
    if annotation is str:
        return st.sampled_from(["gpt2", "llama", "adamw", "cosine", "wsd", "sgd", "steps", "no", "bf16", "x/y"])
    if origin is tuple:
        return st.lists(st.floats(0, 1), min_size=2, max_size=2)
    return None


def _native_configs():
    from pretrain_doctor.plan.model import TrainingPlan

    sections = {}
    for name, field in TrainingPlan.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and hasattr(model, "model_fields"):
            fields = {key: strategy for key, inner in model.model_fields.items()
                      if (strategy := _value_strategy(inner.annotation)) is not None}
            sections[name] = st.fixed_dictionaries({}, optional=fields)
    return st.fixed_dictionaries({"pretrain_doctor": st.just(1)}, optional={**sections, "seed": st.integers(0, 99)})


@settings(max_examples=int(os.environ.get("PD_PROPERTY_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(config=_native_configs(), world_size=st.one_of(st.none(), st.integers(1, 64)),
       dataset_rows=st.one_of(st.none(), st.integers(1, 10**6)))
def test_check_never_crashes_on_structured_configs(scratch, config, world_size, dataset_rows):
    from pretrain_doctor.check import check_paths
    from pretrain_doctor.settings import CheckOptions

    path = scratch / "structured.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    report = check_paths([path], CheckOptions(use_settings=False, world_size=world_size, dataset_rows=dataset_rows))
    assert report.warnings == []  # a rule that raised is reported as a warning: none may
    for error in report.errors:
        assert error.line is not None, error  # a refused value names its line


def test_a_repeated_yaml_key_keeps_the_last_value_and_its_positions(tmp_path) -> None:
    # Held-out review 5 (chiennv2000/nanotron config_tiny_llama.yaml): the plan showed the second `checkpoints`
    # block's resume path at the first block's line, and nothing said the first block was dropped.
    from pretrain_doctor.config.loader import load_document

    path = tmp_path / "c.yaml"
    path.write_text("ckpt:\n  resume: null\n  every: 10\nlr: 1\nckpt:\n  resume: here\nlr: 1\n")
    doc = load_document(path)
    assert doc.data["ckpt"] == {"resume": "here"} and doc.position(("ckpt", "resume")).line == 6
    assert ("ckpt", "every") not in doc.positions
    assert [(d.path, d.first_line, d.last_line, d.same_value) for d in doc.duplicates] == [
        (("ckpt",), 1, 5, False), (("lr",), 4, 7, True)]


def test_a_repeated_key_whose_dropped_value_is_empty_loses_nothing(tmp_path) -> None:
    # Held-out review 6 (TEST B, 34, an axolotl qlora.yml): `lora_target_modules:` left blank, then the list
    # set a few lines below. The dropped value is null: info, like a repeat of the same value; a real loss
    # (a non-empty first value) stays a warning.
    from pretrain_doctor.check import check_paths
    from pretrain_doctor.config.loader import load_document
    from pretrain_doctor.settings import CheckOptions

    path = tmp_path / "qlora.yml"
    path.write_text("base_model: NousResearch/Llama-2-7b-hf\nadapter: qlora\nlora_r: 32\nlora_target_modules:\n"
                    "lora_target_linear: true\nlora_target_modules:\n  - q_proj\n  - v_proj\n"
                    "learning_rate: 0.0002\nlearning_rate: 0.0001\nlora_fan_in_fan_out: false\nlora_fan_in_fan_out:\n")
    doc = load_document(path)
    assert doc.data["lora_target_modules"] == ["q_proj", "v_proj"]
    assert [(d.path, d.same_value, d.dropped_empty, d.both_off) for d in doc.duplicates] == [
        (("lora_target_modules",), False, True, False), (("learning_rate",), False, False, False),
        (("lora_fan_in_fan_out",), False, False, True)]
    report = check_paths([path], CheckOptions(use_settings=False))
    repeated = {f.key: f for f in report.findings if f.code == "PD002" and "set twice" in f.message}
    assert repeated["lora_target_modules"].severity == "info" and "empty" in repeated["lora_target_modules"].message
    assert repeated["learning_rate"].severity == "warning" and "dropped" in repeated["learning_rate"].message
    # held-out review 34, A 23 (an axolotl file): `false`, then left blank, is off either way
    assert repeated["lora_fan_in_fan_out"].severity == "info" and "off as well" in repeated["lora_fan_in_fan_out"].message


def test_a_repeated_switch_turned_on_beside_its_settings_is_meant(tmp_path) -> None:
    # Held-out review 44, A 18 (an alignment-handbook CPT recipe: `eval_strategy: "no"` at line 24, `eval_strategy:
    # "steps"` with `eval_steps: 800` at line 49): the later value is the one the file's settings go with, info.
    # Turned off later, or on with nothing that configures it, the drop stays a warning.
    from pretrain_doctor.check import check_paths
    from pretrain_doctor.settings import CheckOptions

    head = "model_name_or_path: gpt2\noutput_dir: out\nlearning_rate: 2.0e-5\n"
    cases = {"on.yaml": ('eval_strategy: "no"\neval_steps: 800\neval_strategy: steps\n', "info"),
             "off.yaml": ('eval_strategy: steps\neval_steps: 800\neval_strategy: "no"\n', "warning"),
             "bare.yaml": ('packing: false\npacking: true\n', "warning"),
             # ... but a switch that only decides when checkpoints are written is an info (held-out review 113, D 02)
             "save.yaml": ('save_strategy: "no"\nsave_strategy: epoch\n', "info")}
    for name, (body, severity) in cases.items():
        (tmp_path / name).write_text(head + body)
        report = check_paths([tmp_path / name], CheckOptions(use_settings=False))
        [repeated] = [f for f in report.findings if f.code == "PD002" and "set twice" in f.message]
        assert repeated.severity == severity, name


def _repeated_findings(path) -> dict:
    """PD002's repeated-key findings of one checked file, by key."""
    from pretrain_doctor.check import check_paths
    from pretrain_doctor.settings import CheckOptions

    report = check_paths([path], CheckOptions(use_settings=False))
    return {f.key: f for f in report.findings if f.code == "PD002" and "twice" in f.message}


@pytest.mark.parametrize("name, text, harmless, said", [
    # Held-out review 57, A 22 (a TRL SFTConfig YAML: `logging_steps: 1`, then `logging_steps: 100`): only what the
    # run logs changes, info; a repeated training setting beside it stays a warning.
    ("sft.yaml", "model_name_or_path: gpt2\noutput_dir: out\nlogging_steps: 1\nlearning_rate: 2.0e-5\n"
                 "logging_steps: 100\nwarmup_ratio: 0.1\nwarmup_ratio: 0.03\n",
     "logging_steps", "only what the run logs changes"),
    # Held-out review 113, D 02 (a launch's `--save_strategy epoch`, later `--save_strategy steps`): only when
    # checkpoints are written changes.
    ("train.sh", "torchrun train.py --model_name_or_path gpt2 --output_dir out --save_strategy epoch --learning_rate "
                 "2e-5 --save_strategy steps --save_steps 500 --learning_rate 1e-4\n",
     "save_strategy", "when checkpoints are written"),
    # Held-out review 116, A 06 (an accelerate launch's `--dataloader_pin_memory True`, later `False`): only how the
    # data is loaded changes.
    ("pin.sh", "accelerate launch train.py --model_name_or_path gpt2 --output_dir out --dataloader_pin_memory True "
               "--learning_rate 2e-5 --dataloader_pin_memory False --learning_rate 1e-4\n",
     "dataloader_pin_memory", "how the data is loaded"),
    # Held-out review 122, B 03 (ms-swift's `--load_from_cache_file true`, later `false`): the cache of prepared data
    ("cache.sh", "accelerate launch train.py --model_name_or_path gpt2 --output_dir out --load_from_cache_file true "
                 "--learning_rate 2e-5 --load_from_cache_file false --learning_rate 1e-4\n",
     "load_from_cache_file", "how the data is loaded"),
    # Held-out review 123, B 16 (a LongLoRA fork's launch: `--evaluation_strategy no`, later `steps`)
    ("strategy.sh", "accelerate launch train.py --model_name_or_path gpt2 --output_dir out --evaluation_strategy no "
                    "--learning_rate 2e-5 --evaluation_strategy steps --learning_rate 1e-4\n",
     "evaluation_strategy", "turns evaluation on"),
    # Held-out review 117, D 09 (a Megatron-DeepSpeed launch's `--save-interval 2000`, later 10000): a flag's dashes are
    # its dest's underscores
    ("sp.sh", "torchrun pretrain_gpt.py --num-layers 2 --save-interval 2000 --lr 1e-4 --save-interval 10000 "
              "--lr 2e-4\n", "save-interval", "when checkpoints are written"),
])
def test_a_repeated_key_that_changes_no_training_step_is_an_info(tmp_path, name, text, harmless, said) -> None:
    path = tmp_path / name
    path.write_text(text)
    repeated = _repeated_findings(path)
    assert repeated[harmless].severity == "info" and said in repeated[harmless].message
    changed = "warmup_ratio" if name.endswith(".yaml") else "lr" if name == "sp.sh" else "learning_rate"
    assert repeated[changed].severity == "warning"


def test_a_repeated_deepspeed_timing_switch_is_an_info(tmp_path) -> None:
    # GPT-NeoX's DeepSpeed timing switch (held-out review 69, B 02: `wall_clock_breakdown` true, then false)
    neox = tmp_path / "7B.yml"
    neox.write_text('{\n  "num_layers": 2,\n  "hidden_size": 64,\n  "num_attention_heads": 4,\n  "seq_length": 128,\n'
                    '  "max_position_embeddings": 128,\n  "train_micro_batch_size_per_gpu": 4,\n  "train_iters": 100,\n'
                    '  "wall_clock_breakdown": true,\n  "optimizer": {"type": "Adam", "params": {"lr": 0.0006}},\n'
                    '  "wall_clock_breakdown": false\n}\n')
    assert [f.severity for f in _repeated_findings(neox).values()] == ["info"]


def test_a_config_inherits_its_base(tmp_path) -> None:
    # held-out review 59, A 06: `_base_: base.yaml` (the mmengine convention a repository's wrapper follows) holds the
    # warmup and evaluation settings; the stage file's own values win, each position keeps its file
    from pretrain_doctor.config.loader import load_document

    (tmp_path / "base.yaml").write_text("seed: 17\ntrain:\n  warmup_ratio: 0.1\n  learning_rate: 1.0e-4\n")
    (tmp_path / "dpo.yaml").write_text("_base_: base.yaml\ntrain:\n  learning_rate: 5.0e-7\n")
    doc = load_document(tmp_path / "dpo.yaml")
    assert doc.data == {"seed": 17, "train": {"warmup_ratio": 0.1, "learning_rate": 5.0e-7}}
    assert doc.position(("train", "warmup_ratio")).file == str(tmp_path / "base.yaml")
    assert doc.position(("train", "learning_rate")).file == str(tmp_path / "dpo.yaml")
    # a base that is missing, or a file naming itself, leaves the file as written
    (tmp_path / "lost.yaml").write_text("_base_: [nowhere.yaml]\nseed: 1\n")
    assert load_document(tmp_path / "lost.yaml").data == {"_base_": ["nowhere.yaml"], "seed": 1}
    (tmp_path / "self.yaml").write_text("_base_: self.yaml\nseed: 2\n")
    assert load_document(tmp_path / "self.yaml").data["seed"] == 2
    # two files naming each other stop after a few levels
    (tmp_path / "a.yaml").write_text("_base_: b.yaml\nx: 1\n")
    (tmp_path / "b.yaml").write_text("_base_: a.yaml\ny: 2\n")
    assert load_document(tmp_path / "a.yaml").data == {"x": 1, "y": 2}


def test_a_file_that_holds_its_settings_twice_is_one_info(tmp_path) -> None:
    # held-out review 117, A 07 (a course project's SFTConfig YAML: an old block and a new one pasted after it, every
    # key twice): six warnings for one paste; the later block is the one that runs
    block = "max_length: {length}\nnum_train_epochs: {epochs}\nlearning_rate: {lr}\nwarmup_ratio: 0.1\nbf16: true\n"
    text = ("model_name_or_path: Qwen/Qwen2.5-0.5B\noutput_dir: out\n"
            + block.format(length=1024, epochs=0.7, lr="5.0e-5") + "\n" + block.format(length=2048, epochs=1.0, lr="1.0e-4"))
    path = tmp_path / "sft.yaml"
    path.write_text(text)
    repeated = list(_repeated_findings(path).values())
    assert len(repeated) == 1 and repeated[0].severity == "info" and "holds its settings twice" in repeated[0].message
    assert "`max_length`, `num_train_epochs`, `learning_rate`" in repeated[0].message
    # a key or two repeated in a file stays judged one by one
    path.write_text("model_name_or_path: Qwen/Qwen2.5-0.5B\noutput_dir: out\nlearning_rate: 5.0e-5\n"
                    "warmup_ratio: 0.1\nlearning_rate: 1.0e-4\n")
    assert [f.severity for f in _repeated_findings(path).values()] == ["warning"]


def test_a_flag_given_as_true_then_as_a_bare_switch_is_the_same_value(tmp_path) -> None:
    # held-out review 119, B 05: `--overwrite_cache True` at line 2, then `--overwrite_cache` bare: both true
    from pretrain_doctor.config.loader import load_document

    path = tmp_path / "run.sh"
    path.write_text("llamafactory-cli train \\\n    --overwrite_cache True \\\n    --stage sft \\\n"
                    "    --overwrite_cache \\\n    --bf16 true \\\n    --bf16\n")
    doc = load_document(path)
    assert [(d.path, d.same_value) for d in doc.duplicates] == [(("overwrite_cache",), True), (("bf16",), True)]
