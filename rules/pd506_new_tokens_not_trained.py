from __future__ import annotations

from pretrain_doctor.assets import from_tokenizer_files, plan_tokenizer
from pretrain_doctor.rule import Rule

_EMBEDDING_NAMES = ("embed_tokens", "wte", "word_embeddings", "embed_in", "tok_embeddings", "tok_embedding")
_HEAD_NAMES = ("lm_head", "embed_out", "output")


class NewTokensNotTrained(Rule):
    """New tokens get random embedding rows that a LoRA run never trains.

    ## What it does
    Under LoRA/QLoRA, finds tokens the run adds to the vocabulary (`tokens` /
    `special_tokens` in the config: a new pad token, a chat template's end-of-turn token
    such as `<|im_end|>`; or tokenizer ids beyond the base model's `vocab_size`) and fires when
    `modules_to_save` does not include both the input embedding and the output head
    (one suffices when they are tied). Tokens already in the tokenizer are not new.
    Without the tokenizer it reports explicitly added tokens at `info`, since only
    `--tokenizer` tells which are new. An embedding that was never resized is PD501. Also a `warning`
    for tokens that exist but were never trained: LLaMA-Factory's `template: llama3` on a Llama 3
    base checkpoint under LoRA, whose `<|eot_id|>` and header tokens have near-zero rows.

    ## Why is this bad?
    `resize_token_embeddings` gives every new token a freshly initialised row. LoRA
    freezes the embedding and the head and trains only the adapters, so those rows stay
    random: the model cannot read or emit the new tokens (a chat template's
    `<|im_end|>` is never produced, so generation never stops), and the saved adapter
    does not even contain the resized rows.

    ## Example
    ```yaml
    adapter: lora
    chat_template: chatml
    special_tokens: {eos_token: "<|im_end|>"}
    tokens: ["<|im_start|>"]
    lora_target_modules: [q_proj, v_proj]
    ```

    ## Use instead
    ```yaml
    adapter: lora
    chat_template: chatml
    special_tokens: {eos_token: "<|im_end|>"}
    tokens: ["<|im_start|>"]
    lora_target_modules: [q_proj, v_proj]
    lora_modules_to_save: [embed_tokens, lm_head]
    ```

    ## References
    - peft#334, new tokens are not trained or saved with LoRA: https://github.com/huggingface/peft/issues/334
    - axolotl#1570, added tokens require lora_modules_to_save: https://github.com/axolotl-ai-cloud/axolotl/issues/1570
    """

    code = "PD506"
    slug = "new-tokens-not-trained"
    severity = "error"

    def check(self, plan):
        yield from self.tagged_note_findings(plan)  # a template's tokens a base model never trained (llamafactory.py)
        if plan.mode.kind not in ("lora", "qlora") or self._trains_new_rows(plan):
            return
        tok = plan_tokenizer(plan)
        candidates = self._added_by_config(plan)
        if tok is None or not tok.vocabulary_known:  # which tokens are new cannot be told
            if candidates:
                yield self.finding(
                    plan, "tokenizer.added_tokens" if plan.tokenizer.added_tokens else "mode.modules_to_save",
                    f"the config adds {', '.join(f'`{t}`' for t in candidates)} under {plan.mode.kind}; if any is new "
                    "to the vocabulary its embedding row stays random",
                    hint="pass --tokenizer to decide, or add `modules_to_save: [embed_tokens, lm_head]`",
                    severity="info",
                )
            return
        new = [t for t in candidates if tok.token_to_id(t) is None]
        base_vocab = plan.model.vocab_size
        if base_vocab is not None and len(tok) > base_vocab:
            new += [tok.id_to_token(i) for i in range(base_vocab, tok.rows_needed) if tok.id_to_token(i)]
        new = list(dict.fromkeys(new))
        if new:
            shown = ", ".join(f"`{t}`" for t in new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
            yield self.finding(
                plan, "mode.modules_to_save",
                f"{len(new)} token(s) new to the vocabulary ({shown}) get freshly initialised embedding rows, but "
                f"{plan.mode.kind} trains only the adapters: those rows stay random and are not saved",
                hint="add `modules_to_save: [embed_tokens, lm_head]` (axolotl `lora_modules_to_save`)",
            )

    @staticmethod
    def _trains_new_rows(plan) -> bool:
        saved = [m.lower() for m in plan.mode.modules_to_save or ()]
        embedding = any(name in m for m in saved for name in _EMBEDDING_NAMES)
        head = any(name in m for m in saved for name in _HEAD_NAMES)
        return embedding and (head or plan.model.tie_embeddings is True)

    @staticmethod
    def _added_by_config(plan) -> list[str]:
        """Tokens the config adds (axolotl `tokens`), then special tokens it sets; only the tokenizer
        can tell which are new, so the role tokens count only when it is known."""
        spec = plan.tokenizer
        tokens = list(spec.added_tokens or ())
        if spec.path is not None:
            for role in ("bos", "eos", "pad"):
                value = getattr(spec, f"{role}_token")
                if value and not from_tokenizer_files(plan, f"tokenizer.{role}_token"):
                    tokens.append(value)
        return list(dict.fromkeys(tokens))
