"""T5 text-to-text (Compacter's setup): task prefixes and label words, a tiny T5 that learns a
two-label task and decodes its label words, outputs that are no label word scored as wrong,
adapters that leave the LM head frozen, and one real sweep with ``objective: text2text``."""

import json
import random
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

import adapters
from pipeline.kinds import kind_for
from pipeline.kinds.text2text import greedy, label_word, source_text
from pipeline.models import load_tokenizer
from pipeline.spec import SpecError, Training, parse_spec
from pipeline.tasks import get_task
from pipeline.train import train

KIND = kind_for(get_task("sst2"), "text2text")
WORDS = ["the", "a", "film", "was", "very", "quite", "good", "here", "today", "story"]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("tiny-t5")


def synthetic(n: int, seed: int) -> dict[str, list]:
    """Real-tokenizer sentences: "apple" somewhere -> label 0, "river" -> label 1."""
    rng = random.Random(seed)
    sentences, labels = [], []
    for _ in range(n):
        label = rng.randint(0, 1)
        words = rng.sample(WORDS, 4)
        words.insert(rng.randint(0, 4), ("apple", "river")[label])
        sentences.append(" ".join(words))
        labels.append(label)
    return {"sentence": sentences, "label": labels}


@pytest.fixture(scope="module")
def trained(tokenizer):
    """tiny-t5, full fine-tuning on the synthetic task (128 sentences, 3 epochs)."""
    torch.set_num_threads(1)
    task = get_task("sst2")
    train_data = KIND.encode(tokenizer, task, synthetic(128, 0), 32, None, 0)
    dev = KIND.encode(tokenizer, task, synthetic(64, 1), 32, None, 0)
    model = KIND.load_model("tiny-t5", task, 0)
    adapters.apply_method(model, "full")
    history, _ = train(model, KIND, task, train_data, dev,
                       Training(epochs=3, batch_size=16, eval_batch_size=64, warmup_ratio=0.0),
                       1e-2, 0, tokenizer.pad_token_id, torch.device("cpu"))
    return model.eval(), dev, history


def test_tiny_t5_learns_a_two_label_task_and_decodes_label_words(trained):
    model, dev, history = trained
    assert history[-1].scores["accuracy"] == 1.0
    batch = KIND.collate(dev, list(range(8)), 0)
    out = KIND.predict(model, {k: v for k, v in batch.items() if k != "labels"})
    assert dev.refs.decode(out) == [str(g) for g in dev.refs.gold[:8]]  # the words, nothing else


def test_greedy_decoding_is_generates_greedy_search(trained):
    model, dev, _ = trained
    batch = KIND.collate(dev, list(range(8)), 0)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    ours = greedy(model, inputs, 8)
    theirs = model.generate(**inputs, max_new_tokens=8, num_beams=1, do_sample=False)
    assert torch.equal(ours, theirs) and ours.shape[1] == 3  # start, label word, EOS
    untrained = KIND.load_model("tiny-t5", get_task("sst2"), 1).eval()  # never stops: 8 steps
    assert torch.equal(greedy(untrained, inputs, 8),
                       untrained.generate(**inputs, max_new_tokens=8, num_beams=1, do_sample=False))
    # Prompt tuning prepends its prompt in a hook on the model's forward, which generate's
    # encoder call bypasses; decoding through the forward sees the prompt, as training did.
    adapters.apply_method(untrained, "prompt_tuning", {"num_tokens": 4})
    assert greedy(untrained, inputs, 8).shape == (8, 9)


def test_an_output_that_is_no_label_word_counts_as_wrong(tokenizer):
    rte, mrpc, stsb = get_task("rte"), get_task("mrpc"), get_task("stsb")
    data = KIND.encode(tokenizer, rte, {"sentence1": ["a"] * 4, "sentence2": ["b"] * 4,
                                        "label": [0, 1, 1, 0]}, 32, None, 0)
    outputs = [[0] + tokenizer(t, add_special_tokens=False)["input_ids"] + [102]
               for t in ("0", "1", "maybe", "entailment")]
    assert KIND.score(rte, data, outputs)["accuracy"] == 0.5
    # MRPC: invalid -> the opposite of gold, so it costs F1 as well (a -1 would give F1 = 1.0).
    data = KIND.encode(tokenizer, mrpc, {"sentence1": ["a"] * 4, "sentence2": ["b"] * 4,
                                         "label": [1, 1, 0, 0]}, 32, None, 0)
    pred = KIND.to_labels(mrpc, data.refs, ["1", "yes", " 0 ", "2"])
    assert pred.tolist() == [1, 0, 0, 1]
    assert KIND.score(mrpc, data, [[1014 + p] for p in (1, 0, 0, 1)]) == \
        {"f1": 0.5, "accuracy": 0.5, "score": 0.5}
    # STS-B: the label word as the tokenizer spells it ("3. 8" for MiniLM's), any float, or -1.
    data = KIND.encode(tokenizer, stsb, {"sentence1": ["a"] * 3, "sentence2": ["b"] * 3,
                                         "label": [3.8, 1.0, 4.2]}, 32, None, 0)
    assert KIND.to_labels(stsb, data.refs, ["3. 8", "1.25", "similar"]).tolist() == \
        pytest.approx([3.8, 1.25, -1.0])


def test_prefix_and_label_words_as_compacter_writes_them(tokenizer):
    pair = {"sentence1": ["He left."], "sentence2": ["He went away."], "premise": ["P."],
            "hypothesis": ["H."], "sentence": ["a fine film"], "question": ["Q?"],
            "passage": ["Text."], "choice1": ["C1."], "choice2": ["C2."], "word": ["go"]}
    assert source_text(get_task("sst2"), pair, 0) == "sst2 sentence: a fine film"
    assert source_text(get_task("mrpc"), pair, 0) == \
        "mrpc sentence1: He left. sentence2: He went away."
    assert source_text(get_task("boolq"), pair, 0) == "superglue-boolq question: Q? passage: Text."
    assert source_text(get_task("mnli"), pair, 0) == "mnli premise: P. hypothesis H."  # sic
    assert source_text(get_task("copa"), pair, 0) == "superglue-copa premise: P. choice1: C1. choice2: C2."
    assert source_text(get_task("xcopa"), pair, 0).startswith("superglue-copa premise:")
    assert source_text(get_task("wic"), pair, 0).endswith("sentence2: He went away. word: go")
    assert [label_word(get_task("rte"), 1), label_word(get_task("cb"), 2)] == ["1", "2"]
    # STS-B: np.round(label, 1), Compacter's round_stsb_target (0.1 steps; float32 labels)
    stsb = get_task("stsb")
    assert [label_word(stsb, float(np.float32(x))) for x in (3.84, 4.75, 2.4, 5.0, 0.0)] == \
        ["3.8", "4.8", "2.4", "5.0", "0.0"]
    data = KIND.encode(tokenizer, get_task("sst2"), pair | {"label": [1]}, 32, None, 0)
    assert tokenizer.decode(data.rows["input_ids"][0]) == "[CLS] sst2 sentence : a fine film [SEP]"
    assert data.rows["labels"][0] == tokenizer("1", add_special_tokens=False)["input_ids"] + [102]
    batch = KIND.collate(KIND.encode(tokenizer, get_task("stsb"), pair | {"label": [3.8]}, 32,
                                     None, 0), [0], 0)
    assert batch["labels"].tolist() == [tokenizer("3.8", add_special_tokens=False)["input_ids"] + [102]]


def test_tasks_without_a_text_form_are_refused_before_anything_runs():
    with pytest.raises(ValueError, match="cannot express task 'squad'"):
        KIND.load_model("tiny-t5", get_task("squad"), 0)
    spec = dict(name="x", model="tiny-t5", tasks=["rte", "conll2003"], seeds=[0],
                methods=[{"name": "full", "lrs": [1e-3]}], training={"objective": "text2text"})
    with pytest.raises(SpecError, match="text2text cannot express conll2003"):
        parse_spec(spec)


@pytest.mark.parametrize("method", ["pfeiffer", "lora"])
def test_adapters_leave_the_lm_head_and_embeddings_frozen(method):
    model = KIND.load_model("tiny-t5", get_task("rte"), 0)
    adapters.apply_method(model, method)
    frozen = [model.lm_head.weight, model.shared.weight, model.encoder.embed_tokens.weight,
              model.decoder.embed_tokens.weight]
    assert not any(p.requires_grad for p in frozen)
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trained and all(("adapter" in n) or ("lora" in n) for n in trained)
    batch = KIND.random_batch(model, 16, 2, "cpu")
    model(**batch).loss.backward()  # trains; the inference probe's forward (no labels) runs too
    assert model(**{k: v for k, v in batch.items() if k != "labels"}).logits.shape[:2] == (2, 2)


def test_score_tables_say_which_objective_a_row_used():
    from tables_records import run

    from pipeline.tables.compacter import t01
    from pipeline.tables.core import Data
    from pipeline.tables.registry import TABLES

    decl = next(d for d in TABLES if d.paper == "compacter" and d.id == "table01")
    rows = [dict(run("pfeiffer", 1e-3, s, score, task="rte", model="t5-base"), objective=obj)
            for s in (0, 1) for obj, score in (("head", 0.6), ("text2text", 0.7))]
    rows.append(run("pfeiffer", 1e-3, 2, 0.5, task="rte", model="t5-base"))  # before schema 3
    tables = t01(Data(pd.DataFrame(rows), pd.DataFrame(), None), decl)
    by_title = {t.title: t for t in tables}
    assert set(by_title) == {"compacter table01 — model t5-base, objective head",
                             "compacter table01 — model t5-base, objective text2text"}
    cells = {title.rsplit(" ", 1)[1]: " ".join(" ".join(r) for r in t.rows)
             for title, t in by_title.items()}
    assert "56.67 ± 5.77 (n=3)" in cells["head"] and "70.00 ± 0.00 (n=2)" in cells["text2text"]


SPEC = """
name: t2t
model: tiny-t5
tasks: [rte]
seeds: [0]
methods:
  - {name: pfeiffer, lrs: [1.0e-3]}
training: {epochs: 1, max_train_samples: 16, max_eval_samples: 16, batch_size: 8,
           eval_batch_size: 16, max_seq_len: 64, objective: text2text}
probes: {cells: [[16, 2]], reps: 2, warmup: 1}
resources: {cpus_per_trial: 1, max_concurrent_trials: 1}
"""


def test_a_real_sweep_records_the_text2text_objective(tmp_path, local_ray, mlflow_template):
    from pipeline.cli import main
    from tracking.records import read_records

    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    mlflow_template.copy_to(tmp_path / "results")
    assert main(["sweep", str(spec), "--results", str(tmp_path / "results")]) == 0
    (record,) = read_records(tmp_path / "results", "runs").to_pylist()
    assert record["status"] == "ok", record["error"]
    assert record["objective"] == "text2text" and record["task"] == "rte"
    assert record["train_split"] == "rte:train" and 0.0 <= record["dev_score"] <= 1.0
    assert json.loads(record["dev_scores"])["accuracy"] == record["dev_score"]
    probes = read_records(tmp_path / "results", "probes").to_pylist()
    # contended: another process disturbed the probe on this shared machine (recorded honestly)
    assert {p["phase"] for p in probes} == {"train", "inference"}
    assert {p["status"] for p in probes} <= {"ok", "contended"}
    assert {p["batch_kind"] for p in probes} == {"text2text"}
