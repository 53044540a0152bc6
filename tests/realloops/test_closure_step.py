"""`optimizer.step(closure)`: the form torch's docs give (LBFGS needs it) and the one Lightning
uses for every step, manual optimization included (its closure may do nothing: the
gradients are there before the step).

Two things went wrong before: a closure passed positionally was not seen (torch's step hooks
get `(optimizer, closure)`, the doctor looked at the optimizer), so the gradients read were
the previous step's; and with a closure the NaN check ran after the update had spread the
NaN, so PDM104 named every parameter instead of the poisoned one.
"""

from __future__ import annotations

import pytest
import torch

import pretrain_doctor

POISONED_AT = 5  # loop step (0-based); the doctor's step 6


def _closure(model, opt, doctor, x, y, norms):
    """A closure as torch's docs write it; it notes the gradient norm it produced."""
    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        doctor.observe(loss=loss)
        loss.backward()
        norms.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))))
        return loss
    return closure


def _train(call: str, steps: int = 10):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    doctor = pretrain_doctor.attach(model, opt, console=False, sync_every=1)
    norms = []
    for step in range(steps):
        if step == POISONED_AT:
            with torch.no_grad():
                model[2].weight[0, 0] = float("nan")
        closure = _closure(model, opt, doctor, x, y, norms)
        if call == "positional":
            opt.step(closure)
        else:
            opt.step(closure=closure)
    doctor.detach()
    return doctor, norms


@pytest.mark.parametrize("call", ["positional", "keyword"])
def test_closure_step_reads_this_steps_gradients_and_names_the_poisoned_weight(call):
    doctor, _ = _train(call)
    by_code = {}
    for alert in doctor.alerts:
        by_code.setdefault(alert.code, alert)
    assert by_code["PDM102"].step == POISONED_AT + 1          # this step's gradients, not the last one's
    origin = by_code["PDM104"]
    assert origin.step == POISONED_AT + 1
    assert "before the update" in origin.message and ": 2.weight (likely origin)" in origin.message
    assert "module 2 " in by_code["PDM103"].message


def test_closure_step_grad_norm_is_the_steps_own(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    doctor = pretrain_doctor.attach(model, opt, console=False, log_dir=tmp_path)
    seen = []
    for step in range(6):
        x, y = torch.randn(8, 4) * (step + 1), torch.randn(8, 1)
        opt.step(_closure(model, opt, doctor, x, y, seen))
    doctor.detach()
    from .harness import logged_metric
    logged = logged_metric(tmp_path, "grad_norm")
    assert [round(logged[s], 5) for s in sorted(logged)] == [round(v, 5) for v in seen]
