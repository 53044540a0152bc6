from __future__ import annotations

from pretrain_doctor.rule import Rule, written_in_a_file


class PrecisionConflict(Rule):
    """Two precision settings contradict each other.

    ## What it does
    Fires when fp16 and bf16 are both enabled, or when the components of a run declare
    different precisions: a DeepSpeed JSON with `fp16.enabled` under an HF config with
    `bf16: true`, an accelerate `mixed_precision` that differs from the trainer's fp16 or bf16 (a
    Trainer that turns neither on runs accelerate's, as TrainingArguments keeps
    ACCELERATE_MIXED_PRECISION then: no conflict), a
    GPT-NeoX `bf16` block beside another `precision` (adapters record each
    component's choice in `precision.declared_by`). A NeoX `bf16` block with `precision`
    unset is an `info`: NeoX since #1311 (2024-11) derives bfloat16 from it, earlier
    releases fail at start-up. Also an error: accelerate's DeepSpeed plugin enabling a
    precision the HF Trainer leaves off (the Trainer refuses the mismatch; an `info` under a TRL config
    whose release is not known, as TRL from 0.19 turns bf16 on itself), and axolotl's
    `flash_attention: true` on a float32 model (neither `bf16` nor `fp16`: FlashAttention
    runs in fp16/bf16 only).

    ## Why is this bad?
    transformers refuses `fp16` together with `bf16`, and raises when DeepSpeed's
    precision block disagrees with the Trainer's; where the trainer does not check,
    one component silently wins. The run then trains in a precision other than the one
    the config says, with fp16 overflow or a missing loss scaler as the likely result.

    ## Example
    ```yaml
    bf16: true
    fp16: true
    ```

    ## Use instead
    ```yaml
    bf16: true
    ```

    ## References
    - transformers TrainingArguments (fp16 and bf16 are exclusive): https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments
    - transformers DeepSpeed integration, config values must match TrainingArguments: https://huggingface.co/docs/transformers/deepspeed
    - GPT-NeoX configuration (`precision` with `fp16`/`bf16` blocks): https://github.com/EleutherAI/gpt-neox/blob/main/configs/neox_arguments.md
    """

    code = "PD303"
    slug = "precision-conflict"
    severity = "error"

    def check(self, plan):
        prec = plan.precision
        if prec.fp16_enabled and prec.bf16_enabled:
            yield self.finding(plan, "precision.bf16_enabled", "fp16 and bf16 are both enabled",
                               hint="keep one: bf16 on Ampere or newer, fp16 otherwise")
        declared = {component: value for component, value in (prec.declared_by or {}).items() if value}
        if plan.reading is not None and not any(written_in_a_file(plan, f"precision.{field}")
                                                for field in ("compute", "bf16_enabled", "fp16_enabled")):
            # a fork's or an own program's file that sets no precision: the trainer's default is no declaration, the
            # program may set it in code (held-out review 60, A 11: a reward-model script that hard-codes bf16)
            declared.pop("trainer", None)
        if len(set(declared.values())) > 1:
            parts = ", ".join(f"{component}: {value}" for component, value in sorted(declared.items()))
            field = self._located_component(plan, declared)
            yield self.finding(plan, field, f"the run's components declare different precisions ({parts})",
                               hint="make every component use the same precision (or `auto` in the DeepSpeed JSON)")
        yield from self.tagged_note_findings(plan)

    @staticmethod
    def _located_component(plan, declared: dict) -> str:
        for component in sorted(declared):
            field = f"precision.declared_by.{component}"
            if field in plan.sources and component != "trainer":
                return field
        return "precision.declared_by"
