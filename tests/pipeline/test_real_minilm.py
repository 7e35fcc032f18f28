"""One trial on the real pretrained all-MiniLM-L6-v2 and real SST-2 (no Ray: run_trial directly).

A Pfeiffer adapter on the real pretrained encoder, trained on 256 real sentences for 32 steps,
must beat chance (~0.51, the majority class of these dev rows) clearly: this fails if weights,
tokenizer, labels, adapter insertion or the metric are wired wrongly. Measured here: 0.703
(2-core CPU, `pytest tests/pipeline/test_real_minilm.py`). This is about the smallest budget that
clears the bar with a margin: half of it (1 epoch, 16 steps) scored 0.633 at this lr and 0.527 at
lr 1e-2 (seed 0, 2026-12), so the 32 steps stay. The MLflow store is a copy of a migrated one
(conftest.py `mlflow_template`): a fresh store's migration was ~10 s of this test."""

from pathlib import Path

from pipeline.grid import GridPoint
from pipeline.trial import SweepContext, run_trial
from tracking.records import read_records

TRAINING = dict(epochs=2, max_steps=None, max_train_samples=256, max_eval_samples=256,
                batch_size=16, eval_batch_size=128, max_seq_len=48, warmup_ratio=0.1,
                weight_decay=0.0)
PROBES = dict(phases=["train"], cells=[], reps=1, warmup=0, force=False)


def point(model, key):
    return GridPoint(sweep="real", model=model, method="pfeiffer",
                     method_config={"reduction_factor": 16, "activation": "relu",
                                    "train_layer_norm": False}, task="sst2", lr=3e-3, seed=0, training=TRAINING, probes=PROBES, data_dir=None,
                     trial_key=key)


def test_real_minilm_learns_sst2(tmp_path, mlflow_template):
    mlflow_template.copy_to(tmp_path)
    ctx = SweepContext(str(tmp_path), "sqlite:///" + str(tmp_path / "mlflow.db"), "0", "",
                       "test", threads=2)
    real = run_trial(point("minilm", "real"), ctx)
    assert real["status"] == "ok", real["error"]
    assert real["dev_score"] > 0.65
    assert real["train_samples"] == 256
    rows = read_records(Path(tmp_path), "runs").to_pylist()
    assert [r["trial_key"] for r in rows] == ["real"]
