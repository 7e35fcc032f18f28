"""`adapterbench plan --calibrate`: a real timing of this machine (tiny-bert), stored per device;
plan's first-order guess uses its k where the device has no probe records, and probe records
still come first."""

import json

import pytest

from pipeline.calibrate import CELL, calibrate, calibration_path, read_calibration
from pipeline.cli import main
from pipeline.grid import expand
from pipeline.plan import base_params, local_device, plan
from pipeline.spec import load_spec
from test_plan import DEVICE, SPEC, records, write


def test_calibration_times_this_machine_and_plan_uses_it(tmp_path, capsys):
    spec = write(tmp_path, SPEC)
    results = tmp_path / "r"
    device = local_device()
    assert main(["plan", str(spec), "--results", str(results), "--calibrate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"calibrated {device} with tiny-bert at 128 × 16, 1 thread(s)")
    cal = read_calibration(results, device)
    from pipeline.models import load_model

    assert cal["params"] == sum(p.numel() for p in load_model("tiny-bert").parameters())
    assert (cal["seq_len"], cal["batch_size"]) == CELL
    for phase in ("train", "inference"):  # k is the median step over parameters × tokens
        assert cal["median_ms"][phase] > 0
        assert cal["k"][phase] == pytest.approx(
            cal["median_ms"][phase] / 1000 / (cal["params"] * 128 * 16), rel=1e-12)
    rows = [line for line in out if line.startswith("| full")]
    assert rows and "guess: k calibrated on this device" in rows[0]
    assert not any("2-core CPU constant" in line for line in out)
    # the guess: k × the model's parameters × max_seq_len × batch per step, 8 steps (64
    # examples / 16 × 2 epochs)
    loaded = load_spec(spec)
    full = plan(loaded, expand(loaded), results, device=device).rows[0]
    assert full.train.seconds == pytest.approx(
        cal["k"]["train"] * base_params("tiny-bert") * 32 * 16 * 8, rel=1e-12)


def test_a_calibration_is_per_device_and_probe_records_come_first(tmp_path):
    loaded = load_spec(write(tmp_path, SPEC))
    results = tmp_path / "results"  # where test_plan's records() writes
    path = calibration_path(results, DEVICE)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"device": DEVICE, "k": {"train": 1e-9, "inference": 1e-10},
                                "measured_at": "2026-12-02T15:00:00+00:00"}))
    assert read_calibration(results, "cpu:other") is None
    lowrank = [r for r in plan(loaded, expand(loaded), results, device=DEVICE).rows
               if r.method == "lowrank"][0]
    assert lowrank.train.source == "guess: k calibrated on this device 2026-12-02 × 8 steps"
    assert lowrank.train.seconds == pytest.approx(1e-9 * base_params("tiny-bert") * 32 * 16 * 8,
                                                  rel=1e-12)
    # with probe records of this device (test_plan's), k comes from them, not the calibration
    records(tmp_path, loaded)
    row = [r for r in plan(loaded, expand(loaded), results, device=DEVICE).rows
           if r.method == "pfeiffer"][0]
    assert "probe(s) on this device" in row.train.source and row.train.guess


def test_only_this_machine_can_be_calibrated(tmp_path):
    with pytest.raises(ValueError, match="only this machine can be calibrated"):
        calibrate("tiny-bert", 1, tmp_path, "cpu:some other host")
    assert not (tmp_path / "calibration").exists()
