"""MultiRC and ReCoRD task kinds on hand-made splits in the HF super_glue column layout (neither
set is in the offline mirror): encoding, scoring from hand-made outputs against hand-computed
F1a/EM and F1/EM, training with Pfeiffer adapters through the real loop, timing batches, offline
validation, and one real sweep grid point per task on a mirror-shaped data dir."""

import json
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import adapters
from pipeline.cli import main
from pipeline.kinds import kind_for
from pipeline.models import load_tokenizer
from pipeline.spec import Training
from pipeline.tasks import Source, get_task
from pipeline.train import load_data, train
from tracking.records import read_records

# --- hand-made splits, exactly as HF super_glue's parquet files lay them out ----------------

P0 = ("Lena planted tomatoes in May. By August the plants were taller than her brother Tom. "
      "She sold the extra tomatoes at the market.")
P1 = "The river froze in January. Children skated on it until the ice cracked in March."
# (paragraph, question idx, question, answer, label); question idx restarts per paragraph, so
# grouping options by question idx alone (without the paragraph) merges two questions.
MULTIRC_ROWS = [
    (0, 0, "When did Lena plant tomatoes?", "In May", 1),
    (0, 0, "When did Lena plant tomatoes?", "In August", 0),
    (0, 0, "When did Lena plant tomatoes?", "Before the summer", 1),
    (0, 1, "Who was shorter than the plants?", "Tom", 1),
    (0, 1, "Who was shorter than the plants?", "Lena's sister", 0),
    (1, 0, "When did the ice crack?", "In March", 1),
    (1, 0, "When did the ice crack?", "In January", 0),
    (1, 1, "What did the children do on the river?", "They skated", 1),
    (1, 1, "What did the children do on the river?", "They swam", 0),
    (1, 1, "What did the children do on the river?", "They fished", 0),
]
MULTIRC_SCHEMA = pa.schema([
    ("paragraph", pa.string()), ("question", pa.string()), ("answer", pa.string()),
    ("idx", pa.struct([("paragraph", pa.int32()), ("question", pa.int32()),
                       ("answer", pa.int32())])),
    ("label", pa.int64()),
])

RP0 = ("The Louvre in Paris welcomed 9 million visitors last year, the museum said.\n@highlight\n"
       "The Louvre is the most visited museum in the world\n@highlight\n"
       "Most visitors came from the United States and China")
RP1 = "Barack Obama met Angela Merkel in Berlin. Obama praised Germany's response to the crisis."
# (passage idx, query idx, passage, query, entities (as listed, with a repeat), answers)
RECORD_ROWS = [
    (0, 0, RP0, "@placeholder is home to the Mona Lisa.",
     ["Louvre", "Paris", "United States", "China", "Louvre"], ["Louvre"]),
    (0, 1, RP0, "Many tourists flew in from @placeholder.",
     ["Louvre", "Paris", "United States", "China", "Louvre"], ["China", "United States"]),
    (1, 2, RP1, "@placeholder said the talks had been productive.",
     ["Barack Obama", "Angela Merkel", "Berlin", "Obama", "Germany"], ["Obama"]),
]
RECORD_SCHEMA = pa.schema([
    ("passage", pa.string()), ("query", pa.string()), ("entities", pa.list_(pa.string())),
    ("entity_spans", pa.struct([("text", pa.list_(pa.string())),
                                ("start", pa.list_(pa.int32())), ("end", pa.list_(pa.int32()))])),
    ("answers", pa.list_(pa.string())),
    ("idx", pa.struct([("passage", pa.int32()), ("query", pa.int32())])),
])


def multirc_table() -> pa.Table:
    paragraphs = (P0, P1)
    return pa.Table.from_pylist([
        dict(paragraph=paragraphs[p], question=q, answer=a,
             idx=dict(paragraph=p, question=qi, answer=n), label=y)
        for n, (p, qi, q, a, y) in enumerate(MULTIRC_ROWS)], schema=MULTIRC_SCHEMA)


def record_table() -> pa.Table:
    def spans(passage, entities):
        starts = [passage.index(e) for e in entities]
        return dict(text=entities, start=starts, end=[s + len(e) for s, e in zip(starts, entities)])

    return pa.Table.from_pylist([
        dict(passage=p, query=q, entities=ents, entity_spans=spans(p, ents), answers=ans,
             idx=dict(passage=pi, query=qi))
        for pi, qi, p, q, ents, ans in RECORD_ROWS], schema=RECORD_SCHEMA)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data dir laid out like the mirror: super_glue/<task>/<split>.parquet."""
    root = tmp_path_factory.mktemp("data")
    for task, table in (("multirc", multirc_table()), ("record", record_table())):
        folder = root / "super_glue" / task
        folder.mkdir(parents=True)
        for split in ("train", "validation"):
            pq.write_table(table, folder / f"{split}.parquet")
    return root


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("tiny-bert")


def encoded(tokenizer, data_dir, name, limit=None, seed=0, max_len=128):
    task = get_task(name)
    kind = kind_for(task)
    data = load_data(tokenizer, kind, Source(task, "validation"), Training(max_seq_len=max_len),
                     data_dir, limit, seed)
    return task, kind, data


def pair(tokenizer, data, row) -> tuple[str, str]:
    """The two texts of a row, as the tokenizer (uncased) gives them back."""
    ids = data.rows["input_ids"][row]
    sep = [i for i, t in enumerate(ids) if t == tokenizer.sep_token_id]
    return tokenizer.decode(ids[1:sep[0]]), tokenizer.decode(ids[sep[0] + 1:sep[1]])


# --- MultiRC ---------------------------------------------------------------------------------

def test_multirc_rows_are_paragraph_and_question_plus_answer_grouped_by_question(
        tokenizer, data_dir):
    task, kind, data = encoded(tokenizer, data_dir, "multirc")
    assert kind.name == "multirc" and len(data) == 10 and data.meta["examples"] == 4
    assert pair(tokenizer, data, 0) == (P0.lower(), "when did lena plant tomatoes? in may")
    assert pair(tokenizer, data, 8) == (P1.lower(),
                                        "what did the children do on the river? they swam")
    first, second = data.rows["token_type_ids"][0], data.rows["input_ids"][0]
    assert len(first) == len(second) and 0 in first and 1 in first  # a real pair
    assert list(data.rows["labels"]) == [r[-1] for r in MULTIRC_ROWS]
    assert data.refs == [(p, q) for p, q, *_ in MULTIRC_ROWS]
    batch = kind.collate(data, [0, 5, 9], tokenizer.pad_token_id)
    assert batch["labels"].tolist() == [1, 1, 0] and batch["input_ids"].shape[0] == 3


def test_multirc_long_paragraph_is_cut_not_the_question_and_answer(tokenizer, data_dir):
    _, _, data = encoded(tokenizer, data_dir, "multirc", max_len=20)
    paragraph, question_answer = pair(tokenizer, data, 0)
    assert max(data.lengths) == 20 and P0.lower().startswith(paragraph)
    assert question_answer == "when did lena plant tomatoes? in may"


def test_multirc_limit_keeps_whole_questions(tokenizer, data_dir):
    _, _, data = encoded(tokenizer, data_dir, "multirc", limit=2, seed=3)
    _, _, again = encoded(tokenizer, data_dir, "multirc", limit=2, seed=3)
    assert data.meta["examples"] == 2 and data.refs == again.refs
    options = {(p, q): sum(1 for r in MULTIRC_ROWS if r[:2] == (p, q)) for p, q, *_ in MULTIRC_ROWS}
    kept = set(data.refs)
    assert len(kept) == 2 and len(data) == sum(options[q] for q in kept)


def test_multirc_score_f1a_over_all_options_em_per_paragraph_question(tokenizer, data_dir):
    task, kind, data = encoded(tokenizer, data_dir, "multirc")
    # gold  1 0 1 | 1 0 | 1 0 | 1 0 0
    # pred  1 0 1 | 1 0 | 0 1 | 1 0 0   -> tp 4, fp 1, fn 1: F1a = 8/10
    # questions (0,0) right, (0,1) right, (1,0) wrong, (1,1) right: EM = 3/4 (grouping by
    # question idx alone would merge (0,0) with (1,0) and (0,1) with (1,1): 1/2)
    outputs = [1, 0, 1, 1, 0, 0, 1, 1, 0, 0]
    scores = kind.score(task, data, outputs)
    assert scores["f1a"] == pytest.approx(0.8)
    assert scores["em"] == pytest.approx(0.75)
    assert scores["score"] == pytest.approx((0.8 + 0.75) / 2)


# --- ReCoRD ----------------------------------------------------------------------------------

def test_record_one_row_per_distinct_candidate_with_the_entity_in_the_query(tokenizer, data_dir):
    task, kind, data = encoded(tokenizer, data_dir, "record")
    assert kind.name == "record" and len(data) == 4 + 4 + 5 and data.meta["examples"] == 3
    assert data.refs.ids == [(0, 0), (0, 1), (1, 2)]
    assert data.refs.query_of_row == [0] * 4 + [1] * 4 + [2] * 5
    assert data.refs.entity_of_row[:4] == ["Louvre", "Paris", "United States", "China"]
    assert list(data.rows["labels"]) == [1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0]
    passage, query = pair(tokenizer, data, 5)
    assert query == "many tourists flew in from paris."
    assert "@" not in passage and "highlight" not in passage
    assert "museum said. the louvre is" in passage and "in the world. most visitors" in passage
    assert pair(tokenizer, data, 8)[1] == "barack obama said the talks had been productive."


def test_record_limit_subsets_queries_with_all_their_candidates(tokenizer, data_dir):
    _, _, data = encoded(tokenizer, data_dir, "record", limit=2, seed=1)
    _, _, again = encoded(tokenizer, data_dir, "record", limit=2, seed=1)
    assert data.meta["examples"] == 2 and len(data.refs.ids) == 2
    assert data.refs.ids == again.refs.ids
    candidates = {(0, 0): 4, (0, 1): 4, (1, 2): 5}
    assert len(data) == sum(candidates[q] for q in data.refs.ids)


def test_record_score_best_candidate_max_f1_em_over_gold_answers(tokenizer, data_dir):
    task, kind, data = encoded(tokenizer, data_dir, "record")
    outputs = [
        -1.0, 0.5, -2.0, -3.0,  # query 0 picks "Paris" (gold "Louvre"): F1 0, EM 0
        -0.5, -2.0, -0.1, -4.0,  # query 1: all negative, picks "United States": gold
        # ["China", "United States"]: EM 1 and F1 1 by the second gold (0 by the first alone)
        2.0, 1.0, -1.0, 1.5, 0.0,  # query 2 picks "Barack Obama" (gold "Obama"): F1 2/3, EM 0
    ]
    scores = kind.score(task, data, outputs)
    assert scores["f1"] == pytest.approx((0 + 1 + 2 / 3) / 3)
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["score"] == pytest.approx((5 / 9 + 1 / 3) / 2)


def test_record_prediction_is_the_positive_class_log_odds(tokenizer, data_dir):
    task, kind, data = encoded(tokenizer, data_dir, "record")
    model = kind.load_model("tiny-bert", task, 0)
    assert model.config.num_labels == 2
    batch = kind.collate(data, [0, 1, 2], tokenizer.pad_token_id)
    inputs = {k: v for k, v in batch.items() if k not in kind.target_keys}
    model.eval()
    with torch.no_grad():
        logits = model(**inputs).logits
        out = kind.predict(model, inputs)
    assert out == pytest.approx((logits[:, 1] - logits[:, 0]).tolist())


# --- training, timing batches, validation, a real sweep ------------------------------------

@pytest.mark.parametrize("name", ["multirc", "record"])
def test_pfeiffer_training_steps_leave_the_frozen_body_unchanged(tokenizer, data_dir, name):
    task, kind, data = encoded(tokenizer, data_dir, name, max_len=64)
    model = kind.load_model("tiny-bert", task, 0)
    adapters.apply_method(model, "pfeiffer")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    training = Training(epochs=2, batch_size=4, eval_batch_size=8, max_seq_len=64)
    history, _ = train(model, kind, task, data, data, training, 1e-2, 0,
                       tokenizer.pad_token_id, torch.device("cpu"))
    assert [r.epoch for r in history] == [1, 2] and history[-1].step == 2 * -(-len(data) // 4)
    keys = {"multirc": {"f1a", "em", "score"}, "record": {"f1", "exact_match", "score"}}[name]
    assert set(history[-1].scores) == keys
    assert all(0.0 <= v <= 1.0 for v in history[-1].scores.values())
    params = dict(model.named_parameters())
    frozen = [n for n, p in params.items() if not p.requires_grad]
    trained = [n for n, p in params.items() if p.requires_grad]
    assert frozen and all(torch.equal(params[n], before[n]) for n in frozen)
    assert any("classifier" in n for n in trained)
    assert any(not torch.equal(params[n], before[n]) for n in trained if "adapter" in n.lower())


@pytest.mark.parametrize("name", ["multirc", "record"])
def test_random_batch_trains_the_kinds_model(name):
    task = get_task(name)
    kind = kind_for(task)
    model = kind.load_model("tiny-bert", task, 0)
    batch = kind.random_batch(model, 16, 3, torch.device("cpu"))
    assert batch["input_ids"].shape == (3, 16)
    loss = model(**batch).loss
    loss.backward()
    assert torch.isfinite(loss)


SPEC = """
name: {name}
model: tiny-bert
tasks: [multirc, record]
seeds: [0]
methods: [{{name: pfeiffer, lrs: [1.0e-3]}}]
training: {{epochs: 1, batch_size: 4, max_seq_len: 64}}
probes: {{cells: [[16, 2]], reps: 1, warmup: 0}}
"""


def test_validate_offline_names_the_tasks_that_need_the_hub(tmp_path, monkeypatch, capsys,
                                                           data_dir):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    empty, partial = tmp_path / "empty", tmp_path / "partial"  # mirrors: nothing; MultiRC only
    empty.mkdir()
    (partial / "super_glue" / "multirc").mkdir(parents=True)
    for split in ("train", "validation"):
        pq.write_table(multirc_table(), partial / "super_glue" / "multirc" / f"{split}.parquet")
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC.format(name="offline")))
    for mirror, named in ((empty, ["multirc (train, validation)", "record (train, validation)"]),
                          (partial, ["record (train, validation)"])):
        monkeypatch.setenv("ADAPTERBENCH_DATA_DIR", str(mirror))
        assert main(["validate", str(spec)]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "HF_HUB_OFFLINE=1" in err and all(n in err for n in named)
        assert ("multirc" in err) == (mirror is empty)
    # the spec's own data_dir holding both tasks: valid offline
    spec.write_text(textwrap.dedent(SPEC.format(name="offline")) + f"data_dir: {data_dir}\n")
    assert main(["validate", str(spec)]) == 0


def test_one_sweep_grid_point_per_task_on_a_mirror_shaped_data_dir(tmp_path, local_ray,
                                                                  mlflow_template, data_dir):
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC.format(name="mrc")) + f"data_dir: {data_dir}\n")
    results = tmp_path / "results"
    mlflow_template.copy_to(results)
    assert main(["sweep", str(spec), "--results", str(results)]) == 0
    runs = {r["task"]: r for r in read_records(results, "runs").to_pylist()}
    assert set(runs) == {"multirc", "record"}
    assert {r["status"] for r in runs.values()} == {"ok"}
    assert runs["multirc"]["train_samples"] == 4 and runs["record"]["train_samples"] == 3
    assert runs["multirc"]["metric"] == "multirc" and runs["record"]["metric"] == "record"
    assert set(json.loads(runs["multirc"]["dev_scores"])) == {"f1a", "em", "score"}
    assert set(json.loads(runs["record"]["dev_scores"])) == {"f1", "exact_match", "score"}
    for r in runs.values():
        assert r["trainable_params"] < r["total_params"]
        assert r["train_split"].endswith(":train") and r["dev_split"].endswith(":validation")
    # timed with the kinds' own batches; a cell is measured once per method, whichever task
    probes = read_records(results, "probes").to_pylist()
    assert {p["phase"] for p in probes} == {"train", "inference"}
    assert all(p["median_ms"] > 0 for p in probes)  # status may say the CPU was contended
    assert {p["trial_key"] for p in probes} <= {r["trial_key"] for r in runs.values()}
