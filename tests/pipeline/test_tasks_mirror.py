"""Every split of the data mirror (../shared/data) is some task's, and holds that task's columns:
a task whose folder or config name differs from the mirror's (SuperGLUE's RTE is `rte` there)
would otherwise go to the hub, offline refused, for data the machine has."""

from pathlib import Path

import pyarrow.parquet as pq

from pipeline.kinds import get_kind
from pipeline.tasks import TASKS, Source, default_data_dir, load_split, mirror_file


def owners(path: Path, data_dir: Path) -> list[Source]:
    """The (task, split, language) sources whose mirror file is ``path``."""
    split = path.stem
    return [Source(task, split, lang)
            for task in TASKS.values() for lang in (task.languages or (None,))
            if mirror_file(task, split, data_dir, lang) == path]


def test_every_mirrored_split_belongs_to_a_task_and_has_its_columns():
    data_dir = default_data_dir()
    files = sorted(data_dir.rglob("*.parquet"))
    assert len(files) >= 100  # ../shared/data/README.md: 100 Parquet files and more
    orphans = [str(f.relative_to(data_dir)) for f in files if not owners(f, data_dir)]
    assert orphans == []
    for f in files:
        columns = set(pq.read_schema(f).names)
        for source in owners(f, data_dir):
            needed = get_kind(source.task.kind).columns(source.task)  # what training reads
            assert set(needed) <= columns, (source.describe(), columns)


def test_superglue_rte_reads_the_mirrors_rte_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    task = TASKS["superglue_rte"]
    train = load_split(Source(task, "train"), default_data_dir())
    dev = load_split(Source(task, "validation"), default_data_dir())
    # SuperGLUE RTE: 2,490 train and 277 dev pairs, 0 = entailment (as the mirror's README)
    assert (len(train["label"]), len(dev["label"])) == (2490, 277)
    assert set(dev["label"]) == {0, 1} and list(train) == ["premise", "hypothesis", "label"]
