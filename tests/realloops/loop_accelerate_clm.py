"""huggingface/transformers examples/pytorch/language-modeling/run_clm_no_trainer.py
(00661e38a9e1) with accelerate's gradient accumulation as in huggingface/accelerate
examples/by_feature/gradient_accumulation.py (16cb6eb80dd9) and the current run_clm_no_trainer:
two param groups (no decay on bias and LayerNorm.weight), `get_scheduler("linear")` with warmup,
`accelerator.prepare(model, optimizer, train_dataloader, eval_dataloader, lr_scheduler)`,
`with accelerator.accumulate(model)`, `accelerator.backward(loss)`,
`accelerator.clip_grad_norm_` when `accelerator.sync_gradients`, `optimizer.step()`,
`lr_scheduler.step()`, `optimizer.zero_grad()`; perplexity on the eval set in model.eval()
after each epoch; `accelerator.save_state` at a checkpointing step. A tiny GPT-2 from a config.
The doctor is attached after `prepare`, on what prepare returned (an AcceleratedOptimizer).
"""

from __future__ import annotations

import math
from typing import Optional

import torch

from . import harness, hf_bits
from .harness import Fault, Run

POISON = "transformer.h.1.mlp.c_fc.weight"


def run(doctor: Optional[dict] = None, fault: Optional[Fault] = None, steps: int = 40,
        log_dir=None, out_dir=None, gradient_accumulation_steps: int = 2, max_grad_norm: float = 1.0,
        model_fn=hf_bits.tiny_gpt2) -> Run:
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from transformers import get_scheduler

    accelerator = Accelerator(gradient_accumulation_steps=gradient_accumulation_steps, cpu=True)
    set_seed(42)
    model = model_fn()
    train_dataset = hf_bits.TokenBlocks(steps * gradient_accumulation_steps * 4, seed=0)
    eval_dataset = hf_bits.TokenBlocks(16, seed=1)
    train_dataloader = hf_bits.loader(train_dataset, 4)
    eval_dataloader = hf_bits.loader(eval_dataset, 8, shuffle=False)
    no_decay = ["bias", "LayerNorm.weight"]
    optimizer_grouped_parameters = [
        {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=5e-4)
    lr_scheduler = get_scheduler(name="linear", optimizer=optimizer, num_warmup_steps=5,
                                 num_training_steps=steps)
    model, optimizer, train_dataloader, eval_dataloader, lr_scheduler = accelerator.prepare(
        model, optimizer, train_dataloader, eval_dataloader, lr_scheduler)

    dr, result = harness.start(model, optimizer, doctor, log_dir, fault, POISON)
    completed_steps, loss_accum, norm = 0, 0.0, float("nan")
    checkpointing_steps = steps // 2
    num_train_epochs = 2
    for epoch in range(num_train_epochs):
        model.train()
        for step, batch in enumerate(train_dataloader):
            if accelerator.gradient_state.sync_gradients or step == 0:
                harness.apply(fault, "set_lr", completed_steps, optimizer)
                harness.apply(fault, "before_forward", completed_steps, model)
            with accelerator.accumulate(model):
                outputs = model(**batch)
                loss = harness.apply(fault, "scale_loss", completed_steps, outputs.loss)
                loss_accum += harness.loss_value(loss) / gradient_accumulation_steps
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    norm = float(accelerator.clip_grad_norm_(model.parameters(), max_grad_norm))
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad()
            if accelerator.sync_gradients:
                result.losses.append(loss_accum)
                result.clip_norms.append(norm)
                loss_accum = 0.0
                completed_steps += 1
                if out_dir is not None and completed_steps == checkpointing_steps:
                    accelerator.save_state(f"{out_dir}/step_{completed_steps}")
            if completed_steps >= steps:
                break
        model.eval()
        losses = []
        for batch in eval_dataloader:
            with torch.no_grad():
                outputs = model(**batch)
            losses.append(accelerator.gather_for_metrics(outputs.loss.repeat(8)))
        try:
            perplexity = math.exp(torch.mean(torch.cat(losses)))
        except OverflowError:
            perplexity = float("inf")
        result.val_losses.append(perplexity)
        if completed_steps >= steps:
            break
    accelerator.end_training()
    if dr is not None:
        dr.detach()
    return harness.finish(result, accelerator.unwrap_model(model), dr)
