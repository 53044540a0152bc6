"""The monitor under torch.distributed: 2 CPU processes, gloo backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.distributed._launch import run_ranks
from tests.distributed.scenarios import MAX_GRAD_NORM, STEPS, reference_grad_norms
from tests.run_log import read_run_log

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("distributed")]


def _per_layer(metrics: dict) -> list[float]:
    return sorted(v for k, v in metrics.items() if k.startswith("grad_norm/"))


@pytest.mark.parametrize("scenario", ["ddp_grad_norm", "fsdp_grad_norm"])
def test_every_rank_sees_the_global_grad_norm(scenario: str, tmp_path: Path) -> None:
    ranks = run_ranks(scenario, tmp_path)
    reference = reference_grad_norms()
    expected = [step["grad_norm"] for step in reference]
    assert all(norm > MAX_GRAD_NORM for norm in expected)  # clipping was active at every step
    for result in ranks:
        seen = [r["metrics"]["grad_norm"] for r in result["records"]]
        np.testing.assert_allclose(seen, expected, rtol=1e-5)  # pre-clip, as clip_grad_norm_ returns it
        np.testing.assert_allclose([r["metrics"]["clip_ratio"] for r in result["records"]],
                                   [MAX_GRAD_NORM / norm for norm in expected], rtol=1e-4)
        # Per-layer norms are sampled every `sync_every` (2) steps; there they are global too.
        sampled = [(record, ref) for record, ref in zip(result["records"], reference)
                   if _per_layer(record["metrics"])]
        assert [record["step"] for record, _ in sampled] == list(range(2, STEPS + 1, 2))
        for record, ref in sampled:
            np.testing.assert_allclose(_per_layer(record["metrics"]), _per_layer(ref), rtol=1e-5)
    # One run log, written by rank 0 alone: one header and one record per step.
    lines = read_run_log(tmp_path / "log")
    assert [line["type"] for line in lines].count("header") == 1
    steps = [line for line in lines if line["type"] == "step"]
    assert [s["step"] for s in steps] == list(range(1, STEPS + 1))
    assert lines[0]["world_size"] == 2
    np.testing.assert_allclose([s["metrics"]["grad_norm"] for s in steps], expected, rtol=1e-5)


def test_fsdp1_clipping_with_its_own_method_records_the_pre_clip_global_norm(tmp_path: Path) -> None:
    """FullyShardedDataParallel.clip_grad_norm_ computes the global norm over the shards and
    scales inline (no torch clip runs): the doctor takes its return value on every rank.
    Its flat parameters are shards, not replicas: the replica check compares none of them,
    and the sampled per-layer norms add the shards up."""
    ranks = run_ranks("fsdp1_own_clip_grad_norm", tmp_path)
    expected = [step["grad_norm"] for step in reference_grad_norms()]
    assert all(norm > MAX_GRAD_NORM for norm in expected)  # clipping was active at every step
    for result in ranks:
        assert [r["step"] for r in result["records"]] == list(range(1, STEPS + 1))
        np.testing.assert_allclose([r["metrics"]["grad_norm"] for r in result["records"]], expected, rtol=1e-5)
        np.testing.assert_allclose([r["metrics"]["clip_ratio"] for r in result["records"]],
                                   [MAX_GRAD_NORM / norm for norm in expected], rtol=1e-4)
        assert not any("replica_mismatch" in r["extra"] for r in result["records"])
        sampled = [r for r in result["records"] if _per_layer(r["metrics"])]
        assert [r["step"] for r in sampled] == list(range(2, STEPS + 1, 2))
        for record in sampled:  # one flat parameter: its layer's norm is the whole pre-clip norm
            np.testing.assert_allclose(np.linalg.norm(_per_layer(record["metrics"])),
                                       expected[record["step"] - 1], rtol=1e-5)


def test_fsdp1_with_use_orig_params_records_the_norm_its_clip_grad_norm_returns(tmp_path: Path) -> None:
    """FullyShardedDataParallel(use_orig_params=True): the original parameters are views of
    this rank's shard. The recorded pre-clip norm is what FSDP's own clip_grad_norm_
    returned, on every rank; the parameters are shards, not replicas (no PDM106 data), and
    the sampled per-layer norms add the shards up to the global norm."""
    ranks = run_ranks("fsdp1_orig_params_own_clip_grad_norm", tmp_path)
    expected = [step["grad_norm"] for step in reference_grad_norms()]
    assert all(norm > MAX_GRAD_NORM for norm in expected)  # clipping was active at every step
    for result in ranks:
        assert [r["step"] for r in result["records"]] == list(range(1, STEPS + 1))
        recorded = [r["metrics"]["grad_norm"] for r in result["records"]]
        np.testing.assert_allclose(recorded, result["returned"], rtol=1e-6)
        np.testing.assert_allclose(recorded, expected, rtol=1e-5)
        np.testing.assert_allclose([r["metrics"]["clip_ratio"] for r in result["records"]],
                                   [MAX_GRAD_NORM / norm for norm in expected], rtol=1e-4)
        assert not any("replica_mismatch" in r["extra"] for r in result["records"])
        sampled = [r for r in result["records"] if _per_layer(r["metrics"])]
        assert [r["step"] for r in sampled] == list(range(2, STEPS + 1, 2))
        for record in sampled:
            np.testing.assert_allclose(np.linalg.norm(_per_layer(record["metrics"])),
                                       expected[record["step"] - 1], rtol=1e-5)


def _first_alert(result: dict, code: str, rank: int) -> dict:
    """The rank's first alert with `code` (failing with the rank's alerts when it has none)."""
    found = [a for a in result["alerts"] if a["code"] == code]
    assert found, f"rank {rank} saw no {code}: {result['alerts']}"
    return found[0]


def test_nan_loss_on_one_rank_is_an_alert_on_every_rank(tmp_path: Path) -> None:
    ranks = run_ranks("nan_loss_on_last_rank", tmp_path)
    for rank, result in enumerate(ranks):
        assert _first_alert(result, "PDM101", rank)["step"] == 3
        assert not [a for a in result["alerts"] if a["step"] < 3 and a["severity"] != "info"]


def test_nan_parameter_on_one_rank_is_an_alert_on_every_rank(tmp_path: Path) -> None:
    ranks = run_ranks("nan_param_on_last_rank", tmp_path)
    for rank, result in enumerate(ranks):
        nonfinite_param = _first_alert(result, "PDM104", rank)
        # Parameters are checked after each update; the NaN arrived after update 2 and
        # reached every parameter of the last rank through update 3.
        assert nonfinite_param["step"] == 3
        assert "2.bias" in nonfinite_param["data"]["parameters"]


@pytest.mark.parametrize("scenario", ["ddp_replica_divergence", "hsdp_replica_divergence"])
def test_a_corrupted_replica_raises_replica_divergence(scenario: str, tmp_path: Path) -> None:
    ranks = run_ranks(scenario, tmp_path)
    for rank, result in enumerate(ranks):
        divergence = _first_alert(result, "PDM106", rank)
        # The check at step 2 ran before the corruption (after step 3): healthy then.
        assert divergence["step"] == 4
        assert divergence["severity"] == "error"
        assert 1 in divergence["data"]["ranks"]
    log_alerts = [line for line in read_run_log(tmp_path / "log") if line["type"] == "alert" and line["code"] == "PDM106"]
    assert log_alerts and log_alerts[0]["step"] == 4


def test_skip_verdict_is_the_same_on_every_rank(tmp_path: Path) -> None:
    ranks = run_ranks("skip_verdict_on_every_rank", tmp_path)
    for result in ranks:
        assert result["verdicts"] == [False, False, True, False]
        assert result["finite"]
    steps = {line["step"]: line for line in read_run_log(tmp_path / "log") if line["type"] == "step"}
    assert steps[3]["extra"]["skip_reason"] == "non-finite gradient"
