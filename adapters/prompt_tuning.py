"""Prompt tuning (Lester et al., 2021): P trained vectors prepended to the input embeddings.

The whole model is frozen (Compacter §5 fn. 6); only the prompt [P, d] (and the task head) train.
The hook: a forward pre-hook on ``model.base_model`` (BertModel, RobertaModel, T5Model, ...)
turns ``input_ids`` into ``inputs_embeds`` = [prompt; word embeddings] and extends the
attention mask (and token types) by P ones (zeros). Every HF base model accepts
``inputs_embeds``, so no model code is forked. This is what peft does one level up, in its own
model wrapper; here the task head still sees the original ``input_ids`` (T5ForSequenceClassification
needs them to find the EOS token, and its decoder input stays the unprompted text).
BERT-style models add position embeddings to the prompt too (positions 0..P-1), as in peft.
Two inits (Compacter §5.1): "random" = uniform in [-init_range, init_range] (Prompt Tuning-R),
"vocab" = embeddings of vocabulary tokens drawn uniformly at random (Prompt Tuning-T; Lester et
al. draw from the 5,000 most common tokens, which needs token frequencies we do not have).
"""

from __future__ import annotations


import torch
import torch.nn as nn

from adapters.configs import PromptTuningConfig


class Prompt(nn.Module):
    def __init__(self, num_tokens: int, embeddings: nn.Embedding, init: str, init_range: float):
        super().__init__()
        w = embeddings.weight
        self.weight = nn.Parameter(torch.empty(num_tokens, w.shape[1], dtype=w.dtype,
                                               device=w.device))  # [P, d]
        with torch.no_grad():
            if init == "random":
                self.weight.uniform_(-init_range, init_range)
            else:
                ids = torch.randint(0, w.shape[0], (num_tokens,), device=w.device)
                self.weight.copy_(w[ids])

    def prepend(self, base: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """Forward pre-hook of the base model: prompt the inputs, extend the masks."""
        if len(args) > 1:
            raise TypeError("prompt tuning expects only input_ids as a positional argument")
        input_ids = args[0] if args else kwargs.get("input_ids")
        embeds = kwargs.get("inputs_embeds")
        if embeds is None:
            embeds = base.get_input_embeddings()(input_ids)  # [B, T, d]
        if kwargs.get("position_ids") is not None:
            raise ValueError("prompt tuning does not support explicit position_ids")
        batch, num_tokens = embeds.shape[0], self.weight.shape[0]
        prompt = self.weight.to(embeds.dtype).unsqueeze(0).expand(batch, -1, -1)
        kwargs = dict(kwargs, input_ids=None, inputs_embeds=torch.cat((prompt, embeds), dim=1))
        for key, fill in (("attention_mask", 1), ("token_type_ids", 0)):
            value = kwargs.get(key)
            if value is not None:
                pad = torch.full((batch, num_tokens), fill, dtype=value.dtype, device=value.device)
                kwargs[key] = torch.cat((pad, value), dim=1)
        return (), kwargs


def _apply(model, config: PromptTuningConfig) -> None:
    base = model.base_model
    prompt = Prompt(config.num_tokens, base.get_input_embeddings(), config.init,
                    config.init_range)
    base.add_module("prompt_tuning", prompt)
    base.register_forward_pre_hook(prompt.prepend, with_kwargs=True)
