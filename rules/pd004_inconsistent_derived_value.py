from __future__ import annotations

from pretrain_doctor.rule import Rule, written_in_a_file


class InconsistentDerivedValue(Rule):
    """A hand-computed value disagrees with the values it is derived from.

    ## What it does
    Reports values a config states outright although they follow from other keys,
    when the two disagree: OLMo `stop_at` vs `max_duration` / batch / sequence length,
    nanoGPT overrides that leave a dependent default behind, and a stated global batch
    (NeoX `train_batch_size`, native `global_batch_size`) vs micro batch × gradient
    accumulation × data-parallel size, when all three are written in the config and
    the world size is known; a nanotron `tokens.sequence_length` unlike the model's
    `max_position_embeddings` for a model from random weights, an error where the checkout's
    trainer.py asserts they are equal (nanotron main, 2024-04 to 2025-03; the releases set one to the
    other); an llm-foundry `load_path` that restores a Composer checkpoint's whole state (no
    `load_weights_only: true`) into another run: an error where the timestamp in its name
    (`ep3-ba59181-rank0.pt`) is already past `max_duration` (the run ends before its first step), a
    warning for a fine-tune (`finetuning` loader) that would carry a pretraining run's optimizer moments
    and schedule on. The adapters describe the disagreements they see; the
    batch product is checked on the plan. A DeepSpeed JSON's own batch triple is
    PD402's, because DeepSpeed asserts on it at launch; a decay horizon (NeoX
    `lr_decay_iters`) that differs from the run length is PD107's.

    ## Why is this bad?
    Someone edited one number and not the one computed from it. Which one the trainer
    obeys depends on the trainer: DeepSpeed and GPT-NeoX assert on the batch at launch
    (after the job waited in the queue), OLMo stops early at `stop_at`, nanoGPT keeps
    the stale default. In every case the run is not the run the config describes.

    ## Example
    ```yaml
    # GPT-NeoX, 4 data-parallel GPUs: 8 × 4 × 4 = 128
    train_batch_size: 256
    train_micro_batch_size_per_gpu: 8
    gradient_accumulation_steps: 4
    ```

    ## Use instead
    ```yaml
    train_micro_batch_size_per_gpu: 8
    gradient_accumulation_steps: 4   # train_batch_size follows: 128
    ```

    ## References
    - DeepSpeed batch size assertion (`_batch_assertion`): https://github.com/microsoft/DeepSpeed/blob/master/deepspeed/runtime/config.py
    - DeepSpeed batch size configuration: https://www.deepspeed.ai/docs/config-json/#batch-size-related-parameters
    - OLMo `stop_at` and `max_duration`: https://github.com/allenai/OLMo/blob/main/olmo/config.py
    """

    code = "PD004"
    slug = "inconsistent-derived-value"
    severity = "warning"

    def check(self, plan):
        for note in self.notes_for(plan, "inconsistent"):
            yield self.finding_from_note(plan, note, severity=note.data.get("severity"))
        yield from self._global_batch(plan)

    def _global_batch(self, plan):
        b = plan.batch
        if plan.dialect == "deepspeed" or b.grad_accum_is_global:
            return  # a DeepSpeed JSON's own product is PD402's (DeepSpeed asserts on it)
        if not all(written_in_a_file(plan, f)
                   for f in ("batch.global_batch_size", "batch.micro_batch_size", "batch.grad_accum")):
            return
        dp = plan.derived.data_parallel
        if not dp.known:
            return
        product = b.micro_batch_size * b.grad_accum * dp.value
        if product != b.global_batch_size:
            yield self.finding(
                plan, "batch.global_batch_size",
                f"the stated global batch {b.global_batch_size} disagrees with micro batch {b.micro_batch_size} × "
                f"gradient accumulation {b.grad_accum} × data parallel {dp.value:g} = {product:g}",
                hint=f"set the global batch to {product:g}, or fix the micro batch / accumulation",
            )
