"""A trial's MLflow child run lists the train and dev splits it used as ``mlflow.data`` inputs
(metadata only: source = the mirror Parquet file, a digest, context training/eval)."""

import pyarrow as pa
import pyarrow.parquet as pq
from mlflow.tracking import MlflowClient

from pipeline.grid import GridPoint
from pipeline.trial import SweepContext, _log_mlflow
from tracking.mlflow_log import prepare_sweep


def _point(data_dir, seed=0) -> GridPoint:
    training = dict(epochs=1, max_train_samples=8, max_eval_samples=4)
    return GridPoint("inputs", "tiny-bert", "pfeiffer", {}, "sst2", 1e-3, seed, training, {},
                     str(data_dir), f"key{seed}")


def test_child_run_has_train_and_dev_dataset_inputs(tmp_path):
    mirror = tmp_path / "data" / "glue" / "sst2"
    mirror.mkdir(parents=True)
    for split, n in (("train", 20), ("validation", 10)):
        pq.write_table(pa.table({"sentence": [f"s{i}" for i in range(n)],
                                 "label": list(range(n))}), mirror / f"{split}.parquet")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    experiment_id, parent = prepare_sweep(uri, "inputs", tmp_path)
    ctx = SweepContext(str(tmp_path), uri, experiment_id, parent, "sha", 1)
    record = dict(device="cpu", status="ok", dev_score=0.5, train_samples=8)

    run_ids = [_log_mlflow(_point(tmp_path / "data", seed), ctx, record, [], [], None)
               for seed in (0, 1)]

    client = MlflowClient(uri)
    by_seed = []
    for run_id in run_ids:
        inputs = client.get_run(run_id).inputs.dataset_inputs
        by_context = {next(t.value for t in i.tags if t.key == "mlflow.data.context"): i.dataset
                      for i in inputs}
        assert set(by_context) == {"training", "eval"}
        assert by_context["eval"].name == "glue/sst2/validation[4 rows, seed 0]"
        assert str(mirror / "validation.parquet") in by_context["eval"].source
        assert '"sentence"' in by_context["training"].schema
        by_seed.append(by_context)
    assert by_seed[0]["training"].name == "glue/sst2/train[8 rows, seed 0]"
    assert by_seed[1]["training"].name == "glue/sst2/train[8 rows, seed 1]"
    # same dev subset for every seed, a different training subset per seed
    assert by_seed[0]["eval"].digest == by_seed[1]["eval"].digest
    assert by_seed[0]["training"].digest != by_seed[1]["training"].digest


def test_dataset_inputs_never_fail_the_run(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    experiment_id, parent = prepare_sweep(uri, "inputs", tmp_path)
    ctx = SweepContext(str(tmp_path), uri, experiment_id, parent, "sha", 1)
    monkeypatch.setattr(MlflowClient, "log_inputs", lambda *a, **k: 1 / 0)
    record = dict(device="cpu", status="ok", dev_score=0.5, train_samples=8)
    run_id = _log_mlflow(_point(tmp_path / "missing"), ctx, record, [], [], None)
    run = MlflowClient(uri).get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.metrics["best_dev_score"] == 0.5
