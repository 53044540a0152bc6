"""The three objectives of the seed's section 4: causal LM, masked LM (BERT's 80/10/10 with
transformers' collator) and contrastive (SimCSE-style in-batch InfoNCE at the plan's τ)."""

from __future__ import annotations

from typing import Any, Optional

import torch

from .data import TokenizerInfo
from .spec import RunSpec


class Objective:
    """Turns a micro-batch into model inputs (`prepare`) and a loss (`loss`)."""

    def prepare(self, batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
        return {key: value.to(device) for key, value in batch.items()}

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor], doctor: Any) -> torch.Tensor:
        return model(**batch).loss


class CausalLM(Objective):
    """Next-token prediction; transformers shifts the labels inside the model."""


class MaskedLM(Objective):
    """BERT's masking through `DataCollatorForLanguageModeling.torch_mask_tokens` (draws from torch's
    global RNG, which checkpoints save). Probability 0 means nothing is masked and the labels are
    the inputs: the copy task PD511 and PDM204 are about."""

    def __init__(self, spec: RunSpec, tokens: TokenizerInfo) -> None:
        self.probability = spec.mlm_probability
        self.collator: Optional[Any] = None
        if self.probability > 0:
            from transformers import DataCollatorForLanguageModeling, PreTrainedTokenizerFast

            wrapped = PreTrainedTokenizerFast(tokenizer_object=tokens.tokenizer)
            wrapped.pad_token_id, wrapped.mask_token_id = tokens.pad_id, tokens.mask_id
            vocab = tokens.tokenizer.id_to_token
            wrapped.add_special_tokens({"pad_token": vocab(tokens.pad_id), "mask_token": vocab(tokens.mask_id)})
            replace = 0.8 if spec.mlm_replacement else 1.0
            self.collator = DataCollatorForLanguageModeling(
                wrapped, mlm=True, mlm_probability=self.probability, mask_replace_prob=replace,
                random_replace_prob=0.1 if spec.mlm_replacement else 0.0)

    def prepare(self, batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
        ids = batch["input_ids"]
        if self.collator is None:
            inputs, labels = ids.clone(), ids.clone()
        else:
            special = (ids == self.collator.tokenizer.pad_token_id) | (batch["attention_mask"] == 0)
            inputs, labels = self.collator.torch_mask_tokens(ids.clone(), special_tokens_mask=special)
        prepared = {"input_ids": inputs, "attention_mask": batch["attention_mask"], "labels": labels,
                    "source_ids": ids}
        return {key: value.to(device) for key, value in prepared.items()}


class Contrastive(Objective):
    """Unsupervised SimCSE: each sentence encoded twice (two dropout masks) is its own positive,
    the other sentences of the batch are negatives; InfoNCE over cosine similarity / τ.
    The embeddings go to the monitor as `embeddings` (PDM207 watches them)."""

    def __init__(self, spec: RunSpec) -> None:
        self.temperature = spec.temperature

    def prepare(self, batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
        return {"input_ids": batch["input_ids"].to(device), "attention_mask": batch["attention_mask"].to(device)}

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor], doctor: Any) -> torch.Tensor:
        first, second = self.embed(model, batch), self.embed(model, batch)
        first, second = torch.nn.functional.normalize(first, dim=-1), torch.nn.functional.normalize(second, dim=-1)
        logits = first @ second.T / self.temperature
        loss = torch.nn.functional.cross_entropy(logits.float(), torch.arange(len(logits), device=logits.device))
        if doctor is not None:
            doctor.observe(loss=loss, **embedding_metrics(first.detach().float(), second.detach().float()))
        return loss

    @staticmethod
    def embed(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean of the last hidden states over the real (unpadded) tokens."""
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)


def embedding_metrics(first: torch.Tensor, second: torch.Tensor) -> dict[str, torch.Tensor]:
    """What PDM207 reads of a batch of L2-normalised embedding pairs: the spread (per-dimension
    std averaged over dimensions, × √dim: about 1 when spread over the sphere) and the mean
    cosine similarity of positive pairs and of in-batch negatives."""
    count, dim = first.shape
    similarity = first @ second.T
    off_diagonal = ~torch.eye(count, dtype=torch.bool, device=first.device)
    return {"embed_spread": first.std(dim=0).mean() * dim ** 0.5,
            "embed_pos_sim": similarity.diagonal().mean(),
            "embed_neg_sim": similarity[off_diagonal].mean()}


def make_objective(spec: RunSpec, tokens: TokenizerInfo, model: torch.nn.Module) -> Objective:
    if spec.objective == "masked_lm":
        return MaskedLM(spec, tokens)
    if spec.objective == "contrastive":
        return Contrastive(spec)
    return CausalLM()
