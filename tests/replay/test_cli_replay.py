"""`pretrain-doctor replay` on the command line: formats, options, exit codes, errors."""

from __future__ import annotations

import json

import pytest

from pretrain_doctor.cli import main
from pretrain_doctor.errors import UsageError
from pretrain_doctor.replay.command import resolve_formats


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", *map(str, args)])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def spiky_csv(tmp_path, spike_at=150, steps=300):
    rows = ["step,loss,grad_norm"]
    for step in range(1, steps + 1):
        loss = 3.0 - step * 0.001 + (0.01 if step % 2 else -0.01)
        if spike_at <= step < spike_at + 40:
            loss += 6.0  # a sustained jump: divergence, an error
        rows.append(f"{step},{loss:.4f},{1.0 + 0.01 * (step % 3):.3f}")
    path = tmp_path / "metrics.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_text_report_and_exit_1_at_fail_on(tmp_path, capsys):
    path = spiky_csv(tmp_path)
    code, out, _ = cli(capsys, path)
    assert code == 1 and "PDM202 loss-divergence" in out and "300 records, steps 1-300" in out
    assert out.strip().splitlines()[-1].startswith("Verdict: diverged at step 150")
    assert cli(capsys, path, "--fail-on", "never")[0] == 0
    assert cli(capsys, path, "--ignore", "PDM202,PDM201", "--fail-on", "error")[0] == 0


def test_json_report_schema(tmp_path, capsys):
    code, out, _ = cli(capsys, spiky_csv(tmp_path), "--format", "json")
    report = json.loads(out)
    assert report["schema"] == "pretrain-doctor/replay-report" and report["version"] == 1
    assert report["run"]["steps"] == 300 and set(report["run"]["metrics"]) == {"loss", "grad_norm"}
    alert = next(a for a in report["alerts"] if a["code"] == "PDM202")
    assert alert["severity"] == "error" and {"step", "code", "slug", "severity", "message", "data"} <= set(alert)
    assert "incidents" in report and code == 1


def test_annotate_turns_alerts_after_a_planned_change_into_info(tmp_path, capsys):
    path = spiky_csv(tmp_path)
    code, out, _ = cli(capsys, path, "--annotate", "100=data-mix:new mixture", "--select", "PDM201,PDM202",
                       "--format", "json")
    alerts = json.loads(out)["alerts"]
    assert code == 0 and alerts and all(a["severity"] == "info" for a in alerts)
    assert any(a["data"].get("planned_change", {}).get("kind") == "data-mix" for a in alerts)
    # at the change itself the detectors re-baseline: the new level is no failure
    assert cli(capsys, path, "--annotate", "150=other", "--select", "PDM201,PDM202", "--fail-on", "warning")[0] == 0


def test_format_resolves_report_and_input_names():
    assert resolve_formats("json", None, None) == (None, "json")
    assert resolve_formats("tensorboard", None, None) == ("tensorboard", "text")
    assert resolve_formats(None, "json", "json") == ("json", "json")
    with pytest.raises(UsageError):
        resolve_formats("sarif", None, None)
    with pytest.raises(UsageError):
        resolve_formats("json", None, "text")


@pytest.mark.parametrize("args, message", [
    (["missing.log"], "no such file"),
    (["{log}", "--map", "nonsense"], "expected TAG=metric"),
    (["{log}", "--annotate", "soon=x"], "expected STEP=note"),
    (["{log}", "--columns", "loss,grad_norm"], "must name a `step` column"),
    (["{log}", "--pattern", "no_step_group"], "named group `step`"),
    (["{log}", "--select", "PDM999"], "matches no detector"),
    (["{log}", "--fail-on", "sometimes"], "--fail-on must be"),
    (["{log}", "--idle", "5"], "go with --follow"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, args, message):
    log = spiky_csv(tmp_path)
    code, out, err = cli(capsys, *[a.format(log=log) for a in args])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_force_the_input_format(tmp_path, capsys):
    path = tmp_path / "log.dat"
    path.write_text("step,loss\n1,2.0\n2,1.9\n")
    code, out, _ = cli(capsys, path, "--format", "csv")
    assert code == 0 and "2 records" in out
    code, _, err = cli(capsys, path, "--input-format", "tensorboard")
    assert code == 2 and "pretrain-doctor: error:" in err
