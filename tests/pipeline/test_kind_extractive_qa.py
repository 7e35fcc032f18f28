"""Extractive QA (pipeline/kinds/extractive_qa.py) on real SQuAD/XQuAD rows from the mirror and
MiniLM's fast tokenizer: windows with a stride, targets, span decoding, the derived training
split ``validation_not_xquad``, and one real sweep (tiny-bert, Pfeiffer, zero-shot German)."""

import textwrap

import numpy as np
import pytest
import torch

from pipeline.kinds import get_kind
from pipeline.kinds.base import Encoded
from pipeline.kinds.extractive_qa import (CLS, MAX_ANSWER_TOKENS, N_BEST, answer_tokens,
                                          doc_stride)
from pipeline.metrics_kinds import squad_scores
from pipeline.models import load_tokenizer
from pipeline.tasks import (TASKS, Source, default_data_dir, load_split, mirror_file, needs_hub,
                            train_source)

QA = get_kind("extractive_qa")
SQUAD, XQUAD = TASKS["squad"], TASKS["xquad"]
pytestmark = pytest.mark.skipif(mirror_file(SQUAD, "validation", default_data_dir()) is None,
                                reason="needs the SQuAD mirror in ../shared/data")


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("tiny-bert")  # MiniLM's fast (Rust) tokenizer


@pytest.fixture(scope="module")
def squad_dev():
    return load_split(Source(SQUAD, "validation"), default_data_dir(), QA.columns(SQUAD))


def one(columns, example_id):
    i = columns["id"].index(example_id)
    return {c: [columns[c][i]] for c in columns}


def span_text(data, w, start, end):
    offsets = data.refs["offsets"][w]
    return data.refs["contexts"][data.refs["example"][w]][offsets[start][0] : offsets[end][1]]


# --- windows and targets ----------------------------------------------------------------------

def test_a_long_context_becomes_overlapping_windows(tokenizer, squad_dev):
    # "Which player had the most interceptions for the season?" on a 1,000-character paragraph
    example = one(squad_dev, "56d6f3500d65d21400198294")
    data = QA.encode(tokenizer, SQUAD, example, 128, None, 0)
    assert len(data) == 3 and data.meta["examples"] == 1
    assert data.refs["example"] == [0, 0, 0] and max(data.lengths) == 128
    stride = doc_stride(128)
    assert stride == 42  # run_qa's 128 of 384
    context = [[o for o in offs if o is not None] for offs in data.refs["offsets"]]
    for w in range(len(data) - 1):  # each window starts with the previous one's last 42 tokens
        assert context[w][-stride:] == context[w + 1][:stride]
    # together the windows cover the whole context, first character to last
    assert context[0][0][0] == 0 and context[-1][-1][1] == len(example["context"][0].rstrip())
    # the gold answer (the first one: "Kurt Coleman") lies in the last window only
    starts, ends = data.rows["start_positions"], data.rows["end_positions"]
    assert list(starts[:2]) == [CLS, CLS] and list(ends[:2]) == [CLS, CLS]
    assert span_text(data, 2, starts[2], ends[2]) == "Kurt Coleman"


def test_an_answer_in_the_overlap_is_a_target_of_both_windows(tokenizer, squad_dev):
    data = QA.encode(tokenizer, SQUAD, one(squad_dev, "56bf6b303aeaaa14008c960e"), 128, None, 0)
    starts, ends = data.rows["start_positions"], data.rows["end_positions"]
    assert len(data) == 4 and list(starts[2:]) == [CLS, CLS]
    for w in (0, 1):  # "receivers" at character 419 sits in the 42 tokens both windows share
        assert starts[w] > CLS and span_text(data, w, starts[w], ends[w]) == "receivers"
    assert starts[0] != starts[1]  # the same characters at another position of each window


def test_answer_tokens_is_cls_unless_the_whole_answer_is_in_the_window():
    offsets = [None, None, None, (10, 15), (16, 20), (20, 24), None]  # [CLS] q [SEP] ctx [SEP]
    assert answer_tokens(offsets, 16, 24) == (4, 5)
    assert answer_tokens(offsets, 18, 22) == (4, 5)  # inside tokens: the tokens that hold them
    assert answer_tokens(offsets, 10, 15) == (3, 3)
    assert answer_tokens(offsets, 12, 30) == (CLS, CLS)  # runs past the window
    assert answer_tokens(offsets, 5, 12) == (CLS, CLS)  # starts before it


def test_limit_subsets_examples_not_windows(tokenizer, squad_dev):
    data = QA.encode(tokenizer, SQUAD, squad_dev, 128, 12, seed=3)
    assert data.meta["examples"] == 12 and len(data.refs["contexts"]) == 12
    assert sorted(set(data.refs["example"])) == list(range(12)) and len(data) >= 12
    again = QA.encode(tokenizer, SQUAD, squad_dev, 128, 12, seed=3)
    assert again.refs["answers"] == data.refs["answers"]


def test_long_questions_are_clipped_so_every_language_has_context_room(tokenizer):
    # Russian in an English wordpiece vocabulary: questions of up to 181 tokens at max_len 128
    ru = load_split(Source(XQUAD, "validation", "ru"), default_data_dir(), QA.columns(XQUAD))
    lengths = [len(ids) for ids in tokenizer(ru["question"], add_special_tokens=False)["input_ids"]]
    longest = int(np.argmax(lengths))
    assert lengths[longest] > 128
    data = QA.encode(tokenizer, XQUAD, {c: [ru[c][longest]] for c in ru}, 128, None, 0)
    for offsets in data.refs["offsets"]:
        assert sum(o is not None for o in offsets) > doc_stride(128)


# --- decoding and scoring ---------------------------------------------------------------------

def hand_made(windows, contexts, answers) -> Encoded:
    """Encoded refs for hand-made windows: (example, offsets) each."""
    return Encoded({"input_ids": [[0] * len(o) for _, o in windows]},
                   [len(o) for _, o in windows],
                   refs={"example": [e for e, _ in windows], "offsets": [o for _, o in windows],
                         "contexts": contexts, "answers": answers})


def logits(n, **at):
    out = np.zeros(n, dtype=np.float32)
    for position, value in at.items():
        out[int(position[1:])] = value
    return out


CONTEXT = "Alpha beta gamma delta epsilon."
Q = [None, None, None]  # [CLS] question [SEP]: no offsets


def test_the_best_span_over_two_windows_wins_and_invalid_spans_never_do():
    w0 = Q + [(0, 5), (6, 10), (11, 16), None]  # Alpha beta gamma [SEP]
    w1 = Q + [(11, 16), (17, 22), (23, 30), None]  # gamma delta epsilon [SEP]
    data = hand_made([(0, w0), (0, w1)], [CONTEXT], [["delta"]])
    outputs = [
        # window 0: the question token 1 (50 + 50) is never a span; "Alpha beta" = 7
        (logits(7, p1=50, p3=3.5), logits(7, p1=50, p4=3.5)),
        # window 1: epsilon -> gamma (6 + 6) ends before it starts; "delta" = 8 wins overall
        (logits(7, p5=6, p4=4), logits(7, p3=6, p4=4)),
    ]
    scores = QA.score(SQUAD, data, outputs)
    assert scores == squad_scores(["delta"], [["delta"]])
    assert scores["exact_match"] == 1.0 and scores["f1"] == 1.0 == scores["score"]
    # "delta" lowered to 4: the best valid span of all windows is window 0's "Alpha beta"
    # (window 1's best valid ones, "epsilon" and "gamma", score 6)
    outputs[1] = (logits(7, p5=6, p4=2), logits(7, p3=6, p4=2))
    scores = QA.score(SQUAD, data, outputs)
    assert scores == squad_scores(["Alpha beta"], [["delta"]])
    assert scores["exact_match"] == 0.0 and scores["f1"] == 0.0


WORDS = [f"w{i}" for i in range(40)]
TEXT = " ".join(WORDS)
STARTS = np.cumsum([0] + [len(w) + 1 for w in WORDS[:-1]])
W = Q + [(int(s), int(s) + len(w)) for s, w in zip(STARTS, WORDS)] + [None]  # token 3 + k = wk


def predicts(offsets, start, end, text):
    return QA.score(SQUAD, hand_made([(0, offsets)], [TEXT], [[text]]),
                    [(start, end)])["exact_match"] == 1.0


def test_spans_longer_than_30_tokens_and_outside_the_n_best_are_not_candidates():
    n = len(W)
    # w0 .. w30 (31 tokens) scores 20 but is too long; w33 alone (5 + 6) is the best valid
    assert predicts(W, logits(n, p3=10, p36=5), logits(n, p33=10, p36=6), "w33")
    # w0 .. w29 is exactly MAX_ANSWER_TOKENS long: valid, and the best
    assert MAX_ANSWER_TOKENS == 30
    assert predicts(W, logits(n, p3=10, p36=5), logits(n, p32=10, p36=6), " ".join(WORDS[:30]))
    # N_BEST question tokens above every context token: no valid pair in the n-best, ""
    many_q = [None] * N_BEST + W[3:]
    high = np.concatenate([np.full(N_BEST, 9.0), np.zeros(len(many_q) - N_BEST)])
    data = hand_made([(0, many_q)], [TEXT], [["w5"]])
    assert QA.score(SQUAD, data, [(high, high)]) == squad_scores([""], [["w5"]])


def test_target_logits_on_real_windows_reproduce_the_gold_answer(tokenizer, squad_dev):
    data = QA.encode(tokenizer, SQUAD, one(squad_dev, "56d6f3500d65d21400198294"), 128, None, 0)
    outputs = []
    for w in range(len(data)):
        n = data.lengths[w]
        start, end = np.zeros(n), np.zeros(n)
        start[data.rows["start_positions"][w]] = end[data.rows["end_positions"][w]] = 10.0
        outputs.append((start, end))  # CLS in windows 0, 1: never a valid span
    assert QA.score(SQUAD, data, outputs) == {"exact_match": 1.0, "f1": 1.0, "score": 1.0}


# --- model, batches ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["tiny-bert", "minilm"])
def test_qa_model_trains_its_head_under_an_adapter(name, tokenizer, squad_dev):
    import adapters

    model = QA.load_model(name, SQUAD, seed=0)
    adapters.apply_method(model, "pfeiffer")
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert {"qa_outputs.weight", "qa_outputs.bias"} <= trainable
    data = QA.encode(tokenizer, SQUAD, squad_dev, 128, 4, seed=0)
    batch = QA.collate(data, list(range(len(data))), tokenizer.pad_token_id)
    assert batch["input_ids"].shape == batch["attention_mask"].shape == (len(data), 128)
    assert batch["start_positions"].shape == (len(data),)
    model.train()
    assert model(**batch).loss.item() > 0
    model.eval()
    with torch.no_grad():
        outputs = QA.predict(model, {k: v for k, v in batch.items() if k not in QA.target_keys})
    assert [len(s) for s, _ in outputs] == data.lengths
    scores = QA.score(SQUAD, data, outputs)
    assert 0.0 <= scores["score"] <= 1.0 and set(scores) == {"exact_match", "f1", "score"}
    probe = QA.random_batch(model, 32, 2, torch.device("cpu"))
    assert probe["input_ids"].shape == (2, 32) and model(**probe).loss.item() > 0


# --- the derived split validation_not_xquad ---------------------------------------------------

def test_validation_not_xquad_holds_no_xquad_paragraph():
    data_dir = default_data_dir()
    squad = load_split(Source(SQUAD, "validation"), data_dir, ["id", "context"])
    xquad_en = load_split(Source(XQUAD, "validation", "en"), data_dir, ["id", "context"])
    kept = load_split(Source(SQUAD, "validation_not_xquad"), data_dir, ["id", "context"])
    xquad_contexts = {c.strip() for c in xquad_en["context"]}
    assert len(xquad_contexts) == 240
    assert not xquad_contexts & {c.strip() for c in kept["context"]}
    # XQuAD is 240 SQuAD dev paragraphs with all their 1,190 questions (same ids), so
    # 10,570 - 1,190 = 9,380 remain. Two XQuAD paragraphs lost a leading/trailing space:
    # comparing contexts exactly would keep their 15 questions (9,395).
    assert len(squad["id"]) == 10570 and len(xquad_en["id"]) == 1190
    assert len(kept["id"]) == 9380
    assert not set(kept["id"]) & set(xquad_en["id"])
    assert len({c for c in xquad_en["context"]} - set(squad["context"])) == 2


def test_validation_not_xquad_is_mirrored_only_with_both_sources(tmp_path):
    source = train_source(XQUAD, "validation_not_xquad")
    assert source.describe() == "squad:validation_not_xquad"  # what the run record names
    assert not needs_hub(source, default_data_dir())
    (tmp_path / "squad").symlink_to(default_data_dir() / "squad")  # SQuAD without XQuAD
    assert needs_hub(source, tmp_path)
    assert not needs_hub(Source(SQUAD, "validation"), tmp_path)


# --- a real sweep -----------------------------------------------------------------------------

SPEC = """
name: qa
model: tiny-bert
tasks: [xquad]
seeds: [0]
methods: [{name: pfeiffer, lrs: [1.0e-3]}]
training: {epochs: 1, max_train_samples: 32, max_eval_samples: 16, batch_size: 16,
           max_seq_len: 128, train_split: validation_not_xquad, eval_languages: [de]}
probes: {cells: [[32, 2]], reps: 1, warmup: 0}
resources: {cpus_per_trial: 1, max_concurrent_trials: 1}
"""


def test_xquad_sweep_trains_on_squad_without_xquad_and_scores_german(tmp_path, local_ray,
                                                                     mlflow_template, monkeypatch):
    from pipeline.cli import main
    from tracking.records import read_records

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = tmp_path / "qa.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    assert main(["validate", str(spec)]) == 0  # offline: every split is in the mirror
    results = tmp_path / "results"
    mlflow_template.copy_to(results)
    assert main(["sweep", str(spec), "--results", str(results)]) == 0
    [run] = read_records(results, "runs").to_pylist()
    assert run["status"] == "ok", run["error"]
    assert run["task"] == "xquad" and run["metric"] == "squad"
    assert run["train_split"] == "squad:validation_not_xquad" and run["train_samples"] == 32
    assert run["dev_split"] == "squad:validation"
    assert 0.0 <= run["dev_score"] <= 1.0 and 0.0 <= run["xling_mean"] <= 1.0
    evals = read_records(results, "evals").to_pylist()
    german = [e for e in evals if e["language"] == "de"]
    assert len(german) == 1 and german[0]["split"] == "xquad/de:validation"
    assert german[0]["score"] == pytest.approx(run["xling_mean"])
    probes = read_records(results, "probes").to_pylist()
    assert {p["phase"] for p in probes} == {"train", "inference"}
    # the kind's random batch timed ("contended" when other work shared the CPU meanwhile)
    assert all(p["status"] in ("ok", "contended") and p["median_ms"] > 0 for p in probes)
