from __future__ import annotations

from pretrain_doctor.rule import Rule

# Above about a billion tokens an LLM sees each token about once: the single-epoch
# regime where dropout only slows learning (Liu et al. 2025). Small corpora repeated
# for many epochs (nanoGPT's Shakespeare, dropout 0.2) still benefit from it.
LARGE_CORPUS_TOKENS = 1e9


class DropoutInPretraining(Rule):
    """Dropout is on while pretraining an LLM on a large corpus.

    ## What it does
    Fires (info) when pretraining from scratch with dropout > 0 and the run covers at
    least 1e9 tokens (total training tokens, or the corpus size when the config states
    it). Small corpora, which are repeated for many epochs, stay silent, as does an
    unknown run length.

    ## Why is this bad?
    Dropout regularises against overfitting, which does not happen when every token is
    seen about once. It slows learning per step and lowers final quality in the
    single-epoch regime; GPT-NeoX/Pythia, LLaMA and OLMo all pretrain with dropout 0,
    and nanoGPT notes "for pretraining 0 is good, for finetuning try 0.1+".

    ## Example
    ```yaml
    pretrain_doctor: 1
    model: {dropout: 0.1}
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
        tokens = self._tokens(plan)
        if tokens is None or tokens < LARGE_CORPUS_TOKENS:
            return
        yield self.finding(
            plan, "model.dropout",
            f"dropout {dropout:g} while pretraining on {tokens:.3g} tokens: each token is seen about once, so dropout "
            "only slows learning",
            hint="use dropout 0.0 for pretraining; keep it for small, repeated datasets or fine-tuning",
        )

    @staticmethod
    def _tokens(plan):
        total = plan.derived.total_tokens
        if total.known:
            return total.value
        return plan.data.corpus_tokens
