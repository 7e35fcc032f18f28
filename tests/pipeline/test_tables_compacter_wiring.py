"""Compacter Tables 1, 2, 3, 9 wired as the paper prints them: each published row carries the
config it was trained with (only runs of that config sit beside it), Table 3's Δ convention,
the #Total params column and the footnote markers."""

import pytest
import torch
from tables_records import md_rows, run, write
from transformers import AutoConfig, AutoModelForSequenceClassification

import adapters
from adapters.registry import head_parameters
from pipeline import published as P
from pipeline.models import BUILTIN_CONFIGS
from pipeline.tables import regenerate
from pipeline.tables.compacter import delta_memory, delta_time

# Base-model sizes the paper's percentages divide by (tests/adapters/test_listing.py checks them).
BASE = {"t5-base": 222_903_552, "t5-small": 60_506_624}


def _table(tmp_path, table):
    return md_rows(tmp_path / "tables" / "compacter" / f"{table}.md")


def _adapter_share(model_name: str, method: str, config: dict) -> float:
    """% of the base model's parameters the method trains (head excluded, as in Tables 1/2/9)."""
    kwargs = dict(BUILTIN_CONFIGS[model_name])
    config_hf = AutoConfig.for_model(kwargs.pop("model_type"), num_labels=2, **kwargs)
    with torch.device("meta"):  # counts only
        model = AutoModelForSequenceClassification.from_config(config_hf)
    adapters.apply_method(model, method, config)
    trainable, _ = adapters.count_parameters(model)
    return 100 * (trainable - sum(p.numel() for p in head_parameters(model))) / BASE[model_name]


@pytest.mark.parametrize("table, model_name", [(P.COMPACTER_TABLE1, "t5-base"),
                                               (P.COMPACTER_TABLE2, "t5-base"),
                                               (P.COMPACTER_TABLE9, "t5-small")])
def test_phm_rows_carry_the_n_whose_trainable_count_the_paper_prints(table, model_name):
    rows = {k: r for k, r in table.items() if k.split()[0] in ("phm", "compacter", "compacterpp")}
    assert rows and all("phm_dim=" in k for k in rows)  # no row accepts any n
    for key, row in rows.items():
        method, *pairs = key.split()
        config = {k: int(v) for k, v in (p.split("=") for p in pairs)}
        assert f"(n={config['phm_dim']})" in row.row
        decimals = len(row.pct.split(".")[1])
        assert round(_adapter_share(model_name, method, config), decimals) == float(row.pct), key


def test_table2_and_table9_rows_accept_only_runs_of_their_own_n(tmp_path):
    write(tmp_path, "runs", [
        run("phm", 1e-3, 0, 0.80, task="boolq", config={"phm_dim": 4}),
        run("phm", 1e-3, 0, 0.70, task="boolq", config={"phm_dim": 12}),  # registry default
        run("compacter", 1e-3, 0, 0.60, task="boolq", config={"phm_dim": 4}),
        run("compacter", 1e-3, 0, 0.50, task="rte", model="t5-small", config={"phm_dim": 12}),
        run("compacter", 1e-3, 0, 0.40, task="rte", model="t5-small", config={"phm_dim": 16}),
    ])
    regenerate(tmp_path)
    t2 = _table(tmp_path, "table02")
    assert t2["phm phm_dim=4 [PHM-Adapter (n=4)]"][2] == "80.00 ± 0.00 (n=1) (80.31)"
    assert t2["phm phm_dim=12"][2] == "70.00 ± 0.00 (n=1)"  # own row, no paper value beside it
    assert t2["– [Compacter (n=12)]"][2] == "– (78.59)"  # our n=4 run does not sit there
    assert t2["compacter"][2] == "60.00 ± 0.00 (n=1)"
    t9 = _table(tmp_path, "table09")
    assert t9["compacter phm_dim=16 [Compacter (n=16)]"][-2] == "40.00 ± 0.00 (n=1) (59.71)"
    assert t9["compacter phm_dim=12"][-2] == "50.00 ± 0.00 (n=1)"


def test_table1_rows_carry_their_n(tmp_path):
    write(tmp_path, "runs", [
        run("phm", 1e-3, 0, 0.80, config={"phm_dim": 12}),
        run("compacter", 1e-3, 0, 0.70, config={"phm_dim": 4}),
        run("compacterpp", 1e-3, 0, 0.60, config={"phm_dim": 12}),
    ])
    regenerate(tmp_path)
    t1 = _table(tmp_path, "table01")
    assert t1["phm [PHM-Adapter (n=12)]"][3] == "80.00 ± 0.00 (n=1) (94.50)"  # sst2
    assert t1["compacter [Compacter (n=4)]"][3] == "70.00 ± 0.00 (n=1) (93.00)"
    assert t1["– [Compacter++ (n=4)]"][3] == "– (93.81)"
    assert t1["compacterpp"][3] == "60.00 ± 0.00 (n=1)"


def test_table3_delta_convention_gives_the_printed_figures():
    full = P.COMPACTER_TABLE3["full"]
    for key, (_, mem, d_mem, minutes, d_time) in P.COMPACTER_TABLE3.items():
        if key == "full":
            continue
        assert round(delta_memory(mem, full[1]), 2) == d_mem, key
        assert round(delta_time(minutes, full[3]), 2) == d_time, key
    # m / f − 1 (what the table used before) does not give the paper's memory column
    said = P.COMPACTER_TABLE3["intrinsic_said"]
    assert round(100 * (said[1] / full[1] - 1), 2) != said[2]


def test_table3_shows_the_paper_convention_in_mb(tmp_path):
    write(tmp_path, "runs", [
        run("full", 1e-4, 0, 0.9, train_time_s=120.0, epochs=1) | {"peak_mem_bytes": 100_000_000},
        run("pfeiffer", 1e-3, 0, 0.8, train_time_s=60.0, epochs=1) | {"peak_mem_bytes": 200_000_000},
    ])
    regenerate(tmp_path)
    text = (tmp_path / "tables/compacter/table03.md").read_text()
    assert "Memory (MB)" in text and "(m − f) / m" in text
    t3 = _table(tmp_path, "table03")
    # memory: (200 − 100) / 200 = +50%; time: (1 − 2) / 2 = −50%
    assert t3["pfeiffer [pfeiffer]"][1:] == ["200.0 (118.40)", "+50.00% (-41.88%)",
                                            "1.00 (28.19)", "-50.00% (-33.09%)"]


def test_total_params_column_and_footnote_markers(tmp_path):
    write(tmp_path, "runs", [run("full", 1e-4, 0, 0.9, trainable=1000, total=1000),
                             run("houlsby", 1e-3, 0, 0.8, trainable=25, total=1000)])
    regenerate(tmp_path)
    t1 = _table(tmp_path, "table01")
    assert t1["Method"][:2] == ["#Total params", "% trained params"]
    assert t1["full [T5-base]"][:2] == ["8.000 (8.0)", "100.000 (100)"]
    assert t1["houlsby [Adapter]"][:2] == ["1.175 (1.065)", "2.500 (0.832)"]  # 1 + 7 × 2.5%
    assert t1["– [Prompt Tuning-R]"][:4] == ["– (1.003)", "– (0.034)", "– (0.47†)", "– (87.61)"]
    assert t1["– [Prompt Tuning-R]"][7] == "– (46.83†)"  # MNLI
    md = (tmp_path / "tables/compacter/table01.md").read_text()
    assert "- †: the paper's footnote marker" in md
    t9 = _table(tmp_path, "table09")
    for row in ("Prompt Tuning-R", "Prompt Tuning-T", "Intrinsic-SAID"):
        assert t9[f"– [{row}]"][2] == "– (0.0∗)"
    assert t9["– [T5-small]"][:2] == ["– (8)", "– (100)"]
    t2 = _table(tmp_path, "table02")
    assert t2["– [PHM-Adapter (n=4)]"][:2] == ["– (1.013)", "– (0.240)"]
    assert "– [Adapter]" in _table(tmp_path, "table07") and \
        _table(tmp_path, "table07")["– [Adapter]"][0] == "– (1.065)"
    tex = (tmp_path / "tables/compacter/table01.tex").read_text()
    assert r"0.47\dag{}" in tex


def test_table3_compares_epoch_times_only_at_one_training_set_size(tmp_path):
    """An epoch of 1,200 examples takes longer than one of 256: runs with different subsets of
    the same task are two tables, each Δ against its own full FT; and a full FT of the same size
    in another sweep (another machine load, another day) is in a table of its own."""
    write(tmp_path, "runs", [
        run("full", 1e-4, 0, 0.9, train_time_s=120.0, epochs=1, train_samples=256),
        run("pfeiffer", 1e-3, 0, 0.8, train_time_s=60.0, epochs=1, train_samples=256),
        run("full", 1e-4, 0, 0.9, train_time_s=600.0, epochs=1, train_samples=1200),
        {**run("full", 1e-4, 0, 0.9, train_time_s=900.0, epochs=1, train_samples=256),
         "sweep": "loaded", "trial_key": "loaded:full"},
    ])
    regenerate(tmp_path)
    text = (tmp_path / "tables/compacter/table03.md").read_text()
    loaded, small, large = text.split("## ")[1:4]
    assert "256 training examples, sweep loaded" in loaded and "| pfeiffer [pfeiffer] |" not in loaded
    assert "256 training examples" in small and "1200 training examples" in large
    assert "| pfeiffer [pfeiffer] |" in small and "| pfeiffer [pfeiffer] |" not in large
    # Δ time against the 256-example full FT: (1 − 2) / 2 = −50%, not against 10 min
    assert "| 1.00 (28.19) | -50.00% (-33.09%) |" in small


def test_table3_marks_a_time_measured_while_the_cores_were_shared(tmp_path):
    write(tmp_path, "runs", [
        run("full", 1e-4, 0, 0.9, train_time_s=120.0, epochs=1) | {"train_wait_share": 0.01,
                                                                   "train_cpu_share": 0.98},
        run("pfeiffer", 1e-3, 0, 0.8, train_time_s=60.0, epochs=1) | {"train_wait_share": 0.45,
                                                                      "train_cpu_share": 0.50},
    ])
    regenerate(tmp_path)
    t3 = _table(tmp_path, "table03")
    assert t3["full [full]"][3] == "2.00 (42.13)"
    assert t3["pfeiffer [pfeiffer]"][3] == "1.00* (28.19)"
    assert "*: a run of this row trained while another process shared its cores" in \
        (tmp_path / "tables/compacter/table03.md").read_text()
