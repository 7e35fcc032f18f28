"""The record cache (tracking/record_cache.py) returns what reading every file returns: new files
are seen after a cached read, rewritten files are read again, vanished ones dropped, corrupt ones
skipped with a warning; every local reader goes through it; two processes building and appending
it at once get the same rows, none twice."""

import multiprocessing
import os

import pyarrow.parquet as pq
import pytest

from tracking import record_cache
from tracking.records import ok_trial_keys, read_records, records_dir, write_records


def run_row(key, status="ok", seed=0):
    return dict(sweep="s", trial_key=key, status=status, method="full", task="sst2", lr=1e-3,
                seed=seed, method_config={"a": 1})


def probe_row(seq):
    return dict(sweep="s", trial_key=f"k{seq}", model="m", method="full", method_config="{}",
                phase="train", seq_len=seq, batch_size=16, median_ms=float(seq), status="ok")


def _rows(table) -> list[dict]:
    return table.drop_columns(["_size", "_mtime_ns"]).to_pylist()


def _segments(results, kind="runs") -> list:
    return list((results / record_cache.CACHE_DIR / kind).glob("seg-*.parquet"))


@pytest.fixture
def opened(monkeypatch):
    """The record files opened since the fixture was made (names)."""
    names = []
    read_file = record_cache._read_file
    monkeypatch.setattr(record_cache, "_read_file",
                        lambda path, schema: names.append(path.name) or read_file(path, schema))
    return names


def test_segment_cache_appends_rewrites_and_merges(tmp_path, monkeypatch):
    monkeypatch.setattr(record_cache, "MAX_SEGMENTS", 3)
    load = record_cache.load_kind
    files = [write_records(tmp_path, "probes", f"p{i}", [probe_row(i)]) for i in range(2)]
    assert _rows(load(tmp_path, "probes")) == _rows(load(tmp_path, "probes", False))
    assert len(_segments(tmp_path, "probes")) == 1
    for i in range(2, 4):  # each read with new files appends one segment
        files.append(write_records(tmp_path, "probes", f"p{i}", [probe_row(i)]))
        load(tmp_path, "probes")
    assert len(_segments(tmp_path, "probes")) == 3
    files[1].unlink()  # a vanished file: its segment is rewritten without it
    cached = load(tmp_path, "probes")
    assert sorted(r["seq_len"] for r in _rows(cached)) == [0, 2, 3]
    assert _rows(cached) == _rows(load(tmp_path, "probes", False))
    write_records(tmp_path, "probes", "p9", [probe_row(9)])
    merged = load(tmp_path, "probes")  # a 4th segment: merged into one
    assert len(_segments(tmp_path, "probes")) == 1
    assert _rows(merged) == _rows(load(tmp_path, "probes", False))
    assert _rows(load(tmp_path, "probes", columns=["seq_len"])) == \
        [{"seq_len": r["seq_len"], "_file": r["_file"]} for r in _rows(merged)]


def test_a_deferred_segment_is_written_when_called(tmp_path):
    for i in range(2):
        write_records(tmp_path, "probes", f"p{i}", [probe_row(i)])
    writes: list = []
    fresh = record_cache.load_kind(tmp_path, "probes", deferred=writes)
    assert len(writes) == 1 and not _segments(tmp_path, "probes")
    # not called (yet): the files are read again
    assert _rows(record_cache.load_kind(tmp_path, "probes", deferred=[])) == _rows(fresh)
    writes[0]()
    assert len(_segments(tmp_path, "probes")) == 1
    again: list = []
    assert _rows(record_cache.load_kind(tmp_path, "probes", deferred=again)) == _rows(fresh)
    assert not again


def test_read_records_and_ok_keys_open_only_new_files(tmp_path, opened):
    write_records(tmp_path, "runs", "a", [run_row("a")])
    write_records(tmp_path, "runs", "b", [run_row("b", "failed")])
    assert ok_trial_keys(tmp_path) == {"a"} and len(opened) == 2
    assert [r["trial_key"] for r in read_records(tmp_path, "runs").to_pylist()] == ["a", "b"]
    assert len(opened) == 2  # from the cache
    c = write_records(tmp_path, "runs", "c", [run_row("c")])  # written during a sweep
    assert ok_trial_keys(tmp_path) == {"a", "c"} and opened[2:] == [c.name]
    assert read_records(tmp_path, "runs", "b").to_pylist()[0]["status"] == "failed"  # one trial


def test_a_rewritten_file_is_read_again(tmp_path, opened):
    path = write_records(tmp_path, "runs", "a", [run_row("a", "failed")])
    assert ok_trial_keys(tmp_path) == set()
    before = path.stat()
    pq.write_table(pq.read_table(path).drop_columns(["status"]), path)  # same name, new bytes
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1))  # a coarse-clock filesystem
    assert read_records(tmp_path, "runs").to_pylist()[0]["status"] is None
    assert opened == [path.name, path.name]


def test_a_vanished_file_is_dropped(tmp_path):
    a = write_records(tmp_path, "runs", "a", [run_row("a")])
    write_records(tmp_path, "runs", "b", [run_row("b")])
    assert ok_trial_keys(tmp_path) == {"a", "b"}
    a.unlink()
    assert ok_trial_keys(tmp_path) == {"b"}
    assert [r["trial_key"] for r in read_records(tmp_path, "runs", columns=["trial_key"])
            .to_pylist()] == ["b"]


def test_a_corrupt_file_is_skipped_each_time_until_it_reads(tmp_path):
    write_records(tmp_path, "runs", "good", [run_row("good")])
    bad = records_dir(tmp_path, "runs") / "bad-1.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    for _ in range(2):  # not cached: tried (and reported) again
        with pytest.warns(UserWarning, match="bad-1.parquet"):
            assert ok_trial_keys(tmp_path) == {"good"}
    pq.write_table(read_records(tmp_path, "runs", "good").set_column(
        2, "trial_key", [["bad"]]), bad)  # set_column index 2: trial_key
    assert ok_trial_keys(tmp_path) == {"good", "bad"}


def test_plan_reads_through_the_same_cache(tmp_path, opened):
    from pyarrow.dataset import field

    from pipeline.plan import _read

    write_records(tmp_path, "runs", "a", [run_row("a")])
    write_records(tmp_path, "runs", "b", [run_row("b", "failed")])
    ok_trial_keys(tmp_path)  # the sweep's start builds the cache
    ok = _read(tmp_path, "runs", ["trial_key", "status"], field("status") == "ok")
    assert ok.to_pylist() == [{"trial_key": "a", "status": "ok"}] and len(opened) == 2


# --- two processes at once -----------------------------------------------------------------------

def _appender(results, name, barrier, queue):
    """Writes 8 record files one by one and reads all runs after each, like a sweep and a table
    regeneration side by side; reports per read: (rows, distinct keys, own keys missing)."""
    record_cache.MAX_SEGMENTS = 2  # merges and rewrites all the time
    barrier.wait()
    mine, out = set(), []
    for i in range(8):
        key = f"{name}{i}"
        write_records(results, "runs", key, [run_row(key)])
        mine.add(key)
        keys = read_records(results, "runs", columns=["trial_key"])["trial_key"].to_pylist()
        out.append((len(keys), len(set(keys)), sorted(mine - set(keys))))
    queue.put((name, out))


def test_two_processes_building_the_cache_get_the_same_rows(tmp_path):
    for i in range(150):  # cold: both processes build the cache from these at once
        write_records(tmp_path, "runs", f"old{i:03d}", [run_row(f"old{i:03d}", seed=i)])
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_appender, args=(tmp_path, name, barrier, queue))
             for name in ("x", "y")]
    for p in procs:
        p.start()
    reports = dict(queue.get(timeout=600) for _ in procs)
    for p in procs:
        p.join()
        assert p.exitcode == 0
    for name, reads in reports.items():
        for i, (rows, distinct, missing) in enumerate(reads):
            assert rows == distinct  # no row twice
            assert missing == []  # its own files, written before the read, are there
            assert 150 + i + 1 <= rows <= 150 + 16
    cached = read_records(tmp_path, "runs")
    assert cached.to_pylist() == record_cache.load_kind(tmp_path, "runs", use_cache=False) \
        .select(cached.column_names).to_pylist()
    assert cached.num_rows == 166


def test_a_killed_writers_temporary_segment_is_deleted_once_stale(tmp_path):
    """A process killed between writing a segment's temporary file and renaming it leaves
    ``.seg-*.tmp``; the next read deletes it once older than STALE_TMP_S, never a fresh one
    (another process may be about to rename it)."""
    write_records(tmp_path, "runs", "a", [run_row("a")])
    seg_dir = tmp_path / record_cache.CACHE_DIR / "runs"
    seg_dir.mkdir(parents=True)
    stale, fresh = seg_dir / ".seg-00000007-dead.parquet.tmp", seg_dir / ".seg-00000008-live.parquet.tmp"
    for f in (stale, fresh):
        f.write_bytes(b"half a segment")
    old = os.stat(stale).st_mtime - record_cache.STALE_TMP_S - 60
    os.utime(stale, (old, old))
    assert ok_trial_keys(tmp_path) == {"a"}
    assert not stale.exists() and fresh.exists()
