from __future__ import annotations

from pretrain_doctor.rule import Rule

LOW, HIGH = 0.002, 0.05


class InitStd(Rule):
    """The weight-initialisation standard deviation is far from what trains well.

    ## What it does
    Warns when `init_std` / `initializer_range` is outside [0.002, 0.05]. The common
    values are 0.02 (GPT-2, BERT, Llama, OLMo), about 1/√d_model (0.008 at d = 16384), and
    scaled-down output projections; nothing that trains well lies outside that range.

    ## Why is this bad?
    Too large a standard deviation (0.1, 1.0) makes activations and logits grow through
    the layers: the initial loss is far above ln(vocab) and the first steps diverge or
    spike. Too small (1e-4) collapses the signal, so gradients vanish and training stalls
    for thousands of steps. OLMo changed its initialisation after instabilities (PR #285).

    ## Example
    ```yaml
    pretrain_doctor: 1
    model: {init_std: 0.2}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    model: {init_std: 0.02}
    ```

    ## References
    - OLMo PR #285, initialisation settings: https://github.com/allenai/OLMo/pull/285
    - GPT-2 / transformers `initializer_range=0.02`: https://github.com/huggingface/transformers/blob/main/src/transformers/models/gpt2/configuration_gpt2.py
    """

    code = "PD604"
    slug = "init-std"
    severity = "warning"

    def check(self, plan):
        std = plan.model.init_std
        if std is None or LOW <= std <= HIGH or plan.optimizer.mup:
            return
        direction = "large: activations and logits blow up" if std > HIGH else "small: the signal vanishes"
        yield self.finding(
            plan, "model.init_std",
            f"init std {std:g} is outside [{LOW}, {HIGH}], too {direction} at the start of training",
            hint="use 0.02 (GPT-2/Llama/OLMo) or about 1/sqrt(d_model)",
        )
