from __future__ import annotations

from pretrain_doctor.rule import Rule

# Devlin et al. 2019 mask 15%; Wettig et al. 2023 find 15–40% works, more is worse.
LOW, HIGH = 0.1, 0.4


class MlmMasking(Rule):
    """The masked-LM masking probability makes the objective trivial or off-recipe.

    ## What it does
    For a masked-language-modelling objective, fires (error) when the mask probability
    is 0, warns when it is outside [0.1, 0.4], and reports at `info` when the 80/10/10
    replacement (80% `[MASK]`, 10% random token, 10% unchanged) is turned off.

    ## Why is this bad?
    With probability 0 no position is masked: the labels are the inputs and no position
    is a prediction target (transformers sets unmasked labels to -100), so the loss is
    empty or a copy task and the encoder learns nothing. Rates far below 10% give few
    training signals per sequence; above ~40% too little context is left (BERT used 15%,
    Wettig et al. found up to 40% helps large models). Without the 80/10/10 replacement
    the model only ever predicts at `[MASK]`, a token that never appears at fine-tuning
    time.

    ## Example
    ```yaml
    pretrain_doctor: 1
    objective: {kind: masked_lm, mlm_probability: 0.0}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    objective: {kind: masked_lm, mlm_probability: 0.15}
    ```

    ## References
    - Devlin et al. 2019, BERT, section 3.1 (15%, 80/10/10): https://arxiv.org/abs/1810.04805
    - Wettig et al. 2023, "Should You Mask 15% in Masked Language Modeling?": https://arxiv.org/abs/2202.08005
    - transformers DataCollatorForLanguageModeling `mlm_probability=0.15`: https://github.com/huggingface/transformers/blob/main/src/transformers/data/data_collator.py
    """

    code = "PD511"
    slug = "mlm-masking"
    severity = "error"

    def check(self, plan):
        if plan.objective.kind != "masked_lm":
            return
        probability = plan.objective.mlm_probability
        if probability is not None and probability == 0:
            yield self.finding(
                plan, "objective.mlm_probability",
                "mask probability is 0: no token is masked, so there is nothing to predict and the encoder learns "
                "nothing (labels are the inputs)",
                hint="use `mlm_probability: 0.15` (BERT)",
            )
        elif probability is not None and not LOW <= probability <= HIGH:
            yield self.finding(
                plan, "objective.mlm_probability",
                f"mask probability {probability:g} is outside [{LOW}, {HIGH}], the range where masked LM trains well",
                hint="use 0.15 (BERT), or up to 0.3–0.4 for large encoders (Wettig et al. 2023)",
                severity="warning",
            )
        if plan.objective.mlm_replacement is False:
            yield self.finding(
                plan, "objective.mlm_replacement",
                "the 80/10/10 replacement is off: the model only predicts at `[MASK]`, a token fine-tuning inputs "
                "never contain",
                hint="keep BERT's 80% [MASK] / 10% random / 10% unchanged replacement",
                severity="info",
            )
