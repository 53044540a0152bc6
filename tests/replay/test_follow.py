"""`replay --follow`: another process appends to a log; alerts come as the lines land."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start_follow(log: Path, *args: str) -> tuple[subprocess.Popen, "queue.Queue[tuple[float, str]]"]:
    process = subprocess.Popen([sys.executable, "-m", "pretrain_doctor", "replay", str(log), "--follow", *args],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put((time.monotonic(), line.rstrip("\n")))

    threading.Thread(target=pump, daemon=True).start()
    return process, lines


def wait_for(lines, needle: str, timeout: float = 60.0) -> tuple[float, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stamp, line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if needle in line:
            return stamp, line
    raise AssertionError(f"no line with {needle!r} within {timeout} s")


def nanogpt_line(step: int, loss: float) -> str:
    return f"[rank0]: iter {step}: loss {loss:.4f}, time 41.23ms, mfu 12.34%\n"


@pytest.mark.slow
def test_an_injected_divergence_is_reported_within_a_second_and_sigint_exits_cleanly(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("".join(nanogpt_line(s, 3.0 - 0.002 * s + 0.01 * (s % 3)) for s in range(1, 200)))
    alerts_file = tmp_path / "alerts.jsonl"
    process, lines = start_follow(log, "--select", "PDM101,PDM202", "--on-alert", f"cat >> {alerts_file}; echo >> "
                                  f"{alerts_file}")
    try:
        wait_for(lines, "following")
        written: dict[int, float] = {}
        with open(log, "a") as handle:
            for step in range(200, 260):
                loss = 3.0 - 0.002 * step + (4.0 if step >= 220 else 0.0)  # a sustained jump from step 220
                handle.write(nanogpt_line(step, loss))
                handle.flush()
                written[step] = time.monotonic()
                time.sleep(0.05)
        stamp, line = wait_for(lines, "error PDM202")
        step = int(line.split(":")[0].split()[1])
        assert 220 <= step < 260 and stamp - written[step] < 1.0, (line, stamp - written[step])
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) in (0, 1, 130)
        wait_for(lines, "stopped following")
    finally:
        if process.poll() is None:
            process.kill()
    delivered = [json.loads(text) for text in alerts_file.read_text().splitlines() if text.strip()]
    assert delivered and delivered[0]["code"] == "PDM202" and delivered[0]["type"] == "alert"


@pytest.mark.slow
def test_follow_a_json_lines_log_until_idle(tmp_path):
    log = tmp_path / "trainer_log.jsonl"
    log.write_text(json.dumps({"current_steps": 1, "loss": 2.0}) + "\n")
    process, lines = start_follow(log, "--idle", "1.5")
    try:
        wait_for(lines, "following")
        with open(log, "a") as handle:
            handle.write(json.dumps({"current_steps": 2, "loss": float("nan")}) + "\n")
        _, line = wait_for(lines, "PDM101")
        assert line.startswith("step 2: error PDM101")
        assert process.wait(timeout=30) == 1  # an error at the default --fail-on
    finally:
        if process.poll() is None:
            process.kill()


FOLLOW_SCHEMA = json.loads((ROOT / "pretrain_doctor" / "postmortem" / "replay-follow.schema.json").read_text())


def json_lines_of(text: str) -> list[dict]:
    """Every printed line is one strict-JSON object valid against replay-follow.schema.json."""
    import jsonschema

    objects = []
    for line in text.splitlines():
        obj = json.loads(line, parse_constant=lambda name: pytest.fail(f"non-strict JSON {name} in {line}"))
        jsonschema.validate(obj, FOLLOW_SCHEMA)
        objects.append(obj)
    return objects


def test_follow_format_json_prints_one_schema_valid_object_per_line(tmp_path):
    import io

    from pretrain_doctor.replay.command import ReplayOptions, run_replay

    log = tmp_path / "trainer_log.jsonl"
    log.write_text("".join(json.dumps({"current_steps": s, "loss": 2.0 - 0.01 * s}) + "\n" for s in range(1, 30))
                   + json.dumps({"current_steps": 30, "loss": float("inf")}) + "\n")
    out = io.StringIO()
    code = run_replay(ReplayOptions(paths=[log], output_format="json", follow=True, idle=0.4), out)
    objects = json_lines_of(out.getvalue())
    assert [o["type"] for o in objects][0] == "following" and objects[-1]["type"] == "stopped"
    alerts = [o for o in objects if o["type"] == "alert"]
    assert any(a["code"] == "PDM101" and a["step"] == 30 for a in alerts), alerts
    assert objects[-1] == {"type": "stopped", "source": str(log), "reason": "idle", "alerts": len(alerts),
                           "counts": {s: sum(a["severity"] == s for a in alerts) for s in ("error", "warning", "info")},
                           "exit_code": 1}
    assert code == 1


def test_follow_format_json_with_no_line_within_idle_says_so_in_json(tmp_path):
    import io

    from pretrain_doctor.replay.command import ReplayOptions, run_replay

    out = io.StringIO()
    code = run_replay(ReplayOptions(paths=[tmp_path / "later.log"], output_format="json", follow=True, idle=0.2), out)
    (stopped,) = json_lines_of(out.getvalue())
    assert stopped["reason"] == "no-lines" and stopped["alerts"] == 0 and code == 0


@pytest.mark.slow
def test_follow_format_json_streams_alerts_and_exits_cleanly_on_sigint(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("".join(nanogpt_line(s, 3.0 - 0.002 * s) for s in range(1, 50)))
    process, lines = start_follow(log, "--format", "json")
    try:
        wait_for(lines, '"following"')
        with open(log, "a") as handle:
            handle.write(nanogpt_line(50, float("nan")))
        _, line = wait_for(lines, '"PDM101"')
        alert = json_lines_of(line)[0]
        assert alert["type"] == "alert" and alert["step"] == 50 and alert["severity"] == "error"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 1  # a clean exit with the --fail-on code, no traceback
        _, line = wait_for(lines, '"stopped"')
        assert json_lines_of(line)[0]["reason"] == "interrupted"
    finally:
        if process.poll() is None:
            process.kill()
    leftover = []
    while not lines.empty():
        leftover.append(lines.get()[1])
    assert not any("Traceback" in text for text in leftover), leftover


def test_follow_a_contrastive_run_log_judges_with_its_objective_as_replay_does(tmp_path):
    """The run log's plan names the objective: a SimCSE-like loss converging to ~0 is no plateau
    (PDM204) for a contrastive run, followed as replayed."""
    import io
    import math

    from pretrain_doctor.detectors.base import StepRecord
    from pretrain_doctor.readers import read_run
    from pretrain_doctor.replay.command import ReplayOptions, run_replay
    from pretrain_doctor.replay.engine import judge
    from pretrain_doctor.runlog import header_line, step_line

    def write(kind: str) -> Path:
        lines = [header_line("r1", plan={"objective": {"kind": kind}})]
        lines += [step_line(StepRecord(s, {"loss": 3.0 * math.exp(-s / 30) + 1e-4})) for s in range(1, 301)]
        path = tmp_path / kind / "doctor.jsonl"
        path.parent.mkdir()
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        return path

    for kind in ("contrastive", "causal_lm"):
        path = write(kind)
        out = io.StringIO()
        run_replay(ReplayOptions(paths=[path], output_format="json", follow=True, idle=0.3), out)
        followed = [(o["step"], o["code"]) for o in map(json.loads, out.getvalue().splitlines()) if o["type"] == "alert"]
        replayed = [(a.step, a.code) for a in judge(read_run([path])).alerts]
        assert followed == replayed
        assert any(code == "PDM204" for _, code in followed) is (kind != "contrastive")
