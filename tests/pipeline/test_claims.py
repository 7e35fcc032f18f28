"""The claim ledger (pipeline/claims/): verdicts on hand-made records, every rule at its bounds,
and `adapterbench claims` / `adapterbench tables` writing it."""

import math
from pathlib import Path

import pytest

from pipeline.claims import ledger
from pipeline.claims.registry import CLAIMS
from pipeline.claims.rules import (NOT_MEASURED, NOT_REPRODUCED, REPRODUCED, Above, AtLeast,
                                   AtMost, Below, Within, verdict)
from pipeline.cli import main
from pipeline.tables.regen import build, load_data
from tests.pipeline.tables_records import evals, probe, run, write

CPU, GPU = "cpu:test", "gpu:test"


def _run(method, score, device=GPU, **kw):
    peak = kw.pop("peak", 2**20)
    return dict(run(method, 1e-4, 0, score, model="m2", **kw), device=device, peak_mem_bytes=peak)


@pytest.fixture
def results(tmp_path):
    """Device CPU: probes only (train steps: adapters faster; inference: adapters faster too,
    against the paper). Device GPU: runs only (full FT vs Compacter++ on SST-2)."""
    write(tmp_path, "probes", [
        probe("full", "train", 100.0, device=CPU), probe("pfeiffer", "train", 80.0, device=CPU),
        probe("houlsby", "train", 70.0, device=CPU),
        probe("full", "inference", 50.0, device=CPU),
        probe("pfeiffer", "inference", 40.0, device=CPU)])
    write(tmp_path, "runs", [
        _run("full", 0.90, train_time_s=100.0, best_epoch=2),
        _run("compacterpp", 0.895, config={"phm_dim": 4}, trainable=47, total=100_000,
             train_time_s=60.0, best_epoch=1, peak=2**19)])
    return tmp_path


def _verdicts(results) -> dict:
    data, _ = load_data(results, use_cache=False)
    return {(v.claim.id, v.device): v for v in ledger.judge(data)}


def test_verdicts_on_hand_made_records(results):
    v = _verdicts(results)
    # reproduced: t_full / t_adapter = 100/80 and 100/70, both > 1, best ≥ 1.3
    train = v[("adapterdrop-train-faster", CPU)]
    assert (train.verdict, train.model, train.why) == (REPRODUCED, "m", "")
    assert train.figures == {"min": 1.25, "max": pytest.approx(100 / 70), "pairs": 2}
    # not reproduced: 50/40 = 1.25, adapters faster at inference, not 2–8% slower
    inference = v[("adapterdrop-inference-slower", CPU)]
    assert inference.verdict == NOT_REPRODUCED
    assert inference.figures == {"min": 1.25, "max": 1.25, "pairs": 1}
    assert inference.why == "fails 0.92 ≤ min ≤ 0.98; 0.92 ≤ max ≤ 0.98"
    # not measured: no AdapterDrop score runs anywhere; probes' claims on the runs-only device
    for key in (("adapterdrop-retained-5", CPU), ("adapterdrop-retained-5", GPU),
                ("adapterdrop-train-faster", GPU)):
        assert v[key].verdict == NOT_MEASURED and v[key].why.startswith("needs ")
        assert v[key].model == "–" and v[key].figures == {}
    # runs on the GPU device: Compacter++ within 1 point of full FT (−0.5), 0.047% trained
    cpp = v[("compacterpp-matches-full", GPU)]
    assert cpp.verdict == REPRODUCED
    assert cpp.figures == {"delta": pytest.approx(-0.5), "share": pytest.approx(0.047), "tasks": 1}
    assert v[("compacterpp-matches-full", CPU)].verdict == NOT_MEASURED
    # Compacter Table 3: an epoch 30 s vs 50 s (−40%), memory half (−100% as (m − f) / m)
    assert v[("compacter-adapters-epoch-time", GPU)].figures == {
        "min": pytest.approx(-40.0), "max": pytest.approx(-40.0), "configs": 1}
    assert v[("compacter-adapters-memory", GPU)].figures["max"] == pytest.approx(-100.0)
    # time to best: 60 × 1/2 = 30 s vs 100 × 2/2 = 100 s, so adapters converge faster here
    conv = v[("mundra-adapters-converge-slower", GPU)]
    assert (conv.verdict, conv.figures["min"]) == (NOT_REPRODUCED, pytest.approx(0.3))
    # latency at seq 128 / batch 16: 40 / 50
    lat = v[("mundra-adapters-slower-inference", CPU)]
    assert (lat.verdict, lat.figures["max"]) == (NOT_REPRODUCED, pytest.approx(0.8))


def test_cpu_memory_is_not_measured(tmp_path):
    write(tmp_path, "runs", [_run("full", 0.9, device=CPU),
                             _run("pfeiffer", 0.9, device=CPU, peak=2**19)])
    v = _verdicts(tmp_path)
    assert v[("compacter-adapters-memory", CPU)].verdict == NOT_MEASURED
    assert "RSS" in v[("compacter-adapters-memory", CPU)].why
    assert v[("compacter-adapters-epoch-time", CPU)].verdict == NOT_REPRODUCED  # same 50 s


def test_multitask_against_per_task_adapters(tmp_path):
    """Multi-task full FT at its best LR (by mean dev over its tasks) needs 150 s until both
    tasks reached their best; one Pfeiffer adapter per task needs 120 + 60 = 180 s."""
    rows = [_run("multitask_full", 0.9, task="sst2", train_time_s=150.0, epochs=3, best_epoch=2),
            _run("multitask_full", 0.8, task="rte", train_time_s=150.0, epochs=3, best_epoch=3),
            # a worse LR that stopped early: not the group's LR
            dict(_run("multitask_full", 0.5, task="sst2", train_time_s=30.0), lr=1e-3),
            dict(_run("multitask_full", 0.5, task="rte", train_time_s=30.0), lr=1e-3),
            _run("pfeiffer", 0.9, task="sst2", train_time_s=120.0, epochs=3, best_epoch=3),
            _run("pfeiffer", 0.8, task="rte", train_time_s=90.0, epochs=3, best_epoch=2)]
    write(tmp_path, "runs", [dict(r, trial_key=f"k{i}") for i, r in enumerate(rows)])
    mt = _verdicts(tmp_path)[("mundra-multitask-trains-faster", GPU)]
    assert mt.verdict == REPRODUCED
    assert mt.figures == {"min": pytest.approx(150 / 180), "max": pytest.approx(150 / 180),
                          "adapters": 1}


@pytest.mark.parametrize("rule, value, holds", [
    (Above("x", 1.0), 1.0, False), (Above("x", 1.0), 1.0001, True),
    (AtLeast("x", 1.3), 1.3, True), (AtLeast("x", 1.3), 1.2999, False),
    (Below("x", 0.0), 0.0, False), (Below("x", 0.0), -0.0001, True),
    (AtMost("x", 1.25), 1.25, True), (AtMost("x", 1.25), 1.2501, False),
    (Within("x", 0.92, 0.98), 0.92, True), (Within("x", 0.92, 0.98), 0.98, True),
    (Within("x", 0.92, 0.98), 0.9199, False), (Within("x", 0.92, 0.98), 0.9801, False),
])
def test_rule_bounds(rule, value, holds):
    assert rule.holds(value) is holds
    assert verdict((rule,), {"x": value})[0] == (REPRODUCED if holds else NOT_REPRODUCED)


def test_missing_or_nan_figure_is_not_measured():
    rules = (Above("a", 1.0), AtLeast("b", 0.0))
    assert verdict(rules, {"a": 2.0}) == (NOT_MEASURED, "no figure for b")
    assert verdict(rules, {"a": math.nan, "b": 1.0}) == (NOT_MEASURED, "no figure for a")
    assert verdict(rules, {"a": 1.0, "b": -1.0}) == (NOT_REPRODUCED, "fails a > 1; b ≥ 0")


@pytest.mark.parametrize("claim_id, at_bound, past_bound", [
    ("adapterdrop-train-faster", {"min": 1.0001, "max": 1.3}, {"min": 1.0, "max": 1.3}),
    ("adapterdrop-inference-slower", {"min": 0.92, "max": 0.98}, {"min": 0.92, "max": 0.9801}),
    ("adapterdrop-layer-speedup", {"min": 3.3, "max": 9.4}, {"min": 3.29, "max": 9.4}),
    ("adapterdrop-retained-5", {"specialized": 94.1, "robust": 92.4},
     {"specialized": 94.1, "robust": 92.39}),
    ("adapterdrop-fusion-grows", {"train": 1.0, "inference": 1.0},
     {"train": 1.0, "inference": 0.99}),
    ("compacterpp-matches-full", {"delta": -1.0}, {"delta": -1.01}),
    ("compacter-adapters-epoch-time", {"max": -0.01}, {"max": 0.0}),
    ("compacter-adapters-memory", {"max": -0.01}, {"max": 0.0}),
    ("compacter-said-epoch-time", {"said": 100.0}, {"said": 99.9}),
    ("mundra-adapters-converge-slower", {"min": 1.01}, {"min": 1.0}),
    ("mundra-adapters-slower-inference", {"min": 1.01, "max": 1.25}, {"min": 1.01, "max": 1.26}),
    ("mundra-multitask-trains-faster", {"max": 0.99}, {"max": 1.0}),
])
def test_declared_rules_at_their_bounds(claim_id, at_bound, past_bound):
    claim = next(c for c in CLAIMS if c.id == claim_id)
    assert verdict(claim.rule, at_bound)[0] == REPRODUCED
    assert verdict(claim.rule, past_bound)[0] == NOT_REPRODUCED


def test_every_claim_is_declared_once_with_a_source():
    assert len({c.id for c in CLAIMS}) == len(CLAIMS) >= 12
    assert all(c.paper and c.where and c.rule and c.needs for c in CLAIMS)


def test_cli_prints_the_ledger(results, capsys):
    assert main(["claims", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Claim ledger\n")
    lines = out.splitlines()
    summary = next(line for line in lines if line.startswith("| [adapterdrop-train-faster]"))
    assert summary.endswith("| reproduced | not measured here |")  # devices cpu:test, gpu:test
    section = lines[lines.index("## adapterdrop-train-faster"):]
    assert f"| {CPU} | m | min 1.25× · max 1.43× · cell·adapter pairs: 2 | " \
           "min 1.33× · max 1.60× | **reproduced** |" in section
    assert sum(line.startswith(f"| {GPU} |") for line in lines) == len(CLAIMS)


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p])
def test_cli_bad_results_is_one_line(tmp_path, capsys, make):
    assert main(["claims", "--results", str(make(tmp_path))]) == 2  # tmp_path: no records/
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("adapterbench: error: --results")


def test_tables_write_the_same_ledger(results, capsys):
    files = build(results, use_cache=False)
    assert main(["claims", "--results", str(results)]) == 0
    assert files[Path("tables/claims.md")].decode() == capsys.readouterr().out
    assert "[claims](claims.md)" in files[Path("tables/index.md")].decode()


def test_no_records_yet_is_not_measured_everywhere(tmp_path, capsys):
    (tmp_path / "records").mkdir()
    assert main(["claims", "--results", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| – | – |")]
    assert len(rows) == len(CLAIMS)
    assert all("**not measured here**: no records |" in r for r in rows)


def test_a_device_with_only_contended_probes_says_so(tmp_path):
    write(tmp_path, "probes", [probe("full", "train", 100.0, device=CPU),
                               probe("pfeiffer", "train", 80.0, device=CPU, status="contended")])
    train = _verdicts(tmp_path)[("adapterdrop-train-faster", CPU)]
    assert train.verdict == NOT_MEASURED
    assert train.why.endswith("; left out here: 1 disturbed (contended) probe cells")


def test_latency_claims_read_the_paired_ratio_where_a_trial_recorded_one(tmp_path):
    """Separate medians: Pfeiffer 60 ms vs full FT's 50 (1.2×, and Houlsby 45: 0.9×); Pfeiffer's
    paired probe timed it beside full FT at t_full / t_pfeiffer = 0.96, so 1 / 0.96 counts."""
    paired = dict(probe("pfeiffer", "inference", 60.0, device=CPU), trial_key="pfeiffer-paired",
                  paired_with="full", ratio_median=0.96, ratio_ci_low=0.94, ratio_ci_high=0.98,
                  pairs=6, ratio_status="ok")
    write(tmp_path, "probes", [probe("full", "inference", 50.0, device=CPU), paired,
                               probe("houlsby", "inference", 45.0, device=CPU)])
    verdicts = _verdicts(tmp_path)
    lat = verdicts[("mundra-adapters-slower-inference", CPU)]
    assert lat.figures == {"min": pytest.approx(0.9), "max": pytest.approx(1 / 0.96),
                           "adapters": 2}
    # AdapterDrop §2's relative speeds, the same cell: t_full / t_method = 0.96 (paired), 50 / 45
    speeds = verdicts[("adapterdrop-inference-slower", CPU)]
    assert speeds.figures == {"min": pytest.approx(0.96), "max": pytest.approx(50 / 45), "pairs": 2}


def test_adapterdrop_retained_at_five_dropped_layers(tmp_path):
    """Standard adapter 0.80 at 0 dropped layers; specialized (drop_first_n 5) 0.78; robust
    evaluated with 5 dropped: 0.76 -> 97.5% and 95.0% kept (Table 8's cells)."""
    std = _run("adapterdrop", 0.80, config={"drop_first_n": 0}, key="std")
    spec = _run("adapterdrop", 0.78, config={"drop_first_n": 5}, key="spec")
    rob = _run("adapterdrop", 0.79, config={"robust": True}, key="rob")
    write(tmp_path, "runs", [std, spec, rob])
    write(tmp_path, "evals", evals("std", "adapterdrop", "sst2", {0: 0.80, 5: 0.70}, lr=1e-4)
          + evals("rob", "adapterdrop", "sst2", {0: 0.79, 5: 0.76}, lr=1e-4))
    kept = _verdicts(tmp_path)[("adapterdrop-retained-5", GPU)]
    assert kept.verdict == REPRODUCED
    assert kept.figures == {"specialized": pytest.approx(97.5), "robust": pytest.approx(95.0)}


def test_fitted_slopes_per_dropped_layer_and_per_fused_adapter(tmp_path):
    """Two tasks in parallel: 100 ms undropped, 90 ms with 2 layers shared -> 5% per layer.
    AdapterFusion (batch 32, seq 128): training 100 -> 160 ms from 2 to 8 adapters = 10% per
    adapter of the time at 2; inference flat: costs do not grow there."""
    write(tmp_path, "probes", [
        probe("pfeiffer", "inference", 100.0, n_tasks=2, device=CPU),
        probe("pfeiffer", "inference", 90.0, n_tasks=2, dropped=2, device=CPU),
        *[probe("fusion", "train", t, seq=128, batch=32, n_fusion=k, device=CPU)
          for k, t in ((2, 100.0), (8, 160.0))],
        *[probe("fusion", "inference", 50.0, seq=128, batch=32, n_fusion=k, device=CPU)
          for k in (2, 8)]])
    v = _verdicts(tmp_path)
    layer = v[("adapterdrop-layer-speedup", CPU)]
    assert layer.verdict == REPRODUCED
    assert layer.figures == {"min": pytest.approx(5.0), "max": pytest.approx(5.0),
                             "task counts": 1}
    fusion = v[("adapterdrop-fusion-grows", CPU)]
    assert fusion.figures == {"train": pytest.approx(10.0), "inference": pytest.approx(0.0)}
    assert (fusion.verdict, fusion.why) == (NOT_REPRODUCED, "fails inference ≥ 1")


def test_said_epoch_time_against_full_ft_of_the_same_training_set_size(tmp_path):
    """Intrinsic-SAID's epoch of 256 examples is compared with full FT's of 256, not with the
    mean of full FT's 256- and 1,200-example epochs (which would make SAID look fast)."""
    write(tmp_path, "runs", [
        _run("full", 0.9, train_time_s=60.0, epochs=1, train_samples=256, key="f256"),
        _run("full", 0.9, train_time_s=600.0, epochs=1, train_samples=1200, key="f1200"),
        _run("intrinsic_said", 0.8, train_time_s=240.0, epochs=1, train_samples=256, key="s256")])
    said = _verdicts(tmp_path)[("compacter-said-epoch-time", GPU)]
    assert said.figures == {"said": pytest.approx(300.0)}  # (240 − 60) / 60; pooled: −27%
    assert said.verdict == REPRODUCED


def test_convergence_compares_runs_of_one_sweep(tmp_path):
    """Pfeiffer's 300 s in a sweep without full FT (another budget) is not divided by full FT's
    100 s of another sweep: only sweep a's 50 s / 100 s counts."""
    def in_sweep(sweep, method, seconds):
        return {**_run(method, 0.9, key=f"{sweep}:{method}"), "sweep": sweep,
                "time_to_best_s": seconds}

    write(tmp_path, "runs", [in_sweep("a", "full", 100.0), in_sweep("a", "pfeiffer", 50.0),
                             in_sweep("b", "pfeiffer", 300.0)])
    conv = _verdicts(tmp_path)[("mundra-adapters-converge-slower", GPU)]
    assert conv.figures == {"min": 0.5, "max": 0.5, "adapters": 1}  # pooled: 175 / 100
    assert conv.verdict == NOT_REPRODUCED


def test_time_claims_leave_out_a_run_trained_beside_another_process(tmp_path):
    """Pfeiffer trained while its cores were shared (wait share 0.45): its 300 s is not
    compared with full FT's 100 s; the undisturbed Houlsby run is (0.5×)."""
    write(tmp_path, "runs", [
        {**_run("full", 0.9, key="f"), "time_to_best_s": 100.0, "train_wait_share": 0.02},
        {**_run("pfeiffer", 0.9, key="p"), "time_to_best_s": 300.0, "train_wait_share": 0.45},
        {**_run("houlsby", 0.9, key="h"), "time_to_best_s": 50.0, "train_wait_share": 0.03}])
    conv = _verdicts(tmp_path)[("mundra-adapters-converge-slower", GPU)]
    assert conv.figures == {"min": 0.5, "max": 0.5, "adapters": 1}
