"""huggingface/peft examples/causal_language_modeling/peft_lora_clm_accelerate_ds_zero3_offload.py
(5d602fdbff04), its training loop without DeepSpeed: `LoraConfig(task_type=CAUSAL_LM, r=8,
lora_alpha=32, lora_dropout=0.1)`, `get_peft_model`, `torch.optim.AdamW(model.parameters())`
(the frozen base weights are in the optimizer, as in the example), a linear schedule with
warmup, `accelerator.prepare(model, train_dataloader, eval_dataloader, optimizer, lr_scheduler)`,
then per batch `outputs = model(**batch)`, `accelerator.backward(loss)`, `optimizer.step()`,
`lr_scheduler.step()`, `optimizer.zero_grad()` (no clipping), and an eval loop in model.eval()
under no_grad per epoch. A tiny Llama from a config instead of the example's bloomz.
"""

from __future__ import annotations

from typing import Optional

import torch

from . import harness, hf_bits
from .harness import Fault, Run

POISON = "base_model.model.model.layers.1.self_attn.q_proj.lora_B.default.weight"


def run(doctor: Optional[dict] = None, fault: Optional[Fault] = None, steps: int = 40,
        log_dir=None, lr: float = 3e-3) -> Run:
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import get_linear_schedule_with_warmup

    accelerator = Accelerator(cpu=True)
    set_seed(42)
    peft_config = LoraConfig(task_type=TaskType.CAUSAL_LM, inference_mode=False, r=8, lora_alpha=32,
                             lora_dropout=0.1)
    model = hf_bits.tiny_llama()
    model = get_peft_model(model, peft_config)
    train_dataloader = hf_bits.loader(hf_bits.TokenBlocks(steps * 4, seed=0), 4)
    eval_dataloader = hf_bits.loader(hf_bits.TokenBlocks(8, seed=1), 8, shuffle=False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    lr_scheduler = get_linear_schedule_with_warmup(optimizer=optimizer, num_warmup_steps=0,
                                                   num_training_steps=steps)
    model, train_dataloader, eval_dataloader, optimizer, lr_scheduler = accelerator.prepare(
        model, train_dataloader, eval_dataloader, optimizer, lr_scheduler)

    dr, result = harness.start(model, optimizer, doctor, log_dir, fault, POISON)
    num_epochs, done = 2, 0
    for epoch in range(num_epochs):
        model.train()
        total_loss = 0
        for step, batch in enumerate(train_dataloader):
            harness.apply(fault, "set_lr", done, optimizer)
            harness.apply(fault, "before_forward", done, model)
            outputs = model(**batch)
            loss = harness.apply(fault, "scale_loss", done, outputs.loss)
            total_loss += loss.detach().float()
            accelerator.backward(loss)
            result.clip_norms.append(harness.grad_norm(model))     # no clip here: the true norm
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad()
            result.losses.append(harness.loss_value(loss))
            done += 1
            if done >= steps:
                break
        model.eval()
        eval_loss = 0
        for step, batch in enumerate(eval_dataloader):
            with torch.no_grad():
                outputs = model(**batch)
            eval_loss += outputs.loss.detach().float()
        result.val_losses.append(float(eval_loss))
        if done >= steps:
            break
    if dr is not None:
        dr.detach()
    return harness.finish(result, accelerator.unwrap_model(model), dr)
