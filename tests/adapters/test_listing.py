"""`adapterbench methods`: one row per registered method with the counts the registry gives."""

import json

import pytest
import torch
from tiny_models import tiny_bert
from transformers import AutoConfig, AutoModelForSequenceClassification

import adapters
from adapters.listing import main
from pipeline.models import BUILTIN_CONFIGS


def test_json_rows_match_count_parameters(capsys):
    assert main(["--model", "tiny-bert", "--json"]) == 0
    rows = {r["method"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(adapters.METHODS)
    for name in ("lora", "bitfit", "full"):
        model = tiny_bert()
        adapters.apply_method(model, name)
        trainable, total = adapters.count_parameters(model)
        r = rows[name]
        assert (r["trainable_params"], r["total_params"]) == (trainable, total)
        assert r["pct_trainable"] == pytest.approx(100 * trainable / total)
    assert rows["full"]["pct_trainable"] == 100.0
    assert rows["lora"]["head_params"] == rows["bitfit"]["head_params"] > 0


def test_table_has_one_line_per_method(capsys):
    main(["--model", "tiny-bert"])
    lines = capsys.readouterr().out.splitlines()
    assert "| method | trainable params | total params | % trainable |" in lines
    methods = [line.split("|")[1].strip() for line in lines if line.startswith("| ")][1:]
    assert methods == sorted(adapters.METHODS)


# Base-model parameter counts of the published checkpoints (what the papers' percentages divide
# by): bert-base-uncased 109,482,240 (with pooler); roberta-base 124,055,040 and
# xlm-roberta-base 277,453,056 (RobertaForSequenceClassification drops the pooler);
# t5-base 222,903,552 and t5-small 60,506,624 (encoder + decoder + shared embedding).
PUBLISHED = {"bert-base": 109_482_240, "roberta-base": 124_055_040,
             "xlm-r-base": 277_453_056, "t5-base": 222_903_552, "t5-small": 60_506_624}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_builtin_configs_have_the_published_sizes(name):
    kwargs = dict(BUILTIN_CONFIGS[name])
    config = AutoConfig.for_model(kwargs.pop("model_type", "bert"), num_labels=2, **kwargs)
    with torch.device("meta"):  # sizes only: no memory, no init
        model = AutoModelForSequenceClassification.from_config(config)
    assert sum(p.numel() for p in model.base_model.parameters()) == PUBLISHED[name]
