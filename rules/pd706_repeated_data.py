from __future__ import annotations

import re
from typing import Optional

from pretrain_doctor.lazyre import lazy_compile
from pretrain_doctor.rule import Rule, given_not_defaulted

# Pretraining: up to about four passes, repeated tokens are worth nearly as much as new ones; by about forty, more
# passes add almost nothing (Muennighoff et al. 2023, their "data-constrained" fits; nanoGPT's own GPT-2 reproduction
# runs 33 passes over OpenWebText, on purpose).
PRETRAIN_PASSES = 40
# Fine-tuning recipes run 1-5 epochs (alignment-handbook's 1-3, LLaMA-Factory's examples 3); past this the model
# memorises its examples.
FINETUNE_PASSES = 20
_FINETUNES = ("full_finetune", "partial_finetune", "lora", "qlora", "preference")
# Models trained on images or audio, which recipes train for tens of epochs (ImageNet's 90): not this rule's.
_NOT_LANGUAGE = lazy_compile(r"clip|siglip|(^|[^a-z])vit([^a-z]|$)|resnet|convnext|whisper|wav2vec|hubert|asr",
                           re.IGNORECASE)


class RepeatedData(Rule):
    """The run passes over its training data many more times than training gains from.

    ## What it does
    Reports (info) the number of passes over the training data when it is large: more than 40 when
    pretraining, more than 20 when fine-tuning (SFT, LoRA, preference). The passes are the run's
    tokens over the corpus's where the file names both (a stated step count over a dataset whose size
    is known: nanoGPT's prepared datasets), else the epochs the config states (`num_train_epochs: 500`)
    where no step count overrides them. Silent for debug configs, for online RL (its prompts are
    sampled afresh each pass), for a trainer's default epochs or length, for image and audio models
    (trained for tens of epochs by design), for a program of its own that names no model, and for
    pretraining with dropout on (a small corpus repeated on purpose, regularised for it).

    ## Why is this bad?
    Repeated tokens lose their value fast: in Muennighoff et al.'s data-constrained scaling runs, four
    passes are almost as good as unique data, and the value of more falls to nearly nothing by about forty.
    A fine-tune run for hundreds of epochs memorises its examples: training loss goes to zero while the
    held-out loss climbs, and the best checkpoint is an early one, if one was kept. The compute spent
    after that point buys overfitting.

    ## Example
    ```yaml
    model_name_or_path: Qwen/Qwen2.5-3B-Instruct
    output_dir: out
    per_device_train_batch_size: 4
    learning_rate: 2.0e-5
    num_train_epochs: 500
    ```

    ## Use instead
    ```yaml
    model_name_or_path: Qwen/Qwen2.5-3B-Instruct
    output_dir: out
    per_device_train_batch_size: 4
    learning_rate: 2.0e-5
    num_train_epochs: 3      # more data, not more passes, if the run needs more steps
    ```

    ## References
    - Muennighoff et al. 2023, "Scaling Data-Constrained Language Models": https://arxiv.org/abs/2305.16264
    - Hernandez et al. 2022, "Scaling Laws and Interpretability of Learning from Repeated Data":
      https://arxiv.org/abs/2205.10487
    """

    code = "PD706"
    slug = "repeated-data"
    severity = "info"
    premises = ("mode.kind",)  # the run kind: a launched program or a fork's own key may decide it (plan/reading.py)

    def check(self, plan):
        kind = plan.mode.kind
        if plan.debug or kind == "online_rl" or (kind == "pretrain" and plan.model.dropout) or not _language_run(plan):
            return
        limit = PRETRAIN_PASSES if kind == "pretrain" else FINETUNE_PASSES if kind in _FINETUNES else None
        found = _passes(plan)
        if limit is None or found is None or found[0] <= limit:
            return
        passes, how, field, bound = found
        work = "pretraining" if kind == "pretrain" else "fine-tuning"
        after = ("by about 40 passes repeated tokens add almost nothing (Muennighoff et al. 2023)" if kind == "pretrain"
                 else "a fine-tune this long memorises its examples: the training loss goes to zero as the held-out "
                      "loss climbs")
        times = f"{'at least ' if bound else ''}{passes:,.0f} times"
        yield self.finding(plan, field, f"{work} passes over its data {times} ({how}); {after}",
                           hint="train for fewer passes (1-5 epochs to fine-tune), or on more data")


def _passes(plan) -> Optional[tuple[float, str, str, bool]]:
    """(passes, how they were counted, the field to point at, whether only a lower bound), or None where the plan
    cannot tell."""
    total, corpus = plan.derived.total_tokens, plan.data.corpus_tokens
    stated = given_not_defaulted(plan, "run.max_steps") and _corpus_named(plan)
    if not stated:
        corpus = None  # a trainer's default length or dataset (a fork's `dataset` default, upstream's 600,000 iters)
    if corpus and total.known:
        return total.value / corpus, f"{total.value:,.0f} tokens over a {corpus:,.0f}-token corpus", "run.max_steps", \
            False
    least = _tokens_on_one_process(plan)
    if corpus and least:
        # the world size unknown: one process's tokens are the fewest any launch trains on
        return least / corpus, f"{least:,.0f} tokens or more (one GPU's) over a {corpus:,.0f}-token corpus", \
            "run.max_steps", True
    epochs = plan.run.epochs
    if epochs and given_not_defaulted(plan, "run.epochs") and plan.run.max_steps is None:
        return float(epochs), f"{epochs:g} epochs", "run.epochs", False
    return None


def _tokens_on_one_process(plan) -> Optional[float]:
    """steps × micro-batch × accumulation × sequence length: the run's tokens on a single process."""
    b, steps = plan.batch, plan.run.max_steps
    if not (steps and b.micro_batch_size and b.seq_len) or "batch.grad_accum" in plan.unknown:
        return None
    return float(steps * b.micro_batch_size * (b.grad_accum or 1) * b.seq_len)


def _corpus_named(plan) -> bool:
    """The corpus is the one the file names (its `dataset` line), not a script's default."""
    source = plan.sources.get("data.corpus_tokens")
    return source is not None and source.line is not None


def _language_run(plan) -> bool:
    """A language model's run: a program of its own that names no model may train anything (a ResNet for 50
    epochs), and image or audio models train for tens of epochs by design."""
    names = " ".join(str(n) for n in (plan.model.family, plan.model.name, plan.mode.init_from) if n)
    if plan.dialect == "own_args" and not names:
        return False
    return not _NOT_LANGUAGE.search(names)
