"""`adapterbench tasks`: one row per task with what the data mirror (../shared/data) has of it
and where the rest would come from; with an empty mirror every row says "–"."""

from pipeline.cli import main
from pipeline.tasks import TASKS


def listing(capsys, *args) -> dict[str, list[str]]:
    assert main(["tasks", *args]) == 0
    out = capsys.readouterr().out
    rows = [line.strip("| ").split(" | ") for line in out.splitlines() if line.startswith("| ")]
    assert rows[0] == ["task", "kind", "metric", "languages", "trains on", "train / dev",
                       "mirrored here", "from the hub"]
    return {r[0]: r[1:] for r in rows[1:]}


def test_every_task_once_with_its_mirrored_splits_and_hub_source(capsys):
    rows = listing(capsys)
    assert sorted(rows) == sorted(TASKS)
    # mirror and hub config are "rte" for SuperGLUE's RTE (the task once looked for neither)
    assert rows["superglue_rte"] == ["classification", "accuracy", "", "", "train / validation",
                                     "train, validation", "aps/super_glue [rte]"]
    # MNLI mismatched: its dev split is not mirrored, only the matched one of the same data
    assert rows["mnli_mm"][4:6] == ["train / validation_mismatched", "validation_matched"]
    assert rows["xcopa"] == ["multiple_choice", "accuracy", "11", "copa", "eval validation",
                             "validation (11/11), test (11/11)", "cambridgeltl/xcopa [{lang}]"]
    assert rows["squad"][5] == "validation, validation_not_xquad"  # a derived split too
    assert rows["sentiment"][5:] == ["–", "mteb/amazon_reviews_multi: en/{split}.jsonl"]
    assert rows["social_iqa"][5:] == [
        "validation", "allenai/social_i_qa (parquet export): default/{split}/*.parquet"]


def test_an_empty_mirror_has_nothing(tmp_path, capsys):
    rows = listing(capsys, "--data-dir", str(tmp_path))
    assert {r[5] for r in rows.values()} == {"–"}
