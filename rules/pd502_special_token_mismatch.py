from __future__ import annotations

from pretrain_doctor.assets import from_tokenizer_files, plan_tokenizer
from pretrain_doctor.rule import Rule

# A role's id may legitimately point at another role's token: GPT-2 uses one token as
# bos, eos and unk; fine-tunes often pad with unk or eos (pad == eos is PD503's business).
_ALLOWED_OTHER_ROLES = {"bos": {"eos", "unk"}, "eos": {"bos"}, "pad": {"eos", "unk", "bos"}}


class SpecialTokenMismatch(Rule):
    """A configured bos/eos/pad id is not that token in the tokenizer, or the eos ids disagree.

    ## What it does
    Decodes every bos/eos/pad id the training config or the model's `config.json` sets,
    using the tokenizer's own files, and fires (error) when the id is an ordinary token
    (not special in any tokenizer file) or another role's special token (an eos id that
    is the pad token). It also compares the end-of-sequence id across the model's
    `config.json`, its `generation_config.json` and the tokenizer's `eos_token`, and
    warns when they disagree. Needs the tokenizer (`--tokenizer` or a local path in the
    config) and, for the eos comparison, `--model-config`.

    ## Why is this bad?
    The trainer appends the configured eos id after every document, so with a wrong id
    the model learns a random word as its document separator and never sees the real end
    token; padding with an ordinary token masks that word everywhere. OLMo configs set
    `eos_token_id: 0`, which in the GPT-NeoX/OLMo tokenizer is `|||IP_ADDRESS|||`, while
    `<|endoftext|>` is 50279. When generation stops on a different eos than the one the
    chat template ends turns with (Llama-3: `<|end_of_text|>` in the configs, `<|eot_id|>`
    in the template), generation runs on past the answer.

    ## Example
    ```yaml
    model:
      eos_token_id: 0      # |||IP_ADDRESS||| in allenai_gpt-neox-olmo-dolma-v1_5.json
      pad_token_id: 1
    tokenizer:
      identifier: tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json
    ```

    ## Use instead
    ```yaml
    model:
      eos_token_id: 50279  # <|endoftext|>
      pad_token_id: 1
    tokenizer:
      identifier: tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json
    ```

    ## References
    - OLMo#757, eos_token_id 0 decodes to |||IP_ADDRESS|||: https://github.com/allenai/OLMo/issues/757
    - OLMo#597, the two GPT-NeoX/OLMo tokenizers swap ids 0 and 50279 (`|||IP_ADDRESS|||` / `<|endoftext|>`): https://github.com/allenai/OLMo/issues/597
    - Llama-3 eos: generation_config.json lists both `<|end_of_text|>` and `<|eot_id|>` since the fix: https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct/blob/main/generation_config.json
    """

    code = "PD502"
    slug = "special-token-mismatch"
    severity = "error"

    def check(self, plan):
        tok = plan_tokenizer(plan)
        if tok is not None:
            yield from self._decoded_ids(plan, tok)
        yield from self._eos_agreement(plan, tok)

    def _decoded_ids(self, plan, tok):
        seen: set[tuple[str, int]] = set()
        for section in ("tokenizer", "model"):
            for role in ("bos", "eos", "pad"):
                field = f"{section}.{role}_token_id"
                index = plan.get(field)
                if index is None or (role, index) in seen or from_tokenizer_files(plan, field):
                    continue
                seen.add((role, index))
                token = tok.id_to_token(index)
                if token is None:
                    continue  # outside the vocabulary: PD501 reports it
                problem = self._problem(tok, role, token)
                if problem:
                    yield self._mismatch(plan, tok, field, role, index, token, problem)

    @staticmethod
    def _problem(tok, role: str, token: str) -> str | None:
        if not tok.is_special(token):
            return "an ordinary token, not a special token"
        other = [r for r in tok.roles_of(token) if r != role]
        if other and role not in tok.roles_of(token) and not set(other) <= _ALLOWED_OTHER_ROLES[role]:
            return f"this tokenizer's {other[0]} token"
        return None

    def _mismatch(self, plan, tok, field: str, role: str, index: int, token: str, problem: str):
        expected = tok.role_token(role)
        expected_id = tok.token_to_id(expected) if expected else None
        key = (plan.sources.get(field).key if plan.sources.get(field) else None) or field
        message = f"{role}_token_id {index} is `{token}` in this tokenizer, {problem}"
        if expected is not None and expected_id is not None and expected_id != index:
            message += f"; `{expected}` is {expected_id}"
            hint = f"set `{key}: {expected_id}` (`{expected}`)"
        else:
            hint = f"set `{key}` to the id of the tokenizer's {role} token"
        return self.finding(plan, field, message, hint=hint)

    def _eos_agreement(self, plan, tok):
        model_eos = plan.model.eos_token_id
        generation = plan.model.generation_eos_token_ids
        declared = tok.declared("eos") if tok is not None else None
        tokenizer_eos = tok.token_to_id(declared) if declared is not None else None
        name = tok.describe_id if tok is not None else str
        problems = []
        if model_eos is not None and tokenizer_eos is not None and model_eos != tokenizer_eos:
            problems.append(f"config.json eos_token_id is {name(model_eos)} but the tokenizer's eos_token is "
                            f"{name(tokenizer_eos)}")
        if generation:
            for label, index in (("config.json", model_eos), ("the tokenizer", tokenizer_eos)):
                if index is not None and index not in generation:
                    problems.append(f"generation_config.json stops on {', '.join(name(i) for i in generation)}, "
                                    f"not on {label}'s eos {name(index)}")
        if problems:
            field = "model.generation_eos_token_ids" if generation else "model.eos_token_id"
            yield self.finding(
                plan, field, "; ".join(dict.fromkeys(problems)) + ": generation may run past the end of an answer",
                hint="list every end token in generation_config.json `eos_token_id` (e.g. [<|end_of_text|>, "
                     "<|eot_id|>]) and make config.json and the tokenizer agree",
                severity="warning",
            )
