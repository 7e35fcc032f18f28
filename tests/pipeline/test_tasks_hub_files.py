"""Hub repos that are loading scripts, which `datasets` >= 4 refuses to run: their splits are read
as files, the repo's own (IndicCOPA, IndicSentiment: tests beside those tasks) or the parquet
export the hub made of them (CoNLL-2003, Social IQa: here), at revision refs/convert/parquet.
The hub cannot be reached here: `datasets` is a fake serving hand-made rows per URL, and the URL
is checked with huggingface_hub's own parser (the one its file system reads hf:// paths with)."""

import pytest
from huggingface_hub.utils._hf_uris import parse_hf_uri

from pipeline.tasks import TASKS, Source, hub_files, load_split, train_source


@pytest.mark.parametrize("task, split, config", [
    ("conll2003", "train", "conll2003"),
    ("conll2003", "test", "conll2003"),
    ("social_iqa", "train", "default"),
])
def test_script_repos_read_their_parquet_export(fake_hub, task, split, config):
    calls, files = fake_hub
    source = Source(TASKS[task], split)
    builder, data_files = hub_files(source)
    url = data_files[split]
    assert builder == "parquet" and list(data_files) == [split]
    parsed = parse_hf_uri(url)
    assert (parsed.type, parsed.id) == ("dataset", TASKS[task].hf_id)
    assert parsed.revision == "refs/convert/parquet"
    assert parsed.path_in_repo == f"{config}/{split}/*.parquet"
    columns = [*TASKS[task].fields, "label"]
    files[url] = {c: [f"{c}-0", f"{c}-1"] for c in [*columns, "extra"]}
    rows = load_split(source, data_dir=None, columns=columns)
    assert calls == [("parquet", None, {split: url}, split)]
    assert rows == {c: [f"{c}-0", f"{c}-1"] for c in columns}


def test_social_iqa_train_comes_from_the_export_offline_refused(monkeypatch):
    # Social IQa's train split is not mirrored: offline it is refused by name, not substituted
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from pipeline.tasks import default_data_dir

    with pytest.raises(FileNotFoundError, match="social_iqa:train is not in the data mirror"):
        load_split(train_source(TASKS["social_iqa"]), default_data_dir())
