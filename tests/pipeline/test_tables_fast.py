"""The fast paths give what the plain ones give: the vectorised probe medians equal pandas'
groupby median, group order and key types included (the record cache's tests:
tests/tracking/test_record_cache.py)."""

import json

import numpy as np
import pyarrow as pa

from pipeline.tables import probe_agg
from pipeline.tables.core import PROBE_KEYS


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
