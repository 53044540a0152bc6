"""The training loop of the reference trainer: deterministic, monitored, resumable, faultable."""

from __future__ import annotations

import os
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional

import torch

from ..errors import UsageError
from . import TrainOptions, checkpoint
from .data import Batches, build_examples, load_corpus, load_tokenizer
from .faults import Fault, parse
from .model import build_model, build_optimizer, build_scheduler, fsdp2_missing, full_state, lr_factor, shard_fsdp2
from .objectives import Objective, make_objective
from .progress import Progress
from .spec import PRESETS, RunSpec, run_spec


@dataclass
class TrainResult:
    out: Path
    spec: RunSpec
    last_step: int
    losses: dict[int, float] = field(default_factory=dict)  # optimizer step -> loss (this process's steps)
    alerts: list[Any] = field(default_factory=list)
    tokens_per_second: float = 0.0
    model: Optional[torch.nn.Module] = None
    report: Any = None  # the post-mortem (postmortem.Report) of the run log, when it was made
    doctor: Any = None  # the monitor, detached (None with the monitor off)


class _Ranks:
    """torchrun's environment: one process, or DDP over gloo (CPU) / nccl (CUDA)."""

    def __init__(self, device: str) -> None:
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.started = False
        if self.world_size > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("nccl" if device == "cuda" else "gloo")
                self.started = True

    @property
    def main(self) -> bool:
        return self.rank == 0

    def close(self) -> None:
        if self.started:
            import torch.distributed as dist

            dist.destroy_process_group()


def _device(name: str, ranks: _Ranks) -> torch.device:
    if name == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available")
        torch.cuda.set_device(ranks.local_rank)
        return torch.device("cuda", ranks.local_rank)
    if name != "cpu":
        raise UsageError(f"--device must be cpu or cuda, not {name!r}")
    return torch.device("cpu")


def train(options: TrainOptions, say: Optional[Callable[[str], None]] = None) -> TrainResult:
    """Train the config's model at `options.scale`; returns the losses, alerts and the run folder."""
    from ..check.engine import load_plan
    from ..settings import CheckOptions

    ranks = _Ranks(options.device)
    talk = say or (lambda line: print(line, file=sys.stderr, flush=True))
    tell = talk if ranks.main else (lambda line: None)
    try:
        plan = load_plan(options.config, CheckOptions(dialect=options.dialect))[2]
        spec = run_spec(plan, options.scale, options.steps)
        faults = parse(options.inject, spec.steps)
        out = options.out or options.resume or Path("runs") / f"{Path(options.config).stem}-{options.scale}"
        _refuse_a_used_folder(out, options)
        result = _Run(options, plan, spec, faults, out, ranks, tell).run()
    finally:
        ranks.close()
    if options.report and ranks.main:
        _postmortem(result, options, tell)
    return result


def _refuse_a_used_folder(out: Path, options: TrainOptions) -> None:
    """A new run into a folder that holds one would append to its run log (one report over
    two runs) and mix their checkpoints: continue it, or start elsewhere."""
    from ..runlog import RUN_LOG_NAME

    if options.resume is None and (Path(out) / RUN_LOG_NAME).exists():
        raise UsageError(f"{out} already holds a run ({RUN_LOG_NAME}): continue it with --resume {out}, "
                         "or start this one in another --out (or delete that folder)")


def _postmortem(result: TrainResult, options: TrainOptions, tell: Callable[[str], None]) -> None:
    """The report `replay` gives for this run log, on stdout, and as report.json / report.html in --out."""
    from ..runlog import RUN_LOG_NAME
    from .report import REPORT_HTML, REPORT_JSON, postmortem

    run_log = result.out / RUN_LOG_NAME
    if not options.monitor or not run_log.is_file():
        tell("post-mortem: none (the monitor was off, so there is no run log)")
        return
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    result.report = postmortem(run_log, sys.stdout, color)
    tell(f"post-mortem: {result.out / REPORT_JSON}, {result.out / REPORT_HTML} "
         f"(again any time: pretrain-doctor replay {run_log})")


class _Run:
    def __init__(self, options: TrainOptions, plan: Any, spec: RunSpec, faults: list[Fault], out: Path,
                 ranks: _Ranks, tell: Callable[[str], None]) -> None:
        self.options, self.plan, self.spec, self.faults, self.out = options, plan, spec, faults, Path(out)
        self.ranks, self.tell = ranks, tell
        self.device = _device(options.device, ranks)
        self.sharded = False  # FSDP2 (see _shard)

    # ------------------------------------------------------------------ set-up
    def run(self) -> TrainResult:
        spec, options = self.spec, self.options
        config_dir = Path(options.config).resolve().parent
        self._announce()
        corpus = load_corpus(options.data, self.plan, config_dir)
        vocab = PRESETS[spec.scale].vocab if spec.scale in PRESETS else 32000
        tokens = load_tokenizer(options.tokenizer, self.plan, corpus.documents, vocab, self.out / "tokenizer",
                                config_dir)
        self.tell(f"data: {corpus.origin}; {len(corpus.documents)} documents")
        self.tell(f"tokenizer: {tokens.origin}; {tokens.vocab_size} tokens "
                  f"(pad {tokens.pad_id}, bos {tokens.bos_id}, eos {tokens.eos_id})")
        examples = build_examples(corpus.documents, tokens, spec, self.plan.data.label_masking)
        batches = Batches(examples, spec.micro_batch, spec.seed, self.ranks.rank, self.ranks.world_size)
        model = build_model(spec, tokens.vocab_size, tokens.pad_id, tokens.bos_id, tokens.eos_id).to(self.device)
        if spec.precision == "bf16-pure":
            model = model.to(torch.bfloat16)
        self.sharded = self._shard(model)
        optimizer = build_optimizer(model, spec.optimizer)
        scheduler = build_scheduler(optimizer, spec.schedule)
        scaler = None
        if spec.precision == "fp16" or any(f.needs_scaler for f in self.faults):
            scaler = torch.amp.GradScaler(self.device.type, init_scale=_initial_scale(self.plan))
        start, position = 0, 0
        if options.resume is not None:
            resumed = checkpoint.load(checkpoint.find(options.resume), model, optimizer, scheduler, scaler)
            start, position = resumed.step, resumed.position
            self.tell(f"resumed from {resumed.path} at step {start} (data position {position})")
            if start >= spec.steps:
                raise UsageError(f"--resume: the checkpoint is at step {start}, --steps is {spec.steps}")
        parameters = sum(p.numel() for p in model.parameters())
        self.tell(f"model: {spec.model.architecture} ({spec.objective}), {parameters:,} parameters")
        trained = model
        if self.ranks.world_size > 1 and not self.sharded:
            trained = torch.nn.parallel.DistributedDataParallel(model)
        objective = make_objective(spec, tokens, model)
        for note in objective.notes:
            self.tell(f"not honoured: {note}")
        doctor = self._attach(trained, optimizer, scaler, start)
        result = TrainResult(out=self.out, spec=spec, last_step=start, model=model, doctor=doctor)
        try:
            self._loop(trained, optimizer, scheduler, scaler, batches, objective, doctor, start, position, result)
        finally:
            if doctor is not None:
                doctor.detach("finished" if result.last_step >= spec.steps else "stopped")
                result.alerts = list(doctor.alerts)
        return result

    def _announce(self) -> None:
        spec = self.spec
        self.tell(f"pretrain-doctor train: {self.options.config} ({self.plan.dialect}), scale {spec.scale}, "
                  f"{spec.steps} steps")
        o, s = spec.optimizer, spec.schedule
        self.tell(f"kept: {o.family} lr {o.lr:g} betas {tuple(o.betas)} eps {o.eps:g} weight decay {o.weight_decay:g}; "
                  f"{s.kind} schedule, warmup {s.warmup_steps}, min lr ratio {s.min_lr_ratio:g}; "
                  f"clip {spec.clip:g}; precision {spec.precision}")
        for change in spec.changes:
            self.tell(f"scaled: {change}")
        for line in spec.unsupported:
            self.tell(f"not honoured: {line}")
        for fault in self.faults:
            self.tell(f"inject: {fault.name} at step {fault.step}")

    def _shard(self, model: torch.nn.Module) -> bool:
        """FSDP2 when the plan shards (fsdp, full_shard, ZeRO-3) and torchrun runs several
        processes, before the optimizer sees the parameters; DDP otherwise, said when it replaces FSDP2."""
        if self.spec.sharding != "fsdp2" or self.ranks.world_size == 1:
            return False
        missing = fsdp2_missing()
        if missing:
            self.tell(f"not honoured: FSDP2: {missing}; data parallel (DDP) instead")
            return False
        if self.options.resume is not None:
            raise UsageError("--resume under FSDP2 is not supported yet: resume on one process or without "
                             "the config's fsdp/ZeRO-3 (its checkpoints are full, unsharded state dicts)")
        shard_fsdp2(model)
        self.tell(f"parallel: FSDP2 (fully_shard per block, then the root) over {self.ranks.world_size} processes")
        return True

    def _attach(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: Any, start: int) -> Any:
        if not self.options.monitor:
            return None
        import pretrain_doctor
        from ..detectors.representation import objective_options

        extra = dict(self.options.monitor_options)
        detector_options = {**objective_options(self.spec.objective), **extra.pop("detector_options", {})}
        options = {"sync_every": self.options.sync_every, "layer_every": self.options.sync_every,
                   "update_every": self.options.sync_every,
                   "attention_every": self.options.sync_every, "scaler": scaler,
                   "detector_options": detector_options, **extra}
        # start_step: the run log continues (same run id, no second header) at the resumed step
        return pretrain_doctor.attach(model, optimizer, log_dir=self.out, tensorboard=True,
                                      config=str(self.options.config), start_step=start, **options)

    # ------------------------------------------------------------------ the loop
    def _loop(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, scaler: Any,
              batches: Batches, objective: "Objective", doctor: Any, start: int, position: int,
              result: TrainResult) -> None:
        spec = self.spec
        schedule_factor = lr_factor(spec.schedule)
        peak_factor = lr_factor(replace(spec.schedule, warmup_steps=0))
        autocast = self._autocast()
        progress = Progress(spec.steps, start, live=self.options.progress if self.ranks.main else False,
                            stream=sys.stderr if self.ranks.main else open(os.devnull, "w"))
        save_every = self.options.save_every
        tokens_per_step = spec.micro_batch * spec.seq_len * spec.grad_accum * self.ranks.world_size
        last = min(spec.steps, self.options.stop_at or spec.steps)
        unread: list[tuple[int, torch.Tensor]] = []  # losses still on the device, read on logging steps
        try:
            for step in range(start + 1, last + 1):
                for fault in self.faults:
                    fault.before_forward(step, model, optimizer)
                total = torch.zeros((), device=self.device)
                for _ in range(spec.grad_accum):
                    batch = objective.prepare(batches.batch(position), self.device)
                    position += 1
                    for fault in self.faults:
                        batch = fault.batch(step, batch, spec.objective)
                    batch.pop("source_ids", None)
                    with autocast:
                        loss = objective.loss(model, batch, doctor)
                    total += loss.detach().float() / spec.grad_accum  # the objective's loss, before any fault
                    for fault in self.faults:
                        loss = fault.loss(step, loss)
                    loss = loss / spec.grad_accum
                    (scaler.scale(loss) if scaler is not None else loss).backward()
                for fault in self.faults:
                    fault.after_backward(step, model)
                if scaler is not None:
                    scaler.unscale_(optimizer)
                # PaLM's "skip the bad batch": no update when the monitor judges the gradients poisoned
                skip = self.options.skip_poisoned and doctor is not None and doctor.should_skip_step()
                if spec.clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), spec.clip)
                self._apply_lr_faults(optimizer, step, schedule_factor(step - 1), peak_factor(step - 1))
                if scaler is not None:
                    if not skip:
                        scaler.step(optimizer)
                    scaler.update()
                elif not skip:
                    optimizer.step()
                lr = optimizer.param_groups[0]["lr"]
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                unread.append((step, total))
                result.last_step = step
                if progress.due(step) or step == last:  # the last step of a --stop-at run too
                    _read_losses(unread, result.losses)
                    progress.update(step, tokens_per_step, self._global_loss(total), lr)
                else:
                    progress.update(step, tokens_per_step)
                if save_every and step % save_every == 0 and step < last:
                    self._save(step, position, model, optimizer, scheduler, scaler)
                if doctor is not None and doctor.stop_requested:
                    self.tell(f"stopped at step {step}: the monitor asked to stop")
                    break
            self._save(result.last_step, position, model, optimizer, scheduler, scaler)
        finally:
            _read_losses(unread, result.losses)
            progress.close()
            result.tokens_per_second = progress.tokens_per_second

    def _global_loss(self, loss: torch.Tensor) -> float:
        """The step's loss averaged over ranks (every rank calls this on the same steps)."""
        if self.ranks.world_size == 1:
            return float(loss)
        import torch.distributed as dist

        summed = loss.detach().clone()
        dist.all_reduce(summed)
        return float(summed) / self.ranks.world_size

    def _apply_lr_faults(self, optimizer: torch.optim.Optimizer, step: int, scheduled: float, peak: float) -> None:
        factor = 1.0
        for fault in self.faults:
            factor *= fault.lr_factor(step, scheduled, peak)
        if factor != 1.0:
            for group in optimizer.param_groups:
                group["lr"] *= factor

    def _autocast(self) -> Any:
        precision = self.spec.precision
        if precision in ("bf16", "fp16"):
            dtype = torch.bfloat16 if precision == "bf16" else torch.float16
            return torch.autocast(self.device.type, dtype=dtype)
        return nullcontext()

    def _save(self, step: int, position: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
              scheduler: Any, scaler: Any) -> None:
        if step <= 0:
            return
        if self.sharded:  # every rank takes part in gathering the full state, rank 0 writes it
            model_state, optimizer_state = full_state(model, optimizer)
            if self.ranks.main:
                checkpoint.save(self.out, step, position, _Stated(model_state), _Stated(optimizer_state),
                                scheduler, scaler)
            return
        if self.ranks.main:
            inner = getattr(model, "module", model)
            checkpoint.save(self.out, step, position, inner, optimizer, scheduler, scaler)


def _read_losses(unread: list[tuple[int, torch.Tensor]], losses: dict[int, float]) -> None:
    """Move the losses kept on the device to `losses` (step -> float) in one host read."""
    if unread:
        losses.update(zip((step for step, _ in unread), torch.stack([loss for _, loss in unread]).tolist()))
        unread.clear()


class _Stated:
    """A state dict already gathered, where `checkpoint.save` asks an object for its state_dict()."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def state_dict(self) -> dict[str, Any]:
        return self.state


def _initial_scale(plan: Any) -> float:
    power = plan.precision.initial_scale_power
    return float(2 ** power) if power is not None else 2.0 ** 16
