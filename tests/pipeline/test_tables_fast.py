"""The fast paths give what the plain ones give: the segment cache (appended, rewritten, merged)
returns the same rows as reading every file; the vectorised probe medians equal pandas'
groupby median, group order and key types included."""

import json

import numpy as np
import pyarrow as pa

from pipeline.tables import load, probe_agg
from pipeline.tables.core import PROBE_KEYS
from tables_records import probe, write


def _rows(table: pa.Table) -> list[dict]:
    return table.drop_columns(["_size", "_mtime_ns"]).to_pylist()


def test_segment_cache_appends_rewrites_and_merges(tmp_path, monkeypatch):
    monkeypatch.setattr(load, "MAX_SEGMENTS", 3)
    files = [write(tmp_path, "probes", [probe("full", "train", float(i), seq=i)], name=f"p{i}")
             for i in range(2)]
    segments = tmp_path / load.CACHE_DIR / "probes"
    assert _rows(load.load_kind(tmp_path, "probes")) == _rows(load.load_kind(tmp_path, "probes", False))
    assert len(list(segments.glob("seg-*.parquet"))) == 1
    for i in range(2, 4):  # each regeneration with new files appends one segment
        files.append(write(tmp_path, "probes", [probe("full", "train", float(i), seq=i)], name=f"p{i}"))
        load.load_kind(tmp_path, "probes")
    assert len(list(segments.glob("seg-*.parquet"))) == 3
    files[1].unlink()  # a vanished file: its segment is rewritten without it
    cached = load.load_kind(tmp_path, "probes")
    assert sorted(r["seq_len"] for r in _rows(cached)) == [0, 2, 3]
    assert _rows(cached) == _rows(load.load_kind(tmp_path, "probes", False))
    write(tmp_path, "probes", [probe("full", "train", 9.0, seq=9)], name="p9")
    merged = load.load_kind(tmp_path, "probes")  # a 4th segment: merged into one
    assert len(list(segments.glob("seg-*.parquet"))) == 1
    assert _rows(merged) == _rows(load.load_kind(tmp_path, "probes", False))
    assert _rows(load.load_kind(tmp_path, "probes", columns=["seq_len"])) == \
        [{"seq_len": r["seq_len"], "_file": r["_file"]} for r in _rows(merged)]


def test_a_deferred_segment_is_written_when_called(tmp_path):
    for i in range(2):
        write(tmp_path, "probes", [probe("full", "train", float(i), seq=i)], name=f"p{i}")
    segments = tmp_path / load.CACHE_DIR / "probes"
    writes: list = []
    fresh = load.load_kind(tmp_path, "probes", deferred=writes)
    assert len(writes) == 1 and not list(segments.glob("seg-*.parquet"))
    # not called (yet): the files are read again
    assert _rows(load.load_kind(tmp_path, "probes", deferred=[])) == _rows(fresh)
    writes[0]()
    assert len(list(segments.glob("seg-*.parquet"))) == 1
    again: list = []
    assert _rows(load.load_kind(tmp_path, "probes", deferred=again)) == _rows(fresh) and not again


def test_probe_medians_equal_pandas_groupby(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    methods = np.array(["pfeiffer", "full", "houlsby"])[rng.integers(0, 3, n)]
    table = pa.table({
        "model": np.array(["m2", "m1"])[rng.integers(0, 2, n)],
        "device": np.array(["gpu", "cpu"])[rng.integers(0, 2, n)],
        "method": pa.array(np.where(rng.random(n) < 0.01, None, methods), pa.string()),
        "method_config": np.array([json.dumps({"k": i}) for i in (3, 1, 2)])[rng.integers(0, 3, n)],
        "phase": np.array(["train", "inference"])[rng.integers(0, 2, n)],
        "seq_len": rng.choice([512, 64, 128], n), "batch_size": rng.choice([32, 16], n),
        "n_tasks": rng.choice([1, 2], n), "dropped_layers": rng.integers(0, 3, n),
        "n_fusion": pa.array(np.where(rng.random(n) < 0.01, None, rng.choice([0, 2], n)), pa.int64()),
        "median_ms": np.where(rng.random(n) < 0.02, np.nan, rng.random(n).round(2)),
        "ok": rng.random(n) < 0.9,
    })
    groups = probe_agg.medians(table, PROBE_KEYS, table["ok"], "median_ms")
    frame = table.to_pandas(strings_to_categorical=True)
    expected = frame[frame["ok"]].groupby(PROBE_KEYS, observed=True, sort=True)["median_ms"].median()
    got = list(zip(groups.keys, groups.values))
    want = list(zip(expected.index.tolist(), expected.to_numpy().tolist()))
    assert [k for k, _ in got] == [k for k, _ in want]  # same groups, same order
    assert [type(x) for x in got[0][0]] == [type(x) for x in want[0][0]]  # n_fusion: float
    assert np.array_equal(np.array([v for _, v in got]), np.array([v for _, v in want]),
                          equal_nan=True)
    buckets = groups.buckets([0, 1, 4, 2])
    assert sum(len(v) for v in buckets.values()) == len(got)
    for (model, device, phase, method), items in buckets.items():
        assert items == [(k, v) for k, v in got if (k[0], k[1], k[4], k[2]) ==
                         (model, device, phase, method)]
