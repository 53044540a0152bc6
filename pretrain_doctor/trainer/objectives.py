"""The three objectives of the seed's section 4: causal LM, masked LM (BERT's 80/10/10 with
transformers' collator) and contrastive (SimCSE-style in-batch InfoNCE at the plan's τ)."""

from __future__ import annotations

from typing import Any, Optional

import torch

from .data import TokenizerInfo
from .spec import RunSpec


class Objective:
    """Turns a micro-batch into model inputs (`prepare`) and a loss (`loss`).

    Packed rows with `position_ids` (the plan's `data.document_mask`) get a 4-D attention mask
    that keeps each token inside its document (`document_attention_mask`), when the model
    honours one (`honours_document_mask`); otherwise the documents attend to each other, as
    plain packing does, and `notes` says so."""

    causal = True  # the document mask keeps causality too (a 4-D mask replaces the model's own)

    def __init__(self) -> None:
        self.mask_dtype: Optional[torch.dtype] = None  # set once the model is known to honour the mask
        self.notes: list[str] = []

    def prepare(self, batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
        return self.isolate_documents({key: value.to(device) for key, value in batch.items()})

    def isolate_documents(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        positions = batch.get("position_ids")
        if positions is None:
            return batch
        if self.mask_dtype is None:
            batch.pop("position_ids")  # a model without the mask: plain packing, positions counting on
            return batch
        batch["attention_mask"] = document_attention_mask(positions, self.causal, self.mask_dtype)
        return batch

    def use_document_mask(self, model: torch.nn.Module) -> None:
        """Isolate packed documents if `model` honours a 4-D mask (checked on one probe)."""
        if honours_document_mask(model, self.causal):
            self.mask_dtype = next(model.parameters()).dtype
        else:
            import transformers

            self.notes.append(f"document masking: {type(model).__name__} of transformers {transformers.__version__} "
                              "ignores a 4-D attention mask; packed documents attend to each other (PD510)")

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor], doctor: Any) -> torch.Tensor:
        return model(**batch).loss


class CausalLM(Objective):
    """Next-token prediction; transformers shifts the labels inside the model."""


class MaskedLM(Objective):
    """BERT's masking through `DataCollatorForLanguageModeling.torch_mask_tokens` (draws from torch's
    global RNG, which checkpoints save). Probability 0 means nothing is masked and the labels are
    the inputs: the copy task PD511 and PDM204 are about."""

    causal = False

    def __init__(self, spec: RunSpec, tokens: TokenizerInfo) -> None:
        super().__init__()
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
        if "position_ids" in batch:
            prepared["position_ids"] = batch["position_ids"]
        return self.isolate_documents({key: value.to(device) for key, value in prepared.items()})


class Contrastive(Objective):
    """Unsupervised SimCSE: each sentence encoded twice (two dropout masks) is its own positive,
    the other sentences of the batch are negatives; InfoNCE over cosine similarity / τ.
    The embeddings go to the monitor as `embeddings` (PDM207 watches them)."""

    def __init__(self, spec: RunSpec) -> None:
        super().__init__()
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


def document_attention_mask(position_ids: torch.Tensor, causal: bool, dtype: torch.dtype) -> torch.Tensor:
    """The additive mask [batch, 1, seq, seq] of packed rows whose positions restart at 0 with each
    document: 0 where a token may attend (its own document, and its past when `causal`), the
    dtype's minimum elsewhere (transformers' "inverted" 4-D form, for SDPA and eager alike).
    Krell et al. 2021's packing without cross-contamination, as axolotl's block-diagonal mask."""
    documents = (position_ids == 0).cumsum(-1)  # a token before the row's first 0 is a document of its own
    allowed = documents[:, :, None] == documents[:, None, :]
    if causal:
        seq = position_ids.shape[-1]
        allowed &= torch.ones(seq, seq, dtype=torch.bool, device=position_ids.device).tril()
    mask = torch.zeros(allowed.shape, dtype=dtype, device=position_ids.device)
    return mask.masked_fill_(~allowed, torch.finfo(dtype).min)[:, None]


def honours_document_mask(model: torch.nn.Module, causal: bool) -> bool:
    """Does `model` keep the second of two packed documents blind to the first? Old transformers
    releases flatten or reject a 4-D mask in some models (GPT-2 before its masking_utils port).
    One probe in eval mode: no dropout, no random number drawn, the run's RNG stays as it was."""
    device = next(model.parameters()).device
    vocab = model.get_input_embeddings().num_embeddings
    ids = (torch.arange(8, device=device) % vocab + 4).clamp(max=vocab - 1)[None]
    other = ids.clone()
    other[0, :4] = other[0, :4].flip(-1)
    positions = torch.tensor([[0, 1, 2, 3, 0, 1, 2, 3]], device=device)
    mask = document_attention_mask(positions, causal, next(model.parameters()).dtype)
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            first = model(input_ids=ids, position_ids=positions, attention_mask=mask)[0]
            second = model(input_ids=other, position_ids=positions, attention_mask=mask)[0]
    except Exception:  # noqa: BLE001 - a model that rejects the mask does not honour it
        return False
    finally:
        model.train(training)
    return bool(torch.allclose(first[:, 4:], second[:, 4:], atol=1e-5))


def make_objective(spec: RunSpec, tokens: TokenizerInfo, model: torch.nn.Module) -> Objective:
    objective: Objective
    if spec.objective == "masked_lm":
        objective = MaskedLM(spec, tokens)
    elif spec.objective == "contrastive":
        objective = Contrastive(spec)
    else:
        objective = CausalLM()
    if spec.packing and spec.document_mask and spec.objective != "contrastive":
        objective.use_document_mask(model)
    return objective
