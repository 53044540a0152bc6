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
