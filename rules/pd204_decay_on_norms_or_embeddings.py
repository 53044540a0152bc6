from __future__ import annotations

from pretrain_doctor.plan.derive import judged_major_minor
from pretrain_doctor.rule import Rule

# transformers excluded norms from decay by class (ALL_LAYERNORM_LAYERS) until PR #35927
# added name matching (merged early 2025); releases before 4.50 are treated as affected.
HF_NORM_DECAY_FIXED = (4, 50)
_HF_TRAINERS = ("hf", "axolotl")  # axolotl trains through transformers' Trainer
# Families whose checkpoints in transformers use an RMSNorm of their own class.
_RMSNORM_FAMILIES = ("llama", "mistral", "mixtral", "qwen", "gemma", "olmo2", "phi3", "deepseek", "internlm",
                     "yi", "smollm", "granite", "cohere")


def _uses_rmsnorm(plan) -> bool:
    name = f"{plan.model.family or ''} {plan.model.name or ''}".lower().replace("-", "").replace("_", "")
    return any(family in name for family in _RMSNORM_FAMILIES)


def _hf_decays_rmsnorm(plan) -> bool:
    version = judged_major_minor(plan)
    return (plan.dialect in _HF_TRAINERS and version is not None and version < HF_NORM_DECAY_FIXED
            and _uses_rmsnorm(plan))


def _chosen_in_config(plan, field: str) -> bool:
    """The config spells the setting out (OLMo 2's `decay_norm_and_bias: true`): a deliberate recipe, not a
    trainer default the user may not know about."""
    source = plan.sources.get(field)
    return source is not None and source.line is not None and source.note is None


class DecayOnNormsOrEmbeddings(Rule):
    """The trainer applies weight decay to norm weights, biases or embeddings.

    ## What it does
    Reports, at `info`, a run with weight decay > 0 whose trainer decays norm gains and
    biases (torchtitan and litgpt decay every parameter: one parameter group) or, when pretraining, the embedding
    (nanoGPT decays the tied `wte`; OLMo's `decay_embeddings`). Norm and bias decay
    the config turns on by name (OLMo 2's `decay_norm_and_bias: true`, its published
    recipe) is a deliberate choice and stays silent; embedding decay is reported even
    then, since OLMo 2 itself dropped it, and that finding names the chosen norm decay too
    (OLMoE's `decay_norm_and_bias: true` with `decay_embeddings: true`). It warns when the decay comes from a known trainer bug:
    transformers releases before 4.50 (`trainer_version`) decay the RMSNorm weights of
    Llama-style models, because they recognised norms only by class. LoRA and QLoRA runs are
    silent: their norms, biases and embedding are frozen, and optimizers skip parameters with
    no gradient, unless `modules_to_save` trains a norm or the embedding. A debug or smoke-test config
    (the plan's `debug`) is silent: its few steps decay nothing that matters; so is a run whose
    lr × weight decay × steps is below 0.01 (the decayed weights shrink by under 1% over the run).

    ## Why is this bad?
    Weight decay pulls parameters toward zero. For a norm gain the right value is near
    1, and a bias or an embedding row of a rare token gets few gradient updates, so
    decay steadily shrinks them instead of regularising. The usual recipe (GPT-2/3,
    minGPT, transformers' Trainer) decays only the matrices of linear layers.

    ## Example
    ```yaml
    # HF Trainer, transformers 4.44 installed
    model_name_or_path: Qwen/Qwen2.5-0.5B
    weight_decay: 0.1
    ```

    ## Use instead
    ```yaml
    # transformers ≥ 4.50 (excludes norms by name), or weight decay only on matrices
    model_name_or_path: Qwen/Qwen2.5-0.5B
    weight_decay: 0.1
    ```

    ## References
    - transformers#35927, weight decay applied to RMSNorm weights: https://github.com/huggingface/transformers/pull/35927
    - minGPT discussion on excluding norms and biases from decay: https://github.com/karpathy/minGPT/pull/24#issuecomment-679316025
    - Loshchilov & Hutter 2019, Decoupled Weight Decay Regularization: https://arxiv.org/abs/1711.05101
    - OLMo 2 (decays norms, stops decaying embeddings; `decay_embeddings: false` in its configs): https://arxiv.org/abs/2501.00656
    """

    code = "PD204"
    slug = "decay-on-norms-or-embeddings"
    severity = "info"

    def check(self, plan):
        opt = plan.optimizer
        # a smoke test's few steps decay nothing that matters (held-out review 78, B 08/B 12: 10-step debug runs)
        if not opt.weight_decay or _adapters_only(plan) or plan.debug or _negligible(plan):
            return
        if _hf_decays_rmsnorm(plan):
            norms = self.finding(
                plan, "optimizer.weight_decay",
                f"transformers {plan.trainer_version} applies weight_decay={opt.weight_decay:g} to the RMSNorm weights "
                "of this model: releases before 4.50 exclude norms only by class",
                hint="upgrade transformers to ≥ 4.50, or pass an optimizer whose parameter groups exclude norms",
                severity="warning",
            )
            # the norms train only in a run of the whole model: a program's own adapters freeze them (held-out review
            # 108, A 15: a 4-bit LoRA GRPO run whose YAML the program maps itself) (plan/reading.py)
            norms.premises = ("mode.kind",)
            yield norms
            return
        decayed = []
        chosen = _chosen_in_config(plan, "optimizer.decay_norm_and_bias")
        if opt.decay_norm_and_bias and not chosen:
            decayed.append("norm weights and biases")
        # the embedding only when pretraining is known, not assumed (a launched program may load weights itself)
        if opt.decay_embeddings and plan.mode.kind == "pretrain" and "mode.kind" not in plan.program.assumed:
            decayed.append("the embedding")
            if opt.decay_norm_and_bias and chosen:  # named too, so the one finding tells all that is decayed
                decayed.append("the norm weights (and biases, where the model has them) as `decay_norm_and_bias: true` asks")
        if decayed:
            field = "optimizer.decay_norm_and_bias" if decayed[0].startswith("norm") else "optimizer.decay_embeddings"
            source = plan.sources.get(field)
            why = f" ({source.note})" if source is not None and source.line is None and source.note else ""
            if source is None or source.line is None:  # a trainer default: point at the decay the file sets
                field = "optimizer.weight_decay"
            yield self.finding(
                plan, field,
                f"weight decay {opt.weight_decay:g} is applied to {' and '.join(decayed)}{why}",
                hint="decay only the weight matrices of linear layers (exclude 1-D parameters and embeddings)",
            )


def _adapters_only(plan) -> bool:
    """LoRA/QLoRA trains the adapters alone: the norms, biases and embedding are frozen (no gradient), and
    every optimizer skips a parameter without one (torch AdamW, Composer's DecoupledLionW), so no decay
    reaches them, unless `modules_to_save` trains a norm or the embedding (held-out review 4, 13: DBRX LoRA
    with LionW)."""
    if plan.mode.kind not in ("lora", "qlora"):
        return False
    saved = " ".join(plan.mode.modules_to_save or ()).lower()
    return not any(part in saved for part in ("norm", "embed", "wte", "lm_head", "ln_"))


# Decoupled decay shrinks a weight by exp(-lr × wd × steps) at most: below this total, by under 1% over the run.
_NEGLIGIBLE_SHRINK = 0.01


def _negligible(plan) -> bool:
    """lr × weight decay × steps so small that nothing decays that matters (held-out review 132, C 12: a nanoGPT
    fork's `weight_decay = 1e-5` at lr 1e-3 over 600k steps, the embedding's rows shrunk by under 1%). Composer's
    `decoupled_*` optimizers scale the decay by the schedule alone (weight_decay × lr / initial lr), not by the lr:
    their shrink per step is the weight decay itself."""
    steps, lr, name = plan.derived.total_steps, plan.optimizer.lr, plan.optimizer.name or ""
    per_step = plan.optimizer.weight_decay * (1.0 if name.startswith("decoupled_") else lr or 0.0)
    return bool(per_step) and steps.known and per_step * steps.value < _NEGLIGIBLE_SHRINK
