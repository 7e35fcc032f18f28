"""Probes are exclusive under concurrent trials: in a real 2-trial-concurrent Ray sweep, no
training step of any trial overlaps any probe (the device lease traces every held interval)."""

import textwrap

from pipeline.cli import main
from tracking.records import read_records

SPEC = """
name: exclusive
model: tiny-bert
tasks: [sst2]
seeds: [0, 1]
methods: [{name: full, lrs: [1.0e-3]}, {name: pfeiffer, lrs: [1.0e-3]}]
training: {epochs: 6, max_train_samples: 96, max_eval_samples: 32, batch_size: 8, max_seq_len: 32}
probes: {cells: [[32, 8]], reps: 15, warmup: 2, force: true}
resources: {cpus_per_trial: 1, max_concurrent_trials: 2}
"""


def intervals(trace_path):
    rows = [line.split() for line in trace_path.read_text().splitlines()]
    return [(kind, int(pid), float(a), float(b)) for kind, pid, a, b in rows]


def overlap(a, b) -> bool:
    return a[2] < b[3] and b[2] < a[3]


def test_no_training_step_overlaps_a_probe(tmp_path, local_ray, mlflow_template, monkeypatch):
    trace = tmp_path / "lease.trace"
    monkeypatch.setenv("ADAPTERBENCH_LEASE_TRACE", str(trace))
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    mlflow_template.copy_to(tmp_path / "results")
    assert main(["sweep", str(spec), "--results", str(tmp_path / "results")]) == 0
    held = intervals(trace)
    steps = [h for h in held if h[0] == "S"]
    probes = [h for h in held if h[0] == "X"]
    probes_recorded = read_records(tmp_path / "results", "probes").to_pylist()
    assert len(probes_recorded) == 4 * 2  # 4 trials × (train, inference), forced: no dedup
    # one held interval per measurement (a disturbed cell is measured again)
    assert len(probes) == sum(p["attempts"] for p in probes_recorded)
    assert not [(p, s) for p in probes for s in steps if overlap(p, s)]
    assert not [(p, q) for p in probes for q in probes if p is not q and overlap(p, q)]
    # the test means something only if trials really ran at the same time: the training spans
    # of two worker processes overlap
    span = {}
    for _, pid, a, b in steps:
        lo, hi = span.get(pid, (a, b))
        span[pid] = (min(lo, a), max(hi, b))
    spans = list(span.values())
    assert any(x[0] < y[1] and y[0] < x[1] for i, x in enumerate(spans) for y in spans[i + 1:])
    assert all(p["exclusive"] for p in probes_recorded)
