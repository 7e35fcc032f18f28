"""Each table's query on small hand-built records with known answers."""

from pipeline.tables import regenerate
from tables_records import evals, md_rows, probe, run, write


def _table(tmp_path, paper, table):
    return tmp_path / "tables" / paper / f"{table}.md"


def test_training_speedup_per_dropped_layer_is_the_fitted_slope(tmp_path):
    # 100, 95, 90, 85 ms at 0..3 dropped layers: t(k) = (1 − 0.05k)·t(0) → 5.0% per layer (A.1)
    write(tmp_path, "probes", [probe("pfeiffer", "train", 100 - 5 * k, seq=64, batch=16, dropped=k)
                               for k in range(4)])
    regenerate(tmp_path)
    rows = md_rows(_table(tmp_path, "adapterdrop", "table05"), 2)
    assert rows[("16", "64")] == ["5.0% (4.6% · 4.4%)"]
    assert rows[("16", "128")][0].startswith("– ")


def test_multitask_speedup_and_relative_speed(tmp_path):
    write(tmp_path, "probes", [
        *[probe("pfeiffer", "inference", 100 - 4 * k, n_tasks=2, dropped=k) for k in range(3)],
        probe("full", "inference", 113, n_tasks=2),  # two FF models in sequence: 113 ms
    ])
    regenerate(tmp_path)
    t2 = md_rows(_table(tmp_path, "adapterdrop", "table02"))
    assert t2["Speedup (each layer)"][0] == "4.0% (4.3%)"  # only batch 16 measured
    assert t2["Speedup (each layer)"][1] == "– (6.6%)"
    t11 = md_rows(_table(tmp_path, "adapterdrop", "table11"), 2)
    assert t11[("16", "2")] == ["1.13 (1.13 · - · -)", "4.0% (4.1% · - · -)"]


def test_fusion_tables(tmp_path):
    write(tmp_path, "probes", [
        probe("full", "train", 64, batch=32), probe("pfeiffer", "train", 68, batch=32),
        probe("fusion", "train", 100, batch=32, n_fusion=2),
        *[probe("fusion", "train", 100 + 12 * (k - 2), seq=64, n_fusion=k) for k in (2, 4, 8)],
        probe("fusion", "inference", 100, seq=100, batch=1, n_fusion=2),
        probe("fusion", "inference", 93, seq=100, batch=1, n_fusion=2, config={"implementation": "parallel"}),
        probe("fusion", "train", 200, batch=32, n_fusion=16, config={"fusion_dropout": 0.0}),
        probe("fusion", "train", 100, batch=32, n_fusion=16, config={"fusion_dropout": 0.5}),
    ])
    regenerate(tmp_path)
    t3 = md_rows(_table(tmp_path, "adapterdrop", "table03"))
    assert t3["2"][0] == "0.64 (0.92)" and t3["2"][2] == "0.68 (0.57)"  # 64/100, 68/100
    t10 = md_rows(_table(tmp_path, "adapterdrop", "table10"), 2)
    assert t10[("64", "16")][4] == "12.0% (8.2% · 10.3%)"  # 12 ms per adapter, 100 at K=2
    t12 = md_rows(_table(tmp_path, "adapterdrop", "table12"), 3)
    assert t12[("2", "100", "1")] == ["0.93 (0.93 · 0.94)"]  # t_parallel / t_iterative
    t7 = md_rows(_table(tmp_path, "adapterdrop", "table07"))
    assert t7["Speedup (16)"][2] == "100.0% (58.2%)"  # 200 / 100 − 1


def test_retained_performance_by_dropped_layers(tmp_path):
    std = run("pfeiffer", 1e-3, 0, 0.80, task="rte", key="std")
    spec = run("adapterdrop", 1e-3, 0, 0.72, task="rte", config={"drop_first_n": 1}, key="spec")
    rob = run("adapterdrop", 1e-3, 0, 0.76, task="rte", config={"robust": True}, key="rob")
    write(tmp_path, "runs", [std, spec, rob])
    write(tmp_path, "evals", evals("std", "pfeiffer", "rte", {0: 0.80, 1: 0.60})
          + evals("std", "pfeiffer", "rte", {1: 0.10}, epoch=1)  # not the best epoch
          + evals("rob", "adapterdrop", "rte", {0: 0.76, 1: 0.70}))
    regenerate(tmp_path)
    t8 = md_rows(_table(tmp_path, "adapterdrop", "table08"))
    assert t8["Standard adapter"][:2] == ["100.0 (100.0)", "75.0 (98.5)"]
    assert t8["Specialized AdapterDrop (12 models)"][:2] == ["100.0 (100.0)", "90.0 (99.5)"]
    assert t8["Robust AdapterDrop"][:2] == ["95.0 (98.5)", "87.5 (97.7)"]
    assert t8["Standard adapter"][2] == "– (97.1)"


def test_shared_adapter_mean_std_and_lr_selection(tmp_path):
    write(tmp_path, "runs", [
        run("pfeiffer", 1e-3, 0, 0.90, config={"reduction_factor": 16}),
        run("pfeiffer", 1e-3, 1, 0.94, config={"reduction_factor": 16}),  # mean 92, std 2.83
        run("pfeiffer", 1e-4, 0, 0.91, config={"reduction_factor": 16}),  # worse LR
        run("shared_adapter", 1e-3, 0, 0.80, config={"reduction_factor": 4}, trainable=295000),
    ])
    regenerate(tmp_path)
    t6 = md_rows(_table(tmp_path, "adapterdrop", "table06"))
    assert t6["sst2"][0] == "92.00 ± 2.83 (n=2) (94.7 ± 0.3)"
    assert t6["sst2"][2] == "80.00 ± 0.00 (n=1) (94.2 ± 0.1)"
    assert t6["Params"][2] == "295k (295k)"
    assert t6["qnli"][0] == "– (93.0 ± 0.2)"


def test_compacter_variants_small_model_and_output_layer(tmp_path):
    write(tmp_path, "runs", [
        run("compacter", 1e-3, 0, 0.70, task="rte", config={"phm_dim": 8}),
        run("compacter", 1e-3, 0, 0.60, task="rte", config={"phm_dim": 4}),
        run("houlsby", 1e-3, 0, 0.50, task="rte", model="t5-small"),
        run("houlsby", 1e-3, 0, 0.55, task="rte", config={"train_output_layer": True}),
        run("full", 1e-3, 0, 0.90, task="boolq"),
    ])
    regenerate(tmp_path)
    t6 = md_rows(_table(tmp_path, "compacter", "table06"))
    assert t6["compacter phm_dim=8 [Compacter (n=8)]"][-2] == "70.00 ± 0.00 (n=1) (74.10)"
    assert t6["compacter phm_dim=4 [Compacter (n=4)]"][-2] == "60.00 ± 0.00 (n=1) (77.70)"
    t9 = md_rows(_table(tmp_path, "compacter", "table09"))
    assert t9["houlsby [Adapter]"][-2] == "50.00 ± 0.00 (n=1) (62.59)"
    t7 = md_rows(_table(tmp_path, "compacter", "table07"))
    assert t7["houlsby [Adapter]"][-2] == "55.00 ± 0.00 (n=1) (76.26)"
    t2 = md_rows(_table(tmp_path, "compacter", "table02"))
    assert t2["full [T5-base]"][2] == "90.00 ± 0.00 (n=1) (81.10)"


def test_memory_time_and_efficiency(tmp_path):
    write(tmp_path, "runs", [
        run("full", 1e-4, 0, 0.9, train_time_s=120.0, epochs=2, best_epoch=1, total=1000, trainable=1000),
        run("pfeiffer", 1e-3, 0, 0.8, train_time_s=60.0, epochs=2, best_epoch=2, total=1010, trainable=10),
    ])
    write(tmp_path, "probes", [probe("full", "inference", 50.0), probe("pfeiffer", "inference", 55.0)])
    regenerate(tmp_path)
    t3 = md_rows(_table(tmp_path, "compacter", "table03"))
    assert t3["full [full]"][3] == "1.00 (42.13)"  # 120 s / 2 epochs = 1 min
    assert t3["pfeiffer [pfeiffer]"][4] == "-50.00% (-33.09%)"
    eff = md_rows(_table(tmp_path, "efficiency2023", "table01"))
    # time to best: 120 × 1/2 = 60 s (full), 60 × 2/2 = 60 s (adapter); latency 55/50; fp32 storage
    assert eff["full fine-tuning"][:6] == ["60.0", "1.00", "50.00", "1.00", "0.004", "90.00"]
    assert eff["pfeiffer"][:6] == ["60.0", "1.00", "55.00", "1.10", "0.000", "80.00"]
    assert eff["multi-task full fine-tuning"][0] == "–"


def test_dash_cells_name_their_reason(tmp_path):
    write(tmp_path, "probes", [
        probe("full", "train", 10.0), probe("houlsby", "train", 8.0),
        probe("houlsby", "inference", 1.0, status="oom"),
    ])
    regenerate(tmp_path)
    md = _table(tmp_path, "adapterdrop", "table01").read_text()
    rows = md_rows(_table(tmp_path, "adapterdrop", "table01"), 2)
    assert rows[("Training", "Houlsby")][0] == "1.25 (1.48)"
    assert rows[("Inference", "Houlsby")][0] == "– (0.94)"  # OOM
    assert rows[("Training", "Houlsby")][2] == "– (1.36)"  # 512 × 16 on a CPU
    for reason in ("OOM", "needs a GPU", "not run"):
        assert f"- –: {reason}" in md
    # no records at all: every paper value still shows, ours is "–"
    empty = tmp_path / "empty"
    regenerate(empty)
    t1 = md_rows(_table(empty, "compacter", "table01"))
    assert t1["– [T5-base]"][3] == "– (94.61)"
    assert (empty / "figures/adapterdrop/figure06.png").read_bytes()[:4] == b"\x89PNG"


def test_fusion_figures_tell_the_parallel_form_apart(tmp_path):
    from pipeline.tables import figures
    from pipeline.tables.regen import load_data
    from pipeline.tables.registry import TABLES

    par = {"implementation": "parallel"}
    write(tmp_path, "probes", [probe("fusion", "inference", 10.0, seq=128, batch=32, n_fusion=2),
                               probe("fusion", "inference", 7.0, seq=128, batch=32, n_fusion=2,
                                     config=par)])
    data, _ = load_data(tmp_path)
    decl = next(d for d in TABLES if d.paper == "adapterdrop" and d.id == "figure11")
    (panel,) = figures.f11(data, decl)[0].panels
    assert [(line["x"], line["y"]) for line in panel["lines"]] == [([2], [3.0])]  # 10 − 7


def test_fusion_figures_draw_one_line_per_batch_and_leave_out_fusion_dropout(tmp_path):
    from pipeline.tables import figures
    from pipeline.tables.regen import load_data
    from pipeline.tables.registry import TABLES

    write(tmp_path, "probes", [
        *[probe("fusion", "train", 10.0 * k + b, seq=128, batch=b, n_fusion=k)
          for k in (2, 8) for b in (16, 32)],
        # Table 7's fusion-dropout probe (faster: adapters skipped) belongs to no curve here
        probe("fusion", "train", 1.0, seq=128, batch=32, n_fusion=8, config={"fusion_dropout": 0.5}),
        probe("fusion", "train", 70.0, seq=128, batch=32, n_fusion=8, dropped=3)])
    data, _ = load_data(tmp_path)
    decls = {d.id: d for d in TABLES if d.paper == "adapterdrop"}
    panels = figures.f09(data, decls["figure09"])[0].panels
    train = next(p for p in panels if p["title"].endswith("train"))
    # before: one "AdapterFusion" line through (2, 36), (8, 96), (8, 112), (8, 1): many y at K=8
    assert [(line["label"], line["x"], line["y"]) for line in train["lines"]] == [
        ("AdapterFusion, batch 16", [2, 8], [36.0, 96.0]),
        ("AdapterFusion, batch 32", [2, 8], [52.0, 112.0])]
    panels = figures.f10(data, decls["figure10"])[0].panels
    train = next(p for p in panels if p["title"].endswith("train"))
    assert [(line["label"], line["x"], line["y"]) for line in train["lines"]] == [
        ("AF 2 adapters", [0], [52.0]), ("AF 8 adapters", [0, 3], [112.0, 70.0])]
