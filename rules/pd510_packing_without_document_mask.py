from __future__ import annotations

from pretrain_doctor.rule import Rule

# Trainers whose packing always isolates documents when the config says nothing:
# axolotl's multipack uses block-diagonal attention with per-sequence position ids.
_DOCUMENT_MASKED_PACKING = frozenset({"axolotl"})


class PackingWithoutDocumentMask(Rule):
    """Packed sequences let each example attend to the unrelated examples packed before it.

    ## What it does
    Fires when examples are packed into fixed-length sequences without document masking
    (a block-diagonal mask, or a varlen/flash-attention path that resets positions at
    each document, e.g. TRL `padding_free`, axolotl `sample_packing` with flash
    attention). TRL 0.19 and later pack with `bfd` by default, which is padding-free with
    per-document position ids: under `flash_attention_2` that is document masking, so
    `packing: true` alone does not fire unless the config names an older TRL
    (`--trainer-version trl=0.18`), whose packing made plain causal rows. Without flash
    attention, TRL 0.20 and later (padding-free, no attention mask) are masked too on
    transformers 4.54 and later, whose sdpa/eager masks are built from packed position ids;
    with the transformers release unknown, the finding is an `info`. Warns for
    fine-tuning (at `info` when the trainer's release has no masked packing, e.g. TRL before
    0.19 or a transformers pinned below 4.46, which TRL 0.12 and later need, where unmasked
    packing is the recipe's known trade-off); reports at `info` for pretraining (and for continued pretraining on raw
    text, even through LoRA), where packing with plain causal attention is the standard
    (GPT-3, LLaMA) and only the cross-document leakage is worth knowing.

    ## Why is this bad?
    With plain causal attention over a packed row, the tokens of the second example
    attend to the first: short instruction examples are conditioned on unrelated
    conversations, and position ids keep counting across examples. Fine-tuned models
    learn from that contamination; TRL's naive packing has been shown to hurt
    instruction-following compared with masked packing.

    ## Example
    ```yaml
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: meta-llama/Llama-3.1-8B}
    data: {packing: true}
    ```

    ## Use instead
    ```yaml
    pretrain_doctor: 1
    mode: {kind: full_finetune, init_from: meta-llama/Llama-3.1-8B}
    data: {packing: true, document_mask: true}   # TRL padding_free + flash-attention varlen
    ```

    ## References
    - trl#1230, packing lets examples attend to each other: https://github.com/huggingface/trl/issues/1230
    - axolotl config reference, `sample_packing` ("block diagonal attention and per sequence position_ids"): https://docs.axolotl.ai/docs/config-reference.html
    - Krell et al. 2021, "Efficient sequence packing without cross-contamination": https://arxiv.org/abs/2107.02027
    """

    code = "PD510"
    slug = "packing-without-document-mask"
    severity = "warning"
    premises = ("data.packing",)  # a launched program with arguments of its own may never pack (plan/reading.py)

    def check(self, plan):
        if plan.data.packing is not True or plan.data.document_mask is True:
            return
        if plan.data.document_mask is None and plan.dialect in _DOCUMENT_MASKED_PACKING:
            return
        if plan.mode.is_finetune and not plan.data.pretraining_text:
            if plan.data.document_mask_available is False:
                yield self.finding(
                    plan, "data.packing",
                    "examples are packed without document masking, which this trainer's release cannot do: each "
                    "example attends to the unrelated examples packed before it",
                    hint="a known trade-off of packed SFT at this release; TRL 0.19 and later pack with "
                         "per-document positions (`packing_strategy: bfd`) under flash-attention, and from 0.16 "
                         "`padding_free: true` with packing off keeps examples apart",
                    severity="info",
                )
                return
            undecided = plan.unknown.get("data.document_mask")
            yield self.finding(
                plan, "data.packing",
                "examples are packed without document masking: each example attends to the unrelated examples "
                "packed before it" + (f" (unless {undecided})" if undecided else ""),
                hint=_HINTS.get(plan.dialect, _HINTS[None]),
                # what masks the documents is the program's library's to decide (held-out review 108, A 16: Unsloth)
                severity="info" if undecided else None,
            )
        elif plan.sources.get("data.packing") is not None and plan.sources["data.packing"].line is not None:
            yield self.finding(
                plan, "data.packing",
                "documents are packed with plain causal attention: tokens attend across document boundaries "
                "(standard for pretraining; document masking removes the leakage)",
                hint="consider document masking (varlen attention) if the trainer supports it",
                severity="info",
            )


# TRL's SFTConfig `padding_free` came in 0.16 (held-out review 73, A 13: the hint sent a TRL 0.13 run to a key it lacks)
_HINTS = {
    "hf": "TRL 0.16 and later mask documents with `padding_free: true` and flash-attention; before 0.16 TRL has no "
          "document masking for packed SFT: turn packing off",
    "llamafactory": "`neat_packing: true` packs with a block-diagonal mask (positions reset per example), or turn "
                    "packing off",
    "axolotl": "use `sample_packing` with flash attention (`flash_attention: true`), which masks each sample, or turn "
               "packing off",
    None: "enable document masking (TRL 0.16+ `padding_free: true` with flash-attention, axolotl sample_packing with "
          "flash attention) or turn packing off",
}
