from __future__ import annotations

from pretrain_doctor.rule import Rule, given_not_defaulted

_FIELDS = ("batch.global_batch_size", "batch.micro_batch_size", "batch.grad_accum")


class DeepspeedBatchMismatch(Rule):
    """DeepSpeed `train_batch_size` ≠ micro-batch × accumulation × world size.

    ## What it does
    When a DeepSpeed JSON sets all three of `train_batch_size`,
    `train_micro_batch_size_per_gpu` and `gradient_accumulation_steps`, checks that
    the first equals the product of the other two and the data-parallel size. Without
    `--world-size` it fires only when no world size can satisfy it, and otherwise
    reports (info) the one world size that would. Also reports mismatches adapters
    find between a DeepSpeed JSON and the HF/axolotl config that attaches it: any value
    other than `"auto"` that transformers compares with TrainingArguments (micro batch,
    accumulation, clipping, the optimizer's lr/eps/weight decay, the scheduler's peak lr) and
    the file sets differently is an error, since the Trainer refuses to start; a warning where
    a launched program is handed the JSON through DeepSpeed's own `--deepspeed_config`. And a GPT-NeoX
    `global_num_gpus` that sizes the batch for more or fewer GPUs than its `include` launches (NeoX's
    own check passes, DeepSpeed's on the real world size does not) is an error.

    ## Why is this bad?
    DeepSpeed asserts `train_batch_size == micro × GA × world_size` when it starts, so
    the job dies after queueing, allocating nodes and loading the model; transformers
    likewise refuses DeepSpeed values that disagree with its TrainingArguments. Setting
    the values to `"auto"` (HF) or giving only two of the three avoids it.

    ## Example
    ```json
    {"train_batch_size": 256, "train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 4}
    ```
    (on 8 GPUs: 4 × 4 × 8 = 128)

    ## Use instead
    ```json
    {"train_batch_size": 128, "train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 4}
    ```

    ## References
    - DeepSpeed config reference, batch size parameters: https://www.deepspeed.ai/docs/config-json/#batch-size-related-parameters
    - DeepSpeed runtime/config.py `_batch_assertion`: https://github.com/deepspeedai/DeepSpeed/blob/master/deepspeed/runtime/config.py
    - transformers DeepSpeed integration ("auto" values): https://huggingface.co/docs/transformers/deepspeed
    """

    code = "PD402"
    slug = "deepspeed-batch-mismatch"
    severity = "error"

    def check(self, plan):
        yield from self.tagged_note_findings(plan)
        under_deepspeed = plan.dialect == "deepspeed" or plan.parallel.deepspeed_config is not None
        if not under_deepspeed or not all(given_not_defaulted(plan, f) for f in _FIELDS):
            return
        b = plan.batch
        per_rank = b.micro_batch_size * b.grad_accum
        dp = plan.derived.data_parallel
        formula = f"{b.micro_batch_size} × {b.grad_accum}"
        if dp.known:
            product = per_rank * int(dp.value)
            if product != b.global_batch_size:
                yield self.finding(
                    plan, "batch.global_batch_size",
                    f"train_batch_size {b.global_batch_size} ≠ micro × GA × data-parallel = {formula} × {int(dp.value)} "
                    f"= {product}; DeepSpeed asserts at start-up",
                    hint=f'set "train_batch_size": {product}, or drop one of the three values and let DeepSpeed derive it',
                )
            return
        if b.global_batch_size % per_rank:
            yield self.finding(
                plan, "batch.global_batch_size",
                f"train_batch_size {b.global_batch_size} is not a multiple of micro × GA = {formula} = {per_rank}: "
                "no world size satisfies DeepSpeed's batch assertion",
                hint="drop one of the three values and let DeepSpeed derive it",
            )
            return
        world = b.global_batch_size // per_rank
        yield self.finding(
            plan, "batch.global_batch_size",
            f"train_batch_size {b.global_batch_size} = {formula} × data-parallel holds only on {world} data-parallel "
            "ranks; pass --world-size to check",
            hint="or drop one of the three values and let DeepSpeed derive it",
            severity="info",
        )

