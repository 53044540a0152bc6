"""Trainer versions: keys judged against the release a config is for, or the union of releases."""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pretrain_doctor.check import check_paths
from pretrain_doctor.check.engine import load_plan
from pretrain_doctor.dialects import versions
from pretrain_doctor.dialects.trainer_source import class_fields
from pretrain_doctor.dialects.versions import TrainerVersions, parse_assignments, parse_version
from pretrain_doctor.distributions import may_be_installed
from pretrain_doctor.errors import UsageError
from pretrain_doctor.settings import CheckOptions, _find_from

from .helpers import notes, plan_of, write

OLD_HF = """
    model_name_or_path: alignment-handbook/zephyr-7b-sft-full
    output_dir: out
    per_device_train_batch_size: 4
    learning_rate: 2.0e-5
    evaluation_strategy: steps
    max_seq_length: 2048
"""
OLD_TORCHTITAN = """
    [job]
    dump_folder = "./outputs"
    [model]
    name = "llama3"
    flavor = "8B"
    [optimizer]
    name = "AdamW"
    lr = 3e-4
    [lr_scheduler]
    warmup_steps = 200
    [training]
    batch_size = 1
    seq_len = 8192
    steps = 1000
    data_parallel_shard_degree = 4
    tensor_parallel_degree = 2
"""


def _pd002(plan) -> dict[str, str]:
    return {n.data["key"]: n.message for n in notes(plan, "ignored-key")}


def _judged(**given: str) -> TrainerVersions:
    return TrainerVersions(parse_assignments(f"{k}={v}" for k, v in given.items()), detect_installed=False)


def test_versions_parse_and_names_normalise() -> None:
    assert parse_version("4.46.3") == (4, 46, 3) and parse_version("v0.2") == (0, 2)
    assert parse_assignments(["olmo=0.6", "transformers=4.46"]) == {"ai2-olmo": "0.6", "transformers": "4.46"}
    for bad in (["transformers"], ["transformers=fast"], ["tl=1.0"]):
        with pytest.raises(UsageError):
            parse_assignments(bad)


def test_a_checkout_pin_is_the_judged_release_below_flags_and_settings(tmp_path: Path, monkeypatch) -> None:
    """`transformers==4.36.2` in the checkout's requirements is the release its configs run, whatever is installed
    beside the linter (held-out reviews 15-21: configs pinned to 4.36-4.52 judged by the 5.24 installed here)."""
    monkeypatch.setattr(versions, "installed_version", lambda dist: {"transformers": "5.24.0"}.get(dist))
    monkeypatch.setattr("pretrain_doctor.dialects.trainer_source.installed_fields", lambda dist, version: None)
    checkout = tmp_path / "repo"
    (checkout / ".git").mkdir(parents=True)
    (checkout / "requirements.txt").write_text("torch>=2.1\ntransformers==4.51.0  # the run's\ntrl[vllm]==0.19.0\n")
    (tmp_path / "requirements.txt").write_text("transformers==4.40.0\n")  # above the checkout: not read
    path = write(checkout / "recipes" / "sft", "config.yaml", OLD_HF)

    def findings(**options) -> list:
        return check_paths([path], CheckOptions(select=["PD002"], **options)).findings

    pinned = findings(detect_installed_trainers=True)
    assert pinned and all("transformers 4.51.0 (pinned in ../../requirements.txt)" in f.message for f in pinned)
    assert {f.severity for f in pinned} == {"warning"}  # the run's own release, not only the linter's
    assert findings(detect_installed_trainers=True, trainer_versions={"transformers": "4.40"}) == []
    assert findings(detect_installed_trainers=False) == []  # the test suite's switch: no environment at all
    from pretrain_doctor.dialects.pins import _folder_pins

    # a range: the run takes one of several releases, not the linter's 5.24 (held-out reviews 25-28)
    (checkout / "requirements.txt").write_text("transformers>=4.36\n")
    _folder_pins.cache_clear()  # pins are read once per folder
    assert findings(detect_installed_trainers=True) == []
    unknown = load_plan(path, CheckOptions(detect_installed_trainers=True))[2].unknown["trainer_version"]
    assert "`transformers>=4.36` in ../../requirements.txt allows several releases" in unknown
    (checkout / "requirements.txt").write_text("transformers\n")  # a bare name: whatever is installed
    _folder_pins.cache_clear()
    assert all("(installed here)" in f.message for f in findings(detect_installed_trainers=True))


def test_pins_are_read_from_each_kind_of_file(tmp_path: Path) -> None:
    from pretrain_doctor.dialects.pins import checkout_requirements, exact_version, requirements_in

    def pins_in(text: str) -> dict[str, str]:  # the exact pins of one file's text
        return {dist: version for dist, spec in requirements_in(text).items() if (version := exact_version(spec))}

    assert pins_in('install_requires=["trl[vllm]==0.18.0", "deepspeed==0.16.8", "torch==2.1"]\n') == {
        "trl": "0.18.0", "deepspeed": "0.16.8"}
    assert pins_in("dependencies:\n  - pip:\n    - transformers==4.44.2\n# peft==0.1\n") == {"transformers": "4.44.2"}
    assert pins_in("transformers==4.36.2+cu118\ntrl==0.8.*\npeft>=0.10\n") == {"transformers": "4.36.2"}
    assert requirements_in("trl[vllm] >= 0.8, <0.20\npeft==0.8.*\naccelerate\n") == {"trl": ">=0.8,<0.20",
                                                                                      "peft": "==0.8.*"}
    # a development snapshot pins no release (held-out review 32, A 21: open-r1's `transformers @ git+...@main` was
    # judged by the release installed beside the linter): judged like a range
    assert requirements_in('    "transformers @ git+https://github.com/huggingface/transformers.git@main",\n'
                           "git+https://github.com/huggingface/trl.git@v0.9.6\ngit+https://github.com/x/y.git\n") == {
        "transformers": " @ git+https://github.com/huggingface/transformers.git@main",
        "trl": " @ git+https://github.com/huggingface/trl.git@v0.9.6"}
    assert exact_version(" @ git+https://github.com/huggingface/trl.git@v0.9.6") is None
    (tmp_path / "pyproject.toml").write_text('dependencies = ["axolotl==0.4.1"]\n')
    (tmp_path / "environment.yml").write_text("  - pip:\n    - litgpt==0.4.5\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "requirements-train.txt").write_text("axolotl==0.8.0\n")  # nearer: wins
    assert {dist: (pin.version, pin.where) for dist, pin in checkout_requirements(tmp_path / "sub" / "c.yaml").items()
            if pin.version is not None} == {
        "axolotl": ("0.8.0", "requirements-train.txt"), "litgpt": ("0.4.5", "../environment.yml")}


def test_hf_key_of_an_older_release_is_silent_without_a_version(tmp_path: Path) -> None:
    plan = plan_of(write(tmp_path, "sft.yaml", OLD_HF), "hf")
    assert _pd002(plan) == {}


def test_hf_key_gone_in_the_judged_release_names_the_release_and_the_replacement(tmp_path: Path) -> None:
    path = write(tmp_path, "sft.yaml", OLD_HF)
    found = _pd002(plan_of(path, "hf", trainer_versions=_judged(transformers="4.51.0", trl="0.20")))
    assert set(found) == {"evaluation_strategy", "max_seq_length"}
    assert "transformers 4.50 reads it, 4.51 and later do not" in found["evaluation_strategy"]
    assert "`eval_strategy` instead" in found["evaluation_strategy"]
    assert "`max_length` instead" in found["max_seq_length"]
    # the release the config was written for reads both; 4.46-4.50 still read the deprecated key (the wheels:
    # held-out reviews 16 and 17)
    assert _pd002(plan_of(path, "hf", trainer_versions=_judged(transformers="4.40", trl="0.19"))) == {}
    assert _pd002(plan_of(path, "hf", trainer_versions=_judged(transformers="4.46.3", trl="0.19"))) == {}


def test_a_warmup_steps_below_one_is_a_share_of_the_run_from_transformers_5(tmp_path: Path) -> None:
    # Held-out review 34, A 10 (NV-Reason-CT's sft_config.yaml, transformers 5.6.2 pinned): `warmup_steps: 0.03` was
    # "input should be a valid integer" (a PD002 error); transformers 5 reads it as 3% of the run.
    path = write(tmp_path, "sft.yaml", OLD_HF.replace("evaluation_strategy: steps", "warmup_steps: 0.03"))
    for judged in (_judged(transformers="5.6.2"), _judged()):
        plan = plan_of(path, "hf", trainer_versions=judged)
        assert plan.schedule.warmup_ratio == 0.03 and plan.schedule.warmup_steps is None
        assert _pd002(plan) == {}
    # 4.x takes the float into its int field unconverted from a file: 0.03 of a step, no warmup
    old = plan_of(path, "hf", trainer_versions=_judged(transformers="4.46"))
    assert old.schedule.warmup_steps == 0 and old.schedule.warmup_ratio is None
    [note] = notes(old, "ignored-key")
    assert note.data["severity"] == "warning" and "`warmup_ratio: 0.03`" in note.hint


def test_hf_key_newer_than_the_judged_release(tmp_path: Path) -> None:
    path = write(tmp_path, "sft.yaml", OLD_HF.replace("evaluation_strategy", "eval_strategy"))
    found = _pd002(plan_of(path, "hf", trainer_versions=_judged(transformers="4.36")))
    assert "transformers 4.46 and later read it, 4.40 does not" in found["eval_strategy"]
    # between the releases read (4.41-4.45) nothing is claimed
    assert _pd002(plan_of(path, "hf", trainer_versions=_judged(transformers="4.43"))) == {}


def test_did_you_mean_only_points_at_keys_the_judged_release_reads(tmp_path: Path) -> None:
    path = write(tmp_path, "sft.yaml", OLD_HF.replace("evaluation_strategy: steps", "warmup_ratoi: 0.1"))
    assert "did you mean `warmup_ratio`" in _pd002(plan_of(path, "hf"))["warmup_ratoi"]
    newest = _pd002(plan_of(path, "hf", trainer_versions=_judged(transformers="5.24")))
    assert "warmup_ratio" not in newest.get("warmup_ratoi", "")


def test_torchtitan_parallel_degrees_under_training_before_0_1(tmp_path: Path) -> None:
    path = write(tmp_path, "old.toml", OLD_TORCHTITAN)
    plan = plan_of(path, "torchtitan")
    assert _pd002(plan) == {}
    assert plan.parallel.tensor == 2 and plan.parallel.data_shard == 4
    assert _pd002(plan_of(path, "torchtitan", trainer_versions=_judged(torchtitan="0.0.2"))) == {}
    moved = _pd002(plan_of(path, "torchtitan", trainer_versions=_judged(torchtitan="0.1.0")))
    assert "`parallelism.data_parallel_shard_degree` instead" in moved["training.data_parallel_shard_degree"]
    assert "`training.local_batch_size` instead" in moved["training.batch_size"]


def test_torchtitan_new_layout_judged_against_0_0_2(tmp_path: Path) -> None:
    text = OLD_TORCHTITAN.replace("data_parallel_shard_degree = 4\n    tensor_parallel_degree = 2\n", "") + \
        "[parallelism]\n    data_parallel_shard_degree = 4\n"
    found = _pd002(plan_of(write(tmp_path, "new.toml", text), "torchtitan",
                           trainer_versions=_judged(torchtitan="0.0.2")))
    assert "`training.data_parallel_shard_degree` instead" in found["parallelism.data_parallel_shard_degree"]


def test_flag_settings_and_installed_versions_in_that_order(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, "sft.yaml", OLD_HF)
    monkeypatch.setattr(versions, "installed_version", lambda dist: {"transformers": "4.51.0"}.get(dist))
    monkeypatch.setattr("pretrain_doctor.dialects.trainer_source.installed_fields", lambda dist, version: None)

    def message(**options) -> str:
        report = check_paths([path], CheckOptions(select=["PD002"], **options))
        return " ".join(f.message for f in report.findings)

    assert "transformers 4.51.0 (installed here)" in message(detect_installed_trainers=True)
    assert message(detect_installed_trainers=False) == ""
    # only the linter's environment says so, and older releases read the key: an info, no rename to apply
    # (held-out review 15, A 18-25: configs of transformers 4.28-4.52 judged by the 5.24 installed beside the linter)
    installed = check_paths([path], CheckOptions(select=["PD002"], detect_installed_trainers=True)).findings
    assert installed and {f.severity for f in installed} == {"info"} and not any(f.fix for f in installed)
    assert all("if the run uses transformers 4.51.0" in f.hint for f in installed)
    settled = check_paths([path], CheckOptions(select=["PD002"], trainer_versions={"transformers": "4.52"})).findings
    assert {f.severity for f in settled} == {"warning"}
    (tmp_path / ".pretrain-doctor.toml").write_text('trainer-versions = {transformers = "4.52"}\n')
    _find_from.cache_clear()  # settings are cached per folder
    assert "transformers 4.52 (from trainer-versions)" in message(detect_installed_trainers=True)
    assert message(trainer_versions={"transformers": "4.40"}) == ""


def test_class_fields_reads_dataclass_fields_without_importing() -> None:
    source = "from dataclasses import dataclass\n@dataclass\nclass SFTConfig:\n    max_length: int = 1\n" \
             "    _private: int = 0\n    def f(self):\n        x: int = 1\nclass Other:\n    y: int = 2\n"
    assert class_fields(source, ["*"]) == {"max_length"}
    assert class_fields(source, ["Other"]) == {"y"}


def test_installed_transformers_fields_are_parsed_not_imported(tmp_path: Path) -> None:
    if versions.installed_version("transformers") is None:
        pytest.skip("transformers is not installed here")
    # A fresh interpreter: other tests import transformers into this one.
    script = (
        "import sys\n"
        "from pretrain_doctor.dialects.versions import installed_version\n"
        "from pretrain_doctor.dialects.trainer_source import installed_fields\n"
        "fields = installed_fields('transformers', installed_version('transformers'))\n"
        "assert {'learning_rate', 'per_device_train_batch_size'} <= fields, fields\n"
        "assert 'transformers' not in sys.modules and 'torch' not in sys.modules\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    assert list(tmp_path.glob("pretrain-doctor/fields-transformers-*.json"))  # cached per version


def test_plan_names_the_judged_release_or_asks_for_it(tmp_path: Path) -> None:
    hf = write(tmp_path, "sft.yaml", OLD_HF)
    assert plan_of(hf, "hf").unknown["trainer_version"] == "--trainer-version transformers=VER"
    given = plan_of(hf, "hf", trainer_versions=_judged(transformers="4.40"))
    assert given.trainer_version == "4.40" and "trainer_version" not in given.unknown
    titan = plan_of(write(tmp_path, "old.toml", OLD_TORCHTITAN), "torchtitan", trainer_versions=_judged(torchtitan="0.0.2"))
    assert titan.trainer_version == "0.0.2"


def test_bad_versions_are_one_line_usage_errors(tmp_path: Path) -> None:
    config = write(tmp_path, "sft.yaml", OLD_HF)
    for args in (["--trainer-version", "transformers"], ["--trainer-version", "nemo=1.0"]):
        run = subprocess.run([sys.executable, "-m", "pretrain_doctor", "check", str(config), *args],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 2 and "Traceback" not in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1
    with pytest.raises(UsageError, match="must be a string"):
        versions.normalise({"transformers": 4.50})  # TOML would read 4.5


def test_an_uninstalled_trainer_is_settled_from_sys_path_without_importlib_metadata(tmp_path: Path, monkeypatch) -> None:
    """`installed_version` answers None from the folder listings when no metadata folder on
    sys.path can be the trainer's; any folder that could be (any spelling of the name, an
    egg-info without a version) or an archive on sys.path leaves it to importlib.metadata."""
    site = tmp_path / "site"
    (site / "llm_foundry-0.21.0.dist-info").mkdir(parents=True)
    (site / "Composer.egg-info").mkdir()
    (site / "litgptx-1.0.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / "missing")])
    monkeypatch.setattr(sys, "meta_path", [m for m in sys.meta_path if not hasattr(m, "find_distributions")
                                           or m is importlib.machinery.PathFinder])
    assert may_be_installed("llm-foundry") and may_be_installed("LLM.Foundry") and may_be_installed("composer")
    assert not may_be_installed("litgpt")
    versions.installed_version.cache_clear()
    try:
        assert versions.installed_version("litgpt") is None
        assert versions.installed_version("llm_foundry") == "0.21.0"  # from the folder's name
        (site / "trainer.zip").write_bytes(b"not looked into")
        monkeypatch.setattr(sys, "path", [str(site), str(site / "trainer.zip")])
        assert may_be_installed("litgpt")
    finally:
        versions.installed_version.cache_clear()


def test_a_pre_release_sorts_before_its_release() -> None:
    # held-out review 131, B 03: a repo pinning trl 0.15.0.dev0, a snapshot before GRPO's batch counted completions
    # (0.15's #2776), judged as 0.15
    from pretrain_doctor.dialects.versions import TrainerVersion

    dev = TrainerVersion("trl", "0.15.0.dev0", "pinned")
    assert not dev.at_least((0, 15)) and dev.at_least((0, 14)) and dev.key < (0, 15) and dev.key > (0, 14, 9)
    assert TrainerVersion("trl", "0.15.0", "pinned").at_least((0, 15))
    assert TrainerVersion("transformers", "5.0.0rc1", "pinned").key < (5,)
    assert TrainerVersion("trl", "0.15.1.dev0", "pinned").at_least((0, 15))
