"""The documentation site: `mkdocs build --strict` (warnings are errors) over the pages generated
from the code, and the example GitHub Actions workflow's check command."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pretrain_doctor.dialects import DIALECT_MODULES
from pretrain_doctor.docs.site import check_pages, field_mappings
from pretrain_doctor.explain import all_checks

from .conftest import FIXTURES, ROOT
from .test_cli import cli
from .test_renderers import sarif_validator

WORKFLOW = ROOT / "docs" / "examples" / "github-actions-sarif.yml"


@pytest.mark.slow
def test_site_builds_strict_with_a_page_per_check_dialect_and_the_api(tmp_path) -> None:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (it is in the test lock)")
    site = tmp_path / "site"
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                            "-d", str(site)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    for check in all_checks():
        folder = {"PDM": "detectors", "PDD": "data-checks"}.get(check.code[:3], "rules")
        page = (site / folder / check.code / "index.html").read_text(encoding="utf-8")
        assert check.slug in page and check.severity in page
    for name in DIALECT_MODULES:
        assert "Field mapping" in (site / "dialects" / name / "index.html").read_text(encoding="utf-8")
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "pretrain_doctor.monitor.attach" in api and "overhead_budget" in api and "check_paths" in api
    run_log = (site / "run-log" / "index.html").read_text(encoding="utf-8")
    assert "pretrain-doctor/run-log" in run_log and "PDM201" in run_log
    assert "upload-sarif" in (site / "github-actions" / "index.html").read_text(encoding="utf-8")
    assert (site / "replay-report-tr8-104B.html").is_file()  # the example post-mortem, folded in
    assert not (site / "hooks.py").exists() and not (site / "build_example_report.py").exists()


def test_a_new_check_gets_its_page_in_its_group() -> None:
    """Pages come from whatever checks exist: a data check (PDD) that lands appears without a docs edit."""

    class FakeDataCheck:
        code, slug, severity, origin, aliases = "PDD101", "duplicate-documents", "warning", "built-in (data)", ()

        @classmethod
        def summary(cls) -> str:
            return "Exact duplicates above 1% of the documents."

        @classmethod
        def sections(cls) -> dict[str, str]:
            return {"What it does": "Counts duplicates.", "Why is this bad?": "Memorisation."}

    pages = {page.path: page.text for page in check_pages([FakeDataCheck])}
    assert "## Why is this bad?" in pages["data-checks/PDD101.md"]
    assert "[PDD101](PDD101.md)" in pages["data-checks/index.md"]
    assert "None are built yet" in pages["rules/index.md"]


def test_field_mapping_comes_from_the_plans_a_dialect_builds() -> None:
    mappings = field_mappings([FIXTURES / "demo" / "zephyr-sft.yaml", FIXTURES / "demo" / "pretrain-gpt2.yaml"])
    assert "learning_rate" in mappings["hf"]["keys"]["optimizer.lr"]
    assert "transformers default" in mappings["hf"]["notes"]["clipping.max_norm"]
    assert "optimizer.lr" in mappings["native"]["keys"]["optimizer.lr"]
    assert mappings["hf"]["files"] == 1


def test_example_workflow_uploads_sarif_that_validates(tmp_path, capsys, monkeypatch) -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["check"]["steps"]
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert workflow["permissions"]["security-events"] == "write" and upload["if"] == "always()"
    command = shlex.split(next(s["run"] for s in steps if "--format sarif" in s.get("run", "")))
    assert command[:2] == ["pretrain-doctor", "check"]
    args = [str(FIXTURES / "demo") if a == "configs/" else a for a in command[1:]]
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, *args)
    assert code == 0, err  # --fail-on never: the upload step always gets a report
    sarif = json.loads(Path(tmp_path, upload["with"]["sarif_file"]).read_text(encoding="utf-8"))
    assert not list(sarif_validator().iter_errors(sarif))
    assert any(r["ruleId"] == "PD601" for r in sarif["runs"][0]["results"])
