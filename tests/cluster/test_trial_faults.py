"""Faults inside one trial, and a corrupt record file, through the real trial machinery
(tiny random-init BERT, real SST-2 rows, embedded MLflow)."""

import textwrap

import pytest
import torch

import pipeline.trial as trial
from pipeline.cli import main
from pipeline.grid import expand
from pipeline.spec import load_spec
from tracking.mlflow_log import count_child_runs, default_tracking_uri, prepare_sweep
from tracking.records import read_records, records_dir

SPEC = """
name: faults
model: tiny-bert
tasks: [sst2]
seeds: [0, 1, 2]
methods: [{name: pfeiffer, lrs: [1.0e-3]}]
training: {epochs: 1, max_train_samples: 16, max_eval_samples: 16, batch_size: 8, max_seq_len: 16}
"""


@pytest.fixture(scope="module")
def faulty_sweep(tmp_path_factory):
    """Three grid points run one after another the way a worker runs them: the first runs out of
    memory, the second raises, the third trains normally."""
    root = tmp_path_factory.mktemp("faults")
    (root / "spec.yaml").write_text(textwrap.dedent(SPEC))
    points = expand(load_spec(root / "spec.yaml"))
    results = root / "results"
    results.mkdir()
    uri = default_tracking_uri(results)
    ctx = trial.SweepContext(str(results), uri, *prepare_sweep(uri, "faults", results), "test", 1)

    real_train = trial.train
    faults = iter([
        # An OOM is faked *inside the trial*, where a real one would surface: a real one cannot
        # be caused safely on a machine shared with other jobs (CPU RAM has no per-process cap).
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (faked)"),
        RuntimeError("loss is NaN at step 3"),
    ])

    def train_or_fail(*args, **kwargs):
        fault = next(faults, None)
        if fault is not None:
            raise fault
        return real_train(*args, **kwargs)

    trial.train = train_or_fail
    try:
        records = [trial.run_trial(p, ctx) for p in points]
    finally:
        trial.train = real_train
    return dict(results=results, uri=uri, records=records)


def test_oom_and_exception_are_recorded_and_the_sweep_goes_on(faulty_sweep):
    oom, failed, ok = faulty_sweep["records"]
    assert oom["status"] == "oom" and "OutOfMemoryError: CUDA out of memory" in oom["error"]
    assert failed["status"] == "failed" and "RuntimeError: loss is NaN at step 3" in failed["error"]
    assert ok["status"] == "ok" and ok["dev_score"] is not None
    stored = {r["trial_key"]: r for r in read_records(faulty_sweep["results"], "runs").to_pylist()}
    assert [stored[r["trial_key"]]["status"] for r in (oom, failed, ok)] == ["oom", "failed", "ok"]
    assert stored[oom["trial_key"]]["trainable_params"] > 0  # what was known before is kept
    runs = {r.data.tags["trial_key"]: r for r in count_child_runs(faulty_sweep["uri"], "faults")}
    assert runs[oom["trial_key"]].info.status == "FAILED"
    assert runs[oom["trial_key"]].data.tags["status"] == "oom"
    assert runs[ok["trial_key"]].info.status == "FINISHED"


def test_corrupt_record_file_is_skipped_by_tables_with_a_warning(faulty_sweep, capsys):
    results = faulty_sweep["results"]
    corrupt = records_dir(results, "runs") / "0123456789abcdef-deadbeef.parquet"
    corrupt.write_bytes(b"PAR1 torn by a dying node")
    try:
        # (outside pytest, Python prints the warning on stderr)
        with pytest.warns(UserWarning, match=f"skipping unreadable record file .*{corrupt.name}"):
            assert main(["tables", "--results", str(results)]) == 0
    finally:
        corrupt.unlink()
    assert (results / "tables" / "index.md").is_file()
    assert "index.md" in capsys.readouterr().out
