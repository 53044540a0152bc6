"""The overhead-budget controller: intervals follow measured costs, never below the configured ones."""

from __future__ import annotations

import pytest

from pretrain_doctor.monitor.schedule import HEADROOM, ProbeSchedule


def test_without_budget_intervals_stay_fixed():
    schedule = ProbeSchedule({"grad_norm": 1, "attention": 200})
    schedule.record_cost("attention", 1.0)
    schedule.record_window(steps=10, wall=0.1, cpu=0.1, overhead=0.05)
    assert schedule.interval == {"grad_norm": 1, "attention": 200}
    assert schedule.due("attention", 400) and not schedule.due("attention", 401)


def test_budget_stretches_costly_probes_to_fit():
    schedule = ProbeSchedule({"grad_norm": 1, "update_ratio": 10, "attention": 0}, budget=0.01)
    schedule.record_cost("grad_norm", 50e-6)      # 50 µs per run
    schedule.record_cost("update_ratio", 1e-3)    # 1 ms per run
    # 10 ms steps, doctor spent 150 µs per step, of which sampled probes 50 + 100 µs: nothing fixed.
    schedule.record_window(steps=10, wall=0.1, cpu=0.1, overhead=10 * 150e-6)
    room = 0.01 * HEADROOM * 0.01
    share = room / 2
    assert schedule.interval["grad_norm"] >= 50e-6 / share
    assert schedule.interval["update_ratio"] >= 1e-3 / share
    spent = 50e-6 / schedule.interval["grad_norm"] + 1e-3 / schedule.interval["update_ratio"]
    assert spent <= room * 1.01
    assert schedule.interval["attention"] == 0  # switched off stays off


def test_budget_is_judged_against_cpu_time_not_a_preempted_wall_clock():
    # 3/4 of the wall time preempted, the doctor's hooks included: its 400 µs of wall time
    # per step are 100 µs of CPU time, 1% of the 10 ms CPU step: over the budget.
    busy = ProbeSchedule({"grad_norm": 1}, budget=0.01)
    busy.record_cost("grad_norm", 400e-6)
    busy.record_window(steps=10, wall=0.4, cpu=0.1, overhead=10 * 400e-6)
    assert busy.step_time == 0.01 and busy.wall_step_time == 0.04 and busy.run_fraction == 0.25
    assert busy.per_step_overhead == pytest.approx(100e-6)
    assert busy.interval["grad_norm"] > 1
    # The same wall times on an idle machine (nothing preempted) are four times the cost.
    idle = ProbeSchedule({"grad_norm": 1}, budget=0.01)
    idle.record_cost("grad_norm", 100e-6)
    idle.record_window(steps=10, wall=0.1, cpu=0.1, overhead=10 * 100e-6)
    assert idle.interval["grad_norm"] > 1
    cheap = ProbeSchedule({"grad_norm": 1}, budget=0.01)
    cheap.record_cost("grad_norm", 100e-6)
    cheap.record_window(steps=10, wall=0.4, cpu=0.1, overhead=10 * 100e-6)  # 25 µs of CPU per step
    assert cheap.interval["grad_norm"] == 1


def test_cheap_probes_keep_their_configured_interval():
    schedule = ProbeSchedule({"grad_norm": 1, "attention": 200}, budget=0.01)
    schedule.record_cost("grad_norm", 1e-6)
    schedule.record_cost("attention", 1e-4)
    schedule.record_window(steps=10, wall=1.0, cpu=1.0, overhead=10 * 2e-6)
    assert schedule.interval == {"grad_norm": 1, "attention": 200}


def test_a_probe_held_to_seconds_stretches_no_further():
    # A sync costing 5 ms per run on 10 ms steps would want hundreds of steps between
    # runs; held to 1 s of training it stops at 100 steps, and held to 0 s (several
    # processes, whose syncs must pair up) it keeps its configured interval.
    held = ProbeSchedule({"sync": 10}, budget=0.01, max_seconds={"sync": 1.0})
    fixed = ProbeSchedule({"sync": 10}, budget=0.01, max_seconds={"sync": 0.0})
    for schedule in (held, fixed):
        schedule.record_cost("sync", 5e-3)
        schedule.record_window(steps=10, wall=0.1, cpu=0.1, overhead=5e-3)
    assert held.interval["sync"] == 100
    assert fixed.interval["sync"] == 10


def test_window_statistics_are_weighed_by_their_steps():
    # The same new per-step overhead moves the estimate further after a 50-step window
    # (a stretched sync interval) than after a 10-step one.
    short, long = ProbeSchedule({"grad_norm": 1}, budget=0.01), ProbeSchedule({"grad_norm": 1}, budget=0.01)
    for schedule in (short, long):
        schedule.record_window(steps=10, wall=0.1, cpu=0.1, overhead=10 * 100e-6)
    short.record_window(steps=10, wall=0.1, cpu=0.1, overhead=10 * 20e-6)
    long.record_window(steps=50, wall=0.5, cpu=0.5, overhead=50 * 20e-6)
    assert short.per_step_overhead == pytest.approx(0.8 * 100e-6 + 0.2 * 20e-6)
    assert long.per_step_overhead == pytest.approx(0.8 ** 5 * 100e-6 + (1 - 0.8 ** 5) * 20e-6)


def test_a_probe_costs_what_its_clock_or_the_step_times_show_the_more():
    clocked = ProbeSchedule({"layer_norms": 10}, budget=0.01)
    seen = ProbeSchedule({"layer_norms": 10}, budget=0.01)
    for schedule in (clocked, seen):
        schedule.record_cost("layer_norms", 100e-6)
    seen.record_seen_cost("layer_norms", 2e-3)  # twenty times what its clock showed
    for schedule in (clocked, seen):
        schedule.record_window(steps=10, wall=0.1, cpu=0.1, overhead=10 * 20e-6)
    # 25 µs a step allowed (a quarter of 1% of 10 ms): 2 ms a run fits once every 80 steps
    assert clocked.interval["layer_norms"] == 10 and seen.interval["layer_norms"] >= 80


def test_the_schedule_accounts_its_sync_points():
    from pretrain_doctor.monitor.schedule import hook_clock

    schedule = ProbeSchedule({"sync": 10})
    schedule.spent = 1e-3  # the hooks' time in this window
    schedule.charge_sync(hook_clock() - 2e-3)  # attach, sync(), detach: added to the window, which stays open
    assert schedule.spent >= 3e-3 and schedule.per_step_overhead is None and "sync" not in schedule.cost
    schedule.charge_sync(hook_clock() - 1e-3, scheduled_step=10)  # a scheduled sync closes the window
    assert schedule.spent == 0.0 and schedule.cost["sync"] >= 1e-3
    assert schedule.per_step_overhead is not None and schedule.per_step_overhead > 0  # scaled by the run fraction
