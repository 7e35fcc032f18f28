"""`adapterbench plan --calibrate`: a real timing of this machine (tiny-bert), stored per device,
model and thread count; plan's first-order guess uses its k where the device has no probe
records, probe records still come first, and another model's calibration is not used."""

import json

import pytest
import torch

from pipeline.calibrate import CELL, calibrate, calibration_path, read_calibration
from pipeline.cli import main
from pipeline.grid import expand
from pipeline.plan import base_params, local_device, plan
from pipeline.spec import load_spec
from test_plan import DEVICE, SPEC, records, write


def stored(results, device=DEVICE, model="tiny-bert", threads=1, k_train=1e-9):
    path = calibration_path(results, device, model, threads)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"device": device, "model": model, "threads": threads,
                                "k": {"train": k_train, "inference": k_train / 4},
                                "measured_at": "2026-12-02T15:00:00+00:00"}))
    return path


def row(spec, results, method, device=DEVICE):
    return next(r for r in plan(spec, expand(spec), results, device=device).rows
                if r.method == method)


def test_calibration_times_this_machine_and_plan_uses_it(tmp_path, capsys):
    spec = write(tmp_path, SPEC)
    results = tmp_path / "r"
    device = local_device()
    threads = torch.get_num_threads()
    assert main(["plan", str(spec), "--results", str(results), "--calibrate"]) == 0
    assert torch.get_num_threads() == threads  # the spec's 1 thread only while it timed
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"calibrated {device} with tiny-bert at 128 × 16, 1 thread(s)")
    cal = read_calibration(results, device, "tiny-bert", 1)
    from pipeline.models import load_model

    assert cal["params"] == sum(p.numel() for p in load_model("tiny-bert").parameters())
    assert (cal["seq_len"], cal["batch_size"]) == CELL
    for phase in ("train", "inference"):  # k is the median step over parameters × tokens
        assert cal["median_ms"][phase] > 0
        assert cal["k"][phase] == pytest.approx(
            cal["median_ms"][phase] / 1000 / (cal["params"] * 128 * 16), rel=1e-12)
    rows = [line for line in out if line.startswith("| full")]
    assert rows and "guess: k calibrated on this device with tiny-bert" in rows[0]
    assert not any("2-core CPU constant" in line for line in out)
    # the guess: k × the model's parameters × max_seq_len × batch per step, 8 steps (64
    # examples / 16 × 2 epochs)
    loaded = load_spec(spec)
    full = row(loaded, results, "full", device)
    assert full.train.seconds == pytest.approx(
        cal["k"]["train"] * base_params("tiny-bert") * 32 * 16 * 8, rel=1e-12)


def test_a_calibration_is_per_device_model_and_threads_and_probe_records_come_first(tmp_path):
    loaded = load_spec(write(tmp_path, SPEC))
    results = tmp_path / "results"  # where test_plan's records() writes
    stored(results, model="minilm")  # another model's: not used for tiny-bert
    stored(results, threads=2)  # another thread count's: not used with cpus_per_trial 1
    assert "2-core CPU constant" in row(loaded, results, "lowrank").train.source
    stored(results)
    assert read_calibration(results, "cpu:other", "tiny-bert", 1) is None
    lowrank = row(loaded, results, "lowrank")
    assert lowrank.train.source == \
        "guess: k calibrated on this device with tiny-bert 2026-12-02 × 8 steps"
    assert lowrank.train.seconds == pytest.approx(1e-9 * base_params("tiny-bert") * 32 * 16 * 8,
                                                  rel=1e-12)
    # with probe records of this device (test_plan's), k comes from them, not the calibration
    records(tmp_path, loaded)
    pfeiffer = row(loaded, results, "pfeiffer")
    assert "probe(s) on this device" in pfeiffer.train.source and pfeiffer.train.guess


def test_names_that_clean_alike_get_two_files_and_a_broken_file_is_none(tmp_path):
    a = calibration_path(tmp_path, "cpu:x Intel(R)_Xeon", "tiny-bert", 1)
    b = calibration_path(tmp_path, "cpu:x Intel(R) Xeon", "tiny-bert", 1)
    assert a != b and a.parent == b.parent == tmp_path / "calibration"
    for text in ("[1, 2]", "{\"device\": \"cpu:test\"}", "not json"):
        stored(tmp_path).write_text(text)
        assert read_calibration(tmp_path, DEVICE, "tiny-bert", 1) is None


def test_only_this_machine_and_a_local_directory_can_be_calibrated(tmp_path, capsys):
    from pipeline.calibrate import CalibrationError

    with pytest.raises(CalibrationError, match="only this machine can be calibrated"):
        calibrate("tiny-bert", 1, tmp_path, "cpu:some other host")
    assert not (tmp_path / "calibration").exists()
    spec = write(tmp_path, SPEC)
    assert main(["plan", str(spec), "--results", "s3://bucket/results", "--calibrate"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("adapterbench: error: plan --calibrate: a calibration is kept in a "
                           "local results directory, not in s3://bucket/results")
