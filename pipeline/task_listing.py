"""`adapterbench tasks [--data-dir DIR]`: every task, its kind and metric, and where its data
comes from: the splits this machine's data mirror has (so a spec can run offline) and the hub
source of the rest. Torch-free: the mirror is looked at, not read.

    | task | kind | metric | languages | trains on | train / dev | mirrored here | from the hub |
    | xcopa | multiple_choice | accuracy | 11 | copa | train / validation | validation (11/11), ...

"trains on": the task whose data a zero-shot task trains on (and chooses its best epoch on);
"train / dev": the task's default splits, of a zero-shot task the split it is scored on (a spec
may name others); "mirrored here": each split of the task's data that the mirror
has (for a multilingual task, in how many of its languages), a derived split
(pipeline/tasks.py DERIVED_SPLITS) too.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.tasks import (DERIVED_SPLITS, PARQUET_EXPORT, TASKS, Task, default_data_dir,
                            mirror_file)

# the split names of the mirror and the hub sets (pipeline/tasks.py and ../shared/data)
SPLITS = ("train", "validation", "validation_matched", "validation_mismatched", "test")


def mirrored(task: Task, data_dir: Path | None) -> str:
    """The task's own splits in the mirror: "train, validation", or per split the languages
    it has of the task's ("validation (15/15), test (15/15)"); "–" for none."""
    splits = [*SPLITS, *(split for name, split in DERIVED_SPLITS if name == task.name)]
    out = []
    for split in splits:
        if task.languages:
            have = sum(mirror_file(task, split, data_dir, lang) is not None
                       for lang in task.languages)
            if have:
                out.append(f"{split} ({have}/{len(task.languages)})")
        elif mirror_file(task, split, data_dir) is not None:
            out.append(split)
    return ", ".join(out) or "–"


def hub_source(task: Task) -> str:
    """Where the hub path reads: dataset id and config, or the repo's files (at the parquet
    export where that is the revision)."""
    if task.hf_files:
        at = " (parquet export)" if task.hf_revision == PARQUET_EXPORT else \
            f"@{task.hf_revision}" if task.hf_revision else ""
        return f"{task.hf_id}{at}: {task.hf_files}"
    config = task.hf_subset or task.subset
    return f"{task.hf_id} [{config}]"


def splits(task: Task) -> str:
    return f"eval {task.dev_split}" if task.train_task else \
        f"{task.train_split} / {task.dev_split}"


def rows(data_dir: Path | None) -> list[dict]:
    return [dict(task=t.name, kind=t.kind, metric=t.metric,
                 languages=len(t.languages) or "", trains_on=t.train_task or "",
                 splits=splits(t), mirrored=mirrored(t, data_dir), hub=hub_source(t))
            for t in sorted(TASKS.values(), key=lambda t: t.name)]


def table(data_dir: Path | None) -> str:
    where = str(data_dir) if data_dir else "no data mirror"
    lines = [f"Tasks ({where}; HF_HUB_OFFLINE=1 runs only what is mirrored):", "",
             "| task | kind | metric | languages | trains on | train / dev | mirrored here "
             "| from the hub |",
             "|---|---|---|---:|---|---|---|---|"]
    for r in rows(data_dir):
        lines.append("| " + " | ".join(str(v) for v in r.values()) + " |")
    return "\n".join(lines)


def main(data_dir: str | None = None) -> int:
    print(table(Path(data_dir).resolve() if data_dir else default_data_dir()))
    return 0
