from __future__ import annotations

from pretrain_doctor.rule import Rule


class ZeroWeightDecay(Rule):
    """AdamW pretraining with weight decay 0.

    ## What it does
    Reports pretraining with an Adam-family optimizer whose weight decay is 0, whether
    set explicitly or inherited from a default (transformers' `weight_decay` defaults
    to 0.0). Fine-tuning is left alone: there, 0 is a common and sound choice; so is
    a bare DeepSpeed JSON, which cannot say whether its script pretrains or fine-tunes.

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
        if plan.mode.kind != "pretrain" or not opt.is_adam_family or opt.weight_decay != 0:
            return
        if not plan.starting_point_known:
            return  # a bare DeepSpeed JSON: only the script knows whether it pretrains or fine-tunes
        source = plan.sources.get("optimizer.weight_decay")
        origin = f" ({source.note})" if source is not None and source.note else ""
        yield self.finding(
            plan, "optimizer.weight_decay",
            f"weight decay is 0{origin} for {opt.family} pretraining; LLM recipes use 0.1",
            hint="set `weight_decay: 0.1` (norms and biases are usually excluded)",
        )
