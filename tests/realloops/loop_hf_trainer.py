"""transformers' `Trainer` as examples/pytorch/language-modeling/run_clm.py drives it: a causal
LM, `TrainingArguments` with `max_grad_norm=1.0` (the Trainer clips inside its own
`_inner_training_loop`), warmup and a linear schedule, `gradient_accumulation_steps=2`,
`logging_steps=1` (so `trainer.state.log_history` holds the Trainer's own pre-clip
`grad_norm` for every step), nothing saved or reported. A tiny GPT-2 from a config. The doctor
rides along as the README says: `callbacks=[DoctorCallback(...)]`. Faults come in through a
second callback's `on_step_begin`.
"""

from __future__ import annotations

import tempfile
from typing import Optional

from . import harness, hf_bits
from .harness import Fault, Run

POISON = "transformer.h.1.mlp.c_fc.weight"


def run(doctor: Optional[dict] = None, fault: Optional[Fault] = None, steps: int = 40,
        log_dir=None) -> Run:
    from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed

    class Inject(TrainerCallback):
        def on_step_begin(self, args, state, control, model=None, optimizer=None, **kwargs):
            harness.apply(fault, "set_lr", state.global_step, optimizer)
            harness.apply(fault, "before_forward", state.global_step, model)

    set_seed(11)
    model = hf_bits.tiny_gpt2(seed=11)
    if fault is not None and fault.param is None:
        fault.param = POISON
    args = TrainingArguments(output_dir=tempfile.mkdtemp(), max_steps=steps, per_device_train_batch_size=4,
                             gradient_accumulation_steps=2, learning_rate=5e-4, warmup_steps=5,
                             lr_scheduler_type="linear", max_grad_norm=1.0, logging_steps=1,
                             save_strategy="no", report_to=[], use_cpu=True, seed=11,
                             disable_tqdm=True, dataloader_num_workers=0)
    callbacks = [Inject()]
    if doctor is not None:
        from pretrain_doctor.integrations.hf import DoctorCallback
        callbacks.append(DoctorCallback(log_dir=log_dir, **doctor))
    trainer = Trainer(model=model, args=args, train_dataset=hf_bits.TokenBlocks(steps * 8, seed=12),
                      callbacks=callbacks)
    trainer.train()
    result = Run()
    for entry in trainer.state.log_history:
        if "loss" in entry and "grad_norm" in entry:
            result.losses.append(float(entry["loss"]))
            result.clip_norms.append(float(entry["grad_norm"]))
    return harness.finish(result, model, callbacks[1].doctor if doctor is not None else None)
