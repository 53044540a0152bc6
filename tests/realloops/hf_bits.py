"""Tiny random-init transformers models and random-token data, for the loops that use HF
models (nothing downloads: configs are built here, weights drawn from a fixed seed)."""

from __future__ import annotations

import torch

VOCAB = 256


def tiny_gpt2(seed: int = 0, **over):
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(seed)
    cfg = dict(vocab_size=VOCAB, n_positions=64, n_embd=64, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0,
               resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    cfg.update(over)
    return GPT2LMHeadModel(GPT2Config(**cfg))


def tiny_llama(seed: int = 0, **over):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    cfg = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
               num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    cfg.update(over)
    return LlamaForCausalLM(LlamaConfig(**cfg))


def tiny_bert_classifier(seed: int = 0):
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(seed)
    return BertForSequenceClassification(BertConfig(
        vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=64, num_labels=2))


class TokenBlocks(torch.utils.data.Dataset):
    """`group_texts` output: blocks of random tokens with labels = input_ids."""

    def __init__(self, n: int, block: int = 32, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, VOCAB, (n, block), generator=g)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]),
                "labels": self.ids[i].clone()}


class Sentences(torch.utils.data.Dataset):
    """Sentence pairs for a classifier: random tokens, a label from a fixed rule."""

    def __init__(self, n: int, length: int = 24, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, VOCAB, (n, length), generator=g)
        self.labels = (self.ids[:, 0] % 2).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]),
                "labels": self.labels[i]}


def loader(ds, batch_size: int, shuffle: bool = True, seed: int = 0):
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle,
                                       generator=torch.Generator().manual_seed(seed))
