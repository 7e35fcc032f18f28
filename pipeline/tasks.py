"""Tasks as data (lm-evaluation-harness style): dataset, fields, kind, metric and direction.

A task's *kind* (pipeline/kinds/) decides the model head, how a split becomes examples and
batches, how outputs become predictions, and the metric; the task only names its data.

Data comes from a local mirror laid out as ``<root>/<benchmark>/<subset>/<split>.parquet`` (the
layout of ``../shared/data``; multilingual sets put the language in ``subset``, e.g.
``xnli/de/test.parquet``) when it has the split, else from the HF hub via ``datasets``.
A task whose hub rows are not in our fields + ``label`` names a conversion (``from_hub``: one
of the hub conversions below), applied to hub rows only: a mirror holds converted rows.
A *derived split* (``DERIVED_SPLITS``, at the end) is a named subset of other splits, e.g.
SQuAD's dev paragraphs that XQuAD does not use, to train on offline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyarrow.parquet as pq

XNLI_LANGS = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi",
              "zh")
XQUAD_LANGS = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
XCOPA_LANGS = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
PAWSX_LANGS = ("de", "en", "es", "fr", "ja", "ko", "zh")
WIKIANN_LANGS = ("en", "de", "fr", "hi")  # the mirrored ones; the hub has 176 (any code works)
CONLL_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
WIKIANN_TAGS = CONLL_TAGS[:7]
# IndicSentiment's languages (the hub's data/<split>/<lang>.json); the 2023 paper's code
# (IndicBert/finetuning/Sentiment.py) evaluates on all but bd and ur.
INDIC_SENTIMENT_LANGS = ("as", "bd", "bn", "gu", "hi", "kn", "ml", "mr", "or", "pa", "ta", "te",
                         "ur")
# IndicCOPA's languages (the hub's data/test.<lang>.jsonl); the 2023 paper's code (IndicBert/
# finetuning/COPA.py) scores all but en and sd (the result it logs as "sd" loads translation-ur).
INDIC_COPA_LANGS = ("as", "bn", "en", "gom", "gu", "hi", "kn", "mai", "ml", "mr", "ne", "or",
                    "pa", "sa", "sat", "sd", "ta", "te", "ur")


# --- Hub conversions: a hub dataset's columns -> the task's fields and ``label`` -------------
# Each takes the hub split as {column: list} and returns {field: list, "label": list}; it may
# drop rows. Facts from Mundra et al. 2023's public code (AI4Bharat/adapter-efficiency,
# IndicBert/finetuning/Sentiment.py).

def amazon_reviews_rows(rows: dict[str, list]) -> dict[str, list]:
    """MARC's reviews as mteb/amazon_reviews_multi holds them: its build script wrote ``text`` =
    review_title + "\n\n" + review_body and ``label`` = stars - 1. The paper's code trains on
    review_body (the text after the first blank line: titles are one line) with 3-star reviews
    dropped and label 1 above 3 stars, else 0."""
    keep = [i for i, label in enumerate(rows["label"]) if label != 2]  # 2 = three stars
    return {"sentence": [rows["text"][i].split("\n\n", 1)[1] for i in keep],
            "label": [int(rows["label"][i] > 2) for i in keep]}


def indic_sentiment_rows(rows: dict[str, list]) -> dict[str, list]:
    """ai4bharat/IndicSentiment: the review in the Indic language; label 1 for "Positive", else 0,
    as the paper's code maps it (a row with no LABEL too; mteb drops those instead)."""
    return {"sentence": list(rows["INDIC REVIEW"]),
            "label": [int(label == "Positive") for label in rows["LABEL"]]}


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # pipeline/kinds/<kind>.py
    benchmark: str  # folder in the mirror
    hf_id: str  # hub dataset id, used only without a mirror
    subset: str  # mirror folder and HF config; "{lang}" is replaced by a language code
    fields: tuple[str, ...]  # the columns the kind reads (text fields in input order)
    num_labels: int  # classification: classes (1 = regression); tagging: tags; else 0
    metric: str  # see the kind's score()
    train_split: str = "train"
    dev_split: str = "validation"
    higher_is_better: bool = True
    label_names: tuple[str, ...] = ()  # tag names (token classification)
    languages: tuple[str, ...] = ()  # multilingual: codes of the mirrored/hub configs
    train_language: str = "en"  # the language a multilingual task trains and selects on
    # Zero-shot transfer sets (XCOPA, XQuAD) train on another task's data: its name here.
    train_task: str | None = None
    hf_subset: str | None = None  # HF config when it differs from ``subset`` ("xquad.{lang}")
    # hub rows -> fields + label (a function of the hub conversions above); None: same columns
    from_hub: Callable[[dict[str, list]], dict[str, list]] | None = None
    # The split's file(s) in the hub repo ("{split}", "{lang}" replaced; a glob may match
    # several), read directly, for a repo whose loading script `datasets` no longer runs
    # (datasets >= 4 refuses scripts): the repo's own data files, or its parquet export.
    hf_files: str | None = None
    # The hub revision ``hf_files`` are read at (None: main). "refs/convert/parquet" is the
    # export the hub made of a loading-script repo's splits: <config>/<split>/<n>.parquet.
    hf_revision: str | None = None

    def subset_for(self, language: str | None) -> str:
        return self.subset.format(lang=language or self.train_language)

    def hf_config_for(self, language: str | None) -> str:
        return (self.hf_subset or self.subset).format(lang=language or self.train_language)


PARQUET_EXPORT = "refs/convert/parquet"


def _glue(name, fields, num_labels, metric, **kw):
    return Task(name, "classification", "glue", "nyu-mll/glue", name, fields, num_labels, metric,
                **kw)


def _sglue(name, kind, fields, num_labels, metric, subset=None, **kw):
    return Task(name, kind, "super_glue", "aps/super_glue", subset or name, fields, num_labels,
                metric, **kw)


PAIR = ("sentence1", "sentence2")

TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        # GLUE (metrics as the GLUE leaderboard and both papers' tables report them)
        _glue("sst2", ("sentence",), 2, "accuracy"),
        _glue("cola", ("sentence",), 2, "matthews"),
        _glue("mrpc", PAIR, 2, "f1_accuracy"),
        _glue("stsb", PAIR, 1, "pearson_spearman"),
        _glue("qqp", ("question1", "question2"), 2, "f1_accuracy"),
        _glue("mnli", ("premise", "hypothesis"), 3, "accuracy",
              dev_split="validation_matched"),
        # MNLI mismatched: the same training data, the other dev set (AdapterDrop Table 6).
        Task("mnli_mm", "classification", "glue", "nyu-mll/glue", "mnli",
             ("premise", "hypothesis"), 3, "accuracy", dev_split="validation_mismatched"),
        _glue("qnli", ("question", "sentence"), 2, "accuracy"),
        _glue("rte", PAIR, 2, "accuracy"),
        _glue("wnli", PAIR, 2, "accuracy"),
        # SuperGLUE (Compacter Table 2) and its RTE
        _sglue("boolq", "classification", ("question", "passage"), 2, "accuracy"),
        _sglue("cb", "classification", ("premise", "hypothesis"), 3, "accuracy"),
        _sglue("copa", "multiple_choice", ("premise", "question", "choice1", "choice2"), 0,
               "accuracy"),
        _sglue("multirc", "multirc", ("paragraph", "question", "answer", "idx"), 2, "multirc"),
        _sglue("record", "record", ("passage", "query", "entities", "answers", "idx"), 0,
               "record"),
        _sglue("wic", "classification", ("sentence1", "sentence2"), 2, "accuracy"),
        # SuperGLUE's RTE (config "rte", premise/hypothesis), beside GLUE's (sentence1/2)
        _sglue("superglue_rte", "classification", ("premise", "hypothesis"), 2, "accuracy",
               subset="rte"),
        # Cross-lingual (Mundra et al. 2023's task families, in their public forms)
        Task("xnli", "classification", "xnli", "facebook/xnli", "{lang}",
             ("premise", "hypothesis"), 3, "accuracy", languages=XNLI_LANGS),
        Task("pawsx", "classification", "paws-x", "google-research-datasets/paws-x", "{lang}",
             ("sentence1", "sentence2"), 2, "accuracy", languages=PAWSX_LANGS),
        # eriktks/conll2003 and allenai/social_i_qa are loading scripts (datasets >= 4 refuses
        # them): without a mirror, their hub parquet exports are read (same columns).
        Task("conll2003", "token_classification", "conll2003", "eriktks/conll2003", "conll2003",
             ("tokens", "ner_tags"), len(CONLL_TAGS), "seqeval", label_names=CONLL_TAGS,
             hf_files="conll2003/{split}/*.parquet", hf_revision=PARQUET_EXPORT),
        Task("wikiann", "token_classification", "wikiann", "unimelb-nlp/wikiann", "{lang}",
             ("tokens", "ner_tags"), len(WIKIANN_TAGS), "seqeval", label_names=WIKIANN_TAGS,
             languages=WIKIANN_LANGS),
        Task("squad", "extractive_qa", "squad", "rajpurkar/squad", "plain_text",
             ("id", "context", "question", "answers"), 0, "squad"),
        Task("xquad", "extractive_qa", "xquad", "google/xquad", "{lang}",
             ("id", "context", "question", "answers"), 0, "squad", languages=XQUAD_LANGS,
             train_task="squad", hf_subset="xquad.{lang}"),
        Task("xcopa", "multiple_choice", "xcopa", "cambridgeltl/xcopa", "{lang}",
             ("premise", "question", "choice1", "choice2"), 0, "accuracy",
             languages=XCOPA_LANGS, train_task="copa"),
        Task("social_iqa", "multiple_choice", "social_i_qa", "allenai/social_i_qa", "default",
             ("context", "question", "answerA", "answerB", "answerC"), 0, "accuracy",
             hf_files="default/{split}/*.parquet", hf_revision=PARQUET_EXPORT),
        # The 2023 paper's COPA-style family: trained on Social IQa (3 answers), scored zero-shot
        # on IndicCOPA's test split (2 choices, XCOPA's columns). Hub only; the hub repo is a
        # loading script over data/test.<lang>.jsonl, so its files are read directly.
        Task("indic_copa", "multiple_choice", "indic_copa", "ai4bharat/IndicCOPA", "{lang}",
             ("premise", "question", "choice1", "choice2"), 0, "accuracy", dev_split="test",
             languages=INDIC_COPA_LANGS, train_task="social_iqa",
             hf_files="data/{split}.{lang}.jsonl"),
        # The 2023 paper's sentiment family: English Amazon reviews (MARC) to train (accuracy, as
        # its code's glue/sst2 metric), IndicSentiment's test split zero-shot. Hub only (neither
        # is mirrored). The paper's code loads amazon_reviews_multi, which the hub has marked
        # defunct (no longer downloadable): MARC is read from mteb's copy of it (a loading
        # script over <lang>/<split>.jsonl), review_body recovered from its text. A mirror may
        # hold converted rows (amazon_reviews_multi/en/<split>.parquet: sentence, label).
        # IndicSentiment's hub repo is a loading script too: its files are read.
        Task("sentiment", "classification", "amazon_reviews_multi", "mteb/amazon_reviews_multi",
             "en", ("sentence",), 2, "accuracy", hf_files="en/{split}.jsonl",
             from_hub=amazon_reviews_rows),
        Task("indic_sentiment", "classification", "indic_sentiment", "ai4bharat/IndicSentiment",
             "{lang}", ("sentence",), 2, "accuracy", dev_split="test",
             languages=INDIC_SENTIMENT_LANGS, train_task="sentiment",
             hf_files="data/{split}/{lang}.json", from_hub=indic_sentiment_rows),
    ]
}

DATA_DIR_ENV = "ADAPTERBENCH_DATA_DIR"


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def default_data_dir() -> Path | None:
    """$ADAPTERBENCH_DATA_DIR, else ../shared/data beside the repository, else None (hub)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).resolve()
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    return shared if shared.is_dir() else None


def mirror_path(task: Task, split: str, data_dir: Path | str, language: str | None = None) -> Path:
    return Path(data_dir) / task.benchmark / task.subset_for(language) / f"{split}.parquet"


def mirror_file(task: Task, split: str, data_dir: Path | None,
                language: str | None = None) -> Path | None:
    """The split's Parquet file in the mirror, or None. A derived split is mirrored when all
    its inputs are: the file of its first input (the rows it keeps) stands for it."""
    if data_dir is None:
        return None
    if (task.name, split) in DERIVED_SPLITS:
        inputs, _ = DERIVED_SPLITS[task.name, split]
        files = [mirror_file(s.task, s.split, data_dir, s.language) for s in inputs]
        return files[0] if all(files) else None
    path = mirror_path(task, split, data_dir, language)
    return path if path.is_file() else None


@dataclass(frozen=True)
class Source:
    """Where one split of one task comes from: the task whose data it is, split, language."""
    task: Task
    split: str
    language: str | None = None

    def describe(self) -> str:
        lang = f"/{self.language}" if self.language else ""
        return f"{self.task.name}{lang}:{self.split}"


def train_source(task: Task, split: str | None = None) -> Source:
    """The training data: the task's own (or its ``train_task``'s) train split, in the training
    language; ``split`` is an explicit override from the spec (recorded, never silent)."""
    data_task = TASKS[task.train_task] if task.train_task else task
    lang = data_task.train_language if data_task.languages else None
    return Source(data_task, split or data_task.train_split, lang)


def dev_source(task: Task, split: str | None = None) -> Source:
    """The dev set the best epoch is chosen on: in the training language."""
    data_task = TASKS[task.train_task] if task.train_task else task
    lang = data_task.train_language if data_task.languages else None
    return Source(data_task, split or data_task.dev_split, lang)


def language_source(task: Task, language: str, split: str | None = None) -> Source:
    """A zero-shot evaluation set: the task's own data in ``language``."""
    if not task.languages:
        raise ValueError(f"task {task.name!r} has no languages")
    return Source(task, split or task.dev_split, language)


def needs_hub(source: Source, data_dir: Path | None) -> bool:
    return mirror_file(source.task, source.split, data_dir, source.language) is None


def load_split(source: Source, data_dir: Path | None, columns: list[str] | None = None
               ) -> dict[str, list]:
    """Columns of one split as python lists (default: the task's fields and ``label``)."""
    task = source.task
    if columns is None:
        columns = [*task.fields, "label"]
    if (task.name, source.split) in DERIVED_SPLITS:
        inputs, build = DERIVED_SPLITS[task.name, source.split]
        return build(*inputs, data_dir=data_dir, columns=columns)
    path = mirror_file(task, source.split, data_dir, source.language)
    if path is not None:
        return pq.read_table(path, columns=columns).to_pydict()
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        where = mirror_path(task, source.split, data_dir, source.language) if data_dir else \
            "(no data mirror)"
        raise FileNotFoundError(f"{source.describe()} is not in the data mirror ({where}) and "
                                "HF_HUB_OFFLINE=1")
    import datasets  # only for the hub path: it is slow to import

    if task.hf_files:
        builder, data_files = hub_files(source)
        ds = datasets.load_dataset(builder, data_files=data_files, split=source.split)
    else:
        ds = datasets.load_dataset(task.hf_id, task.hf_config_for(source.language),
                                   split=source.split)
    if task.from_hub is None:
        return {c: ds[c] for c in columns}
    rows = task.from_hub({c: ds[c] for c in ds.column_names})
    return {c: rows[c] for c in columns}


def hub_files(source: Source) -> tuple[str, dict[str, str]]:
    """(datasets' builder for the file type, data_files) of a split named by ``hf_files``."""
    task = source.task
    path = task.hf_files.format(split=source.split, lang=source.language or task.train_language)
    builder = {"jsonl": "json", "json": "json", "parquet": "parquet", "csv": "csv"}[
        path.rsplit(".", 1)[-1]]
    repo = f"{task.hf_id}@{task.hf_revision}" if task.hf_revision else task.hf_id
    return builder, {source.split: f"hf://datasets/{repo}/{path}"}


# --- Derived splits: named subsets of mirrored splits, for what the mirror lacks ---------------
# A spec names one like any split (training.train_split); it loads from the mirror when all its
# inputs are mirrored (else from the hub, input by input), and the records name it.

def _without_contexts(rows: Source, held_out: Source, data_dir, columns) -> dict[str, list]:
    """The rows of ``rows`` whose context is not one of ``held_out``'s (compared without
    leading/trailing whitespace: two of XQuAD's 240 English paragraphs differ from SQuAD's
    only there)."""
    data = load_split(rows, data_dir, list(dict.fromkeys([*columns, "context"])))
    drop = {c.strip() for c in load_split(held_out, data_dir, ["context"])["context"]}
    keep = [i for i, c in enumerate(data["context"]) if c.strip() not in drop]
    return {c: [data[c][i] for i in keep] for c in columns}


# (task, split) -> (its input sources, function(*inputs, data_dir=, columns=) -> columns)
DERIVED_SPLITS = {
    # SQuAD v1.1 dev minus the 240 paragraphs XQuAD translated (all their 1,190 questions):
    # 9,380 questions to train zero-shot XQuAD on without a SQuAD train mirror.
    ("squad", "validation_not_xquad"): (
        (Source(TASKS["squad"], "validation"), Source(TASKS["xquad"], "validation", "en")),
        _without_contexts),
}
