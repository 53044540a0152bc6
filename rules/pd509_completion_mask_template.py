from __future__ import annotations

from pretrain_doctor.assets import plan_tokenizer
from pretrain_doctor.rule import Rule

# Text the response template typically follows in a rendered conversation.
_CONTEXTS = ("\n", "Hello.\n", "Hello.\n\n")


class CompletionMaskTemplate(Rule):
    """A completion-only loss whose response template the collator can never find.

    ## What it does
    For completion-only training (loss on responses only, TRL's
    `DataCollatorForCompletionOnlyLM`), fires when the response template contains the pad
    token, or when the tokenizer encodes the template differently inside a conversation
    (after a newline) than alone, which SentencePiece-style tokenizers (Llama-2, Mistral)
    do. Needs the tokenizer (`--tokenizer`); the encoding check uses the `tokenizers`
    library when it is installed.

    ## Why is this bad?
    The collator searches the token ids of each example for the ids of the template and
    masks everything before it. If the template is tokenized differently in context
    (`▁###` alone, `#`,`##` after a newline), it is never found: TRL only warns, sets
    every label to -100, and the run trains on nothing (loss 0, or NaN). A pad token in
    the template is masked away with the padding, with the same result.

    ## Example
    ```yaml
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: meta-llama/Llama-2-7b-hf}
    objective: {completion_only: true, response_template: "### Response:"}
    ```

    ## Use instead
    ```yaml
    # pass the template's token ids as encoded in context, e.g.
    # tokenizer.encode("\\n### Response:", add_special_tokens=False)[2:]
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: meta-llama/Llama-2-7b-hf}
    objective: {completion_only: false}   # or a template that encodes the same in context
    ```

    ## References
    - trl#1820, every label -100 when the response template is not found: https://github.com/huggingface/trl/issues/1820
    - TRL SFTTrainer docs, encoding the response template with context: https://huggingface.co/docs/trl/sft_trainer
    """

    code = "PD509"
    slug = "completion-mask-template"
    severity = "warning"

    def check(self, plan):
        template = plan.objective.response_template
        if not plan.objective.completion_only or not template:
            return
        pad = plan.tokenizer.pad_token
        if pad and pad in template:
            yield self.finding(
                plan, "objective.response_template",
                f"the response template contains the pad token `{pad}`, which is masked with the padding: the "
                "template is never matched and every label becomes -100",
                hint="use a response template without the pad token",
            )
            return
        tok = plan_tokenizer(plan)
        if tok is not None:
            yield from self._context_mismatch(plan, tok, template)

    def _context_mismatch(self, plan, tok, template: str):
        alone = tok.encode(template)
        if not alone:
            return
        for context in _CONTEXTS:
            in_context = tok.encode(context + template)
            if in_context is not None and not _contains(in_context, alone):
                yield self.finding(
                    plan, "objective.response_template",
                    f"the response template {template!r} encodes as {_pieces(tok, alone)} alone but as "
                    f"{_pieces(tok, in_context[-len(alone) - 2:])} after {context!r}: the collator never finds it and "
                    "every label becomes -100",
                    hint=f"pass the template's ids as encoded in context, e.g. "
                         f"tokenizer.encode({(context + template)!r}, add_special_tokens=False)[n:]",
                )
                return


def _pieces(tok, ids: list[int]) -> str:
    return " ".join(f"`{tok.id_to_token(i)}`" for i in ids)


def _contains(sequence: list[int], part: list[int]) -> bool:
    width = len(part)
    return any(sequence[i:i + width] == part for i in range(len(sequence) - width + 1))
