"""What every real loop shares: a run's outcome, the faults a test injects, and what a
detached doctor must have left behind (nothing).

A loop is a function `run(doctor=None | dict of attach options, fault=None, steps=N,
log_dir=None) -> Run`: it trains a tiny random-init model on the CPU with its source's
loop structure kept (clip call, accumulation, scaler, eval blocks, checkpointing) and
attaches the doctor where the README says, when `doctor` is given.
"""

from __future__ import annotations

import gc
import json
import math
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch


@dataclass
class Fault:
    """One injected fault: `kind` at optimizer step `step` (0-based, counted by the loop).

    nan_weight: one weight element set to NaN before the step's forward;
    lr_x1000: every param group's lr ×1000 from that step on (after the loop set it);
    loss_spike: the step's output logits ×30 (one bad batch: the loss the model returns spikes);
    grad_vanish: the loss ×1e-12 from that step on (gradients vanish, the update stops);
    attn_blowup: the query/key projection weights ×30 (attention logits blow up).
    """

    kind: str
    step: int
    param: Optional[str] = None      # the weight nan_weight poisons (the loop picks one)
    current_step: int = -1           # the loop step now running (what a callback sees)
    _written: dict = field(default_factory=dict, repr=False)

    def before_forward(self, step: int, model: torch.nn.Module) -> None:
        self.current_step = step
        if step != self.step:
            return
        if self.kind == "nan_weight":
            with torch.no_grad():
                dict(model.named_parameters())[self.param].view(-1)[0] = float("nan")
        elif self.kind == "loss_spike":
            _scale_output_once(model, 30.0)
        elif self.kind == "attn_blowup":
            with torch.no_grad():
                for name, p in model.named_parameters():
                    if _is_query_or_key(name, p):
                        _scale_query_key(name, p, 30.0)

    def set_lr(self, step: int, optimizer: Any) -> None:
        """Call after the loop set its own lr for `step` (or stepped its scheduler): from the
        fault's step on, each group's lr is 1000× what the loop would use."""
        if self.kind != "lr_x1000" or step < self.step:
            return
        for group in optimizer.param_groups:
            if self._written.get(id(group)) != group["lr"]:     # the loop set it again: scale it
                group["lr"] = group["lr"] * 1000.0
                self._written[id(group)] = group["lr"]

    def scale_loss(self, step: int, loss: torch.Tensor) -> torch.Tensor:
        if self.kind == "grad_vanish" and step >= self.step:
            return loss * 1e-12
        return loss


def _scale_output_once(model: torch.nn.Module, factor: float) -> None:
    """Multiply the output layer's logits by `factor` in the next forward only."""
    head = [m for n, m in model.named_modules() if n.endswith(("lm_head", "classifier"))][-1]

    def hook(module, args, output):
        handle.remove()
        return output * factor

    handle = head.register_forward_hook(hook)


def _is_query_or_key(name: str, p: torch.Tensor) -> bool:
    name = name.replace(".base_layer.", ".")          # peft keeps the frozen weight there
    return p.dim() == 2 and (name.endswith(("c_attn.weight", "q_proj.weight", "k_proj.weight",
                                              "query.weight", "key.weight")))


def _scale_query_key(name: str, p: torch.Tensor, factor: float) -> None:
    if name.endswith("c_attn.weight"):       # fused qkv: GPT-2 (Conv1D: [in, 3·out]) or nanoGPT (Linear: [3·out, in])
        n = min(p.shape)
        if p.shape[0] == 3 * n:
            p[: 2 * n] *= factor
        else:
            p[:, : 2 * n] *= factor
    else:
        p *= factor


def apply(fault: Optional[Fault], hook: str, step: int, obj: Any) -> Any:
    """`fault.<hook>(step, obj)` when there is a fault; the loss hook returns the (scaled) loss."""
    if fault is None:
        return obj if hook == "scale_loss" else None
    return getattr(fault, hook)(step, obj)


@dataclass
class Run:
    losses: list = field(default_factory=list)       # the loop's own loss per optimizer step
    clip_norms: list = field(default_factory=list)   # what the loop's clip call returned, per step
    val_losses: list = field(default_factory=list)
    final: dict = field(default_factory=dict)        # parameter name -> final value (a copy)
    doctor: Any = None
    model_ref: Any = None                            # weakref to the model, to see it die


def start(model: torch.nn.Module, optimizer: Any, doctor: Optional[dict], log_dir: Any,
          fault: Optional[Fault], poison: str) -> tuple[Any, Run]:
    """`pretrain_doctor.attach(model, optimizer, log_dir=..., **doctor)` as the README says
    (when `doctor` is given), the fault's default target, and an empty Run."""
    attached = None
    if doctor is not None:
        import pretrain_doctor
        attached = pretrain_doctor.attach(model, optimizer, log_dir=log_dir, **doctor)
    if fault is not None and fault.param is None:
        fault.param = poison
    return attached, Run()


def finish(run: Run, model: torch.nn.Module, doctor: Any) -> Run:
    run.final = {n: p.detach().clone() for n, p in model.named_parameters()}
    run.doctor = doctor
    run.model_ref = weakref.ref(model)
    return run


def loss_value(loss: torch.Tensor) -> float:
    return float(loss.detach().float())


# --- what the doctor wrote ---------------------------------------------------------------

def log_lines(log_dir: Path) -> list:
    path = Path(log_dir) / "doctor.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def logged_metric(log_dir: Path, name: str) -> dict:
    """step -> value of `name` in the run log's step records."""
    return {r["step"]: r["metrics"][name] for r in log_lines(log_dir)
            if r.get("type") == "step" and name in r.get("metrics", {})}


def loud(alerts) -> list:
    return [a for a in alerts if a.severity in ("warning", "error")]


def first_alert(alerts, codes) -> Any:
    hits = [a for a in alerts if a.code in codes]
    return min(hits, key=lambda a: a.step) if hits else None


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# --- what detach must leave: nothing -----------------------------------------------------

def _patchable() -> dict:
    import torch.nn.functional as F
    import torch.nn.utils as U
    import torch.nn.utils.clip_grad as C
    spots = {"F.scaled_dot_product_attention": F.scaled_dot_product_attention,
             "torch.Tensor.backward": torch.Tensor.backward,
             "torch.autograd.backward": torch.autograd.backward}
    for mod, label in ((U, "torch.nn.utils"), (C, "torch.nn.utils.clip_grad")):
        for name in ("clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
                     "clip_grads_with_norm_"):
            if hasattr(mod, name):
                spots[f"{label}.{name}"] = getattr(mod, name)
    try:
        import transformers.integrations.sdpa_attention as S
        spots["transformers.sdpa_attention_forward"] = S.sdpa_attention_forward
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
        spots.update({f"ALL_ATTENTION_FUNCTIONS[{k}]": ALL_ATTENTION_FUNCTIONS[k]
                      for k in list(ALL_ATTENTION_FUNCTIONS.keys())})
    except Exception:  # transformers absent or moved: nothing of it to compare
        pass
    return spots


def global_state() -> dict:
    """Everything process-wide a monitor could patch or hook."""
    import torch.nn.modules.module as M
    import torch.optim.optimizer as O
    state = dict(_patchable())
    for name in ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                 "_global_backward_pre_hooks", "_global_module_registration_hooks",
                 "_global_parameter_registration_hooks", "_global_buffer_registration_hooks"):
        if hasattr(M, name):
            state[name] = len(getattr(M, name))
    for name in ("_global_optimizer_pre_hooks", "_global_optimizer_post_hooks"):
        state[name] = len(getattr(O, name))
    return state


def leftover_hooks(model: torch.nn.Module, optimizers=()) -> list:
    """Names of every hook still on the model's modules, parameters and the optimizers."""
    left = []
    for mname, m in model.named_modules():
        for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
                     "_state_dict_hooks", "_load_state_dict_pre_hooks"):
            if len(getattr(m, attr, {}) or {}):
                left.append(f"{mname or '<root>'}.{attr}")
    for pname, p in model.named_parameters():
        for attr in ("_post_accumulate_grad_hooks", "_backward_hooks"):
            if getattr(p, attr, None):
                left.append(f"{pname}.{attr}")
    for i, opt in enumerate(optimizers):
        for attr in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks"):
            if len(getattr(opt, attr, {}) or {}):
                left.append(f"optimizer[{i}].{attr}")
        step = vars(opt).get("step")   # torch's LR schedulers wrap it too: only the doctor's counts
        if step is not None and getattr(step, "__module__", "").startswith("pretrain_doctor"):
            left.append(f"optimizer[{i}].step (the doctor's wrapper)")
    return left


def changed_globals(before: dict) -> list:
    after = global_state()
    return [k for k in before if after.get(k) is not before[k] and after.get(k) != before[k]]


def dies(ref: weakref.ref) -> bool:
    gc.collect()
    return ref() is None


def grad_norm(model: torch.nn.Module) -> float:
    """The global L2 norm of the gradients now held (for loops that do not clip)."""
    norms = [p.grad.detach().float().norm() for p in model.parameters() if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else float("nan")
