"""Tasks as data (lm-evaluation-harness style): dataset, text columns, labels, metric.

Data comes from a local mirror laid out as ``<root>/<benchmark>/<task>/<split>.parquet`` (the
layout of ``../shared/data``) when it has the task, else from the HF hub via ``datasets``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq


@dataclass(frozen=True)
class Task:
    name: str
    benchmark: str  # folder in the mirror and HF dataset family
    hf_id: str  # hub dataset id, used only without a mirror
    subset: str
    text_columns: tuple[str, ...]
    num_labels: int  # 1 = regression
    metric: str  # see pipeline.metrics.score
    train_split: str = "train"
    dev_split: str = "validation"
    higher_is_better: bool = True
    version: int = 1


TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        Task("sst2", "glue", "nyu-mll/glue", "sst2", ("sentence",), 2, "accuracy"),
        Task("cola", "glue", "nyu-mll/glue", "cola", ("sentence",), 2, "matthews"),
        Task("mrpc", "glue", "nyu-mll/glue", "mrpc", ("sentence1", "sentence2"), 2, "f1_accuracy"),
        Task("stsb", "glue", "nyu-mll/glue", "stsb", ("sentence1", "sentence2"), 1,
             "pearson_spearman"),
        Task("rte", "glue", "nyu-mll/glue", "rte", ("sentence1", "sentence2"), 2, "accuracy"),
        Task("wnli", "glue", "nyu-mll/glue", "wnli", ("sentence1", "sentence2"), 2, "accuracy"),
        Task("cb", "super_glue", "aps/super_glue", "cb", ("premise", "hypothesis"), 3, "accuracy"),
        Task("wic", "super_glue", "aps/super_glue", "wic", ("sentence1", "sentence2"), 2,
             "accuracy"),
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


def mirror_file(task: Task, split: str, data_dir: Path | None) -> Path | None:
    if data_dir is None:
        return None
    path = Path(data_dir) / task.benchmark / task.subset / f"{split}.parquet"
    return path if path.is_file() else None


def load_split(task: Task, split: str, data_dir: Path | None) -> dict[str, list]:
    """Columns of one split as python lists: the text columns and ``label``."""
    columns = [*task.text_columns, "label"]
    path = mirror_file(task, split, data_dir)
    if path is not None:
        return pq.read_table(path, columns=columns).to_pydict()
    if data_dir is not None and os.environ.get("HF_HUB_OFFLINE") == "1":
        raise FileNotFoundError(f"{task.name}/{split} is not in the data mirror {data_dir}")
    import datasets  # only for the hub path: it is slow to import

    ds = datasets.load_dataset(task.hf_id, task.subset, split=split)
    return {c: ds[c] for c in columns}
