"""The verifier network: MiniLM's embeddings and first layers read the question and the candidate together; the
score adds a late-interaction term (each question token's best cosine with a token of the candidate sentence,
averaged) to a linear read-out of the mean token state. The interaction term makes MiniLM's pretrained token
semantics useful from the first step, which matters when training gets minutes of two shared CPU cores."""

from __future__ import annotations

import torch
from torch import nn

CLS, SEP = 101, 102


class VerifierNet(nn.Module):
    """A cross-encoder with a late-interaction score; forward returns logits of shape (batch, 1)."""

    def __init__(self, bert: nn.Module, hidden: int) -> None:
        super().__init__()
        self.bert = bert
        self.head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.scale = nn.Parameter(torch.tensor(8.0))
        self.bias = nn.Parameter(torch.tensor(-5.0))

    def forward(self, input_ids, attention_mask, token_type_ids):
        """Logits for a batch of encoded (question, candidate) pairs."""
        states = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        real = attention_mask.to(states.dtype)
        sep = (input_ids == SEP).to(states.dtype)
        count = torch.cumsum(sep, dim=1)
        question = real * (count == 0).to(states.dtype) * (input_ids != CLS).to(states.dtype)
        sentence = real * (count == 1).to(states.dtype) * (1 - sep)
        unit = nn.functional.normalize(states, dim=-1)
        similarity = unit @ unit.transpose(1, 2) - 4.0 * (1 - sentence)[:, None, :]
        best = similarity.max(dim=2).values
        interaction = (best * question).sum(1) / question.sum(1).clamp(min=1.0)
        pooled = (states * real[..., None]).sum(1) / real.sum(1, keepdim=True).clamp(min=1.0)
        return (self.scale * interaction + self.head(pooled).squeeze(-1) + self.bias).unsqueeze(-1)


def build(layers: int) -> VerifierNet:
    """The network over MiniLM's embeddings and first `layers` layers (the bundled weights)."""
    from transformers import BertConfig, BertModel

    from qa.models.embedding import bundled_model_path

    config = BertConfig.from_pretrained(bundled_model_path())
    config.num_hidden_layers = layers
    bert = BertModel.from_pretrained(bundled_model_path(), config=config, add_pooling_layer=False)
    return VerifierNet(bert, config.hidden_size)
