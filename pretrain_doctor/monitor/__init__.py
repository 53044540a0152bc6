"""The runtime monitor: `pretrain_doctor.attach(model, optimizer)` returns a `Doctor`.

With the integrations and the reference trainer, this is the only part of the package
that imports torch.

    doctor = pretrain_doctor.attach(model, optimizer, log_dir="runs/exp1", sync_every=10)
    for batch in loader:
        loss = model(**batch).loss        # HF-style outputs are picked up by a forward hook
        loss.backward()                   # plain models: doctor.observe(loss=loss)
        optimizer.step(); optimizer.zero_grad()
    doctor.detach()

Module map: `doctor` (the thin front object: wiring, sync points, public API), `options`
(torch-free: `MonitorOptions`, every option and its default, validated),
`capture` (the hooks, taps and per-step state that capture a step), `capture_origin`
(where a NaN came from: before the update, from the device's per-step flags, or not
known), `actions` (torch-free: what `on_alert` does, the summary and `str(doctor)`),
`compiled` (the loss hook inside torch.compile), `probes` (gradient, update and
parameter norms, log Z), `records` (torch-free: a step's host values become its
StepRecord), `transfer` (what is held between syncs, one transfer to the host),
`attention` (entropy and max logit from SDPA/eager calls on sampled steps, through one
process-wide tap), `localize` (where a NaN/Inf is born), `schedule` (probe intervals,
the overhead account and the budget), `sinks` (JSONL run log, TensorBoard, console: one
protocol, one list), `taps` (process-wide clip and GradScaler taps), `guard` (probe
errors never reach the loop), `patching` (reversible function patches), `params` (names,
layers, optimizer coverage), `optimizers` (the optimizer forms attach takes),
`distributed` (reductions across ranks, replica checksums).
"""

from .doctor import Doctor, TrainingAlert, attach
from .options import MonitorOptions

__all__ = ["Doctor", "MonitorOptions", "TrainingAlert", "attach"]
