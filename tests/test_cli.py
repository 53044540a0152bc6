"""The command line, in-process through `pretrain_doctor.cli.main`: exit codes, selection,
suppressions, project settings, plugins, `rules`, `explain` and `--help`.

Other rules fire on these small configs too (and more are added all the time), so tests
select the rules they look at or assert on the ones they name, never on totals.
"""

from __future__ import annotations

import importlib.machinery
import json
import sys
import textwrap
from pathlib import Path

import pytest
import typer

from pretrain_doctor import registry
from pretrain_doctor.cli import app, main
from pretrain_doctor.config import load_document

ROOT = Path(__file__).resolve().parent.parent
WARMUP_TOO_LONG = "pretrain_doctor: 1\nschedule: {warmup_steps: 100}\nrun: {max_steps: 50}\n"  # PD105 on line 2


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def findings(capsys, *args: str) -> tuple[int, list[dict]]:
    code, out, err = cli(capsys, "check", "--format", "json", *args)
    assert "Traceback" not in err
    return code, json.loads(out)["findings"]


def codes(found: list[dict]) -> set[str]:
    return {f["code"] for f in found}


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text(WARMUP_TOO_LONG, encoding="utf-8")
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- exit codes and --fail-on -------------------------------------------------------------

@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], 1),
        (["--fail-on", "never"], 0),
        (["--severity", "PD105=warning"], 0),
        (["--severity", "PD105=warning", "--fail-on", "warning"], 1),
        (["--severity", "PD105=info", "--fail-on", "warning"], 0),
        (["--severity", "PD105=info", "--fail-on", "info"], 1),
        (["--ignore", "PD105"], 0),
    ],
)
def test_exit_code_follows_fail_on(capsys, config, args, expected):
    code, _, err = cli(capsys, "check", "--isolated", "--select", "PD105", *args, str(config))
    assert code == expected, err


def test_exit_code_0_when_clean(capsys):
    code, out, _ = cli(capsys, "check", "--isolated", "--select", "PD105", str(ROOT / "fixtures/rules/PD105/good.yaml"))
    assert code == 0
    assert out.endswith("No problems found in 1 file.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-on", "sometimes"], "--fail-on must be one of"),
        (["--format", "xml"], "--format must be one of"),
        (["--select", "PD999"], "'PD999' matches no rule"),
        (["--ignore", "no-such-slug"], "'no-such-slug' matches no rule"),
        (["--severity", "PD999=error"], "'PD999' matches no rule"),
        (["--severity", "PD105=fatal"], "level must be one of"),
        (["--severity", "PD105"], "expected CODE=LEVEL"),
        (["--dialect", "klingon"], "unknown dialect"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, config, args, message):
    code, out, err = cli(capsys, "check", "--isolated", *args, str(config))
    assert code == 2
    assert message in err
    assert err.startswith("pretrain-doctor: error:") and err.count("\n") == 1
    assert "Traceback" not in err


def test_unreadable_config_exits_2_naming_file_and_line(capsys, tmp_path):
    broken = write(tmp_path / "broken.yaml", "pretrain_doctor: 1\nrun: {max_steps: [1, 2\n")
    code, out, err = cli(capsys, "check", "--isolated", str(broken))
    assert code == 2
    assert out.splitlines()[0].startswith(f"{broken}:3: invalid YAML")
    assert "Traceback" not in err


def test_click_usage_errors_exit_2(capsys):
    code, _, err = cli(capsys, "check", "--no-such-flag", "x.yaml")
    assert code == 2 and "No such option" in err
    code, _, err = cli(capsys, "check")
    assert code == 2 and "Missing argument" in err


# -- --select / --ignore / --severity: codes, prefixes, slugs ------------------------------

@pytest.fixture
def two_rules(tmp_path) -> Path:
    """PD105 fires on line 2 and PD001 on line 3 (a stale suppression)."""
    return write(tmp_path / "train.yaml", WARMUP_TOO_LONG.replace(
        "run: {max_steps: 50}", "run: {max_steps: 50}  # pretrain-doctor: ignore[PD203]"))


@pytest.mark.parametrize(
    ("args", "present", "absent"),
    [
        (["--select", "PD105"], {"PD105"}, {"PD001"}),
        (["--select", "PD1"], {"PD105"}, {"PD001"}),
        (["--select", "pd1"], {"PD105"}, {"PD001"}),
        (["--select", "warmup-exceeds-training"], {"PD105"}, {"PD001"}),
        (["--select", "PD105,unused-suppression"], {"PD105", "PD001"}, set()),
        (["--select", "PD105", "--select", "PD0"], {"PD105", "PD001"}, set()),
        (["--ignore", "PD105"], {"PD001"}, {"PD105"}),
        (["--ignore", "PD1"], {"PD001"}, {"PD105"}),
        (["--ignore", "warmup-exceeds-training,PD001"], set(), {"PD105", "PD001"}),
    ],
)
def test_select_and_ignore(capsys, two_rules, args, present, absent):
    _, found = findings(capsys, "--isolated", *args, str(two_rules))
    assert present <= codes(found)
    assert not absent & codes(found)


@pytest.mark.parametrize(
    ("args", "severity"),
    [
        (["--severity", "PD105=warning"], "warning"),
        (["--severity", "PD1=info"], "info"),
        (["--severity", "warmup-exceeds-training=info"], "info"),
        (["--severity", "PD1=info", "--severity", "PD105=warning"], "warning"),  # the exact code wins
        (["--severity", "PD105=WARNING"], "warning"),
    ],
)
def test_severity_overrides(capsys, config, args, severity):
    _, found = findings(capsys, "--isolated", "--select", "PD105", *args, str(config))
    (pd105,) = found
    assert pd105["severity"] == severity


# -- inline suppressions -------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        "pretrain_doctor: 1\nschedule: {warmup_steps: 100}  # pretrain-doctor: ignore[PD105]\nrun: {max_steps: 50}\n",
        "pretrain_doctor: 1\n# pretrain-doctor: ignore[PD105]\nschedule: {warmup_steps: 100}\nrun: {max_steps: 50}\n",
        "pretrain_doctor: 1\nschedule: {warmup_steps: 100}  # pretrain-doctor: ignore[warmup-exceeds-training]\n"
        "run: {max_steps: 50}\n",
        WARMUP_TOO_LONG + "# pretrain-doctor: ignore-file[PD105]\n",
        "# pretrain-doctor: ignore-file[PD1, PD203]\n" + WARMUP_TOO_LONG,
    ],
    ids=["same-line", "line-above", "by-slug", "file-wide", "file-wide-prefix"],
)
def test_suppression_hides_the_finding_and_counts_as_used(capsys, tmp_path, text):
    path = write(tmp_path / "train.yaml", text)
    _, found = findings(capsys, "--isolated", "--select", "PD105,PD001", str(path))
    assert "PD105" not in codes(found)
    stale = [f for f in found if f["code"] == "PD001"]
    if "PD203" in text:  # the file-wide comment names a code that suppressed nothing
        assert [f["message"] for f in stale] == ["`ignore-file[PD203]` suppresses nothing"]
    else:
        assert stale == []


def test_suppression_two_lines_away_is_unused(capsys, tmp_path):
    path = write(tmp_path / "train.yaml", "pretrain_doctor: 1\nschedule: {warmup_steps: 100}\n"
                                          "run: {max_steps: 50}  # pretrain-doctor: ignore[PD105]\n")
    code, found = findings(capsys, "--isolated", "--select", "PD105,PD001", str(path))
    assert code == 1
    by_code = {f["code"]: f for f in found}
    assert by_code["PD105"]["line"] == 2
    assert by_code["PD001"]["line"] == 3
    assert by_code["PD001"]["severity"] == "info"
    assert by_code["PD001"]["message"] == "`ignore[PD105]` suppresses nothing"


def test_suppressions_in_toml(capsys, tmp_path):
    path = write(tmp_path / "train.toml", """\
        pretrain_doctor = 1
        [schedule]
        warmup_steps = 100  # pretrain-doctor: ignore[PD105]
        [run]
        max_steps = 50  # pretrain-doctor: ignore[PD999]
        """)
    _, found = findings(capsys, "--isolated", "--select", "PD105,PD001", str(path))
    assert [(f["code"], f["line"]) for f in found] == [("PD001", 5)]


def test_suppression_comments_are_read_in_python_configs(tmp_path):
    path = write(tmp_path / "train.py", "warmup_iters = 100  # pretrain-doctor: ignore[PD105]\n"
                                        "# pretrain-doctor: ignore-file[PD2,no-seed]\n")
    (line, file_wide) = load_document(path).suppressions
    assert (line.line, line.file_wide, line.codes) == (1, False, ("PD105",))
    assert (file_wide.line, file_wide.file_wide, file_wide.codes) == (2, True, ("PD2", "no-seed"))


# -- project settings -------------------------------------------------------------------

def test_pyproject_settings_found_walking_up(capsys, tmp_path):
    write(tmp_path / "pyproject.toml", """\
        [project]
        name = "demo"

        [tool.pretrain-doctor]
        select = ["PD105", "PD001"]
        severity = { PD105 = "warning" }
        fail-on = "warning"
        """)
    config = write(tmp_path / "configs" / "deep" / "train.yaml", WARMUP_TOO_LONG)
    code, found = findings(capsys, str(config))
    assert code == 1  # fail-on warning from the settings
    assert [(f["code"], f["severity"]) for f in found] == [("PD105", "warning")]
    code, found = findings(capsys, "--fail-on", "error", str(config))
    assert code == 0  # the flag beats the settings
    code, found = findings(capsys, "--isolated", "--select", "PD105", str(config))
    assert (code, found[0]["severity"]) == (1, "error")


def test_dedicated_settings_file_and_nearest_wins(capsys, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.pretrain-doctor]\nselect = ["PD105"]\n')
    write(tmp_path / "team" / ".pretrain-doctor.toml", 'select = ["PD105", "PD001"]\nignore = ["PD105"]\n')
    write(tmp_path / "team" / "pyproject.toml", '[tool.pretrain-doctor]\nselect = ["PD1"]\n')  # same folder: loses
    inner = write(tmp_path / "team" / "a" / "train.yaml", WARMUP_TOO_LONG + "# pretrain-doctor: ignore[PD203]\n")
    outer = write(tmp_path / "b" / "train.yaml", WARMUP_TOO_LONG + "# pretrain-doctor: ignore[PD203]\n")
    _, found = findings(capsys, str(inner))
    assert codes(found) == {"PD001"}
    _, found = findings(capsys, str(outer))
    assert codes(found) == {"PD105"}


def test_pyproject_without_our_table_is_walked_past(capsys, tmp_path):
    write(tmp_path / ".pretrain-doctor.toml", 'select = ["PD105"]\nseverity = { PD105 = "info" }\n')
    write(tmp_path / "pkg" / "pyproject.toml", '[project]\nname = "pkg"\n')
    config = write(tmp_path / "pkg" / "train.yaml", WARMUP_TOO_LONG)
    code, found = findings(capsys, str(config))
    assert (code, [(f["code"], f["severity"]) for f in found]) == (0, [("PD105", "info")])


def test_per_file_ignores(capsys, tmp_path):
    write(tmp_path / ".pretrain-doctor.toml", """\
        select = ["PD105"]
        [per-file-ignores]
        "legacy/*.yaml" = ["PD105"]
        "smoke-*.yaml" = ["warmup-exceeds-training"]
        """)
    legacy = write(tmp_path / "legacy" / "train.yaml", WARMUP_TOO_LONG)
    smoke = write(tmp_path / "runs" / "smoke-test.yaml", WARMUP_TOO_LONG)
    current = write(tmp_path / "current" / "train.yaml", WARMUP_TOO_LONG)
    _, found = findings(capsys, str(legacy), str(smoke), str(current))
    assert [f["file"] for f in found] == [str(current)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('selct = ["PD105"]\n', "unknown setting(s) selct"),
        ('fail-on = "sometimes"\n', "fail-on must be one of"),
        ('select = ["PD999"]\n', "'PD999' matches no rule"),
        ("select = [\n", "cannot read settings"),
    ],
)
def test_bad_settings_exit_2(capsys, tmp_path, text, message):
    write(tmp_path / ".pretrain-doctor.toml", text)
    config = write(tmp_path / "train.yaml", WARMUP_TOO_LONG)
    code, _, err = cli(capsys, "check", str(config))
    assert code == 2
    assert message in err and "Traceback" not in err


def test_pyproject_read_only_when_it_names_the_tool(capsys, tmp_path):
    # Another tool's broken pyproject is not ours to refuse; a quoted table name is still ours.
    write(tmp_path / "other" / "pyproject.toml", "[tool.black\nline-length = 100\n")
    other = write(tmp_path / "other" / "train.yaml", WARMUP_TOO_LONG)
    assert cli(capsys, "check", str(other))[0] == 1
    write(tmp_path / "ours" / "pyproject.toml", '[tool."pretrain-doctor"]\nignore = ["PD105"]\n')
    ours = write(tmp_path / "ours" / "train.yaml", WARMUP_TOO_LONG)
    code, out, _ = cli(capsys, "check", str(ours), "--format", "json")
    assert code == 0 and "PD105" not in out


# -- plugins ----------------------------------------------------------------------------

PLUGIN_RULE = '''
from pretrain_doctor.rule import Rule


class LrIsSet(Rule):
    """The learning rate is set (a test plugin).

    ## What it does
    Fires whenever a config sets a learning rate.

    ## Why is this bad?
    It is not; this rule exists to test plugin loading.

    ## Example
    ```yaml
    optimizer: {lr: 1.0e-3}
    ```

    ## Use instead
    ```yaml
    optimizer: {}
    ```

    ## References
    - https://example.org/plugins
    """

    code = "CODE"
    slug = "SLUG"
    severity = "warning"

    def check(self, plan):
        if plan.optimizer.lr is not None:
            yield self.finding(plan, "optimizer.lr", f"lr is {plan.optimizer.lr:g}")
'''
LR_CONFIG = "pretrain_doctor: 1\noptimizer:\n  family: adamw\n  lr: 3.0e-4\n"  # lr on line 4


def plugin_source(code: str, slug: str) -> str:
    return PLUGIN_RULE.replace('"CODE"', repr(code)).replace('"SLUG"', repr(slug))


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    folder = tmp_path / "my_rules"
    write(folder / "lr_is_set.py", plugin_source("XPL001", "lr-is-set"))
    write(folder / "broken_syntax.py", "def oops(:\n")
    write(folder / "bad_metadata.py", plugin_source("XPL002", "Not_Kebab"))
    write(folder / "_private.py", "raise RuntimeError('helpers starting with _ are not rule modules')\n")
    return folder


def test_rules_dir_plugin_fires_and_broken_ones_are_reported(capsys, tmp_path, rules_dir):
    config = write(tmp_path / "train.yaml", LR_CONFIG)
    code, out, err = cli(capsys, "check", "--isolated", "--format", "json", "--select", "XPL001",
                         "--rules-dir", str(rules_dir), str(config))
    assert code == 0  # a warning, below the default fail-on
    (finding,) = json.loads(out)["findings"]
    assert (finding["code"], finding["slug"], finding["line"], finding["key"]) == ("XPL001", "lr-is-set", 4, "optimizer.lr")
    warnings = [line for line in err.splitlines() if line.startswith("pretrain-doctor: warning:")]
    assert len(warnings) == 2
    assert any("broken_syntax.py" in w and "SyntaxError" in w for w in warnings)
    assert any("bad_metadata.py" in w and "Not_Kebab" in w for w in warnings)
    assert "Traceback" not in err


def test_rules_dir_from_settings_is_relative_to_the_settings_file(capsys, tmp_path, rules_dir):
    write(tmp_path / ".pretrain-doctor.toml", 'rules-dir = ["my_rules"]\nselect = ["XPL001"]\n')
    config = write(tmp_path / "configs" / "train.yaml", LR_CONFIG)
    _, found = findings(capsys, "--trust-settings-rules", str(config))
    assert codes(found) == {"XPL001"}


def test_plugin_in_rules_and_explain(capsys, rules_dir):
    code, out, err = cli(capsys, "rules", "--rules-dir", str(rules_dir))
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("XPL001")]
    assert "lr-is-set" in line and "warning" in line and f"[rules-dir {rules_dir}]" in line
    assert "broken_syntax.py" in err
    code, out, _ = cli(capsys, "explain", "lr-is-set", "--rules-dir", str(rules_dir))
    assert code == 0
    assert out.startswith("XPL001 lr-is-set (warning)\n")
    assert "## " not in out and "Why is this bad?\n----" in out


@pytest.fixture
def entry_point_plugin(tmp_path, monkeypatch):
    """A package registered under the `pretrain_doctor.rules` entry-point group, plus one that
    cannot be imported."""
    write(tmp_path / "site" / "acme_doctor_rules" / "__init__.py", '"""ACME rules."""\n')
    write(tmp_path / "site" / "acme_doctor_rules" / "lr_rule.py", plugin_source("ACME001", "acme-lr-is-set"))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    points = [("acme", "acme_doctor_rules"), ("builtin", registry.BUILTIN_PACKAGE), ("ghost", "ghost_rules_xyz")]
    monkeypatch.setattr(registry, "_entry_points", lambda: points)
    yield
    sys.modules.pop("acme_doctor_rules", None)
    sys.modules.pop("acme_doctor_rules.lr_rule", None)


def test_entry_point_plugin(capsys, tmp_path, entry_point_plugin):
    config = write(tmp_path / "train.yaml", LR_CONFIG)
    code, out, err = cli(capsys, "check", "--isolated", "--format", "json", "--select", "ACME001,PD105",
                         str(config))
    assert code == 0
    assert [(f["code"], f["line"]) for f in json.loads(out)["findings"]] == [("ACME001", 4)]
    assert "plugin 'ghost' (ghost_rules_xyz) failed to load: ModuleNotFoundError" in err
    code, out, _ = cli(capsys, "rules")
    (line,) = [line for line in out.splitlines() if line.startswith("ACME001")]
    assert line.endswith("[acme]")
    assert any(line.startswith("PD105 ") for line in out.splitlines())  # built-ins still there


def test_installed_plugin_package_loads_through_its_dist_info(capsys, tmp_path, monkeypatch):
    """No stand-in for importlib.metadata: a distribution on sys.path whose entry_points.txt
    declares the group is found by the cheap pre-check and loaded."""
    site = tmp_path / "site"
    write(site / "acme_doctor_rules" / "__init__.py", '"""ACME rules."""\n')
    write(site / "acme_doctor_rules" / "lr_rule.py", plugin_source("ACME002", "acme-lr-given"))
    write(site / "acme_doctor_rules-1.0.dist-info" / "METADATA", "Metadata-Version: 2.1\nName: acme-doctor-rules\nVersion: 1.0\n")
    write(site / "acme_doctor_rules-1.0.dist-info" / "entry_points.txt", "[pretrain_doctor.rules]\nacme = acme_doctor_rules\n")
    monkeypatch.syspath_prepend(str(site))
    try:
        config = write(tmp_path / "train.yaml", LR_CONFIG)
        code, out, _ = cli(capsys, "check", "--isolated", "--format", "json", "--select", "ACME002", str(config))
        assert code == 0
        assert [(f["code"], f["line"]) for f in json.loads(out)["findings"]] == [("ACME002", 4)]
        assert registry.load_rules().rules["ACME002"].origin == "acme"
    finally:
        sys.modules.pop("acme_doctor_rules", None)
        sys.modules.pop("acme_doctor_rules.lr_rule", None)


def test_plugin_lookup_is_skipped_only_when_no_distribution_can_declare_the_group(tmp_path, monkeypatch):
    site = tmp_path / "site"
    write(site / "other-2.0.dist-info" / "entry_points.txt", "[console_scripts]\nother = other:main\n")
    write(site / "bare-1.0.egg-info", "Metadata-Version: 1.0\n")  # an egg-info file, not a folder
    monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / "missing")])
    # Only the standard finders (other tests may have added theirs, which this check defers to).
    monkeypatch.setattr(sys, "meta_path", [m for m in sys.meta_path if not hasattr(m, "find_distributions")
                                           or m is importlib.machinery.PathFinder])
    assert registry._group_may_be_declared() is False
    assert registry.load_rules().rules["PD105"].origin == "built-in"
    write(site / "rules.zip", "not looked into: importlib.metadata decides")
    monkeypatch.setattr(sys, "path", [str(site), str(site / "rules.zip")])
    assert registry._group_may_be_declared() is True


# -- rules, explain, --help ---------------------------------------------------------------

def test_rules_lists_built_ins(capsys):
    code, out, _ = cli(capsys, "rules")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()}
    assert rows["PD105"].split()[1:3] == ["warmup-exceeds-training", "error"]
    assert "Warmup is as long as" in rows["PD105"]
    assert rows["PD001"].split()[1:3] == ["unused-suppression", "info"]
    assert list(rows) == sorted(rows)


def test_rules_as_json(capsys):
    code, out, _ = cli(capsys, "rules", "--format", "json")
    assert code == 0
    rows = {row["code"]: row for row in json.loads(out)}
    assert rows["PD105"] == {"code": "PD105", "slug": "warmup-exceeds-training", "severity": "error",
                             "summary": rows["PD105"]["summary"], "origin": "built-in", "fix": "never"}
    assert rows["PD002"]["fix"] == "sometimes"
    assert rows["PD105"]["summary"].startswith("Warmup is as long as")


@pytest.mark.parametrize("name", ["PD105", "pd105", "warmup-exceeds-training"])
def test_explain_prints_the_page(capsys, name):
    code, out, _ = cli(capsys, "explain", name)
    assert code == 0
    assert out.startswith("PD105 warmup-exceeds-training (error)\n")
    for heading in ("What it does", "Why is this bad?", "Example", "Use instead", "References"):
        assert f"\n{heading}\n" in out
    assert "ignore[PD105]" in out
    assert "https://arxiv.org/abs/1706.02677" in out


def test_explain_unknown_rule_exits_2(capsys):
    code, _, err = cli(capsys, "explain", "PD999")
    assert code == 2
    assert err == "pretrain-doctor: error: unknown rule 'PD999' (see `pretrain-doctor rules`)\n"


def subcommands() -> list[str]:
    return sorted(typer.main.get_command(app).commands)


@pytest.mark.parametrize("name", subcommands())
def test_every_subcommand_help_has_an_example(capsys, name):
    code, out, _ = cli(capsys, name, "--help")
    assert code == 0
    assert "Example" in out
    assert f"pretrain-doctor {name} " in out.split("Example", 1)[1]


def test_version(capsys):
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.startswith("pretrain-doctor ")


def test_plan_shows_sub_model_fields_without_a_deprecation_warning(capsys):
    """`plan` walks the plan's sub-models by type: reading `model_fields` on an instance warns (pydantic >= 2.11)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        code, out, err = cli(capsys, "plan", str(ROOT / "fixtures" / "demo" / "pretrain-gpt2.yaml"))
    assert code == 0, err
    assert "optimizer.lr" in out


def test_plan_of_a_config_takes_the_world_size_of_the_launch_beside_it(tmp_path, capsys) -> None:
    # held-out review 128, A 05/A 13: `plan config.yaml` showed the accelerate YAML's processes where the launch
    # script beside it passes `--num_processes=1`, the world size `check` of the folder judges the config with
    (tmp_path / "zero2.yaml").write_text("compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                                         "deepspeed_config:\n  zero_stage: 2\nmixed_precision: bf16\nnum_processes: 8\n")
    (tmp_path / "sft.yaml").write_text("model_name_or_path: Qwen/Qwen2.5-7B\nlearning_rate: 2.0e-5\nbf16: true\n"
                                       "per_device_train_batch_size: 4\ngradient_accumulation_steps: 2\n"
                                       "num_train_epochs: 1\noutput_dir: out\nwarmup_ratio: 0.1\n")
    (tmp_path / "run_sft.sh").write_text("accelerate launch --config_file recipes/zero2.yaml --num_processes=1 "
                                         "src/open_r1/sft.py --config recipes/sft.yaml --use_peft\n")
    code, out, err = cli(capsys, "plan", str(tmp_path / "sft.yaml"))
    assert code == 0, err
    assert "judged with the world size 1 that" in out and "run_sft.sh" in out
    assert [line.split()[1] for line in out.splitlines() if line.strip().startswith("parallel.world_size")] == ["1"]
    assert "also sets `use_peft` on its command line over this file" in out  # LoRA, switched on by the launch
    code, out, err = cli(capsys, "plan", "--world-size", "4", str(tmp_path / "sft.yaml"))
    assert "judged with the world size" not in out and "also sets `use_peft`" in out  # the flag decides the size


def test_a_data_config_another_config_names_is_its_companion_not_a_run(tmp_path, capsys) -> None:
    # held-out review 100, C 17: ReLoRA's run config names a GPT-NeoX dataset YAML (`megatron_dataset_config`) whose
    # trainer settings "are ignored by the training script"; it was judged as a NeoX run without checkpoints (PD801)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "pile.yaml").write_text(
        '{"train_data_paths": ["/fsx/pile/doc"], "valid_data_paths": ["/fsx/pile/doc"], "seq_length": 2048,\n'
        ' "train_iters": 143000, "num_layers": 12, "hidden_size": 768, "num_attention_heads": 12,\n'
        ' "train_micro_batch_size_per_gpu": 4, "optimizer": {"type": "Adam", "params": {"lr": 0.0006}}}\n')
    (tmp_path / "run.yaml").write_text("megatron_dataset_config: configs/pile.yaml\nlr: 0.001\nbatch_size: 8\n")
    from pretrain_doctor.check.engine import check_paths
    from pretrain_doctor.settings import CheckOptions

    report = check_paths([tmp_path], CheckOptions())
    [companion] = [f for f in report.files if f.path.endswith("pile.yaml")]
    assert companion.role == "companion" and "`megatron_dataset_config`" in companion.note
    assert not report.findings
