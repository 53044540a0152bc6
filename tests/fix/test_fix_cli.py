"""`check --fix`, `--unsafe-fixes` and `--diff` from the command line."""

from __future__ import annotations

import pytest

from pretrain_doctor.cli import main

pytest.importorskip("ruamel.yaml")
pytest.importorskip("tomlkit")

HF = """\
# a fine-tune
model_name_or_path: gpt2
learning_rate: 2.0e-5
lr_scheduler_type: cosine
warmup_step: 100   # misspelt
save_strategy: epoch
save_steps: 200
per_device_train_batch_size: 8
num_train_epochs: 1
"""


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "sft.yaml"
    path.write_text(HF, encoding="utf-8")
    return path


def test_diff_prints_the_safe_fixes_and_writes_nothing(capsys, config):
    code, out, err = cli(capsys, "check", "--isolated", "--diff", str(config))
    assert code == 1
    assert config.read_text(encoding="utf-8") == HF
    assert "-warmup_step: 100   # misspelt\n+warmup_steps: 100  # misspelt\n" in out
    assert "-save_steps: 200\n" in out
    assert "warmup_ratio" not in out  # PD104's warmup is an unsafe fix
    assert "Would fix 2 findings" in err


def test_fix_applies_safe_fixes_then_unsafe_ones_on_request(capsys, config):
    code, out, _ = cli(capsys, "check", "--isolated", "--fix", "--fail-on", "never", str(config))
    assert code == 0
    fixed = config.read_text(encoding="utf-8")
    assert "warmup_steps: 100  # misspelt\n" in fixed and "save_steps" not in fixed
    assert fixed.startswith("# a fine-tune\n")
    assert "Fixed 2 findings (" in out
    code, out, _ = cli(capsys, "check", "--isolated", "--fix", "--fail-on", "never", str(config))
    assert "Fixed 0 findings" in out and config.read_text(encoding="utf-8") == fixed
    code, out, _ = cli(capsys, "check", "--isolated", "--fix", "--unsafe-fixes", "--fail-on", "never", str(config))
    assert config.read_text(encoding="utf-8") == fixed  # PD104 added nothing: warmup_steps is set now


def test_unsafe_fix_adds_the_warmup(capsys, tmp_path):
    path = tmp_path / "pretrain.yaml"
    path.write_text("pretrain_doctor: 1\noptimizer: {family: adamw, lr: 3.0e-4}\nschedule: {kind: cosine}\n"
                    "run: {max_steps: 100000}\n", encoding="utf-8")
    code, out, _ = cli(capsys, "check", "--isolated", "--select", "PD104", "--diff", "--unsafe-fixes", str(path))
    assert code == 1 and "+schedule: {kind: cosine, warmup_steps: 1000}" in out
    code, out, _ = cli(capsys, "check", "--isolated", "--select", "PD104", "--diff", str(path))
    assert code == 0 and out == ""  # without --unsafe-fixes: nothing to do


def test_fix_reports_fixable_findings_in_a_plain_check(capsys, config):
    code, out, _ = cli(capsys, "check", "--isolated", str(config))
    assert "[*] 2 fixable with the `--fix` option (1 hidden fix can be enabled with the `--unsafe-fixes` option)." in out


def test_unsafe_fixes_alone_is_a_usage_error(capsys, config):
    code, _, err = cli(capsys, "check", "--isolated", "--unsafe-fixes", str(config))
    assert code == 2 and "--unsafe-fixes goes with --fix or --diff" in err


def test_missing_extra_is_one_line(capsys, config, monkeypatch):
    import pretrain_doctor.fix.editors as editors

    monkeypatch.setattr(editors, "fix_extra_installed", lambda: False)
    code, _, err = cli(capsys, "check", "--isolated", "--fix", str(config))
    assert code == 2 and "pip install 'pretrain-doctor[fix]'" in err and "Traceback" not in err


def test_python_configs_are_not_edited_and_say_so_once(capsys, tmp_path):
    script = tmp_path / "train_shakespeare.py"
    script.write_text("learning_rate = 1e-3\nmax_iters = 5000\nwarmup_iters = 0\ninit_from = 'scratch'\n"
                      "decay_lr = True\n", encoding="utf-8")
    code, out, err = cli(capsys, "check", "--isolated", "--fix", "--unsafe-fixes", "--fail-on", "never", str(tmp_path))
    assert script.read_text(encoding="utf-8").endswith("decay_lr = True\n")
    assert err.count("does not edit Python (nanoGPT) configs") == 1


def test_unsafe_fix_turns_on_clipping_in_the_deepspeed_json(capsys, tmp_path):
    import shutil
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "fixtures" / "rules" / "PD206"
    for name in ("bad-hf-deepspeed.yaml", "ds_zero2_noclip.json"):
        shutil.copy(folder / name, tmp_path / name)
    config = tmp_path / "bad-hf-deepspeed.yaml"
    code, out, _ = cli(capsys, "check", "--isolated", "--select", "PD206", "--diff", str(config))
    assert code == 0 and out == ""  # unsafe: the JSON may be shared by other runs
    code, out, _ = cli(capsys, "check", "--isolated", "--select", "PD206", "--fix", "--unsafe-fixes", str(config))
    assert code == 0 and "Fixed 1 finding (0 remaining)." in out
    assert (tmp_path / "ds_zero2_noclip.json").read_text(encoding="utf-8").endswith(
        '"train_micro_batch_size_per_gpu": "auto",\n  "gradient_clipping": "auto"\n}\n')


def test_diff_names_an_unreadable_file(capsys, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("pretrain_doctor: 1\noptimizer: {lr: [1, 2\n", encoding="utf-8")
    code, _, err = cli(capsys, "check", "--isolated", "--diff", str(broken))
    assert code == 2 and "broken.yaml" in err


def test_an_unsafe_fix_that_breaks_the_file_keeps_the_same_pass_safe_fixes(tmp_path, monkeypatch):
    """The pass that also added PD104's warmup is undone; only the unsafe fix is refused, and the
    safe rename and drop are made again in the next pass."""
    from pretrain_doctor.check.report import InputError
    from pretrain_doctor.config.loader import read_text
    from pretrain_doctor.fix import runner
    from pretrain_doctor.settings import CheckOptions

    path = tmp_path / "sft.yaml"
    path.write_text(HF, encoding="utf-8")
    real_check = runner.check_paths

    def check_rejecting_warmup_ratio(paths, options):
        report = real_check(paths, options)
        if "warmup_ratio" in read_text(path, str(path)):  # stands in for a value the dialect cannot load
            report.errors.append(InputError(str(path), None, "warmup_ratio: not accepted here"))
        return report

    monkeypatch.setattr(runner, "check_paths", check_rejecting_warmup_ratio)
    result = runner.fix_paths([path], CheckOptions(), unsafe=True)
    fixed = result.texts[path.resolve()]
    assert "warmup_steps: 100" in fixed and "save_steps" not in fixed and "warmup_ratio" not in fixed
    assert sorted(f.code for f in result.applied) == sorted({"PD002", "PD003"} & {f.code for f in result.applied}) \
        and len(result.applied) == 2
    assert len(result.problems) == 1 and "(PD104)" in result.problems[0]
