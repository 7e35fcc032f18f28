"""Parquet records: atomic files, a corrupt file skipped with a warning naming it."""

import pytest

from tracking.records import SCHEMA_VERSION, ok_trial_keys, read_records, records_dir, write_records


def run_row(key, status="ok"):
    return dict(sweep="s", trial_key=key, status=status, method="full", task="sst2", lr=1e-3,
                seed=0, method_config={"a": 1}, versions={"torch": "2.13.0"})


def test_write_then_read_round_trip(tmp_path):
    path = write_records(tmp_path, "runs", "k1", [run_row("k1")])
    assert path.parent == records_dir(tmp_path, "runs") and path.suffix == ".parquet"
    assert not list(path.parent.glob(".*.tmp"))  # the temporary name is gone
    rows = read_records(tmp_path, "runs").to_pylist()
    assert rows[0]["trial_key"] == "k1" and rows[0]["method_config"] == '{"a": 1}'
    assert rows[0]["schema_version"] == SCHEMA_VERSION


def test_ok_keys_ignore_failed_attempts(tmp_path):
    write_records(tmp_path, "runs", "a", [run_row("a", "failed")])
    write_records(tmp_path, "runs", "a", [run_row("a", "ok")])
    write_records(tmp_path, "runs", "b", [run_row("b", "oom")])
    assert ok_trial_keys(tmp_path) == {"a"}


def test_corrupt_file_is_skipped_with_a_warning(tmp_path):
    write_records(tmp_path, "runs", "good", [run_row("good")])
    bad = records_dir(tmp_path, "runs") / "half-written.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.warns(UserWarning, match="half-written.parquet"):
        rows = read_records(tmp_path, "runs").to_pylist()
    assert [r["trial_key"] for r in rows] == ["good"]


def test_no_records_gives_an_empty_table_with_the_schema(tmp_path):
    table = read_records(tmp_path, "probes")
    assert table.num_rows == 0 and "median_ms" in table.column_names


def test_uri_results_and_per_trial_reads(tmp_path):
    # A results URI goes through pyarrow's filesystems (s3:// and gs:// take the same path).
    uri = (tmp_path / "shared").as_uri()
    write_records(uri, "runs", "k1", [run_row("k1")])
    write_records(uri, "runs", "k2", [run_row("k2", "failed")])
    assert ok_trial_keys(uri) == {"k1"} and ok_trial_keys(uri, "k2") == set()
    assert read_records(uri, "runs", "k2").to_pylist()[0]["status"] == "failed"
    assert len(list((tmp_path / "shared" / "records" / "runs").glob("*.parquet"))) == 2


def test_files_without_the_new_column_still_read(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = records_dir(tmp_path, "runs")
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"trial_key": ["old"], "status": ["ok"]}), folder / "old-1.parquet")
    rows = read_records(tmp_path, "runs").to_pylist()
    assert rows[0]["trial_key"] == "old" and rows[0]["ray_node_id"] is None


def test_uri_reads_skip_a_corrupt_file_and_fill_missing_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    uri = (tmp_path / "shared").as_uri()
    write_records(uri, "runs", "k1", [run_row("k1")])
    folder = records_dir(tmp_path / "shared", "runs")
    pq.write_table(pa.table({"trial_key": ["old"], "status": ["ok"]}), folder / "old-1.parquet")
    assert ok_trial_keys(uri) == {"k1", "old"}  # one dataset scan
    (folder / "bad-1.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.warns(UserWarning, match="bad-1.parquet"):  # file by file
        assert ok_trial_keys(uri) == {"k1", "old"}
