"""attach's options are explicit (its signature, or one MonitorOptions) and checked:
an unknown option, detector or detector option is an error naming it, never swallowed."""

from __future__ import annotations

import inspect

import pytest
import torch

import pretrain_doctor
from pretrain_doctor.monitor.options import DEFAULTS, MonitorOptions
from tests.monitor.test_doctor_api import mlp

QUIET = dict(console=False)


def _model_and_optimizer():
    model = mlp()
    return model, torch.optim.SGD(model.parameters(), lr=0.05)


def test_attach_shows_every_option_and_its_default_in_its_signature():
    signature = inspect.signature(pretrain_doctor.attach)
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    for name in MonitorOptions.model_fields:
        if name != "detector_options":
            assert signature.parameters[name].default == getattr(DEFAULTS, name), name
    assert signature.parameters["sync_every"].default == 10  # the spec's documented default
    # the spec's positional order (monitor.md) still works
    model, optimizer = _model_and_optimizer()
    doctor = pretrain_doctor.attach(model, optimizer, None, False, 3, None, "warn", None, None, None, **QUIET)
    assert doctor.sync_every == 3
    doctor.detach()


def test_an_unknown_keyword_to_attach_is_a_type_error():
    model, optimizer = _model_and_optimizer()
    with pytest.raises(TypeError, match="sync_evry"):
        pretrain_doctor.attach(model, optimizer, sync_evry=5)
    with pytest.raises(TypeError, match="z_spike"):  # detector options no longer hide among attach's keywords
        pretrain_doctor.attach(model, optimizer, z_spike=8)
    assert not optimizer._optimizer_step_pre_hooks and not model._forward_hooks


@pytest.mark.parametrize("options, message", [
    ({"PDM21": {"z_spike": 8}}, r"'PDM21' is neither .* \(did you mean 'PDM201'\?\)"),
    ({"loss-spke": {"z_spike": 8}}, r"did you mean 'loss-spike'"),
    ({"PDM201": {"z_spik": 8}}, r"PDM201 loss-spike has no option 'z_spik' \(did you mean 'z_spike'\?\)"),
    ({"grace_step": 50}, r"did you mean 'grace_steps'"),
    ({"PDM201": 8}, r"give a mapping of its options"),
])
def test_bad_detector_options_name_the_option_with_a_did_you_mean(options, message):
    model, optimizer = _model_and_optimizer()
    with pytest.raises(ValueError, match=message):
        pretrain_doctor.attach(model, optimizer, detector_options=options, **QUIET)
    assert not optimizer._optimizer_step_pre_hooks


def test_detector_options_reach_the_detectors_by_code_slug_or_flat_name():
    model, optimizer = _model_and_optimizer()
    doctor = pretrain_doctor.attach(model, optimizer, select=["PDM201", "PDM301"], **QUIET,
                                    detector_options={"PDM201": {"z_spike": 8}, "grad-norm-spike": {"factor": 20},
                                                      "grace_steps": 7})
    spike, grad = (next(d for d in doctor.detectors.detectors if d.code == code) for code in ("PDM201", "PDM301"))
    doctor.detach()
    assert spike.options["z_spike"] == 8 and grad.options["factor"] == 20
    assert spike.options["grace_steps"] == grad.options["grace_steps"] == 7


def test_one_options_object_for_attach_with_its_values():
    options = MonitorOptions(sync_every=4, update_every=8, console=False, detector_options={"PDM201": {"z_spike": 9}})
    model, optimizer = _model_and_optimizer()
    doctor = pretrain_doctor.attach(model, optimizer, options=options)
    assert doctor.sync_every == 4 and doctor.schedule.interval["update_ratio"] in (0, 8)
    assert next(d for d in doctor.detectors.detectors if d.code == "PDM201").options["z_spike"] == 9
    doctor.detach()
    with pytest.raises(TypeError, match="not both.*sync_every"):
        pretrain_doctor.attach(model, optimizer, sync_every=2, options=options)
    with pytest.raises(TypeError, match="MonitorOptions"):
        pretrain_doctor.attach(model, optimizer, options={"sync_every": 2})


@pytest.mark.parametrize("bad, error, message", [
    (dict(sync_every=0), ValueError, "sync_every"),
    (dict(start_step=-1), ValueError, "start_step"),
    (dict(on_alert="stpo"), ValueError, r"did you mean 'stop'"),
    (dict(action_level="warn"), ValueError, r"did you mean 'warning'"),
    (dict(overhead_budget=5), ValueError, "overhead_budget"),
    (dict(log_dri="runs"), TypeError, r"unknown option 'log_dri' \(did you mean 'log_dir'\?\)"),
])
def test_bad_values_are_one_line_errors_naming_the_option(bad, error, message):
    with pytest.raises(error, match=message) as caught:
        MonitorOptions.of("attach", **bad)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("attach: ")


def test_the_callbacks_check_their_options_when_made():
    from pretrain_doctor.integrations.hf import DoctorCallback

    with pytest.raises(TypeError, match=r"DoctorCallback: unknown option 'on_alret' \(did you mean 'on_alert'\?\)"):
        DoctorCallback(on_alret="stop")
    with pytest.raises(ValueError, match="has no option"):
        DoctorCallback(detector_options={"PDM201": {"zspike": 3}})
    options = MonitorOptions(sync_every=3)
    assert DoctorCallback(options=options).options is options
    assert DoctorCallback(sync_every=3).options == options
    with pytest.raises(TypeError, match="not both"):
        DoctorCallback(options=options, console=False)
    shown = inspect.signature(DoctorCallback).parameters
    assert "sync_every" in shown and shown["sync_every"].default == 10 and "skip_poisoned" in shown
