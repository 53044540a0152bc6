from __future__ import annotations

from pretrain_doctor.rule import Rule

# Above about a billion tokens an LLM sees each token about once: the single-epoch
# regime where dropout only slows learning (Liu et al. 2025). Small corpora repeated
# for many epochs (nanoGPT's Shakespeare, dropout 0.2) still benefit from it.
LARGE_CORPUS_TOKENS = 1e9
# Up to about four passes, repeated tokens are worth nearly as much as new ones (Muennighoff et al. 2023):
# still the regime without overfitting that dropout is for. More passes: a repeated corpus, silent.
FEW_EPOCHS = 4.0


class DropoutInPretraining(Rule):
    """Dropout is on while pretraining an LLM on a large corpus.

    ## What it does
    Fires (info) when pretraining from scratch with dropout > 0 on a large corpus seen about
    once. What it can know: the run's length in tokens (total training tokens), and, only when
    the config states them, the corpus size (`data.corpus_tokens`) or the epochs. With the corpus
    size or the epochs, it fires when the corpus is at least 1e9 tokens and is seen at most about
    four times, and says how often; a smaller corpus, or one repeated more often, stays silent.
    Without either it stays silent: a run's tokens say nothing of its corpus, and a small corpus
    repeated hundreds of times (nanoGPT forks' character datasets, WikiText) is what dropout is for.

    ## Why is this bad?
    Dropout regularises against overfitting, which does not happen when every token is
    seen about once. It slows learning per step and lowers final quality in the
    single-epoch regime; GPT-NeoX/Pythia, LLaMA and OLMo all pretrain with dropout 0,
    and nanoGPT notes "for pretraining 0 is good, for finetuning try 0.1+".

    ## Example
    ```yaml
    pretrain_doctor: 1
    model: {dropout: 0.1}
    data: {corpus_tokens: 3.0e+11}
    run: {max_tokens: 3.0e+11}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    model: {dropout: 0.0}
    run: {max_tokens: 3.0e+11}
    ```

    ## References
    - Liu et al. 2025, "Drop Dropout on Single-Epoch Language Model Pretraining": https://arxiv.org/abs/2505.24788
    - Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (up to ~4 epochs of repetition are
      about as good as unique data): https://arxiv.org/abs/2305.16264
    - nanoGPT train.py, `dropout = 0.0 # for pretraining 0 is good, for finetuning try 0.1+`: https://github.com/karpathy/nanoGPT/blob/master/train.py
    """

    code = "PD603"
    slug = "dropout-in-pretraining"
    severity = "info"
    premises = ("mode.kind",)  # the run kind: a launched program or a fork's own key may decide it (plan/reading.py)

    def check(self, plan):
        dropout = plan.model.dropout
        if not plan.mode.from_scratch or not dropout or plan.debug:
            return
        total = plan.derived.total_tokens
        tokens = total.value if total.known else None
        corpus, epochs = plan.data.corpus_tokens, plan.run.epochs
        if corpus is None and epochs and tokens:
            corpus = tokens / epochs
        if corpus is not None:
            passes = tokens / corpus if tokens else epochs
            if corpus < LARGE_CORPUS_TOKENS or (passes is not None and passes > FEW_EPOCHS):
                return  # a small corpus, or one repeated many times: what dropout is for
            seen = "about once" if passes is None or passes < 1.5 else f"about {passes:.2g} times"
            message = (f"dropout {dropout:g} while pretraining on a corpus of {corpus:.3g} tokens, each token seen "
                       f"{seen}: dropout only slows learning")
        else:
            # the corpus size is not in the config: a small one repeated for hundreds of epochs looks the same
            # (held-out review 12, A 15/16: nanoGPT forks' arithmetic datasets under 2 MB; reviews 80 B 06/B 07,
            # 82 B 15 and 84 B 05-B 07: WikiText, an Enron subset, 100 lines repeated, each "seen about once")
            return
        yield self.finding(
            plan, "model.dropout", message,
            hint="use dropout 0.0 for pretraining on a corpus seen about once; keep it for small, repeated datasets "
                 "or fine-tuning",
        )
