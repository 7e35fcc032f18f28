"""Where a trial's time went: every phase is recorded, and the phases add up to the trial's wall
time (what no phase covers is record building and parameter counting: a small remainder)."""

import json

import pytest

from pipeline import interference, trial
from pipeline.grid import expand
from pipeline.phases import PHASES, PhaseClock
from pipeline.spec import parse_spec


def test_phase_clock_accumulates_and_rejects_unknown_phases():
    clock = PhaseClock()
    clock.add("eval", 1.5)
    clock.add("eval", 0.5)
    with clock("probes"):
        pass
    assert clock.seconds["eval"] == 2.0 and clock.seconds["probes"] >= 0.0
    with pytest.raises(KeyError, match="unknown phase 'tokenise'"):
        clock.add("tokenise", 1.0)


def test_trial_phases_add_up_to_its_wall_time(tmp_path):
    spec = parse_spec(dict(
        name="phases", model="tiny-bert", tasks=["sst2"], methods=["pfeiffer"],
        training=dict(epochs=2, max_train_samples=64, max_eval_samples=64, batch_size=16,
                      max_seq_len=32),
        probes=dict(cells=[[16, 2]], reps=2, warmup=1)))
    point = expand(spec)[0]
    ctx = trial.SweepContext(str(tmp_path), "", None, None, "test", 1)  # no MLflow
    record = trial.run_trial(point, ctx)
    assert record["status"] == "ok", record["error"]
    phases = record["phase_s"]
    phases = json.loads(phases) if isinstance(phases, str) else phases
    assert set(phases) == set(PHASES)
    for name in ("load_model", "tokenize", "train_steps", "eval", "probes", "logging"):
        assert phases[name] > 0, name
    covered = sum(phases.values())
    # Margin: the uncovered remainder is bookkeeping only; 10% of the wall or 0.5 s.
    assert covered <= record["wall_s"] + 1e-6
    assert record["wall_s"] - covered <= max(0.1 * record["wall_s"], 0.5), (covered, record)
    assert record["train_time_s"] == pytest.approx(phases["train_steps"])
    # the loop's CPU figures (schema 8): a CPU trial records them; a process share in (0, 1.5]
    assert 0 < record["train_cpu_share"] <= 1.5
    has_schedstat = interference.snapshot().run_delay_ns is not None
    assert (record["train_wait_share"] is not None) == has_schedstat


def test_time_summary_sums_phases_per_sweep_by_hand():
    import pandas as pd

    from pipeline.tables.time_summary import markdown

    phases = dict.fromkeys(PHASES, 0.0)
    a = {**phases, "train_steps": 6.0, "eval": 2.0, "probes": 2.0, "load_model": 4.0}
    b = {**phases, "train_steps": 10.0, "lease_wait": 4.0, "sources": 2.0}
    runs = pd.DataFrame([
        dict(sweep="s", phase_s=json.dumps(a), wall_s=16.0, started_at="2026-12-01T00:00:00+00:00",
             finished_at="2026-12-01T00:00:16+00:00"),
        dict(sweep="s", phase_s=json.dumps(b), wall_s=16.0, started_at="2026-12-01T00:00:00+00:00",
             finished_at="2026-12-01T00:00:20+00:00"),
        dict(sweep="old", phase_s=None, wall_s=None, started_at=None, finished_at=None)])
    row = next(line for line in markdown(runs).splitlines() if line.startswith("| s |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # load_model 4, tokenize 0, train_steps 16, eval 2, lease_wait 4, probes 2, logging 0,
    # sources 2; busy = 16 + 2 + 2 + 2 = 22 of Σ trial wall 32 (69%), over a 20 s sweep (1.10
    # per second)
    assert cells == ["s", "2", "4.0", "0.0", "16.0", "2.0", "4.0", "2.0", "0.0", "2.0", "32.0",
                     "20", "69%", "1.10"]
    assert "| old |" not in markdown(runs)
