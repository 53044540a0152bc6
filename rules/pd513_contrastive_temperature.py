from __future__ import annotations

from pretrain_doctor.rule import Rule

# SimCSE uses 0.05, CLIP starts its learnable τ at 0.07 and clamps 1/τ at 100 (τ ≥ 0.01),
# MoCo uses 0.07–0.2: the band where InfoNCE trains without a learnable τ.
LOW, HIGH = 0.01, 0.2


class ContrastiveTemperature(Rule):
    """The contrastive (InfoNCE) temperature τ is outside the range where training is stable.

    ## What it does
    For a contrastive objective with a fixed temperature, warns when τ is below 0.01 or
    above 0.2. A temperature the model learns (`learnable_temperature: true`) is left alone.

    ## Why is this bad?
    InfoNCE divides cosine similarities by τ before the softmax. A very small τ turns the
    softmax into a hard max over the hardest negatives: gradients concentrate on a few
    pairs, logits of ±1/τ overflow in half precision, and training collapses (every
    embedding the same) or diverges. A large τ barely separates positives from negatives,
    so the embeddings learn little structure. CLIP learns τ from 0.07 and clamps 1/τ at 100
    for this reason; SimCSE uses 0.05 and MoCo 0.07–0.2.

    ## Example
    ```yaml
    pretrain_doctor: 1
    objective: {kind: contrastive, temperature: 0.005}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    objective: {kind: contrastive, temperature: 0.05}
    ```

    ## References
    - Gao et al. 2021, SimCSE (τ = 0.05): https://arxiv.org/abs/2104.08821
    - Radford et al. 2021, CLIP (learnable τ from 0.07, 1/τ clamped at 100): https://arxiv.org/abs/2103.00020
    - Wang & Liu 2021, "Understanding the Behaviour of Contrastive Loss" (τ and hardness): https://arxiv.org/abs/2012.09740
    - He et al. 2020, MoCo (τ = 0.07; 0.2 in v2): https://arxiv.org/abs/1911.05722
    """

    code = "PD513"
    slug = "contrastive-temperature"
    severity = "warning"

    def check(self, plan):
        objective = plan.objective
        if objective.kind != "contrastive" or objective.temperature is None or objective.learnable_temperature:
            return
        tau = objective.temperature
        if tau < LOW:
            yield self.finding(
                plan, "objective.temperature",
                f"contrastive temperature {tau:g} is below {LOW}: logits of ±{1 / tau:.0f} make the softmax a hard "
                "max over the hardest negatives, and training collapses or diverges",
                hint="use 0.05 (SimCSE) or 0.07 (CLIP, MoCo), or learn τ with 1/τ clamped at 100",
            )
        elif tau > HIGH:
            yield self.finding(
                plan, "objective.temperature",
                f"contrastive temperature {tau:g} is above {HIGH}: positives and negatives are barely separated "
                "and the embeddings learn little",
                hint="use 0.05–0.1, or learn τ starting from 0.07",
            )
