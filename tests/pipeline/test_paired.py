"""Paired probes (pipeline/paired.py): the ABAB order on a fake clock, the ratio and its interval
on hand-made times, a real paired probe on tiny-bert, and the tables preferring paired ratios."""

import json
import math

import pytest
import torch

import adapters
from pipeline import interference, paired, probe_plan
from pipeline.grid import GridPoint
from pipeline.lease import DeviceLease
from pipeline.models import load_model
from pipeline.spec import Probes, SpecError, parse_spec
from pipeline.tables import regenerate
from pipeline.tables.core import PAIRED
from tables_records import md_rows, probe, run, write
from tracking.records import read_records, write_records

CPU = torch.device("cpu")


# --- the order of the reps --------------------------------------------------------------------

def test_interleave_runs_warmup_untimed_then_one_rep_of_each_in_turn():
    calls, timed = [], []

    def clock(step):
        step()
        timed.append(calls[-1])
        return float(len(timed))  # 1, 2, 3, ...: pair i gets 2i + 1 (A) and 2i + 2 (B)

    a, b = (lambda: calls.append("A")), (lambda: calls.append("B"))
    times_a, times_b = paired.interleave(a, b, reps=3, warmup=2, time_step=clock)
    assert "".join(calls) == "ABAB" + "ABABAB"  # warm-up rounds, then the timed pairs
    assert "".join(timed) == "ABABAB"
    assert times_a == [1.0, 3.0, 5.0] and times_b == [2.0, 4.0, 6.0]


def test_a_paired_cell_times_the_method_first_in_every_pair():
    """A fake clock that answers 10 ms for odd calls and 25 ms for even ones: the method is A
    (10 ms), its baseline B (25 ms), so every pair's ratio is 2.5."""
    n = []

    def clock(step):
        step()
        n.append(1)
        return 10.0 if len(n) % 2 else 25.0

    model = load_model("tiny-bert", num_labels=2)
    adapters.apply_method(model, "pfeiffer")
    full = load_model("tiny-bert", num_labels=2)
    r = paired.paired_cell(model, full, "inference", 8, 2, reps=7, warmup=3, device=CPU,
                           clock=clock)
    assert len(n) == 14  # warm-up reps are not timed
    assert r.times.median_ms == 10.0 and r.baseline_median_ms == 25.0 and r.pairs == 7
    assert (r.ratio_median, r.ratio_ci_low, r.ratio_ci_high) == (2.5, 2.5, 2.5)
    assert r.times.timer == "fake" and r.paired_with == "full" and not r.disturbed


# --- the ratio and its interval on hand-made times ---------------------------------------------

def test_ratio_per_pair_is_baseline_over_method_with_an_order_statistic_interval():
    method = [10.0] * 10
    baseline = [12.0, 19.0, 15.0, 14.0, 16.0, 13.0, 18.0, 11.0, 17.0, 20.0]
    f = paired.ratio_figures(method, baseline)
    # ratios 1.1 .. 2.0; 10 pairs: k = 2, the interval is [r_(2), r_(9)] (97.9%)
    assert f["pairs"] == 10
    assert f["ratio_median"] == pytest.approx(1.55)
    assert (f["ratio_ci_low"], f["ratio_ci_high"]) == pytest.approx((1.2, 1.9))
    # a slow pair (the host was busy in its method rep) moves the median little
    f = paired.ratio_figures([10.0] * 9 + [40.0], [20.0] * 10)
    assert f["ratio_median"] == 2.0 and f["ratio_ci_low"] == 2.0 and f["ratio_ci_high"] == 2.0


def _coverage(n: int, k: int) -> float:
    return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2 ** n


@pytest.mark.parametrize("n", [6, 7, 10, 16, 30, 100])
def test_the_interval_is_the_narrowest_order_statistic_pair_with_95_percent(n):
    values = [float(v) for v in range(1, n + 1)]  # r_(i) = i
    median, low, high = paired.median_ci(values)
    k = int(low)
    assert high == n - k + 1 and median == (n + 1) / 2
    assert _coverage(n, k) >= 0.95 > _coverage(n, k + 1)


def test_fewer_than_six_pairs_give_no_interval():
    assert paired.median_ci([1.0, 2.0, 3.0, 4.0, 5.0]) == (3.0, None, None)
    assert paired.median_ci([]) == (None, None, None)
    assert paired.median_ci([3.0, 1.0, 2.0, 6.0, 5.0, 4.0]) == (3.5, 1.0, 6.0)  # 96.9%


def test_the_ratio_interval_decides_if_a_paired_run_looks_disturbed():
    assert paired.reasons("cpu", 2.0, 1.6, 2.5, None) == []  # within 25% on both sides
    assert paired.reasons("cpu", 2.0, 1.4, 2.2, None) == [
        "ratio interval reaches 0.30 from the median > 0.25"]
    assert paired.reasons("cpu", 2.0, None, None, None) == []  # too few pairs for one
    assert paired.reasons("cuda", 2.0, 1.9, 2.1, 2) == ["2 other process(es) on the device"]


def test_spec_paired_needs_a_bool_and_six_reps():
    base = dict(name="p", model="tiny-bert", tasks=["sst2"], seeds=[0], methods=["pfeiffer"],
                training={"epochs": 0})
    assert parse_spec({**base, "probes": {"paired": True, "reps": 6}}).probes.paired
    for bad in ({"paired": True, "reps": 5}, {"paired": "yes"}):
        with pytest.raises(SpecError, match="probes.paired"):
            parse_spec({**base, "probes": bad})


# --- a real paired probe ---------------------------------------------------------------------

def point(method="pfeiffer", seed=0):
    config = {} if method == "full" else {"reduction_factor": 16, "activation": "relu",
                                           "train_layer_norm": False}
    return GridPoint(sweep="p", model="tiny-bert", method=method, method_config=config,
                     task="sst2", lr=1e-3, seed=seed, training={}, probes={}, data_dir=None,
                     trial_key=f"{method}{seed}")


def test_a_real_paired_probe_of_pfeiffer_and_its_full_baseline(tmp_path, monkeypatch):
    monkeypatch.setattr(probe_plan, "REMEASURE_PAUSE_S", 0.0)
    model = load_model("tiny-bert", num_labels=2)
    adapters.apply_method(model, "pfeiffer")
    probes = Probes(phases=("train", "inference"), cells=((32, 4),), reps=6, warmup=1,
                    dropped_layers=(0, 1), n_tasks=(1, 2), paired=True)
    lease = DeviceLease()
    try:
        rows = probe_plan.run_probes(model, point(), probes, CPU, "cpu:test", tmp_path, lease)
    finally:
        lease.close()
    cells = {(r["phase"], r["n_tasks"], r["dropped_layers"]): r for r in rows}
    assert sorted(cells) == [("inference", 1, 0), ("inference", 1, 1), ("inference", 2, 0),
                             ("inference", 2, 1), ("train", 1, 0), ("train", 1, 1)]
    for (phase, n_tasks, dropped), r in cells.items():
        assert r["paired_with"] == ("dropped_layers=0" if dropped else "full")
        assert r["pairs"] == 6 and r["ratio_median"] > 0 and r["baseline_median_ms"] > 0
        assert r["ratio_ci_low"] <= r["ratio_median"] <= r["ratio_ci_high"]
        assert r["ratio_status"] in ("ok", "contended")
        history = json.loads(r["interference"])
        assert len(history) == r["attempts"] and "ratio_median" in history[-1]
        assert r["ratio_status"] == ("contended" if history[-1]["disturbed"] else "ok")
    write_records(tmp_path, "probes", "pfeiffer0", rows)  # fits the records schema
    back = read_records(tmp_path, "probes").to_pylist()
    assert {r["paired_with"] for r in back} == {"full", "dropped_layers=0"}


def test_paired_cells_are_their_own_cells_and_full_is_never_paired(tmp_path, monkeypatch):
    monkeypatch.setattr(paired, "reasons", lambda *args: [])  # every ratio counts as clean
    monkeypatch.setattr(interference, "reasons", lambda *args: [])
    lease = DeviceLease()
    one = dict(phases=("inference",), cells=((8, 2),), reps=6, warmup=0)
    model = load_model("tiny-bert", num_labels=2)
    adapters.apply_method(model, "pfeiffer")
    unpaired = probe_plan.run_probes(model, point(), Probes(**one), CPU, "cpu:test", tmp_path,
                                     lease)
    write_records(tmp_path, "probes", "pfeiffer0", unpaired)
    assert unpaired[0].get("paired_with") is None
    # the unpaired row does not stand for the paired cell; a paired row does, for later seeds
    (row,) = probe_plan.run_probes(model, point(), Probes(**one, paired=True), CPU, "cpu:test",
                                   tmp_path, lease)
    assert row["paired_with"] == "full" and row["ratio_status"] == "ok"
    write_records(tmp_path, "probes", "pfeiffer0", [row])
    assert probe_plan.run_probes(model, point(seed=1), Probes(**one, paired=True), CPU,
                                 "cpu:test", tmp_path, lease) == []
    full = load_model("tiny-bert", num_labels=2)
    (plain,) = probe_plan.run_probes(full, point("full"), Probes(**one, paired=True), CPU,
                                     "cpu:test", tmp_path, lease)
    lease.close()
    assert "paired_with" not in plain  # full fine-tuning is the baseline itself


def test_mlflow_shows_an_ok_paired_ratio():
    from tracking.mlflow_log import summary_metrics

    row = pair("pfeiffer", "train", 125.0, 1.5, seq=64, batch=8)
    contended = pair("pfeiffer", "inference", 40.0, 0.9, status="contended", seq=64, batch=8)
    final = summary_metrics({}, [row, contended])
    assert final["probe_train_s64_b8_ratio"] == 1.5
    assert "probe_inference_s64_b8_ratio" not in final
    assert final["probe_inference_s64_b8_median_ms"] == 40.0  # its times were ok


def test_the_full_baseline_is_the_model_reloaded_with_every_parameter_trained():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    full = paired.full_model(point(seed=3), None, CPU)
    assert torch.equal(torch.get_rng_state(), before)  # the trial's RNG is left as it was
    assert all(p.requires_grad for p in full.parameters())
    assert not probe_plan.has_adapters(full)
    again = load_model("tiny-bert", num_labels=2, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(),
                                                  again.state_dict().values()))


# --- the tables prefer paired ratios ----------------------------------------------------------

def pair(method, phase, median, ratio, paired_with="full", status="ok", **kw):
    return {**probe(method, phase, median, **kw), "paired_with": paired_with,
            "ratio_median": ratio, "ratio_ci_low": ratio * 0.98, "ratio_ci_high": ratio * 1.02,
            "pairs": 10, "baseline_median_ms": median * ratio, "ratio_status": status}


def _table(tmp_path, paper, table):
    return tmp_path / "tables" / paper / f"{table}.md"


def test_relative_speed_prefers_the_paired_ratio(tmp_path):
    write(tmp_path, "probes", [
        probe("full", "train", 200.0), probe("full", "inference", 50.0),
        pair("pfeiffer", "train", 125.0, 1.5),  # separate probes would say 200 / 125 = 1.60
        pair("houlsby", "train", 160.0, 1.1, status="contended"),  # ratio disturbed: 200 / 160
        probe("houlsby", "inference", 52.0),  # unpaired: 50 / 52
    ])
    regenerate(tmp_path)
    text = _table(tmp_path, "adapterdrop", "table01").read_text()
    rows = md_rows(_table(tmp_path, "adapterdrop", "table01"), 2)
    assert rows[("Training", "Pfeiffer")][0] == "1.50 (1.57)"
    assert rows[("Training", "Houlsby")][0] == "1.25 (1.48)"
    assert rows[("Inference", "Houlsby")][0] == "0.96 (0.94)"
    assert PAIRED in text


def test_without_paired_rows_no_paired_note(tmp_path):
    write(tmp_path, "probes", [probe("full", "train", 200.0), probe("pfeiffer", "train", 125.0)])
    regenerate(tmp_path)
    text = _table(tmp_path, "adapterdrop", "table01").read_text()
    assert md_rows(_table(tmp_path, "adapterdrop", "table01"), 2)[("Training", "Pfeiffer")][0] \
        == "1.60 (1.57)" and PAIRED not in text


def test_dropped_layer_slopes_and_n_task_speed_prefer_paired_ratios(tmp_path):
    # Paired t_0 / t_k = 1 / (1 − 0.05k): 5.0% per dropped layer. The absolute times of the same
    # rows (disturbed, measured at different moments) would give another slope.
    write(tmp_path, "probes", [
        probe("pfeiffer", "train", 100.0, seq=64, batch=16),
        *[pair("pfeiffer", "train", 100.0 - 2 * k, 1 / (1 - 0.05 * k), "dropped_layers=0",
               seq=64, batch=16, dropped=k) for k in (1, 2, 3)],
        probe("full", "inference", 113.0, n_tasks=2),
        pair("pfeiffer", "inference", 100.0, 1.20, n_tasks=2),  # separate: 113 / 100
        *[pair("pfeiffer", "inference", 100.0, 1 / (1 - 0.04 * k), "dropped_layers=0",
               n_tasks=2, dropped=k) for k in (1, 2)],
    ])
    regenerate(tmp_path)
    t5 = _table(tmp_path, "adapterdrop", "table05")
    assert md_rows(t5, 2)[("16", "64")] == ["5.0% (4.6% · 4.4%)"] and PAIRED in t5.read_text()
    t11 = md_rows(_table(tmp_path, "adapterdrop", "table11"), 2)
    assert t11[("16", "2")] == ["1.20 (1.13 · - · -)", "4.0% (4.1% · - · -)"]
    t2 = md_rows(_table(tmp_path, "adapterdrop", "table02"))
    assert t2["Speedup (each layer)"][0] == "4.0% (4.3%)"


def test_fusion_and_efficiency_tables_prefer_paired_ratios(tmp_path):
    write(tmp_path, "runs", [run("full", 1e-4, 0, 0.9), run("pfeiffer", 1e-3, 0, 0.8)])
    write(tmp_path, "probes", [
        probe("full", "train", 64, batch=32), probe("pfeiffer", "train", 68, batch=32),
        pair("fusion", "train", 100, 0.70, batch=32, n_fusion=2),  # separate: 64 / 100
        probe("full", "inference", 50.0), pair("pfeiffer", "inference", 55.0, 0.8),
    ])
    regenerate(tmp_path)
    t3 = md_rows(_table(tmp_path, "adapterdrop", "table03"))
    assert t3["2"][0] == "0.70 (0.92)" and t3["2"][2] == "0.68 (0.57)"  # vs adapter: 68 / 100
    t10 = md_rows(_table(tmp_path, "adapterdrop", "table10"), 2)
    assert t10[("128", "32")][0].startswith("0.70 ")
    eff = _table(tmp_path, "efficiency2023", "table01")
    rows = md_rows(eff)
    assert rows["pfeiffer"][2:4] == ["55.00", "1.25"]  # × full FT: 1 / 0.8, not 55 / 50
    assert PAIRED in eff.read_text()
