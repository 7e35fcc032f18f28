"""The weights a trial logs to MLflow load back into a fresh base model (adapters/io.py format)."""

import os
import subprocess
import sys
import tempfile

import torch

import adapters
from adapters.io import load_trainable
from pipeline.grid import GridPoint
from pipeline.models import load_model
from pipeline.trial import _save_weights


def test_trial_weights_file_rebuilds_the_trained_model(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # _save_weights' folder goes with it
    model = load_model("tiny-bert", num_labels=2)
    config = adapters.apply_method(model, "pfeiffer", {"reduction_factor": 8})
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.1)  # "trained": not the identity at init
    point = GridPoint("s", "tiny-bert", "pfeiffer", config.__dict__, "sst2", 1e-3, 0, {}, {}, None,
                      "k")
    path = _save_weights(model, point)
    fresh = load_model("tiny-bert", num_labels=2)
    load_trainable(fresh, path)
    ids = torch.randint(1000, 2000, (2, 8))
    model.eval(), fresh.eval()
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, fresh(input_ids=ids).logits)


def test_a_trial_leaves_no_temp_files_and_mlflow_keeps_the_weights(tmp_path, monkeypatch,
                                                                   mlflow_template):
    """The weights and artifacts a trial writes for MLflow go once MLflow has its copy: a sweep
    of full fine-tuning points left ~90 MB per trial in /tmp before (17 GB on this machine).
    Those of a trial killed before it could remove them go when the next trial starts."""
    from mlflow import MlflowClient

    from pipeline import trial
    from pipeline.grid import expand
    from pipeline.spec import parse_spec

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    spec = parse_spec(dict(name="tmpclean", model="tiny-bert", tasks=["sst2"], methods=["pfeiffer"],
                           training=dict(epochs=1, max_train_samples=32, max_eval_samples=32,
                                         batch_size=16, max_seq_len=32),
                           probes=dict(cells=[[16, 2]], reps=2, warmup=1)))
    results = tmp_path / "results"
    results.mkdir()
    mlflow_template.copy_to(results)  # a migrated store (tests/conftest.py)
    uri = "sqlite:///" + str(results / "mlflow.db")
    # What earlier trials left (pipeline/scratch.py): folders of a killed trial (its process is
    # gone) go when a trial starts; a live process's folder and others' temp folders stay.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphans = [temp / f"adapterbench-0123456789abcdef-{dead.pid}-x1",
               temp / f"adapterbench-artifacts-{dead.pid}-x2"]
    kept = [temp / f"adapterbench-fedcba9876543210-{os.getpid()}-x3",
            temp / "adapterbench-drawing-x4"]
    for folder in orphans + kept:
        folder.mkdir()
        (folder / "trainable_weights.safetensors").write_bytes(b"0" * 1000)
    ctx = trial.SweepContext(str(results), uri, "0", "", "test", 1)
    record = trial.run_trial(expand(spec)[0], ctx)
    assert record["status"] == "ok" and record["mlflow_run_id"], record["error"]
    left = sorted(p.name for p in temp.iterdir()
                  if p.name.startswith("adapterbench-") and p.name != "adapterbench-lease")
    assert left == sorted(p.name for p in kept)  # its own folders removed, the orphans too
    logged = {a.path for a in MlflowClient(uri).list_artifacts(record["mlflow_run_id"])}
    assert {"trainable_weights.safetensors", "resolved_config.json", "probes.csv"} <= logged
